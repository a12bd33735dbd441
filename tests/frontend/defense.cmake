# The connection defenses: the admission rules alone (CIDR ranges, caps, episodes), and
# end to end against the real binary, a real redis-server and real sockets.
add_executable(sharegate_admission_tests admission_test.cpp)
target_link_libraries(sharegate_admission_tests PRIVATE sharegate_server GTest::gtest_main sharegate_warnings)
sharegate_discover_tests(sharegate_admission_tests LABEL threads)

add_executable(sharegate_defense_tests defense_test.cpp)
target_include_directories(sharegate_defense_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/..)
target_link_libraries(sharegate_defense_tests
  PRIVATE sharegate_protocol GTest::gtest_main PkgConfig::hiredis Boost::headers Threads::Threads sharegate_verifiers
          sharegate_warnings)
target_compile_definitions(sharegate_defense_tests PRIVATE
  SHAREGATE_BINARY="$<TARGET_FILE:sharegate>"
  SHAREGATE_VECTORS_DIR="${CMAKE_SOURCE_DIR}/tests/vectors")
add_dependencies(sharegate_defense_tests sharegate)
sharegate_discover_tests(sharegate_defense_tests LABEL threads)
