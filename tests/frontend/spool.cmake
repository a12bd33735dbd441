# The durable local share spool (frontend/spool/): the record format as pure functions, and
# the spool against real files in a temporary directory. The "spool." prefix lets
# `ctest -R spool` select them all.
add_executable(sharegate_spool_format_tests spool_format_test.cpp)
target_link_libraries(sharegate_spool_format_tests PRIVATE sharegate_spool GTest::gtest_main sharegate_warnings)
sharegate_discover_tests(sharegate_spool_format_tests PREFIX "spool.")

add_executable(sharegate_spool_tests spool_test.cpp)
target_link_libraries(sharegate_spool_tests PRIVATE sharegate_spool GTest::gtest_main sharegate_warnings)
sharegate_discover_tests(sharegate_spool_tests PREFIX "spool." LABEL threads)

# Redis outages end to end: the real binary and a real redis-server killed, frozen and
# restarted under miners' streams; the spool's crash, torn-tail and full cases.
sharegate_e2e_test(sharegate_outage_tests outage_test.cpp)
# To write records as an earlier version spooled them.
target_link_libraries(sharegate_outage_tests PRIVATE sharegate_spool)
sharegate_discover_tests(sharegate_outage_tests PREFIX "spool." TIMEOUT 300 LABEL threads)
