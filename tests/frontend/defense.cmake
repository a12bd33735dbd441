# The connection defenses: the admission rules alone (CIDR ranges, caps, episodes), and
# end to end against the real binary, a real redis-server and real sockets.
add_executable(sharegate_admission_tests admission_test.cpp)
target_link_libraries(sharegate_admission_tests PRIVATE sharegate_server GTest::gtest_main sharegate_warnings)
sharegate_discover_tests(sharegate_admission_tests LABEL threads)

sharegate_e2e_test(sharegate_defense_tests defense_test.cpp)
sharegate_discover_tests(sharegate_defense_tests LABEL threads)

# The ban rules, the rate limit and load shedding alone, on clocks the tests set.
add_executable(sharegate_ban_rules_tests ban_book_test.cpp shedding_test.cpp)
target_link_libraries(sharegate_ban_rules_tests PRIVATE sharegate_server GTest::gtest_main sharegate_warnings)
sharegate_discover_tests(sharegate_ban_rules_tests)

# The abuse defenses end to end: bans, rate limit, pool-wide bans between instances on one
# Redis, the PROXY protocol, and load shedding under the load generator's flood.
if(TARGET sharegate-loadgen)
  add_executable(sharegate_abuse_tests abuse_test.cpp)
  target_include_directories(sharegate_abuse_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/..)
  target_link_libraries(sharegate_abuse_tests
    PRIVATE sharegate_protocol GTest::gtest_main PkgConfig::hiredis Boost::headers Threads::Threads sharegate_verifiers
            sharegate_warnings)
  target_compile_definitions(sharegate_abuse_tests PRIVATE
    SHAREGATE_BINARY="$<TARGET_FILE:sharegate>"
    SHAREGATE_LOADGEN_BINARY="$<TARGET_FILE:sharegate-loadgen>"
    SHAREGATE_VECTORS_DIR="${CMAKE_SOURCE_DIR}/tests/vectors")
  if(SHAREGATE_SANITIZE)
    target_compile_definitions(sharegate_abuse_tests PRIVATE SHAREGATE_TEST_SANITIZED=1)
  endif()
  add_dependencies(sharegate_abuse_tests sharegate sharegate-loadgen)
  sharegate_discover_tests(sharegate_abuse_tests TIMEOUT 300 LABEL threads)
endif()
