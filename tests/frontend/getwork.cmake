# The getwork door end to end: the real binary, a real redis-server and real HTTP over
# loopback (the JSON-RPC layer's own tests are in getwork_protocol.cmake).
add_executable(sharegate_getwork_tests getwork_test.cpp)
target_include_directories(sharegate_getwork_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/..)
target_link_libraries(sharegate_getwork_tests
  PRIVATE sharegate_protocol GTest::gtest_main PkgConfig::hiredis Boost::headers Threads::Threads sharegate_verifiers
          sharegate_warnings)
target_compile_definitions(sharegate_getwork_tests PRIVATE
  SHAREGATE_BINARY="$<TARGET_FILE:sharegate>"
  SHAREGATE_VECTORS_DIR="${CMAKE_SOURCE_DIR}/tests/vectors")
add_dependencies(sharegate_getwork_tests sharegate)
sharegate_discover_tests(sharegate_getwork_tests PREFIX "getwork." TIMEOUT 300 LABEL threads)

# The getwork miners' varDiff cache alone, against a fake Redis lookup.
add_executable(sharegate_var_diff_cache_tests var_diff_cache_test.cpp)
target_link_libraries(sharegate_var_diff_cache_tests PRIVATE sharegate_server GTest::gtest_main sharegate_warnings)
sharegate_discover_tests(sharegate_var_diff_cache_tests PREFIX "getwork." LABEL threads)
