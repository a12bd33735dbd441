# Exactly-once share pushes (push_share_once) and abandoning them, against a real
# redis-server. The "redis." prefix lets `ctest -R redis` select these tests too.
add_executable(sharegate_push_once_tests push_once_test.cpp)
target_include_directories(sharegate_push_once_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/..)
target_link_libraries(sharegate_push_once_tests
  PRIVATE sharegate_redis sharegate_core PkgConfig::hiredis Threads::Threads GTest::gtest_main sharegate_warnings)
sharegate_discover_tests(sharegate_push_once_tests PREFIX "redis." LABEL threads)
