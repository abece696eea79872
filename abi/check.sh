#!/bin/bash
# Compare the ABI of a built libmtasts.so against the committed baseline
# abi/libmtasts.abi. Usage (from anywhere):
#
#   abi/check.sh [BUILD_DIR]      # default BUILD_DIR: <project>/build
#
# BUILD_DIR must hold a build with debug info (-g; the default
# buildtype=debugoptimized has it). Exit status: 0 when compatible (added
# symbols are fine), 1 on an incompatible change, a changed or a removed
# symbol,
# 2 on a usage or tool error. See abi/README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build}
baseline=$here/libmtasts.abi

for tool in abidw abidiff; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "abi/check.sh: $tool not found (apt-get install abigail-tools)" >&2
        exit 2
    fi
done
if [ ! -e "$build/src/libmtasts.so.1" ]; then
    echo "abi/check.sh: $build/src/libmtasts.so.1 not found; build first" >&2
    exit 2
fi
if [ ! -f "$baseline" ]; then
    echo "abi/check.sh: baseline $baseline missing; run abi/update.sh" >&2
    exit 2
fi
lib=$(readlink -f "$build/src/libmtasts.so.1")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cur=$tmp/cur.abi
report=$tmp/report.txt

abidw --drop-private-types --headers-dir "$root/include" \
    --out-file "$cur" "$lib"

set +e
# Both sides are abixml already reduced by --drop-private-types; libabigail
# 2.2 (Debian 12) aborts when --drop-private-types is given again together
# with --headers-dir1 on abixml input, so only the header dirs are passed.
abidiff --headers-dir1 "$root/include" --headers-dir2 "$root/include" \
    "$baseline" "$cur" >"$report" 2>&1
status=$?
set -e
cat "$report"

# abidiff exit status is a bit mask: 1 = tool error, 2 = usage error,
# 4 = ABI change, 8 = incompatible ABI change.
if (( status & 3 )); then
    echo "abi/check.sh: abidiff failed (status $status)" >&2
    exit 2
fi
if (( status & 8 )); then
    echo "abi/check.sh: FAIL: incompatible ABI change against abi/libmtasts.abi" >&2
    exit 1
fi
if (( status & 4 )); then
    # A change: allowed when it only adds symbols, not when it removes any
    # (functions, variables, or ELF symbols without debug info).
    if grep -Eq '(^|[^0-9])[1-9][0-9]* Removed' "$report" ||
        grep -Eq '^ *[1-9][0-9]* Removed (function|variable) symbols?' "$report" ||
        grep -Eq '^[[:space:]]*\[D\]' "$report"; then
        echo "abi/check.sh: FAIL: symbols were removed from the ABI" >&2
        exit 1
    fi
    # abidiff calls a changed parameter list or a changed struct reached
    # from a function only a "change" (4), not an incompatible one (8);
    # for a frozen ABI any change to an existing symbol is a break.
    if grep -Eq '(^|[^0-9])[1-9][0-9]* Changed' "$report" ||
        grep -Eq '^[[:space:]]*\[C\]' "$report"; then
        echo "abi/check.sh: FAIL: existing functions or variables changed" >&2
        exit 1
    fi
    echo "abi/check.sh: OK: compatible ABI change (symbols added only)"
    exit 0
fi
echo "abi/check.sh: OK: no ABI change"
