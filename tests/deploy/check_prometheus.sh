#!/usr/bin/env bash
# Checks deploy/prometheus/ with promtool: the alert rules are valid, their unit tests
# (sharegate-alerts.test.yml) pass, the example prometheus.yml is valid with the rule file
# it names, and, as a control that the unit tests can fail, the same tests FAIL against a
# copy of the rules with one threshold changed.
#   check_prometheus.sh DEPLOY_PROMETHEUS_DIR
set -euo pipefail

dir=${1:?usage: check_prometheus.sh DEPLOY_PROMETHEUS_DIR}
if ! command -v promtool >/dev/null 2>&1; then
  echo "FAIL: promtool not found: install the Debian package prometheus (scripts/install-deps.sh lists it)" >&2
  exit 1
fi

step() { echo "== $*"; }

step "promtool check rules sharegate-alerts.yml"
promtool check rules "$dir/sharegate-alerts.yml"

# The unit test file names its rule file relative to itself.
step "promtool test rules sharegate-alerts.test.yml"
(cd "$dir" && promtool test rules sharegate-alerts.test.yml)

# rule_files in prometheus.yml are relative to its directory: check it in place, where
# the rule file it names is.
step "promtool check config prometheus.yml"
promtool check config "$dir/prometheus.yml"

# The control: the file-descriptor alert at 95 % instead of 80 % must make its test fail
# (the test expects it to fire at 90 %).
step "control: the unit tests fail against a changed threshold"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$dir/sharegate-alerts.test.yml" "$work/"
sed 's|process_max_fds{job="sharegate"} > 0.8|process_max_fds{job="sharegate"} > 0.95|' \
  "$dir/sharegate-alerts.yml" > "$work/sharegate-alerts.yml"
if cmp -s "$dir/sharegate-alerts.yml" "$work/sharegate-alerts.yml"; then
  echo "FAIL: the control could not change the threshold (the rule's expression was edited?)" >&2
  exit 1
fi
if (cd "$work" && promtool test rules sharegate-alerts.test.yml) > "$work/control.log" 2>&1; then
  echo "FAIL: the unit tests pass against rules with a changed threshold: they test nothing" >&2
  exit 1
fi
grep -q SharegateFileDescriptorsNearLimit "$work/control.log" || {
  echo "FAIL: the control failed for another reason than the changed alert:" >&2
  cat "$work/control.log" >&2
  exit 1
}
echo "== all passed"
