#!/bin/sh
# Build and run every benchmark of bench/ in one go and print one combined
# table: libmtasts vs its hand-written baselines, the policy parse vs
# postfix-mta-sts-resolver and mailauth, and (bench_discovery) the cached
# lookup with decision and the in-memory cache vs the same peers.
#
#   bench/run.sh [--batches N] [--batch-ms MS] [--json]
#
# Environment: BUILD_DIR (default build-bench), PYTHON_SYSTEM (interpreter
# that sees the Debian package, default /usr/bin/python3), NODE (node).
# Timings are informational: the exit status is 0 unless something fails to
# build or run.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${BUILD_DIR:-build-bench}
pysys=${PYTHON_SYSTEM:-/usr/bin/python3}
node=${NODE:-node}
batches=31
batch_ms=20
json=

while [ $# -gt 0 ]; do
    case $1 in
    --batches) batches=$2; shift 2 ;;
    --batch-ms) batch_ms=$2; shift 2 ;;
    --json) json=--json; shift ;;
    *) echo "usage: $0 [--batches N] [--batch-ms MS] [--json]" >&2; exit 2 ;;
    esac
done

cd "$root"
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" -Dbench=true --buildtype=release -Dtests=disabled \
        >"$root/$build.setup.log" 2>&1 || {
        cat "$root/$build.setup.log" >&2
        exit 1
    }
    rm -f "$root/$build.setup.log"
fi
ninja -C "$build" bench/bench_text bench/bench_text_static \
    bench/bench_discovery_static >/dev/null
# bench_discovery links the shared library like a user's program; it needs
# the mtasts_cache_* symbols exported by src/libmtasts.map. If they are not
# (yet), fall back to the static build and say so.
disc=$build/bench/bench_discovery
if ! ninja -C "$build" bench/bench_discovery >"$build/bench-discovery.log" 2>&1; then
    echo "NOTE: bench_discovery (shared libmtasts) failed to build or link" \
        "(see $build/bench-discovery.log); using bench_discovery_static" >&2
    disc=$build/bench/bench_discovery_static
fi

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# The peers read bench/policy-google.txt; it must be the bytes bench_text
# measures.
"$build/bench/bench_text" --print-policy >"$tmp/policy.txt"
if ! cmp -s "$tmp/policy.txt" "$here/policy-google.txt"; then
    echo "run.sh: bench/policy-google.txt differs from bench_text's policy" >&2
    exit 1
fi

machine="$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPU(s), $(uname -sr), $(cc --version | head -1)"

[ -n "$json" ] || echo "running bench_text ($batches batches x ~${batch_ms} ms per case)..." >&2
"$build/bench/bench_text" --json --batches "$batches" --batch-ms "$batch_ms" >"$tmp/c.json"

pmsr=-
if [ -x "$pysys" ]; then
    [ -n "$json" ] || echo "running postfix-mta-sts-resolver peer..." >&2
    rc=0
    "$pysys" "$here/peers/bench_pmsr.py" --json --batches "$batches" \
        --batch-ms "$batch_ms" >"$tmp/pmsr.json" || rc=$?
    if [ $rc -eq 0 ]; then
        pmsr=$tmp/pmsr.json
    elif [ $rc -ne 77 ]; then
        echo "run.sh: bench_pmsr.py failed ($rc)" >&2
        exit 1
    fi
else
    echo "SKIP pmsr: $pysys not found" >&2
fi

mailauth=-
if command -v "$node" >/dev/null 2>&1; then
    [ -n "$json" ] || echo "running mailauth peer..." >&2
    rc=0
    "$node" "$here/peers/bench_mailauth.js" --json --batches "$batches" \
        --batch-ms "$batch_ms" >"$tmp/mailauth.json" || rc=$?
    if [ $rc -eq 0 ]; then
        mailauth=$tmp/mailauth.json
    elif [ $rc -ne 77 ]; then
        echo "run.sh: bench_mailauth.js failed ($rc)" >&2
        exit 1
    fi
else
    echo "SKIP mailauth: node not found" >&2
fi

if ! "$disc" --print-policy | cmp -s - "$here/policy-google.txt"; then
    echo "run.sh: bench/policy-google.txt differs from bench_discovery's policy" >&2
    exit 1
fi
[ -n "$json" ] || echo "running bench_discovery ($batches batches x ~${batch_ms} ms per case)..." >&2
"$disc" --json --batches "$batches" --batch-ms "$batch_ms" >"$tmp/d.json"

# run_peer NAME OUTFILE COMMAND...: exit status 77 means "not installed"
run_peer() {
    name=$1 out=$2
    shift 2
    rc=0
    "$@" --json --batches "$batches" --batch-ms "$batch_ms" >"$out" || rc=$?
    if [ $rc -eq 77 ]; then
        echo - >"$out.path"
    elif [ $rc -ne 0 ]; then
        echo "run.sh: $name failed ($rc)" >&2
        exit 1
    else
        echo "$out" >"$out.path"
    fi
}

pmsr_d=-
if [ -x "$pysys" ]; then
    [ -n "$json" ] || echo "running postfix-mta-sts-resolver discovery peer..." >&2
    run_peer bench_pmsr_discovery.py "$tmp/pmsr_d.json" \
        "$pysys" "$here/peers/bench_pmsr_discovery.py"
    pmsr_d=$(cat "$tmp/pmsr_d.json.path")
fi
mailauth_d=-
if command -v "$node" >/dev/null 2>&1; then
    [ -n "$json" ] || echo "running mailauth discovery peer..." >&2
    run_peer bench_mailauth_discovery.js "$tmp/mailauth_d.json" \
        "$node" "$here/peers/bench_mailauth_discovery.js"
    mailauth_d=$(cat "$tmp/mailauth_d.json.path")
fi

[ -n "$json" ] || { date -u '+%Y-%m-%d %H:%M UTC'; echo "load average (1/5/15 min): before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg)"; }
"$pysys" "$here/report.py" "$tmp/c.json" "$pmsr" "$mailauth" \
    --machine "$machine" $json --discovery "$tmp/d.json" \
    --pmsr-discovery "$pmsr_d" --mailauth-discovery "$mailauth_d"
