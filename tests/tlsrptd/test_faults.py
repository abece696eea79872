#!/usr/bin/env python3
"""mtasts-tlsrptd under faults (suite tlsrptd).

    test_faults.py MTASTS_TLSRPTD MTASTS

  flood      60,000 datagrams sent without blocking as fast as Python
             can: every datagram the kernel accepted is counted (the
             stop line and the report's totals), none is lost inside
             the collector
  malformed  garbage, deep nesting, NUL bytes, bad UTF-8 in d, a
             truncated datagram, an empty one, and (as root) one of
             17 MiB, over the 16 MiB read limit: each is dumped byte for
             byte (the first 16 MiB of the big one) with a log line, the
             collector keeps going; a valid datagram of 200 KB (a huge
             EHLO reply) is counted
  full disk  (root) the store on a 1 MiB tmpfs, filled up: the saves
             fail with a logged error, the results stay in memory and are
             stored once there is room again (totals exact); still full
             at SIGTERM: exit status 1 and a log line with the sessions
             that could not be stored
  read-only  (root) the store on a tmpfs remounted read-only: the
             collector, report and send refuse to start with a clear
             error

The root parts run in a private mount namespace (the script runs itself
again under `unshare -m`); without root or unshare they are skipped with
a message, the others still run.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rig  # noqa: E402
from rig import check  # noqa: E402

TLSRPTD, MTASTS = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
INSIDE = "TLSRPTD_FAULTS_NS"
SO_SNDBUFFORCE = 32


def stop_line(c):
    m = re.findall(r"stopped: (\d+) datagrams, (\d+) sessions counted, "
                   r"(\d+) unreadable, (\d+) not counted", c.text())
    return tuple(int(x) for x in m[-1]) if m else None


def report_totals(c, day=None):
    out = os.path.join(c.tmp, "out-%s-%d" % (c.name, os.getpid()))
    shutil.rmtree(out, ignore_errors=True)
    r = rig.run_cmd([TLSRPTD, "report", "--store", c.store, "--day",
                     day or rig.utc_day(), "--out-dir", out, "--org", "Org",
                     "--contact", "tlsrpt@example.net"])
    s = f = 0
    if os.path.isdir(out):
        for name in os.listdir(out):
            with open(os.path.join(out, name), "rb") as fh:
                a, b = rig.totals(fh.read())
            s, f = s + a, f + b
    return r, s, f


def test_flood(tmp):
    c = rig.Collector(TLSRPTD, tmp, "flood", flush=1).start()
    dgs = [rig.datagram(b"d%d.example" % i, [rig.sts_policy(
        b"d%d.example" % i, i % 2)]) for i in range(100)]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setblocking(False)
    sent = refused = 0
    for i in range(60000):
        try:
            s.sendto(dgs[i % 100], c.sock)
            sent += 1
        except BlockingIOError:
            refused += 1
    s.close()
    check(c.stop() == 0, "flood: stop")
    line = stop_line(c)
    check(line is not None and line[0] == sent and line[1] == sent and
          line[2] == 0 and line[3] == 0,
          "flood: %d accepted by the kernel, the collector says %s" %
          (sent, line))
    r, ok, failed = report_totals(c)
    check(ok + failed == sent, "flood: the reports count %d, sent %d" % (
        ok + failed, sent))
    print("flood: %d datagrams accepted, %d refused by the kernel (queue "
          "full), all accepted counted" % (sent, refused))


def dumped(store):
    """The dump file's datagrams: [(length, reason, bytes)]."""
    with open(os.path.join(store, "invalid-datagrams"), "rb") as f:
        data = f.read()
    out, pos = [], 0
    head = b"mtasts-tlsrptd dump: time="
    while True:
        i = data.find(head, pos)
        if i < 0:
            return out
        j = data.index(b"\n", i)
        line = data[i:j].decode("utf-8", "replace")
        length = int(re.search(r"length=(\d+)", line).group(1))
        out.append((length, line, data[j + 1:j + 1 + length]))
        pos = j + 1 + length


def test_malformed(tmp):
    c = rig.Collector(TLSRPTD, tmp, "bad").start()
    bad = [
        os.urandom(300000),
        b"[" * 100000,
        b'{"dpv": "1", "d": "x.example", "policies": [' * 2000,
        b'{"dpv": "1", "d": "a\x00b.example", "policies": []}',
        b'{"dpv": "1", "d": "\xff\xfe.example", "policies": [{"policy-type'
        b'":9,"f":0}]}',
        rig.datagram(b"cut.example", [rig.none_policy(0)])[:-7],
        b"",
        b"\x00" * 1000,
    ]
    big_ok = rig.datagram(b"big.example", [rig.sts_policy(
        b"big.example", 1, [{"c": 202, "h": b"mx.big.example ESMTP " +
                             b"x" * 200000}])])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, 64 << 20)
        huge = True
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        huge = False
    for b in bad:
        s.sendto(b, c.sock)
    s.sendto(big_ok, c.sock)
    if huge:
        # over the 16 MiB read limit: its first 16 MiB are dumped
        try:
            s.sendto(b"{" + b" " * (17 << 20), c.sock)
        except OSError as e:
            print("malformed: this kernel cannot send a datagram of 17 MiB "
                  "(%s): not sent" % e)
            huge = False
    else:
        print("malformed: the 17 MiB datagram needs root (SO_SNDBUFFORCE): "
              "not sent")
    s.sendto(rig.datagram(b"after.example", [rig.none_policy(0)]), c.sock)
    s.close()
    check(c.stop() == 0, "malformed: the collector stops normally")
    nbad = len(bad) + (1 if huge else 0)
    line = stop_line(c)
    # (the one whose d is not UTF-8 is read, then refused: "not counted")
    check(line is not None and line[:2] == (nbad + 2, 2) and
          line[2] + line[3] == nbad and line[3] == 1,
          "malformed: %d unreadable or not counted, 2 counted: %s" % (nbad,
                                                                     line))
    d = dumped(c.store)
    check(len(d) == nbad, "malformed: %d dumped, want %d" % (len(d), nbad))
    for i, b in enumerate(bad):
        check(i < len(d) and d[i][0] == len(b) and d[i][2] == b,
              "malformed: datagram %d dumped byte for byte" % i)
    if huge and len(d) == nbad:
        check(d[-1][0] == 16 << 20 and "it had %d" % ((17 << 20) + 1) in
              d[-1][1], "malformed: the 17 MiB datagram: its first 16 MiB, "
              "and why: %s" % d[-1][1])
    log = c.text()
    check("at byte 0 expected" in log and "dumped to" in log,
          "malformed: the log says where and what: " + log[-1500:])
    r, ok, failed = report_totals(c)
    check((ok, failed) == (1, 1), "malformed: the big valid one and the "
          "last one counted: %s" % ((ok, failed),))


def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    r = rig.run_cmd(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs",
                     path])
    if r.returncode != 0:
        raise RuntimeError("mount tmpfs: " + r.err)


def fill(path):
    """Write path until the disk is full; returns the bytes written."""
    n = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            n += os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    os.close(fd)
    return n


def test_full_disk(tmp):
    disk = os.path.join(tmp, "disk")
    mount_tmpfs(disk, "1m")
    c = rig.Collector(TLSRPTD, tmp, "full", store=os.path.join(disk,
                                                                "store"))
    c.start()
    c.send([rig.datagram(b"first.example", [rig.none_policy(0)])] * 10)
    day = rig.utc_day()

    def stored():
        rows = c.query("SELECT sessions FROM days WHERE day = ?", (day,))
        return rows[0][0] if rows else 0
    check(rig.wait_for(lambda: stored() == 10, 20), "full: the first 10")
    filler = os.path.join(disk, "filler")
    fill(filler)
    # new domains make the aggregate (the row) grow: the save needs room
    c.send([rig.datagram(b"n%d.example" % i, [rig.none_policy(1, [
        {"c": 201, "s": b"192.0.2.%d" % (i % 250)}])]) for i in range(3000)])
    check(rig.wait_for(lambda: "cannot save" in c.text(), 20),
          "full: the failed save is logged: " + c.text()[-1000:])
    check("database or disk is full" in c.text(),
          "full: the log says why: " + c.text()[-1000:])
    check(stored() == 10, "full: nothing new stored while full")
    check(c.proc.poll() is None, "full: the collector keeps running")
    os.unlink(filler)
    check(rig.wait_for(lambda: stored() == 3010, 20),
          "full: stored once there is room: %d" % stored())
    check("the store takes saves again" in c.text(), "full: recovery logged")
    # full again at SIGTERM: exit 1, the loss named
    fill(filler)
    c.send([rig.datagram(b"m%d.example" % i, [rig.none_policy(0)])
            for i in range(3000)])
    check(rig.wait_for(lambda: c.text().count("cannot save") >= 2, 20),
          "full again: logged")
    rc = c.stop()
    log = c.text()
    check(rc == 1 and "NOT everything was stored" in log and
          "could not be stored" in log,
          "full at exit: status %s and the loss logged: %s" % (rc,
                                                               log[-1500:]))
    os.unlink(filler)
    check(stored() == 3010, "full: the stored sessions %d" % stored())
    rig.run_cmd(["umount", disk])


def test_read_only(tmp):
    ro = os.path.join(tmp, "ro")
    mount_tmpfs(ro, "4m")
    c = rig.Collector(TLSRPTD, tmp, "ro", store=os.path.join(ro, "store"))
    c.start()
    c.send([rig.datagram(b"ro.example", [rig.none_policy(0)])])
    check(c.stop() == 0, "ro: first run")
    r = rig.run_cmd(["mount", "-o", "remount,ro", ro])
    check(r.returncode == 0, "ro: remount: " + r.err)
    r = rig.run_cmd(c.args(), timeout=30)
    check(r.returncode == 1 and "Read-only file system" in r.err,
          "ro: the collector refuses: %d %s" % (r.returncode, r.err))
    for cmd in (["report", "--out-dir", os.path.join(tmp, "ro-out")],
                ["send"]):
        r = rig.run_cmd([TLSRPTD, cmd[0], "--store", c.store, "--day",
                         rig.utc_day(), "--org", "Org", "--contact",
                         "tlsrpt@example.net"] + cmd[1:], timeout=30)
        check(r.returncode == 1 and "read-only file system" in r.err,
              "ro: %s refuses: %d %s" % (cmd[0], r.returncode, r.err))
    rig.run_cmd(["umount", ro])


def run_all(root_parts):
    tests = [("flood", test_flood), ("malformed", test_malformed)]
    if root_parts:
        tests += [("full-disk", test_full_disk), ("read-only",
                                                  test_read_only)]
    for name, fn in tests:
        tmp = tempfile.mkdtemp(prefix="tlsrptd-faults-")
        print("==", name)
        try:
            fn(tmp)
        except Exception as e:  # a broken step fails the test
            traceback.print_exc()
            check(False, "%s: %r" % (name, e))
        finally:
            for p in list(rig.RUNNING):
                p.stop(signal.SIGKILL) if isinstance(
                    p, rig.Collector) else p.stop()
            for sub in ("disk", "ro"):
                if os.path.ismount(os.path.join(tmp, sub)):
                    rig.run_cmd(["umount", "-l", os.path.join(tmp, sub)])
            shutil.rmtree(tmp, ignore_errors=True)
    return rig.finish()


def main():
    if os.environ.get(INSIDE) == "1":
        return run_all(True)
    why = None
    if os.geteuid() != 0:
        why = "not root"
    elif shutil.which("unshare") is None or shutil.which("mount") is None:
        why = "unshare or mount is missing"
    elif rig.run_cmd(["unshare", "-m", "true"]).returncode != 0:
        why = "cannot make a mount namespace"
    if why is not None:
        print("SKIP (full disk, read-only store): %s" % why)
        return run_all(False)
    env = dict(os.environ)
    env[INSIDE] = "1"
    return subprocess.call(["unshare", "-m", "--propagation", "private",
                            sys.executable, os.path.abspath(__file__),
                            TLSRPTD, MTASTS], env=env)


if __name__ == "__main__":
    sys.exit(main())
