#!/bin/sh
# Build and run every benchmark of bench/ and print one combined table
# (bench/README.md says what each case measures):
#   bench_text       policy parse, TXT parse, MX match vs hand-written
#                    baselines and vs the two peers
#   bench_discovery  the per-delivery path (cached lookup + decision) and
#                    the in-memory cache vs the same peers
#   bench_json       report ingest vs cJSON, and the peak memory (max RSS)
#                    of `mtasts report parse` on the 10 000-policy report
#
#   bench/run.sh [--runs N] [--batches N] [--batch-ms MS] [--json]
#                [--results FILE]
#   bench/run.sh --daemons [--rounds N] [--runs N] [--json] [--results FILE]
#
# --daemons runs only the daemon benchmarks instead (bench/daemons.py,
# issues 12 and 13, 3-5 minutes): mtasts-tlsrptd's datagram ingest against
# a receive-only sink and tlsrpt-collectd, and mtasts-policyd's socketmap
# answers against postfix-mta-sts-resolver and a constant epoll server;
# --rounds N interleaved rounds per run (default 3). As root the socketmap
# peer runs in private network and mount namespaces (unshare -mn). They
# are never part of the test suite.
#
# --runs N runs everything N times (default 1): each figure is the median
# of the N per-run medians, and each ratio the median of the N ratios
# computed within one run. --results FILE also writes FILE (bench/RESULTS.md)
# with the figures, the date, the commit and the machine, keeping its
# History table and adding this run's headline row to it.
#
# Environment: BUILD_DIR (default build-bench), PYTHON_SYSTEM (interpreter
# that sees the Debian package, default /usr/bin/python3), NODE (node),
# BENCH_CPU: the CPU every library benchmark and peer runs on (taskset),
# default the last online CPU; "none" leaves them unpinned. The daemon
# benchmarks are never pinned (a server and its load generator need a CPU
# each).
# A peer that is not installed is skipped with a SKIP line saying how to
# install it. Timings are informational: the exit status is 0 unless
# something fails to build or run.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${BUILD_DIR:-build-bench}
pysys=${PYTHON_SYSTEM:-/usr/bin/python3}
node=${NODE:-node}
runs=1
batches=31
batch_ms=20
json=
results=
daemons=
rounds=3

while [ $# -gt 0 ]; do
    case $1 in
    --runs) runs=$2; shift 2 ;;
    --batches) batches=$2; shift 2 ;;
    --batch-ms) batch_ms=$2; shift 2 ;;
    --json) json=--json; shift ;;
    --results) results=$2; shift 2 ;;
    --daemons) daemons=1; shift ;;
    --rounds) rounds=$2; shift 2 ;;
    *)
        echo "usage: $0 [--runs N] [--batches N] [--batch-ms MS] [--json]" \
            "[--results FILE]" >&2
        echo "       $0 --daemons [--rounds N] [--runs N] [--json]" \
            "[--results FILE]" >&2
        exit 2
        ;;
    esac
done
case $results in
"" | /*) ;;
*) results=$(pwd)/$results ;;
esac

say() { [ -n "$json" ] || echo "$*" >&2; }

cd "$root"
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" -Dbench=true --buildtype=release -Dtests=disabled \
        >"$build.setup.log" 2>&1 || {
        cat "$build.setup.log" >&2
        exit 1
    }
    rm -f "$build.setup.log"
fi
machine="$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPU(s), $(uname -sr), $(cc --version | head -1)"
# One CPU for ours and the peers alike: on a VM the CPUs need not be equal
# (README.md, "Pinning"), and a ratio of two processes that landed on
# different ones measures the CPUs, not the code.
pin=
cpu=${BENCH_CPU:-$(($(nproc) - 1))}
if [ -z "$daemons" ] && [ "$cpu" != none ]; then
    if command -v taskset >/dev/null 2>&1; then
        pin="taskset -c $cpu"
        machine="$machine, every benchmark pinned to CPU $cpu"
    else
        say "not pinned: taskset not found (apt-get install util-linux)"
    fi
fi
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
# (the results file itself, rewritten by the previous run, does not count)
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no -- . \
    ':!bench/RESULTS.md' 2>/dev/null)" ]; then
    commit="$commit (with uncommitted changes)"
fi

if [ -n "$daemons" ]; then
    # what exists in this build (the daemons need libevent, SQLite,
    # libmtasts-net, libyaml: a daemon not built is skipped by daemons.py)
    targets=$(ninja -C "$build" -t targets all | sed -n 's/^\([^:]*\): .*/\1/p')
    want=
    for t in bench/bench_dgram bench/bench_epoll_netstring \
        bench/bench_socketmap_load bench/bench_policyd_fill \
        tlsrptd/mtasts-tlsrptd policyd/mtasts-policyd; do
        if printf '%s\n' "$targets" | grep -qx "$t"; then
            want="$want $t"
        fi
    done
    # shellcheck disable=SC2086
    ninja -C "$build" $want >/dev/null
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT INT TERM
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)
    started=$(date -u '+%Y-%m-%d %H:%M UTC')
    i=1
    while [ "$i" -le "$runs" ]; do
        mkdir "$tmp/run$i"
        say "run $i of $runs: daemons ($rounds rounds)..."
        if [ -n "$json" ]; then
            "$pysys" "$here/daemons.py" --build "$build" --out "$tmp/run$i" \
                --rounds "$rounds" 2>/dev/null
        else
            "$pysys" "$here/daemons.py" --build "$build" --out "$tmp/run$i" \
                --rounds "$rounds"
        fi
        i=$((i + 1))
    done
    "$pysys" "$here/report.py" $json --machine "$machine" --commit "$commit" \
        --date "$started" \
        --load "before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg)" \
        ${results:+--results "$results"} "$tmp"/run*
    exit 0
fi

ninja -C "$build" bench/bench_text bench/bench_discovery tools/mtasts \
    >/dev/null
# bench_json needs Debian's libcjson-dev at configure time
have_json=
if ninja -C "$build" -t targets all | grep -q '^bench/bench_json:'; then
    ninja -C "$build" bench/bench_json >/dev/null
    have_json=1
else
    say "SKIP bench_json (cJSON): libcjson-dev not found when $build was" \
        "configured (apt-get install libcjson-dev, then" \
        "meson setup --reconfigure $build)"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# The peers read bench/policy-google.txt; it must be the bytes measured.
for b in bench_text bench_discovery; do
    if ! "$build/bench/$b" --print-policy | cmp -s - "$here/policy-google.txt"; then
        echo "run.sh: bench/policy-google.txt differs from $b's policy" >&2
        exit 1
    fi
done

# peer NAME OUT HOW COMMAND...: exit status 77 from the peer means "not
# installed": SKIP with HOW (what to install); any other failure stops.
peer() {
    name=$1 out=$2 how=$3
    shift 3
    rc=0
    say "running $name..."
    $pin "$@" --json --batches "$batches" --batch-ms "$batch_ms" >"$out" ||
        rc=$?
    if [ $rc -eq 77 ]; then
        say "SKIP $name: not installed ($how)"
        rm -f "$out"
    elif [ $rc -ne 0 ]; then
        echo "run.sh: $name failed ($rc)" >&2
        exit 1
    fi
}

pmsr_how="apt-get install postfix-mta-sts-resolver"
mailauth_how="cd bench/peers && npm install"
have_py=
if [ -x "$pysys" ]; then
    have_py=1
else
    say "SKIP postfix-mta-sts-resolver: $pysys not found ($pmsr_how)"
fi
have_node=
if command -v "$node" >/dev/null 2>&1; then
    have_node=1
else
    say "SKIP mailauth: node not found (apt-get install nodejs npm;" \
        "$mailauth_how)"
fi

if [ -n "$have_json" ]; then
    "$build/bench/bench_json" --print 50mib_10kpol >"$tmp/10kpol.json"
fi

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u '+%Y-%m-%d %H:%M UTC')

i=1
while [ "$i" -le "$runs" ]; do
    d=$tmp/run$i
    mkdir "$d"
    say "run $i of $runs: bench_text ($batches batches x ~${batch_ms} ms per case)..."
    $pin "$build/bench/bench_text" --json --batches "$batches" \
        --batch-ms "$batch_ms" >"$d/text.json"
    if [ -n "$have_py" ]; then
        peer "postfix-mta-sts-resolver text paths" "$d/pmsr.json" "$pmsr_how" \
            "$pysys" "$here/peers/bench_pmsr.py"
    fi
    if [ -n "$have_node" ]; then
        peer "mailauth text paths" "$d/mailauth.json" "$mailauth_how" \
            "$node" "$here/peers/bench_mailauth.js"
    fi
    say "run $i of $runs: bench_discovery..."
    $pin "$build/bench/bench_discovery" --json --batches "$batches" \
        --batch-ms "$batch_ms" >"$d/disc.json"
    if [ -n "$have_py" ]; then
        peer "postfix-mta-sts-resolver cached path" "$d/pmsr_d.json" \
            "$pmsr_how" "$pysys" "$here/peers/bench_pmsr_discovery.py"
    fi
    if [ -n "$have_node" ]; then
        peer "mailauth cached path" "$d/mailauth_d.json" "$mailauth_how" \
            "$node" "$here/peers/bench_mailauth_discovery.js"
    fi
    if [ -n "$have_json" ]; then
        say "run $i of $runs: bench_json (report ingest vs cJSON)..."
        $pin "$build/bench/bench_json" --json >"$d/json.json"
        # peak memory of the tool on the 10 000-policy report
        if [ -x /usr/bin/time ]; then
            /usr/bin/time -f '%M' -o "$d/rss.txt" \
                "$build/tools/mtasts" report parse "$tmp/10kpol.json" \
                >/dev/null
            printf '{"file_bytes": %s, "max_rss_kib": %s}\n' \
                "$(wc -c <"$tmp/10kpol.json")" "$(tail -1 "$d/rss.txt")" \
                >"$d/rss.json"
        elif [ "$i" -eq 1 ]; then
            say "SKIP tool peak memory: /usr/bin/time not found (apt-get install time)"
        fi
    fi
    i=$((i + 1))
done

"$pysys" "$here/report.py" $json --machine "$machine" --commit "$commit" \
    --date "$started" \
    --load "before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg)" \
    ${results:+--results "$results"} "$tmp"/run*
