#!/usr/bin/env python3
"""mtasts-tlsrptd delivers reports by HTTPS POST to a real nginx on
loopback (suite tlsrptd).

    test_https.py MTASTS_TLSRPTD MTASTS

A collector fills yesterday (MTASTS_TLSRPTD_TEST_CLOCK_OFFSET) with
results for domains whose _smtp._tls records a DNS responder on loopback
serves; nginx terminates TLS for reports.example.test with a throwaway
CA's certificate (checked: https_verify = yes, ca_file) and passes each
POST to a backend that logs it and answers a scripted status. Then:

  - the collector's sender (spread_window 0, retry_interval 1) sends
    yesterday's reports: a 200 and a 201 are delivered once; a 500 then
    200 is retried and delivered; an always-500 and a 302 are retried on
    the recorded schedule (retry_interval * (2^k - 1) after the first
    attempt); a domain with two https rua gets each on its own; no
    record, an unusable rua, two records: nothing sent; SERVFAIL: the
    lookup is retried; kill -9 while a POST is in flight (its server
    answers after 3 s): after the restart it is made again, with the same
    bytes, and recorded delivered once;
  - every POST is Content-Type application/tlsrpt+gzip; all the POSTs of
    one destination are byte-identical, across a restart too, and gunzip
    to the report recorded in the store, which `mtasts report parse
    --strict` accepts;
  - `send --day` tries what is pending now: the always-500 destination is
    given up after the bound (9 attempts), what was delivered is not sent
    again;
  - `send --dry-run --out-dir` and `report --dry-run` write the recorded
    bytes; a collector with --out-dir writes a day to OUT/YYYY-MM-DD/
    instead of sending it.

Skips (77) when nginx or openssl is missing.
"""
import gzip
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rig  # noqa: E402
from rig import check  # noqa: E402

TLSRPTD, MTASTS = sys.argv[1], sys.argv[2]
ORG = ["--org", "Example Org", "--contact", "tlsrpt@example.net"]

RECORDS = {
    "ok": ["v=TLSRPTv1; rua=https://reports.example.test/ok"],
    "created": ["v=TLSRPTv1;rua=https://reports.example.test/created"],
    "flaky": ["v=TLSRPTv1; rua=https://reports.example.test/flaky"],
    "bad": ["v=TLSRPTv1; rua=https://reports.example.test/bad"],
    "redirect": ["v=TLSRPTv1; rua=https://reports.example.test/redirect"],
    "two": ["v=TLSRPTv1; rua=https://reports.example.test/ok2,"
            "https://reports.example.test/bad2"],
    "ftp": ["v=TLSRPTv1; rua=ftp://reports.example.test/x"],
    "slow": ["v=TLSRPTv1; rua=https://reports.example.test/slow"],
}
STATUSES = {"/ok": [200], "/created": [201], "/flaky": [500, 200],
            "/bad": [500], "/redirect": [302], "/ok2": [200],
            "/bad2": [503], "/slow": [200]}


def records():
    r = {"_smtp._tls.%s.example" % d: [[t] for t in v]
         for d, v in RECORDS.items()}
    r["_smtp._tls.multi.example"] = [["v=TLSRPTv1; rua=https://a.test/"],
                                     ["v=TLSRPTv1; rua=https://b.test/"]]
    return r


DOMAINS = list(RECORDS) + ["multi", "none", "servfail"]


def dgs():
    out = []
    for i, d in enumerate(DOMAINS):
        dom = ("%s.example" % d).encode()
        out += [rig.datagram(dom, [rig.sts_policy(dom, 0)])] * (i + 1)
        out += [rig.datagram(dom, [rig.sts_policy(dom, 1, [
            {"c": 202, "s": b"192.0.2.1", "n": b"mx." + dom,
             "r": b"192.0.2.25"}])])] * 2
    return out


def main():
    for prog in ("nginx", "openssl"):
        if shutil.which(prog) is None:
            rig.skip(prog + " is not installed")
    tmp = tempfile.mkdtemp(prefix="tlsrptd-https-")
    try:
        run(tmp)
    except Exception as e:  # a broken step fails the test
        traceback.print_exc()
        check(False, repr(e))
    finally:
        status = rig.finish()
        shutil.rmtree(tmp, ignore_errors=True)
    return status


def deliveries(c, day):
    return {r[0]: r[1:] for r in c.query(
        "SELECT uri, state, attempts, first_attempt, next_attempt, error "
        "FROM deliveries WHERE day = ?", (day,))}


def run(tmp):
    ca, cert, key = rig.make_ca(tmp)
    dns = rig.Dns(records(), servfail={"_smtp._tls.servfail.example"})
    backend = rig.Receiver(STATUSES, delays={"/slow": 3})
    nginx = rig.Nginx(tmp, cert, key, backend.port)
    net = ["--dns-server", dns.addr, "--ca-file", ca, "--connect-to",
           "reports.example.test:443:127.0.0.1:%d" % nginx.port]
    day = rig.utc_day(-1)

    # yesterday's results
    c = rig.Collector(TLSRPTD, tmp, "c",
                      env={"MTASTS_TLSRPTD_TEST_CLOCK_OFFSET": "-86400"})
    c.start()
    c.send(dgs())
    check(c.stop() == 0, "fill: stop")

    # the sender sends them
    c = rig.Collector(TLSRPTD, tmp, "c", extra=ORG + net + [
        "--https-verify", "yes", "--retry-interval", "1", "--spread-window",
        "0", "--timeout", "5"])
    c.start()
    # kill -9 in the middle of a POST; the restart sends it again
    check(rig.wait_for(lambda: backend.posts("/slow"), 20),
          "the sender reaches /slow")
    c.stop(signal.SIGKILL)
    check(deliveries(c, day).get("https://reports.example.test/slow",
                                 ("?",))[0] == "pending",
          "kill -9: the POST in flight is still pending")
    c.start()
    ok = rig.wait_for(lambda: len(backend.posts("/flaky")) >= 2 and
                      len(backend.posts("/bad")) >= 3 and
                      len(backend.posts("/redirect")) >= 3 and
                      len(backend.posts("/bad2")) >= 3, 30)
    check(ok, "sender: retries seen: %s" % [
        (p, len(backend.posts(p))) for p in STATUSES])
    check(c.stop() == 0, "sender: stop")
    log = c.text()
    dl = deliveries(c, day)
    for path, want in (("/ok", 1), ("/created", 1), ("/flaky", 2),
                       ("/ok2", 1), ("/slow", 2)):
        check(len(backend.posts(path)) == want,
              "%s: %d POSTs, want %d" % (path, len(backend.posts(path)),
                                          want))
        uri = "https://reports.example.test" + path
        check(dl.get(uri, ("?",))[0] == "delivered",
              "%s delivered: %s" % (path, dl.get(uri)))
    check(dl["https://reports.example.test/flaky"][1] == 2,
          "flaky: 2 attempts recorded")
    check(dl["https://reports.example.test/slow"][1] == 1,
          "slow: the attempt cut by kill -9 is not counted")
    check("HTTP status 500" in log and "tried again in" in log,
          "the log says why and when: " + log[-2000:])
    # the recorded schedule: attempt k+1 at first + 1 * (2^k - 1)
    for path, err in (("/bad", "HTTP status 500"),
                      ("/redirect", "HTTP status 302"),
                      ("/bad2", "HTTP status 503")):
        st, att, first, nxt, error = dl["https://reports.example.test" + path]
        check(st == "pending" and att >= 3 and
              nxt == first + (2 ** att - 1) and err in error,
              "%s: schedule %s" % (path, (st, att, first, nxt, error)))
    # nothing for: no record, an unusable rua, two records
    rua = {r[0]: r[1:] for r in c.query(
        "SELECT domain, state, attempts, error FROM rua WHERE day = ?",
        (day,))}
    check(rua["none.example"][0] == "none" and "nxdomain" in
          rua["none.example"][2], "none: %s" % (rua["none.example"],))
    check(rua["ftp.example"][0] == "none", "ftp: %s" % (rua["ftp.example"],))
    check(rua["multi.example"][0] == "none" and "more than one" in
          rua["multi.example"][2], "multi: %s" % (rua["multi.example"],))
    check(rua["servfail.example"][0] == "lookup" and
          rua["servfail.example"][1] >= 2 and "servfail" in
          rua["servfail.example"][2],
          "servfail: retried: %s" % (rua["servfail.example"],))
    check("rua ftp://reports.example.test/x is not usable" in log,
          "the unusable rua is logged")

    # what was POSTed: the recorded report, gzip'd, byte-identical
    def bodies_ok(path, domain, n=None):
        posts = backend.posts(path)
        rid, js = rig.report_json(c.store, day, domain)
        check(posts and all(p[3] == posts[0][3] for p in posts),
              "%s: every POST byte-identical" % path)
        for p in posts:
            check(p[2].get("Content-Type") == "application/tlsrpt+gzip",
                  "%s: Content-Type %s" % (path, p[2].get("Content-Type")))
        if posts:
            check(gzip.decompress(posts[0][3]) == js,
                  "%s: the body gunzips to the recorded report" % path)
        return js

    for path, dom in (("/ok", "ok.example"), ("/flaky", "flaky.example"),
                      ("/bad", "bad.example"), ("/created", "created.example"),
                      ("/slow", "slow.example")):
        bodies_ok(path, dom)
    js = bodies_ok("/ok", "ok.example")
    check(rig.totals(js) == (DOMAINS.index("ok") + 1, 2),
          "ok: totals %s" % (rig.totals(js),))
    path = os.path.join(tmp, "ok.json")
    with open(path, "wb") as f:
        f.write(js)
    r = rig.run_cmd([MTASTS, "report", "parse", "--strict", path])
    check(r.returncode == 0, "the report parses with --strict: " + r.err)

    # a restart goes on with the same bytes
    before = len(backend.posts("/bad"))
    c.start()
    check(rig.wait_for(lambda: len(backend.posts("/bad")) > before, 20),
          "restart: /bad is tried again")
    check(c.stop() == 0, "restart: stop")
    bodies_ok("/bad", "bad.example")
    check(len(backend.posts("/ok")) == 1, "restart: /ok not sent again")

    # send: tries what is pending now, until the bound
    statuses = []
    for _ in range(12):
        r = rig.run_cmd([TLSRPTD, "send", "--store", c.store, "--day", day] +
                        ORG + net + ["--https-verify", "yes", "--timeout",
                                     "5"])
        statuses.append(r.returncode)
        if r.returncode != 3:
            break
    check(statuses[-1] == 1 and set(statuses[:-1]) <= {3},
          "send: 3 while retries remain, then 1: %s %s" % (statuses, r.err))
    check("given up" in r.out and "HTTP status 500" in r.out,
          "send: says what was given up: " + r.out)
    check(len(backend.posts("/bad")) == 9,
          "the bound: 9 attempts in all, got %d" % len(backend.posts("/bad")))
    bodies_ok("/bad", "bad.example")
    dl = deliveries(c, day)
    check(dl["https://reports.example.test/bad"][0] == "failed",
          "bad: failed (given up): %s" % (dl["https://reports.example.test/"
                                             "bad"],))
    for path in ("/ok", "/created", "/flaky", "/ok2", "/slow"):
        check(len(backend.posts(path)) == (2 if path in ("/flaky", "/slow")
                                           else 1),
              "%s not sent again by send" % path)

    # dry runs write the recorded bytes and record nothing
    out = os.path.join(tmp, "dry")
    r = rig.run_cmd([TLSRPTD, "send", "--store", c.store, "--day", day,
                     "--out-dir", out] + ORG + net)
    check(r.returncode == 0, "send --out-dir: %d %s" % (r.returncode, r.err))
    with open(os.path.join(out, "ok.example.rua-1.post"), "rb") as f:
        check(f.read() == backend.posts("/ok")[0][3],
              "send --out-dir: the recorded body")
    out = os.path.join(tmp, "dry2")
    r = rig.run_cmd([TLSRPTD, "report", "--store", c.store, "--day", day,
                     "--out-dir", out, "--dry-run"] + ORG + net)
    check(r.returncode == 0, "report --dry-run: %s" % r.err)
    with open(os.path.join(out, "flaky.example.rua-1.post"), "rb") as f:
        check(f.read() == backend.posts("/flaky")[0][3],
              "report --dry-run: the recorded body")
    with open(os.path.join(out, "flaky.example.json"), "rb") as f:
        check(f.read() == rig.report_json(c.store, day, "flaky.example")[1],
              "report --dry-run: the report")
    check(len(backend.posts("/ok")) == 1, "dry runs send nothing")
    check(deliveries(c, day) == dl, "dry runs record nothing")

    # a collector with --out-dir writes each day instead of sending it
    s = rig.Collector(TLSRPTD, tmp, "sink",
                      env={"MTASTS_TLSRPTD_TEST_CLOCK_OFFSET": "-86400"})
    s.start()
    s.send([rig.datagram(b"ok.example", [rig.sts_policy(b"ok.example", 0)])])
    check(s.stop() == 0, "sink: fill")
    out = os.path.join(tmp, "sink-out")
    s.start(extra=ORG + net + ["--spread-window", "0", "--out-dir", out])
    path = os.path.join(out, day, "ok.example.rua-1.post")
    check(rig.wait_for(lambda: s.query("SELECT COUNT(*) FROM sent_days")[0][0]
                       == 1, 20), "sink: the day is finished")
    check(s.stop() == 0, "sink: stop")
    if check(os.path.exists(path), "sink: %s written" % path):
        with open(path, "rb") as f:
            check(gzip.decompress(f.read()) ==
                  rig.report_json(s.store, day, "ok.example")[1],
                  "sink: the report, gzip'd")
    check(len(backend.posts("/ok")) == 1, "sink: nothing sent")
    check(s.query("SELECT COUNT(*) FROM deliveries")[0][0] == 0,
          "sink: nothing recorded about sending")
    nginx.stop()
    backend.stop()
    dns.stop()


if __name__ == "__main__":
    sys.exit(main())
