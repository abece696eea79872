#!/usr/bin/env python3
"""Combine the JSON outputs of one or more bench/run.sh runs into one table,
score the targets of issue 10, and optionally write bench/RESULTS.md.

  report.py [--json] [--machine T] [--commit T] [--date T] [--load T]
            [--results FILE] RUN_DIR...

Each RUN_DIR holds one run's outputs: text.json (bench_text), disc.json
(bench_discovery), json.json (bench_json), rss.json (the tool's peak
memory), and the peers' pmsr.json, mailauth.json, pmsr_d.json,
mailauth_d.json (absent: the peer was skipped). A figure is the median of
the per-run medians; a ratio is computed within each run (ours and the
peer's figures from the same run) and the median of those is shown, with
their range when there are several runs.
"""
import json
import os
import re
import statistics
import sys

# issue 10 targets
PEER_TEXT_TARGET = 5.0     # policy parse, TXT parse, MX match >= 5x the
                           # best peer
DELIVERY_TARGET = 20.0     # per-delivery path from the stored entry bytes
INGEST_GBPS = 1.0          # report ingest >= 1 GB/s at every size
INGEST_VS_CJSON = 2.5      # and >= 2.5x cJSON
RSS_RATIO = 1.5            # tool peak memory <= 1.5x the file

# peer case of bench_pmsr.py / bench_mailauth.js -> the bench_text case it
# is compared with (same input)
TEXT_PAIRS = {
    "pmsr_parse": "policy_parse",
    "pmsr_decode_parse": "policy_parse",
    "mailauth_parse_buffer": "policy_parse",
    "mailauth_parse_string": "policy_parse",
    "pmsr_txt_parse": "txt_parse",
    "pmsr_txt_check": "txt_parse",
    "mailauth_txt_parse": "txt_parse",
    "mailauth_mx_wildcard": "mx_match_wildcard",
    "mailauth_mx_exact": "mx_match_exact",
}
# our text cases scored against the best (fastest) peer, with their labels
TEXT_TARGETS = [
    ("policy_parse", "Policy parse"),
    ("txt_parse", "TXT parse"),
    ("mx_match_wildcard", "MX match (wildcard pattern)"),
    ("mx_match_exact", "MX match (exact pattern)"),
]

# (peer case, our case it is compared with, scored against the target)
DISC_PAIRS = [
    ("pmsr_cached_resolve", "lookup_cached_decide", True),
    ("pmsr_cached_resolve", "lookup_decoded_decide", False),
    ("pmsr_process_request", "lookup_cached_decide", False),
    ("pmsr_cache_get", "cache_get", False),
    ("mailauth_cached_decide", "lookup_cached_decide", True),
    ("mailauth_cached_decide", "lookup_decoded_decide", False),
    ("mailauth_cached_policy", "lookup_cached", False),
]
PEER_NAMES = {"pmsr": "postfix-mta-sts-resolver", "mailauth": "mailauth",
              "pmsr_discovery": "postfix-mta-sts-resolver",
              "mailauth_discovery": "mailauth"}
HISTORY_HEAD = "## History"


def load(path):
    try:
        with open(path) as f:
            data = f.read().strip()
    except OSError:
        return None
    return json.loads(data) if data else None


def med(xs):
    return statistics.median(xs) if xs else None


def cases(doc):
    return {c["name"]: c for c in doc["cases"]} if doc else {}


class Runs:
    """The same outputs of several runs, side by side."""

    def __init__(self, dirs):
        self.runs = []
        for d in dirs:
            r = {k: load(os.path.join(d, k + ".json"))
                 for k in ("text", "disc", "json", "rss", "pmsr", "mailauth",
                           "pmsr_d", "mailauth_d")}
            self.runs.append(r)

    def first(self, key):
        for r in self.runs:
            if r[key] is not None:
                return r[key]
        return None

    def ns(self, key, name):
        """Median over runs of one case's median ns."""
        return med([cases(r[key])[name]["median_ns"] for r in self.runs
                    if name in cases(r[key])])

    def ratio(self, key_a, a, key_b, b):
        """Per-run a/b (medians of the same run): (median, min, max)."""
        xs = []
        for r in self.runs:
            ca, cb = cases(r[key_a]), cases(r[key_b])
            if a in ca and b in cb:
                xs.append(ca[a]["median_ns"] / cb[b]["median_ns"])
        if not xs:
            return None
        return (med(xs), min(xs), max(xs))


def fmt_ratio(r):
    if r is None:
        return "-"
    if r[1] == r[2]:
        return "%.2fx" % r[0]
    return "%.2fx (%.2f-%.2f)" % r


def verdict(ok):
    return "PASS" if ok else "MISS"


def build(runs):
    """All tables as (title, header, rows), and the headline targets."""
    tables, targets = [], []
    text = runs.first("text")
    if text:
        rows = []
        # issue 10 replaced the "<= 2x the baseline" targets of the text
        # paths with ">= 5x the best peer": the ratios are information
        for c in text["cases"]:
            row = [c["name"], c["what"], "%.1f" % runs.ns("text", c["name"])]
            if "baseline" in c:
                r = runs.ratio("text", c["name"], "text", c["baseline"])
                row += [fmt_ratio(r)]
            else:
                row += ["(base)"]
            rows.append(row)
        tables.append(("Text paths (bench_text; ratio = ours / hand-written "
                       "baseline, information)",
                       ["case", "what", "median ns", "ratio"], rows))
        rows = []
        best = {}  # our case -> the lowest per-peer-case speedup
        for key in ("pmsr", "mailauth"):
            peer = runs.first(key)
            if peer is None:
                rows.append(["(%s)" % PEER_NAMES[key], "skipped: not installed",
                             "", "", "", "", ""])
                continue
            for c in peer["cases"]:
                ours = TEXT_PAIRS.get(c["name"])
                if ours is None:
                    print("report.py: peer case %s has no case of ours; "
                          "add it to TEXT_PAIRS" % c["name"], file=sys.stderr)
                    continue
                r = runs.ratio(key, c["name"], "text", ours)
                if r is None:
                    continue
                rows.append([c["name"], c["what"] + " " +
                             peer.get("peer_version", ""),
                             "%.1f" % runs.ns(key, c["name"]), ours,
                             fmt_ratio(r), ">=%.0fx" % PEER_TEXT_TARGET,
                             verdict(r[0] >= PEER_TEXT_TARGET)])
                best[ours] = min(best.get(ours, r[0]), r[0])
            for note in peer.get("notes", []):
                rows.append(["(%s)" % PEER_NAMES[key], note, "", "", "", "",
                             ""])
        tables.append(("Text paths vs peers (same inputs; speedup = peer / "
                       "ours; 'vs' = our case)",
                       ["case", "what", "median ns", "vs", "speedup",
                        "target", "result"], rows))
        for ours, label in TEXT_TARGETS:
            if ours in best:
                targets.append(("%s >= %.0fx the best peer"
                                % (label, PEER_TEXT_TARGET),
                                "%.1fx" % best[ours],
                                best[ours] >= PEER_TEXT_TARGET))
    disc = runs.first("disc")
    if disc:
        rows = []
        for c in disc["cases"]:
            row = [c["name"], c["what"], "%.1f" % runs.ns("disc", c["name"])]
            if "baseline" in c:
                r = runs.ratio("disc", c["name"], "disc", c["baseline"])
                row += [fmt_ratio(r), "<=%.1fx" % c["target_max_ratio"],
                        verdict(r[0] <= c["target_max_ratio"])]
            else:
                row += ["", "", ""]
            rows.append(row)
        tables.append(("Per-delivery path (bench_discovery; entry %d bytes, "
                       "%d cached domains)" % (disc.get("entry_bytes", 0),
                                               disc.get("domains", 0)),
                       ["case", "what", "median ns", "ratio", "target",
                        "result"], rows))
        rows = []
        for key in ("pmsr_d", "mailauth_d"):
            peer = runs.first(key)
            if peer is None:
                rows.append(["(%s)" % PEER_NAMES[key.replace("_d", "")],
                             "skipped: not installed", "", "", "", "", ""])
                continue
            names = cases(peer)
            for pc, ours, scored in DISC_PAIRS:
                if pc not in names:
                    continue
                r = runs.ratio(key, pc, "disc", ours)
                if r is None:
                    continue
                rows.append([pc, names[pc]["what"],
                             "%.1f" % runs.ns(key, pc), ours, fmt_ratio(r),
                             ">=%.0fx" % DELIVERY_TARGET if scored else "(info)",
                             verdict(r[0] >= DELIVERY_TARGET) if scored
                             else ""])
                if scored:
                    targets.append((
                        "Per-delivery path from the stored entry bytes >= "
                        "%.0fx %s" % (DELIVERY_TARGET,
                                      PEER_NAMES[peer["bench"]]),
                        "%.1fx (%.0f ns vs %.0f ns)"
                        % (r[0], runs.ns("disc", ours), runs.ns(key, pc)),
                        r[0] >= DELIVERY_TARGET))
        tables.append(("Per-delivery path vs peers (speedup = peer / ours; "
                       "'vs' = our case)", ["case", "what", "median ns", "vs",
                                            "speedup", "target", "result"],
                       rows))
    js = runs.first("json")
    if js:
        rows = []
        for c in js:
            name = c["case"]
            per = [x for r in runs.runs if r["json"]
                   for x in r["json"] if x["case"] == name]
            gbps = med([x["mtasts_gbps"] for x in per])
            cj = med([x["cjson_gbps"] for x in per])
            sp = [x["mtasts_gbps"] / x["cjson_gbps"] for x in per]
            r = (med(sp), min(sp), max(sp))
            ok = gbps >= INGEST_GBPS and r[0] >= INGEST_VS_CJSON
            rows.append([name, "%d" % c["bytes"], "%.3f" % gbps, "%.3f" % cj,
                         fmt_ratio(r), "%.2fx" % c["model_ratio"],
                         verdict(ok)])
            targets.append(("Report ingest %s: >= %.0f GB/s and >= %.1fx cJSON"
                            % (name, INGEST_GBPS, INGEST_VS_CJSON),
                            "%.2f GB/s, %.2fx" % (gbps, r[0]), ok))
        tables.append(("Report ingest (bench_json; GB/s = 10^9 bytes of JSON "
                       "per second; model = bytes a parsed report holds / "
                       "JSON bytes)",
                       ["case", "JSON bytes", "mtasts GB/s", "cJSON GB/s",
                        "speedup", "model", "target"], rows))
    rss = [r["rss"] for r in runs.runs if r["rss"]]
    if rss:
        kib = med([x["max_rss_kib"] for x in rss])
        ratio = kib * 1024 / rss[0]["file_bytes"]
        tables.append(("Tool peak memory: /usr/bin/time max RSS of `mtasts "
                       "report parse` on the 50mib_10kpol report",
                       ["file bytes", "max RSS KiB", "RSS / file", "target",
                        "result"],
                       [["%d" % rss[0]["file_bytes"], "%d" % kib,
                         "%.2fx" % ratio, "<=%.1fx" % RSS_RATIO,
                         verdict(ratio <= RSS_RATIO)]]))
        targets.append(("`mtasts report parse` peak memory <= %.1fx the file "
                        "(50 MB, 10 000 policies)" % RSS_RATIO,
                        "%.2fx" % ratio, ratio <= RSS_RATIO))
    return tables, targets


def render(tables):
    out = []
    for title, head, rows in tables:
        widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
        out.append(title)
        for row in [head] + rows:
            out.append("  ".join(str(x).ljust(w) for x, w in
                                 zip(row, widths)).rstrip())
        out.append("")
    return "\n".join(out)


def versions(runs):
    v = []
    for key in ("pmsr", "mailauth"):
        p = runs.first(key)
        if p:
            extra = p.get("python") or p.get("node") or ""
            v.append("%s %s%s" % (PEER_NAMES[key], p.get("peer_version", "?"),
                                  " (%s)" % extra if extra else ""))
    return ", ".join(v) or "no peers"


def write_results(path, meta, runs, tables, targets):
    history = []
    try:
        with open(path) as f:
            old = f.read()
        if HISTORY_HEAD in old:
            history = old[old.index(HISTORY_HEAD):].rstrip("\n").split("\n")
    except OSError:
        pass
    if not history:
        history = [HISTORY_HEAD, "",
                   "Headline figures of past recorded runs (newest last).",
                   "", "| date | commit | headline |", "|---|---|---|"]
    head = "; ".join("%s %s" % (short(t[0]), t[1].split(" (")[0])
                     for t in targets)
    history.append("| %s | %s | %s |" % (meta["date"], meta["commit"], head))
    text = runs.first("text")
    lines = [
        "# Benchmark results",
        "",
        "Written by `bench/run.sh --results bench/RESULTS.md`; the method is "
        "in [README.md](README.md). Figures are medians of %d run(s); each "
        "ratio is computed within one run, and the median of the per-run "
        "ratios is shown with their range." % len(runs.runs),
        "",
        "- date: %s" % meta["date"],
        "- commit: %s" % meta["commit"],
        "- machine: %s" % meta["machine"],
        "- load average (1/5/15 min): %s" % meta["load"],
        "- libmtasts %s, %d batches per case; peers: %s"
        % (text["library_version"] if text else "?",
           text["batches"] if text else 0, versions(runs)),
        "",
        "## Targets (issue 10)",
        "",
        "| target | measured | result |",
        "|---|---|---|",
    ]
    for name, val, ok in targets:
        lines.append("| %s | %s | %s |" % (name, val, verdict(ok)))
    lines += ["", "## All figures", "", "```", render(tables).rstrip(), "```",
              ""]
    with open(path, "w") as f:
        f.write("\n".join(lines + history) + "\n")


def short(name):
    """A target's name for the one-line history."""
    m = re.match(r"Report ingest (\S+):", name)
    if m:
        return m.group(1)
    if name.startswith("Per-delivery"):
        return "delivery vs " + name.split()[-1]
    if name.startswith("Policy parse"):
        return "policy parse vs best peer"
    if name.startswith("TXT parse"):
        return "TXT parse vs best peer"
    m = re.match(r"MX match \((\w+)", name)
    if m:
        return "MX %s vs best peer" % m.group(1)
    if name.startswith("`mtasts report parse`"):
        return "tool RSS/file"
    return name


def main(argv):
    as_json = "--json" in argv
    opts = ("--machine", "--commit", "--date", "--load", "--results")
    meta, dirs, i = {o[2:]: "" for o in opts}, [], 0
    while i < len(argv):
        if argv[i] in opts:
            meta[argv[i][2:]] = argv[i + 1]
            i += 2
        elif argv[i] == "--json":
            i += 1
        else:
            dirs.append(argv[i])
            i += 1
    runs = Runs(dirs)
    tables, targets = build(runs)
    if meta["results"]:
        write_results(meta["results"], meta, runs, tables, targets)
    if as_json:
        print(json.dumps({"meta": meta, "runs": runs.runs,
                          "targets": [{"target": t, "measured": v, "pass": ok}
                                      for t, v, ok in targets]}, indent=1))
        return 0
    print("%s, commit %s" % (meta["date"], meta["commit"]))
    print("machine: %s" % meta["machine"])
    print("load average (1/5/15 min): %s" % meta["load"])
    print("peers: %s; %d run(s)\n" % (versions(runs), len(runs.runs)))
    print(render(tables))
    print("Targets (issue 10)")
    for name, val, ok in targets:
        print("  %s  %s: %s" % (verdict(ok), name, val))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
