#!/usr/bin/env python3
"""HTTPS policy fetch and STARTTLS probe of libmtasts-net against real
servers on loopback (meson suite net).

usage: test_http.py PATH_TO_HTTP_CLIENT [PATH_TO_HTTP_OOM]

Everything lives in a temp dir: a throwaway CA and certificates made with
the openssl command (a good one, an expired one, a not yet valid one, one
for the wrong name, one from a CA the client does not trust), a real nginx
on free loopback ports (its config, pid file, logs and temp paths in the
temp dir; stopped by the PID this script started), and, in threads of this
script, the servers nginx cannot play: one that accepts TCP and never
answers, one that completes the TLS handshake and never answers, and SMTP
listeners with STARTTLS for the probe.

The client (http_client.c) makes one request through the public API and
prints its result as JSON. Every server is reached under its real name
through the connect-to mapping ("mta-sts.good.test:443:127.0.0.1:PORT"),
so the certificate is checked against that name. Each fetch case runs in
blocking mode and again in event-loop mode (--loop), and asserts the
transport outcome, the TLS outcome, the HTTP status, the Content-Type, the
body length, the libcurl code and the certificate's notAfter. The SMTP
listeners log each session's commands: a probe says EHLO, STARTTLS, EHLO,
QUIT and never MAIL, RCPT or DATA. Last, http_oom (when built: it needs
the linker's --wrap) sweeps allocation failures over one good fetch and
one good probe.

Skips (77) when nginx or openssl is missing. With NET_HTTP_VALGRIND=1 in
the environment, the client and the sweep run under valgrind (any error or
leak fails the case).
"""
import calendar
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
CLIENT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
OOM = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None

# mtasts_fetch_status and mtasts_tls_status (mtasts.h)
FETCH = {"OK": 0, "CONNECT": 1, "TIMEOUT": 2, "TLS": 3, "CERT": 4,
         "TOO_BIG": 5, "ERROR": 6}
TLS = {"NOT_TRIED": 0, "OK": 1, "NO_STARTTLS": 2, "HOST_MISMATCH": 3,
       "EXPIRED": 4, "UNTRUSTED": 5, "FAILED": 6}
MAX = 65536          # the policy size cap used by every fetch
TIMEOUT_MS = 2000    # total time of the fetches that are meant to time out
ERROR_PAGE = object()  # body_len of an nginx error page: > 0, names the status
POLICY = (b"version: STSv1\nmode: enforce\nmx: mx.good.test\n"
          b"max_age: 86400\n")

failures = []


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, timeout=120, **kw)


# ------------------------------------------------------------ certificates

def asn1_time(t):
    return time.strftime("%Y%m%d%H%M%SZ", time.gmtime(t))


class Pki:
    """A CA made with `openssl req -x509`, leaves signed with `openssl ca`
    (explicit start and end dates, so expired and future certificates are
    possible), all in dir."""

    def __init__(self, dir, name):
        self.dir = os.path.join(dir, name)
        os.makedirs(os.path.join(self.dir, "new"))
        open(os.path.join(self.dir, "index.txt"), "w").close()
        with open(os.path.join(self.dir, "serial"), "w") as f:
            f.write("1000\n")
        self.cnf = os.path.join(self.dir, "ca.cnf")
        with open(self.cnf, "w") as f:
            f.write("[ca]\ndefault_ca = test_ca\n[test_ca]\n"
                    "dir = %s\ndatabase = $dir/index.txt\n"
                    "new_certs_dir = $dir/new\nserial = $dir/serial\n"
                    "default_md = sha256\npolicy = any\n"
                    "copy_extensions = copy\nunique_subject = no\n"
                    "[any]\ncommonName = supplied\n" % self.dir)
        self.cert = os.path.join(self.dir, "ca.pem")
        self.key = os.path.join(self.dir, "ca.key")
        r = run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                 "-keyout", self.key, "-out", self.cert, "-days", "3650",
                 "-subj", "/CN=libmtasts test CA " + name])
        if r.returncode != 0:
            raise RuntimeError(r.stderr.decode())

    def leaf(self, name, sans, not_before, not_after):
        """A certificate for sans (DNS names); returns (cert, key)."""
        key = os.path.join(self.dir, name + ".key")
        csr = os.path.join(self.dir, name + ".csr")
        cert = os.path.join(self.dir, name + ".pem")
        r = run(["openssl", "req", "-newkey", "rsa:2048", "-nodes",
                 "-keyout", key, "-out", csr, "-subj", "/CN=" + sans[0],
                 "-addext", "subjectAltName=" +
                 ",".join("DNS:" + s for s in sans)])
        if r.returncode != 0:
            raise RuntimeError(r.stderr.decode())
        r = run(["openssl", "ca", "-batch", "-config", self.cnf,
                 "-cert", self.cert, "-keyfile", self.key, "-in", csr,
                 "-out", cert, "-notext",
                 "-startdate", asn1_time(not_before),
                 "-enddate", asn1_time(not_after)])
        if r.returncode != 0:
            raise RuntimeError(r.stderr.decode())
        return cert, key


# ----------------------------------------------------------------- servers

class LoopbackServer(threading.Thread):
    """A TCP listener on a free loopback port; each connection is served by
    self.serve(conn) in its own thread until stop is set."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.conns = []

    def run(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self.serve_safe, args=(conn,),
                             daemon=True).start()

    def serve_safe(self, conn):
        try:
            conn.settimeout(30)
            self.serve(conn)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def shutdown(self):
        self.stop = True
        self.sock.close()
        self.join(5)


def drain(conn):
    """Read until the peer closes (bounded by the socket timeout)."""
    while conn.recv(4096):
        pass


class Silent(LoopbackServer):
    """Accepts the TCP connection and never says a word."""

    def serve(self, conn):
        drain(conn)


class TlsSilent(LoopbackServer):
    """Completes the TLS handshake, then never answers the request."""

    def __init__(self, ctx):
        super().__init__()
        self.ctx = ctx

    def serve(self, conn):
        tls = self.ctx.wrap_socket(conn, server_side=True)
        drain(tls)


class Smtp(LoopbackServer):
    """An SMTP listener with STARTTLS. mode: "starttls" (offer it),
    "no-starttls" (do not offer it), "refuse" (offer it, answer 454),
    "hang" (greet, then never answer). Each session's commands are kept in
    self.sessions."""

    def __init__(self, ctx, mode):
        super().__init__()
        self.ctx = ctx
        self.mode = mode
        self.sessions = []

    def serve(self, conn):
        cmds = []
        self.sessions.append(cmds)
        sock = conn
        buf = b""
        tls = False
        sock.sendall(b"220 mx.test ESMTP libmtasts test\r\n")
        while True:
            while b"\r\n" not in buf:
                data = sock.recv(4096)
                if not data:
                    return
                buf += data
            line, buf = buf.split(b"\r\n", 1)
            cmd = line.decode("ascii", "replace")
            cmds.append(cmd)
            verb = cmd.split(" ")[0].upper()
            if self.mode == "hang":
                continue
            if verb in ("EHLO", "HELO"):
                lines = ["250-mx.test", "250-PIPELINING"]
                if self.mode != "no-starttls" and not tls:
                    lines.append("250-STARTTLS")
                lines.append("250 8BITMIME")
                sock.sendall(("\r\n".join(lines) + "\r\n").encode())
            elif verb == "STARTTLS" and self.mode != "no-starttls":
                if self.mode == "refuse":
                    sock.sendall(b"454 4.7.0 TLS not available\r\n")
                    continue
                sock.sendall(b"220 2.0.0 go ahead\r\n")
                sock = self.ctx.wrap_socket(sock, server_side=True)
                tls = True
                buf = b""
            elif verb == "QUIT":
                sock.sendall(b"221 2.0.0 bye\r\n")
                return
            elif verb == "NOOP":
                sock.sendall(b"250 2.0.0 ok\r\n")
            else:
                sock.sendall(b"502 5.5.1 not here\r\n")


def server_ctx(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


NGINX_CONF = """\
worker_processes 1;
%(user)s
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log;
events { worker_connections 64; }
http {
  log_format probe '$server_port $request_uri ua="$http_user_agent" '
                   'ae="$http_accept_encoding" cookie="$http_cookie"';
  access_log %(dir)s/access.log probe;
  client_body_temp_path %(dir)s/tmp/body;
  proxy_temp_path %(dir)s/tmp/proxy;
  fastcgi_temp_path %(dir)s/tmp/fastcgi;
  uwsgi_temp_path %(dir)s/tmp/uwsgi;
  scgi_temp_path %(dir)s/tmp/scgi;
  types { }
  default_type text/plain;
  gzip off;
  server {
    listen 127.0.0.1:%(good)d ssl;
    ssl_certificate %(good_cert)s;
    ssl_certificate_key %(good_key)s;
    root %(dir)s/www;
    location = /policy { try_files /policy.txt =404; }
    location = /notype { default_type ""; try_files /policy.txt =404; }
    location = /html { default_type text/html; try_files /policy.txt =404; }
    location = /charset {
      default_type "text/plain; charset=utf-8";
      try_files /policy.txt =404;
    }
    location = /moved { return 301 https://elsewhere.test/policy; }
    location = /error { return 500; }
    location = /64k { try_files /64k.txt =404; }
    location = /64k1 { try_files /64k1.txt =404; }
    # sub_filter drops Content-Length: the response is chunked
    location = /chunked-64k {
      sub_filter_types *; sub_filter 'no-such-text' 'x'; sub_filter_once off;
      try_files /64k.txt =404;
    }
    location = /chunked-64k1 {
      sub_filter_types *; sub_filter 'no-such-text' 'x'; sub_filter_once off;
      try_files /64k1.txt =404;
    }
    # a 404 with a body over the cap, declared, and chunked
    location = /big-404 { error_page 404 =404 /64k1; return 404; }
    location = /big-404-chunked {
      error_page 404 =404 /chunked-64k1; return 404;
    }
    # the headers and some body at once, then 50 bytes a second
    location = /slow { limit_rate_after 1024; limit_rate 50;
                       try_files /64k.txt =404; }
  }
%(others)s
}
"""

NGINX_SERVER = """\
  server {
    listen 127.0.0.1:%(port)d ssl;
    ssl_certificate %(cert)s;
    ssl_certificate_key %(key)s;
    %(extra)s
    root %(dir)s/www;
    location / { try_files /policy.txt =404; }
  }
"""


class Nginx:
    def __init__(self, dir, good, others):
        self.dir = dir
        for d in ("www", "tmp"):
            os.makedirs(os.path.join(dir, d), exist_ok=True)
        www = os.path.join(dir, "www")
        with open(os.path.join(www, "policy.txt"), "wb") as f:
            f.write(POLICY)
        with open(os.path.join(www, "64k.txt"), "wb") as f:
            f.write(b"a" * MAX)
        with open(os.path.join(www, "64k1.txt"), "wb") as f:
            f.write(b"a" * (MAX + 1))
        user = ""
        if os.geteuid() == 0:
            import grp
            import pwd
            user = "user %s %s;" % (pwd.getpwuid(0).pw_name,
                                    grp.getgrgid(0).gr_name)
        self.ports = [good[0]] + [o[0] for o in others]
        conf = NGINX_CONF % {
            "dir": dir, "user": user, "good": good[0],
            "good_cert": good[1], "good_key": good[2],
            "others": "".join(NGINX_SERVER % {
                "port": p, "cert": c, "key": k, "extra": x, "dir": dir}
                for p, c, k, x in others)}
        self.conf = os.path.join(dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.log = open(os.path.join(dir, "nginx.out"), "wb")
        self.proc = subprocess.Popen(
            [shutil.which("nginx"), "-p", dir, "-c", self.conf,
             "-e", os.path.join(dir, "error.log"), "-g", "daemon off;"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        for port in self.ports:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError("nginx exited: " + self.errors())
                try:
                    socket.create_connection(("127.0.0.1", port), 1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("nginx does not listen on %d: %s"
                                           % (port, self.errors()))
                    time.sleep(0.05)

    def errors(self):
        out = b""
        for name in ("nginx.out", "error.log"):
            try:
                with open(os.path.join(self.dir, name), "rb") as f:
                    out += f.read()
            except OSError:
                pass
        return out.decode("utf-8", "replace")

    def access_log(self):
        with open(os.path.join(self.dir, "access.log")) as f:
            return f.read().splitlines()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


# ------------------------------------------------------------------ client

VALGRIND = (["valgrind", "--quiet", "--error-exitcode=1", "--leak-check=full",
             "--errors-for-leak-kinds=definite,indirect,possible"]
            if os.environ.get("NET_HTTP_VALGRIND") == "1" else [])


def client(args, env=None):
    r = run(VALGRIND + [CLIENT] + args, env=env)
    out = r.stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        res = json.loads(out[-1]) if out else {}
    except ValueError:
        res = {}
    res["_rc"] = r.returncode
    res["_out"] = r.stdout.decode("utf-8", "replace") + \
        r.stderr.decode("utf-8", "replace")
    return res


def describe(res):
    return json.dumps({k: v for k, v in res.items()
                       if k not in ("body", "_out")}) + " " + res["_out"][-300:]


def main():
    if CLIENT is None or not os.access(CLIENT, os.X_OK):
        print("usage: test_http.py PATH_TO_HTTP_CLIENT")
        return 2
    for prog in ("nginx", "openssl"):
        if shutil.which(prog) is None:
            skip(prog + " is not installed")

    tmp = tempfile.mkdtemp(prefix="mtasts-http-")
    servers = []
    nginx = None
    try:
        now = int(time.time())
        day = 86400
        ca = Pki(tmp, "ca")
        other_ca = Pki(tmp, "other-ca")
        good_end = (now + 3650 * day) // day * day
        expired_end = (now - 30 * day) // day * day
        future_end = (now + 3650 * day) // day * day
        good = ca.leaf("good", ["mta-sts.good.test", "mx.good.test"],
                       now - day, good_end)
        expired = ca.leaf("expired", ["mta-sts.expired.test",
                                      "mx.expired.test"],
                          now - 400 * day, expired_end)
        future = ca.leaf("future", ["mta-sts.future.test", "mx.future.test"],
                         now + 300 * day, future_end)
        wrong = ca.leaf("wrong", ["other.test"], now - day, good_end)
        untrusted = other_ca.leaf("untrusted", ["mta-sts.untrusted.test",
                                                "mx.untrusted.test"],
                                  now - day, good_end)

        port = {n: free_port() for n in
                ("good", "expired", "future", "wrong", "untrusted", "tls11")}
        nginx = Nginx(
            os.path.join(tmp, "nginx"), (port["good"],) + good,
            [(port["expired"],) + expired + ("",),
             (port["future"],) + future + ("",),
             (port["wrong"],) + wrong + ("",),
             (port["untrusted"],) + untrusted + ("",),
             # a server that speaks TLS 1.1 at most
             (port["tls11"],) + good +
             ("ssl_protocols TLSv1.1; ssl_ciphers DEFAULT:@SECLEVEL=0;",)])

        silent = Silent()
        tls_silent = TlsSilent(server_ctx(*good))
        smtp = {
            "good": Smtp(server_ctx(*good), "starttls"),
            "expired": Smtp(server_ctx(*expired), "starttls"),
            "future": Smtp(server_ctx(*future), "starttls"),
            "wrong": Smtp(server_ctx(*wrong), "starttls"),
            "untrusted": Smtp(server_ctx(*untrusted), "starttls"),
            "no-starttls": Smtp(server_ctx(*good), "no-starttls"),
            "refuse": Smtp(server_ctx(*good), "refuse"),
            "hang": Smtp(server_ctx(*good), "hang"),
            "plain": Smtp(server_ctx(*good), "starttls"),  # for fetches
            "oom": Smtp(server_ctx(*good), "starttls"),
        }
        servers = [silent, tls_silent] + list(smtp.values())
        for s in servers:
            s.start()
        closed = free_port()  # nothing listens there

        ca_opt = ["--ca", ca.cert]

        def fetch(name, path, p, max_size=MAX, timeout=10000, extra=(),
                  env=None):
            host = "mta-sts.%s.test" % name
            out = []
            for mode in ([], ["--loop"]):
                out.append(client(
                    ca_opt + list(extra) + mode +
                    ["--connect-to", "%s:443:127.0.0.1:%d" % (host, p),
                     "fetch", "https://%s%s" % (host, path), host,
                     str(max_size), str(timeout)], env=env))
            return out

        def expect(case, results, transport, tls, http=0, ctype=None,
                   body_len=0, curl=None, not_after=None, body=None):
            for res in results:
                what = "%s%s: " % (case, " (loop)" if res is results[-1]
                                   and len(results) > 1 else "")
                ok = (res["_rc"] == 0 and res.get("status") == 0 and
                      res.get("transport") == FETCH[transport] and
                      res.get("tls") == TLS[tls] and
                      res.get("http_status") == http and
                      res.get("content_type") == ctype and
                      (res.get("body_len") == body_len or
                       (body_len is ERROR_PAGE and
                        res.get("body_len", 0) > 0 and
                        str(http) in res.get("body", ""))) and
                      res.get("body_nul") == 1 and
                      (curl is None or res.get("curl_code") == curl) and
                      (not_after is None or
                       res.get("cert_not_after") == not_after) and
                      (body is None or
                       res.get("body", "").encode() == body) and
                      ((transport == "OK" and curl == 0) ==
                       (res.get("error") == "")))
                check(ok, what + "expected transport=%s tls=%s http=%d "
                      "type=%r len=%s curl=%s not_after=%s, got %s"
                      % (transport, tls, http, ctype, body_len, curl,
                         not_after, describe(res)))
                print("ok   " if ok else "FAIL ", what, "curl",
                      res.get("curl_code"), "verify",
                      res.get("verify_result"), repr(res.get("error")))

        g = port["good"]
        # ---- responses
        expect("good policy", fetch("good", "/policy", g), "OK", "OK", 200,
               "text/plain", len(POLICY), 0, good_end, POLICY)
        # nginx's own pages: their length is nginx's business
        expect("404", fetch("good", "/missing", g), "OK", "OK", 404,
               "text/html", ERROR_PAGE, 0)
        expect("301 not followed", fetch("good", "/moved", g), "OK", "OK",
               301, "text/html", ERROR_PAGE, 0)
        expect("500", fetch("good", "/error", g), "OK", "OK", 500,
               "text/html", ERROR_PAGE, 0)
        expect("text/html", fetch("good", "/html", g), "OK", "OK", 200,
               "text/html", len(POLICY), 0)
        expect("no Content-Type", fetch("good", "/notype", g), "OK", "OK",
               200, None, len(POLICY), 0)
        expect("charset", fetch("good", "/charset", g), "OK", "OK", 200,
               "text/plain; charset=utf-8", len(POLICY), 0)
        # ---- the size cap
        expect("exactly 64 KiB", fetch("good", "/64k", g), "OK", "OK", 200,
               "text/plain", MAX, 0)
        expect("64 KiB + 1 (Content-Length)", fetch("good", "/64k1", g),
               "TOO_BIG", "OK", 200, "text/plain", 0, 63)
        expect("chunked exactly 64 KiB", fetch("good", "/chunked-64k", g),
               "OK", "OK", 200, "text/plain", MAX, 0)
        expect("chunked 64 KiB + 1", fetch("good", "/chunked-64k1", g),
               "TOO_BIG", "OK", 200, "text/plain", 0, 23)
        # a fetch error by its status, however long the body: no TOO_BIG
        expect("404 over the cap (Content-Length)",
               fetch("good", "/big-404", g), "OK", "OK", 404, "text/plain",
               0, 63)
        expect("404 over the cap (chunked)",
               fetch("good", "/big-404-chunked", g), "OK", "OK", 404,
               "text/plain", 0, 23)
        expect("cap 60 on a 61-byte policy",
               fetch("good", "/policy", g, max_size=len(POLICY) - 1),
               "TOO_BIG", "OK", 200, "text/plain", 0, 63)
        expect("cap 61 on a 61-byte policy",
               fetch("good", "/policy", g, max_size=len(POLICY)),
               "OK", "OK", 200, "text/plain", len(POLICY), 0)
        # ---- certificates
        expect("expired", fetch("expired", "/", port["expired"]), "CERT",
               "EXPIRED", curl=60, not_after=expired_end)
        expect("not yet valid", fetch("future", "/", port["future"]),
               "CERT", "EXPIRED", curl=60, not_after=future_end)
        expect("wrong name", fetch("wrong", "/", port["wrong"]), "CERT",
               "HOST_MISMATCH", curl=60, not_after=good_end)
        expect("untrusted CA", fetch("untrusted", "/", port["untrusted"]),
               "CERT", "UNTRUSTED", curl=60, not_after=good_end)
        expect("good cert, other CA file",
               fetch("good", "/policy", g,
                     extra=["--ca", other_ca.cert]), "CERT", "UNTRUSTED",
               curl=60)
        empty_ca = os.path.join(tmp, "empty.pem")
        open(empty_ca, "w").close()
        expect("empty CA file",
               fetch("good", "/policy", g, extra=["--ca", empty_ca]),
               "CERT", "FAILED", curl=77)
        res = client(["--ca", os.path.join(tmp, "none.pem"), "fetch",
                      "https://mta-sts.good.test/", "mta-sts.good.test",
                      str(MAX), "5000"])
        check(res.get("new") == -1,  # MTASTS_EINVAL
              "a missing CA file is refused by mtasts_net_new: " +
              describe(res))
        # ---- TLS and transport
        expect("TLS 1.1 only", fetch("good", "/", port["tls11"]), "TLS",
               "FAILED", curl=35)
        expect("not TLS at all", fetch("good", "/", smtp["plain"].port),
               "TLS", "FAILED", curl=35)
        expect("connection refused", fetch("good", "/", closed), "CONNECT",
               "NOT_TRIED", curl=7)
        expect("accepts, never answers",
               fetch("good", "/", silent.port, timeout=TIMEOUT_MS),
               "TIMEOUT", "NOT_TRIED", curl=28)
        expect("TLS, then never answers",
               fetch("good", "/", tls_silent.port, timeout=TIMEOUT_MS),
               "TIMEOUT", "OK", curl=28)
        slow = fetch("good", "/slow", g, timeout=TIMEOUT_MS)
        expect("slow drip", slow, "TIMEOUT", "OK", 200, "text/plain", 0,
               curl=28)
        # a proxy in the environment is not used
        env = dict(os.environ, https_proxy="http://127.0.0.1:%d" % closed,
                   HTTPS_PROXY="http://127.0.0.1:%d" % closed,
                   ALL_PROXY="http://127.0.0.1:%d" % closed)
        expect("proxy variables ignored",
               fetch("good", "/policy", g, env=env), "OK", "OK", 200,
               "text/plain", len(POLICY), 0)
        # ---- what went over the wire
        log = [l for l in nginx.access_log()
               if l.startswith("%d " % g)]
        check(len(log) > 0, "nginx logged the fetches")
        for l in log:
            check('ua="libmtasts-net/1.0"' in l and 'ae="-"' in l and
                  'cookie="-"' in l, "request headers: " + l)
        check(not any("elsewhere" in l for l in nginx.access_log()),
              "the redirect was not followed")

        # ---- argument checks and cancellation
        host = "mta-sts.good.test"
        ct = ["--connect-to", "%s:443:127.0.0.1:%d" % (host, g)]
        res = client(ca_opt + ct + ["fetch", "https://other.test/policy",
                                    host, str(MAX), "5000"])
        check(res.get("start") == -1,  # MTASTS_EINVAL
              "a URL for another host is EINVAL: " + describe(res))
        res = client(ca_opt + ct + ["fetch", "http://%s/policy" % host,
                                    host, str(MAX), "5000"])
        check(res.get("start") is not None and res["start"] < 0,
              "an http:// URL is refused: " + describe(res))
        res = client(ca_opt + ["--connect-to",
                               "%s:443:127.0.0.1:%d" % (host, silent.port),
                               "cancel", "https://%s/" % host, host])
        check(res["_rc"] == 0 and res.get("status") == -100,
              "freeing the handle cancels: " + describe(res))

        # ---- STARTTLS probes
        def probe(name, server, extra=()):
            mx = "mx.%s.test" % name
            out = []
            for mode in ([], ["--loop"]):
                out.append(client(
                    ca_opt + list(extra) + mode +
                    ["--helo", "probe.client.test", "--connect-to",
                     "%s:25:127.0.0.1:%d" % (mx, server), "probe", mx,
                     "25"]))
            return out

        def expect_probe(case, results, tls, connected, curl=None,
                         not_after=None, version=None):
            for res in results:
                what = "probe %s%s: " % (case, " (loop)" if res is
                                         results[-1] else "")
                ok = (res["_rc"] == 0 and res.get("status") == 0 and
                      res.get("tls") == TLS[tls] and
                      res.get("connected") == connected and
                      (curl is None or res.get("curl_code") == curl) and
                      (not_after is None or
                       res.get("cert_not_after") == not_after) and
                      (version is None or
                       res.get("tls_version") == version) and
                      (tls == "OK") == (res.get("error") == ""))
                check(ok, what + "expected tls=%s connected=%d curl=%s, "
                      "got %s" % (tls, connected, curl, describe(res)))
                print("ok   " if ok else "FAIL ", what, "curl",
                      res.get("curl_code"), "verify",
                      res.get("verify_result"), repr(res.get("error")))

        expect_probe("good", probe("good", smtp["good"].port), "OK", 1, 0,
                     good_end, "TLSv1.3")
        expect_probe("expired", probe("expired", smtp["expired"].port),
                     "EXPIRED", 1, 60, expired_end)
        expect_probe("not yet valid", probe("future", smtp["future"].port),
                     "EXPIRED", 1, 60, future_end)
        expect_probe("wrong name", probe("wrong", smtp["wrong"].port),
                     "HOST_MISMATCH", 1, 60)
        expect_probe("untrusted", probe("untrusted", smtp["untrusted"].port),
                     "UNTRUSTED", 1, 60)
        expect_probe("no STARTTLS", probe("good", smtp["no-starttls"].port),
                     "NO_STARTTLS", 1, 64)
        expect_probe("STARTTLS refused", probe("good", smtp["refuse"].port),
                     "NO_STARTTLS", 1, 64)
        expect_probe("connection refused", probe("good", closed), "FAILED",
                     0, 7)
        expect_probe("greets, then silent",
                     probe("good", smtp["hang"].port,
                           extra=["--probe-timeout", str(TIMEOUT_MS)]),
                     "FAILED", 1, 28)
        expect_probe("HTTPS server is no SMTP server",
                     probe("good", g, extra=["--probe-timeout",
                                             str(TIMEOUT_MS)]),
                     "FAILED", 0, 28)
        # what the good server heard: no mail, a polite QUIT
        for s in smtp.values():
            for cmds in s.sessions:
                verbs = [c.split(" ")[0].upper() for c in cmds]
                check(not set(verbs) & {"MAIL", "RCPT", "DATA"},
                      "no mail is sent: %r" % cmds)
        sessions = smtp["good"].sessions
        check(len(sessions) == 2 and all(
            [c.split(" ")[0].upper() for c in cmds] ==
            ["EHLO", "STARTTLS", "EHLO", "QUIT"] and
            cmds[0] == "EHLO probe.client.test" for cmds in sessions),
            "a good probe says EHLO, STARTTLS, EHLO, QUIT: %r" % sessions)

        # ---- allocation failures over a real fetch and probe
        if OOM is not None:
            for args in (["mta-sts.good.test:443:127.0.0.1:%d" % g, "fetch",
                          "https://mta-sts.good.test/policy",
                          "mta-sts.good.test"],
                         ["mx.good.test:25:127.0.0.1:%d" % smtp["oom"].port,
                          "probe", "mx.good.test", "25"]):
                r = subprocess.run(VALGRIND + [OOM, ca.cert] + args,
                                   capture_output=True, timeout=1200)
                out = r.stdout.decode("utf-8", "replace")
                print(out.strip())
                check(r.returncode == 0 and out.strip().endswith("clean"),
                      "allocation-failure sweep of %s: %s"
                      % (args[1], out[-2000:] +
                         r.stderr.decode("utf-8", "replace")[-500:]))
            for cmds in smtp["oom"].sessions:
                verbs = [c.split(" ")[0].upper() for c in cmds]
                check(not set(verbs) & {"MAIL", "RCPT", "DATA"},
                      "no mail is sent: %r" % cmds)
        else:
            print("(no allocation-failure sweep: http_oom was not built)")
    finally:
        for s in servers:
            s.shutdown()
        if nginx is not None:
            nginx.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("all cases passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
