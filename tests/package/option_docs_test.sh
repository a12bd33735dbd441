#!/usr/bin/env bash
# The option reference cannot drift from the options: deploy/sharegate.conf must be
# byte for byte what the built sharegate prints with --print-options=config, and the
# table between <!-- options:begin --> and <!-- options:end --> in docs/operations.md
# what it prints with --print-options=markdown (checked once the doc has the markers).
# And the shipped config must be accepted: as it is once the pool address is filled in,
# and with every default uncommented (a default misread from a help text fails here).
#
#   option_docs_test.sh SHAREGATE_BINARY SOURCE_DIR BUILD_DIR
set -euo pipefail
binary=$1
source_dir=$2
build_dir=$3
regenerate="regenerate with: cmake --build $build_dir --target sharegate && $source_dir/scripts/update-option-docs.sh $build_dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
fail() {
    echo "FAIL: $*" >&2
    failed=1
}

# 1. deploy/sharegate.conf
"$binary" --print-options=config >"$work/printed.conf"
if ! cmp -s "$work/printed.conf" "$source_dir/deploy/sharegate.conf"; then
    diff -u "$source_dir/deploy/sharegate.conf" "$work/printed.conf" >&2 || true
    fail "deploy/sharegate.conf is not what '$binary --print-options=config' prints; $regenerate"
fi

# 2. docs/operations.md's table
doc=$source_dir/docs/operations.md
begin='<!-- options:begin -->'
end='<!-- options:end -->'
if grep -qxF "$begin" "$doc" || grep -qxF "$end" "$doc"; then
    if [[ $(grep -cxF "$begin" "$doc") != 1 || $(grep -cxF "$end" "$doc") != 1 ]]; then
        fail "docs/operations.md must have one '$begin' line and one '$end' line"
    else
        awk -v begin="$begin" -v end="$end" '$0 == end { inside = 0 } inside { print } $0 == begin { inside = 1 }' \
            "$doc" >"$work/doc-table.md"
        "$binary" --print-options=markdown >"$work/printed.md"
        if ! cmp -s "$work/printed.md" "$work/doc-table.md"; then
            diff -u "$work/doc-table.md" "$work/printed.md" >&2 || true
            fail "the option table in docs/operations.md is not what '$binary --print-options=markdown' prints; $regenerate"
        fi
    fi
else
    echo "note: docs/operations.md has no '$begin' marker yet; its option table is not checked"
fi

# 3. The shipped file is accepted. --help exits 0 only after the file's every value
# passed its option's check (the control below proves that it does check).
pool=0x1b7bfB694eE51913c347971c7090a74AEFbd41f6
accepts() {  # accepts FILE WHAT
    local out
    if ! out=$("$binary" --config "$1" --help 2>&1 >/dev/null); then
        fail "$2 is refused: $out"
    fi
}
conf=$source_dir/deploy/sharegate.conf
if ! grep -qE '^# pool-address = ' "$conf"; then
    fail "deploy/sharegate.conf has no '# pool-address = ' line to fill in"
fi
sed -E "s|^# pool-address = .*|pool-address = $pool|" "$conf" >"$work/filled.conf"
accepts "$work/filled.conf" "deploy/sharegate.conf with the pool address filled in"
# Every "# name = value" line set, except placeholders (<N>, 0x<...>).
sed -E -e "s|^# pool-address = .*|pool-address = $pool|" -e '/^# [a-z0-9-]+ = [^<]*$/s/^# //' "$conf" >"$work/defaults.conf"
accepts "$work/defaults.conf" "deploy/sharegate.conf with every default set"
set_lines=$(grep -cE '^[a-z0-9-]+ = ' "$work/defaults.conf" || true)
if [[ $set_lines -lt 10 ]]; then
    fail "only $set_lines options of deploy/sharegate.conf have a default; the defaults are misread"
fi
# The control: a refused value in the file makes --help fail.
cp "$work/filled.conf" "$work/control.conf"
echo "port = 0" >>"$work/control.conf"
if "$binary" --config "$work/control.conf" --help >/dev/null 2>&1; then
    fail "--help exits 0 with 'port = 0' in the config file: it does not check the file, and this test proves nothing"
fi

if [[ $failed -ne 0 ]]; then exit 1; fi
echo "option reference: deploy/sharegate.conf and docs/operations.md match $binary; the config file is accepted"
