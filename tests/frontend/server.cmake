# End-to-end tests of the sharegate binary: a real redis-server, the real process, real
# sockets, spoken to through the stratum client of sharegate_protocol.
sharegate_e2e_test(sharegate_server_tests server_test.cpp)
sharegate_discover_tests(sharegate_server_tests LABEL threads)

# The batcher and the options, without processes or sockets.
add_executable(sharegate_server_unit_tests server_test_units.cpp)
target_link_libraries(sharegate_server_unit_tests PRIVATE sharegate_server GTest::gtest_main sharegate_warnings)
sharegate_discover_tests(sharegate_server_unit_tests LABEL threads)

# The I/O threads a connection lives on: one io_context per thread.
add_executable(sharegate_io_threads_tests io_threads_test.cpp)
target_link_libraries(sharegate_io_threads_tests PRIVATE sharegate_server GTest::gtest_main sharegate_warnings)
sharegate_discover_tests(sharegate_io_threads_tests PREFIX "server." LABEL threads)
