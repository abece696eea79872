#!/usr/bin/env python3
"""Migration from postfix-mta-sts-resolver: both daemons, one YAML file,
the same questions (meson suites postfix and policyd).

usage: test_migration.py MTASTS_POLICYD SOURCE_ROOT [--show]

postfix-mta-sts-resolver (Debian's package: mta-sts-daemon) and
mtasts-policyd are started one after the other with the same
mta-sts-daemon.yml (host, port 8461, cache sqlite with one file, zones,
timeouts), and each is asked the same keys with Postfix's own client,
`postmap -q KEY socketmap:inet:127.0.0.1:8461:ZONE`, against the e2e rig
(tests/e2e/rig.py): dnsmasq for the records, nginx with a throwaway CA for
the policy hosts.

The resolver uses the system's resolver and CA store and has no options
for others, so everything runs in a private mount and network namespace
(unshare -m -n, its own loopback): dnsmasq answers on 127.0.0.1:53 and a
private /etc/resolv.conf naming it is bind-mounted; nginx listens on
127.0.0.1:443; the rig's CA is given to the resolver with SSL_CERT_FILE
(OpenSSL's default verify paths, which Python's ssl and so aiohttp
honour) and to mtasts-policyd with --ca-file. Both use the namespace's
resolv.conf (mtasts-policyd gets no --dns-server).

They must give the answer AGREED lists (NOTFOUND when not listed) to
every key but the ones in DIFFERENCES, where each gives exactly the answer
listed there, as doc/migration-from-postfix-mta-sts-resolver.md says (the
keys of its table of differences must be those of DIFFERENCES). The one
SQLite file then holds both daemons' tables. Then mtasts-policyd runs once more with the same file plus
`postfix_version: 3.10.5` (the resolver ignores that key): the answer for
the wildcard policy carries mx_host_pattern=*.wild..., which Postfix
3.10.5 and later match one label deep only, while the resolver's answer
still lets Postfix match ".wild..." at any depth.

--show prints both answers for every key (and fails nothing).

Skips (77, with the reason) when not root, without unshare, ip or mount,
without postmap, without the resolver's package
(apt-get install postfix-mta-sts-resolver), or without the rig's
programs (openssl, dnsmasq, nginx).
"""
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # nothing written into the source tree
import pfinstance  # noqa: E402 - tests/postfix/pfinstance.py, beside this

SKIP = 77
INNER = "--inner"
# the resolver's daemon (Debian's package installs it in /usr/bin)
PMSR = shutil.which("mta-sts-daemon") or "/usr/bin/mta-sts-daemon"
PORT = 8461  # the resolver's default; the namespace has its own ports
Z = "e2e.test"


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(SKIP)


def policy(mode, *mx, max_age=86400):
    return ("version: STSv1\r\nmode: %s\r\n" % mode
            + "".join("mx: %s\r\n" % m for m in mx)
            + "max_age: %d\r\n" % max_age).encode()


# label: TXT record(s), policy body, and how it is served
#   cert: "good" (names mta-sts.LABEL.e2e.test), "expired", "wrongname",
#         "untrusted"; serve: "file" (text/plain), "html" (text/html),
#         "404", "301", "hold" (a host that accepts and never answers)
SITES = {
    "enf": (["v=STSv1; id=1;"],
            policy("enforce", "mx1.enf." + Z, "*.mx.enf." + Z), "good",
            "file"),
    "tst": (["v=STSv1; id=1;"], policy("testing", "mx.tst." + Z), "good",
            "file"),
    "non": (["v=STSv1; id=1;"], policy("none"), "good", "file"),
    "wild": (["v=STSv1; id=1;"], policy("enforce", "*.wild." + Z), "good",
             "file"),
    "lf": (["v=STSv1; id=1;"],
           policy("enforce", "mx.lf." + Z).replace(b"\r\n", b"\n"), "good",
           "file"),
    "ext": (["v=STSv1; id=20240101T000000; ext=1"],
            policy("enforce", "mx.ext." + Z), "good", "file"),
    "nf": (["v=STSv1; id=1;"], None, "good", "404"),
    "redir": (["v=STSv1; id=1;"], None, "good", "301"),
    "html": (["v=STSv1; id=1;"], policy("enforce", "mx.html." + Z), "good",
             "html"),
    "exp": (["v=STSv1; id=1;"], policy("enforce", "mx.exp." + Z), "expired",
            "file"),
    "wrong": (["v=STSv1; id=1;"], policy("enforce", "mx.wrong." + Z),
              "wrongname", "file"),
    "untr": (["v=STSv1; id=1;"], policy("enforce", "mx.untr." + Z),
             "untrusted", "file"),
    "two": (["v=STSv1; id=1;", "v=STSv1; id=2;"],
            policy("enforce", "mx.two." + Z), "good", "file"),
    "noid": (["v=STSv1;"], policy("enforce", "mx.noid." + Z), "good",
             "file"),
    "badid": (["v=STSv1; id=2024-01-01;"], policy("enforce", "mx.badid." + Z),
              "good", "file"),
    "longid": (["v=STSv1; id=%s;" % ("1" * 33)],
               policy("enforce", "mx.longid." + Z), "good", "file"),
    "age": (["v=STSv1; id=1;"],
            policy("enforce", "mx.age." + Z, max_age=31557601), "good",
            "file"),
    "nomx": (["v=STSv1; id=1;"], policy("enforce"), "good", "file"),
    "mode": (["v=STSv1; id=1;"], policy("enforcing", "mx.mode." + Z),
             "good", "file"),
    "dup": (["v=STSv1; id=1;"],
            policy("enforce", "mx.dup." + Z) + b"mode: testing\r\n", "good",
            "file"),
    "pat": (["v=STSv1; id=1;"], policy("enforce", "mail.*.pat." + Z),
            "good", "file"),
    "up": (["v=STSv1; id=1;"], policy("enforce", "MX.Up." + Z), "good",
           "file"),
    "spf": (["v=spf1 -all", "v=STSv1; id=1"],
            policy("enforce", "mx.spf." + Z), "good", "file"),
    "hang": (["v=STSv1; id=1;"], None, "good", "hold"),
}

# (key, socketmap name) asked of both daemons, in this order
KEYS = [(lbl + "." + Z, "postfix") for lbl in SITES] + [
    ("tst." + Z, "strict"),
    ("non." + Z, "strict"),
    ("enf." + Z, "nosni"),
    ("nopol." + Z, "postfix"),          # NXDOMAIN
    ("ENF.E2E.Test.", "postfix"),       # case and a trailing dot
    ("." + "enf." + Z, "postfix"),      # Postfix's parent-domain key
    ("[192.0.2.1]", "postfix"),         # an address literal
    ("[127.0.0.1]:25", "postfix"),
    ("enf.%s:25" % Z, "postfix"),       # a next hop with a port
    ("[enf.%s]" % Z, "postfix"),        # a next hop without MX lookup
]

def ok(*patterns):
    return (0, "secure match=%s servername=hostname"
            % ":".join(sorted(patterns)))


NOTFOUND = (1, "")
ENF = ok("mx1.enf." + Z, ".mx.enf." + Z)

# What both daemons answer (postmap's exit status and output; "TEMP" is a
# table error): every key not listed is NOTFOUND.
AGREED = {
    ("enf." + Z, "postfix"): ENF,
    ("wild." + Z, "postfix"): ok(".wild." + Z),
    ("lf." + Z, "postfix"): ok("mx.lf." + Z),
    ("ext." + Z, "postfix"): ok("mx.ext." + Z),
    ("up." + Z, "postfix"): ok("MX.Up." + Z),
    ("spf." + Z, "postfix"): ok("mx.spf." + Z),
    ("tst." + Z, "strict"): ok("mx.tst." + Z),
    ("ENF.E2E.Test.", "postfix"): ENF,
    ("enf." + Z, "nosni"): (0, ENF[1].replace(" servername=hostname", "")),
}

# The documented differences (doc/migration-from-postfix-mta-sts-
# resolver.md, "What answers differently"), each (key, zone): (the
# resolver's answer, mtasts-policyd's).
DIFFERENCES = {
    # 1. a TXT id that is not 1 to 32 letters and digits (RFC 8461 3.1)
    ("badid." + Z, "postfix"): (ok("mx.badid." + Z), NOTFOUND),
    ("longid." + Z, "postfix"): (ok("mx.longid." + Z), NOTFOUND),
    # 2. an mx pattern with a wildcard that is not the first label
    ("pat." + Z, "postfix"): (ok("mail.*.pat." + Z), NOTFOUND),
    # 3. max_age above 31557600: dropped / clamped (errata 7282)
    ("age." + Z, "postfix"): (NOTFOUND, ok("mx.age." + Z)),
    # 4. a key twice in the policy: the last wins / the first wins
    ("dup." + Z, "postfix"): (NOTFOUND, ok("mx.dup." + Z)),
    # 5. a policy host that does not answer within the zone's timeout
    ("hang." + Z, "postfix"): (NOTFOUND, "TEMP"),
    # 6. next hops that are no plain domain
    ("enf.%s:25" % Z, "postfix"): (ENF, NOTFOUND),
    ("[enf.%s]" % Z, "postfix"): (ENF, NOTFOUND),
}


def documented_keys(src):
    """The keys in the "tested with" column of the table of differences in
    doc/migration-from-postfix-mta-sts-resolver.md."""
    with open(os.path.join(src, "doc",
                           "migration-from-postfix-mta-sts-resolver.md")) as f:
        rows = [ln for ln in f.read().splitlines()
                if re.match(r"\| \d+ \|", ln)]
    return {k for ln in rows for k in re.findall(r"`([^`]+)`",
                                                 ln.rstrip(" |")
                                                 .rsplit("|", 1)[1])}


def norm(ans):
    """An answer with its match list sorted: the resolver builds it from
    a set, so its order changes from run to run."""
    rc, out = ans
    m = re.match(r"(secure match=)(\S+)(.*)", out)
    if m:
        out = m.group(1) + ":".join(sorted(m.group(2).split(":"))) \
            + m.group(3)
    return rc, out


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


def line_request(port, text, timeout=10):
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


def ask_all(keys):
    """postmap -q for each key, in order: a list of (answer, stderr), the
    answer (status, output) or "TEMP" for a table error."""
    out = []
    for key, zone in keys:
        rc, val, err = pfinstance.postmap_query(
            key, "socketmap:inet:127.0.0.1:%d:%s" % (PORT, zone))
        if rc not in (0, 1) or (rc == 1 and err):
            out.append(("TEMP", err))
        else:
            out.append((norm((rc, val)), err))
    return out


def run_daemon(R, rig, name, argv, logf, env=None):
    """Start a daemon (a rig.Proc, stopped by its PID), wait for PORT."""
    p = R.Proc(name, argv, logf, rig.reaper, env)
    R.wait_tcp(PORT, 15, p.start(), name)
    return p


def inner(daemon, src, show):
    sys.path.insert(0, os.path.join(src, "tests", "e2e"))
    import rig as R  # noqa: E402 - the rig lives in tests/e2e

    r = subprocess.run(["ip", "link", "set", "lo", "up"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        skip("cannot bring up lo in the network namespace: " + r.stderr)
    tmp = tempfile.mkdtemp(prefix="mtasts-migration.")
    keep = os.environ.get("E2E_KEEP") == "1"
    with open(os.path.join(tmp, "resolv.conf"), "w") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:2 attempts:1\n")
    r = subprocess.run(["mount", "--bind", os.path.join(tmp, "resolv.conf"),
                        "/etc/resolv.conf"], capture_output=True, text=True)
    if r.returncode != 0:
        skip("cannot bind-mount /etc/resolv.conf in the namespace: "
             + r.stderr.strip())

    ck = Checker()
    procs = []
    rig = R.Rig()
    try:
        pki = rig.make_pki()
        ca = pki.ca_file
        certs = {
            "good": pki.issue("good", ["mta-sts.%s.%s" % (lbl, Z)
                                       for lbl in SITES]),
            "expired": pki.issue("expired", ["mta-sts.exp." + Z],
                                 expired=True),
            "wrongname": pki.issue("wrongname", ["mta-sts.other." + Z]),
            "untrusted": pki.issue("untrusted", ["mta-sts.untr." + Z],
                                   ca="untrusted"),
        }
        for lbl, (txts, body, cert, serve) in SITES.items():
            host = "mta-sts.%s.%s" % (lbl, Z)
            for t in txts:
                rig.dns.txt("_mta-sts.%s.%s" % (lbl, Z), t)
            if serve == "hold":
                rig.dns.a(host, "127.0.0.9")
                continue
            rig.dns.a(host)
            loc = {"404": {}, "301": {
                "/.well-known/mta-sts.txt":
                    "return 301 https://mta-sts.enf.%s/.well-known/"
                    "mta-sts.txt;" % Z}}.get(serve)
            if loc is None:
                path = rig.nginx.file(lbl + ".txt", body)
                ctype = "text/html" if serve == "html" else "text/plain"
                loc = {"/.well-known/mta-sts.txt":
                       "default_type %s; alias %s;" % (ctype, path)}
            rig.nginx.server(host, certs[cert], loc)
        # the MX hosts of the wildcard domain (Postfix would look them
        # up; the policy daemons never do)
        rig.dns.mx("wild." + Z, "a.deep.wild." + Z, 5)
        rig.dns.mx("wild." + Z, "mx.wild." + Z, 10)
        rig.tcp_hold(60, "127.0.0.9", 443)
        rig.dns.port = 53    # the namespace's resolv.conf names it
        rig.nginx.port = 443  # where https://mta-sts.DOMAIN/ goes
        rig.start()

        cfg = os.path.join(tmp, "mta-sts-daemon.yml")
        db = os.path.join(tmp, "cache.db")
        yml = f"""\
# one file for both daemons
host: 127.0.0.1
port: {PORT}
reuse_port: true
shutdown_timeout: 2
cache_grace: 60
cache:
  type: sqlite
  options:
    filename: {db}
default_zone:
  strict_testing: false
  timeout: 2
zones:
  strict:
    strict_testing: true
    timeout: 2
  nosni:
    require_sni: false
# mtasts-policyd's extension (the resolver ignores it): an HTTPS fetch may
# go on after the client's timeout, and its result serves the next request
fetch_timeout: 5
"""
        with open(cfg, "w") as f:
            f.write(yml)

        # 1. postfix-mta-sts-resolver
        t0 = time.monotonic()
        p = run_daemon(R, rig, "mta-sts-daemon",
                       [PMSR, "-c", cfg, "-v", "debug"],
                       os.path.join(tmp, "pmsr.log"),
                       env={"SSL_CERT_FILE": ca})
        procs.append(p)
        theirs = ask_all(KEYS)
        # the host that never answers, asked again: the resolver looks
        # it up again (a failure is not cached) and answers NOTFOUND
        theirs += ask_all([("hang." + Z, "postfix")])
        p.stop()
        t1 = time.monotonic()

        # 2. mtasts-policyd, the same file (and the same SQLite file)
        p = run_daemon(R, rig, "mtasts-policyd",
                       [daemon, "--foreground", "--config", cfg,
                        "--ca-file", ca],
                       os.path.join(tmp, "policyd.log"))
        procs.append(p)
        ours = ask_all(KEYS)
        # the host that never answers, asked again once the fetch the first
        # request started has failed (fetch_timeout): no policy, at once
        deadline = time.monotonic() + 15
        while "event=lookup domain=hang.%s outcome=" % Z not in p.log_text():
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        ours += ask_all([("hang." + Z, "postfix")])
        st = line_request(PORT, "stats")
        proc = p.p
        p.stop()
        pd_log = p.log_text()
        ck.check(proc.returncode == 0, "mtasts-policyd exits with status 0 "
                 "after SIGTERM", "%s\n%s" % (proc.returncode, pd_log))
        t2 = time.monotonic()
        print("(resolver %.1f s, mtasts-policyd %.1f s)" % (t1 - t0,
                                                          t2 - t1))

        if show:
            for k, a, b in zip(KEYS + [("hang." + Z, "again")], theirs,
                               ours):
                print("%-24s %-7s resolver=%r\n%33s ours=%r" % (
                    k[0], k[1], a[0], "", b[0]))
                if a[1] or b[1]:
                    print("%33s stderr: %r / %r" % ("", a[1], b[1]))
            return 0

        # --- the answers, key by key
        doc = documented_keys(src)
        ck.check(doc == {k for k, _ in DIFFERENCES},
                 "the differences tested are those the migration document "
                 "lists", "document %r, test %r" % (
                     sorted(doc), sorted(k for k, _ in DIFFERENCES)))
        for k, (a, a_err), (b, b_err) in zip(KEYS, theirs, ours):
            what = "postmap -q %s socketmap:...:%s" % k
            if k in DIFFERENCES:
                want_a, want_b = DIFFERENCES[k]
                ck.check(a == want_a and b == want_b,
                         what + ": the documented difference, resolver "
                         "%r, mtasts-policyd %r" % (want_a, want_b),
                         "got %r / %r\n%s\n%s" % (a, b, a_err, b_err))
            else:
                want = AGREED.get(k, NOTFOUND)
                ck.check(a == want and b == want,
                         what + ": both %r" % (want,),
                         "resolver %r, mtasts-policyd %r\n%s\n%s"
                         % (a, b, a_err, b_err))
        ck.check("temporarily unavailable" in ours[KEYS.index(
            ("hang." + Z, "postfix"))][1],
            "hang: postmap reports mtasts-policyd's TEMP as a temporary "
            "error", ours[KEYS.index(("hang." + Z, "postfix"))][1])
        ck.check(theirs[-1][0] == NOTFOUND and ours[-1][0] == NOTFOUND,
                 "hang, asked again after the fetch failed: both NOTFOUND",
                 "%r / %r" % (theirs[-1], ours[-1]))
        # the resolver really read the file: its SQLite cache, its port
        con = sqlite3.connect(db)
        try:
            tables = {r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            pmsr_rows = con.execute(
                "SELECT count(*) FROM sts_policy_cache").fetchone()[0] \
                if "sts_policy_cache" in tables else 0
        finally:
            con.close()
        ck.check(pmsr_rows >= 5, "the resolver's cache (sts_policy_cache) "
                 "is in the configured SQLite file (%d rows)" % pmsr_rows,
                 repr(tables))
        # mtasts-policyd used the same file beside it, and saw Postfix 3.7
        try:
            stats = json.loads(st)
        except ValueError:
            stats = {}
        cache = stats.get("cache", {})
        ck.check(cache.get("type") == "sqlite" and cache.get("state") == "up"
                 and cache.get("backend_writes", 0) >= 5
                 and cache.get("errors") == 0,
                 "mtasts-policyd's SQLite cache in the same file is up and "
                 "written", st)
        ck.check(len(tables) >= 2, "the file has both daemons' tables",
                 repr(tables))
        ck.check(stats.get("postfix_version") == pfinstance.mail_version(),
                 "mtasts-policyd answered for the installed Postfix "
                 "(postfix_version: auto)", st)
        ck.check("event=config_warning" not in pd_log
                 and "level=error" not in pd_log,
                 "mtasts-policyd read the resolver's file without a "
                 "warning", pd_log)

        # --- the same file for Postfix 3.10.5: the wildcard's depth
        with open(cfg, "a") as f:
            f.write("postfix_version: 3.10.5\n")
        p = run_daemon(R, rig, "mtasts-policyd",
                       [daemon, "--foreground", "--config", cfg,
                        "--ca-file", ca],
                       os.path.join(tmp, "policyd2.log"))
        procs.append(p)
        (w, w_err), = ask_all([("wild." + Z, "postfix")])
        p.stop()
        ck.check(w != "TEMP" and w[0] == 0 and re.search(
            r"(^| )match=\.wild\.e2e\.test ", w[1])
            and " policy_type=sts " in w[1]
            and " policy_domain=wild.e2e.test " in w[1]
            and " mx_host_pattern=*.wild.e2e.test" in w[1],
            "for Postfix 3.10.5 the wildcard policy's answer carries "
            "mx_host_pattern=*.wild.e2e.test (one label deep), which the "
            "resolver's answer never has", "%r %s" % (w, w_err))
        a_wild = theirs[KEYS.index(("wild." + Z, "postfix"))][0]
        ck.check("mx_host_pattern" not in str(a_wild),
                 "the resolver's answer for wild: only match=.wild.e2e.test "
                 "(any depth)", repr(a_wild))
    finally:
        for p in procs:
            p.stop()
        if ck.failures or sys.exc_info()[0] is not None:
            for p in procs:
                print("--- %s log\n%s" % (p.name, p.log_text()))
        rig.stop()
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
    show = "--show" in sys.argv
    if INNER in sys.argv:
        return inner(daemon, src, show)
    if os.geteuid() != 0:
        skip("needs root (unshare, bind mounts)")
    if pfinstance.program("postmap") is None:
        skip("postmap is not installed (apt-get install postfix)")
    if not os.access(PMSR, os.X_OK):
        skip(PMSR + " is not installed (apt-get install "
             "postfix-mta-sts-resolver)")
    if not pfinstance.namespace_preflight(src, daemon, skip):
        print("FAIL: no mtasts-policyd at " + daemon)
        return 1
    argv = [sys.executable, os.path.abspath(__file__), daemon, src, INNER]
    if show:
        argv.append("--show")
    p = subprocess.run(["unshare", "-m", "-n", "--propagation", "private"]
                       + argv)
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
