# The Redis store against a real redis-server (tests/support/redis_server.hpp). The
# "redis." prefix lets `ctest -R redis` select these tests.
add_executable(sharegate_redis_tests redis_store_test.cpp)
target_include_directories(sharegate_redis_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/..)
target_link_libraries(sharegate_redis_tests
  PRIVATE sharegate_redis sharegate_core PkgConfig::hiredis Threads::Threads GTest::gtest_main sharegate_warnings)
sharegate_discover_tests(sharegate_redis_tests PREFIX "redis." LABEL threads)
