# The getwork JSON-RPC 2.0 layer (frontend/protocol/getwork.hpp) as pure functions: bodies
# parsed into calls, the real clients' requests, answers written. The "getwork." prefix
# lets `ctest -R getwork` select them.
add_executable(sharegate_getwork_protocol_tests getwork_protocol_test.cpp)
target_include_directories(sharegate_getwork_protocol_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/..)
# simdjson::simdjson too: the test includes simdjson.h itself (a DOM cross-check), and must see
# the same compile definitions as the library (SIMDJSON_THREADS_ENABLED changes dom::parser).
target_link_libraries(sharegate_getwork_protocol_tests PRIVATE sharegate_protocol simdjson::simdjson GTest::gtest_main
                                                                sharegate_warnings)
target_compile_definitions(sharegate_getwork_protocol_tests PRIVATE
  SHAREGATE_VECTORS_DIR="${CMAKE_SOURCE_DIR}/tests/vectors")
sharegate_discover_tests(sharegate_getwork_protocol_tests PREFIX "getwork.")
