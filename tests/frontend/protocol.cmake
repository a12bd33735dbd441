# The stratum wire format: parsing, replies and line framing. The "protocol." prefix
# lets `ctest -R protocol` select these tests.
add_executable(sharegate_protocol_tests protocol_test.cpp json_text_test.cpp request_scanner_test.cpp line_framer_test.cpp
                                         stratum_client_test.cpp)
target_include_directories(sharegate_protocol_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/..)
target_link_libraries(sharegate_protocol_tests PRIVATE sharegate_protocol GTest::gtest_main sharegate_warnings)
sharegate_discover_tests(sharegate_protocol_tests PREFIX "protocol.")
