#!/usr/bin/env python3
"""The daemon benchmarks (issues 12 and 13), run by `bench/run.sh --daemons`:
our daemons and their peers measured side by side in one run, on the same
socket setup and with the same load generator. Timings are reported, never
asserted. bench/README.md describes the method.

    daemons.py --build BUILD_DIR --out DIR [--rounds N] [--parts LIST]

writes DIR/tlsrpt.json (part "tlsrpt") and DIR/policyd.json (part
"policyd"); bench/report.py turns them into tables and scores the targets.
Progress and SKIP lines go to standard error.

tlsrpt (mtasts-tlsrptd, issue 13):
  Datagrams are captured from the real libtlsrpt (built from
  ../shared/interop/libtlsrpt with bench/tlsrpt_gen.c into a temporary
  directory), then replayed by bench_dgram blast, which only calls
  sendto(). Receivers, one at a time, each on a fresh AF_UNIX datagram
  socket made by the receiver itself with no socket option (the same
  SO_RCVBUF, the system default, read back with `ss`), under the same
  net.unix.max_dgram_qlen: mtasts-tlsrptd, bench_dgram sink (recvmmsg,
  counts only) and tlsrpt-collectd (../shared/interop/tlsrpt-reporter,
  Python). Blocking sender: datagrams/s with nothing lost (each
  receiver's count must equal what was sent). Non-blocking sender at full
  rate: the share lost. The real libtlsrpt as a blocking sender into
  mtasts-tlsrptd: nothing may be lost. Memory: mtasts-tlsrptd's RSS for a
  day of 1 000 000 sessions over 10 000 domains, and the size of the
  encoded aggregate it stores. Without ../shared the datagrams are written
  by this script in libtlsrpt's format, the peer is skipped, and the
  output says so.

policyd (mtasts-policyd, issue 12):
  A rig on loopback: a wildcard DNS responder (this script: TXT
  "v=STSv1; id=1;" for _mta-sts.*.bench.test, A 127.0.0.1), nginx with
  certificates from a throwaway CA serving an enforce policy for every
  mta-sts.DOMAIN. postfix-mta-sts-resolver resolves through
  /etc/resolv.conf and trusts the system CAs, so as root the whole part
  runs in private network and mount namespaces (unshare -mn): the DNS
  responder on 127.0.0.1:53, nginx on :443, a bind-mounted resolv.conf,
  SSL_CERT_FILE for the CA; not as root the peer is skipped. Both
  daemons read the same settings (mta-sts-daemon.yml, cache_grace 3600),
  are warmed (each asks for every domain once, then a second pass must be
  answered from cache with no HTTPS request in nginx's log), and are
  measured with bench_socketmap_load, 8 connections, one request
  outstanding on each, together with bench_epoll_netstring (a constant
  answer). Also the latency of a cold miss (a domain never asked, one
  request at a time) and mtasts-policyd's RSS for 100 000 cached domains
  (loaded from an SQLite cache filled by bench_policyd_fill, each with a
  TXT query and no fetch).
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PYSYS = os.environ.get("PYTHON_SYSTEM", "/usr/bin/python3")
SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")

# tlsrpt part
CAPTURE = 50000          # distinct datagrams captured from libtlsrpt
DOMAINS = 10000          # over this many report domains
N_BLOCK = 200000         # datagrams per blocking run (sink, tlsrptd)
N_BLOCK_PEER = 5000      # per blocking run of tlsrpt-collectd (~2k/s)
N_NONBLOCK = 200000      # sendto() attempts per non-blocking run
N_LIVE = 100000          # results through libtlsrpt itself
N_DAY = 1000000          # sessions of the memory figure
QLEN_RAISED = 512        # the information-only runs in a private netns
# policyd part
WARM = 1000              # cached domains of the requests/s figure
COLD = 30                # cold misses per daemon
MEM_DOMAINS = 100000     # cached domains of the memory figure
SECONDS = 2.0            # measured seconds per server and round
CONNS = 8
DEPTH = 1


def say(*a):
    print(*a, file=sys.stderr, flush=True)


def which(prog):
    p = shutil.which(prog)
    if p:
        return p
    for d in SBIN:
        c = os.path.join(d, prog)
        if os.access(c, os.X_OK):
            return c
    return None


class Procs:
    """Processes started here, stopped by their PID on every exit path."""

    def __init__(self):
        self.procs = []

    def start(self, argv, log, env=None, stdout=None):
        f = open(log, "ab")
        p = subprocess.Popen(argv, stdout=stdout or f, stderr=f, env=env,
                             stdin=subprocess.DEVNULL)
        f.close()
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=30):
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.procs:
            self.procs.remove(p)
        return p.returncode

    def stop_all(self):
        for p in list(self.procs):
            self.stop(p, timeout=5)


def wait_for(cond, timeout, what, proc=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s: exited with %s" % (what, proc.returncode))
        time.sleep(0.02)
    raise RuntimeError("%s: not ready within %ss" % (what, timeout))


def wait_tcp(port, timeout, what, proc=None):
    def ok():
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return True
        except OSError:
            return False
    wait_for(ok, timeout, what, proc)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_json(argv, timeout=600, what=None):
    r = subprocess.run(argv, capture_output=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (
            what or os.path.basename(argv[0]), r.returncode,
            r.stderr.decode(errors="replace")[-2000:]))
    return json.loads(r.stdout.decode().strip().splitlines()[-1])


def rss_kib(pid, key="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def cpu_s(pid):
    """User + system CPU seconds of a process (all its threads)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rcvbuf(path):
    """The receive buffer (skmem rb) of the socket bound at path."""
    ss = which("ss")
    if ss is None:
        return None
    r = subprocess.run([ss, "-xamn", "src", path], capture_output=True,
                       text=True)
    m = re.search(r"rb(\d+)", r.stdout)
    return int(m.group(1)) if m else None


def read_sysctl(name):
    try:
        with open("/proc/sys/" + name.replace(".", "/")) as f:
            return int(f.read().strip())
    except OSError:
        return None


# ------------------------------------------------------------------ tlsrpt


def build_tlsrpt_gen(shared, tmp):
    """tlsrpt_gen linked with the peer's libtlsrpt, or None."""
    lib = os.path.join(shared, "libtlsrpt")
    if not os.path.isfile(os.path.join(lib, "libtlsrpt.c")):
        return None
    with open(os.path.join(lib, "tlsrpt_version.h.in")) as f:
        h = f.read()
    for k, v in (("MAJOR", "0"), ("MINOR", "5"), ("PATCH", "1"),
                 ("IS_PRERELEASE", "1"), ("PRERELEASE", "rc2")):
        h = h.replace("@TLSRPT_VERSION_%s@" % k, v)
    with open(os.path.join(tmp, "tlsrpt_version.h"), "w") as f:
        f.write(h)
    exe = os.path.join(tmp, "tlsrpt_gen")
    cc = os.environ.get("CC", "cc").split()
    r = subprocess.run(cc + ["-O2", "-w", "-I" + tmp, "-I" + lib, "-o", exe,
                             os.path.join(HERE, "tlsrpt_gen.c"),
                             os.path.join(lib, "libtlsrpt.c"),
                             os.path.join(lib,
                                          "json-escape-initializer-list.c")],
                       capture_output=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError("building tlsrpt_gen: " + r.stderr.decode())
    return exe


def synthetic_capture(path, count, ndom):
    """Without libtlsrpt: datagrams in its format (dpv 1, one policy),
    the same mix as tlsrpt_gen.c, written by this script."""
    with open(path, "wb") as f:
        for i in range(count):
            dom = i % ndom
            d = "d%05d.example" % dom
            failed = (i * 2654435761) % 10 == 0
            pol = {"policy-type": 9, "t": 0, "f": 0}
            if dom % 3 == 0:
                pol = {"policy-type": 2, "policy-domain": d,
                       "policy-string": ["version: STSv1", "mode: enforce",
                                         "mx: *.%s" % d,
                                         "max_age: %d" % (86400 + dom)],
                       "mx-host": ["*.%s" % d], "t": 0, "f": 0}
            if failed:
                pol["failure-details"] = [{"c": 201 + i % 5,
                                           "s": "192.0.2.%d" % (1 + i % 4),
                                           "n": "mx0." + d,
                                           "r": "198.51.100.%d"
                                           % (1 + dom % 250)}]
                pol["t"], pol["f"] = 1, 1
            b = json.dumps({"dpv": "1", "d": d,
                            "pr": "v=TLSRPTv1; rua=mailto:tlsrpt@" + d,
                            "policies": [pol]}).encode()
            f.write(struct.pack("<I", len(b)) + b)


def collectd_env(shared, tmp):
    """PYTHONPATH for tlsrpt-collectd: its sources and a dist-info folder
    with its entry points (as ../shared/interop/README.md says), or None."""
    src = os.path.join(shared, "tlsrpt-reporter")
    pyproject = os.path.join(src, "pyproject.toml")
    if not os.path.isfile(pyproject):
        return None
    try:
        import tomllib
    except ImportError:
        return None
    with open(pyproject, "rb") as f:
        proj = tomllib.load(f)["project"]
    di = os.path.join(tmp, "py", "tlsrpt_reporter-%s.dist-info"
                      % proj["version"])
    os.makedirs(di)
    with open(os.path.join(di, "METADATA"), "w") as f:
        f.write("Metadata-Version: 2.1\nName: tlsrpt_reporter\n"
                "Version: %s\n" % proj["version"])
    with open(os.path.join(di, "entry_points.txt"), "w") as f:
        for group, eps in proj.get("entry-points", {}).items():
            f.write("[%s]\n" % group)
            for k, v in eps.items():
                f.write("%s = %s\n" % (k, v))
            f.write("\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(tmp, "py") + os.pathsep + src
    return {"env": env, "version": proj["version"]}


class Receiver:
    """One receiver on a fresh socket: start(), then stop() -> the number
    of datagrams (sessions) it counted."""

    def __init__(self, kind, ctx, tmp, tag, flush=None, qlen=None):
        self.kind, self.ctx, self.qlen = kind, ctx, qlen
        self.dir = tempfile.mkdtemp(prefix=kind + "-" + tag + "-", dir=tmp)
        self.sock = os.path.join(self.dir, "s")
        self.log = os.path.join(self.dir, "log")
        self.flush = flush
        self.p = None

    def start(self):
        c = self.ctx
        env, out = None, None
        if self.kind == "sink":
            self.out = out = open(os.path.join(self.dir, "out"), "wb")
            argv = [c["dgram"], "sink", self.sock]
        elif self.kind == "tlsrptd":
            argv = [c["tlsrptd"], "--socket", self.sock, "--store",
                    os.path.join(self.dir, "store"), "--foreground"]
            if self.flush:
                argv += ["--flush-interval", str(self.flush)]
        else:
            argv = [PYSYS, "-m", "tlsrpt_reporter.tlsrpt_collectd",
                    "--storage", "sqlite://" + os.path.join(self.dir, "db"),
                    "--socketname", self.sock,
                    "--logfilename", os.path.join(self.dir, "clog"),
                    "--pidfilename", os.path.join(self.dir, "pid")]
            env = c["collectd"]["env"]
        if self.qlen:
            # the queue length is taken from the receiver's network
            # namespace when its socket is made; the sender may be anywhere
            argv = ["unshare", "-n", "sh", "-c",
                    "echo %d > /proc/sys/net/unix/max_dgram_qlen && "
                    'exec "$@"' % self.qlen, "sh"] + argv
        self.p = c["procs"].start(argv, self.log, env=env, stdout=out)
        wait_for(lambda: os.path.exists(self.sock), 30, self.kind, self.p)
        return self

    def stop(self):
        rc = self.ctx["procs"].stop(self.p, timeout=60)
        if self.kind == "sink":
            self.out.close()
            with open(os.path.join(self.dir, "out")) as f:
                return json.loads(f.read())["datagrams"]
        if self.kind == "tlsrptd":
            with open(self.log, errors="replace") as f:
                text = f.read()
            m = re.search(r"stopped: (\d+) datagrams, (\d+) sessions counted, "
                          r"(\d+) unreadable, (\d+) not counted", text)
            if rc != 0 or m is None:
                raise RuntimeError("mtasts-tlsrptd exit %s: %s"
                                   % (rc, text[-2000:]))
            if m.group(3) != "0" or m.group(4) != "0":
                raise RuntimeError("mtasts-tlsrptd did not count every "
                                   "datagram: " + m.group(0))
            return int(m.group(2))
        db = sqlite3.connect(os.path.join(self.dir, "db"))
        try:
            n = db.execute("SELECT COALESCE(SUM(cntrtotal), 0) "
                           "FROM finalresults").fetchone()[0]
        finally:
            db.close()
        return int(n)


def blast(ctx, rcv, count, nonblock=False):
    """Replay count datagrams to rcv; its result, with the receiver's CPU
    seconds during the run."""
    argv = [ctx["dgram"], "blast", rcv.sock, ctx["capture"], str(count)]
    if nonblock:
        argv.append("--nonblock")
    c0 = cpu_s(rcv.p.pid)
    r = run_json(argv, what="bench_dgram blast")
    r["receiver_cpu_s"] = cpu_s(rcv.p.pid) - c0
    return r


def tlsrpt_part(args, tmp):
    out = {"notes": [], "skipped": []}
    tlsrptd = os.path.join(args.build, "tlsrptd", "mtasts-tlsrptd")
    dgram = os.path.join(args.build, "bench", "bench_dgram")
    if not os.access(tlsrptd, os.X_OK):
        say("SKIP tlsrpt ingest: %s not built (it needs libevent 2 and "
            "SQLite 3)" % tlsrptd)
        return {"skipped_all": "mtasts-tlsrptd not built"}
    if not os.access(dgram, os.X_OK):
        raise RuntimeError(dgram + " not built")
    procs = Procs()
    ctx = {"procs": procs, "tlsrptd": tlsrptd, "dgram": dgram}
    out["qlen"] = read_sysctl("net.unix.max_dgram_qlen")
    out["wmem_default"] = read_sysctl("net.core.wmem_default")
    try:
        gen = build_tlsrpt_gen(args.shared, tmp)
        cap = os.path.join(tmp, "capture.bin")
        if gen is not None:
            say("tlsrpt: capturing %d datagrams from libtlsrpt (%d domains)..."
                % (CAPTURE, DOMAINS))
            r = subprocess.run([gen, "capture", cap, str(CAPTURE),
                                str(DOMAINS)], capture_output=True,
                               timeout=300)
            if r.returncode != 0:
                raise RuntimeError("tlsrpt_gen capture: " + r.stderr.decode())
            out["source"] = "libtlsrpt 0.5.1rc2 (captured)"
        else:
            say("SKIP libtlsrpt: %s not found; the datagrams are written by "
                "daemons.py in its format, and the live-sender case is "
                "skipped" % os.path.join(args.shared, "libtlsrpt"))
            synthetic_capture(cap, CAPTURE, DOMAINS)
            out["source"] = "synthetic (no libtlsrpt)"
            out["skipped"].append("libtlsrpt sender: ../shared not found")
        ctx["capture"] = cap
        sizes = []
        with open(cap, "rb") as f:
            data = f.read()
        off = 0
        while off < len(data):
            n = struct.unpack_from("<I", data, off)[0]
            sizes.append(n)
            off += 4 + n
        out["datagrams"] = {"distinct": len(sizes), "domains": DOMAINS,
                            "mean_bytes": round(sum(sizes) / len(sizes), 1)}
        ctx["collectd"] = collectd_env(args.shared, tmp)
        kinds = ["tlsrptd", "sink"]
        if ctx["collectd"] is None:
            say("SKIP tlsrpt-collectd: %s not found (or no tomllib)"
                % os.path.join(args.shared, "tlsrpt-reporter"))
            out["skipped"].append("tlsrpt-collectd: ../shared not found")
        else:
            kinds.append("collectd")
            out["collectd_version"] = ctx["collectd"]["version"]
        counts = {"sink": N_BLOCK, "tlsrptd": N_BLOCK,
                  "collectd": N_BLOCK_PEER}
        out["blocking"] = {k: [] for k in kinds}
        out["rcvbuf"] = {}
        for rnd in range(args.rounds):
            order = kinds[rnd % len(kinds):] + kinds[:rnd % len(kinds)]
            for k in order:
                say("tlsrpt: round %d/%d, blocking sender -> %s (%d)..."
                    % (rnd + 1, args.rounds, k, counts[k]))
                rcv = Receiver(k, ctx, tmp, "b%d" % rnd).start()
                out["rcvbuf"].setdefault(k, rcvbuf(rcv.sock))
                b = blast(ctx, rcv, counts[k])
                got = rcv.stop()
                b["received"] = got
                out["blocking"][k].append(b)
        if not args.no_netns and netns_ok(unshare_m=False):
            out["qlen_raised"] = QLEN_RAISED
            out["blocking_raised"] = {k: [] for k in kinds}
            for rnd in range(args.rounds):
                order = kinds[rnd % len(kinds):] + kinds[:rnd % len(kinds)]
                for k in order:
                    say("tlsrpt: round %d/%d, blocking sender -> %s (%d), "
                        "max_dgram_qlen %d..." % (rnd + 1, args.rounds, k,
                                                  counts[k], QLEN_RAISED))
                    rcv = Receiver(k, ctx, tmp, "q%d" % rnd,
                                   qlen=QLEN_RAISED).start()
                    b = blast(ctx, rcv, counts[k])
                    b["received"] = rcv.stop()
                    out["blocking_raised"][k].append(b)
        else:
            say("SKIP tlsrpt ingest with max_dgram_qlen %d: needs a private "
                "network namespace (root and unshare -n, without "
                "--no-netns)" % QLEN_RAISED)
            out["skipped"].append("max_dgram_qlen %d: needs a private "
                                  "network namespace (root)" % QLEN_RAISED)
        out["nonblocking"] = {}
        for k in kinds:
            say("tlsrpt: non-blocking sender at full rate -> %s (%d "
                "attempts)..." % (k, N_NONBLOCK))
            rcv = Receiver(k, ctx, tmp, "nb").start()
            b = blast(ctx, rcv, N_NONBLOCK, nonblock=True)
            b["received"] = rcv.stop()
            out["nonblocking"][k] = b
        if gen is not None:
            out["live"] = {}
            for k in ("tlsrptd", "sink"):
                say("tlsrpt: libtlsrpt (blocking) -> %s (%d results)..."
                    % (k, N_LIVE))
                rcv = Receiver(k, ctx, tmp, "live").start()
                r = run_json([gen, "send", rcv.sock, str(N_LIVE),
                              str(DOMAINS)], what="tlsrpt_gen send")
                r["received"] = rcv.stop()
                r["rate"] = r["sent"] / r["seconds"]
                out["live"][k] = r
        say("tlsrpt: a day of %d sessions over %d domains -> mtasts-tlsrptd "
            "(memory)..." % (N_DAY, DOMAINS))
        rcv = Receiver("tlsrptd", ctx, tmp, "mem", flush=1).start()
        time.sleep(0.3)
        idle = rss_kib(rcv.p.pid)
        b = blast(ctx, rcv, N_DAY)
        time.sleep(2.5)  # the writer thread merges and stores the day
        after = rss_kib(rcv.p.pid)
        hwm = rss_kib(rcv.p.pid, "VmHWM")
        got = rcv.stop()
        db = sqlite3.connect(os.path.join(rcv.dir, "store",
                                          "tlsrptd.sqlite"))
        try:
            rows = db.execute("SELECT day, length(agg), sessions "
                              "FROM days").fetchall()
        finally:
            db.close()
        out["memory"] = {"sessions": N_DAY, "domains": DOMAINS,
                         "received": got, "rss_idle_kib": idle,
                         "rss_after_kib": after, "hwm_kib": hwm,
                         "stored_days": len(rows),
                         "encoded_bytes": sum(r[1] for r in rows),
                         "stored_sessions": sum(r[2] for r in rows),
                         "rate": b["rate"]}
    finally:
        procs.stop_all()
    return out


# ------------------------------------------------------------------ policyd


def dns_server(host, port):
    """A wildcard DNS responder for the rig (runs until killed): under
    .bench.test, TXT "v=STSv1; id=1;" for _mta-sts.* names and A 127.0.0.1
    for every name; other types NOERROR without answer; other names
    NXDOMAIN."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    txt = b"v=STSv1; id=1;"
    txt_rdata = bytes([len(txt)]) + txt
    while True:
        q, addr = s.recvfrom(4096)
        if len(q) < 12:
            continue
        off, labels = 12, []
        try:
            while q[off]:
                n = q[off]
                labels.append(q[off + 1:off + 1 + n].decode("ascii").lower())
                off += 1 + n
            qtype, qclass = struct.unpack_from(">HH", q, off + 1)
        except (IndexError, UnicodeDecodeError, struct.error):
            continue
        end = off + 5
        flags = 0x8400 | (struct.unpack_from(">H", q, 2)[0] & 0x0100)
        ans = b""
        if labels[-2:] != ["bench", "test"]:
            flags |= 3
        elif qtype == 16 and labels[0] == "_mta-sts":
            ans = struct.pack(">HHHIH", 0xC00C, 16, 1, 60,
                              len(txt_rdata)) + txt_rdata
        elif qtype == 1:
            ans = struct.pack(">HHHIH", 0xC00C, 1, 1, 60, 4) + \
                bytes([127, 0, 0, 1])
        hdr = q[:2] + struct.pack(">HHHHH", flags, 1, 1 if ans else 0, 0, 0)
        s.sendto(hdr + q[12:end] + ans, addr)


def dns_answers(port):
    """The rig's DNS answers a TXT query on 127.0.0.1:port."""
    q = struct.pack(">HHHHHH", 4321, 0x0100, 1, 0, 0, 0)
    for label in ("_mta-sts", "probe", "bench", "test"):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 16, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        try:
            s.sendto(q, ("127.0.0.1", port))
            d = s.recv(4096)
        except OSError:
            return False
    return d[:2] == q[:2] and struct.unpack_from(">H", d, 6)[0] == 1


class Rig:
    """DNS responder, throwaway CA, nginx; ports 53 and 443 in a private
    network namespace, free ports otherwise."""

    def __init__(self, procs, tmp, netns, names):
        self.procs, self.tmp, self.netns = procs, tmp, netns
        self.dns_port = 53 if netns else free_port()
        self.https_port = 443 if netns else free_port()
        d = os.path.join(tmp, "pki")
        os.makedirs(d)
        ossl = which("openssl")

        def run(*a):
            r = subprocess.run([ossl, *a], capture_output=True, cwd=d,
                               timeout=60)
            if r.returncode != 0:
                raise RuntimeError("openssl %s: %s" % (a[0], r.stderr))
        self.ca = os.path.join(d, "ca.pem")
        run("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "30", "-subj",
            "/CN=libmtasts bench CA", "-addext",
            "basicConstraints=critical,CA:TRUE", "-addext",
            "keyUsage=critical,keyCertSign,cRLSign")
        run("genpkey", "-algorithm", "EC", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-out", "leaf.key")
        run("req", "-new", "-key", "leaf.key", "-out", "leaf.csr", "-subj",
            "/CN=leaf")
        self.groups = []  # (names, cert)
        hosts = ["mta-sts." + n for n in names]
        for g in range(0, len(hosts), 100):
            part = hosts[g:g + 100]
            ext = os.path.join(d, "ext%d" % g)
            with open(ext, "w") as f:
                f.write("basicConstraints=CA:FALSE\n"
                        "keyUsage=critical,digitalSignature\n"
                        "extendedKeyUsage=serverAuth\nsubjectAltName="
                        + ",".join("DNS:" + h for h in part) + "\n")
            cert = os.path.join(d, "leaf%d.pem" % g)
            run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem",
                "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
                "-extfile", ext, "-out", cert)
            self.groups.append((part, cert))
        self.key = os.path.join(d, "leaf.key")
        self.access_log = os.path.join(tmp, "nginx", "access.log")

    def start(self):
        t = self.tmp
        self.dns = self.procs.start(
            [sys.executable, os.path.abspath(__file__), "--dns",
             str(self.dns_port)], os.path.join(t, "dns.log"))
        wait_for(lambda: dns_answers(self.dns_port), 20, "DNS responder",
                 self.dns)
        n = os.path.join(t, "nginx")
        os.makedirs(os.path.join(n, "tmp"))
        conf = ["daemon off;", "master_process off;", "worker_processes 1;",
                "pid %s/pid;" % n, "error_log %s/error.log;" % n,
                "events { worker_connections 1024; }", "http {",
                "  access_log %s;" % self.access_log,
                "  client_body_temp_path %s/tmp;" % n,
                "  proxy_temp_path %s/tmp;" % n,
                "  fastcgi_temp_path %s/tmp;" % n,
                "  uwsgi_temp_path %s/tmp;" % n,
                "  scgi_temp_path %s/tmp;" % n,
                "  server_names_hash_max_size 8192;",
                "  server_names_hash_bucket_size 128;",
                "  map $host $pdom { ~^mta-sts\\.(?<d>.+)$ $d; }",
                "  ssl_protocols TLSv1.2 TLSv1.3;"]
        for names, cert in self.groups:
            conf += ["  server {",
                     "    listen 127.0.0.1:%d ssl;" % self.https_port,
                     "    server_name %s;" % " ".join(names),
                     "    ssl_certificate %s;" % cert,
                     "    ssl_certificate_key %s;" % self.key,
                     "    location = /.well-known/mta-sts.txt {",
                     "      default_type text/plain;",
                     '      return 200 "version: STSv1\\nmode: enforce\\n'
                     'mx: mx.$pdom\\nmax_age: 604800\\n";',
                     "    }",
                     "    location / { return 404; }",
                     "  }"]
        conf.append("}")
        with open(os.path.join(n, "nginx.conf"), "w") as f:
            f.write("\n".join(conf) + "\n")
        self.nginx = self.procs.start(
            [which("nginx"), "-p", n, "-c", os.path.join(n, "nginx.conf"),
             "-e", os.path.join(n, "error.log")], os.path.join(n, "out"))
        wait_tcp(self.https_port, 20, "nginx", self.nginx)

    def fetches(self):
        try:
            with open(self.access_log, "rb") as f:
                return sum(1 for _ in f)
        except OSError:
            return 0


def yaml_config(path, port, cache, extra=""):
    with open(path, "w") as f:
        f.write("host: 127.0.0.1\nport: %d\nreuse_port: true\n"
                "shutdown_timeout: 2\ncache_grace: 3600\n"
                "default_zone:\n  strict_testing: false\n  timeout: 4\n"
                "cache:\n%s%s" % (port, cache, extra))


def ask_line(port, line):
    with socket.create_connection(("127.0.0.1", port), 5) as s:
        s.sendall(line.encode() + b"\n")
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    return data.decode(errors="replace")


def policyd_part(args, tmp, netns):
    out = {"notes": [], "skipped": [], "netns": netns}
    b = os.path.join(args.build, "bench")
    prog = {"policyd": os.path.join(args.build, "policyd", "mtasts-policyd"),
            "epoll": os.path.join(b, "bench_epoll_netstring"),
            "load": os.path.join(b, "bench_socketmap_load"),
            "fill": os.path.join(b, "bench_policyd_fill")}
    if not os.access(prog["policyd"], os.X_OK):
        say("SKIP socketmap: %s not built (it needs libmtasts-net, libevent "
            "2 and libyaml)" % prog["policyd"])
        return {"skipped_all": "mtasts-policyd not built"}
    for k in ("epoll", "load"):
        if not os.access(prog[k], os.X_OK):
            raise RuntimeError(prog[k] + " not built")
    missing = [p for p in ("openssl", "nginx") if which(p) is None]
    if missing:
        say("SKIP socketmap: %s not installed (apt-get install %s)"
            % (", ".join(missing), " ".join(missing)))
        return {"skipped_all": "missing " + ", ".join(missing)}
    pmsr = which("mta-sts-daemon")
    if pmsr is None:
        say("SKIP postfix-mta-sts-resolver: mta-sts-daemon not found "
            "(apt-get install postfix-mta-sts-resolver)")
        out["skipped"].append("postfix-mta-sts-resolver: not installed")
    elif not netns:
        say("SKIP postfix-mta-sts-resolver: it resolves through "
            "/etc/resolv.conf (port 53) and the system CAs; the rig gives it "
            "those only in private namespaces (root and unshare -mn)")
        out["skipped"].append("postfix-mta-sts-resolver: not run in "
                              "private namespaces (root and unshare -mn, "
                              "without --no-netns)")
        pmsr = None
    if pmsr:
        r = subprocess.run([PYSYS, "-c", "import importlib.metadata as m, sys;"
                            " print(m.version('postfix-mta-sts-resolver'), "
                            "sys.version.split()[0])"], capture_output=True,
                           text=True)
        out["pmsr_version"] = r.stdout.strip()
        # PMSR runs on uvloop when it is installed (its default)
        out["pmsr_uvloop"] = subprocess.run(
            [PYSYS, "-c", "import uvloop"], capture_output=True).returncode == 0
    out["policyd_version"] = subprocess.run(
        [prog["policyd"], "--version"], capture_output=True,
        text=True).stdout.strip()
    procs = Procs()
    warm = ["d%05d.bench.test" % i for i in range(WARM)]
    cold = {"policyd": ["cp%03d.bench.test" % i for i in range(COLD)],
            "pmsr": ["cq%03d.bench.test" % i for i in range(COLD)]}
    keyfile = {}
    for name, keys in (("warm", warm), ("cold_policyd", cold["policyd"]),
                       ("cold_pmsr", cold["pmsr"])):
        keyfile[name] = os.path.join(tmp, name + ".keys")
        with open(keyfile[name], "w") as f:
            f.write("\n".join(keys) + "\n")
    try:
        say("socketmap: rig (CA, %d certificates, nginx, DNS)..."
            % ((len(warm) + 2 * COLD + 99) // 100))
        rig = Rig(procs, tmp, netns, warm + cold["policyd"] + cold["pmsr"])
        rig.start()
        env = dict(os.environ)
        env["SSL_CERT_FILE"] = rig.ca
        pd_opts = ["--dns-server", "127.0.0.1:%d" % rig.dns_port,
                   "--ca-file", rig.ca]
        if not netns:
            pd_opts += ["--connect-to", "::127.0.0.1:%d" % rig.https_port]
        servers = {}
        pver = "postfix_version: 3.7.0\n"

        def start_policyd(name, cache, extra=""):
            port = free_port()
            cfg = os.path.join(tmp, name + ".yml")
            yaml_config(cfg, port, cache, pver + extra)
            p = procs.start([prog["policyd"], "--foreground", "--config",
                             cfg] + pd_opts, os.path.join(tmp, name + ".log"))
            wait_tcp(port, 20, name, p)
            return {"port": port, "proc": p}

        servers["policyd_internal"] = start_policyd(
            "policyd_internal", "  type: internal\n  options:\n"
            "    cache_size: 10000\n")
        servers["policyd_sqlite"] = start_policyd(
            "policyd_sqlite", "  type: sqlite\n  options:\n"
            "    filename: %s\n" % os.path.join(tmp, "policyd.sqlite"))
        if pmsr:
            for name, cache in (
                    ("pmsr_internal", "  type: internal\n  options:\n"
                     "    cache_size: 10000\n"),
                    ("pmsr_sqlite", "  type: sqlite\n  options:\n"
                     "    filename: %s\n" % os.path.join(tmp, "pmsr.sqlite"))):
                port = free_port()
                cfg = os.path.join(tmp, name + ".yml")
                yaml_config(cfg, port, cache, pver)
                p = procs.start([pmsr, "-c", cfg, "-v", "warn"],
                                os.path.join(tmp, name + ".log"), env=env)
                wait_tcp(port, 30, name, p)
                servers[name] = {"port": port, "proc": p}
        port = free_port()
        p = procs.start([prog["epoll"], str(port),
                         "OK secure match=mx.d00000.bench.test "
                         "servername=hostname"],
                        os.path.join(tmp, "epoll.log"))
        wait_tcp(port, 10, "bench_epoll_netstring", p)
        servers["epoll"] = {"port": port, "proc": p}

        def load(name, keys, *extra):
            return run_json([prog["load"], str(servers[name]["port"]),
                             keys] + list(extra), what="load " + name)

        # cold misses first, while nothing else ran on these domains
        out["cold"] = {}
        for who, name in (("policyd", "policyd_internal"),
                          ("pmsr", "pmsr_internal")):
            if name not in servers:
                continue
            say("socketmap: %d cold misses, one at a time -> %s..."
                % (COLD, name))
            f0 = rig.fetches()
            r = load(name, keyfile["cold_" + who], "--once", "--conns", "1",
                     "--expect", "OK secure")
            r["fetches"] = rig.fetches() - f0
            out["cold"][who] = r
        # warm every cache, then check that the domains are cached
        out["warm"] = {}
        for name in servers:
            if name == "epoll":
                continue
            say("socketmap: warming %s (%d domains)..." % (name, WARM))
            f0 = rig.fetches()
            w1 = load(name, keyfile["warm"], "--once", "--conns", "8",
                      "--depth", "4", "--expect", "OK secure")
            f1 = rig.fetches()
            w2 = load(name, keyfile["warm"], "--once", "--conns", "8",
                      "--expect", "OK secure")
            out["warm"][name] = {"first_pass": w1, "fetches": f1 - f0,
                                 "second_pass": w2,
                                 "second_pass_fetches": rig.fetches() - f1}
            if w1["bad"] or w2["bad"] or rig.fetches() != f1:
                raise RuntimeError("%s: the domains are not all cached: %s"
                                   % (name, out["warm"][name]))
        # requests per second, the servers interleaved round by round
        names = list(servers)
        out["rps"] = {n: [] for n in names}
        out["load"] = {"conns": CONNS, "depth": DEPTH, "seconds": SECONDS,
                       "domains": WARM}
        f0 = rig.fetches()
        for rnd in range(args.rounds):
            order = names[rnd % len(names):] + names[:rnd % len(names)]
            for name in order:
                say("socketmap: round %d/%d, %s..." % (rnd + 1, args.rounds,
                                                       name))
                pid = servers[name]["proc"].pid
                c0 = cpu_s(pid)
                r = load(name, keyfile["warm"], "--conns", str(CONNS),
                         "--depth", str(DEPTH), "--seconds", str(SECONDS),
                         "--expect", "OK secure")
                # over every answer of the run, the warm-up included
                r["server_cpu_s"] = cpu_s(pid) - c0
                out["rps"][name].append(r)
        out["fetches_while_timed"] = rig.fetches() - f0
        for name in ("policyd_internal", "policyd_sqlite"):
            try:
                out.setdefault("stats", {})[name] = json.loads(
                    ask_line(servers[name]["port"], "stats"))
            except (OSError, ValueError) as e:
                out["notes"].append("%s stats: %s" % (name, e))
        for name in list(servers):
            procs.stop(servers[name]["proc"])
        if os.access(prog["fill"], os.X_OK):
            out["memory"] = policyd_memory(prog, procs, tmp, pd_opts, pver)
        else:
            say("SKIP policyd memory: %s not built (the store has no "
                "SQLite)" % prog["fill"])
            out["skipped"].append("memory: bench_policyd_fill not built")
    finally:
        procs.stop_all()
    return out


def policyd_memory(prog, procs, tmp, pd_opts, pver):
    """RSS of mtasts-policyd before and after MEM_DOMAINS domains are
    cached (loaded from a filled SQLite cache, each with a TXT query)."""
    say("socketmap: filling an SQLite cache with %d entries..."
        % MEM_DOMAINS)
    db = os.path.join(tmp, "fill.sqlite")
    r = subprocess.run([prog["fill"], db, str(MEM_DOMAINS)],
                       capture_output=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError("bench_policyd_fill: " + r.stderr.decode())
    keys = os.path.join(tmp, "mem.keys")
    with open(keys, "w") as f:
        for i in range(MEM_DOMAINS):
            f.write("m%06d.bench.test\n" % i)
    port = free_port()
    cfg = os.path.join(tmp, "policyd_mem.yml")
    yaml_config(cfg, port, "  type: sqlite\n  options:\n    filename: %s\n"
                "    cache_size: %d\n" % (db, MEM_DOMAINS + 10000), pver)
    p = procs.start([prog["policyd"], "--foreground", "--config", cfg] +
                    pd_opts, os.path.join(tmp, "policyd_mem.log"))
    wait_tcp(port, 20, "policyd (memory)", p)
    time.sleep(0.3)
    before = rss_kib(p.pid)
    say("socketmap: %d domains into mtasts-policyd's cache..." % MEM_DOMAINS)
    r = run_json([prog["load"], str(port), keys, "--once", "--conns", "8",
                  "--depth", "16", "--expect", "OK secure"],
                 what="load (memory)")
    time.sleep(0.3)
    after = rss_kib(p.pid)
    st = json.loads(ask_line(port, "stats"))
    procs.stop(p)
    if r["bad"]:
        raise RuntimeError("policyd memory: %d answers were not OK: %s"
                           % (r["bad"], r["bad_example"]))
    return {"domains": MEM_DOMAINS, "rss_before_kib": before,
            "rss_after_kib": after, "load": r, "stats": st,
            "per_100k_mib": (after - before) / 1024 * 100000 / MEM_DOMAINS}


# ------------------------------------------------------------------ main


def netns_ok(unshare_m=True):
    if os.geteuid() != 0 or which("unshare") is None:
        return False
    if unshare_m and which("ip") is None:
        return False
    r = subprocess.run(["unshare", "-mn" if unshare_m else "-n", "true"],
                       capture_output=True)
    return r.returncode == 0


def inner_policyd(args):
    """In private network and mount namespaces (unshare -mn): loopback up,
    a tmpfs for the work files, resolv.conf naming the rig's DNS."""
    subprocess.run([which("ip"), "link", "set", "lo", "up"], check=True)
    tmp = tempfile.mkdtemp(prefix="mtasts-bench-pd-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2g", "tmpfs", tmp],
                   check=True)
    try:
        rc = os.path.join(tmp, "resolv.conf")
        with open(rc, "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:2 attempts:2\n")
        subprocess.run(["mount", "--bind", rc, "/etc/resolv.conf"],
                       check=True)
        out = policyd_part(args, tmp, True)
    finally:
        subprocess.run(["umount", "-l", tmp])
        os.rmdir(tmp)
    with open(os.path.join(args.out, "policyd.json"), "w") as f:
        json.dump(out, f, indent=1)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build")
    ap.add_argument("--out")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--parts", default="tlsrpt,policyd")
    ap.add_argument("--shared",
                    default=os.path.join(os.path.dirname(ROOT), "shared",
                                         "interop"))
    ap.add_argument("--no-netns", action="store_true",
                    help="no private namespaces even as root (the "
                    "postfix-mta-sts-resolver cases are then skipped)")
    ap.add_argument("--dns", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--inner-policyd", action="store_true",
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.dns is not None:
        dns_server("127.0.0.1", args.dns)
        return 0
    if not args.build or not args.out:
        ap.error("--build and --out are required")
    args.build = os.path.abspath(args.build)
    args.out = os.path.abspath(args.out)
    if args.inner_policyd:
        return inner_policyd(args)
    parts = args.parts.split(",")
    if "tlsrpt" in parts:
        with tempfile.TemporaryDirectory(prefix="mtasts-bench-td-") as tmp:
            out = tlsrpt_part(args, tmp)
        with open(os.path.join(args.out, "tlsrpt.json"), "w") as f:
            json.dump(out, f, indent=1)
    if "policyd" in parts:
        if not args.no_netns and netns_ok():
            r = subprocess.run(
                ["unshare", "-mn", "--propagation", "private",
                 sys.executable, os.path.abspath(__file__), "--inner-policyd",
                 "--build", args.build, "--out", args.out, "--rounds",
                 str(args.rounds), "--shared", args.shared])
            if r.returncode != 0:
                return r.returncode
        else:
            with tempfile.TemporaryDirectory(prefix="mtasts-bench-pd-") as t:
                out = policyd_part(args, t, False)
            with open(os.path.join(args.out, "policyd.json"), "w") as f:
                json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
