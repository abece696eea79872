#!/bin/bash
# Compare the ABI of the built libmtasts.so (and libmtasts-net.so, when it
# was built) against the committed baselines abi/libmtasts.abi and
# abi/libmtasts-net.abi. Usage (from anywhere):
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

for tool in abidw abidiff; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "abi/check.sh: $tool not found (apt-get install abigail-tools)" >&2
        exit 2
    fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# check_one NAME SUBDIR: exit status as the script's.
check_one() {
    local name=$1 sub=$2
    local baseline=$here/$name.abi so=$build/$sub/$name.so.1
    local cur=$tmp/$name.abi report=$tmp/$name.txt status lib

    if [ ! -f "$baseline" ]; then
        echo "abi/check.sh: baseline $baseline missing; run abi/update.sh" >&2
        return 2
    fi
    lib=$(readlink -f "$so")
    abidw --drop-private-types --headers-dir "$root/include" \
        --out-file "$cur" "$lib"

    set +e
    # Both sides are abixml already reduced by --drop-private-types;
    # libabigail 2.2 (Debian 12) aborts when --drop-private-types is given
    # again together with --headers-dir1 on abixml input, so only the
    # header dirs are passed.
    abidiff --headers-dir1 "$root/include" --headers-dir2 "$root/include" \
        "$baseline" "$cur" >"$report" 2>&1
    status=$?
    set -e
    echo "== $name"
    cat "$report"

    # abidiff exit status is a bit mask: 1 = tool error, 2 = usage error,
    # 4 = ABI change, 8 = incompatible ABI change.
    if (( status & 3 )); then
        echo "abi/check.sh: abidiff failed (status $status)" >&2
        return 2
    fi
    if (( status & 8 )); then
        echo "abi/check.sh: FAIL: incompatible ABI change against abi/$name.abi" >&2
        return 1
    fi
    if (( status & 4 )); then
        # A change: allowed when it only adds symbols, not when it removes
        # any (functions, variables, or ELF symbols without debug info).
        if grep -Eq '(^|[^0-9])[1-9][0-9]* Removed' "$report" ||
            grep -Eq '^ *[1-9][0-9]* Removed (function|variable) symbols?' "$report" ||
            grep -Eq '^[[:space:]]*\[D\]' "$report"; then
            echo "abi/check.sh: FAIL: symbols were removed from $name" >&2
            return 1
        fi
        # abidiff calls a changed parameter list or a changed struct
        # reached from a function only a "change" (4), not an incompatible
        # one (8); for a frozen ABI any change to an existing symbol is a
        # break.
        if grep -Eq '(^|[^0-9])[1-9][0-9]* Changed' "$report" ||
            grep -Eq '^[[:space:]]*\[C\]' "$report"; then
            echo "abi/check.sh: FAIL: existing functions or variables of $name changed" >&2
            return 1
        fi
        echo "abi/check.sh: OK: $name: compatible ABI change (symbols added only)"
        return 0
    fi
    echo "abi/check.sh: OK: $name: no ABI change"
}

if [ ! -e "$build/src/libmtasts.so.1" ]; then
    echo "abi/check.sh: $build/src/libmtasts.so.1 not found; build first" >&2
    exit 2
fi
rc=0
check_one libmtasts src || rc=$?
if [ -e "$build/net/libmtasts-net.so.1" ]; then
    r=0
    check_one libmtasts-net net || r=$?
    (( r > rc )) && rc=$r
else
    echo "abi/check.sh: libmtasts-net not built (no c-ares/libcurl): not checked"
fi
exit $rc
