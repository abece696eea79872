#!/usr/bin/env python3
"""Real-Postfix test of the smtp_tls_policy_maps answer (meson suite postfix).

usage: test_postfix.py PATH_TO_MTASTS

Runs the installed Postfix as a private instance (its own config, queue and
data directories in a temp dir, loopback only) whose smtp_tls_policy_maps is
a socketmap served by this script. Every answer comes from
`mtasts decide --postfix <installed mail_version>`, so the library's real
output is what Postfix parses and applies. Mail goes to a STARTTLS sink on
loopback with a certificate for mx1.example.test from a throwaway CA.

Routing, and why the lookup key is honest: Postfix asks the policy table
for the next-hop destination string. A transport next hop such as
[127.0.0.1]:2525 would make that key "[127.0.0.1]:2525", not the domain an
MTA-STS daemon sees in production. So the next hop stays the recipient
domain (no transport_maps, no relayhost); smtp_tcp_port points the smtp
client at the sink's port (the port is then not part of the key); DNS is
off (smtp_dns_support_level = disabled, smtp_host_lookup = native), and the
recipient domains resolve to 127.0.0.1 through a private /etc/hosts that is
bind-mounted only inside a mount namespace (unshare -m) in which the master
is started. The system's /etc/hosts is not touched. The keys Postfix sends
are logged and checked to be the bare domains.

Cases (one message each), read back from Postfix's own log (maillog_file):
  good.test     enforce, mx: mx1.example.test     -> secure, Verified TLS, sent
  wild.test     enforce, mx: *.example.test       -> secure (match=.example.test),
                                                     Verified TLS, sent
  bad.test      enforce, mx: mx.other.test        -> certificate does not match
                                                     the policy: deferred
  testing.test  testing policy                    -> NOTFOUND: default level
                                                     (may): sent, not Verified
  nopol.test    no policy                         -> NOTFOUND: same
  temp.test     temporary failure                 -> TEMP: deferred
  future.test   control: the answer made for Postfix 3.10.5 -> the installed
                version logs "invalid attribute name" and defers (this is the
                bug the version-dependent answer fixes; it shows that the
                test can see it)
Then: no "invalid attribute" in the log except for future.test.

Skips (exit 77) when not root, when postfix, postconf, openssl or unshare
is missing, or when a mount namespace cannot be made.
"""
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading

sys.dont_write_bytecode = True  # nothing written into the source tree
import pfinstance  # noqa: E402 - tests/postfix/pfinstance.py, beside this

SKIP = 77
TOOL = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
DEADLINE = 60  # seconds for all deliveries to be logged

POLICIES = {
    "good.test": b"version: STSv1\nmode: enforce\nmx: mx1.example.test\n"
                 b"max_age: 86400\n",
    "wild.test": b"version: STSv1\nmode: enforce\nmx: *.example.test\n"
                 b"max_age: 86400\n",
    "bad.test": b"version: STSv1\nmode: enforce\nmx: mx.other.test\n"
                b"max_age: 86400\n",
    "testing.test": b"version: STSv1\nmode: testing\nmx: mx.other.test\n"
                    b"max_age: 86400\n",
    "future.test": b"version: STSv1\nmode: enforce\nmx: mx1.example.test\n"
                   b"max_age: 86400\n",
}
DOMAINS = ["good.test", "wild.test", "bad.test", "testing.test", "nopol.test",
           "temp.test", "future.test"]


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, timeout=60, **kw)


# ---------------------------------------------------------------- socketmap

def netstring_read(f):
    """One netstring from a file object, or None at EOF."""
    n = b""
    while True:
        c = f.read(1)
        if not c:
            return None
        if c == b":":
            break
        if not c.isdigit() or len(n) > 6:
            raise ValueError("bad netstring length")
        n += c
    data = f.read(int(n))
    if f.read(1) != b",":
        raise ValueError("netstring without ','")
    return data


class LoopbackServer(threading.Thread):
    """A TCP listener on a free loopback port; each connection is served by
    self.serve(conn) in its own thread until stop is set."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.stop = False

    def run(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,),
                             daemon=True).start()


class Socketmap(LoopbackServer):
    """Netstring socketmap server: "name key" in, the tool's answer out."""

    def __init__(self, tmp, version):
        super().__init__()
        self.tmp, self.version = tmp, version
        self.keys, self.answers, self.errors = [], {}, []

    def answer(self, key):
        # The version that asks; future.test gets the 3.10.5 answer on
        # purpose (the negative control).
        ver = "3.10.5" if key == "future.test" else self.version
        args = [TOOL, "decide", "--postfix", ver, "--domain", key]
        if key == "temp.test":
            args.append("--temp")
        elif key in POLICIES:
            args.append(os.path.join(self.tmp, key + ".policy"))
        else:
            args.append("--no-policy")
        p = subprocess.run(args, capture_output=True, timeout=10)
        if p.returncode == 0:
            return p.stdout.rstrip(b"\n")
        # Not a domain (cannot happen with the routing above): no policy.
        self.errors.append((key, p.returncode, p.stderr))
        return b"NOTFOUND "

    def serve(self, conn):
        # Postfix keeps a socketmap connection open while idle (10 s by
        # default) and then closes it; a longer silence ends it here.
        conn.settimeout(60)
        f = conn.makefile("rwb")
        try:
            while True:
                req = netstring_read(f)
                if req is None:
                    return
                name, _, key = req.decode("ascii", "replace").partition(" ")
                self.keys.append(key)
                ans = self.answer(key)
                self.answers[key] = ans
                f.write(b"%d:%s," % (len(ans), ans))
                f.flush()
        except socket.timeout:
            pass
        except (OSError, ValueError) as e:
            self.errors.append(("connection", 0, str(e)))
        finally:
            f.close()
            conn.close()


# ---------------------------------------------------------------- SMTP sink

class Sink(LoopbackServer):
    """A STARTTLS SMTP server on loopback that accepts every message."""

    def __init__(self, cert, key):
        super().__init__()
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.received = []  # (rcpt list, tls?)

    def serve(self, conn):
        conn.settimeout(30)
        tls = False
        f = conn.makefile("rwb")

        def say(line):
            f.write(line.encode() + b"\r\n")
            f.flush()

        try:
            say("220 mx1.example.test ESMTP test sink")
            rcpts = []
            while True:
                line = f.readline(1000)
                if not line:
                    return
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    say("250-mx1.example.test")
                    if not tls:
                        say("250-STARTTLS")
                    say("250 8BITMIME")
                elif line.upper().startswith(b"STARTTLS"):
                    say("220 go ahead")
                    f.close()
                    conn = self.ctx.wrap_socket(conn, server_side=True)
                    conn.settimeout(30)
                    f = conn.makefile("rwb")
                    tls = True
                elif verb == b"MAIL":
                    rcpts = []
                    say("250 ok")
                elif verb == b"RCPT":
                    rcpts.append(line[8:].strip().decode("ascii", "replace"))
                    say("250 ok")
                elif verb == b"DATA":
                    say("354 go")
                    while True:
                        d = f.readline(10000)
                        if not d or d in (b".\r\n", b".\n"):
                            break
                    self.received.append((rcpts, tls))
                    say("250 queued")
                elif verb == b"QUIT":
                    say("221 bye")
                    return
                else:
                    say("250 ok")
        except (OSError, ssl.SSLError):
            return
        finally:
            try:
                f.close()
                conn.close()
            except OSError:
                pass


# ---------------------------------------------------------------- Postfix

# The smtp client of this test (pfinstance.MAIN_CF has the rest).
MAIN_CF = """\
# Client TLS: the default level is "may", so NOTFOUND is visible as an
# unverified (Trusted) session, and "secure" answers as Verified ones.
smtp_tls_security_level = may
smtp_tls_CAfile = {tmp}/ca.pem
smtp_tls_loglevel = 1
smtp_tls_policy_maps = socketmap:inet:127.0.0.1:{psm}:mtasts
# No DNS: the next hop is the recipient domain, found in the private hosts
# file; the sink listens on smtp_tcp_port.
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtp_tcp_port = {psink}
"""


def make_ca(tmp):
    """A throwaway CA and a certificate for mx1.example.test."""
    def ossl(*args):
        p = run(["openssl", *args], cwd=tmp)
        if p.returncode != 0:
            raise RuntimeError("openssl %s: %s" % (args[0], p.stderr))

    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=mtasts test CA", "-keyout", "ca.key", "-out", "ca.pem",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj",
         "/CN=mx1.example.test", "-keyout", "mx.key", "-out", "mx.csr")
    with open(os.path.join(tmp, "mx.ext"), "w") as f:
        f.write("subjectAltName=DNS:mx1.example.test\n"
                "extendedKeyUsage=serverAuth\n")
    ossl("x509", "-req", "-in", "mx.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-days", "2", "-extfile", "mx.ext", "-out",
         "mx.pem")


def main():
    if TOOL is None:
        print("usage: test_postfix.py PATH_TO_MTASTS")
        return 2
    if os.geteuid() != 0:
        skip("not root: a private Postfix instance must be started as root")
    for prog in ("openssl", "unshare", "mount"):
        if shutil.which(prog) is None:
            skip(prog + " is not installed")
    miss = pfinstance.missing_programs()
    if miss:
        skip(", ".join(miss) + " not installed (apt-get install postfix)")
    version = pfinstance.mail_version()
    if version is None:
        skip("postconf -d -h mail_version failed")
    # The tool must accept what postconf prints (this is the point).
    p = run([TOOL, "decide", "--postfix", version, "--domain", "x.test",
             "--no-policy"])
    if p.returncode != 0:
        print("FAIL: mtasts does not accept Postfix version %r: %r"
              % (version, p.stderr))
        return 1
    p = run(["unshare", "-m", "true"])
    if p.returncode != 0:
        skip("cannot make a mount namespace (unshare -m): %r" % p.stderr)

    tmp = tempfile.mkdtemp(prefix="mtasts-postfix-")
    os.chmod(tmp, 0o755)  # postfix-owned processes walk into it
    pf = None
    sm = sink = None
    qids = {}
    status = {}
    try:
        make_ca(tmp)
        for dom, body in POLICIES.items():
            with open(os.path.join(tmp, dom + ".policy"), "wb") as f:
                f.write(body)
        hosts = os.path.join(tmp, "hosts")
        with open(hosts, "w") as f:
            f.write("127.0.0.1 localhost\n")
            for dom in DOMAINS:
                f.write("127.0.0.1 %s\n" % dom)

        sm = Socketmap(tmp, version)
        sink = Sink(os.path.join(tmp, "mx.pem"), os.path.join(tmp, "mx.key"))
        sm.start()
        sink.start()
        pf = pfinstance.Instance(tmp, MAIN_CF.format(tmp=tmp, psm=sm.port,
                                                     psink=sink.port))

        # Start the master inside a mount namespace with the private hosts
        # file; the namespace lives as long as the master and its children.
        def in_ns(argv):
            return ["unshare", "-m", "--propagation", "private", "sh", "-c",
                    'mount --bind "$0" /etc/hosts && exec "$@"', hosts] + argv
        try:
            pf.start(wrap=in_ns)
        except pfinstance.PostfixError as e:
            print("FAIL: %s" % e)
            return 1

        for dom in DOMAINS:
            qids[dom] = pf.inject("user@" + dom)
        got = pf.wait_status({"user@" + d: q for d, q in qids.items()},
                             DEADLINE)
        status = {rcpt[5:]: st for rcpt, st in got.items()}
    finally:
        # Stop by the master's PID (and postfix stop), then the servers.
        if pf is not None:
            pf.stop()
        if sm is not None:
            sm.stop = True
            sm.sock.close()
        if sink is not None:
            sink.stop = True
            sink.sock.close()
        saved_log = pf.log() if pf is not None else None
        shutil.rmtree(tmp, ignore_errors=True)

    failures = []

    def check(name, cond, detail=""):
        if not cond:
            failures.append("%s: %s" % (name, detail))

    log = saved_log or ""
    lines = log.splitlines()

    def lines_for(dom):
        q = qids.get(dom)
        return [l for l in lines if (q and q + ":" in l) or
                ("user@" + dom) in l or ("to %s[" % dom) in l or
                (" %s/" % dom) in l or ("TLS policy lookup for %s" % dom) in l
                or ("to %s[127.0.0.1]" % dom) in l]

    def has(dom, pat):
        return any(re.search(pat, l) for l in lines_for(dom))

    check("every message was logged", len(status) == len(DOMAINS),
          "status %r after %ds" % (status, DEADLINE))
    # The keys Postfix asked for are the bare recipient domains.
    for dom in DOMAINS:
        check("lookup key " + dom, dom in sm.keys, sm.keys)
    # After NOTFOUND Postfix also asks for the parent domain (".test"),
    # which gets NOTFOUND too; no other key may appear.
    check("only domain and parent keys",
          set(sm.keys) <= set(DOMAINS) | {".test"}, sm.keys)
    check("parent key answered NOTFOUND",
          sm.answers.get(".test", b"NOTFOUND ") == b"NOTFOUND ",
          sm.answers.get(".test"))
    check("socketmap errors", not sm.errors, sm.errors)
    pre310 = tuple(int(x) for x in re.findall(r"\d+", version)[:2]) < (3, 10)
    if pre310:
        check("legacy answer for " + version, sm.answers.get("good.test") ==
              b"OK secure match=mx1.example.test servername=hostname",
              sm.answers.get("good.test"))
    check("wildcard answer", sm.answers.get("wild.test", b"").startswith(
        b"OK secure match=.example.test"), sm.answers.get("wild.test"))

    for dom in ("good.test", "wild.test"):
        check(dom + " sent", status.get(dom) == "sent", status.get(dom))
        check(dom + " verified TLS",
              has(dom, r"Verified TLS connection established to %s\["
                  % re.escape(dom)), "\n".join(lines_for(dom)))
    check("bad.test deferred", status.get("bad.test") == "deferred",
          status.get("bad.test"))
    check("bad.test: certificate not verified",
          has("bad.test", r"[Ss]erver certificate not verified|"
              r"certificate verification failed|TLS is required"),
          "\n".join(lines_for("bad.test")))
    for dom in ("testing.test", "nopol.test"):
        check(dom + " sent", status.get(dom) == "sent", status.get(dom))
        check(dom + " default level (may): not Verified",
              has(dom, r"(Trusted|Untrusted|Anonymous) TLS connection "
                  r"established to %s\[" % re.escape(dom)) and
              not has(dom, r"Verified TLS connection"),
              "\n".join(lines_for(dom)))
    check("temp.test deferred", status.get("temp.test") == "deferred",
          status.get("temp.test"))
    check("temp.test: socketmap TEMP seen as a lookup error",
          re.search(r"socketmap server temporary error: MTA-STS policy for "
                    r"temp\.test", log) is not None and
          re.search(r'"temp\.test": policy table lookup error', log)
          is not None, "\n".join(lines_for("temp.test")))
    # The control: the 3.10.5 answer breaks this Postfix (below 3.10).
    if pre310:
        check("future.test deferred (control)",
              status.get("future.test") == "deferred",
              status.get("future.test"))
        check("future.test invalid attribute (control)",
              re.search(r'invalid attribute name: "policy_type"', log)
              is not None, "no invalid attribute warning")
    bad_attr = [l for l in lines if "invalid attribute" in l and
                "future.test" not in l and
                'name: "policy_type"' not in l]
    check("no invalid attribute for the real answers", not bad_attr,
          "\n".join(bad_attr))
    # dsn 4.7.5 "client TLS configuration problem" is how Postfix defers
    # on a failed policy lookup (TEMP) and on an invalid answer (the
    # control); nothing else may get it.
    tls_conf = [l for l in lines if "client TLS configuration problem" in l
                and not any(d in l or (qids.get(d) or "?") in l
                            for d in ("temp.test", "future.test"))]
    check("no TLS configuration problem outside TEMP and the control",
          not tls_conf, "\n".join(tls_conf))
    check("sink got the sent mail over TLS",
          sorted(r[0][0].lower() for r in sink.received if r[1]) ==
          sorted("<user@%s>" % d for d in
                 ("good.test", "wild.test", "testing.test", "nopol.test")),
          sink.received)

    if failures:
        print("Postfix %s log:" % version)
        print(log)
        print("FAILED:")
        print("\n".join(failures))
        return 1
    print("postfix %s: keys asked: %s" % (version, sorted(set(sm.keys))))
    print("postfix %s: answers applied: %s" % (version, status))
    return 0


if __name__ == "__main__":
    sys.exit(main())
