# Pool-wide bans in Redis (docs/protocol.md section 4, "Bans"): the record's codec, the
# store against a real redis-server, and sharegate-ctl run as a process. The "bans."
# prefix lets `ctest -R bans` select them all.
add_executable(sharegate_ban_codec_tests ban_codec_test.cpp)
target_link_libraries(sharegate_ban_codec_tests PRIVATE sharegate_redis sharegate_core GTest::gtest_main
                      sharegate_warnings)
sharegate_discover_tests(sharegate_ban_codec_tests PREFIX "bans.")

add_executable(sharegate_ban_store_tests ban_store_test.cpp)
target_include_directories(sharegate_ban_store_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/..)
target_link_libraries(sharegate_ban_store_tests
  PRIVATE sharegate_redis sharegate_core PkgConfig::hiredis Threads::Threads GTest::gtest_main sharegate_warnings)
sharegate_discover_tests(sharegate_ban_store_tests PREFIX "bans." LABEL threads)

add_executable(sharegate_ctl_tests ctl_test.cpp)
target_include_directories(sharegate_ctl_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/..)
target_link_libraries(sharegate_ctl_tests
  PRIVATE sharegate_redis sharegate_core PkgConfig::hiredis Threads::Threads GTest::gtest_main sharegate_warnings)
target_compile_definitions(sharegate_ctl_tests PRIVATE SHAREGATE_CTL_BINARY="$<TARGET_FILE:sharegate-ctl>")
add_dependencies(sharegate_ctl_tests sharegate-ctl)
sharegate_discover_tests(sharegate_ctl_tests PREFIX "bans." LABEL threads)
