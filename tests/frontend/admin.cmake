# The admin endpoint end to end: /metrics (checked with promtool), /readyz, /healthz, the
# port's start-up failure and `off` (the endpoint's transport alone: metrics.cmake).
sharegate_e2e_test(sharegate_admin_tests admin_test.cpp)
target_compile_definitions(sharegate_admin_tests PRIVATE SHAREGATE_VERSION="${PROJECT_VERSION}")
sharegate_discover_tests(sharegate_admin_tests PREFIX "admin." TIMEOUT 300 LABEL threads)
