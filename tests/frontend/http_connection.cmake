# The getwork door's HTTP/1.1 transport (frontend/server/http_connection.hpp) on real
# loopback sockets: keep-alive, pipelining in order, the limits and deadlines, closing.
add_executable(sharegate_http_connection_tests http_connection_test.cpp)
target_link_libraries(sharegate_http_connection_tests PRIVATE sharegate_server GTest::gtest_main sharegate_warnings)
sharegate_discover_tests(sharegate_http_connection_tests PREFIX "http." LABEL threads)
