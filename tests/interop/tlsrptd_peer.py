#!/usr/bin/env python3
"""Against the peer: the same datagrams go to sys4's tlsrpt-reporter
(tlsrpt-collectd, then tlsrpt-reportd with its fetcher) and to
mtasts-tlsrptd; the reports of both are compared field by field, and
every difference must be one of those documented, with the RFC clause
that decides it, in doc/tlsrptd-vs-tlsrpt-reporter.md (EXPECTED below
names them). A difference that is not expected, or an expected one that
does not show, fails the test.

    tlsrptd_peer.py MTASTS_TLSRPTD MTASTS SOURCE_ROOT

The peer runs from its sources beside the project's checkout
(SOURCE_ROOT/../shared/interop/tlsrpt-reporter, not part of the
project), without installing it: a dist-info folder with its entry
points (read from its pyproject.toml) on PYTHONPATH, as
../shared/interop/README.md describes. Without those sources the test
skips (exit 77).

Both get yesterday's data: tlsrpt-collectd through its own development
roll-over (SIGUSR2 moves today's rows to yesterday and rolls the
database over, as at midnight), mtasts-tlsrptd through
MTASTS_TLSRPTD_TEST_CLOCK_OFFSET. tlsrpt-reportd writes its reports
through a tlsrpt_record_map ". REPLACE directory:DIR"; mtasts-tlsrptd
through `report --out-dir`.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tlsrptd"))
import rig  # noqa: E402
from rig import check  # noqa: E402

ORG, CONTACT = "Example Org", "tlsrpt@example.net"
PR = b"v=TLSRPTv1; rua=mailto:tlsrpt@reports.example"
PR2 = b"v=TLSRPTv1; rua=https://reports.example/tlsrpt"
STS = [b"version: STSv1", b"mode: enforce", b"mx: mx.sts.example",
       b"max_age: 86400"]


def sts(dom, f, failures=(), mx=None, mode=b"enforce", mxpat=None):
    pat = mxpat or b"mx." + dom
    return {"type": 2, "domain": dom,
            "strings": [b"version: STSv1", b"mode: " + mode, b"mx: " + pat,
                        b"max_age: 86400"],
            "mx": mx or [pat], "f": f, "failures": list(failures)}


def datagrams():
    """(datagram bytes, count): the same for both collectors."""
    out = []

    def add(d, pols, n, pr=PR):
        out.append((rig.datagram(d, pols, pr), n))

    add(b"sts.example", [sts(b"sts.example", 0)], 20)
    add(b"sts.example", [sts(b"sts.example", 1, [
        {"c": 202, "s": b"192.0.2.1", "n": b"mx.sts.example",
         "h": b"mx.sts.example ESMTP", "r": b"192.0.2.25"}])], 5)
    add(b"sts.example", [sts(b"sts.example", 1, [
        {"c": 301, "f": b"HTTP 404"}])], 2)
    tlsa = {"type": 1, "domain": b"mx.tlsa.example",
            "strings": [b"3 1 1 0a0b0c0d"], "f": 0}
    add(b"tlsa.example", [tlsa], 10)
    add(b"tlsa.example", [dict(tlsa, f=1, failures=[
        {"c": 304, "n": b"mx.tlsa.example"}])], 2)
    add(b"none.example", [{"type": 9, "f": 0}], 7)
    add(b"none.example", [{"type": 9, "f": 1, "failures": [
        {"c": 201, "n": b"mx.none.example", "r": b"192.0.2.30"}]}], 3)
    add(b"unknown.example", [{"type": 9, "f": 1, "failures": [
        {"c": 999}]}], 2)
    add(b"latin1.example", [sts(b"latin1.example", 0)], 4)
    add(b"latin1.example", [sts(b"latin1.example", 1, [
        {"c": 202, "h": b"mx.latin1.example ESMTP b\xe9ta"}])], 3)
    add(b"tworec.example", [sts(b"tworec.example", 0)], 4)
    add(b"tworec.example", [sts(b"tworec.example", 0)], 4, pr=PR2)
    add(b"Case.Example.", [sts(b"case.example", 0)], 2)
    add(b"case.example", [sts(b"case.example", 0)], 3)
    add(b"stsnone.example", [sts(b"stsnone.example", 0, mode=b"none")], 2)
    add(b"mxdiff.example", [sts(b"mxdiff.example", 0,
                                mx=[b"mx1.mxdiff.example"],
                                mxpat=b"*.mxdiff.example")], 3)
    add(b"emptyf.example", [{"type": 9, "f": 1, "failures": [
        {"c": 205, "f": b"", "n": b"mx.emptyf.example"}]}], 2)
    return out


# Every difference the comparison may show: (domain or "*", kind) ->
# the section of doc/tlsrptd-vs-tlsrpt-reporter.md that explains it.
EXPECTED = {
    ("*", "report-id"): "D1",
    ("tlsa.example", "policy-string"): "D2",
    ("tlsa.example", "policy-domain"): "D3",
    ("none.example", "policy-domain"): "D4",
    ("unknown.example", "policy-domain"): "D4",
    ("emptyf.example", "policy-domain"): "D4",
    ("unknown.example", "failure-details"): "D5",
    ("latin1.example", "summary"): "D6",
    ("latin1.example", "failure-details"): "D6",
    ("tworec.example", "reports"): "D7",
    ("stsnone.example", "policy"): "D8",
    ("mxdiff.example", "mx-host"): "D9",
    ("emptyf.example", "failure-details"): "D10",
}


def peer_env(tmp, peer):
    """PYTHONPATH with the peer's sources and a dist-info folder naming
    its entry points (its storage back-ends are found through them)."""
    site = os.path.join(tmp, "site")
    info = os.path.join(site, "tlsrpt_reporter-0.6.0rc2.dist-info")
    os.makedirs(info)
    with open(os.path.join(peer, "pyproject.toml")) as f:
        text = f.read()
    eps = []
    # the TOML tables [project.entry-points."GROUP"] of name = "value"
    for m in re.finditer(r'\[project\.entry-points\."([^"]+)"\]\n(.*?)'
                         r'(?=\n\[|\Z)', text, re.S):
        lines = ["%s = %s" % (k, v) for k, v in re.findall(
            r'^\s*([\w.-]+)\s*=\s*"([^"]*)"', m.group(2), re.M)]
        eps.append("[%s]\n%s\n" % (m.group(1), "\n".join(lines)))
    with open(os.path.join(info, "entry_points.txt"), "w") as f:
        f.write("\n".join(eps))
    with open(os.path.join(info, "METADATA"), "w") as f:
        f.write("Metadata-Version: 2.1\nName: tlsrpt_reporter\n"
                "Version: 0.6.0rc2\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([site, peer] + [
        p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    for k in list(env):
        if k.startswith("TLSRPT_"):
            del env[k]
    return env


def run_peer(tmp, peer, dgs):
    env = peer_env(tmp, peer)
    d = os.path.join(tmp, "peer")
    out = os.path.join(d, "reports")
    os.makedirs(out)
    db = os.path.join(d, "collectd.sqlite")
    sock = os.path.join(d, "collectd.sock")
    ccfg = os.path.join(d, "collectd.cfg")
    with open(ccfg, "w") as f:
        f.write("[tlsrpt_collectd]\nstorage = sqlite://%s\nsocketname = %s\n"
                "logfilename = %s/collectd.log\npidfilename = %s/collectd.pid\n"
                "log_level = info\ndump_path_for_invalid_datagram = "
                "%s/invalid\nsockettimeout = 1\n" % (db, sock, d, d, d))
    log = open(os.path.join(d, "collectd.out"), "wb")
    coll = subprocess.Popen([sys.executable, "-m",
                             "tlsrpt_reporter.tlsrpt_collectd",
                             "--config_file", ccfg], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        if not rig.wait_for(lambda: os.path.exists(sock) or
                            coll.poll() is not None, 30):
            raise RuntimeError("tlsrpt-collectd did not start")
        if coll.poll() is not None:
            raise RuntimeError("tlsrpt-collectd exited: %s" % open(
                os.path.join(d, "collectd.out")).read())
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        for dg, n in dgs:
            for _ in range(n):
                s.sendto(dg, sock)
        s.close()
        time.sleep(2.5)  # (it commits on a 1 s socket timeout)
        coll.send_signal(signal.SIGUSR2)  # its roll-over: today -> yesterday
        rig.wait_for(lambda: os.path.exists(db + ".yesterday"), 30)
        time.sleep(0.5)
    finally:
        coll.send_signal(signal.SIGTERM)
        try:
            coll.wait(30)
        except subprocess.TimeoutExpired:
            coll.kill()
            coll.wait()
        log.close()
    mapf = os.path.join(d, "map")
    with open(mapf, "w") as f:
        f.write(". REPLACE directory:%s\n" % out)
    rcfg = os.path.join(d, "reportd.cfg")
    with open(rcfg, "w") as f:
        f.write("[tlsrpt_reportd]\ndbname = %s/reportd.sqlite\n"
                "fetchers = %s -m tlsrpt_reporter.tlsrpt_fetcher "
                "--storage sqlite://%s\norganization_name = %s\n"
                "contact_info = %s\nsender_address = %s\n"
                "tlsrpt_record_map = %s\nspread_out_delivery = 1\n"
                "interval_main_loop = 1\nlogfilename = %s/reportd.log\n"
                "pidfilename = %s/reportd.pid\nlog_level = info\n" %
                (d, sys.executable, db, ORG, CONTACT, CONTACT, mapf, d, d))
    log = open(os.path.join(d, "reportd.out"), "wb")
    rep = subprocess.Popen([sys.executable, "-m",
                            "tlsrpt_reporter.tlsrpt_reportd",
                            "--config_file", rcfg], env=env, stdout=log,
                           stderr=subprocess.STDOUT)
    want = len({re.search(rb'"d": "([^"]*)"', dg).group(1).lower().rstrip(
        b".") for dg, _ in dgs}) + 1  # tworec: two reports
    try:
        rig.wait_for(lambda: len(os.listdir(out)) >= want or
                     rep.poll() is not None, 60, 0.2)
        time.sleep(1)
    finally:
        rep.send_signal(signal.SIGTERM)
        try:
            rep.wait(30)
        except subprocess.TimeoutExpired:
            rep.kill()
            rep.wait()
        log.close()
    reports = {}
    for name in os.listdir(out):
        with open(os.path.join(out, name), "rb") as f:
            r = json.loads(f.read())
        dom = r["policies"][0]["policy"].get("policy-domain") or \
            re.match(r"tlsrpt-(.*?)-\d+-", name).group(1)
        reports.setdefault(re.match(r"tlsrpt-(.*?)-\d+-", name).group(1),
                           []).append(r)
    if not reports:
        print(open(os.path.join(d, "reportd.log"), errors="replace").read())
    return reports


def run_ours(tmp, tlsrptd, dgs):
    c = rig.Collector(tlsrptd, tmp, "ours", env={
        "MTASTS_TLSRPTD_TEST_CLOCK_OFFSET": "-86400"})
    c.start()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    for dg, n in dgs:
        for _ in range(n):
            s.sendto(dg, c.sock)
    s.close()
    check(c.stop() == 0, "ours: stop")
    out = os.path.join(tmp, "ours-reports")
    r = rig.run_cmd([tlsrptd, "report", "--store", c.store, "--day",
                     rig.utc_day(-1), "--out-dir", out, "--org", ORG,
                     "--contact", CONTACT])
    check(r.returncode == 0, "ours: report: " + r.err)
    reports = {}
    for name in sorted(os.listdir(out)):
        with open(os.path.join(out, name), "rb") as f:
            reports[name[:-5]] = [json.loads(f.read())]
    return reports, out


def pol_key(p):
    pol = p["policy"]
    return (pol["policy-type"], tuple(s.upper() if pol["policy-type"] ==
                                      "tlsa" else s
                                      for s in pol.get("policy-string", [])))


def details(p):
    return sorted(json.dumps(d, sort_keys=True)
                  for d in p.get("failure-details", []))


def compare(ours, peer):
    """The differences: {(domain, kind): text}."""
    diffs = {}

    def diff(dom, kind, a, b):
        diffs[(dom, kind)] = "ours %s / peer %s" % (a, b)

    for dom in sorted(set(ours) | set(peer)):
        o, p = ours.get(dom, []), peer.get(dom, [])
        if len(o) != 1 or len(p) != 1:
            diff(dom, "reports", len(o), len(p))
            continue
        o, p = o[0], p[0]
        for k in ("organization-name", "contact-info", "date-range"):
            if o.get(k) != p.get(k):
                diff(dom, k, o.get(k), p.get(k))
        if o["report-id"] != p["report-id"]:
            diffs[("*", "report-id")] = "ours %s / peer %s" % (
                o["report-id"], p["report-id"])
        op = {pol_key(x): x for x in o["policies"]}
        pp = {pol_key(x): x for x in p["policies"]}
        if set(op) != set(pp):
            diff(dom, "policy", sorted(op), sorted(pp))
            continue
        for k in op:
            a, b = op[k], pp[k]
            for f in ("policy-string", "policy-domain", "mx-host"):
                if a["policy"].get(f) != b["policy"].get(f):
                    diff(dom, f, a["policy"].get(f), b["policy"].get(f))
            if a["summary"] != b["summary"]:
                diff(dom, "summary", a["summary"], b["summary"])
            if details(a) != details(b):
                diff(dom, "failure-details", details(a), details(b))
    return diffs


def main():
    tlsrptd, mtasts, root = sys.argv[1:4]
    peer = os.path.normpath(os.path.join(root, "..", "shared", "interop",
                                         "tlsrpt-reporter"))
    if not os.path.isfile(os.path.join(peer, "tlsrpt_reporter",
                                       "tlsrpt.py")):
        print("tlsrpt-reporter not found at %s: skipped (it is reference "
              "material beside the checkout, not part of the project)" % peer)
        return 77
    doc = os.path.join(root, "doc", "tlsrptd-vs-tlsrpt-reporter.md")
    tmp = tempfile.mkdtemp(prefix="tlsrptd-peer-")
    try:
        dgs = datagrams()
        if utc_day_changes_soon():
            print("the UTC day ends within a minute: skipped")
            return 77
        peer_reports = run_peer(tmp, peer, dgs)
        our_reports, out = run_ours(tmp, tlsrptd, dgs)
        check(peer_reports, "the peer made reports")
        diffs = compare(our_reports, peer_reports)
        with open(doc) as f:
            text = f.read()
        for key, why in sorted(diffs.items()):
            print("difference %s %s: %s" % (key[0], key[1], why))
        for key in sorted(set(diffs) | set(EXPECTED)):
            if key not in EXPECTED:
                check(False, "an undocumented difference %s: %s" % (
                    key, diffs[key]))
            elif key not in diffs:
                check(False, "the documented difference %s (%s) did not "
                      "show" % (key, EXPECTED[key]))
        for sec in sorted(set(EXPECTED.values())):
            check(re.search(r"^## %s\b.*RFC" % sec, text, re.M) is not None,
                  "doc: section %s names its RFC clause" % sec)
        # the common ground, stated positively
        o = our_reports.get("sts.example", [{}])[0]
        p = peer_reports.get("sts.example", [{}])[0]
        check(o.get("policies") and p.get("policies") and
              o["policies"][0]["summary"] == p["policies"][0]["summary"] ==
              {"total-successful-session-count": 20,
               "total-failure-session-count": 7},
              "sts.example: both count 20 and 7")
        for name in os.listdir(out):
            r = rig.run_cmd([mtasts, "report", "parse", "--strict",
                             os.path.join(out, name)])
            check(r.returncode == 0, "ours %s --strict: %s" % (name, r.out))
        # D5: the peer's entry without result-type is not a valid report
        bad = os.path.join(tmp, "peer-unknown.json")
        with open(bad, "w") as f:
            json.dump(peer_reports.get("unknown.example", [{}])[0], f)
        r = rig.run_cmd([mtasts, "report", "parse", bad])
        check(r.returncode != 0, "D5: the peer's unknown.example report is "
              "refused by mtasts report parse: %s" % r.out)
        print("D5: mtasts report parse on the peer's unknown.example: %s" %
              (r.out + r.err).strip())
    finally:
        for p in list(rig.RUNNING):
            p.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return rig.finish()


def utc_day_changes_soon():
    t = time.time()
    return t % 86400 > 86400 - 60


if __name__ == "__main__":
    sys.exit(main())
