#!/usr/bin/env python3
"""mtasts-policyd's persistent and shared caches against the e2e rig, with
nginx's access log as the proof that no HTTPS request was made (meson suite
policyd).

    test_cache_rig.py DAEMON SOURCE_ROOT restart|fleet

The rig (tests/e2e/rig.py) serves the policies: dnsmasq on a free loopback
port for the TXT records, nginx on another with a throwaway CA for the
policy files, reached through --dns-server, --ca-file and --connect-to.
Every request nginx serves is a line of its access log
(rig.nginx.requests(host)), so "no HTTPS request" is read there, not in the
daemon's own counters. Requests are socketmap netstrings, as Postfix sends
them.

restart  cache type sqlite. A daemon answers enf.e2e.test (one request in
         nginx's log), is stopped (SIGTERM) and a second daemon with the
         same configuration starts: its first answer for enf.e2e.test is
         the same, from the SQLite file (source=cache in its log), and
         nginx's log still has one request. The control: chg.e2e.test's TXT
         id changes while the daemon is down, and the new daemon fetches it
         again (a second request in the log), so the log does see fetches.
fleet    cache type redis, one redis-server on a free loopback port. Two
         daemons share it: the second answers enf.e2e.test, which the first
         fetched, with no new request in nginx's log; and the first answers
         oth.e2e.test, which the second fetched, the same way. The control:
         each domain has exactly one request, made by the daemon that asked
         first.

Exit 77 (skip) with the reason when dnsmasq, nginx or openssl (the rig),
or redis-server (fleet) is missing.
"""
import os
import re
import shutil
import socket
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # nothing written into the source tree

SKIP = 77
Z = "e2e.test"
POLICY = ("version: STSv1\nmode: enforce\nmx: mx1.%s\nmx: *.mx.%s\n"
          "max_age: 86400\n")


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(SKIP)


class Checker:
    def __init__(self):
        self.failures = []
        self.passed = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print("ok - " + what)
        else:
            self.failures.append(what)
            print("not ok - " + what + ("\n    " + str(detail).replace(
                "\n", "\n    ") if detail else ""))


def ask(port, key, name="postfix", timeout=15):
    """One socketmap request on a new connection: the answer's payload."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        q = ("%s %s" % (name, key)).encode()
        s.sendall(b"%d:%s," % (len(q), q))
        buf = b""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = re.match(rb"(\d+):", buf)
            if m and len(buf) >= m.end() + int(m.group(1)) + 1:
                n = int(m.group(1))
                return buf[m.end():m.end() + n].decode()
            d = s.recv(4096)
            if not d:
                break
            buf += d
    return None


def redis_cmd(port, *args):
    """One Redis command in RESP; the raw reply's first line."""
    req = b"*%d\r\n" % len(args) + b"".join(
        b"$%d\r\n%s\r\n" % (len(a), a) for a in (x.encode() for x in args))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(req)
        return s.recv(4096).split(b"\r\n", 1)[0]


def setup_rig(R, labels):
    rig = R.Rig()
    pki = rig.make_pki()
    cert = pki.issue("policy", ["mta-sts.%s.%s" % (lbl, Z) for lbl in labels])
    for lbl in labels:
        dom = "%s.%s" % (lbl, Z)
        rig.dns.txt("_mta-sts." + dom, "v=STSv1; id=1;")
        rig.dns.a("mta-sts." + dom)
        path = rig.nginx.file(lbl + ".txt", (POLICY % (dom, dom)).encode())
        rig.nginx.server("mta-sts." + dom, cert,
                         {"/.well-known/mta-sts.txt":
                          "default_type text/plain; alias %s;" % path})
    rig.start()
    return rig, pki


def answer_for(lbl):
    return "OK secure match=mx1.%s.%s:.mx.%s.%s servername=hostname" % (
        lbl, Z, lbl, Z)


def fetches(rig, lbl):
    return len([r for r in rig.nginx.requests("mta-sts.%s.%s" % (lbl, Z))
                if r["uri"] == "/.well-known/mta-sts.txt"])


class Daemon:
    """mtasts-policyd in the foreground, a rig.Proc (stopped by its PID)."""

    def __init__(self, R, rig, daemon, tmp, name, port, cache_yaml):
        self.R = R
        self.port = port
        cfg = os.path.join(tmp, name + ".yml")
        with open(cfg, "w") as f:
            f.write("host: 127.0.0.1\nport: %d\npostfix_version: 3.7.11\n"
                    "shutdown_timeout: 5\ncache_grace: 60\n"
                    "default_zone:\n  timeout: 10\n%s" % (port, cache_yaml))
        self.proc = R.Proc(name, [
            daemon, "--foreground", "--config", cfg,
            "--dns-server", "127.0.0.1:%d" % rig.dns.port,
            "--ca-file", rig.pki.ca_file,
            "--connect-to", ":443:127.0.0.1:%d" % rig.nginx.port],
            os.path.join(tmp, name + ".log"), rig.reaper)
        p = self.proc.start()
        R.wait_tcp(port, 15, p, name)

    def log(self):
        with open(self.proc.log, errors="replace") as f:
            return f.read()

    def lookups(self, dom):
        return [ln for ln in self.log().splitlines()
                if "event=lookup domain=%s " % dom in ln]

    def stop(self):
        p = self.proc.p
        self.proc.stop()
        return None if p is None else p.returncode


def free_port(R):
    return R.free_port()


def case_restart(R, daemon, tmp, ck):
    rig, _ = setup_rig(R, ["enf", "chg"])
    ds = []
    try:
        cache = ("cache:\n  type: sqlite\n  options:\n    filename: %s\n"
                 % os.path.join(tmp, "cache.db"))
        port = free_port(R)
        d1 = Daemon(R, rig, daemon, tmp, "d1", port, cache)
        ds.append(d1)
        for lbl in ("enf", "chg"):
            got = ask(port, "%s.%s" % (lbl, Z))
            ck.check(got == answer_for(lbl), "first daemon: %s answered" % lbl,
                     "%r\n%s" % (got, d1.log()))
            ck.check(fetches(rig, lbl) == 1,
                     "first daemon: one request for mta-sts.%s in nginx's "
                     "log" % lbl, repr(rig.nginx.requests()))
        ck.check(d1.stop() == 0, "first daemon: exit status 0 after SIGTERM")

        # chg.e2e.test publishes a new policy id while no daemon runs
        rig.dns.remove("txt-record=_mta-sts.chg.")
        rig.dns.txt("_mta-sts.chg." + Z, "v=STSv1; id=2;")
        rig.dns.restart()

        d2 = Daemon(R, rig, daemon, tmp, "d2", port, cache)
        ds.append(d2)
        got = ask(port, "enf." + Z)
        ck.check(got == answer_for("enf"),
                 "after the restart: the first answer for enf is the same",
                 "%r\n%s" % (got, d2.log()))
        ck.check(fetches(rig, "enf") == 1,
                 "after the restart: no HTTPS request for enf (nginx's log "
                 "has still one)", repr(rig.nginx.requests()))
        ls = d2.lookups("enf." + Z)
        ck.check(len(ls) == 1 and " source=cache " in ls[0],
                 "after the restart: the daemon's log says source=cache for "
                 "enf (the SQLite file)", "\n".join(ls) or d2.log())
        # the control: a new id is fetched, and nginx's log shows it
        got = ask(port, "chg." + Z)
        ck.check(got == answer_for("chg") and fetches(rig, "chg") == 2,
                 "control: chg's new TXT id is fetched again (a second "
                 "request in nginx's log)",
                 "%r %r" % (got, rig.nginx.requests()))
        ck.check(d2.stop() == 0, "second daemon: exit status 0")
    finally:
        for d in ds:
            d.stop()
        rig.stop()


def case_fleet(R, daemon, tmp, ck):
    exe = R.which("redis-server")
    if exe is None:
        skip("redis-server is not installed")
    rig, _ = setup_rig(R, ["enf", "oth"])
    ds = []
    redis = None
    try:
        rport = free_port(R)
        redis = R.Proc("redis-server", [
            exe, "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", tmp, "--protected-mode", "no"],
            os.path.join(tmp, "redis.log"), rig.reaper)
        R.wait_tcp(rport, 10, redis.start(), "redis-server")
        prefix = "fleet%d" % os.getpid()
        cache = ("cache:\n  type: redis\n  options:\n"
                 "    url: redis://127.0.0.1:%d/0\n    prefix: %s\n"
                 % (rport, prefix))
        d1 = Daemon(R, rig, daemon, tmp, "d1", free_port(R), cache)
        ds.append(d1)
        d2 = Daemon(R, rig, daemon, tmp, "d2", free_port(R), cache)
        ds.append(d2)

        def shared(first, second, lbl):
            dom = "%s.%s" % (lbl, Z)
            got = ask(first.port, dom)
            ck.check(got == answer_for(lbl) and fetches(rig, lbl) == 1,
                     "%s answers %s: one request in nginx's log"
                     % (first.proc.name, lbl),
                     "%r %r" % (got, rig.nginx.requests()))
            # the write reaches Redis on the daemon's event loop: wait for
            # the key (bounded)
            key = "%s:%s" % (prefix, dom)
            end = time.monotonic() + 10
            while redis_cmd(rport, "EXISTS", key) != b":1" and \
                    time.monotonic() < end:
                time.sleep(0.05)
            ttl = redis_cmd(rport, "TTL", key)
            ck.check(ttl.startswith(b":") and int(ttl[1:]) > 0,
                     "%s: the Redis key %s exists and has a time to live "
                     "(%s)" % (lbl, key, ttl.decode()))
            got = ask(second.port, dom)
            ck.check(got == answer_for(lbl),
                     "%s answers %s the same" % (second.proc.name, lbl),
                     "%r\n%s" % (got, second.log()))
            ck.check(fetches(rig, lbl) == 1,
                     "%s: no HTTPS request for %s (nginx's log has still "
                     "one)" % (second.proc.name, lbl),
                     repr(rig.nginx.requests()))
            ls = second.lookups(dom)
            ck.check(len(ls) == 1 and " source=cache " in ls[0],
                     "%s's log says source=cache for %s (Redis)"
                     % (second.proc.name, lbl), "\n".join(ls) or second.log())

        shared(d1, d2, "enf")
        shared(d2, d1, "oth")
        ck.check(d1.stop() == 0 and d2.stop() == 0,
                 "both daemons: exit status 0")
    finally:
        for d in ds:
            d.stop()
        if redis is not None:
            redis.stop()
        rig.stop()


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("restart", "fleet"):
        print(__doc__)
        return 2
    daemon, src = (os.path.abspath(a) for a in sys.argv[1:3])
    rig_dir = os.path.join(src, "tests", "e2e")
    if not os.path.exists(os.path.join(rig_dir, "rig.py")):
        skip("the e2e rig (tests/e2e/rig.py) is not in this tree")
    sys.path.insert(0, rig_dir)
    import rig as R  # noqa: E402 - the rig lives in tests/e2e
    R.require(skip)
    tmp = tempfile.mkdtemp(prefix="policyd-cache-rig.")
    ck = Checker()
    try:
        {"restart": case_restart, "fleet": case_fleet}[sys.argv[3]](
            R, daemon, tmp, ck)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{ck.passed} passed, {len(ck.failures)} failed")
    return 1 if ck.failures else 0


if __name__ == "__main__":
    sys.exit(main())
