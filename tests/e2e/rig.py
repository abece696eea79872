"""The end-to-end rig: real DNS, HTTPS and SMTP servers on loopback.

Python 3 standard library only. Everything lives in one temporary
directory; every server listens on 127.0.0.1 on a free port and is
stopped by the PID (or thread) the rig started, on every exit path
(context manager, atexit, SIGTERM; after a SIGKILL of the rig, a small
reaper process it started stops the servers by their PIDs).

    with Rig() as rig:
        pki = rig.make_pki()               # throwaway CAs made by openssl
        good = pki.issue("good", ["mta-sts.a.e2e.test"])
        rig.dns.txt("_mta-sts.a.e2e.test", "v=STSv1; id=1;")
        rig.dns.a("mta-sts.a.e2e.test")
        rig.nginx.server("mta-sts.a.e2e.test", good, {...})
        rig.start()                        # dnsmasq, nginx, python servers

Programs used: openssl (the CAs and certificates), dnsmasq (TXT, MX and A
records), nginx (the policy hosts). `missing_programs()` names those not
installed; the caller skips (exit 77) when any is missing.

Python servers cover what nginx cannot serve from a static file: a
chunked body, a server that accepts and never answers, a slow-drip body,
and the STARTTLS SMTP listeners of the MX hosts.
"""
import atexit
import datetime
import os
import random
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")


def which(prog):
    """The path of prog on PATH or in the sbin directories (dnsmasq and
    nginx live in /usr/sbin, which a normal user's PATH may lack)."""
    p = shutil.which(prog)
    if p:
        return p
    for d in SBIN:
        c = os.path.join(d, prog)
        if os.access(c, os.X_OK):
            return c
    return None


def missing_programs():
    return [p for p in ("openssl", "dnsmasq", "nginx") if which(p) is None]


def require(skip):
    """Call skip(msg), which does not return, unless every program the rig
    starts is installed: the one check of the suites that use the rig."""
    miss = missing_programs()
    if miss:
        skip("the e2e rig needs " + ", ".join(miss))


class RigError(Exception):
    pass


# ---------------------------------------------------------------- ports


def free_port(udp_too=False):
    """A port free on 127.0.0.1 for TCP (and UDP when udp_too). The port is
    released before the server binds it; a loopback race is unlikely and
    the server's start-up check reports it."""
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            if udp_too:
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
                finally:
                    u.close()
            return port
        finally:
            t.close()
    raise RigError("no free port on 127.0.0.1")


def wait_tcp(port, timeout, proc=None, what="server"):
    """Wait until something accepts on 127.0.0.1:port (bounded)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RigError(f"{what} exited with {proc.returncode} at start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RigError(f"{what} did not listen on 127.0.0.1:{port} within {timeout}s")


# ---------------------------------------------------------------- DNS client


def dns_query(port, name, qtype, timeout=1.0):
    """One UDP query to 127.0.0.1:port: (rcode, answer count). For the rig's
    own start-up check and for tests that look at what dnsmasq serves."""
    tid = random.randrange(65536)
    q = struct.pack(">HHHHHH", tid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode("ascii")
    q += b"\0" + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q, ("127.0.0.1", port))
        d = s.recv(4096)
    rid, flags, _, an = struct.unpack(">HHHH", d[:8])
    if rid != tid:
        raise RigError("DNS answer with a wrong id")
    return flags & 0xF, an


# ---------------------------------------------------------------- PKI


def asn1_time(dt):
    return dt.strftime("%Y%m%d%H%M%SZ")


class Cert:
    def __init__(self, name, cert, key, chain, names, not_after):
        self.name = name        # the rig's label ("good", "expired"...)
        self.cert = cert        # PEM: the leaf, then its CA (a chain file)
        self.key = key
        self.leaf = chain       # PEM: the leaf alone
        self.names = names
        self.not_after = not_after


class Pki:
    """Two throwaway CAs made with the openssl CLI: `good` (the one the
    tool is given with --ca-file) and `untrusted` (never given). Leaf
    certificates are issued with `openssl ca`, whose -startdate/-enddate
    make an expired certificate possible without faking the clock
    (OpenSSL 3.0's `x509 -req` has no -not_after)."""

    REQ_CNF = """[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
"""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.openssl = which("openssl")
        self.req_cnf = os.path.join(directory, "req.cnf")
        with open(self.req_cnf, "w") as f:
            f.write(self.REQ_CNF)
        self.cas = {}
        self.count = 0
        # one key for every leaf: key generation is the slow part, and
        # what the tests vary is the certificate
        self.leaf_key = os.path.join(directory, "leaf.key")
        self._run("genpkey", "-algorithm", "EC", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-out", self.leaf_key)
        self.leaf_csr = os.path.join(directory, "leaf.csr")
        self._run("req", "-new", "-key", self.leaf_key, "-out", self.leaf_csr,
                  "-subj", "/CN=leaf", "-config", self.req_cnf)
        self.make_ca("good")
        self.make_ca("untrusted")
        self.ca_file = self.cas["good"]["pem"]

    def _run(self, *args):
        p = subprocess.run([self.openssl, *args], capture_output=True,
                           cwd=self.dir, timeout=60)
        if p.returncode != 0:
            raise RigError("openssl " + " ".join(args) + " failed:\n"
                           + p.stderr.decode("utf-8", "replace"))
        return p

    def make_ca(self, label):
        d = os.path.join(self.dir, "ca-" + label)
        os.makedirs(os.path.join(d, "newcerts"))
        key, pem = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
        self._run("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                  "-out", pem, "-days", "3650",
                  "-subj", f"/O=libmtasts e2e/CN=e2e {label} CA",
                  "-config", self.req_cnf, "-extensions", "v3_ca")
        open(os.path.join(d, "index.txt"), "w").close()
        with open(os.path.join(d, "serial"), "w") as f:
            f.write("1000\n")
        cnf = os.path.join(d, "ca.cnf")
        with open(cnf, "w") as f:
            f.write(f"""[ ca ]
default_ca = CA_default
[ CA_default ]
dir = {d}
database = {d}/index.txt
new_certs_dir = {d}/newcerts
serial = {d}/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[ policy_any ]
commonName = supplied
""")
        self.cas[label] = {"dir": d, "key": key, "pem": pem, "cnf": cnf}

    def issue(self, label, names, ca="good", expired=False, days=365):
        """A leaf for the DNS names (SANs; CN = the first). expired: valid
        from 2020-01-01 to 2020-01-02. Returns a Cert."""
        self.count += 1
        c = self.cas[ca]
        now = datetime.datetime.now(datetime.timezone.utc)
        if expired:
            nb = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
            na = datetime.datetime(2020, 1, 2, tzinfo=datetime.timezone.utc)
        else:
            nb = now - datetime.timedelta(days=1)
            na = now + datetime.timedelta(days=days)
        ext = os.path.join(self.dir, f"ext{self.count}.cnf")
        with open(ext, "w") as f:
            f.write("[ leaf ]\nbasicConstraints = CA:FALSE\n"
                    "keyUsage = critical,digitalSignature\n"
                    "extendedKeyUsage = serverAuth\n"
                    "subjectKeyIdentifier = hash\n"
                    "authorityKeyIdentifier = keyid\n"
                    "subjectAltName = "
                    + ",".join("DNS:" + n for n in names) + "\n")
        leaf = os.path.join(self.dir, f"{label}.leaf.pem")
        self._run("ca", "-config", c["cnf"], "-batch", "-notext",
                  "-keyfile", c["key"], "-cert", c["pem"],
                  "-in", self.leaf_csr, "-out", leaf,
                  "-subj", "/CN=" + names[0],
                  "-startdate", asn1_time(nb), "-enddate", asn1_time(na),
                  "-extfile", ext, "-extensions", "leaf")
        chain = os.path.join(self.dir, f"{label}.pem")
        with open(chain, "w") as out:
            for p in (leaf, c["pem"]):
                with open(p) as f:
                    out.write(f.read())
        return Cert(label, chain, self.leaf_key, leaf, names,
                    int(na.timestamp()))


# ---------------------------------------------------------------- processes


# The reaper: a small child process that outlives the rig only if the rig
# dies without cleaning up (SIGKILL). The rig tells it, over a pipe, each
# server PID it starts and stops and its temp dir; at end of input (the
# rig exited, however) it sends SIGTERM to the servers still listed, by
# their PIDs, and removes the temp dir. After a normal stop the list is
# empty and the reaper just exits.
REAPER = r"""
import os, shutil, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
pids, tmp = set(), None
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "start":
        pids.add(int(arg))
    elif cmd == "stop":
        pids.discard(int(arg))
    elif cmd == "dir":
        tmp = arg
    elif cmd == "done":
        pids, tmp = set(), None
for p in pids:
    try:
        os.kill(p, signal.SIGTERM)
    except OSError:
        pass
if tmp:
    time.sleep(1)
    shutil.rmtree(tmp, ignore_errors=True)
"""


class Reaper:
    def __init__(self):
        self.p = subprocess.Popen([sys.executable, "-c", REAPER],
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        self.lock = threading.Lock()

    def tell(self, line):
        with self.lock:
            if self.p is None:
                return
            try:
                self.p.stdin.write((line + "\n").encode())
                self.p.stdin.flush()
            except OSError:
                pass

    def close(self):
        with self.lock:
            p, self.p = self.p, None
        if p is None:
            return
        try:
            p.stdin.write(b"done\n")
            p.stdin.close()
        except OSError:
            pass
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


class Proc:
    """A child process stopped by its PID: SIGTERM, then SIGKILL. The
    reaper (when given) learns the PID, in case the rig is killed. env:
    variables added to the environment it inherits."""

    def __init__(self, name, argv, log, reaper=None, env=None):
        self.name = name
        self.argv = argv
        self.log = log
        self.reaper = reaper
        self.env = env
        self.p = None

    def start(self):
        env = None
        if self.env:
            env = dict(os.environ)
            env.update(self.env)
        with open(self.log, "ab") as lf:
            self.p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                      stdout=lf, stderr=subprocess.STDOUT,
                                      env=env)
        if self.reaper is not None:
            self.reaper.tell(f"start {self.p.pid}")
        return self.p

    def stop(self):
        p, self.p = self.p, None
        if p is None:
            return
        if p.poll() is not None:
            if self.reaper is not None:
                self.reaper.tell(f"stop {p.pid}")
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)
        if self.reaper is not None:
            self.reaper.tell(f"stop {p.pid}")

    def log_text(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")[-3000:]
        except OSError:
            return ""


# ---------------------------------------------------------------- dnsmasq


def _txt_quote(s):
    # dnsmasq's txt-record strings: backslash escapes like C
    if any(ord(ch) < 0x20 or ord(ch) > 0x7E for ch in s):
        raise RigError("the rig's TXT strings are printable ASCII")
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Dns:
    """dnsmasq on 127.0.0.1:port with only the records added here. Every
    other name under the rig's zones is NXDOMAIN (local=/zone/), a name
    with other records is NODATA."""

    def __init__(self, rig, zones=("e2e.test",)):
        self.rig = rig
        self.zones = list(zones)
        self.lines = []
        self.port = None
        self.proc = None

    def txt(self, name, *strings):
        """One TXT record made of the character-strings given (several
        calls for one name: several records)."""
        self.lines.append("txt-record=" + name + ","
                          + ",".join(_txt_quote(s) for s in strings))

    def mx(self, domain, host, pref):
        self.lines.append(f"mx-host={domain},{host},{pref}")

    def a(self, name, addr="127.0.0.1"):
        self.lines.append(f"host-record={name},{addr}")

    def remove(self, prefix):
        """Drop the config lines that start with prefix (then restart())."""
        self.lines = [ln for ln in self.lines if not ln.startswith(prefix)]

    def _write(self):
        conf = os.path.join(self.rig.dir, "dnsmasq.conf")
        with open(conf, "w") as f:
            for z in self.zones:
                f.write(f"local=/{z}/\n")
            f.write("\n".join(self.lines) + "\n")
        return conf

    def start(self):
        if self.port is None:
            self.port = free_port(udp_too=True)
        conf = self._write()
        argv = [which("dnsmasq"), "--no-resolv", "--no-hosts",
                "--bind-interfaces", "--listen-address=127.0.0.1",
                f"--port={self.port}", "--keep-in-foreground",
                "--pid-file=" + os.path.join(self.rig.dir, "dnsmasq.pid"),
                "--conf-file=" + conf, "--cache-size=0",
                "--log-facility=" + os.path.join(self.rig.dir, "dnsmasq.log")]
        if os.geteuid() == 0:
            # as root it would switch to nobody, who cannot read the temp
            # dir
            argv.append("--user=root")
        self.proc = Proc("dnsmasq", argv,
                         os.path.join(self.rig.dir, "dnsmasq.out"),
                         self.rig.reaper)
        p = self.proc.start()
        end = time.monotonic() + 10
        probe = "rig-probe." + self.zones[0]
        while time.monotonic() < end:
            if p.poll() is not None:
                raise RigError(f"dnsmasq exited with {p.returncode}:\n"
                               + self.proc.log_text())
            try:
                rcode, _ = dns_query(self.port, probe, 16, timeout=0.3)
                if rcode == 3:
                    return
            except (OSError, RigError):
                pass
            time.sleep(0.05)
        raise RigError("dnsmasq did not answer on 127.0.0.1:%d" % self.port)

    def restart(self):
        """Stop and start again on the same port with the current records
        (dnsmasq reads txt-record lines only at start-up)."""
        self.stop()
        self.start()

    def stop(self):
        if self.proc is not None:
            self.proc.stop()
            self.proc = None


# ---------------------------------------------------------------- nginx


class Nginx:
    """nginx on 127.0.0.1:port, single process (no daemon, no master), one
    server block per policy host selected by SNI. The access log has one
    line per request: "SNI|Host|URI|status|bytes". The port is a free one
    unless set before start()."""

    def __init__(self, rig):
        self.rig = rig
        self.dir = os.path.join(rig.dir, "nginx")
        self.servers = []
        self.port = None
        self.proc = None
        self.access_log = os.path.join(self.dir, "access.log")

    def server(self, name, cert, locations, default=False):
        """name: the server_name; cert: a Cert; locations: a list of
        nginx location blocks (strings) or a dict path -> block body."""
        if isinstance(locations, dict):
            locations = [f"location = {p} {{ {b} }}"
                         for p, b in locations.items()]
        self.servers.append((name, cert, list(locations), default))

    def file(self, name, data):
        """A file in nginx's directory, for alias."""
        p = os.path.join(self.dir, "files", name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        if self.port is None:
            # a port set before start is kept (443 in a private network
            # namespace, for programs that cannot be given another port)
            self.port = free_port()
        d = self.dir
        tmp = [os.path.join(d, "tmp", t) for t in
               ("body", "proxy", "fastcgi", "uwsgi", "scgi")]
        for t in tmp:
            os.makedirs(t, exist_ok=True)
        out = [
            "daemon off;", "master_process off;", "worker_processes 1;",
            f"pid {d}/nginx.pid;", f"error_log {d}/error.log info;",
            "events { worker_connections 512; }",
            "http {",
            "  log_format e2e '$ssl_server_name|$host|$request_uri|$status|$body_bytes_sent';",
            f"  access_log {self.access_log} e2e;",
            f"  client_body_temp_path {tmp[0]};",
            f"  proxy_temp_path {tmp[1]};",
            f"  fastcgi_temp_path {tmp[2]};",
            f"  uwsgi_temp_path {tmp[3]};",
            f"  scgi_temp_path {tmp[4]};",
            "  types { }",
            "  default_type application/octet-stream;",
            "  server_tokens off;",
            "  keepalive_timeout 5;",
            "  ssl_protocols TLSv1.2 TLSv1.3;",
        ]
        for name, cert, locs, default in self.servers:
            ds = " default_server" if default else ""
            out += ["  server {",
                    f"    listen 127.0.0.1:{self.port} ssl{ds};",
                    f"    server_name {name};",
                    f"    ssl_certificate {cert.cert};",
                    f"    ssl_certificate_key {cert.key};"]
            out += ["    " + loc for loc in locs]
            out += ["    location / { return 404; }", "  }"]
        out.append("}")
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write("\n".join(out) + "\n")
        self.proc = Proc("nginx", [which("nginx"), "-p", d, "-c", conf,
                                   "-e", os.path.join(d, "error.log")],
                         os.path.join(d, "nginx.out"), self.rig.reaper)
        p = self.proc.start()
        try:
            wait_tcp(self.port, 10, p, "nginx")
        except RigError as e:
            raise RigError(str(e) + "\n" + self.proc.log_text() + "\n"
                           + self.error_log())

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "error.log")) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def requests(self, host=None):
        """The access log's requests (dicts), for host (SNI or Host) only
        when given."""
        try:
            with open(self.access_log) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return []
        out = []
        for ln in lines:
            parts = ln.split("|")
            if len(parts) != 5:
                continue
            r = {"sni": parts[0], "host": parts[1], "uri": parts[2],
                 "status": int(parts[3]), "bytes": int(parts[4])}
            if host is None or host in (r["sni"], r["host"]):
                out.append(r)
        return out

    def stop(self):
        if self.proc is not None:
            self.proc.stop()
            self.proc = None


# ---------------------------------------------------------------- threads


class ThreadServer:
    """A TCP listener on 127.0.0.1 (or addr: another loopback address)
    with one thread per connection, on a free port (or port). handle
    (sock, server) runs in the connection's thread; it must return when
    server.stopping is set (sockets have a timeout, loops are bounded).
    Connections are counted (server.connections)."""

    def __init__(self, name, handle, addr="127.0.0.1", port=0):
        self.name = name
        self.handle = handle
        self.addr = addr
        self.want_port = port
        self.stopping = threading.Event()
        self.connections = 0
        self.errors = []
        self.lock = threading.Lock()
        self.sock = None
        self.port = None
        self.thread = None
        self.children = []

    def start(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.addr, self.want_port))
        s.listen(64)
        s.settimeout(0.2)
        self.sock = s
        self.port = s.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True,
                                       name=self.name)
        self.thread.start()

    def _accept(self):
        while not self.stopping.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
            c.settimeout(0.5)
            t = threading.Thread(target=self._run, args=(c,), daemon=True)
            self.children.append(t)
            t.start()

    def _run(self, c):
        try:
            self.handle(c, self)
        except (OSError, ssl.SSLError, ValueError) as e:
            with self.lock:
                self.errors.append(repr(e))
        finally:
            try:
                c.close()
            except OSError:
                pass

    def sleep(self, seconds):
        """Sleep unless stopping; True when the server is stopping."""
        return self.stopping.wait(seconds)

    def stop(self):
        self.stopping.set()
        if self.sock is not None:
            self.sock.close()
        if self.thread is not None:
            self.thread.join(5)
        for t in self.children:
            t.join(5)


def recv_until(sock, server, marker, limit=65536, seconds=10):
    """Read from sock until marker (bounded in bytes and time)."""
    buf = b""
    end = time.monotonic() + seconds
    while marker not in buf:
        if server.stopping.is_set() or time.monotonic() > end:
            raise ValueError("no " + repr(marker) + " in time")
        try:
            d = sock.recv(4096)
        except socket.timeout:
            continue
        except ssl.SSLWantReadError:
            continue
        if not d:
            raise ValueError("peer closed before " + repr(marker))
        buf += d
        if len(buf) > limit:
            raise ValueError("request too long")
    return buf


def ssl_server_context(cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert.cert, cert.key)
    return ctx


def tls_accept(c, ctx, server, seconds=10):
    """Server-side TLS handshake with a bounded wait (the socket keeps its
    short timeout for the stop checks)."""
    t = ctx.wrap_socket(c, server_side=True, do_handshake_on_connect=False)
    end = time.monotonic() + seconds
    while True:
        if server.stopping.is_set() or time.monotonic() > end:
            raise ValueError("TLS handshake not done in time")
        try:
            t.do_handshake()
            return t
        except (socket.timeout, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            continue


def send_all(sock, data, server):
    """sendall with the stop checks; False when the peer went away."""
    view = memoryview(data)
    while len(view):
        if server.stopping.is_set():
            return False
        try:
            n = sock.send(view)
        except (socket.timeout, ssl.SSLWantWriteError):
            continue
        except (BrokenPipeError, ConnectionResetError, ssl.SSLEOFError,
                ssl.SSLZeroReturnError):
            return False
        except ssl.SSLError:
            return False
        view = view[n:]
    return True


# ---------------------------------------------------------------- HTTPS


class PyHttps:
    """A small HTTPS server for what nginx cannot serve from a file. One
    certificate; the behaviour is chosen by the request's Host header
    (without port): routes[host](request_bytes, sock, server) writes the
    response. Requests are logged (self.log: (host, path))."""

    def __init__(self, rig, cert):
        self.rig = rig
        self.cert = cert
        self.routes = {}
        self.log = []
        self.srv = ThreadServer("pyhttps", self._handle)

    def route(self, host, fn):
        self.routes[host] = fn

    def start(self):
        self.ctx = ssl_server_context(self.cert)
        self.srv.start()

    @property
    def port(self):
        return self.srv.port

    def _handle(self, c, server):
        t = tls_accept(c, self.ctx, server)
        req = recv_until(t, server, b"\r\n\r\n")
        head = req.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        path = head[0].split(" ")[1] if len(head[0].split(" ")) > 1 else ""
        host = ""
        for h in head[1:]:
            k, _, v = h.partition(":")
            if k.strip().lower() == "host":
                host = v.strip().rsplit(":", 1)[0] if ":" in v.strip() \
                    else v.strip()
        with server.lock:
            self.log.append((host, path))
        fn = self.routes.get(host)
        if fn is None:
            send_all(t, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                     b"Connection: close\r\n\r\n", server)
            return
        fn(req, t, server)

    def requests(self, host):
        return [p for h, p in self.log if h == host]

    def stop(self):
        self.srv.stop()


def http_head(status, ctype, extra=()):
    lines = [f"HTTP/1.1 {status}"]
    if ctype is not None:
        lines.append("Content-Type: " + ctype)
    lines += list(extra)
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def chunked(body, chunk=4096):
    """fn for PyHttps: body as Transfer-Encoding: chunked."""
    def fn(req, t, server):
        if not send_all(t, http_head("200 OK", "text/plain",
                                     ["Transfer-Encoding: chunked"]), server):
            return
        for i in range(0, len(body), chunk):
            part = body[i:i + chunk]
            if not send_all(t, b"%x\r\n" % len(part) + part + b"\r\n",
                            server):
                return
        send_all(t, b"0\r\n\r\n", server)
    return fn


def drip(body, every, piece=1, length=None):
    """fn for PyHttps: the body in pieces of `piece` bytes, one every
    `every` seconds (Content-Length: length or len(body)). Stops when the
    client goes away or the rig stops."""
    def fn(req, t, server):
        n = len(body) if length is None else length
        if not send_all(t, http_head("200 OK", "text/plain",
                                     [f"Content-Length: {n}"]), server):
            return
        for i in range(0, len(body), piece):
            if server.sleep(every):
                return
            if not send_all(t, body[i:i + piece], server):
                return
    return fn


def hold(seconds=30):
    """fn for PyHttps: read the request, then answer nothing (the
    connection is held until the client closes it, the rig stops or
    `seconds` pass)."""
    def fn(req, t, server):
        end = time.monotonic() + seconds
        while time.monotonic() < end and not server.stopping.is_set():
            try:
                if t.recv(1024) == b"":
                    return
            except (socket.timeout, ssl.SSLWantReadError):
                continue
    return fn


def tcp_hold(seconds=30):
    """A ThreadServer handler: accept the connection and never send a byte
    (not even the TLS handshake)."""
    def handle(c, server):
        end = time.monotonic() + seconds
        while time.monotonic() < end and not server.stopping.is_set():
            try:
                if c.recv(1024) == b"":
                    return
            except socket.timeout:
                continue
    return handle


# ---------------------------------------------------------------- SMTP


class Smtp:
    """A STARTTLS SMTP listener with one certificate (or no STARTTLS when
    cert is None). It greets, answers EHLO/HELO, STARTTLS, NOOP, RSET and
    QUIT; nothing is ever accepted for delivery. Sessions are recorded
    (self.sessions: list of dicts with the commands and whether TLS was
    established)."""

    def __init__(self, rig, label, cert, name="mx.e2e.test"):
        self.rig = rig
        self.label = label
        self.cert = cert
        self.name = name
        self.sessions = []
        self.ctx = ssl_server_context(cert) if cert is not None else None
        self.srv = ThreadServer("smtp-" + label, self._handle)

    def start(self):
        self.srv.start()

    @property
    def port(self):
        return self.srv.port

    def _handle(self, c, server):
        sess = {"commands": [], "tls": False}
        with server.lock:
            self.sessions.append(sess)
        sock = c
        if not send_all(sock, f"220 {self.name} ESMTP e2e rig\r\n".encode(),
                        server):
            return
        buf = b""
        for _ in range(50):  # commands per session
            while b"\r\n" not in buf:
                if server.stopping.is_set():
                    return
                try:
                    d = sock.recv(1024)
                except (socket.timeout, ssl.SSLWantReadError):
                    continue
                if not d:
                    return
                buf += d
                if len(buf) > 4096:
                    return
            line, buf = buf.split(b"\r\n", 1)
            cmd = line.decode("latin-1")
            verb = cmd.split(" ", 1)[0].upper()
            sess["commands"].append(verb)
            if verb == "EHLO":
                caps = ["PIPELINING", "8BITMIME"]
                if self.ctx is not None and not sess["tls"]:
                    caps.append("STARTTLS")
                lines = [self.name] + caps
                r = "".join(f"250-{x}\r\n" for x in lines[:-1]) \
                    + f"250 {lines[-1]}\r\n"
            elif verb == "HELO":
                r = f"250 {self.name}\r\n"
            elif verb == "STARTTLS" and self.ctx is not None \
                    and not sess["tls"]:
                if not send_all(sock, b"220 2.0.0 ready to start TLS\r\n",
                                server):
                    return
                if buf:
                    return  # pipelined past STARTTLS: a broken client
                try:
                    sock = tls_accept(c, self.ctx, server)
                except (ssl.SSLError, OSError):
                    sess["handshake_failed"] = True
                    return
                sess["tls"] = True
                sess["tls_version"] = sock.version()
                continue
            elif verb == "STARTTLS":
                r = "502 5.5.1 STARTTLS not offered\r\n"
            elif verb in ("NOOP", "RSET"):
                r = "250 2.0.0 ok\r\n"
            elif verb == "QUIT":
                send_all(sock, b"221 2.0.0 bye\r\n", server)
                return
            else:
                r = "502 5.5.2 not in this rig\r\n"
            if not send_all(sock, r.encode(), server):
                return

    def stop(self):
        self.srv.stop()


class MailSink:
    """A STARTTLS SMTP server that accepts every message: the MX host of
    a real MTA's delivery test (Exim, Postfix). It listens on addr:port
    (a free port when 0; port 25 on 127.0.0.x in a private network
    namespace, where the MTA finds it through the rig's DNS), offers
    STARTTLS with cert (a Cert), and records the sessions (self.sessions:
    the commands, whether TLS was established, a failed handshake) and the
    messages (self.messages: recipients, over TLS or not, the data)."""

    def __init__(self, cert, addr="127.0.0.1", port=0, name="mx.e2e.test"):
        self.name = name
        self.ctx = ssl_server_context(cert)
        self.sessions = []
        self.messages = []
        self.srv = ThreadServer("sink-" + name, self._handle, addr, port)

    def start(self):
        self.srv.start()

    @property
    def port(self):
        return self.srv.port

    @property
    def errors(self):
        return self.srv.errors

    def _line(self, sock, st, limit=65536):
        end = time.monotonic() + 30
        while b"\r\n" not in st["buf"]:
            if self.srv.stopping.is_set() or time.monotonic() > end:
                raise ValueError("no line in time")
            try:
                d = sock.recv(4096)
            except (socket.timeout, ssl.SSLWantReadError):
                continue
            if not d:
                return None
            st["buf"] += d
            if len(st["buf"]) > limit:
                raise ValueError("line too long")
        line, st["buf"] = st["buf"].split(b"\r\n", 1)
        return line

    def _send(self, sock, text):
        return send_all(sock, text.encode("ascii"), self.srv)

    def _handle(self, c, server):
        sess = {"tls": False, "commands": []}
        with server.lock:
            self.sessions.append(sess)
        sock = c
        st = {"buf": b""}
        if not self._send(sock, f"220 {self.name} ESMTP sink\r\n"):
            return
        rcpts = []
        for _ in range(200):  # commands per session
            line = self._line(sock, st)
            if line is None:
                return
            cmd = line.decode("latin-1")
            verb = cmd.split(" ", 1)[0].upper()
            sess["commands"].append(verb)
            if verb in ("EHLO", "HELO"):
                caps = [self.name, "8BITMIME"]
                if not sess["tls"]:
                    caps.append("STARTTLS")
                r = "".join(f"250-{x}\r\n" for x in caps[:-1]) \
                    + f"250 {caps[-1]}\r\n"
            elif verb == "STARTTLS" and not sess["tls"]:
                if not self._send(sock, "220 2.0.0 go ahead\r\n"):
                    return
                try:
                    sock = tls_accept(c, self.ctx, server)
                except (ssl.SSLError, OSError, ValueError):
                    sess["handshake_failed"] = True
                    return
                sess["tls"] = True
                st["buf"] = b""
                continue
            elif verb == "MAIL":
                rcpts = []
                r = "250 2.1.0 ok\r\n"
            elif verb == "RCPT":
                m = re.search(r"<([^>]*)>", cmd)
                rcpts.append(m.group(1) if m else cmd)
                r = "250 2.1.5 ok\r\n"
            elif verb == "DATA":
                if not self._send(sock, "354 go ahead\r\n"):
                    return
                data = b""
                while not data.endswith(b"\r\n.\r\n") and data != b".\r\n":
                    ln = self._line(sock, st)
                    if ln is None:
                        return
                    data += ln + b"\r\n"
                    if len(data) > 1 << 20:
                        raise ValueError("message too big")
                with server.lock:
                    self.messages.append({"rcpts": list(rcpts),
                                          "tls": sess["tls"], "data": data})
                r = "250 2.0.0 queued\r\n"
            elif verb in ("RSET", "NOOP"):
                r = "250 2.0.0 ok\r\n"
            elif verb == "QUIT":
                self._send(sock, "221 2.0.0 bye\r\n")
                if sess["tls"]:
                    try:
                        sock.settimeout(2)
                        sock.unwrap()  # close_notify, as Exim expects
                    except (OSError, ssl.SSLError, ValueError):
                        pass
                return
            else:
                r = "502 5.5.2 unknown command\r\n"
            if not self._send(sock, r):
                return

    def got(self, rcpt):
        """The messages with rcpt among their recipients."""
        with self.srv.lock:
            return [m for m in self.messages if rcpt in m["rcpts"]]

    def stop(self):
        self.srv.stop()


# ---------------------------------------------------------------- the rig

_live = []


def _stop_all():
    for r in list(_live):
        r.stop()


atexit.register(_stop_all)


def _on_sigterm(signum, frame):
    # meson's timeout and ^C: leave through SystemExit so that context
    # managers and atexit stop the servers
    raise SystemExit(128 + signum)


class Rig:
    def __init__(self, keep=False):
        self.keep = keep or os.environ.get("E2E_KEEP") == "1"
        self.dir = tempfile.mkdtemp(prefix="mtasts-e2e.")
        self.reaper = Reaper()
        if not self.keep:
            self.reaper.tell("dir " + self.dir)
        self.pki = None
        self.dns = Dns(self)
        self.nginx = Nginx(self)
        self.threads = []  # PyHttps, Smtp, ThreadServer
        self.started = False
        _live.append(self)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _on_sigterm)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def make_pki(self):
        self.pki = Pki(os.path.join(self.dir, "pki"))
        return self.pki

    def https(self, cert):
        s = PyHttps(self, cert)
        self.threads.append(s)
        return s

    def tcp_hold(self, seconds=30, addr="127.0.0.1", port=0):
        s = ThreadServer("tcp-hold", tcp_hold(seconds), addr, port)
        self.threads.append(s)
        return s

    def mail_sink(self, cert, addr="127.0.0.1", port=0, name="mx.e2e.test"):
        s = MailSink(cert, addr, port, name)
        self.threads.append(s)
        return s

    def smtp(self, label, cert, name="mx.e2e.test"):
        s = Smtp(self, label, cert, name)
        self.threads.append(s)
        return s

    def start(self):
        """Start the threads' listeners, dnsmasq and nginx (those with
        something to serve)."""
        for t in self.threads:
            t.start()
        self.dns.start()
        if self.nginx.servers:
            self.nginx.start()
        self.started = True

    def stop(self):
        if self in _live:
            _live.remove(self)
        for s in (self.nginx, self.dns, *self.threads):
            try:
                s.stop()
            except Exception:  # noqa: BLE001 - stop the others anyway
                pass
        self.reaper.close()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
