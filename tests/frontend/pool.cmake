# The pool's share path (frontend/pool/) and the session's reply queue, without processes
# or sockets.
add_executable(sharegate_share_intake_tests share_intake_test.cpp)
target_link_libraries(sharegate_share_intake_tests
  PRIVATE sharegate_pool GTest::gtest_main spdlog::spdlog sharegate_warnings)
sharegate_discover_tests(sharegate_share_intake_tests PREFIX "pool.")

add_executable(sharegate_duplicate_filter_tests duplicate_filter_test.cpp)
target_link_libraries(sharegate_duplicate_filter_tests PRIVATE sharegate_pool GTest::gtest_main sharegate_warnings)
sharegate_discover_tests(sharegate_duplicate_filter_tests PREFIX "pool.")

add_executable(sharegate_reply_queue_tests reply_queue_test.cpp allocation_count.cpp)
target_link_libraries(sharegate_reply_queue_tests PRIVATE sharegate_server GTest::gtest_main sharegate_warnings)
sharegate_discover_tests(sharegate_reply_queue_tests PREFIX "reply_queue.")

add_executable(sharegate_handler_memory_tests handler_memory_test.cpp)
target_link_libraries(sharegate_handler_memory_tests PRIVATE sharegate_server GTest::gtest_main sharegate_warnings)
sharegate_discover_tests(sharegate_handler_memory_tests PREFIX "handler_memory.")

add_executable(sharegate_thread_mailbox_tests thread_mailbox_test.cpp allocation_count.cpp)
target_link_libraries(sharegate_thread_mailbox_tests PRIVATE sharegate_server GTest::gtest_main sharegate_warnings)
sharegate_discover_tests(sharegate_thread_mailbox_tests PREFIX "thread_mailbox." LABEL threads)

add_executable(sharegate_pool_state_tests pool_state_test.cpp)
target_link_libraries(sharegate_pool_state_tests PRIVATE sharegate_pool GTest::gtest_main sharegate_warnings)
sharegate_discover_tests(sharegate_pool_state_tests PREFIX "pool." LABEL threads)
