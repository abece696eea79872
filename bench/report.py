#!/usr/bin/env python3
"""Combine the JSON outputs of one or more bench/run.sh runs into one table,
score the targets of issue 10 (library) and of issues 12 and 13 (daemons,
`run.sh --daemons`), and optionally write bench/RESULTS.md.

  report.py [--json] [--machine T] [--commit T] [--date T] [--load T]
            [--results FILE] RUN_DIR...

Each RUN_DIR holds one run's outputs: text.json (bench_text), disc.json
(bench_discovery), json.json (bench_json), rss.json (the tool's peak
memory), and the peers' pmsr.json, mailauth.json, pmsr_d.json,
mailauth_d.json (absent: the peer was skipped); tlsrpt.json and
policyd.json (bench/daemons.py). A figure is the median of the per-run
medians; a ratio is computed within each run (ours and the peer's figures
from the same run) and the median of those is shown, with their range
when there are several runs. For the daemons a ratio is computed within
each round (the servers of one round run one after the other), and the
median over the rounds of every run is shown.

RESULTS.md keeps the part of the previous file that this run did not
measure: a library run keeps the daemon section and a daemon run keeps
the library figures; the History table gets one row per run.
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
# issue 13: TLSRPT ingest
INGEST_VS_COLLECTD = 100.0  # mtasts-tlsrptd >= 100x tlsrpt-collectd
INGEST_VS_SINK = 0.5        # and >= 0.5x a receive-only C sink
# issue 12: socketmap requests per second, cached domains
SOCKETMAP_VS_PMSR = 2.0     # mtasts-policyd >= 2x PMSR (internal cache)
SOCKETMAP_VS_EPOLL = 0.9    # and >= 0.9x a constant epoll server
SQLITE_VS_PMSR = 10.0       # with the SQLite store >= 10x PMSR's
DAEMONS_BEGIN = "<!-- daemons: written by run.sh --daemons -->"
DAEMONS_END = "<!-- /daemons -->"

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
                           "pmsr_d", "mailauth_d", "tlsrpt", "policyd")}
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


# ------------------------------------------------------------------ daemons

RECEIVERS = {"tlsrptd": "mtasts-tlsrptd", "sink": "receive-only C sink",
             "collectd": "tlsrpt-collectd (Python)"}
SERVERS = {"policyd_internal": "mtasts-policyd, internal cache",
           "policyd_sqlite": "mtasts-policyd, SQLite cache",
           "pmsr_internal": "postfix-mta-sts-resolver, internal cache",
           "pmsr_sqlite": "postfix-mta-sts-resolver, SQLite cache",
           "epoll": "constant epoll netstring server (C)"}


def round_ratios(docs, key, a, b, field):
    """a/b of field within each round of each run: (median, min, max)."""
    xs = []
    for d in docs:
        ra, rb = d.get(key, {}).get(a), d.get(key, {}).get(b)
        if not ra or not rb:
            continue
        for x, y in zip(ra, rb):
            if y[field] > 0:
                xs.append(x[field] / y[field])
    return (med(xs), min(xs), max(xs)) if xs else None


def runs_of(docs, key, name):
    return [r for d in docs for r in d.get(key, {}).get(name, [])]


def fmt_n(x, digits=0):
    return "-" if x is None else "{:,.{}f}".format(x, digits)


def ingest_tables(docs, tables, targets):
    d0 = docs[0]
    if "skipped_all" in d0:
        tables.append(("TLSRPT ingest: skipped (%s)" % d0["skipped_all"],
                       [], []))
        return
    rb = d0.get("rcvbuf", {})
    for key, title, qlen in (
            ("blocking", "Blocking sender (bench_dgram blast, sendto() only; "
             "nothing may be lost)", d0.get("qlen")),
            ("blocking_raised", "The same with max_dgram_qlen raised "
             "(receivers in a private network namespace; information)",
             d0.get("qlen_raised"))):
        if key not in d0:
            continue
        setup = ("AF_UNIX datagram socket made by each receiver, no socket "
                 "option (SO_RCVBUF %s), net.unix.max_dgram_qlen %s; %s "
                 "distinct datagrams (%s, mean %s bytes) over %s domains"
                 % ("/".join(str(v) for v in sorted(set(rb.values())))
                    or "?", qlen, fmt_n(d0["datagrams"]["distinct"]),
                    d0.get("source"), d0["datagrams"]["mean_bytes"],
                    fmt_n(d0["datagrams"]["domains"])))
        rows = []
        for k in d0[key]:
            rs = runs_of(docs, key, k)
            sent = sum(r["sent"] for r in rs)
            got = sum(r["received"] for r in rs)
            cpu = med([r["receiver_cpu_s"] / r["sent"] * 1e6 for r in rs
                       if "receiver_cpu_s" in r])
            rates = [r["rate"] for r in rs]
            row = [RECEIVERS[k], fmt_n(med(rates)),
                   "%s-%s" % (fmt_n(min(rates)), fmt_n(max(rates))),
                   "%d/%d" % (got, sent), fmt_n(cpu, 2),
                   fmt_n(1e6 / cpu) if cpu else "-"]
            for other in ("collectd", "sink"):
                r = round_ratios(docs, key, k, other, "rate") \
                    if k != other and other in d0[key] else None
                row.append(fmt_ratio(r))
            rows.append(row)
        tables.append(("TLSRPT ingest: %s. %s. CPU = the receiver's "
                       "user+system time per datagram during the run "
                       "(information: 1/CPU is what one core could take)."
                       % (title, setup),
                       ["receiver", "datagrams/s", "range", "received/sent",
                        "CPU us/dgram", "1/CPU per s", "x collectd",
                        "x sink"], rows))
    bl = d0.get("blocking", {})
    lost = [r for r in runs_of(docs, "blocking", "tlsrptd")
            if r["received"] != r["sent"]]
    if "tlsrptd" in bl:
        n = len(runs_of(docs, "blocking", "tlsrptd"))
        targets.append(("TLSRPT ingest, blocking sender: mtasts-tlsrptd "
                        "loses nothing", "%d of %d runs lost datagrams"
                        % (len(lost), n), not lost))
    r = round_ratios(docs, "blocking", "tlsrptd", "collectd", "rate")
    if r is not None:
        # what the same sender gives a receiver that does nothing: the
        # ceiling of this ratio on this machine
        ceil = round_ratios(docs, "blocking", "sink", "collectd", "rate")
        targets.append(("TLSRPT ingest without loss >= %.0fx tlsrpt-collectd"
                        % INGEST_VS_COLLECTD, "%.1fx (%s vs %s datagrams/s)%s"
                        % (r[0], fmt_n(med([x["rate"] for x in runs_of(
                            docs, "blocking", "tlsrptd")])),
                           fmt_n(med([x["rate"] for x in runs_of(
                               docs, "blocking", "collectd")])),
                           "; the receive-only C sink, same sender: %.1fx"
                           % ceil[0] if ceil is not None else ""),
                        r[0] >= INGEST_VS_COLLECTD))
    r = round_ratios(docs, "blocking", "tlsrptd", "sink", "rate")
    if r is not None:
        targets.append(("TLSRPT ingest without loss >= %.1fx the "
                        "receive-only C sink" % INGEST_VS_SINK,
                        "%.2fx" % r[0], r[0] >= INGEST_VS_SINK))
    rows = []
    for k, x in d0.get("nonblocking", {}).items():
        xs = [d["nonblocking"][k] for d in docs if k in d.get("nonblocking",
                                                             {})]
        loss = med([(y["attempts"] - y["received"]) / y["attempts"] * 100
                    for y in xs])
        silent = sum(y["sent"] - y["received"] for y in xs)
        rows.append([RECEIVERS[k], fmt_n(x["attempts"]),
                     fmt_n(med([y["sent"] for y in xs])),
                     fmt_n(med([y["received"] for y in xs])),
                     "%.1f%%" % loss, fmt_n(med([y["rate"] for y in xs])),
                     str(silent)])
    if rows:
        tables.append(("TLSRPT ingest: non-blocking sender at full rate "
                       "(MSG_DONTWAIT; a send refused with EAGAIN is lost, "
                       "as libtlsrpt's default mode loses the result)",
                       ["receiver", "attempts", "accepted", "received",
                        "lost", "received/s", "accepted, not received"],
                       rows))
    live = [d["live"] for d in docs if "live" in d]
    if live:
        rows = []
        for k in live[0]:
            xs = [x[k] for x in live]
            rows.append([RECEIVERS[k], fmt_n(sum(x["sent"] for x in xs)),
                         fmt_n(sum(x["received"] for x in xs)),
                         fmt_n(med([x["rate"] for x in xs]))])
        tables.append(("TLSRPT ingest: the real libtlsrpt as a blocking "
                       "sender (tlsrpt_set_blocking), at its full rate",
                       ["receiver", "results sent", "received",
                        "results/s"], rows))
        xs = [x["tlsrptd"] for x in live if "tlsrptd" in x]
        ok = all(x["received"] == x["sent"] for x in xs)
        targets.append(("libtlsrpt (blocking) -> mtasts-tlsrptd at its full "
                        "rate: zero loss", "%s of %s received, %s results/s"
                        % (fmt_n(sum(x["received"] for x in xs)),
                           fmt_n(sum(x["sent"] for x in xs)),
                           fmt_n(med([x["rate"] for x in xs]))), ok))
    mem = [d["memory"] for d in docs if "memory" in d]
    if mem:
        m = mem[0]
        rows = [[fmt_n(m["sessions"]), fmt_n(m["domains"]),
                 fmt_n(med([x["received"] for x in mem])),
                 fmt_n(med([x["rss_idle_kib"] for x in mem])),
                 fmt_n(med([x["rss_after_kib"] for x in mem])),
                 fmt_n(med([x["hwm_kib"] for x in mem])),
                 fmt_n(med([x["rss_after_kib"] - x["rss_idle_kib"]
                            for x in mem])),
                 fmt_n(med([x["encoded_bytes"] for x in mem])),
                 fmt_n(med([x["stored_sessions"] for x in mem]))]]
        tables.append(("TLSRPT: memory of a day's aggregate in "
                       "mtasts-tlsrptd (VmRSS of the collector after the "
                       "day was received and merged; the encoded aggregate "
                       "it stores, mtasts_tlsrpt_agg_encode() bytes)",
                       ["sessions", "domains", "received", "RSS idle KiB",
                        "RSS after KiB", "peak KiB", "RSS delta KiB",
                        "encoded bytes", "stored sessions"], rows))
    for note in d0.get("skipped", []):
        tables.append(("TLSRPT ingest: SKIPPED " + note, [], []))


def socketmap_tables(docs, tables, targets):
    d0 = docs[0]
    if "skipped_all" in d0:
        tables.append(("Socketmap: skipped (%s)" % d0["skipped_all"], [],
                       []))
        return
    ld = d0.get("load", {})
    rows = []
    for k in d0.get("rps", {}):
        rs = runs_of(docs, "rps", k)
        rps = [r["rps"] for r in rs]
        cpu = med([r["server_cpu_s"] / r["answered_total"] * 1e6
                   for r in rs if r.get("answered_total")])
        rows.append([SERVERS.get(k, k), fmt_n(med(rps)),
                     "%s-%s" % (fmt_n(min(rps)), fmt_n(max(rps))),
                     fmt_n(cpu, 1), str(sum(r["bad"] for r in rs)),
                     fmt_ratio(round_ratios(docs, "rps", "policyd_internal",
                                            k, "rps"))])
    tables.append(("Socketmap requests/s for cached domains (%s domains, "
                   "each warmed and then answered with no HTTPS request; "
                   "bench_socketmap_load: %s connections, %s request(s) "
                   "outstanding on each, %s s per server and round; "
                   "HTTPS requests while timed: %s). CPU = the server's "
                   "user+system time per answer."
                   % (fmt_n(ld.get("domains")), ld.get("conns"),
                      ld.get("depth"), ld.get("seconds"),
                      d0.get("fetches_while_timed")),
                   ["server", "requests/s", "range", "CPU us/req",
                    "bad answers", "policyd internal / this"], rows))
    for a, b, t, label in (
            ("policyd_internal", "pmsr_internal", SOCKETMAP_VS_PMSR,
             "postfix-mta-sts-resolver (internal cache)"),
            ("policyd_internal", "epoll", SOCKETMAP_VS_EPOLL,
             "a constant C epoll netstring server"),
            ("policyd_sqlite", "pmsr_sqlite", SQLITE_VS_PMSR,
             "postfix-mta-sts-resolver's SQLite cache (ours with SQLite)")):
        r = round_ratios(docs, "rps", a, b, "rps")
        if r is None:
            continue
        targets.append(("Socketmap requests/s, cached, %s connections >= "
                        "%sx %s" % (ld.get("conns"), ("%.1f" % t).rstrip(
                            "0").rstrip("."), label),
                        "%.2fx (%s vs %s/s)"
                        % (r[0], fmt_n(med([x["rps"] for x in runs_of(
                            docs, "rps", a)])),
                           fmt_n(med([x["rps"] for x in runs_of(
                               docs, "rps", b)]))), r[0] >= t))
    cold = [d["cold"] for d in docs if "cold" in d]
    if cold:
        rows = []
        for k in cold[0]:
            xs = [c[k] for c in cold if k in c]
            rows.append([{"policyd": "mtasts-policyd",
                          "pmsr": "postfix-mta-sts-resolver"}[k],
                         fmt_n(sum(x["requests"] for x in xs)),
                         "%.2f" % med([x["median_ms"] for x in xs]),
                         "%.2f" % med([x["p90_ms"] for x in xs]),
                         "%.2f" % max(x["max_ms"] for x in xs),
                         fmt_n(sum(x["fetches"] for x in xs)),
                         str(sum(x["bad"] for x in xs))])
        tables.append(("Socketmap: latency of a cold miss over the rig (a "
                       "domain never asked: TXT query to the rig's DNS, "
                       "HTTPS fetch from nginx with a throwaway CA, answer; "
                       "one request at a time)",
                       ["daemon", "requests", "median ms", "p90 ms",
                        "max ms", "HTTPS fetches", "bad answers"], rows))
    mem = [d["memory"] for d in docs if "memory" in d]
    if mem:
        m = mem[0]
        st = m.get("stats", {}).get("cache", {})
        tables.append(("mtasts-policyd: memory per cached domain (VmRSS "
                       "before and after %s domains were cached; each "
                       "loaded from an SQLite cache filled by "
                       "bench_policyd_fill, with a TXT query and no fetch)"
                       % fmt_n(m["domains"]),
                       ["domains", "RSS before KiB", "RSS after KiB",
                        "MiB per 100,000 domains", "entries in memory",
                        "entry bytes in memory", "memo"],
                       [[fmt_n(m["domains"]),
                         fmt_n(med([x["rss_before_kib"] for x in mem])),
                         fmt_n(med([x["rss_after_kib"] for x in mem])),
                         "%.1f" % med([x["per_100k_mib"] for x in mem]),
                         fmt_n(st.get("entries")), fmt_n(st.get("bytes")),
                         fmt_n(st.get("memo"))]]))
    for note in d0.get("skipped", []):
        tables.append(("Socketmap: SKIPPED " + note, [], []))


def build_daemons(runs):
    """The daemon tables and targets (issues 12 and 13), or ([], [])."""
    tables, targets = [], []
    td = [r["tlsrpt"] for r in runs.runs if r["tlsrpt"]]
    pd = [r["policyd"] for r in runs.runs if r["policyd"]]
    if td:
        ingest_tables(td, tables, targets)
    if pd:
        socketmap_tables(pd, tables, targets)
    return tables, targets


def daemon_versions(runs):
    v = []
    td = runs.first("tlsrpt")
    if td and td.get("collectd_version"):
        v.append("tlsrpt-collectd %s" % td["collectd_version"])
    if td and td.get("source"):
        v.append("datagrams: %s" % td["source"])
    pd = runs.first("policyd")
    if pd and pd.get("pmsr_version"):
        v.append("postfix-mta-sts-resolver %s%s" % (
            pd["pmsr_version"].replace(" ", " (Python ") + ")",
            " on uvloop" if pd.get("pmsr_uvloop") else ""))
    return ", ".join(v) or "no peers"


def render(tables):
    out = []
    for title, head, rows in tables:
        if not head:  # a note
            out += [title, ""]
            continue
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


def lib_section(meta, runs, tables, targets):
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
    return "\n".join(lines) + "\n"


def daemon_section(meta, runs, tables, targets):
    lines = [
        DAEMONS_BEGIN,
        "## Daemons (issues 12 and 13)",
        "",
        "Written by `bench/run.sh --daemons --results bench/RESULTS.md` "
        "(bench/daemons.py; the method is in [README.md](README.md)). Each "
        "ratio is computed within one round (the servers of a round run one "
        "after the other, in an order that rotates from round to round); "
        "the median over %d run(s) of rounds is shown with its range."
        % len(runs.runs),
        "",
        "- date: %s" % meta["date"],
        "- commit: %s" % meta["commit"],
        "- machine: %s" % meta["machine"],
        "- load average (1/5/15 min): %s" % meta["load"],
        "- peers: %s" % daemon_versions(runs),
        "",
        "| target | measured | result |",
        "|---|---|---|",
    ]
    for name, val, ok in targets:
        lines.append("| %s | %s | %s |" % (name, val, verdict(ok)))
    lines += ["", "```", render(tables).rstrip(), "```", DAEMONS_END, ""]
    return "\n".join(lines) + "\n"


def write_results(path, meta, runs, lib, daemons):
    """lib, daemons: (tables, targets) of this run, or None when not
    measured (the previous file's section is kept)."""
    old = ""
    try:
        with open(path) as f:
            old = f.read()
    except OSError:
        pass
    history = []
    if HISTORY_HEAD in old:
        history = old[old.index(HISTORY_HEAD):].rstrip("\n").split("\n")
        old = old[:old.index(HISTORY_HEAD)]
    old_daemons = ""
    if DAEMONS_BEGIN in old and DAEMONS_END in old:
        i, j = old.index(DAEMONS_BEGIN), old.index(DAEMONS_END)
        old_daemons = old[i:j + len(DAEMONS_END)].rstrip("\n") + "\n\n"
        old = old[:i] + old[j + len(DAEMONS_END):].lstrip("\n")
    if not history:
        history = [HISTORY_HEAD, "",
                   "Headline figures of past recorded runs (newest last).",
                   "", "| date | commit | headline |", "|---|---|---|"]
    targets = (lib[1] if lib else []) + (daemons[1] if daemons else [])
    head = "; ".join("%s %s" % (short(t[0]), t[1].split(" (")[0])
                     for t in targets)
    history.append("| %s | %s | %s |" % (meta["date"], meta["commit"], head))
    text = lib_section(meta, runs, *lib) if lib else old.rstrip("\n") + "\n\n"
    text += daemon_section(meta, runs, *daemons) if daemons \
        else old_daemons
    with open(path, "w") as f:
        f.write(text + "\n".join(history) + "\n")


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
    if name.startswith("TLSRPT ingest, blocking"):
        return "tlsrptd loss"
    m = re.match(r"TLSRPT ingest without loss >= \S+ (tlsrpt-collectd|the)",
                 name)
    if m:
        return "ingest vs " + ("collectd" if m.group(1) != "the" else "sink")
    if name.startswith("libtlsrpt"):
        return "libtlsrpt->tlsrptd"
    m = re.match(r"Socketmap .* >= \S+ (\S+ \S+)", name)
    if m:
        return {"postfix-mta-sts-resolver (internal": "socketmap vs PMSR",
                "a constant": "socketmap vs epoll",
                "postfix-mta-sts-resolver's SQLite": "SQLite vs PMSR SQLite"
                }.get(m.group(1), name)
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
    dtables, dtargets = build_daemons(runs)
    lib = (tables, targets) if tables else None
    daemons = (dtables, dtargets) if dtables else None
    if meta["results"]:
        write_results(meta["results"], meta, runs, lib, daemons)
    if as_json:
        print(json.dumps({"meta": meta, "runs": runs.runs,
                          "targets": [{"target": t, "measured": v, "pass": ok}
                                      for t, v, ok in targets + dtargets]},
                         indent=1))
        return 0
    print("%s, commit %s" % (meta["date"], meta["commit"]))
    print("machine: %s" % meta["machine"])
    print("load average (1/5/15 min): %s" % meta["load"])
    if lib:
        print("peers: %s; %d run(s)\n" % (versions(runs), len(runs.runs)))
        print(render(tables))
        print("Targets (issue 10)")
        for name, val, ok in targets:
            print("  %s  %s: %s" % (verdict(ok), name, val))
    if daemons:
        print("peers: %s; %d run(s)\n" % (daemon_versions(runs),
                                          len(runs.runs)))
        print(render(dtables))
        print("Targets (issues 12 and 13)")
        for name, val, ok in dtargets:
            print("  %s  %s: %s" % (verdict(ok), name, val))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
