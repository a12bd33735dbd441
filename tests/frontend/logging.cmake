# The server's logs: the JSON line writer and --log-format without a process, and the
# real binary's output (JSON lines, what is logged at which level, Redis up/down lines).
add_executable(sharegate_log_format_tests log_format_test.cpp)
target_link_libraries(sharegate_log_format_tests PRIVATE sharegate_server simdjson::simdjson GTest::gtest_main
                                                         sharegate_warnings)
sharegate_discover_tests(sharegate_log_format_tests PREFIX "logging.")

sharegate_e2e_test(sharegate_logging_tests logging_test.cpp)
target_link_libraries(sharegate_logging_tests PRIVATE simdjson::simdjson)
sharegate_discover_tests(sharegate_logging_tests PREFIX "logging." TIMEOUT 300 LABEL threads)
