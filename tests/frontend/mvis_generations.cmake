# The three generations of MVis-tokenminer (their request bytes and reply rules) replayed
# against the real server and a real redis-server.
add_executable(sharegate_mvis_generations_tests mvis_generations_test.cpp)
target_include_directories(sharegate_mvis_generations_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/..)
target_link_libraries(sharegate_mvis_generations_tests
  PRIVATE sharegate_protocol GTest::gtest_main PkgConfig::hiredis simdjson::simdjson Threads::Threads sharegate_warnings)
target_compile_definitions(sharegate_mvis_generations_tests PRIVATE
  SHAREGATE_BINARY="$<TARGET_FILE:sharegate>"
  SHAREGATE_VECTORS_DIR="${CMAKE_SOURCE_DIR}/tests/vectors")
add_dependencies(sharegate_mvis_generations_tests sharegate)
sharegate_discover_tests(sharegate_mvis_generations_tests PREFIX "mvis." LABEL threads)
