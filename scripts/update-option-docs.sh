#!/usr/bin/env bash
# Regenerates the option reference from a built sharegate binary, so that the documents
# say what the options say:
#   deploy/sharegate.conf    its --print-options=config (the package's
#                            /etc/sharegate/sharegate.conf);
#   docs/operations.md       the section between <!-- options:begin --> and
#                            <!-- options:end -->, its --print-options=markdown.
# The test option_reference (tests/package/option_docs_test.sh) fails while either
# differs from what the binary prints.
#
#   scripts/update-option-docs.sh [BUILD_DIR]     (default build/release)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build/release}
[[ $build = /* ]] || build=$root/$build
binary=$build/frontend/sharegate
if [[ ! -x $binary ]]; then
    echo "update-option-docs: $binary is missing; build it first: cmake --build $build --target sharegate" >&2
    exit 1
fi

"$binary" --print-options=config >"$root/deploy/sharegate.conf.new"
mv "$root/deploy/sharegate.conf.new" "$root/deploy/sharegate.conf"
echo "update-option-docs: wrote deploy/sharegate.conf"

doc=$root/docs/operations.md
begin='<!-- options:begin -->'
end='<!-- options:end -->'
if ! grep -qxF "$begin" "$doc" || ! grep -qxF "$end" "$doc"; then
    echo "update-option-docs: docs/operations.md has no '$begin' and '$end' lines; its option table is not written" >&2
    exit 1
fi
table=$(mktemp)
trap 'rm -f "$table" "$doc.new"' EXIT
"$binary" --print-options=markdown >"$table"
# The lines between the markers become the table; the markers and the rest stay.
awk -v begin="$begin" -v end="$end" -v table="$table" '
    $0 == begin { print; while ((getline line < table) > 0) print line; skipping = 1; next }
    $0 == end { skipping = 0 }
    !skipping { print }
' "$doc" >"$doc.new"
mv "$doc.new" "$doc"
echo "update-option-docs: wrote the option table of docs/operations.md"
