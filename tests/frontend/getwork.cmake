# The getwork door end to end: the real binary, a real redis-server and real HTTP over
# loopback (the JSON-RPC layer's own tests are in getwork_protocol.cmake).
sharegate_e2e_test(sharegate_getwork_tests getwork_test.cpp)
sharegate_discover_tests(sharegate_getwork_tests PREFIX "getwork." TIMEOUT 300 LABEL threads)

# The getwork miners' varDiff cache alone, against a fake Redis lookup.
add_executable(sharegate_var_diff_cache_tests var_diff_cache_test.cpp)
target_link_libraries(sharegate_var_diff_cache_tests PRIVATE sharegate_server GTest::gtest_main sharegate_warnings)
sharegate_discover_tests(sharegate_var_diff_cache_tests PREFIX "getwork." LABEL threads)
