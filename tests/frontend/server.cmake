# End-to-end tests of the sharegate binary: a real redis-server, the real process, real
# sockets, spoken to through the stratum client of sharegate_protocol.
add_executable(sharegate_server_tests server_test.cpp)
target_include_directories(sharegate_server_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/..)
target_link_libraries(sharegate_server_tests
  PRIVATE sharegate_protocol GTest::gtest_main PkgConfig::hiredis Boost::headers Threads::Threads sharegate_verifiers
          sharegate_warnings)
target_compile_definitions(sharegate_server_tests PRIVATE
  SHAREGATE_BINARY="$<TARGET_FILE:sharegate>"
  SHAREGATE_VECTORS_DIR="${CMAKE_SOURCE_DIR}/tests/vectors")
add_dependencies(sharegate_server_tests sharegate)
sharegate_discover_tests(sharegate_server_tests LABEL threads)

# The batcher and the options, without processes or sockets.
add_executable(sharegate_server_unit_tests server_test_units.cpp)
target_link_libraries(sharegate_server_unit_tests PRIVATE sharegate_server GTest::gtest_main sharegate_warnings)
sharegate_discover_tests(sharegate_server_unit_tests LABEL threads)
