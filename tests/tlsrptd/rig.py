"""What the mtasts-tlsrptd delivery, fleet and fault tests share: the
collector driven as a process, datagrams in libtlsrpt's byte format, and
the real things on loopback, each in a temp dir, on free ports, stopped by
the PID (or thread) started:

  Dns        a UDP responder for the _smtp._tls TXT records (this file)
  Receiver   a plain-HTTP backend that logs every POST (path, headers,
             body) and answers each path with a scripted status
  Nginx      the real nginx terminating TLS (a throwaway CA's
             certificate for reports.example.test) in front of Receiver
  Redis      redis-server
  Postfix    a private Postfix instance (its own main.cf/master.cf, queue
             and data directories) delivering to a mailbox file

Every wait is bounded. Nothing here reads outside the temp dir but the
programs it runs.
"""
import datetime
import http.server
import json
import os
import shutil
import signal
import socket
import socketserver
import sqlite3
import struct
import subprocess
import sys
import threading
import time

SKIP = 77
FAILURES = []
RUNNING = []  # processes started and not yet stopped


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what)
    return cond


def finish():
    for p in list(RUNNING):
        try:
            p.stop()
        except Exception:  # best effort at the end
            pass
    if FAILURES:
        print("%d failure(s)" % len(FAILURES))
        return 1
    print("ok")
    return 0


def free_port():
    """A port free for UDP and TCP on 127.0.0.1 (bound, then released)."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
        except OSError:
            u.close()
            t.close()
            continue
        u.close()
        t.close()
        return port
    raise RuntimeError("no free port")


def utc_day(offset_days=0):
    d = datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(days=offset_days)
    return d.strftime("%Y-%m-%d")


def wait_for(cond, limit, step=0.05):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


# ---------------------------------------------------------------- datagrams

def jstr(b):
    """A JSON string as libtlsrpt writes it."""
    out = bytearray(b'"')
    for c in b:
        if c == 0x22:
            out += b'\\"'
        elif c == 0x5C:
            out += b"\\\\"
        elif c < 0x20 or c == 0x7F:
            out += b"\\u%04x" % c
        else:
            out.append(c)
    out += b'"'
    return bytes(out)


def datagram(d, policies, pr=b"v=TLSRPTv1; rua=mailto:r@example.net"):
    """One datagram, byte for byte as libtlsrpt 0.5 makes it. A policy is
    {"type": 1|2|9, "domain", "strings", "mx", "f": 0|1, "failures":
    [{"c": code, "s", "n", "h", "r", "a", "f"}]}."""
    out = b'{"dpv": "1","d": ' + jstr(d) + b',"pr": ' + jstr(pr)
    out += b',"policies":['
    for i, p in enumerate(policies):
        out += b"," if i else b""
        out += b'{"policy-type":%d' % p["type"]
        if p.get("domain") is not None:
            out += b',"policy-domain": ' + jstr(p["domain"])
        if p.get("strings"):
            out += b',"policy-string":[' + b",".join(
                jstr(s) for s in p["strings"]) + b"]"
        if p.get("mx"):
            out += b',"mx-host":[' + b",".join(jstr(s) for s in p["mx"]) + b"]"
        fails = p.get("failures", [])
        if fails:
            parts = []
            for f in fails:
                one = b'{"c":%d' % f["c"]
                for k in "snhraf":
                    if f.get(k) is not None:
                        one += b',"%s": ' % k.encode() + jstr(f[k])
                parts.append(one + b"}")
            out += b',"failure-details":[' + b",".join(parts) + b"]"
        out += b',"t":%d,"f":%d}' % (len(fails), p["f"])
    return out + b"]}"


def sts_policy(domain, f, failures=()):
    mx = b"mx." + domain
    return {"type": 2, "domain": domain,
            "strings": [b"version: STSv1", b"mode: enforce", b"mx: " + mx,
                        b"max_age: 86400"],
            "mx": [mx], "f": f, "failures": list(failures)}


def none_policy(f, failures=()):
    return {"type": 9, "f": f, "failures": list(failures)}


def send_datagrams(sock_path, dgs):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setblocking(True)  # a full queue makes the sender wait: no loss
    for dg in dgs:
        s.sendto(dg, sock_path)
    s.close()


# ---------------------------------------------------------------- collector

class Collector:
    """mtasts-tlsrptd in the foreground; its log in DIR/NAME.log."""

    def __init__(self, exe, tmp, name, store=None, flush=1, extra=(),
                 env=None):
        self.exe, self.tmp, self.name = exe, tmp, name
        self.sock = os.path.join(tmp, name + ".sock")
        self.store = store or os.path.join(tmp, name + "-store")
        self.log = os.path.join(tmp, name + ".log")
        self.flush = flush
        self.extra = list(extra)
        self.env = env
        self.proc = None

    def args(self):
        return [self.exe, "--socket", self.sock, "--store", self.store,
                "--foreground", "--flush-interval", str(self.flush)] + \
            self.extra

    def start(self, extra=(), env=None):
        before = self.text().count("listening on") if os.path.exists(
            self.log) else 0
        self.logf = open(self.log, "ab")
        e = dict(os.environ)
        e.update(self.env or {})
        e.update(env or {})
        self.proc = subprocess.Popen(self.args() + list(extra),
                                     stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=e)
        RUNNING.append(self)
        if not wait_for(lambda: self.proc.poll() is not None or
                        self.text().count("listening on") > before, 20):
            raise RuntimeError("collector did not start: " + self.text())
        if self.proc.poll() is not None:
            raise RuntimeError("collector exited: " + self.text())
        return self

    def text(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

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
        if self in RUNNING:
            RUNNING.remove(self)
        return rc

    def send(self, dgs):
        send_datagrams(self.sock, dgs)

    def db(self):
        return sqlite3.connect("file:%s?mode=ro" % os.path.join(
            self.store, "tlsrptd.sqlite"), uri=True, timeout=10)

    def query(self, sql, args=()):
        db = self.db()
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()


def run_cmd(args, timeout=120, env=None):
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run(args, capture_output=True, timeout=timeout, env=e)
    r.out = r.stdout.decode("utf-8", "replace")
    r.err = r.stderr.decode("utf-8", "replace")
    return r


# ---------------------------------------------------------------- DNS

def _name(data, pos):
    labels = []
    while pos < len(data) and data[pos] != 0:
        n = data[pos]
        labels.append(data[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    return ".".join(labels).lower(), pos + 1


class Dns(threading.Thread):
    """TXT answers on 127.0.0.1:port (UDP): records maps a name to a list
    of records, each a list of character-strings; a name in servfail
    gets SERVFAIL; any other name NXDOMAIN. queries counts the questions
    per name."""

    def __init__(self, records, servfail=()):
        super().__init__(daemon=True)
        self.records = {k.lower(): v for k, v in records.items()}
        self.servfail = set(servfail)
        self.queries = {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.addr = "127.0.0.1:%d" % self.port
        self.stopping = False
        self.start()
        RUNNING.append(self)

    def answer(self, data):
        if len(data) < 12:
            return None
        qid, flags, qd = struct.unpack("!HHH", data[:6])
        if qd != 1:
            return None
        qname, pos = _name(data, 12)
        if pos + 4 > len(data):
            return None
        qtype = struct.unpack("!H", data[pos:pos + 2])[0]
        question = data[12:pos + 4]
        self.queries[qname] = self.queries.get(qname, 0) + 1
        rcode, answers = 0, []
        if qname in self.servfail:
            rcode = 2
        elif qname in self.records:
            if qtype == 16:
                for strings in self.records[qname]:
                    rdata = b"".join(bytes([len(s)]) + s.encode()
                                     for s in strings)
                    answers.append(b"\xc0\x0c" + struct.pack(
                        "!HHIH", 16, 1, 60, len(rdata)) + rdata)
        else:
            rcode = 3
        hdr = struct.pack("!HHHHHH", qid, 0x8000 | (flags & 0x0100) |
                          0x0080 | rcode, 1, len(answers), 0, 0)
        return hdr + question + b"".join(answers)

    def run(self):
        while not self.stopping:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            ans = self.answer(data)
            if ans is not None:
                self.sock.sendto(ans, peer)

    def stop(self):
        self.stopping = True
        self.join(5)
        self.sock.close()
        if self in RUNNING:
            RUNNING.remove(self)


# ---------------------------------------------------------------- HTTPS

def make_ca(tmp, names=("reports.example.test",)):
    """A throwaway CA (ca.pem) and one certificate (server.pem, server.key)
    for names, in tmp."""
    def ossl(*args):
        p = subprocess.run(["openssl", *args], cwd=tmp, capture_output=True,
                           timeout=60)
        if p.returncode != 0:
            raise RuntimeError("openssl %s: %s" % (args[0], p.stderr))

    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=tlsrptd test CA", "-keyout", "ca.key", "-out",
         "ca.pem", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + names[0],
         "-keyout", "server.key", "-out", "server.csr")
    with open(os.path.join(tmp, "server.ext"), "w") as f:
        f.write("subjectAltName=" + ",".join("DNS:" + n for n in names) +
                "\nextendedKeyUsage=serverAuth\n")
    ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey",
         "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "server.ext",
         "-out", "server.pem")
    return (os.path.join(tmp, "ca.pem"), os.path.join(tmp, "server.pem"),
            os.path.join(tmp, "server.key"))


class Receiver:
    """A plain-HTTP server on loopback (in threads of this process) that
    records every request: (method, path, headers dict, body). statuses
    maps a path to the list of statuses of its successive requests (the
    last one repeats); other paths get 404. delays maps a path to the
    seconds its first request waits (after being recorded) before its
    answer."""

    def __init__(self, statuses, delays=None):
        self.statuses = {k: list(v) for k, v in statuses.items()}
        self.delays = dict(delays or {})
        self.requests = []
        self.lock = threading.Lock()
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with rec.lock:
                    rec.requests.append(("POST", self.path,
                                         dict(self.headers.items()), body))
                    seq = rec.statuses.get(self.path)
                    if seq is None:
                        status = 404
                    else:
                        status = seq[0]
                        if len(seq) > 1:
                            seq.pop(0)
                    delay = rec.delays.pop(self.path, 0)
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    if 300 <= status < 400:
                        self.send_header("Location",
                                         "https://elsewhere.test/")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the client went away (kill -9)
                    self.close_connection = True

            do_PUT = do_POST

            def log_message(self, *a):
                pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()
        RUNNING.append(self)

    def posts(self, path):
        with self.lock:
            return [r for r in self.requests if r[1] == path]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        if self in RUNNING:
            RUNNING.remove(self)


NGINX_CONF = """\
worker_processes 1;
%(user)s
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log;
events { worker_connections 64; }
http {
  access_log %(dir)s/access.log;
  client_body_temp_path %(dir)s/tmp/body;
  proxy_temp_path %(dir)s/tmp/proxy;
  fastcgi_temp_path %(dir)s/tmp/fastcgi;
  uwsgi_temp_path %(dir)s/tmp/uwsgi;
  scgi_temp_path %(dir)s/tmp/scgi;
  server {
    listen 127.0.0.1:%(port)d ssl;
    server_name reports.example.test;
    ssl_certificate %(cert)s;
    ssl_certificate_key %(key)s;
    client_max_body_size 20m;
    location / {
      proxy_pass http://127.0.0.1:%(backend)d;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
"""


class Nginx:
    """The real nginx: TLS on 127.0.0.1:port, proxying to backend."""

    def __init__(self, tmp, cert, key, backend):
        self.dir = os.path.join(tmp, "nginx")
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        self.port = free_port()
        user = ""
        if os.geteuid() == 0:
            import grp
            import pwd
            user = "user %s %s;" % (pwd.getpwuid(0).pw_name,
                                    grp.getgrgid(0).gr_name)
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF % {"dir": self.dir, "user": user,
                                  "port": self.port, "cert": cert,
                                  "key": key, "backend": backend})
        self.out = open(os.path.join(self.dir, "nginx.out"), "wb")
        self.proc = subprocess.Popen(
            [shutil.which("nginx"), "-p", self.dir, "-c", conf, "-e",
             os.path.join(self.dir, "error.log"), "-g", "daemon off;"],
            stdout=self.out, stderr=subprocess.STDOUT)
        RUNNING.append(self)

        def up():
            if self.proc.poll() is not None:
                return True
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return True
            except OSError:
                return False
        wait_for(up, 10)
        if self.proc.poll() is not None:
            raise RuntimeError("nginx exited: " + self.errors())

    def errors(self):
        try:
            with open(os.path.join(self.dir, "error.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.out.close()
        if self in RUNNING:
            RUNNING.remove(self)


# ---------------------------------------------------------------- Redis

class Redis:
    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "redis")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.addr = "127.0.0.1:%d" % self.port
        self.out = open(os.path.join(self.dir, "redis.log"), "wb")
        self.proc = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir, "--daemonize", "no"],
            stdout=self.out, stderr=subprocess.STDOUT)
        RUNNING.append(self)
        if not wait_for(lambda: self.proc.poll() is not None or
                        self.cli("PING").strip() == "PONG", 10):
            raise RuntimeError("redis-server does not answer")

    def cli(self, *args):
        r = subprocess.run([shutil.which("redis-cli"), "-h", "127.0.0.1",
                            "-p", str(self.port), "--raw"] + list(args),
                           capture_output=True, timeout=20)
        return r.stdout.decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.out.close()
        if self in RUNNING:
            RUNNING.remove(self)


# ---------------------------------------------------------------- Postfix

POSTFIX_MAIN = """\
compatibility_level = 3.6
queue_directory = {tmp}/queue
data_directory = {tmp}/data
maillog_file = {tmp}/maillog
maillog_file_prefixes = {tmp}
syslog_name = postfix-tlsrptd-test
myhostname = mail.sender.test
mydomain = sender.test
myorigin = sender.test
mydestination =
relay_domains =
inet_interfaces = loopback-only
inet_protocols = ipv4
alias_maps =
alias_database =
local_recipient_maps =
local_transport = error:no local delivery in this test
default_transport = error:no remote delivery in this test
relay_transport = error:no remote delivery in this test
virtual_mailbox_domains = {domains}
virtual_mailbox_base = {tmp}/mail
virtual_mailbox_maps = static:mailbox
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
virtual_minimum_uid = 1
notify_classes =
smtputf8_enable = no
biff = no
default_process_limit = 10
queue_run_delay = 1s
"""

POSTFIX_MASTER = """\
pickup    unix  n - n 1 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
virtual   unix  - n n - - virtual
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


class Postfix:
    """A private instance of the installed Postfix: main.cf and master.cf
    in DIR/conf, queue and data in DIR, no listener, the mail for domains
    delivered by virtual(8) into DIR/mail/mailbox (an mbox file). Its
    sendmail is "/usr/sbin/sendmail -C DIR/conf". Needs root."""

    def __init__(self, tmp, domains):
        self.dir = os.path.join(tmp, "postfix")
        self.conf = os.path.join(self.dir, "conf")
        for d in ("conf", "queue", "data", "mail"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        os.chmod(tmp, 0o755)
        os.chmod(self.dir, 0o755)
        import pwd
        pw = pwd.getpwnam("nobody")
        shutil.chown(os.path.join(self.dir, "data"), "postfix")
        os.chown(os.path.join(self.dir, "mail"), pw.pw_uid, pw.pw_gid)
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(POSTFIX_MAIN.format(tmp=self.dir,
                                        domains=" ".join(domains),
                                        uid=pw.pw_uid, gid=pw.pw_gid))
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(POSTFIX_MASTER)
        self.postfix = shutil.which("postfix") or "/usr/sbin/postfix"
        self.sendmail = (shutil.which("sendmail") or "/usr/sbin/sendmail") + \
            " -C " + self.conf
        self.mailbox = os.path.join(self.dir, "mail", "mailbox")
        r = subprocess.run([self.postfix, "-c", self.conf, "start"],
                           capture_output=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("postfix start: %r %r" % (r.stdout, r.stderr))
        self.pid = None
        pidfile = os.path.join(self.dir, "queue", "pid", "master.pid")
        if not wait_for(lambda: os.path.exists(pidfile), 10):
            raise RuntimeError("postfix wrote no master.pid")
        with open(pidfile) as f:
            self.pid = int(f.read().strip())
        RUNNING.append(self)

    def log(self):
        try:
            with open(os.path.join(self.dir, "maillog"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        subprocess.run([self.postfix, "-c", self.conf, "stop"],
                       capture_output=True, timeout=60)
        if self.pid is not None:
            def gone():
                try:
                    os.kill(self.pid, 0)
                    return False
                except ProcessLookupError:
                    return True
            if not wait_for(gone, 10, 0.1):
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self in RUNNING:
            RUNNING.remove(self)


def report_json(store, day, domain):
    """The recorded report (report-id, JSON bytes) of (day, domain)."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(
        store, "tlsrptd.sqlite"), uri=True, timeout=10)
    try:
        row = db.execute("SELECT report_id, json FROM reports WHERE day = ? "
                         "AND domain = ?", (day, domain)).fetchone()
    finally:
        db.close()
    return row


def totals(report_bytes):
    s = f = 0
    for p in json.loads(report_bytes)["policies"]:
        s += p["summary"]["total-successful-session-count"]
        f += p["summary"]["total-failure-session-count"]
    return s, f
