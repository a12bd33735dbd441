# The Redis value codec without a server: what the store accepts from each key and
# channel. The "redis_codec." prefix lets `ctest -R redis` select these tests too.
add_executable(sharegate_redis_codec_tests redis_codec_test.cpp)
target_link_libraries(sharegate_redis_codec_tests PRIVATE sharegate_redis sharegate_core GTest::gtest_main
                      sharegate_warnings)
sharegate_discover_tests(sharegate_redis_codec_tests PREFIX "redis_codec.")
