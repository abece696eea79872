#!/bin/sh
# Repeatable cost figures: instructions per operation of each bench_text
# and bench_discovery case under valgrind --tool=callgrind. Each case runs
# twice, with N and 2N fixed iterations (--iterations), and the difference
# divided by N cancels start-up, set-up and the self-checks.
#
#   bench/callgrind.sh [N]        (default N=10000; needs valgrind)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${BUILD_DIR:-build-bench}
n=${1:-10000}
cd "$root"
command -v valgrind >/dev/null 2>&1 || { echo "valgrind not installed" >&2; exit 1; }
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" -Dbench=true --buildtype=release -Dtests=disabled >/dev/null
fi
ninja -C "$build" bench/bench_text bench/bench_discovery_static >/dev/null
disc=$build/bench/bench_discovery
ninja -C "$build" bench/bench_discovery >/dev/null 2>&1 ||
    disc=$build/bench/bench_discovery_static
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

total() {
    prog=$build/bench/bench_text
    case $1 in
    lookup_* | entry_decode | decide | cache_get | hash_get_*) prog=$disc ;;
    esac
    valgrind --tool=callgrind --callgrind-out-file="$tmp/out" \
        "$prog" --iterations "$2" --only "$1" \
        >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
    sed -n 's/^summary: //p' "$tmp/out"
}

printf '%-22s %14s\n' case "instr/op"
for c in policy_parse policy_scan_baseline policy_scan_lines txt_parse \
    txt_scan_baseline mx_match_wildcard mx_wildcard_baseline mx_match_exact \
    mx_exact_baseline lookup_cached_decide lookup_cached entry_decode decide \
    cache_get hash_get_baseline; do
    a=$(total "$c" "$n")
    b=$(total "$c" $((2 * n)))
    awk -v c="$c" -v a="$a" -v b="$b" -v n="$n" \
        'BEGIN { printf "%-22s %14.1f\n", c, (b - a) / n }'
done
