"""A private Postfix instance for the tests that run the real Postfix.

Python 3 standard library only. The instance has its own configuration,
queue and data directories and its own log (maillog_file, written by
postlogd) in one temporary directory; its smtpd listens on a loopback
port only and is where the test submits mail. It must be started as root
(the master runs as root and its daemons as the user postfix). The
system's instance, its files and its queue are never touched.

    pf = Instance(tmp, main_cf_lines)     # tmp is mode 0755
    pf.start()                             # or start(wrap=...) in a namespace
    qid = pf.inject("user@example.test")
    status = pf.wait_status({"user@example.test": qid}, 60)
    pf.stop()                              # by the master's PID at the end

Also: the installed Postfix's programs (`programs()`), its version, and
`postmap -q` against a socketmap (`postmap_query`).
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")


def program(name):
    """The path of a Postfix program, or None."""
    p = shutil.which(name)
    if p:
        return p
    for d in SBIN:
        c = os.path.join(d, name)
        if os.access(c, os.X_OK):
            return c
    return None


def missing_programs():
    return [p for p in ("postfix", "postconf", "postmap")
            if program(p) is None]


def namespace_preflight(src, daemon, skip):
    """What a test that re-runs itself in a private mount and network
    namespace with the e2e rig needs first: unshare, ip and mount, the
    rig (tests/e2e/rig.py) and its programs, and a namespace that can be
    made; a missing one skips (skip(msg) does not return). False when the
    daemon under test is not there (the caller fails), else True."""
    for prog in ("unshare", "ip", "mount"):
        if shutil.which(prog) is None:
            skip(prog + " is not installed")
    rig_dir = os.path.join(src, "tests", "e2e")
    if not os.path.exists(os.path.join(rig_dir, "rig.py")):
        skip("the e2e rig (tests/e2e/rig.py) is not in this tree")
    sys.path.insert(0, rig_dir)
    import rig as R  # noqa: E402
    R.require(skip)
    if not os.access(daemon, os.X_OK):
        return False
    r = subprocess.run(["unshare", "-m", "-n", "--propagation", "private",
                        "true"], capture_output=True, text=True)
    if r.returncode != 0:
        skip("cannot make a mount and network namespace: " + r.stderr.strip())
    return True


def mail_version():
    """The installed Postfix's mail_version (its built-in default, not a
    main.cf setting), or None."""
    p = subprocess.run([program("postconf"), "-d", "-h", "mail_version"],
                       capture_output=True, text=True, timeout=60)
    v = p.stdout.strip()
    return v if p.returncode == 0 and v else None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def postmap_query(key, table, timeout=60):
    """postmap -q KEY TABLE: (exit status, stdout stripped, stderr). Exit 0
    with the value when found, 1 with nothing when not found; a table
    error is a non-zero exit with Postfix's message on stderr."""
    p = subprocess.run([program("postmap"), "-q", key, table],
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


# Only the services a relay client needs; no chroot; the smtpd that takes
# the test's mail listens on 127.0.0.1:{pin}; postlogd writes maillog_file.
MASTER_CF = """\
127.0.0.1:{pin} inet n - n - - smtpd
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""

# What every test instance has: its directories and log, no local
# delivery, relaying for loopback clients only, and deferred mail that
# stays deferred for the test's lifetime. The test adds its smtp client's
# settings (TLS, policy table, DNS).
MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {tmp}/queue
data_directory = {tmp}/data
maillog_file = {tmp}/maillog
maillog_file_prefixes = {tmp}
syslog_name = postfix-mtasts-test
myhostname = client.sender.test
mydomain = sender.test
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
local_transport = error:no local delivery in this test
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
notify_classes =
smtputf8_enable = no
biff = no
default_process_limit = 10
queue_run_delay = 3600s
minimal_backoff_time = 3600s
maximal_backoff_time = 3600s
smtp_connect_timeout = 5s
smtp_helo_timeout = 10s
smtp_starttls_timeout = 10s
"""


class PostfixError(Exception):
    pass


class Instance:
    def __init__(self, tmp, main_cf_extra):
        self.tmp = tmp
        self.conf = os.path.join(tmp, "conf")
        self.logf = os.path.join(tmp, "maillog")
        self.pin = free_port()
        self.master_pid = None
        for d in ("conf", "queue", "data"):
            os.mkdir(os.path.join(tmp, d))
        shutil.chown(os.path.join(tmp, "data"), "postfix")
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(tmp=tmp) + main_cf_extra)
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(pin=self.pin))

    def start(self, wrap=None):
        """postfix -c CONF start, then wait for the master's pid file and
        the smtpd listener. wrap(argv) may return another command that
        runs argv (for instance in a mount namespace)."""
        argv = [program("postfix"), "-c", self.conf, "start"]
        if wrap is not None:
            argv = wrap(argv)
        p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise PostfixError("postfix start: %s %s" % (p.stdout, p.stderr))
        pidfile = os.path.join(self.tmp, "queue", "pid", "master.pid")
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                with open(pidfile) as f:
                    self.master_pid = int(f.read().strip())
                break
            except (OSError, ValueError):
                time.sleep(0.1)
        if self.master_pid is None:
            raise PostfixError("no master.pid within 10 s")
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", self.pin),
                                         timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise PostfixError("smtpd did not listen on 127.0.0.1:%d" % self.pin)

    def inject(self, rcpt, subject=None):
        """Submit one message to the instance's smtpd; its queue id."""
        s = socket.create_connection(("127.0.0.1", self.pin), timeout=20)
        f = s.makefile("rwb")

        def cmd(line, want):
            if line is not None:
                f.write(line.encode() + b"\r\n")
                f.flush()
            while True:
                r = f.readline(1000).decode("ascii", "replace")
                if not r:
                    raise PostfixError("smtpd closed the connection")
                if r[3:4] != "-":
                    break
            if not r.startswith(want):
                raise PostfixError("smtpd: %r to %r" % (r, line))
            return r

        try:
            cmd(None, "220")
            cmd("EHLO injector.sender.test", "250")
            cmd("MAIL FROM:<sender@sender.test>", "250")
            cmd("RCPT TO:<%s>" % rcpt, "250")
            cmd("DATA", "354")
            r = cmd("Subject: %s\r\n\r\ntest\r\n." % (subject or rcpt), "250")
            cmd("QUIT", "221")
        finally:
            f.close()
            s.close()
        m = re.search(r"queued as ([0-9A-Za-z]+)", r)
        if m is None:
            raise PostfixError("no queue id in %r" % r)
        return m.group(1)

    def log(self):
        try:
            with open(self.logf, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_status(self, qids, seconds):
        """qids: {rcpt: queue id}. Waits (bounded) until the log has a
        delivery status for each; returns {rcpt: sent|deferred|bounced}
        for those it has."""
        status = {}
        end = time.monotonic() + seconds
        while True:
            log = self.log()
            for rcpt, q in qids.items():
                if rcpt in status:
                    continue
                m = re.search(r"%s: to=<%s>.*status=(sent|deferred|bounced)"
                              % (q, re.escape(rcpt)), log)
                if m:
                    status[rcpt] = m.group(1)
            if len(status) == len(qids) or time.monotonic() > end:
                return status
            time.sleep(0.3)

    def lines(self, qid):
        """The log lines of one queue id."""
        return [ln for ln in self.log().splitlines() if qid + ":" in ln]

    def stop(self):
        """postfix stop, then the master by its PID (SIGKILL after 5 s)."""
        if self.master_pid is None:
            return
        subprocess.run([program("postfix"), "-c", self.conf, "stop"],
                       capture_output=True, timeout=60)
        for _ in range(50):
            try:
                os.kill(self.master_pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            try:
                os.kill(self.master_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.master_pid = None
