# The server's memory under a flood it must not keep: the real sharegate, a real
# redis-server and the load generator. Only where bench/ built sharegate-loadgen.
if(TARGET sharegate-loadgen)
  add_executable(sharegate_memory_tests memory_test.cpp)
  target_include_directories(sharegate_memory_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/..)
  target_link_libraries(sharegate_memory_tests
    PRIVATE sharegate_core GTest::gtest_main PkgConfig::hiredis Threads::Threads sharegate_warnings)
  target_compile_definitions(sharegate_memory_tests PRIVATE
    SHAREGATE_BINARY="$<TARGET_FILE:sharegate>"
    SHAREGATE_LOADGEN_BINARY="$<TARGET_FILE:sharegate-loadgen>")
  # A sanitizer's allocator inflates resident memory and holds freed blocks in quarantine:
  # the test then checks the answers only, not the growth.
  if(SHAREGATE_SANITIZE)
    target_compile_definitions(sharegate_memory_tests PRIVATE SHAREGATE_TEST_SANITIZED=1)
  endif()
  add_dependencies(sharegate_memory_tests sharegate sharegate-loadgen)
  sharegate_discover_tests(sharegate_memory_tests PREFIX "memory." TIMEOUT 600 LABEL threads)
endif()
