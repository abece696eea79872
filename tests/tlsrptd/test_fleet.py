#!/usr/bin/env python3
"""Fleet mode: two collectors share one redis-server on loopback, and
exactly one report per domain and day leaves the fleet (suite tlsrptd).

    test_fleet.py MTASTS_TLSRPTD MTASTS

Hosts a and b (--host-id, each its own store) fill yesterday with results
(some domains on both, some on one) and write their aggregates to Redis.
Then both run with their senders on (spread_window 0), racing for each
report: every domain's report is POSTed once (to nginx on loopback, as in
test_https.py), with totals equal to the sum over the hosts; both stores
record the same report bytes; the claim keys say "done"; the host that
lost the race records the report as sent elsewhere and finishes the day.

A crashed sender: for the day before, host a publishes its report
(`report`), then "crashes" holding the claim (a key set by hand with a
3 s expiry) after delivering one of two destinations (the sent hash set by
hand). Host b's `send` leaves the report alone while the claim lives,
then takes it over: it POSTs host a's bytes (same report-id) to the other
destination only, and marks the claim done.

A collector started while Redis does not answer stores its results and
writes them to Redis when it starts again with Redis up.

Skips (77) when redis-server, redis-cli, nginx or openssl is missing.
"""
import gzip
import json
import os
import shutil
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rig  # noqa: E402
from rig import check  # noqa: E402

TLSRPTD, MTASTS = sys.argv[1], sys.argv[2]
ORG = ["--org", "Example Org", "--contact", "tlsrpt@example.net"]
PREFIX = "fleettest"
DOMAINS = ["shared", "onlya", "onlyb"]


def main():
    for prog in ("redis-server", "redis-cli", "nginx", "openssl"):
        if shutil.which(prog) is None:
            rig.skip(prog + " is not installed")
    tmp = tempfile.mkdtemp(prefix="tlsrptd-fleet-")
    try:
        run(tmp)
    except Exception as e:  # a broken step fails the test
        traceback.print_exc()
        check(False, repr(e))
    finally:
        status = rig.finish()
        shutil.rmtree(tmp, ignore_errors=True)
    return status


def ok_dgs(dom, n):
    return [rig.datagram(dom, [rig.sts_policy(dom, 0)])] * n


def fail_dgs(dom, n, code=202):
    return [rig.datagram(dom, [rig.sts_policy(dom, 1, [{"c": code}])])] * n


def run(tmp):
    ca, cert, key = rig.make_ca(tmp)
    redis = rig.Redis(tmp)
    recs = {"_smtp._tls.%s.example" % d:
            [["v=TLSRPTv1; rua=https://reports.example.test/r/%s" % d]]
            for d in DOMAINS}
    recs["_smtp._tls.crash.example"] = [[
        "v=TLSRPTv1; rua=https://reports.example.test/c1,"
        "https://reports.example.test/c2"]]
    dns = rig.Dns(recs)
    backend = rig.Receiver({"/r/" + d: [200] for d in DOMAINS} |
                           {"/c1": [200], "/c2": [200]})
    nginx = rig.Nginx(tmp, cert, key, backend.port)
    net = ["--dns-server", dns.addr, "--ca-file", ca, "--connect-to",
           "reports.example.test:443:127.0.0.1:%d" % nginx.port]
    fleet = ["--redis", redis.addr, "--redis-prefix", PREFIX]
    day, day2 = rig.utc_day(-1), rig.utc_day(-2)

    hosts = {h: rig.Collector(TLSRPTD, tmp, h, extra=fleet +
                              ["--host-id", h]) for h in "ab"}
    # yesterday on both hosts
    yesterday = {"MTASTS_TLSRPTD_TEST_CLOCK_OFFSET": "-86400"}
    hosts["a"].start(env=yesterday)
    hosts["b"].start(env=yesterday)
    hosts["a"].send(ok_dgs(b"shared.example", 3) +
                    fail_dgs(b"shared.example", 1) +
                    ok_dgs(b"onlya.example", 2))
    hosts["b"].send(ok_dgs(b"shared.example", 5) +
                    fail_dgs(b"shared.example", 2, 301) +
                    fail_dgs(b"onlyb.example", 4))
    for h in "ab":
        check(hosts[h].stop() == 0, "fill %s: stop" % h)
    check(sorted(redis.cli("SMEMBERS", "%s:day:%s:hosts" %
                           (PREFIX, day)).split()) == ["a", "b"],
          "both hosts wrote the day to Redis")
    check(redis.cli("EXISTS", "%s:day:%s:host:a" % (PREFIX, day)).strip() ==
          "1", "host a's aggregate is in Redis")

    # both send, racing for each report
    send = ORG + net + ["--https-verify", "yes", "--spread-window", "0",
                        "--retry-interval", "1", "--claim-ttl", "10",
                        "--timeout", "5"]
    for h in "ab":
        hosts[h].start(extra=send)

    def finished(h):
        return hosts[h].query("SELECT COUNT(*) FROM sent_days WHERE day = ?",
                              (day,))[0][0] == 1
    check(rig.wait_for(lambda: finished("a") and finished("b"), 40, 0.2),
          "both hosts finish the day: %s" % [hosts[h].text()[-1500:]
                                             for h in "ab"])
    for h in "ab":
        check(hosts[h].stop() == 0, "send %s: stop" % h)
    for d in DOMAINS:
        posts = backend.posts("/r/" + d)
        check(len(posts) == 1, "%s: %d POSTs, want exactly 1" % (d,
                                                                  len(posts)))
        ra = rig.report_json(hosts["a"].store, day, d + ".example")
        rb = rig.report_json(hosts["b"].store, day, d + ".example")
        check(ra is not None and ra == rb,
              "%s: both hosts record the same report" % d)
        if posts and ra:
            check(gzip.decompress(posts[0][3]) == ra[1],
                  "%s: the POST is the fleet's report" % d)
        claim = redis.cli("GET", "%s:report:%s:%s.example" % (PREFIX, day, d))
        check(claim.startswith("done a ") or claim.startswith("done b "),
              "%s: the claim is done: %r" % (d, claim))
        states = sorted(hosts[h].query(
            "SELECT state FROM rua WHERE day = ? AND domain = ?",
            (day, d + ".example"))[0][0] for h in "ab")
        check(states == ["elsewhere", "ready"],
              "%s: one host sent it, the other knows: %s" % (d, states))
    if backend.posts("/r/shared"):
        rep = gzip.decompress(backend.posts("/r/shared")[0][3])
        check(rig.totals(rep) == (8, 3),
              "shared: the sum over the hosts: %s" % (rig.totals(rep),))
        fails = sorted((f["result-type"], f["failed-session-count"])
                       for p in json.loads(rep)["policies"]
                       for f in p["failure-details"])
        check(fails == [("certificate-host-mismatch", 1),
                        ("sts-policy-fetch-error", 2)],
              "shared: failure details summed: %s" % fails)
    if backend.posts("/r/onlyb"):
        rep = gzip.decompress(backend.posts("/r/onlyb")[0][3])
        check(rig.totals(rep) == (0, 4), "onlyb: %s" % (rig.totals(rep),))

    # a crashed sender's claim expires; another host takes over
    hosts["a"].start(env={"MTASTS_TLSRPTD_TEST_CLOCK_OFFSET": "-172800"})
    hosts["a"].send(ok_dgs(b"crash.example", 6))
    check(hosts["a"].stop() == 0, "crash fill: stop")
    out = os.path.join(tmp, "a-report")
    r = rig.run_cmd([TLSRPTD, "report", "--store", hosts["a"].store, "--day",
                     day2, "--out-dir", out] + ORG + fleet +
                    ["--host-id", "a"])
    check(r.returncode == 0, "host a publishes its report: %s" % r.err)
    with open(os.path.join(out, "crash.example.json"), "rb") as f:
        a_json = f.read()
    key = "%s:report:%s:crash.example" % (PREFIX, day2)
    redis.cli("SET", key, "claim a", "EX", "3")
    redis.cli("HSET", "%s:sent:%s:crash.example" % (PREFIX, day2),
              "https://reports.example.test/c2", "a 1")
    b_send = [TLSRPTD, "send", "--store", hosts["b"].store, "--day", day2] + \
        ORG + net + fleet + ["--host-id", "b", "--https-verify", "yes",
                             "--claim-ttl", "10", "--timeout", "5"]
    r = rig.run_cmd(b_send)
    check(r.returncode == 3 and "claimed by another host" in r.out and
          not backend.posts("/c1"),
          "b leaves a live claim alone: %d %s %s" % (r.returncode, r.out,
                                                    r.err))
    check(rig.wait_for(lambda: redis.cli("EXISTS", key).strip() == "0", 10),
          "the crashed claim expires")
    r = rig.run_cmd(b_send)
    check(r.returncode == 0, "b takes over: %d %s %s" % (r.returncode, r.out,
                                                         r.err))
    c1, c2 = backend.posts("/c1"), backend.posts("/c2")
    check(len(c1) == 1 and not c2,
          "b sends to the destination a had not delivered only: %d %d" %
          (len(c1), len(c2)))
    if c1:
        check(gzip.decompress(c1[0][3]) == a_json,
              "b POSTs host a's report, byte for byte")
    check(redis.cli("GET", key).startswith("done b "), "the claim is done")
    check("delivered by another host" in r.out, "b says c2 was delivered "
          "by a: " + r.out)

    # a collector that could not reach Redis writes its days there when it
    # starts again
    c = rig.Collector(TLSRPTD, tmp, "c", extra=["--redis-prefix", PREFIX,
                                                "--host-id", "c"])
    c.start(extra=["--redis", "127.0.0.1:%d" % rig.free_port()],
            env=yesterday)
    c.send(ok_dgs(b"late.example", 2))
    check(c.stop() == 0, "no Redis: the results are stored")
    check("not written to Redis" in c.text() and
          "written to Redis once it answers" in c.text(),
          "no Redis: said at start and at stop: " + c.text()[-1500:])
    key = "%s:day:%s:host:c" % (PREFIX, day)
    check(redis.cli("EXISTS", key).strip() == "0", "no Redis: not there")
    c.start(extra=["--redis", redis.addr])
    check(rig.wait_for(lambda: redis.cli("EXISTS", key).strip() == "1", 20),
          "Redis again: the stored day is written at start")
    check(c.stop() == 0, "Redis again: stop")
    nginx.stop()
    backend.stop()
    dns.stop()
    redis.stop()


if __name__ == "__main__":
    sys.exit(main())
