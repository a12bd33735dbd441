# The PROXY protocol: the header parser alone (frontend/protocol/), and the handshake
# that reads it from real loopback sockets (frontend/server/proxy_handshake.hpp).
add_executable(sharegate_proxy_header_tests proxy_header_test.cpp)
target_link_libraries(sharegate_proxy_header_tests PRIVATE sharegate_protocol GTest::gtest_main sharegate_warnings)
sharegate_discover_tests(sharegate_proxy_header_tests PREFIX "proxy.")

add_executable(sharegate_proxy_handshake_tests proxy_handshake_test.cpp)
target_link_libraries(sharegate_proxy_handshake_tests PRIVATE sharegate_server GTest::gtest_main sharegate_warnings)
sharegate_discover_tests(sharegate_proxy_handshake_tests PREFIX "proxy." LABEL threads)
