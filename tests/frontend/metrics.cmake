# The metrics building blocks (frontend/metrics/): the lock-free histogram and the striped
# counters (core/include/sharegate/striped_counter.hpp) under it, the families and
# their text (checked by promtool, the Prometheus project's own linter), the process
# metrics; and the admin HTTP endpoint (frontend/server/admin_endpoint.hpp) on real
# loopback sockets. The "metrics." and "admin." prefixes select them with ctest -R.
add_executable(sharegate_metrics_tests
  metrics_histogram_test.cpp
  striped_counter_test.cpp
  metrics_exposition_test.cpp
  metrics_process_test.cpp
  metrics_promtool_test.cpp)
target_link_libraries(sharegate_metrics_tests PRIVATE sharegate_metrics GTest::gtest_main sharegate_warnings)
# The concurrent observations start threads; the promtool tests run a child process.
sharegate_discover_tests(sharegate_metrics_tests PREFIX "metrics." LABEL threads)

add_executable(sharegate_admin_endpoint_tests admin_endpoint_test.cpp)
target_link_libraries(sharegate_admin_endpoint_tests PRIVATE sharegate_server GTest::gtest_main sharegate_warnings)
target_include_directories(sharegate_admin_endpoint_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/..)
sharegate_discover_tests(sharegate_admin_endpoint_tests PREFIX "admin." LABEL threads)
