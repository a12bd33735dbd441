# The end-to-end harness (tests/support/) checked on its own: a server that cannot start
# is a failure that signals nothing but the harness's own children.
add_executable(sharegate_harness_tests harness_test.cpp)
target_include_directories(sharegate_harness_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/..)
target_link_libraries(sharegate_harness_tests PRIVATE sharegate_core GTest::gtest_main PkgConfig::hiredis Threads::Threads sharegate_warnings)
target_compile_definitions(sharegate_harness_tests PRIVATE SHAREGATE_BINARY="$<TARGET_FILE:sharegate>")
add_dependencies(sharegate_harness_tests sharegate)
sharegate_discover_tests(sharegate_harness_tests PREFIX "harness.")
