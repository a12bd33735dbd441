# The Grafana dashboard and the alert rules (deploy/) against the real binary's /metrics:
# every metric they name is served, every family served is shown; the dashboard's shape and
# PromQL (promtool). The rules' logic itself: tests/deploy.
sharegate_e2e_test(sharegate_dashboard_tests dashboard_test.cpp)
target_link_libraries(sharegate_dashboard_tests PRIVATE simdjson::simdjson)
target_compile_definitions(sharegate_dashboard_tests PRIVATE SHAREGATE_DEPLOY_DIR="${PROJECT_SOURCE_DIR}/deploy")
sharegate_discover_tests(sharegate_dashboard_tests PREFIX "deploy." LABEL threads)
