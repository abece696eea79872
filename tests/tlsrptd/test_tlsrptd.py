#!/usr/bin/env python3
"""mtasts-tlsrptd over a real socket: datagrams in libtlsrpt's format, the
day closed with `report`, totals checked, each report read back with
`mtasts report parse --strict`; unreadable datagrams in the dump file;
a restart continues the day; kill -9 loses at most the last flush
interval; a second collector on the same store or socket is refused.

    test_tlsrptd.py MTASTS_TLSRPTD MTASTS

Everything lives in a temporary directory; every process started is
stopped by its PID; every wait is bounded.
"""
import datetime
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback

# the datagram writer the delivery rig uses too (libtlsrpt's format)
from rig import datagram  # noqa: E402

TLSRPTD, MTASTS = sys.argv[1], sys.argv[2]
FAILURES = []
RUNNING = set()  # collectors started and not yet stopped


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what)
    return cond


def today():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")


STS = [b"version: STSv1", b"mode: enforce", b"mx: mx.sts.example",
       b"max_age: 86400"]


def sts(f, failures=()):
    return {"type": 2, "domain": b"sts.example", "strings": STS,
            "mx": [b"mx.sts.example"], "f": f, "failures": list(failures)}


class Collector:
    def __init__(self, tmp, name="c", flush=1, extra=()):
        self.tmp = tmp
        self.sock = os.path.join(tmp, name + ".sock")
        self.store = os.path.join(tmp, "store")
        self.log = os.path.join(tmp, name + ".log")
        self.args = [TLSRPTD, "--socket", self.sock, "--store", self.store,
                     "--foreground", "--flush-interval", str(flush)] + \
            list(extra)
        self.proc = None

    def start(self):
        before = self.text().count("listening on") if os.path.exists(
            self.log) else 0
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(self.args, stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        RUNNING.add(self)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("collector exited: " + self.text())
            if self.text().count("listening on") > before:
                return self
            time.sleep(0.02)
        raise RuntimeError("collector did not start: " + self.text())

    def text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        self.logf.close()
        RUNNING.discard(self)
        return rc


def sender():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setblocking(True)  # a full queue makes the sender wait: no loss
    return s


def send(c, dgs):
    s = sender()
    for dg in dgs:
        s.sendto(dg, c.sock)
    s.close()


def stored_sessions(store):
    """The sessions counted in today's stored row (0 when none)."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(
        store, "tlsrptd.sqlite"), uri=True, timeout=10)
    try:
        row = db.execute("SELECT sessions FROM days WHERE day = ?",
                         (today(),)).fetchone()
    finally:
        db.close()
    return row[0] if row else 0


def wait_stored(store, n, limit=30):
    deadline = time.time() + limit
    while time.time() < deadline:
        if stored_sessions(store) >= n:
            return True
        time.sleep(0.05)
    return False


def report(tmp, store, out, day=None):
    r = subprocess.run([TLSRPTD, "report", "--store", store, "--day",
                        day or today(), "--out-dir", out, "--org",
                        "Example Org", "--contact", "tlsrpt@example.net"],
                       capture_output=True, timeout=60)
    reports = {}
    if os.path.isdir(out):
        for name in sorted(os.listdir(out)):
            if name.endswith(".json"):
                with open(os.path.join(out, name), "rb") as f:
                    reports[name[:-5]] = f.read()
    return r, reports


def totals(reports):
    s = f = 0
    for raw in reports.values():
        for p in json.loads(raw)["policies"]:
            s += p["summary"]["total-successful-session-count"]
            f += p["summary"]["total-failure-session-count"]
    return s, f


def strict(path):
    r = subprocess.run([MTASTS, "report", "parse", "--strict", path],
                       capture_output=True, timeout=30)
    return r.returncode == 0, r.stdout.decode() + r.stderr.decode()


def test_basic(tmp):
    c = Collector(tmp).start()
    latin1 = b"mx.sts.example ESMTP b\xe9ta\r\n250 SIZE"
    dgs = []
    dgs += [datagram(b"sts.example", [sts(0)])] * 5
    dgs += [datagram(b"STS.example.", [sts(1, [
        {"c": 202, "s": b"192.0.2.1", "n": b"mx.sts.example", "h": latin1,
         "r": b"192.0.2.25"}])])] * 3
    codes = [201, 202, 203, 204, 205, 301, 302, 303, 304, 305, 306, 999]
    for code in codes:
        dgs.append(datagram(b"none.example", [
            {"type": 9, "f": 1, "failures": [{"c": code}]}]))
    dgs.append(datagram(b"tlsa.example", [
        {"type": 1, "domain": b"mx.tlsa.example",
         "strings": [b"3 1 1 0a0b"], "f": 0}]))
    bad = [b"", b"not json", b'{"dpv": "1", "d": 12}',
           b'{"dpv":"2","d":"a.example","policies":[]}',
           b'{"dpv":"1","d":"bad domain","policies":[{"policy-type":9,'
           b'"f":0}]}']
    send(c, dgs + bad)
    rc = c.stop()
    check(rc == 0, "basic: exit status %s" % rc)
    log = c.text()
    check("4 unreadable, 1 not counted" in log,
          "basic: the stop line counts 4 unreadable and 1 refused: " + log)
    check("at byte 18 expected a string (a domain) as d" in log,
          "basic: the log names the offset and the expectation")
    # the dump file holds the bad datagrams exactly
    with open(os.path.join(c.store, "invalid-datagrams"), "rb") as f:
        dump = f.read()
    pos = 0
    for b in bad:
        head = b"mtasts-tlsrptd dump: time="
        i = dump.index(head, pos)
        j = dump.index(b"\n", i)
        length = int(dump[i:j].split(b"length=")[1].split(b" ")[0])
        check(length == len(b) and dump[j + 1:j + 1 + length] == b,
              "basic: dumped datagram %r" % b)
        pos = j + 1 + length
    out = os.path.join(tmp, "out")
    r, reports = report(tmp, c.store, out)
    check(r.returncode == 0, "basic: report exit %d %s" % (
        r.returncode, r.stderr))
    check(sorted(reports) == ["none.example", "sts.example", "tlsa.example"],
          "basic: one report per domain: %s" % sorted(reports))
    check(totals(reports) == (6, 15), "basic: totals %s" % (totals(reports),))
    rep = json.loads(reports["sts.example"])
    check(rep["organization-name"] == "Example Org", "basic: org")
    check(rep["date-range"]["start-datetime"] == today() + "T00:00:00Z",
          "basic: date range")
    pol = rep["policies"][0]
    check(pol["policy"]["policy-string"] == [s.decode() for s in STS],
          "basic: policy-string")
    det = pol["failure-details"]
    check(len(det) == 1 and det[0]["failed-session-count"] == 3 and
          det[0]["receiving-mx-helo"] ==
          "mx.sts.example ESMTP b\\xE9ta\r\n250 SIZE",
          "basic: the Latin-1 EHLO kept with \\xE9: %s" % det)
    none = json.loads(reports["none.example"])["policies"][0]
    check(none["policy"] == {"policy-type": "no-policy-found",
                             "policy-domain": "none.example"},
          "basic: no-policy-found with its domain")
    types = sorted(d["result-type"] for d in none["failure-details"])
    check(len(types) == 12 and types.count("validation-failure") == 2,
          "basic: every code, the unknown one apart: %s" % types)
    check(any(d.get("failure-reason-code") ==
              "libtlsrpt-unknown-failure-code-999"
              for d in none["failure-details"]), "basic: unknown code")
    tlsa = json.loads(reports["tlsa.example"])["policies"][0]["policy"]
    check(tlsa["policy-string"] == ["3 1 1 0A0B"], "basic: tlsa hex")
    for name in reports:
        ok, text = strict(os.path.join(out, name + ".json"))
        check(ok, "basic: %s parses with --strict: %s" % (name, text))
    # a second run writes the recorded reports again, byte for byte
    out2 = os.path.join(tmp, "out2")
    r2, again = report(tmp, c.store, out2)
    check(r2.returncode == 0 and again == reports,
          "basic: a second report run gives the same bytes")
    # results after the day was reported: stored, logged; a domain without
    # a report gets one on the next run, the others keep theirs
    c.start()
    send(c, [datagram(b"sts.example", [sts(0)]),
             datagram(b"late.example", [{"type": 9, "f": 0}])])
    check(c.stop() == 0, "basic: stop after the report")
    check("came after its reports were made" in c.text(),
          "basic: late results are logged")
    r5, late = report(tmp, c.store, os.path.join(tmp, "out5"))
    check(r5.returncode == 0 and sorted(late) == sorted(
        list(reports) + ["late.example"]) and all(
            late[d] == reports[d] for d in reports),
          "basic: a late domain gets its report, the others keep theirs")
    # a day without results: nothing, exit 0
    r3, empty = report(tmp, c.store, os.path.join(tmp, "out3"),
                       day="2001-01-01")
    check(r3.returncode == 0 and not empty, "basic: an empty day")
    r4, _ = report(tmp, c.store, os.path.join(tmp, "out4"),
                   day="2001-02-30")
    check(r4.returncode == 2, "basic: a bad day is a usage error")


def test_restart(tmp):
    c = Collector(tmp)
    c.start()
    send(c, [datagram(b"sts.example", [sts(0)])] * 7)
    check(c.stop() == 0, "restart: first stop")
    c.start()
    send(c, [datagram(b"sts.example", [sts(1, [{"c": 301}])])] * 4)
    check(c.stop() == 0, "restart: second stop")
    r, reports = report(tmp, c.store, os.path.join(tmp, "out"))
    check(totals(reports) == (7, 4),
          "restart: the day continues: %s" % (totals(reports),))


def kill9(tmp, exact):
    n, m, k = 300, 200, 100
    c = Collector(tmp, flush=1)
    c.start()
    s = sender()
    for _ in range(n):
        s.sendto(datagram(b"sts.example", [sts(0)]), c.sock)
    check(wait_stored(c.store, n), "kill -9: the first %d stored" % n)
    for _ in range(m):
        s.sendto(datagram(b"sts.example", [sts(0)]), c.sock)
    if exact:
        check(wait_stored(c.store, n + m), "kill -9: %d stored" % (n + m))
    c.stop(signal.SIGKILL)
    c.start()
    for _ in range(k):
        s.sendto(datagram(b"sts.example", [sts(0)]), c.sock)
    s.close()
    check(c.stop() == 0, "kill -9: stop after restart")
    r, reports = report(tmp, c.store, os.path.join(tmp, "out"))
    got = totals(reports)[0]
    if exact:
        check(got == n + m + k, "kill -9 after a flush: %d, want %d" % (
            got, n + m + k))
    else:
        check(n + k <= got <= n + m + k,
              "kill -9: %d not within [%d, %d]" % (got, n + k, n + m + k))
    print("kill -9 (%s): %d of %d sent counted" % (
        "after a flush" if exact else "at once", got, n + m + k))


def test_refusals(tmp):
    c = Collector(tmp, name="a").start()
    # the same store
    d = subprocess.run([TLSRPTD, "--socket", os.path.join(tmp, "b.sock"),
                        "--store", c.store, "--foreground"],
                       capture_output=True, timeout=30)
    check(d.returncode != 0 and b"in use by another collector" in d.stderr,
          "refusals: a second collector on the store: %s" % d.stderr)
    # the same socket
    d = subprocess.run([TLSRPTD, "--socket", c.sock, "--store",
                        os.path.join(tmp, "store2"), "--foreground"],
                       capture_output=True, timeout=30)
    check(d.returncode != 0 and b"another process listens" in d.stderr,
          "refusals: a live socket: %s" % d.stderr)
    check(c.stop() == 0, "refusals: stop")
    check(not os.path.exists(c.sock), "refusals: the socket is removed")
    # a stale socket is replaced
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stale.bind(c.sock)
    stale.close()
    c.start()
    send(c, [datagram(b"sts.example", [sts(0)])])
    check(c.stop() == 0, "refusals: over a stale socket")
    # options and the configuration file
    conf = os.path.join(tmp, "tlsrptd.conf")
    with open(conf, "w") as f:
        f.write("# test\nflush_interval = 2\nnot_a_setting = 1\n")
    d = subprocess.run([TLSRPTD, "--config", conf], capture_output=True,
                       timeout=30)
    check(d.returncode == 2 and b"line 3: unknown setting" in d.stderr,
          "refusals: an unknown setting: %s" % d.stderr)
    d = subprocess.run([TLSRPTD, "--flush-interval", "0"],
                       capture_output=True, timeout=30)
    check(d.returncode == 2 and b"1 to 3600" in d.stderr,
          "refusals: a bad interval: %s" % d.stderr)
    d = subprocess.run([TLSRPTD, "report", "--socket", "x"],
                       capture_output=True, timeout=30)
    check(d.returncode == 2, "refusals: report takes no --socket")
    with open(conf, "w") as f:
        f.write("store = %s\norganization_name = Conf Org\n"
                "contact_info = tlsrpt@example.net\n" % c.store)
    out = os.path.join(tmp, "out")
    d = subprocess.run([TLSRPTD, "report", "--config", conf, "--day",
                        today(), "--out-dir", out], capture_output=True,
                       timeout=30)
    check(d.returncode == 0, "refusals: report from a configuration file")
    with open(os.path.join(out, "sts.example.json"), "rb") as f:
        check(json.loads(f.read())["organization-name"] == "Conf Org",
              "refusals: organization_name from the file")


def main():
    for name, fn in [("basic", test_basic), ("restart", test_restart),
                     ("kill9", lambda t: kill9(t, False)),
                     ("kill9-exact", lambda t: kill9(t, True)),
                     ("refusals", test_refusals)]:
        with tempfile.TemporaryDirectory(prefix="tlsrptd-") as tmp:
            print("==", name)
            try:
                fn(tmp)
            except Exception as e:  # a broken step fails the test
                traceback.print_exc()
                check(False, "%s: %r" % (name, e))
            finally:
                for c in list(RUNNING):
                    c.stop(signal.SIGKILL)
    if FAILURES:
        print("%d failure(s)" % len(FAILURES))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
