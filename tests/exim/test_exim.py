#!/usr/bin/env python3
"""Real-Exim test of the ${dlfunc} module mtasts_exim.so (meson suite exim).

usage: test_exim.py MODULE_SO SOURCE_ROOT CACHE_DIR [--sanitized]

Exim and Postfix conflict as Debian packages, so Exim is not installed:
Debian's exim4-daemon-heavy .deb is fetched with `apt-get download` into
CACHE_DIR (once) and unpacked with `dpkg-deb -x`; its binary runs as root
with a private configuration (-C: root keeps its privileges with -C), its
spool, logs and pid file in a temporary directory. MTASTS_EXIM_BIN=PATH
uses another exim binary instead.

Everything runs inside a private mount and network namespace (unshare -m
-n), so that Exim can be sent through real DNS and real port 25 without
touching the machine:
  - the namespace has its own loopback: dnsmasq (the e2e rig, RIG_DIR/rig.py)
    answers on 127.0.0.1:53, and a private /etc/resolv.conf naming it is
    bind-mounted, so Exim's dnslookup router and the module's c-ares both
    ask it for MX, A and TXT records;
  - each MX host has its own address (127.0.0.2, .3, ...) where a STARTTLS
    SMTP sink (the rig's MailSink) listens on port 25 and accepts whole
    messages;
  - Exim's binary runs its transports as the user "Debian-exim": a private
    /etc/passwd and /etc/group with that user are bind-mounted when the
    system has none. The system's files are never changed.
The policy hosts are served by the rig's nginx (a throwaway CA); the module
reaches it through its connect_to option (the nginx port is a free port).

The Exim configuration is taken from contrib/exim/README.md's own code
blocks (only the CA file and the daemon's port are changed): an
MTA-STS dnslookup router for enforce-mode domains (ignore_target_hosts from
the module), a redirect router that defers when no MX is left, the normal
dnslookup router, and an smtp transport whose TLS requirements come from
the module. The module's cache is one SQLite file in a directory owned by
Debian-exim; every module call does a real lookup (memo=0), so the
transport processes, which run as Debian-exim, read and write the file the
root delivery process created.

Cases (one message each), read from Exim's own mainlog and checked at the
sinks:
  good.e2e.test      enforce, mx mx.good    -> delivered over TLS, CV=yes
  wild.e2e.test      enforce, mx *.wild; MX 5 a.deep.wild (valid cert),
                     MX 10 mx.wild          -> a.deep ignored (one label
                                               only), delivered to mx.wild
  badcert.e2e.test   enforce, the MX's certificate names another host
                                            -> deferred by the transport
  badmx.e2e.test     enforce, no MX matches -> deferred by the router
  testing.e2e.test   testing, bad cert      -> delivered (CV=no)
  tf@good.e2e.test   the module's DNS never answers (dns_tempfail=defer,
                     no cache)              -> deferred by the router, the
                                               MX never reached
Then the cache: a second message to good.e2e.test is delivered with no new
HTTPS request (nginx's access log), the SQLite file has the entry and
belongs to Debian-exim, and the module never logged a store failure.
Then each function through Exim's expansion test mode (exim -be): the
answers, a temporary failure (DEFER) and the timeout bound.

Skips (77, with the reason) when not root, without unshare/ip, without the
rig or its programs (openssl, dnsmasq, nginx), when the .deb cannot be
obtained or its libraries are missing, and for a sanitizer build (Exim
cannot load a module built with ASan).
"""
import os
import pwd
import grp
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

SKIP = 77
INNER = "--inner"


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(SKIP)


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


# ---------------------------------------------------------------- Exim


def missing_libs(exe):
    p = subprocess.run(["ldd", exe], capture_output=True, text=True)
    return [ln.split()[0] for ln in p.stdout.splitlines() if "not found" in ln]


def get_exim(cache_dir):
    """The exim binary: MTASTS_EXIM_BIN, or Debian's .deb unpacked in
    cache_dir (downloaded once)."""
    env = os.environ.get("MTASTS_EXIM_BIN")
    if env:
        if not os.access(env, os.X_OK):
            skip(f"MTASTS_EXIM_BIN={env} is not executable")
        return env
    root = os.path.join(cache_dir, "exim-root")
    exe = os.path.join(root, "usr", "sbin", "exim4")
    if not os.access(exe, os.X_OK):
        if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
            skip("apt-get and dpkg-deb are needed to fetch Exim's .deb")
        debs = tempfile.mkdtemp(prefix="debs.", dir=cache_dir)
        try:
            p = subprocess.run(["apt-get", "download", "exim4-daemon-heavy"],
                               cwd=debs, capture_output=True, text=True,
                               timeout=300)
            files = [f for f in os.listdir(debs) if f.endswith(".deb")]
            if p.returncode != 0 or not files:
                skip("apt-get download exim4-daemon-heavy failed: "
                     + (p.stderr.strip().splitlines() or ["?"])[-1])
            tmp = tempfile.mkdtemp(prefix="root.", dir=cache_dir)
            for f in files:
                subprocess.run(["dpkg-deb", "-x", os.path.join(debs, f), tmp],
                               check=True, timeout=120)
            shutil.rmtree(root, ignore_errors=True)
            os.rename(tmp, root)
        finally:
            shutil.rmtree(debs, ignore_errors=True)
    return exe


# ---------------------------------------------------------------- setup

CASES = {
    # domain: (mode, policy mx patterns, [(pref, mx, addr, cert names, ca)])
    "good.e2e.test": ("enforce", ["mx.good.e2e.test"],
                      [(10, "mx.good.e2e.test", "127.0.0.2",
                        ["mx.good.e2e.test"], "good")]),
    "wild.e2e.test": ("enforce", ["*.wild.e2e.test"],
                      [(5, "a.deep.wild.e2e.test", "127.0.0.3",
                        ["a.deep.wild.e2e.test"], "good"),
                       (10, "mx.wild.e2e.test", "127.0.0.4",
                        ["mx.wild.e2e.test"], "good")]),
    "badcert.e2e.test": ("enforce", ["mx.badcert.e2e.test"],
                         [(10, "mx.badcert.e2e.test", "127.0.0.5",
                           ["other.e2e.test"], "good")]),
    "badmx.e2e.test": ("enforce", ["mx.elsewhere.e2e.test"],
                       [(10, "mx.badmx.e2e.test", "127.0.0.6",
                         ["mx.badmx.e2e.test"], "good")]),
    "testing.e2e.test": ("testing", ["mx.testing.e2e.test"],
                         [(10, "mx.testing.e2e.test", "127.0.0.7",
                           ["other.e2e.test"], "good")]),
}


def private_etc(tmp):
    """Bind-mount a resolv.conf naming 127.0.0.1 and, when the system has no
    Debian-exim user, a passwd and group with one. Returns (uid, gid)."""
    etc = os.path.join(tmp, "etc")
    os.makedirs(etc)
    with open(os.path.join(etc, "resolv.conf"), "w") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:2 attempts:2\n")
    mounts = [("resolv.conf", "/etc/resolv.conf")]
    try:
        pw = pwd.getpwnam("Debian-exim")
        uid, gid = pw.pw_uid, pw.pw_gid
    except KeyError:
        used_u = {p.pw_uid for p in pwd.getpwall()}
        used_g = {g.gr_gid for g in grp.getgrall()}
        uid = next(u for u in range(64900, 65500)
                   if u not in used_u and u not in used_g)
        gid = uid
        with open("/etc/passwd") as f:
            passwd = f.read()
        with open("/etc/group") as f:
            group = f.read()
        if not passwd.endswith("\n"):
            passwd += "\n"
        if not group.endswith("\n"):
            group += "\n"
        with open(os.path.join(etc, "passwd"), "w") as f:
            f.write(passwd + f"Debian-exim:x:{uid}:{gid}:Exim (test):"
                    "/nonexistent:/usr/sbin/nologin\n")
        with open(os.path.join(etc, "group"), "w") as f:
            f.write(group + f"Debian-exim:x:{gid}:\n")
        for n in ("passwd", "group"):
            os.chmod(os.path.join(etc, n), 0o644)
            mounts.append((n, "/etc/" + n))
    for name, target in mounts:
        r = subprocess.run(["mount", "--bind", os.path.join(etc, name),
                            target], capture_output=True, text=True)
        if r.returncode != 0:
            skip(f"cannot bind-mount {target} in the namespace: "
                 + r.stderr.strip())
    return uid, gid


def readme_blocks(path):
    """The fenced code blocks of contrib/exim/README.md, dedented."""
    with open(path) as f:
        text = f.read()
    blocks = re.findall(r"^[ ]*```[a-z]*\n(.*?)^[ ]*```", text, re.M | re.S)
    return [textwrap.dedent(b) for b in blocks]


def pick(blocks, *needles):
    found = [b for b in blocks if all(n in b for n in needles)]
    if len(found) != 1:
        fail("contrib/exim/README.md: expected one configuration block with "
             f"{needles}, found {len(found)}")
    return found[0]


def config_head(tmp, exim):
    return f"""# private configuration of the MTA-STS Exim test
exim_path = {exim}
spool_directory = {tmp}/spool
log_file_path = {tmp}/log/%slog
pid_file_path = {tmp}/exim.pid
primary_hostname = sender.e2e.test
qualify_domain = sender.e2e.test
domainlist local_domains = sender.e2e.test
keep_environment =
log_selector = +tls_certificate_verified +tls_peerdn +smtp_confirmation \\
  +received_recipients
dns_ipv4_lookup = *
# Debian's default ignores 127.0.0.0/8, where this test's MX hosts are
ROUTER_DNSLOOKUP_IGNORE_TARGET_HOSTS = <; 0.0.0.0 ; 192.0.2.0/24
"""


def config_tail(tmp):
    # Debian's own dnslookup router and remote_smtp transport, reduced
    return f"""
dnslookup:
  driver = dnslookup
  domains = ! +local_domains
  transport = remote_smtp
  same_domain_copy_routing = yes
  no_more
"""


def exim_config(tmp, exim, module, args, blocks):
    """The module configuration of contrib/exim/README.md, verbatim but for
    the CA (the rig's instead of the system store)."""
    routers = pick(blocks, "mtasts_enforce:", "mtasts_exim_ignore_hosts")
    transport = pick(blocks, "mtasts_smtp:", "mtasts_exim_tls_hosts")
    # one ${dlfunc} argument carries every option: Exim 4.96 takes at most
    # 7 arguments (and crashes with 8)
    a = "{" + " ".join(args) + "}"
    ca = f"{tmp}/ca.pem"
    return (config_head(tmp, exim)
            + f"MTASTS_SO = {module}\nMTASTS_ARGS = {a}\n"
            + "\nbegin routers\n\n" + routers + config_tail(tmp)
            + "\nbegin transports\n\n"
            + transport.replace("= system", "= " + ca)
            + f"\nremote_smtp:\n  driver = smtp\n"
            f"  tls_verify_certificates = {ca}\n"
            + "\nbegin retry\n\n*   *   F,1d,15m\n")


def readsocket_config(tmp, exim, port, blocks):
    """The ${readsocket} configuration of contrib/exim/README.md, verbatim
    but for the daemon's port and the CA."""
    macro = pick(blocks, "MTASTS_LINE = ", "${readsocket{inet:")
    routers = pick(blocks, "mtasts_tempfail:", "mtasts_enforce:")
    transport = pick(blocks, "mtasts_smtp:", "hosts_require_tls = *")
    ca = f"{tmp}/ca.pem"
    if "inet:127.0.0.1:8461" not in macro:
        fail("the README's MTASTS_LINE macro does not ask 127.0.0.1:8461")
    return (config_head(tmp, exim)
            + macro.replace("127.0.0.1:8461", f"127.0.0.1:{port}")
            + "\nbegin routers\n\n" + routers + config_tail(tmp)
            + "\nbegin transports\n\n"
            + transport.replace("= system", "= " + ca)
            + f"\nremote_smtp:\n  driver = smtp\n"
            f"  tls_verify_certificates = {ca}\n"
            + "\nbegin retry\n\n*   *   F,1d,15m\n")


class LineServer:
    """A stand-in for mtasts-policyd's line protocol ("DOMAIN\\n" ->
    "MODE PATTERN...\\n" | "none\\n" | "tempfail\\n"), answering from a
    table, to run the README's ${readsocket} configuration."""

    def __init__(self, rig_mod, answers):
        self.answers = answers
        self.asked = []
        self.srv = rig_mod.ThreadServer("readsocket", self._handle)
        self.srv.start()
        self.port = self.srv.port

    def _handle(self, c, server):
        c.settimeout(2)
        buf = b""
        while b"\n" not in buf and len(buf) < 1024:
            d = c.recv(1024)
            if not d:
                break
            buf += d
        dom = buf.split(b"\n")[0].decode().strip().lower()
        self.asked.append(dom)
        c.sendall((self.answers.get(dom, "none") + "\n").encode())

    def stop(self):
        self.srv.stop()


def mainlog(tmp):
    try:
        with open(os.path.join(tmp, "log", "mainlog")) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def send(exim, conf, rcpt, subject):
    msg = (f"From: sender@sender.e2e.test\nTo: {rcpt}\nSubject: {subject}\n"
           f"\nMTA-STS test message {subject}.\n")
    p = subprocess.run([exim, "-C", conf, "-odi", "-f",
                        "sender@sender.e2e.test", rcpt],
                       input=msg, capture_output=True, text=True, timeout=120)
    return p


def log_lines(log, rcpt):
    """Exim's delivery lines for rcpt: (flag, line) with flag '=>' or
    '=='."""
    out = []
    for ln in log.splitlines():
        m = re.search(r" (=>|==|\*\*) (\S+)", ln)
        if m and m.group(2) == rcpt:
            out.append((m.group(1), ln))
    return out


def expand(exim, conf, s):
    """Expand s with exim -be: (ok, result or error message, seconds). The
    string goes through stdin (Exim 4.96 limits command-line arguments to
    256 bytes); exim prints "> RESULT" or "> Failed: MESSAGE"."""
    t0 = time.monotonic()
    p = subprocess.run([exim, "-C", conf, "-be"], input=s + "\n",
                       capture_output=True, text=True, timeout=120)
    secs = time.monotonic() - t0
    first = p.stdout.split("\n", 1)[0]
    if p.returncode != 0 or not first.startswith(">"):
        return False, f"exit {p.returncode}: {p.stdout}{p.stderr}", secs
    out = first[1:].strip(" ")
    if out.startswith("Failed: "):
        return False, out[len("Failed: "):], secs
    return True, out, secs


# ---------------------------------------------------------------- the test


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
            print("not ok - " + what + ("\n    " + detail.replace(
                "\n", "\n    ") if detail else ""))


def readable_module(module, tmp):
    """A copy of the module and the two libraries its run path names
    ($ORIGIN/../../net, $ORIGIN/../../src), in the same layout under tmp:
    Exim's transport runs as Debian-exim, which cannot reach a build
    directory below a 0700 one (a clone in /root, or CI's mktemp -d)."""
    build = os.path.dirname(os.path.dirname(os.path.dirname(module)))
    dst = os.path.join(tmp, "lib")
    for rel in (os.path.join("contrib", "exim", os.path.basename(module)),
                os.path.join("net", "libmtasts-net.so.1"),
                os.path.join("src", "libmtasts.so.1")):
        os.makedirs(os.path.join(dst, os.path.dirname(rel)), exist_ok=True)
        shutil.copy(os.path.join(build, rel), os.path.join(dst, rel))
    for d, _, files in os.walk(dst):
        os.chmod(d, 0o755)
        for f in files:
            os.chmod(os.path.join(d, f), 0o755)
    return os.path.join(dst, "contrib", "exim", os.path.basename(module))


def readable_exim(exim, tmp):
    """A copy of the Exim binary in tmp: Exim execs itself again
    (exim_path) after changing to Debian-exim, which cannot reach a binary
    unpacked below a 0700 directory (CI's mktemp -d, a build in /root)."""
    dst = os.path.join(tmp, "lib", "exim4")
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copy(exim, dst)
    os.chmod(os.path.dirname(dst), 0o755)
    os.chmod(dst, 0o755)
    return dst


def inner(module, src, exim):
    rig_dir = os.path.join(src, "tests", "e2e")
    blocks = readme_blocks(os.path.join(src, "contrib", "exim", "README.md"))
    sys.path.insert(0, rig_dir)
    import rig as rigmod  # noqa: E402 - the rig lives in RIG_DIR

    r = subprocess.run(["ip", "link", "set", "lo", "up"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        skip("cannot bring up lo in the network namespace: " + r.stderr)
    tmp = tempfile.mkdtemp(prefix="mtasts-exim.")
    os.chmod(tmp, 0o755)
    module = readable_module(module, tmp)
    exim = readable_exim(exim, tmp)
    keep = os.environ.get("E2E_KEEP") == "1"
    uid, gid = private_etc(tmp)
    ck = Checker()
    sinks = {}
    rig = rigmod.Rig()
    try:
        pki = rig.make_pki()
        shutil.copy(pki.ca_file, os.path.join(tmp, "ca.pem"))
        os.chmod(os.path.join(tmp, "ca.pem"), 0o644)
        hosts = ["mta-sts." + d for d in CASES]
        policy_cert = pki.issue("policy", hosts)
        locations = []
        for i, (dom, (mode, pats, mxs)) in enumerate(CASES.items()):
            rig.dns.txt("_mta-sts." + dom, f"v=STSv1; id=2024{i};")
            rig.dns.a("mta-sts." + dom)
            body = (f"version: STSv1\nmode: {mode}\n"
                    + "".join(f"mx: {p}\n" for p in pats)
                    + "max_age: 86400\n")
            path = rig.nginx.file(dom + ".txt", body.encode())
            rig.nginx.server(
                "mta-sts." + dom, policy_cert,
                {"/.well-known/mta-sts.txt":
                 f"default_type text/plain; alias {path};"})
            for pref, mx, addr, names, ca in mxs:
                rig.dns.mx(dom, mx, pref)
                rig.dns.a(mx, addr)
                cert = pki.issue(mx, names, ca=ca)
                sinks[mx] = rigmod.MailSink(cert, addr, 25, mx)
        rig.dns.port = 53  # the namespace's own resolv.conf names it
        rig.start()
        for s in sinks.values():
            s.start()

        for d in ("spool", "log", "cache"):
            os.makedirs(os.path.join(tmp, d))
            os.chown(os.path.join(tmp, d), uid, gid)
            os.chmod(os.path.join(tmp, d), 0o750)
        modlog = os.path.join(tmp, "mtasts.log")
        open(modlog, "w").close()
        os.chmod(modlog, 0o666)
        cache = os.path.join(tmp, "cache", "mtasts.sqlite")
        args = [f"cache={cache}",
                f"connect_to=:443:127.0.0.1:{rig.nginx.port}",
                f"ca_file={tmp}/ca.pem", f"log={modlog}", "timeout=15",
                "memo=0"]
        conf = os.path.join(tmp, "exim.conf")
        with open(conf, "w") as f:
            f.write(exim_config(tmp, exim, module, args, blocks))
        os.chmod(conf, 0o644)

        # --- the deliveries
        rcpts = {"good": "first@good.e2e.test", "wild": "w@wild.e2e.test",
                 "badcert": "b@badcert.e2e.test", "badmx": "m@badmx.e2e.test",
                 "testing": "t@testing.e2e.test"}
        for k, rc in rcpts.items():
            p = send(exim, conf, rc, k)
            if p.returncode != 0 and "==" not in mainlog(tmp):
                print(f"exim for {rc} exited {p.returncode}: {p.stderr}")
        log = mainlog(tmp)

        def delivered(rcpt, router, transport, host, cv):
            ls = log_lines(log, rcpt)
            ok = [ln for f, ln in ls if f == "=>" and f" R={router} " in ln
                  and f" T={transport} " in ln and f" H={host} " in ln
                  and " X=TLS" in ln and f" CV={cv}" in ln]
            ck.check(len(ok) == 1 and len(ls) == 1,
                     f"{rcpt}: delivered by {router}/{transport} to {host} "
                     f"over TLS, CV={cv} (mainlog)",
                     "\n".join(ln for _, ln in ls) or log[-3000:])
            ck.check(len(sinks[host].got(rcpt)) == 1
                     and sinks[host].got(rcpt)[0]["tls"],
                     f"{rcpt}: the sink of {host} has the message, over TLS",
                     repr(sinks[host].messages))

        def deferred(rcpt, router, pattern, host):
            ls = log_lines(log, rcpt)
            ok = [ln for f, ln in ls if f == "==" and f" R={router} " in ln
                  and re.search(pattern, ln)]
            ck.check(ok and all(f == "==" for f, _ in ls),
                     f"{rcpt}: deferred by {router} ({pattern}) (mainlog)",
                     "\n".join(ln for _, ln in ls) or log[-3000:])
            ck.check(not sinks[host].got(rcpt),
                     f"{rcpt}: no message reached {host}",
                     repr(sinks[host].messages))

        delivered(rcpts["good"], "mtasts_enforce", "mtasts_smtp",
                  "mx.good.e2e.test", "yes")
        delivered(rcpts["wild"], "mtasts_enforce", "mtasts_smtp",
                  "mx.wild.e2e.test", "yes")
        ck.check(not sinks["a.deep.wild.e2e.test"].sessions,
                 "wild.e2e.test: a.deep.wild.e2e.test (MX 5, two labels "
                 "under *.wild) was never contacted",
                 repr(sinks["a.deep.wild.e2e.test"].sessions))
        deferred(rcpts["badcert"], "mtasts_enforce",
                 r"T=mtasts_smtp .*(certificate|TLS)", "mx.badcert.e2e.test")
        ck.check(any(s.get("handshake_failed") or s["tls"]
                     for s in sinks["mx.badcert.e2e.test"].sessions),
                 "badcert.e2e.test: Exim did reach the MX and tried TLS",
                 repr(sinks["mx.badcert.e2e.test"].sessions))
        deferred(rcpts["badmx"], "mtasts_defer",
                 r"MTA-STS: no usable MX host for badmx\.e2e\.test under its "
                 r"policy \(enforce mx\.elsewhere\.e2e\.test\)",
                 "mx.badmx.e2e.test")
        ck.check(not sinks["mx.badmx.e2e.test"].sessions,
                 "badmx.e2e.test: the MX the policy does not name was never "
                 "contacted", repr(sinks["mx.badmx.e2e.test"].sessions))
        delivered(rcpts["testing"], "dnslookup", "remote_smtp",
                  "mx.testing.e2e.test", "no")

        # --- a policy that cannot be known now: the module's DNS server
        # never answers (dns_tempfail=defer, nothing cached); Exim's own
        # DNS works, so only the module's answer can hold the mail
        hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        hole.bind(("127.0.0.1", 0))
        try:
            targs = [a for a in args if not a.startswith("cache=")] + [
                "cache=none", f"dns=127.0.0.1:{hole.getsockname()[1]}",
                "dns_tempfail=defer", "timeout=3"]
            conf_tf = os.path.join(tmp, "exim-tempfail.conf")
            with open(conf_tf, "w") as f:
                f.write(exim_config(tmp, exim, module, targs, blocks))
            os.chmod(conf_tf, 0o644)
            send(exim, conf_tf, "tf@good.e2e.test", "tempfail")
        finally:
            hole.close()
        log = mainlog(tmp)
        deferred("tf@good.e2e.test", "mtasts_defer",
                 r"MTA-STS: no usable MX host for good\.e2e\.test under its "
                 r"policy \(tempfail\)", "mx.good.e2e.test")

        # --- the shared cache
        fetches = len(rig.nginx.requests("mta-sts.good.e2e.test"))
        ck.check(fetches == 1, "good.e2e.test: one policy fetch so far",
                 repr(rig.nginx.requests()))
        p = send(exim, conf, "second@good.e2e.test", "second")
        log = mainlog(tmp)
        ls = log_lines(log, "second@good.e2e.test")
        ck.check(any(f == "=>" and " CV=yes" in ln for f, ln in ls),
                 "second@good.e2e.test: delivered over verified TLS",
                 "\n".join(ln for _, ln in ls) or log[-3000:])
        ck.check(len(rig.nginx.requests("mta-sts.good.e2e.test")) == fetches,
                 "second delivery: no HTTPS request (the policy came from "
                 "the SQLite store)", repr(rig.nginx.requests()))
        with open(modlog) as f:
            mlog = f.read()
        second = [ln for ln in mlog.splitlines()
                  if "domain=good.e2e.test" in ln]
        ck.check(second and "source=cache" in second[-1],
                 "the module's log: the last good.e2e.test lookup is "
                 "source=cache", "\n".join(second[-5:]))
        pids = {re.search(r"\[(\d+)\]", ln).group(1) for ln in second}
        ck.check(len(pids) >= 3,
                 "good.e2e.test was looked up by several processes "
                 f"({len(pids)})", "\n".join(second))
        ck.check("state=down" not in mlog and "alert:" not in mlog,
                 "the module's log: no store failure, no alert",
                 mlog[-3000:])
        st = os.stat(cache)
        ck.check(st.st_uid == uid,
                 "the SQLite file the root delivery process created belongs "
                 "to Debian-exim", f"uid {st.st_uid}, expected {uid}")
        db = sqlite3.connect(cache)
        try:
            rows = dict(db.execute(
                "SELECT domain, length(entry) FROM mtasts_cache").fetchall())
        finally:
            db.close()
        ck.check(set(CASES) <= set(rows),
                 "the SQLite store holds an entry for every domain",
                 repr(rows))

        # --- the README's ${readsocket} configuration, against a stand-in
        # for mtasts-policyd's line protocol
        answers = {d: " ".join([mode] + pats)
                   for d, (mode, pats, _) in CASES.items()}
        answers["down.e2e.test"] = "tempfail"
        ls_srv = LineServer(rigmod, answers)
        try:
            conf_rs = os.path.join(tmp, "exim-readsocket.conf")
            with open(conf_rs, "w") as f:
                f.write(readsocket_config(tmp, exim, ls_srv.port, blocks))
            os.chmod(conf_rs, 0o644)
            rs = {"good": "rs@good.e2e.test", "wild": "rs@wild.e2e.test",
                  "badmx": "rs@badmx.e2e.test", "down": "rs@down.e2e.test",
                  "testing": "rs@testing.e2e.test"}
            for k, rc in rs.items():
                send(exim, conf_rs, rc, "readsocket " + k)
        finally:
            ls_srv.stop()
        log = mainlog(tmp)
        delivered(rs["good"], "mtasts_enforce", "mtasts_smtp",
                  "mx.good.e2e.test", "yes")
        delivered(rs["wild"], "mtasts_enforce", "mtasts_smtp",
                  "mx.wild.e2e.test", "yes")
        ck.check(not sinks["a.deep.wild.e2e.test"].sessions,
                 "readsocket: a.deep.wild.e2e.test still never contacted",
                 repr(sinks["a.deep.wild.e2e.test"].sessions))
        deferred(rs["badmx"], "mtasts_defer", r"MTA-STS: no MX host",
                 "mx.badmx.e2e.test")
        ls = log_lines(log, rs["down"])
        ck.check(ls and all(f == "==" and " R=mtasts_tempfail " in ln
                            and "cannot be known now" in ln for f, ln in ls),
                 "readsocket: a tempfail answer defers (mtasts_tempfail)",
                 "\n".join(ln for _, ln in ls) or log[-3000:])
        delivered(rs["testing"], "dnslookup", "remote_smtp",
                  "mx.testing.e2e.test", "no")
        ck.check("good.e2e.test" in ls_srv.asked,
                 "readsocket: the line server was asked",
                 repr(ls_srv.asked))

        # --- each function through exim -be
        so = module

        def call(fn, *a, extra=()):
            allargs = list(a) + [" ".join(args)] + list(extra)
            s = "${dlfunc{%s}{%s}%s}" % (
                so, fn, "".join("{" + x + "}" for x in allargs))
            return expand(exim, conf, s)

        for fn, a, want in [
                ("mtasts_exim_policy", ["good.e2e.test"],
                 "enforce mx.good.e2e.test"),
                ("mtasts_exim_policy", ["Wild.E2E.test."],
                 "enforce *.wild.e2e.test"),
                ("mtasts_exim_policy", ["nopolicy.e2e.test"], "none"),
                ("mtasts_exim_mode", ["testing.e2e.test"], "testing"),
                ("mtasts_exim_mode", ["good.e2e.test"], "enforce"),
                ("mtasts_exim_mode", ["[192.0.2.1]"], "none"),
                ("mtasts_exim_tls_required", ["good.e2e.test"], "yes"),
                ("mtasts_exim_tls_required", ["testing.e2e.test"], "no"),
                ("mtasts_exim_tls_hosts", ["good.e2e.test"], "*"),
                ("mtasts_exim_tls_hosts", ["testing.e2e.test"], ""),
                ("mtasts_exim_mx_allowed", ["wild.e2e.test",
                                            "MX.wild.e2e.test"], "yes"),
                ("mtasts_exim_mx_allowed", ["wild.e2e.test",
                                            "a.deep.wild.e2e.test"], "no"),
                ("mtasts_exim_mx_allowed", ["wild.e2e.test",
                                            "wild.e2e.test"], "no"),
                ("mtasts_exim_mx_allowed", ["testing.e2e.test",
                                            "anything.example"], "yes"),
                ("mtasts_exim_ignore_hosts", ["wild.e2e.test"],
                 r"<; !^[^.]+\.wild\.e2e\.test$ ; *"),
                ("mtasts_exim_ignore_hosts", ["good.e2e.test",
                                              "also=<; 0.0.0.0 ; ::1"],
                 r"<; 0.0.0.0 ; ::1 ; !^mx\.good\.e2e\.test$ ; *"),
                ("mtasts_exim_ignore_hosts", ["testing.e2e.test"], "")]:
            ok, out, _ = call(fn, *a)
            ck.check(ok and out == want,
                     f"exim -be {fn}{a} = {want!r}", f"ok={ok}: {out!r}")

        ok, out, _ = call("mtasts_exim_mode", "good.e2e.test",
                          extra=["colour=blue"])
        ck.check(not ok and "unknown option" in out,
                 "an unknown option fails the expansion with a message", out)
        ok, out, _ = call("mtasts_exim_mx_allowed", "good.e2e.test")
        ck.check(not ok and "needs the domain and a host name" in out,
                 "mtasts_exim_mx_allowed without a host fails with a message",
                 out)

        # a DNS server that never answers: a temporary failure, bounded
        hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        hole.bind(("127.0.0.1", 0))
        hport = hole.getsockname()[1]
        try:
            # later words override earlier ones
            s = ("${dlfunc{%s}{mtasts_exim_mode}{unseen.e2e.test}{%s}"
                 "{dns=127.0.0.1:%d dns_tempfail=defer timeout=2 "
                 "cache=none}}") % (so, " ".join(args), hport)
            ok, out, secs = expand(exim, conf, s)
            ck.check(ok and out == "tempfail",
                     "DNS that never answers, dns_tempfail=defer: "
                     "mtasts_exim_mode answers tempfail", f"{ok}: {out}")
            ck.check(secs < 30, f"... in bounded time ({secs:.1f} s, "
                     "timeout=2)")
            for fn, want in (("mtasts_exim_tls_required", "yes"),
                             ("mtasts_exim_tls_hosts", "*")):
                ok, out, _ = expand(exim, conf,
                                    s.replace("mtasts_exim_mode", fn))
                ck.check(ok and out == want,
                         f"... {fn} answers {want!r} (fail closed)",
                         f"{ok}: {out}")
            s2 = s.replace("mtasts_exim_mode", "mtasts_exim_policy")
            ok, out, _ = expand(exim, conf, s2)
            ck.check(ok and out == "tempfail",
                     "mtasts_exim_policy answers tempfail", f"{ok}: {out}")
            s3 = s.replace("mtasts_exim_mode", "mtasts_exim_ignore_hosts")
            ok, out, _ = expand(exim, conf, s3)
            ck.check(ok and out == "<; *",
                     "mtasts_exim_ignore_hosts on a temporary failure "
                     "ignores every host", f"{ok}: {out}")
        finally:
            hole.close()
    finally:
        for s in sinks.values():
            s.stop()
        rig.stop()
        if ck.failures:
            print("--- mainlog\n" + mainlog(tmp)[-6000:])
            try:
                with open(os.path.join(tmp, "mtasts.log")) as f:
                    print("--- module log\n" + f.read()[-4000:])
            except OSError:
                pass
        if keep:
            print("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"{ck.passed} passed, {len(ck.failures)} failed")
    return 1 if ck.failures else 0


def main():
    argv = sys.argv[1:]
    if len(argv) < 3:
        print(__doc__)
        return 2
    module, src, cache_dir = (os.path.abspath(a) for a in argv[:3])
    rig_dir = os.path.join(src, "tests", "e2e")
    if INNER in argv:
        return inner(module, src, argv[argv.index(INNER) + 1])
    if "--sanitized" in argv:
        skip("the module is built with sanitizers: Exim cannot dlopen it")
    if os.geteuid() != 0:
        skip("needs root (unshare, bind mounts, exim -C as root)")
    for prog in ("unshare", "ip", "mount", "ldd"):
        if shutil.which(prog) is None:
            skip(prog + " is not installed")
    if not os.path.exists(os.path.join(rig_dir, "rig.py")):
        skip("the e2e rig (tests/e2e/rig.py) is not in this tree")
    sys.path.insert(0, rig_dir)
    import rig as rigmod  # noqa: E402
    rigmod.require(skip)
    if not os.path.exists(module):
        fail("no module at " + module)
    os.makedirs(cache_dir, exist_ok=True)
    exim = get_exim(cache_dir)
    libs = missing_libs(exim)
    if libs:
        skip("Exim's libraries are missing (apt-get install the Depends of "
             "exim4-daemon-heavy): " + ", ".join(libs))
    r = subprocess.run(["unshare", "-m", "-n", "--propagation", "private",
                        "true"], capture_output=True, text=True)
    if r.returncode != 0:
        skip("cannot make a mount and network namespace: " + r.stderr.strip())
    p = subprocess.run(["unshare", "-m", "-n", "--propagation", "private",
                        sys.executable, os.path.abspath(__file__), module,
                        src, cache_dir, INNER, exim])
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
