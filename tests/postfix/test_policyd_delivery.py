#!/usr/bin/env python3
"""Real Postfix delivering through mtasts-policyd (meson suites postfix and
policyd).

usage: test_policyd_delivery.py MTASTS_POLICYD SOURCE_ROOT

A private Postfix instance (tests/postfix/pfinstance.py: its own config,
queue, data directory and maillog_file in a temp dir, smtpd on loopback
only) has

    smtp_tls_policy_maps = socketmap:inet:127.0.0.1:8461:postfix
    smtp_tls_security_level = may
    smtp_tls_CApath = /etc/ssl/certs
    smtp_tls_CAfile = the rig's CA

and mtasts-policyd answers on 8461. The main.cf settings, the daemon's
configuration file (postfix-mta-sts-resolver's format; postfix_version is
left to auto, so the daemon asks `postconf` which Postfix this is) and the
`postmap -q` check are those of README.md's "Postfix in five minutes",
with only the cache file moved to the temp dir and the checked domain
replaced. The policies come from the e2e rig (tests/e2e/rig.py): dnsmasq
for the TXT, MX and A records and nginx, with a throwaway CA, for the
policy files; the daemon reaches them through --dns-server, --ca-file and
--connect-to.

Postfix must look up the MX hosts that the policy names, so it uses real
DNS: everything runs in a private mount and network namespace (unshare -m
-n, its own loopback), where the rig's dnsmasq answers on 127.0.0.1:53 and
a private /etc/resolv.conf naming it is bind-mounted. Each MX host has its
own loopback address (127.0.0.2, ...) where a STARTTLS sink (the rig's
MailSink) listens on port 25 and accepts the mail. Nothing outside the
namespace is touched.

Cases (one message each), read from Postfix's own log and checked at the
sinks:
  good.e2e.test     enforce, mx mx.good; the MX's certificate names it
                    -> "Verified TLS connection established", status=sent,
                       the sink has the message over TLS
  badcert.e2e.test  enforce, mx mx.badcert; the MX's certificate names
                    another host -> status=deferred, certificate not
                    verified; no message at the sink
  testing.e2e.test  testing, the MX's certificate names another host
                    -> status=sent (TLS not verified: the default level)
  wild.e2e.test     enforce, mx *.wild; MX 5 a.deep.wild (two labels under
                    the wildcard; its certificate names it), MX 10 mx.wild
                    -> Postfix before 3.10.5 matches the answer's
                    ".wild.e2e.test" at any depth, whichever daemon
                    answers: delivered to a.deep.wild, verified (the
                    limitation doc/migration-from-postfix-mta-sts-resolver.md
                    describes); from 3.10.5 on a.deep.wild must not get it
Then: nginx's access log has one policy request per domain, and the
daemon's stats count Postfix's requests.

Skips (77, with the reason) when not root, without unshare, ip or mount,
without Postfix (postfix, postconf, postmap), or without the rig's
programs (openssl, dnsmasq, nginx).
"""
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # nothing written into the source tree
import pfinstance  # noqa: E402 - tests/postfix/pfinstance.py, beside this

SKIP = 77
INNER = "--inner"
DEADLINE = 45  # seconds for every delivery to be logged

# domain: (mode, policy mx patterns, [(pref, mx, addr, certificate names)])
CASES = {
    "good.e2e.test": ("enforce", ["mx.good.e2e.test"],
                      [(10, "mx.good.e2e.test", "127.0.0.2",
                        ["mx.good.e2e.test"])]),
    "badcert.e2e.test": ("enforce", ["mx.badcert.e2e.test"],
                         [(10, "mx.badcert.e2e.test", "127.0.0.3",
                           ["other.e2e.test"])]),
    "testing.e2e.test": ("testing", ["mx.testing.e2e.test"],
                         [(10, "mx.testing.e2e.test", "127.0.0.4",
                           ["other.e2e.test"])]),
    "wild.e2e.test": ("enforce", ["*.wild.e2e.test"],
                      [(5, "a.deep.wild.e2e.test", "127.0.0.5",
                        ["a.deep.wild.e2e.test"]),
                       (10, "mx.wild.e2e.test", "127.0.0.6",
                        ["mx.wild.e2e.test"])]),
}


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


def readme_postfix(src):
    """The README's "Postfix in five minutes": its configuration file (the
    yaml block), its main.cf settings (the quoted arguments of its
    `postconf -e` lines) and its `postmap -q` command (argv)."""
    with open(os.path.join(src, "README.md")) as f:
        text = f.read()
    m = re.search(r"^## Postfix in five minutes\n(.*?)^## ", text,
                  re.M | re.S)
    if m is None:
        raise SystemExit("FAIL: README.md has no 'Postfix in five minutes'")
    sec = m.group(1)
    y = re.findall(r"^```yaml\n(.*?)^```", sec, re.M | re.S)
    settings = [a for ln in sec.splitlines() if ln.startswith("postconf -e ")
                for a in re.findall(r"'([^']*)'", ln)]
    postmap = [shlex.split(ln) for ln in sec.splitlines()
               if ln.startswith("postmap -q ")]
    if len(y) != 1 or not settings or len(postmap) != 1:
        raise SystemExit("FAIL: README.md 'Postfix in five minutes': "
                         "expected one yaml block, postconf -e lines and "
                         "one postmap -q line")
    return y[0], settings, postmap[0]


def version_tuple(v):
    return tuple(int(x) for x in re.findall(r"\d+", v)[:3])


def line_request(port, text, timeout=10):
    """One request of the daemon's line protocol; the answer up to EOF."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(text.encode() + b"\n")
        s.shutdown(socket.SHUT_WR)
        out = b""
        while len(out) < 1 << 20:
            d = s.recv(65536)
            if not d:
                break
            out += d
    return out.decode("utf-8", "replace")


def inner(daemon, src):
    sys.path.insert(0, os.path.join(src, "tests", "e2e"))
    import rig as R  # noqa: E402 - the rig lives in tests/e2e

    r = subprocess.run(["ip", "link", "set", "lo", "up"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        skip("cannot bring up lo in the network namespace: " + r.stderr)
    tmp = tempfile.mkdtemp(prefix="mtasts-pfdeliver.")
    os.chmod(tmp, 0o755)  # postfix-owned processes walk into it
    keep = os.environ.get("E2E_KEEP") == "1"
    with open(os.path.join(tmp, "resolv.conf"), "w") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:2 attempts:2\n")
    r = subprocess.run(["mount", "--bind", os.path.join(tmp, "resolv.conf"),
                        "/etc/resolv.conf"], capture_output=True, text=True)
    if r.returncode != 0:
        skip("cannot bind-mount /etc/resolv.conf in the namespace: "
             + r.stderr.strip())
    version = pfinstance.mail_version()
    if version is None:
        skip("postconf -d -h mail_version failed")

    ck = Checker()
    sinks = {}
    pf = None
    pd = None
    rig = R.Rig()
    try:
        pki = rig.make_pki()
        ca = os.path.join(tmp, "ca.pem")
        shutil.copy(pki.ca_file, ca)
        os.chmod(ca, 0o644)
        policy_cert = pki.issue("policy", ["mta-sts." + d for d in CASES])
        for i, (dom, (mode, pats, mxs)) in enumerate(CASES.items()):
            rig.dns.txt("_mta-sts." + dom, f"v=STSv1; id=2024{i};")
            rig.dns.a("mta-sts." + dom)
            body = (f"version: STSv1\nmode: {mode}\n"
                    + "".join(f"mx: {p}\n" for p in pats)
                    + "max_age: 86400\n")
            path = rig.nginx.file(dom + ".txt", body.encode())
            rig.nginx.server("mta-sts." + dom, policy_cert,
                             {"/.well-known/mta-sts.txt":
                              f"default_type text/plain; alias {path};"})
            for pref, mx, addr, names in mxs:
                rig.dns.mx(dom, mx, pref)
                rig.dns.a(mx, addr)
                sinks[mx] = rig.mail_sink(pki.issue(mx, names), addr, 25, mx)
        rig.dns.port = 53  # the namespace's resolv.conf names it
        rig.start()

        # mtasts-policyd with the README's configuration file (the port is
        # the namespace's own; the cache file goes to the temp dir)
        yml, settings, postmap = readme_postfix(src)
        port = 8461
        ck.check(f"port: {port}\n" in yml and
                 "/var/lib/mta-sts/cache.db" in yml,
                 "the README's configuration: port 8461, a SQLite cache",
                 yml)
        cfg = os.path.join(tmp, "mta-sts-daemon.yml")
        with open(cfg, "w") as f:
            f.write(yml.replace("/var/lib/mta-sts/cache.db",
                                os.path.join(tmp, "cache.db")))
        pd = R.Proc("mtasts-policyd",
                    [daemon, "--foreground", "--config", cfg,
                     "--dns-server", "127.0.0.1:53", "--ca-file", ca,
                     "--connect-to", f":443:127.0.0.1:{rig.nginx.port}"],
                    os.path.join(tmp, "policyd.log"), rig.reaper)
        R.wait_tcp(port, 10, pd.start(), "mtasts-policyd")

        # the README's main.cf settings, and the rig's CA
        ck.check(f"smtp_tls_policy_maps = socketmap:inet:127.0.0.1:{port}:"
                 "postfix" in settings, "the README's main.cf names the "
                 "daemon's socketmap", repr(settings))
        pf = pfinstance.Instance(tmp, "".join(a + "\n" for a in settings)
                                 + f"smtp_tls_CAfile = {ca}\n"
                                 "smtp_tls_loglevel = 1\n")
        pf.start()
        # the README's check, on a domain of the rig
        argv = [pfinstance.program("postmap") if a == "postmap" else
                "good.e2e.test" if a == "gmail.com" else a for a in postmap]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        ck.check(r.returncode == 0 and r.stdout.strip() ==
                 "secure match=mx.good.e2e.test servername=hostname",
                 "the README's postmap -q check: " + " ".join(argv),
                 f"exit {r.returncode}: {r.stdout}{r.stderr}")
        rcpts = {d: "user@" + d for d in CASES}
        qids = {rcpts[d]: pf.inject(rcpts[d]) for d in CASES}
        status = pf.wait_status(qids, DEADLINE)
        log = pf.log()

        def lines(dom):
            """The log lines of dom's message and of its MX hosts."""
            keys = [qids[rcpts[dom]] + ":"] + [mx + "[" for _, mx, _, _ in
                                               CASES[dom][2]]
            return [ln for ln in log.splitlines()
                    if any(k in ln for k in keys)]

        def sent_to(dom, host, tls_kind):
            ls = "\n".join(lines(dom))
            q = qids[rcpts[dom]]
            ck.check(status.get(rcpts[dom]) == "sent" and re.search(
                r"%s: to=<%s>, relay=%s\[[0-9.]+\]:25, .*status=sent"
                % (q, re.escape(rcpts[dom]), re.escape(host)), log),
                f"{dom}: status=sent, relay {host} (maillog)", ls or log)
            ck.check(re.search(r"%s TLS connection established to %s\["
                               % (tls_kind, re.escape(host)), log),
                     f"{dom}: {tls_kind} TLS connection to {host} (maillog)",
                     ls or log)
            got = sinks[host].got(rcpts[dom])
            ck.check(len(got) == 1 and got[0]["tls"],
                     f"{dom}: the sink of {host} has the message, over TLS",
                     repr(sinks[host].messages))

        # 1. enforce, matching MX with a good certificate
        sent_to("good.e2e.test", "mx.good.e2e.test", "Verified")
        # 2. enforce, the MX's certificate does not match the policy
        dom = "badcert.e2e.test"
        q = qids[rcpts[dom]]
        ck.check(status.get(rcpts[dom]) == "deferred" and re.search(
            r"%s: to=<%s>, relay=mx\.badcert\.e2e\.test\[127\.0\.0\.3\]:25,"
            r" .*status=deferred \(Server certificate not verified\)"
            % (q, re.escape(rcpts[dom])), log),
            f"{dom}: status=deferred (Server certificate not verified)",
            "\n".join(lines(dom)) or log)
        ck.check(re.search(r"server certificate verification failed for "
                           r"mx\.badcert\.e2e\.test\[127\.0\.0\.3\]:25: "
                           r".*hostname mismatch", log),
                 f"{dom}: Postfix logged the certificate verification "
                 "failure (hostname mismatch)", "\n".join(lines(dom)) or log)
        sink = sinks["mx.badcert.e2e.test"]
        ck.check(not sink.got(rcpts[dom]) and any(
            s["tls"] for s in sink.sessions),
            f"{dom}: Postfix reached the MX and started TLS, no message",
            repr(sink.sessions) + repr(sink.messages))
        # 3. testing: delivered although the certificate does not match
        sent_to("testing.e2e.test", "mx.testing.e2e.test",
                "(Trusted|Untrusted|Anonymous)")
        ck.check(not re.search(r"Verified TLS connection established to "
                               r"mx\.testing", log),
                 "testing.e2e.test: not verified (no enforcement)",
                 "\n".join(lines("testing.e2e.test")))
        # 4. the wildcard and an MX two labels below it
        if version_tuple(version) < (3, 10, 5):
            sent_to("wild.e2e.test", "a.deep.wild.e2e.test", "Verified")
        else:
            # smtp_tls_enforce_sts_mx_patterns (default yes): only MX hosts
            # that match a pattern one label deep (doc/postfix.md)
            ck.check(not sinks["a.deep.wild.e2e.test"].messages,
                     "wild.e2e.test: a.deep.wild.e2e.test gets no mail",
                     repr(sinks["a.deep.wild.e2e.test"].messages))
            sent_to("wild.e2e.test", "mx.wild.e2e.test", "Verified")

        # the daemon answered Postfix, one HTTPS fetch per domain
        for d in CASES:
            n = len(rig.nginx.requests("mta-sts." + d))
            ck.check(n == 1, f"{d}: one policy request in nginx's access log"
                     f" ({n})", repr(rig.nginx.requests()))
        st = line_request(port, "stats")
        try:
            requests = json.loads(st)["requests"]
        except (ValueError, KeyError, TypeError):
            requests = None
        ck.check(isinstance(requests, int) and requests >= len(CASES),
                 "the daemon's stats count Postfix's requests", st)
        plog = pd.log_text()
        ck.check(f"answering for Postfix {version}," in plog,
                 f"the daemon found Postfix {version} (postfix_version: "
                 "auto)", plog)
        pf.stop()
        proc = pd.p
        pd.stop()
        ck.check(proc.returncode == 0, "the daemon exits with status 0 "
                 "after SIGTERM", f"{proc.returncode}\n{pd.log_text()}")
    finally:
        if pf is not None:
            pf.stop()
        if pd is not None:
            pd.stop()
        rig.stop()
        if ck.failures:
            print("--- maillog\n" + (pf.log()[-8000:] if pf else ""))
            print("--- mtasts-policyd\n" + (pd.log_text() if pd else ""))
        if keep:
            print("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"{ck.passed} passed, {len(ck.failures)} failed")
    return 1 if ck.failures else 0


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    daemon, src = (os.path.abspath(a) for a in sys.argv[1:3])
    if INNER in sys.argv:
        return inner(daemon, src)
    if os.geteuid() != 0:
        skip("needs root (a private Postfix instance, unshare, bind mounts)")
    miss = pfinstance.missing_programs()
    if miss:
        skip(", ".join(miss) + " not installed (apt-get install postfix)")
    if not pfinstance.namespace_preflight(src, daemon, skip):
        print("FAIL: no mtasts-policyd at " + daemon)
        return 1
    t0 = time.monotonic()
    p = subprocess.run(["unshare", "-m", "-n", "--propagation", "private",
                        sys.executable, os.path.abspath(__file__), daemon,
                        src, INNER])
    print(f"({time.monotonic() - t0:.1f} s)")
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
