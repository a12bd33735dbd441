# The load generator against the real server and a real redis-server: a short run of each
# workload, with exact counts. Only where bench/ built sharegate-loadgen.
if(TARGET sharegate-loadgen)
  add_executable(sharegate_loadgen_tests loadgen_test.cpp)
  target_include_directories(sharegate_loadgen_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/..)
  target_link_libraries(sharegate_loadgen_tests
    PRIVATE sharegate_core GTest::gtest_main PkgConfig::hiredis Threads::Threads sharegate_warnings)
  target_compile_definitions(sharegate_loadgen_tests PRIVATE
    SHAREGATE_BINARY="$<TARGET_FILE:sharegate>"
    SHAREGATE_LOADGEN_BINARY="$<TARGET_FILE:sharegate-loadgen>"
    SHAREGATE_VECTORS_DIR="${CMAKE_SOURCE_DIR}/tests/vectors")
  add_dependencies(sharegate_loadgen_tests sharegate sharegate-loadgen)
  sharegate_discover_tests(sharegate_loadgen_tests PREFIX "loadgen." LABEL threads)
endif()
