#!/usr/bin/env python3
"""mtasts-policyd tests: the daemon on loopback free ports with a
temporary config, and python clients speaking netstrings and lines.

    test_policyd.py DAEMON SOURCE_ROOT CASE

CASE is one of the functions named case_* below (without the prefix).
Every server runs on 127.0.0.1 (or a UNIX socket in a temp dir) and is
stopped by the PID this script started. Exit 77 (skip) when something the
case needs is missing, saying what.

POLICYD_IDLE_CONNS sets the number of idle connections of the slowloris
case (default 1000; 10000 works when `ulimit -n` allows about 10100).
POLICYD_WRAP runs the daemon under a tool (valgrind).
"""
import json
import os
import resource
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # nothing written into the source tree

DAEMON = os.path.abspath(sys.argv[1])
SRC = os.path.abspath(sys.argv[2])
FIXTURES = os.path.join(SRC, "tests", "policyd", "fixtures")


class Skip(Exception):
    pass


def skip(msg):
    raise Skip(msg)


def fail(msg):
    raise AssertionError(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ns(data):
    if isinstance(data, str):
        data = data.encode()
    return b"%d:%s," % (len(data), data)


class NetstringReader:
    """Reads netstrings from a socket, bounded by a deadline."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            fail("no answer in time")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            fail("no answer in time")
        if not chunk:
            raise EOFError("closed")
        self.buf += chunk

    def read(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            colon = self.buf.find(b":")
            if colon > 0:
                n = int(self.buf[:colon])
                if len(self.buf) >= colon + 1 + n + 1:
                    data = self.buf[colon + 1:colon + 1 + n]
                    check(self.buf[colon + 1 + n:colon + 2 + n] == b",",
                          "bad netstring terminator: %r" % self.buf)
                    self.buf = self.buf[colon + 2 + n:]
                    return data.decode()
            self._fill(deadline)


def ask(port, key, name="postfix", timeout=10.0, family=socket.AF_INET,
        addr=None):
    """One socketmap query on a new connection."""
    if family == socket.AF_UNIX:
        s = socket.socket(socket.AF_UNIX)
        s.connect(addr)
    else:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(ns("%s %s" % (name, key)))
        return NetstringReader(s).read(timeout)
    finally:
        s.close()


def ask_line(port, line, timeout=10.0, family=socket.AF_INET, addr=None):
    """One line request, half-closing as Exim's ${readsocket} does; the
    whole answer up to EOF."""
    if family == socket.AF_UNIX:
        s = socket.socket(socket.AF_UNIX)
        s.connect(addr)
    else:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(line.encode() + b"\n")
        s.shutdown(socket.SHUT_WR)
        out = b""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            check(left > 0, "no EOF after the line answer")
            s.settimeout(left)
            chunk = s.recv(65536)
            if not chunk:
                return out.decode()
            out += chunk
    finally:
        s.close()


def closed_by_peer(sock, timeout=10.0):
    """True when the daemon closes sock within timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        if not chunk:
            return True
    return False


# every process a case starts, stopped by main() whatever happened
CHILDREN = []


class Daemon:
    def __init__(self, tmp, config, args=(), name="d"):
        self.tmp = tmp
        self.cfg = os.path.join(tmp, name + ".yml")
        self.logf = os.path.join(tmp, name + ".log")
        with open(self.cfg, "w") as f:
            f.write(config)
        self.log_fh = open(self.logf, "wb")
        # POLICYD_WRAP runs the daemon under a tool, for instance
        # "valgrind --error-exitcode=99 --leak-check=full": its exit status
        # is checked by every case
        wrap = shlex.split(os.environ.get("POLICYD_WRAP", ""))
        self.proc = subprocess.Popen(
            wrap + [DAEMON, "--foreground", "--config", self.cfg] +
            list(args),
            stdin=subprocess.DEVNULL, stdout=self.log_fh,
            stderr=subprocess.STDOUT)
        CHILDREN.append(self.proc)
        self.wait_log("event=start", 60 if wrap else 10)

    def log(self):
        with open(self.logf, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_log(self, text, timeout, count=1):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log().count(text) >= count:
                return
            if self.proc.poll() is not None:
                fail("daemon exited (%d) before %r:\n%s"
                     % (self.proc.returncode, text, self.log()))
            time.sleep(0.02)
        fail("no %r in the log within %ss:\n%s" % (text, timeout, self.log()))

    def rewrite(self, config):
        tmpname = self.cfg + ".new"
        with open(tmpname, "w") as f:
            f.write(config)
        os.rename(tmpname, self.cfg)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                fail("daemon did not stop within %ss" % timeout)
        self.log_fh.close()
        return self.proc.returncode


def base_config(port, extra=""):
    """A config on port; DNS goes to a closed loopback port unless extra
    names a server (no test reaches the network)."""
    dns = "" if "dns_server:" in extra else "dns_server: 127.0.0.1:1\n"
    return ("host: 127.0.0.1\nport: %d\npostfix_version: 3.7.11\n"
            "shutdown_timeout: 5\n%s%s" % (port, dns, extra))


def stats(port):
    return json.loads(ask_line(port, "stats"))


class DropDNS:
    """A UDP (and TCP) DNS "server" that reads every query and answers
    none."""

    def __init__(self):
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.port = self.udp.getsockname()[1]
        self.tcp = socket.socket()
        try:
            self.tcp.bind(("127.0.0.1", self.port))
            self.tcp.listen(16)
        except OSError:
            self.tcp.close()
            self.tcp = None
        self.queries = 0
        self.stop_flag = False
        self.held = []
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        socks = [self.udp] + ([self.tcp] if self.tcp else [])
        while not self.stop_flag:
            r, _, _ = select.select(socks, [], [], 0.1)
            for s in r:
                if s is self.udp:
                    self.udp.recvfrom(4096)
                    self.queries += 1
                else:
                    c, _ = s.accept()
                    self.held.append(c)

    def close(self):
        self.stop_flag = True
        self.thread.join(5)
        self.udp.close()
        if self.tcp:
            self.tcp.close()
        for c in self.held:
            c.close()


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ---------------------------------------------------------------- cases


def case_config(tmp):
    """PMSR's own example file, our extensions, warnings and errors."""
    r = subprocess.run([DAEMON, "--check-config", "--config",
                        os.path.join(FIXTURES, "pmsr-debian.yml")],
                       capture_output=True, text=True, timeout=30)
    out = r.stdout + r.stderr
    check(r.returncode == 0, "PMSR's example refused:\n" + out)
    # its defaults: 127.0.0.1:8461, the sqlite cache named
    check("listen inet:127.0.0.1:8461\n" in r.stdout, out)
    check("cache sqlite" in r.stdout, out)
    check("default_zone strict_testing=0 timeout=4 require_sni=1" in r.stdout,
          out)
    check("proactive_policy_fetching enabled=0 interval=86400 "
          "concurrency_limit=100 grace_ratio=2" in r.stdout, out)

    # every key of the resolver, in the forms PyYAML reads
    full = """\
path: "%s/pd.sock"
mode: 0660
host: 127.0.0.1
port: 8461
reuse_port: yes
shutdown_timeout: 7
cache_grace: 30
proactive_policy_fetching:
  enabled: true
  interval: 3600
  concurrency_limit: 5
  grace_ratio: 4.0
cache:
  type: internal
  options:
    cache_size: 500
default_zone:
  strict_testing: False
  timeout: 2.5
  require_sni: off
zones:
  myzone:
    strict_testing: true
    timeout: 4
  other:
postfix_version: 3.10.5
line_port: 8462
stats: true
unknown_top: 1
""" % tmp
    path = os.path.join(tmp, "full.yml")
    with open(path, "w") as f:
        f.write(full)
    r = subprocess.run([DAEMON, "--check-config", "--config", path],
                       capture_output=True, text=True, timeout=30)
    out = r.stdout + r.stderr
    check(r.returncode == 0, out)
    for want in ["listen unix:%s/pd.sock\n" % tmp,
                 "listen inet:127.0.0.1:8461\n",
                 "listen inet:127.0.0.1:8462 (lines)\n",
                 "postfix_version 3.10.5",
                 "cache internal, 500 entries",
                 "default_zone strict_testing=0 timeout=2.5 require_sni=0",
                 "zone myzone strict_testing=1 timeout=4 require_sni=1",
                 "zone other strict_testing=0 timeout=4 require_sni=1",
                 "enabled=1 interval=3600 concurrency_limit=5 grace_ratio=4"]:
        check(want in out, "missing %r in:\n%s" % (want, out))
    check(out.count("unknown key 'unknown_top' ignored") == 1, out)
    check("full.yml:29:" in out, "the warning names its line:\n" + out)

    # errors: the line and column, and exit 1
    for text, want in [
            ("port: 99999\n", "bad.yml:1:7: port: 99999 is out of range"),
            ("port: abc\n", "port: expected an integer"),
            ("default_zone:\n  strict_testing: \"false\"\n",
             "bad.yml:2:19: strict_testing: expected true or false"),
            ("zones: [a, b]\n", "zones: expected a mapping"),
            ("cache:\n  type: memcached\n", "is not internal, sqlite or redis"),
            ("postfix_version: 2.9.1\n", "needs Postfix 2.10 or later"),
            ("postfix_version: banana\n", "not a Postfix version"),
            ("host: [\n", "YAML error"),
            ("- a\n- b\n", "expected a mapping")]:
        bad = os.path.join(tmp, "bad.yml")
        with open(bad, "w") as f:
            f.write(text)
        r = subprocess.run([DAEMON, "--check-config", "--config", bad],
                           capture_output=True, text=True, timeout=30)
        out = r.stdout + r.stderr
        check(r.returncode == 1, "accepted %r:\n%s" % (text, out))
        check(want in out, "no %r for %r in:\n%s" % (want, text, out))

    # the cache section: sqlite and redis options of the resolver
    for text, want, rc in [
            ("cache:\n  type: sqlite\n  options:\n    filename: /x/c.db\n"
             "    threads: 4\n    timeout: 5\n",
             ["sqlite /x/c.db", "cache.options.threads: not used"], 0),
            ("cache:\n  type: sqlite\n", ["needs options.filename"], 1),
            ("cache:\n  type: redis\n  options:\n"
             "    url: \"redis://:s3cr%40t@127.0.0.2:6380/3\"\n"
             "    max_connections: 25\n    socket_timeout: 1.0\n"
             "    socket_connect_timeout: 0.5\n    prefix: fleet\n"
             "    cache_size: 77\n",
             ["redis 127.0.0.2:6380 db 3 password set prefix fleet",
              "max_connections: not used", "77 entries"], 0),
            ("cache:\n  type: redis\n  options:\n"
             "    url: \"unix:///run/r.sock?db=2\"\n",
             ["redis unix:/run/r.sock db 2 password none"], 0),
            ("cache:\n  type: redis\n  options:\n    url: rediss://h\n",
             ["rediss://, is not supported"], 1),
            ("cache:\n  type: redis\n  options:\n    url: redis://h:0\n",
             ["bad port"], 1),
            ("cache:\n  type: internal\n  options:\n    filename: x\n",
             ["unknown key 'cache.options.filename'"], 0)]:
        bad = os.path.join(tmp, "cache.yml")
        with open(bad, "w") as f:
            f.write(text)
        r = subprocess.run([DAEMON, "--check-config", "--config", bad],
                           capture_output=True, text=True, timeout=30)
        out = r.stdout + r.stderr
        check(r.returncode == rc, "%r: exit %d\n%s" % (text, r.returncode,
                                                        out))
        for w in want:
            check(w in out, "no %r for %r in:\n%s" % (w, text, out))

    # unknown keys at every level: one warning each
    text = ("zones:\n  z:\n    colour: red\nproactive_policy_fetching:\n"
            "  speed: 3\ncache:\n  type: internal\n  options:\n"
            "    cache_size: 5\n    shards: 2\n  flavour: x\n"
            "port: 1\nport: 2\n")
    bad = os.path.join(tmp, "warn.yml")
    with open(bad, "w") as f:
        f.write(text)
    r = subprocess.run([DAEMON, "--check-config", "--config", bad],
                       capture_output=True, text=True, timeout=30)
    out = r.stdout + r.stderr
    check(r.returncode == 0, out)
    for want in ["unknown zone key 'colour'",
                 "'proactive_policy_fetching.speed'",
                 "'cache.options.shards'", "'cache.flavour'",
                 "port: duplicate key", "listen inet:127.0.0.1:2\n"]:
        check(out.count(want) == 1, "want one %r in:\n%s" % (want, out))
    # a missing file given explicitly is an error
    r = subprocess.run([DAEMON, "--check-config", "--config",
                        os.path.join(tmp, "absent.yml")],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 1, r.stdout + r.stderr)
    # usage
    r = subprocess.run([DAEMON, "--no-such-option"], capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 2 and "usage:" in r.stderr, r.stderr)


def case_auto(tmp):
    """postfix_version: auto asks postconf -h mail_version (3.4.0 with a
    warning when postconf cannot run)."""
    port = free_port()
    d = Daemon(tmp, base_config(port).replace("postfix_version: 3.7.11",
                                              "postfix_version: auto"))
    try:
        st = stats(port)
        postconf = shutil.which("postconf") or (
            "/usr/sbin/postconf" if os.path.exists("/usr/sbin/postconf")
            else None)
        want = "3.4.0"
        if postconf is not None:
            r = subprocess.run([postconf, "-h", "mail_version"],
                               capture_output=True, text=True, timeout=30)
            if r.returncode == 0 and r.stdout.strip():
                want = r.stdout.strip()
        if want == "3.4.0":
            check("postconf -h mail_version' failed" in d.log(), d.log())
        check(st["postfix_version"] == want, (st["postfix_version"], want))
    finally:
        rc = d.stop()
    check(rc == 0, "exit status %d" % rc)


def case_protocol(tmp):
    """Answers that need no lookup, both protocols, UNIX sockets, stats."""
    port, lport = free_port(), free_port()
    sock = os.path.join(tmp, "pd.sock")
    lsock = os.path.join(tmp, "pdl.sock")
    d = Daemon(tmp, base_config(port, (
        "path: %s\nmode: 0600\nline_port: %d\nline_path: %s\n"
        "line_mode: 0660\n") % (sock, lport, lsock)))
    try:
        # the UNIX sockets and their modes
        check(os.stat(sock).st_mode & 0o777 == 0o600, oct(os.stat(sock).st_mode))
        check(os.stat(lsock).st_mode & 0o777 == 0o660,
              oct(os.stat(lsock).st_mode))
        # Postfix's parent-domain lookups, addresses and non-domains
        for key in [".example.com", ".com", "[192.0.2.1]", "[192.0.2.1]:25",
                    "not a domain", "-bad-.example"]:
            check(ask(port, key) == "NOTFOUND ", key)
        check(ask(0, ".example.com", family=socket.AF_UNIX, addr=sock)
              == "NOTFOUND ", "unix netstring")
        # several requests on one connection, sent at once: in order
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"".join(ns("postfix .p%d.example" % i)
                           for i in range(100)))
        rd = NetstringReader(s)
        for i in range(100):
            check(rd.read() == "NOTFOUND ", "pipelined %d" % i)
        s.close()
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(ns("postfix .a.example") + ns("nospace") +
                  ns("postfix .b.example") + ns(" leadingspace"))
        rd = NetstringReader(s)
        got = [rd.read() for _ in range(4)]
        s.close()
        check(got == ["NOTFOUND ",
                      "PERM malformed request: expected NAME KEY",
                      "NOTFOUND ",
                      "PERM malformed request: expected NAME KEY"], got)
        # lines: on the shared port (detected), the line port, the UNIX one
        check(ask_line(port, "[192.0.2.1]") == "none\n", "line on main port")
        check(ask_line(lport, ".example.com") == "none\n", "line port")
        check(ask_line(0, "[::1]", family=socket.AF_UNIX, addr=lsock)
              == "none\n", "line unix")
        # a domain starting with digits is a line, not a netstring
        check(ask_line(port, "163.") != "", "digits")
        check(ask_line(lport, "a b c") ==
              "error expected DOMAIN or ZONE DOMAIN\n", "3 words")
        # CRLF and surrounding blanks; several lines; a last line without
        # its newline
        s = socket.create_connection(("127.0.0.1", lport))
        s.sendall(b"  [192.0.2.1]  \r\n\n[192.0.2.2]\n[192.0.2.3]")
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
        s.close()
        check(out == b"none\nnone\nnone\n", out)
        # the line port does not speak netstrings
        s = socket.create_connection(("127.0.0.1", lport))
        s.sendall(ns("postfix .x.example"))
        s.shutdown(socket.SHUT_WR)
        out = s.recv(4096)
        s.close()
        check(out == b"none\n", out)  # "15:postfix" is taken as a line
        st = stats(port)
        for k in ["requests", "hits", "fetches", "failures", "cache",
                  "connections", "postfix_version", "answers"]:
            check(k in st, "stats lacks %s: %s" % (k, st))
        check(st["postfix_version"] == "3.7.11", st)
        check(st["answers"]["perm"] == 2, st)
        check(st["answers"]["notfound"] >= 107, st)
        check("sts-policy-fetch-error" in st["failures"], st)
        check(st["cache"]["type"] == "internal", st)
        check(st["connections"] >= 1, st)
    finally:
        rc = d.stop()
    check(rc == 0, "exit status %d" % rc)
    check(not os.path.exists(sock), "UNIX socket left behind")
    check(not os.path.exists(lsock), "line UNIX socket left behind")


def case_malformed(tmp):
    """Bad framing and oversized netstrings close that client only."""
    port = free_port()
    d = Daemon(tmp, base_config(port))
    try:
        good = socket.create_connection(("127.0.0.1", port))
        good_rd = NetstringReader(good)
        bad_inputs = [
            b"99999:",                  # over 1024
            b"1025:" + b"x" * 1025,     # just over
            b"3:abcX",                  # bad terminator
            b"5:ab",                    # truncated, then EOF
            b"12:postfix a.b,3:x",      # good, then a truncated one and EOF
            b"x" * 2000,                # a line over 1024, no newline
        ]
        closed = 0
        for data in bad_inputs:
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(data)
            if data.startswith((b"5:", b"12:")):
                s.shutdown(socket.SHUT_WR)
            if closed_by_peer(s):
                closed += 1
            s.close()
            # the long-lived client is still served, between every attack
            good.sendall(ns("postfix .example.net"))
            check(good_rd.read() == "NOTFOUND ", "good client")
        check(closed == len(bad_inputs), "%d of %d closed" %
              (closed, len(bad_inputs)))
        # an exactly-1024-byte netstring is a request (PERM: no space)
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(ns(b"y" * 1024) + ns(b""))
        rd = NetstringReader(s)
        for _ in range(2):
            check(rd.read() == "PERM malformed request: expected NAME KEY",
                  "1024 and 0")
        s.close()
        st = stats(port)
        check(st["closed_bad"] >= 4, st)
        log = d.log()
        check("netstring length over 1024" in log, log)
        check("expected ',' after the data" in log, log)
        check("line too long" in log or "request too long" in log, log)
        good.close()
    finally:
        rc = d.stop()
    check(rc == 0, "exit status %d" % rc)


def case_slowloris(tmp):
    """Many idle and trickling connections: others are served, the slow
    ones are closed after request_timeout, the idle after idle_timeout."""
    n = int(os.environ.get("POLICYD_IDLE_CONNS", "1000"))
    have = raise_nofile(n + 200)
    if have < n + 100:
        n = have - 100
        print("descriptor limit %d: %d connections" % (have, n))
    port = free_port()
    d = Daemon(tmp, base_config(port, (
        "request_timeout: 1\nidle_timeout: 3\nmax_connections: %d\n")
        % (2 * n + 50)))
    conns = []
    try:
        half = n // 2
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            if i < half:
                s.sendall(b"20:postfix exa")  # a request that never ends
            conns.append(s)
        # everyone else keeps being served
        for _ in range(20):
            check(ask(port, ".example.org") == "NOTFOUND ", "served")
        st = stats(port)
        check(st["connections"] >= n, "open: %s" % st["connections"])
        # the trickling half goes after request_timeout (1 s)
        deadline = time.monotonic() + 30
        for s in conns[:half]:
            check(closed_by_peer(s, max(0.1, deadline - time.monotonic())),
                  "a trickling client was not closed")
        # the idle half after idle_timeout (3 s)
        deadline = time.monotonic() + 30
        for s in conns[half:]:
            check(closed_by_peer(s, max(0.1, deadline - time.monotonic())),
                  "an idle client was not closed")
        st = stats(port)
        check(st["closed_timeout"] >= n, st)
        check(st["connections"] <= 2, st)
        log = d.log()
        check(log.count("reason=slow_request") >= half, "slow_request logs")
    finally:
        for s in conns:
            s.close()
        rc = d.stop()
    check(rc == 0, "exit status %d" % rc)


def case_maxconn(tmp):
    """Over max_connections: new clients are closed at once, open ones are
    served."""
    port = free_port()
    d = Daemon(tmp, base_config(port, "max_connections: 20\n"))
    conns = []
    try:
        for _ in range(20):
            conns.append(socket.create_connection(("127.0.0.1", port)))
        time.sleep(0.2)
        extra = socket.create_connection(("127.0.0.1", port))
        check(closed_by_peer(extra), "21st connection not closed")
        extra.close()
        conns[0].sendall(ns("postfix .example.org"))
        check(NetstringReader(conns[0]).read() == "NOTFOUND ", "served")
        conns[1].sendall(b"stats\n")
        raw = b""
        while not raw.endswith(b"\n"):
            chunk = conns[1].recv(65536)
            check(chunk, "no stats")
            raw += chunk
        st = json.loads(raw.decode())
        check(st["refused"] >= 1, st)
        check("max_connections" in d.log(), d.log())
    finally:
        for s in conns:
            s.close()
        rc = d.stop()
    check(rc == 0, "exit status %d" % rc)


def case_sighup(tmp):
    """SIGHUP reloads: an unchanged listener keeps its socket (and its
    connections), a new one opens, a removed one closes; a bad file
    leaves everything as it was."""
    port, lport, lport2 = free_port(), free_port(), free_port()
    d = Daemon(tmp, base_config(port, "line_port: %d\n" % lport))
    try:
        kept = socket.create_connection(("127.0.0.1", port))
        d.rewrite(base_config(port, "line_port: %d\nzones:\n  z:\n"
                              "    timeout: 2\npostfix_version: 3.4.0\n"
                              % lport2).replace(
                                  "postfix_version: 3.7.11\n", ""))
        d.signal(signal.SIGHUP)
        d.wait_log("event=reload msg=\"done", 10)
        check(ask_line(lport2, "[192.0.2.1]") == "none\n", "new line port")
        try:
            ask_line(lport, "[192.0.2.1]", timeout=2)
            fail("old line port still open")
        except (ConnectionRefusedError, EOFError, OSError):
            pass
        kept.sendall(ns("postfix .example.org"))
        check(NetstringReader(kept).read() == "NOTFOUND ", "kept conn")
        check(stats(port)["postfix_version"] == "3.4.0", "new version")
        # a broken file: refused, the old configuration stays
        d.rewrite("port: [\n")
        d.signal(signal.SIGHUP)
        d.wait_log("the old one stays", 10)
        check(ask(port, ".example.org") == "NOTFOUND ", "still serving")
        check(ask_line(lport2, "[192.0.2.1]") == "none\n", "still lines")
        kept.close()
    finally:
        rc = d.stop()
    check(rc == 0, "exit status %d" % rc)


def case_shutdown(tmp):
    """SIGTERM: pending requests are answered, new connections are not
    taken, the daemon exits 0 within shutdown_timeout; pidfile handling."""
    dns = DropDNS()
    port = free_port()
    pidfile = os.path.join(tmp, "pd.pid")
    try:
        d = Daemon(tmp, base_config(port, (
            "dns_server: 127.0.0.1:%d\ndefault_zone:\n  timeout: 2\n")
            % dns.port), args=["--pidfile", pidfile])
        with open(pidfile) as f:
            check(int(f.read()) == d.proc.pid, "pidfile")
        # a request waiting for a lookup that cannot end in time
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(ns("postfix example.test"))
        time.sleep(0.3)
        idle = socket.create_connection(("127.0.0.1", port))
        d.signal(signal.SIGTERM)
        d.wait_log("event=shutdown", 5)
        answer = NetstringReader(s).read(10)
        check(answer.startswith("TEMP "), answer)
        check(closed_by_peer(s), "answered connection not closed")
        check(closed_by_peer(idle), "idle connection not closed")
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=2)
            check(closed_by_peer(c, 3), "new connection served while "
                  "stopping")
            c.close()
        except OSError:
            pass
        rc = d.proc.wait(10)
        check(rc == 0, "exit status %d" % rc)
        check(not os.path.exists(pidfile), "pidfile left behind")
        s.close()
        idle.close()
        d.stop()
    finally:
        dns.close()


def case_dnsdrop(tmp):
    """A DNS server that drops everything: TEMP within the zone timeout,
    one lookup for many concurrent requests, others answered meanwhile."""
    dns = DropDNS()
    port = free_port()
    try:
        d = Daemon(tmp, base_config(port, (
            "dns_server: 127.0.0.1:%d\ndefault_zone:\n  timeout: 1\n"
            "zones:\n  slow:\n    timeout: 3\n") % dns.port))
        clients = []
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(ns("postfix drop.example"))
            clients.append(s)
        # meanwhile others are answered at once
        t0 = time.monotonic()
        for _ in range(10):
            check(ask(port, ".example.org", timeout=5) == "NOTFOUND ",
                  "other client")
            check(ask_line(port, "[192.0.2.7]", timeout=5) == "none\n",
                  "line client")
        quick = time.monotonic() - t0
        answers = [NetstringReader(s).read(15) for s in clients]
        for a in answers:
            check(a == "TEMP MTA-STS policy for drop.example temporarily "
                  "unavailable", a)
        # a line client gets "tempfail"
        check(ask_line(port, "drop2.example", timeout=15) == "tempfail\n",
              "line tempfail")
        st = stats(port)
        check(st["coalesced"] >= 19, st)
        check(st["lookups"] <= 3, st)
        check(st["wait_timeouts"] >= 21, st)
        check(st["answers"]["temp"] >= 20, st)
        check(dns.queries >= 1, "no DNS query reached the server")
        # one client pipelining more requests than are handled at once
        # (16): all answered, in order
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"".join(ns("postfix pipe%d.example" % (i % 3))
                           for i in range(40)) + ns("postfix .last"))
        rd = NetstringReader(s)
        for i in range(40):
            a = rd.read(20)
            check(a == "TEMP MTA-STS policy for pipe%d.example temporarily "
                  "unavailable" % (i % 3), "pipelined %d: %r" % (i, a))
        check(rd.read(20) == "NOTFOUND ", "the last one")
        s.close()
        # the zone's own timeout applies ("slow": 3 s; default 1 s)
        s = socket.create_connection(("127.0.0.1", port))
        t1 = time.monotonic()
        s.sendall(ns("slow drop3.example"))
        a = NetstringReader(s).read(20)
        waited = time.monotonic() - t1
        check(a.startswith("TEMP "), a)
        check(waited >= 2.5, "zone timeout not used: %.2fs" % waited)
        s.close()
        for s in clients:
            s.close()
        print("others answered in %.2fs while 20 waited" % quick)
        rc = d.stop()
        check(rc == 0, "exit status %d" % rc)
    finally:
        dns.close()


def case_daemon(tmp):
    """Without --foreground: the parent exits 0 once the daemon listens
    (1 when it cannot start), the pidfile names the daemon, SIGTERM ends
    it and removes the pidfile."""
    port = free_port()
    cfg = os.path.join(tmp, "d.yml")
    pidfile = os.path.join(tmp, "d.pid")
    with open(cfg, "w") as f:
        f.write(base_config(port))
    r = subprocess.run([DAEMON, "--config", cfg, "--pidfile", pidfile],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "parent: %d %s" % (r.returncode, r.stderr))
    with open(pidfile) as f:
        pid = int(f.read())
    try:
        check(ask(port, ".example.org") == "NOTFOUND ", "daemon serves")
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        check(int(fields[3]) == pid, "not a session leader: %s" % fields)
    finally:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while os.path.exists("/proc/%d" % pid):
        check(time.monotonic() < deadline, "daemon did not stop")
        time.sleep(0.05)
    check(not os.path.exists(pidfile), "pidfile left behind")
    # a port in use: the parent says so and exits 1
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    with open(cfg, "w") as f:
        f.write(base_config(busy.getsockname()[1]).replace(
            "host: 127.0.0.1\n", "host: 127.0.0.1\nreuse_port: false\n"))
    r = subprocess.run([DAEMON, "--config", cfg], capture_output=True,
                       text=True, timeout=30)
    busy.close()
    check(r.returncode == 1 and "start-up failed" in r.stderr,
          "busy port: %d %s" % (r.returncode, r.stderr))


def case_privdrop(tmp):
    """--user: the daemon binds as root, then runs as the user."""
    if os.geteuid() != 0:
        raise Skip("needs root to change user")
    try:
        import pwd
        pw = pwd.getpwnam("nobody")
    except KeyError:
        raise Skip("no user nobody")
    port = free_port()
    os.chmod(tmp, 0o755)
    d = Daemon(tmp, base_config(port), args=["--user", "nobody"])
    try:
        with open("/proc/%d/status" % d.proc.pid) as f:
            status = f.read()
        uids = [l for l in status.splitlines() if l.startswith("Uid:")][0]
        check(uids.split()[1:] == [str(pw.pw_uid)] * 4, uids)
        check(ask(port, ".example.org") == "NOTFOUND ", "served as nobody")
        check("running as nobody" in d.log(), d.log())
    finally:
        rc = d.stop()
    check(rc == 0, "exit status %d" % rc)


def case_notify(tmp):
    """Built with libsystemd: READY=1 once listening, RELOADING=1 and
    READY=1 around a reload, STOPPING=1 at SIGTERM (sd_notify protocol,
    a datagram socket named by NOTIFY_SOCKET)."""
    path = os.path.join(tmp, "notify.sock")
    ns_sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns_sock.bind(path)
    ns_sock.settimeout(10)
    port = free_port()
    os.environ["NOTIFY_SOCKET"] = path
    try:
        d = Daemon(tmp, base_config(port))
    finally:
        del os.environ["NOTIFY_SOCKET"]
    got = []

    def expect(state):
        while True:
            try:
                msg = ns_sock.recv(4096).decode()
            except socket.timeout:
                fail("no %s; got %r" % (state, got))
            got.append(msg)
            if state in msg.split("\n"):
                return
    try:
        expect("READY=1")
        check(ask(port, ".example.org") == "NOTFOUND ", "served")
        d.signal(signal.SIGHUP)
        expect("RELOADING=1")
        expect("READY=1")
        d.signal(signal.SIGTERM)
        expect("STOPPING=1")
    finally:
        rc = d.stop()
        ns_sock.close()
    check(rc == 0, "exit status %d" % rc)


POLICY = ("version: STSv1\nmode: %s\nmx: mx1.%s\nmx: *.mx.%s\n"
          "max_age: 86400\n")


def policy_zones():
    zones = {}
    for dom, mode in [("enf.test", "enforce"), ("tst.test", "testing"),
                      ("non.test", "none")]:
        zones[dom] = {"txt": "v=STSv1; id=1;",
                      "policy": POLICY % (mode, dom, dom), "http": "ok"}
    zones["nopol.test"] = {"txt": "nxdomain"}
    zones["fail.test"] = {"txt": "v=STSv1; id=1;", "policy": None,
                          "http": 404}
    zones["hang.test"] = {"txt": "v=STSv1; id=1;", "policy": "x",
                          "http": "hang"}
    zones["sf.test"] = {"txt": "servfail"}
    return zones


def policy_server(tmp):
    if shutil.which("openssl") is None:
        raise Skip("openssl not installed")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import policyserv
    return policyserv.PolicyServer(tmp, policy_zones())


def net_config(port, srv, extra=""):
    return base_config(port, (
        "dns_server: 127.0.0.1:%d\nca_file: %s\nconnect_to:\n"
        "  - \"%s\"\n%s") % (srv.dns_port, srv.ca_file, srv.connect_to(),
                             extra))


def case_answers(tmp):
    """Every answer kind against a DNS and HTTPS policy server on
    loopback: enforce, testing, none, no record, a failed fetch, a DNS
    failure; strict_testing and require_sni zones; the Postfix 3.10.5
    attributes; the in-memory front (no second fetch within
    cache_grace) and a new id after it."""
    srv = policy_server(tmp)
    port, port310 = free_port(), free_port()
    zones = ("default_zone:\n  timeout: 5\nzones:\n  strict:\n"
             "    strict_testing: true\n    timeout: 5\n  nosni:\n"
             "    require_sni: false\n    timeout: 5\ncache_grace: 2\n")
    try:
        d = Daemon(tmp, net_config(port, srv, zones))
        d310 = Daemon(tmp, net_config(port, srv, zones).replace(
            "postfix_version: 3.7.11", "postfix_version: 3.10.5").replace(
            "port: %d" % port, "port: %d" % port310), name="d310")
        enf = "OK secure match=mx1.enf.test:.mx.enf.test servername=hostname"
        want = [("postfix", "enf.test", enf),
                ("postfix", "ENF.test.", enf),
                ("postfix", "tst.test", "NOTFOUND "),
                ("strict", "tst.test",
                 "OK secure match=mx1.tst.test:.mx.tst.test "
                 "servername=hostname"),
                ("nosni", "enf.test",
                 "OK secure match=mx1.enf.test:.mx.enf.test"),
                ("postfix", "non.test", "NOTFOUND "),
                ("strict", "non.test", "NOTFOUND "),
                ("postfix", "nopol.test", "NOTFOUND "),
                ("postfix", "fail.test", "NOTFOUND "),
                ("postfix", "sf.test", "NOTFOUND "),
                ("postfix", ".enf.test", "NOTFOUND ")]
        for name, key, answer in want:
            got = ask(port, key, name=name, timeout=20)
            check(got == answer, "%s %s: %r, want %r" % (name, key, got,
                                                         answer))
        lines = [("enf.test", "enforce mx1.enf.test *.mx.enf.test"),
                 ("tst.test", "testing mx1.tst.test *.mx.tst.test"),
                 ("strict tst.test", "enforce mx1.tst.test *.mx.tst.test"),
                 ("non.test", "none"), ("nopol.test", "none"),
                 ("fail.test", "none")]
        for line, answer in lines:
            got = ask_line(port, line, timeout=20)
            check(got == answer + "\n", "%s: %r" % (line, got))
        # Postfix 3.10.5: the TLSRPT attributes
        got = ask(port310, "enf.test", timeout=20)
        check(got.startswith(enf + " policy_type=sts policy_domain=enf.test"
                             " mx_host_pattern=mx1.enf.test "
                             "mx_host_pattern=*.mx.enf.test"), got)
        check("{ policy_string = mode: enforce }" in got, got)
        # repeats come from the memoized socketmap answer: the same one
        # for the same zone flags, never another zone's, counted as the
        # first was (a hit and its answer kind)
        st0 = stats(port)
        rep = [("strict", "tst.test", want[3][2]),
               ("postfix", "tst.test", "NOTFOUND "),
               ("nosni", "enf.test", want[4][2]),
               ("postfix", "ENF.TEST", enf),
               ("strict", "non.test", "NOTFOUND ")]
        for _ in range(3):
            for name, key, answer in rep:
                got = ask(port, key, name=name, timeout=20)
                check(got == answer, "repeat %s %s: %r, want %r"
                      % (name, key, got, answer))
        st1 = stats(port)
        check(st1["requests"] - st0["requests"] == 15, (st0, st1))
        check(st1["hits"] - st0["hits"] == 15, (st0, st1))
        check(st1["answers"]["ok"] - st0["answers"]["ok"] == 9, (st0, st1))
        check(st1["answers"]["notfound"] - st0["answers"]["notfound"] == 6,
              (st0, st1))
        # a reload to another Postfix version: the memoized answer is not
        # given again, the new version's is; and back
        conf = net_config(port, srv, zones)
        for n, (ver, prefix) in enumerate(
                (("3.10.5", enf + " policy_type=sts "), ("3.7.11", enf))):
            d.rewrite(conf.replace("postfix_version: 3.7.11",
                                   "postfix_version: " + ver))
            d.signal(signal.SIGHUP)
            d.wait_log("event=reload msg=\"done", 10, count=n + 1)
            for _ in range(2):
                got = ask(port, "enf.test", timeout=20)
                check(got.startswith(prefix) and
                      (ver != "3.7.11" or got == enf),
                      "after reload to %s: %r" % (ver, got))
        # the front answered the repeats: one fetch per domain and daemon
        check(srv.fetches.get("enf.test") == 2, srv.fetches)
        check(srv.fetches.get("tst.test") == 1, srv.fetches)
        st = stats(port)
        check(st["hits"] >= 3, st)
        check(st["failures"]["sts-policy-fetch-error"] == 1, st)
        check(st["fetch_failures"] == 1, st)
        # after cache_grace a lookup runs: same id, no new fetch
        time.sleep(2.2)
        check(ask(port, "enf.test") == enf, "after grace")
        check(srv.fetches.get("enf.test") == 2, srv.fetches)
        # a new id: a new fetch and the new policy
        srv.zones["enf.test"]["txt"] = "v=STSv1; id=2;"
        srv.zones["enf.test"]["policy"] = POLICY.replace(
            "mx1.", "mx9.") % ("enforce", "enf.test", "enf.test")
        time.sleep(2.2)
        got = ask(port, "enf.test")
        check(got == enf.replace("mx1.", "mx9."), got)
        check(srv.fetches.get("enf.test") == 3, srv.fetches)
        log = d.log()
        check("event=lookup domain=enf.test outcome=apply mode=enforce id=1"
              in log, log)
        check("result_type=sts-policy-fetch-error" in log, log)
        check(d.stop() == 0, "exit status")
        check(d310.stop() == 0, "exit status")
    finally:
        srv.close()


def case_hang(tmp):
    """An HTTPS server that accepts and never answers: TEMP at the zone
    timeout, everyone else answered meanwhile, the lookup ends at
    fetch_timeout, and then NOTFOUND (nothing cached)."""
    srv = policy_server(tmp)
    port = free_port()
    try:
        d = Daemon(tmp, net_config(port, srv, (
            "default_zone:\n  timeout: 1\nfetch_timeout: 3\n")))
        waiting = []
        for _ in range(10):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(ns("postfix hang.test"))
            waiting.append(s)
        for _ in range(5):
            check(ask(port, "enf.test", timeout=10).startswith("OK secure"),
                  "served meanwhile")
        for s in waiting:
            got = NetstringReader(s).read(10)
            check(got == "TEMP MTA-STS policy for hang.test temporarily "
                  "unavailable", got)
            s.close()
        # the fetch times out (3 s): the failure is remembered for
        # cache_grace, and the answer is NOTFOUND
        d.wait_log("event=lookup domain=hang.test", 15)
        check(ask(port, "hang.test") == "NOTFOUND ", "after the timeout")
        st = stats(port)
        check(st["coalesced"] >= 9, st)
        check(st["failures"]["sts-policy-fetch-error"] >= 1, st)
        check(d.stop() == 0, "exit status")
    finally:
        srv.close()


def case_refresh(tmp):
    """Proactive refresh through the planner: a used domain is fetched
    again without a request; a failing refresh of a valid policy logs
    alert=1."""
    srv = policy_server(tmp)
    port = free_port()
    try:
        d = Daemon(tmp, net_config(port, srv, (
            "proactive_policy_fetching:\n  enabled: true\n  interval: 3\n"
            "  grace_ratio: 1\n  concurrency_limit: 2\ncache_grace: 600\n"
            "default_zone:\n  timeout: 5\n")))
        check(ask(port, "enf.test").startswith("OK secure"), "first")
        # (a refresh comes interval seconds after the fetch)
        check(srv.fetches.get("enf.test") == 1, srv.fetches)
        check(ask(port, "tst.test") == "NOTFOUND ", "first testing")
        deadline = time.monotonic() + 20
        while srv.fetches.get("enf.test", 0) < 2 or \
                srv.fetches.get("tst.test", 0) < 2:
            check(time.monotonic() < deadline, "no refresh: %s" % srv.fetches)
            check(stats(port)["refreshes_running"] <= 2, "concurrency_limit")
            time.sleep(0.1)
        st = stats(port)
        check(st["refreshes"] >= 2, st)
        check(st["requests"] == 2, st)  # the stats line is not counted
        # the policy server fails: a refresh of a valid policy alerts
        srv.zones["enf.test"]["http"] = 500
        d.wait_log("alert=1", 20)
        check(ask(port, "enf.test").startswith("OK secure"), "still cached")
        check(stats(port)["alerts"] >= 1, "alerts")
        check(d.stop() == 0, "exit status")
    finally:
        srv.close()


def case_sqlite(tmp):
    """The SQLite cache survives a restart: the first answer after it
    comes from the file, with a DNS check and no HTTPS request."""
    srv = policy_server(tmp)
    port = free_port()
    db = os.path.join(tmp, "cache.db")
    cfg = net_config(port, srv, (
        "cache:\n  type: sqlite\n  options:\n    filename: %s\n"
        "default_zone:\n  timeout: 5\n") % db)
    try:
        d = Daemon(tmp, cfg)
        enf = ask(port, "enf.test")
        check(enf.startswith("OK secure match=mx1.enf.test"), enf)
        check(srv.fetches.get("enf.test") == 1, srv.fetches)
        st = stats(port)
        check(st["cache"]["type"] == "sqlite" and
              st["cache"]["state"] == "up", st)
        check(st["cache"]["backend_writes"] >= 1, st)
        check(d.stop() == 0, "exit status")
        check(os.path.exists(db), "no database file")
        d = Daemon(tmp, cfg, name="d2")
        check(ask(port, "enf.test") == enf, "after the restart")
        check(srv.fetches.get("enf.test") == 1,
              "fetched again after a restart: %s" % srv.fetches)
        st = stats(port)
        check(st["cache"]["backend_hits"] >= 1, st)
        check(d.stop() == 0, "exit status")
    finally:
        srv.close()


def start_redis(tmp):
    exe = shutil.which("redis-server")
    if exe is None:
        raise Skip("redis-server not installed")
    port = free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", tmp, "--protected-mode", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    CHILDREN.append(proc)
    deadline = time.monotonic() + 10
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=1)
            s.sendall(b"PING\r\n")
            if s.recv(100).startswith(b"+PONG"):
                s.close()
                return proc, port
            s.close()
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            fail("redis-server did not start")
        time.sleep(0.05)


def case_redis(tmp):
    """Two daemons share one redis-server: the second answers a domain
    the first fetched, with no HTTPS request. With Redis gone, both keep
    answering (from memory and the network) and log one alert."""
    srv = policy_server(tmp)
    rproc, rport = start_redis(tmp)
    p1, p2 = free_port(), free_port()
    cache = ("cache:\n  type: redis\n  options:\n"
             "    url: redis://127.0.0.1:%d/0\n    prefix: t%d\n"
             "default_zone:\n  timeout: 5\nzones:\n  strict:\n"
             "    strict_testing: true\n") % (rport, os.getpid())
    try:
        d1 = Daemon(tmp, net_config(p1, srv, cache), name="d1")
        d2 = Daemon(tmp, net_config(p2, srv, cache), name="d2")
        enf = ask(p1, "enf.test")
        check(enf.startswith("OK secure match=mx1.enf.test"), enf)
        check(srv.fetches.get("enf.test") == 1, srv.fetches)
        time.sleep(0.3)  # the write reaches Redis
        check(ask(p2, "enf.test") == enf, "second daemon")
        check(srv.fetches.get("enf.test") == 1,
              "the second daemon fetched: %s" % srv.fetches)
        st = stats(p2)
        check(st["cache"]["type"] == "redis", st)
        check(st["cache"]["backend_hits"] >= 1, st)
        # Redis goes away: answers go on, one alert
        rproc.terminate()
        rproc.wait(10)
        got = ask(p2, "tst.test", name="strict")
        check(got.startswith("OK secure"),
              "answer with Redis down: %r\n%s" % (got, d2.log()))
        check(ask(p1, "enf.test") == enf, "memory with Redis down")
        d2.wait_log("state=down", 10)
        check("alert=1" in d2.log(), d2.log())
        check(d1.stop() == 0, "exit status")
        check(d2.stop() == 0, "exit status")
    finally:
        if rproc.poll() is None:
            rproc.terminate()
            rproc.wait(10)
        srv.close()


def case_postmap(tmp):
    """Postfix's own client: postmap -q DOMAIN socketmap:inet:...:NAME for
    every answer kind (postmap needs no running Postfix)."""
    postmap = shutil.which("postmap") or (
        "/usr/sbin/postmap" if os.path.exists("/usr/sbin/postmap") else None)
    if postmap is None:
        raise Skip("postmap (Postfix) not installed")
    srv = policy_server(tmp)
    port = free_port()
    try:
        d = Daemon(tmp, net_config(port, srv, (
            "default_zone:\n  timeout: 2\nfetch_timeout: 5\nzones:\n"
            "  strict:\n    strict_testing: true\n")))

        def q(key, name="postfix"):
            r = subprocess.run(
                [postmap, "-q", key,
                 "socketmap:inet:127.0.0.1:%d:%s" % (port, name)],
                capture_output=True, text=True, timeout=30)
            return r.returncode, r.stdout.strip(), r.stderr
        enf = "secure match=mx1.enf.test:.mx.enf.test servername=hostname"
        for key, name, rc, out in [
                ("enf.test", "postfix", 0, enf),
                ("tst.test", "postfix", 1, ""),
                ("tst.test", "strict", 0, enf.replace("enf", "tst")),
                ("non.test", "postfix", 1, ""),
                ("nopol.test", "postfix", 1, ""),
                ("fail.test", "postfix", 1, ""),
                (".enf.test", "postfix", 1, ""),
                ("[192.0.2.1]:25", "postfix", 1, "")]:
            got = q(key, name)
            check(got[0] == rc and got[1] == out,
                  "postmap %s (%s): %r, want (%d, %r)" % (key, name, got, rc,
                                                         out))
        # a temporary failure: postmap reports the table's error
        got = q("hang.test")
        check(got[0] != 0 and got[1] == "", "hang: %r" % (got,))
        check("temporar" in got[2].lower() or "error" in got[2].lower(),
              "hang: %r" % (got,))
        check(d.stop() == 0, "exit status")
    finally:
        srv.close()


def case_rig(tmp):
    """The e2e rig (tests/e2e/rig.py: dnsmasq, nginx, throwaway CAs):
    postmap -q DOMAIN socketmap:inet:127.0.0.1:PORT:NAME for each answer
    kind, including the certificate failures of the policy host, a policy
    host that never answers, and nginx's access log proving the in-memory
    front (one request per domain)."""
    postmap = shutil.which("postmap") or (
        "/usr/sbin/postmap" if os.path.exists("/usr/sbin/postmap") else None)
    if postmap is None:
        raise Skip("postmap (Postfix) not installed")
    sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
    import rig as R
    R.require(skip)
    z = "e2e.test"
    with R.Rig() as rig:
        pki = rig.make_pki()
        labels = ["enf", "tst", "non", "nf", "exp", "wrong", "untr", "hang"]
        good = pki.issue("good", ["mta-sts.%s.%s" % (l, z) for l in
                                  ("enf", "tst", "non", "nf")])
        certs = {"exp": pki.issue("exp", ["mta-sts.exp." + z],
                                  expired=True),
                 "wrong": pki.issue("wrong", ["mta-sts.other." + z]),
                 "untr": pki.issue("untr", ["mta-sts.untr." + z],
                                   ca="untrusted")}
        hold = rig.tcp_hold(30)
        for l in labels:
            rig.dns.txt("_mta-sts.%s.%s" % (l, z), "v=STSv1; id=1;")
            rig.dns.a("mta-sts.%s.%s" % (l, z))
        modes = {"enf": "enforce", "tst": "testing", "non": "none",
                 "exp": "enforce", "wrong": "enforce", "untr": "enforce"}
        for l, mode in modes.items():
            f = rig.nginx.file(l + ".txt", (POLICY % (mode, l + "." + z,
                                                      l + "." + z)).encode())
            rig.nginx.server("mta-sts.%s.%s" % (l, z), certs.get(l, good),
                             {"/.well-known/mta-sts.txt":
                              'default_type "text/plain"; alias %s;' % f})
        rig.nginx.server("mta-sts.nf." + z, good, {})  # 404
        rig.start()
        port = free_port()
        cfg = base_config(port, (
            "dns_server: 127.0.0.1:%d\nca_file: %s\nconnect_to:\n"
            "  - \"mta-sts.hang.%s:443:127.0.0.1:%d\"\n"
            "  - \":443::%d\"\ndefault_zone:\n  timeout: 3\n"
            "fetch_timeout: 4\nzones:\n  strict:\n"
            "    strict_testing: true\n") % (rig.dns.port, pki.ca_file, z,
                                             hold.port, rig.nginx.port))
        d = Daemon(tmp, cfg)
        try:
            def q(key, name="postfix"):
                r = subprocess.run(
                    [postmap, "-q", key,
                     "socketmap:inet:127.0.0.1:%d:%s" % (port, name)],
                    capture_output=True, text=True, timeout=30)
                return r.returncode, r.stdout.strip(), r.stderr

            def ok(l):
                return (0, "secure match=mx1.%s.%s:.mx.%s.%s "
                        "servername=hostname" % (l, z, l, z))
            for key, name, want in [
                    ("enf." + z, "postfix", ok("enf")),
                    ("enf." + z, "postfix", ok("enf")),
                    ("tst." + z, "postfix", (1, "")),
                    ("tst." + z, "strict", ok("tst")),
                    ("non." + z, "strict", (1, "")),
                    ("none." + z, "postfix", (1, "")),  # NXDOMAIN
                    ("nf." + z, "postfix", (1, "")),
                    ("exp." + z, "postfix", (1, "")),
                    ("wrong." + z, "postfix", (1, "")),
                    ("untr." + z, "postfix", (1, "")),
                    (".enf." + z, "postfix", (1, ""))]:
                got = q(key, name)
                check(got[:2] == want, "postmap %s (%s): %r, want %r\n%s"
                      % (key, name, got, want, d.log()))
            got = q("hang." + z)
            check(got[0] != 0 and got[1] == "", "hang: %r" % (got,))
            # one HTTPS request per domain: the second enf was from memory
            check(len(rig.nginx.requests("mta-sts.enf." + z)) == 1,
                  rig.nginx.requests())
            st = stats(port)
            f = st["failures"]
            check(f["sts-webpki-invalid"] >= 3, st)
            check(f["sts-policy-fetch-error"] >= 1, st)
            check(st["hits"] >= 1, st)
        finally:
            rc = d.stop()
        check(rc == 0, "exit status %d" % rc)


CASES = {name[5:]: fn for name, fn in globals().items()
         if name.startswith("case_")}


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in CASES:
        print("usage: test_policyd.py DAEMON SRC CASE (%s)"
              % ", ".join(sorted(CASES)), file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="policyd-test-")
    try:
        CASES[sys.argv[3]](tmp)
    except Skip as e:
        print("SKIP: %s" % e)
        return 77
    finally:
        for proc in CHILDREN:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
