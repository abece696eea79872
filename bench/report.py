#!/usr/bin/env python3
"""Combine the JSON outputs of bench_text, bench_discovery and the peer
benchmarks into one table (used by bench/run.sh). Usage:

  report.py C_JSON [PMSR_JSON|-] [MAILAUTH_JSON|-] [--json] [--machine TEXT]
            [--discovery DISC_JSON [--pmsr-discovery J|-]
             [--mailauth-discovery J|-]]

A peer given as '-' (or an empty/missing file) was skipped.
"""
import json
import sys

PEER_TARGET = 10.0  # our policy parse must be at least this much faster
# our cached lookup with decision must be at least this much faster than
# each peer's cached path (issue 3)
DISC_PEER_TARGET = 20.0
# peer case -> our case it is compared with, and whether the target applies
DISC_PAIRS = {
    "pmsr_cached_resolve": ("lookup_decoded_decide", True),
    "pmsr_process_request": ("lookup_cached_decide", False),
    "pmsr_cache_get": ("cache_get", False),
    "mailauth_cached_decide": ("lookup_decoded_decide", True),
    "mailauth_cached_policy": ("lookup_cached", False),
}
OPTS = ("--machine", "--discovery", "--pmsr-discovery", "--mailauth-discovery")


def load(path):
    if path in (None, "-"):
        return None
    try:
        with open(path) as f:
            data = f.read().strip()
    except OSError:
        return None
    return json.loads(data) if data else None


def main(argv):
    as_json = "--json" in argv
    opt = {}
    for o in OPTS:
        if o in argv:
            opt[o] = argv[argv.index(o) + 1]
    machine = opt.get("--machine", "")
    pos = [a for i, a in enumerate(argv)
           if not a.startswith("--") and (i == 0 or argv[i - 1] not in OPTS)]
    disc = load(opt.get("--discovery"))
    disc_peers = [load(opt.get("--pmsr-discovery")),
                  load(opt.get("--mailauth-discovery"))]
    disc_rows = discovery_rows(disc, disc_peers)
    ours = load(pos[0])
    peers = [load(p) for p in pos[1:3]]
    by_name = {c["name"]: c for c in ours["cases"]}
    pol = by_name.get("policy_parse")

    rows = []
    for peer in peers:
        if peer is None or pol is None:
            continue
        for c in peer["cases"]:
            speedup = c["median_ns"] / pol["median_ns"]
            rows.append({"peer": peer["bench"], "peer_version": peer.get("peer_version"),
                         "name": c["name"], "what": c["what"],
                         "median_ns": c["median_ns"], "min_ns": c["min_ns"],
                         "speedup": speedup,
                         "speedup_of_mins": c["min_ns"] / pol["min_ns"],
                         "target_min_speedup": PEER_TARGET,
                         "pass": speedup >= PEER_TARGET})

    if as_json:
        doc = {"machine": machine, "bench_text": ours,
               "peers": [p for p in peers if p is not None],
               "policy_vs_peers": rows}
        if disc is not None:
            doc["bench_discovery"] = disc
            doc["discovery_peers"] = [p for p in disc_peers if p is not None]
            doc["discovery_vs_peers"] = disc_rows
        print(json.dumps(doc, indent=1))
        return 0

    if machine:
        print("machine: " + machine)
    print("libmtasts %s, median of %d batches per case\n"
          % (ours["library_version"], ours["batches"]))
    fmt = "%-22s %-38s %10s %8s %8s %6s"
    print(fmt % ("case", "what", "median ns", "ratio", "target", "result"))
    for c in ours["cases"]:
        if "ratio" in c:
            ratio = "%.2fx" % c["ratio"]
            target = "<=%.1fx" % c["target_max_ratio"]
            res = "PASS" if c["pass"] else "MISS"
        else:
            ratio, target, res = "(base)", "", ""
        print(fmt % (c["name"], c["what"], "%.1f" % c["median_ns"], ratio, target, res))

    print("\npolicy parse vs peers (same 6-line policy bytes; speedup = peer / ours,"
          " of medians; 'of mins' = of the fastest batches, less load-sensitive)")
    fmt = "%-22s %-38s %10s %8s %8s %6s %8s"
    print(fmt % ("case", "what", "median ns", "speedup", "target", "result", "of mins"))
    if pol is not None:
        print(fmt % ("policy_parse", pol["what"], "%.1f" % pol["median_ns"], "1.00x", "", "", ""))
    for r in rows:
        print(fmt % (r["name"], r["what"], "%.1f" % r["median_ns"],
                     "%.2fx" % r["speedup"], ">=%.0fx" % r["target_min_speedup"],
                     "PASS" if r["pass"] else "MISS", "%.2fx" % r["speedup_of_mins"]))
    names = {"pmsr": "postfix-mta-sts-resolver", "mailauth": "mailauth"}
    for i, p in enumerate(peers):
        if p is None:
            print("(%s: skipped, not installed)" % ("pmsr", "mailauth")[i])
        else:
            print("(%s %s)" % (names.get(p["bench"], p["bench"]), p.get("peer_version", "?")))
    if disc is not None:
        print_discovery(disc, disc_peers, disc_rows)
    return 0


def discovery_rows(disc, peers):
    if disc is None:
        return []
    by_name = {c["name"]: c for c in disc["cases"]}
    rows = []
    for peer in peers:
        if peer is None:
            continue
        for c in peer["cases"]:
            ours_name, targeted = DISC_PAIRS.get(c["name"], (None, False))
            o = by_name.get(ours_name)
            if o is None:
                continue
            r = {"peer": peer["bench"], "peer_version": peer.get("peer_version"),
                 "name": c["name"], "what": c["what"], "vs": ours_name,
                 "median_ns": c["median_ns"], "min_ns": c["min_ns"],
                 "speedup": c["median_ns"] / o["median_ns"],
                 "speedup_of_mins": c["min_ns"] / o["min_ns"]}
            if targeted:
                r["target_min_speedup"] = DISC_PEER_TARGET
                r["pass"] = r["speedup"] >= DISC_PEER_TARGET
            rows.append(r)
    return rows


def print_discovery(disc, peers, rows):
    print("\ndiscovery (issue 3), bench_discovery, median of %d batches, "
          "entry %d bytes, %d cached domains"
          % (disc["batches"], disc.get("entry_bytes", 0), disc.get("domains", 0)))
    fmt = "%-22s %-44s %10s %8s %8s %6s"
    print(fmt % ("case", "what", "median ns", "ratio", "target", "result"))
    for c in disc["cases"]:
        if "ratio" in c:
            ratio = "%.2fx" % c["ratio"]
            target = "<=%.1fx" % c["target_max_ratio"]
            res = "PASS" if c["pass"] else "MISS"
        else:
            ratio, target, res = "", "", ""
        print(fmt % (c["name"], c["what"], "%.1f" % c["median_ns"], ratio, target, res))
    print("\ncached path vs peers (speedup = peer / ours, of medians; 'vs' is our"
          " case it is compared with; 'of mins' = of the fastest batches)")
    fmt = "%-22s %-44s %10s %8s %8s %6s %8s  %s"
    print(fmt % ("case", "what", "median ns", "speedup", "target", "result",
                 "of mins", "vs"))
    for r in rows:
        tgt = ">=%.0fx" % r["target_min_speedup"] if "pass" in r else "(info)"
        res = ("PASS" if r["pass"] else "MISS") if "pass" in r else ""
        print(fmt % (r["name"], r["what"], "%.1f" % r["median_ns"],
                     "%.2fx" % r["speedup"], tgt, res,
                     "%.2fx" % r["speedup_of_mins"], r["vs"]))
    names = {"pmsr_discovery": "postfix-mta-sts-resolver",
             "mailauth_discovery": "mailauth"}
    for i, p in enumerate(peers):
        if p is None:
            print("(%s: skipped, not installed)" % ("pmsr", "mailauth")[i])
        else:
            print("(%s %s)" % (names.get(p["bench"], p["bench"]),
                               p.get("peer_version", "?")))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
