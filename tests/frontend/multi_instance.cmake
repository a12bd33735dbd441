# Many sharegate instances behind HAProxy on one Redis (issue 16), end to end: the real
# binary twice, a private redis-server and a real HAProxy (skipped where haproxy is not
# installed; scripts/install-deps.sh installs it). The "multi." prefix lets
# `ctest -R multi` select them.
sharegate_e2e_test(sharegate_multi_instance_tests multi_instance_test.cpp)
sharegate_discover_tests(sharegate_multi_instance_tests PREFIX "multi." TIMEOUT 180 LABEL threads)
