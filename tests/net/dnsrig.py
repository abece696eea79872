#!/usr/bin/env python3
"""DNS servers on loopback for the libmtasts-net DNS tests (suite net).

usage: dnsrig.py TEST_PROGRAM [ARGS...]

Starts, on 127.0.0.1 and free ports:
  - dnsmasq (the real server): the records below under test., with
    --local=/test/ so an unknown name under test. is NXDOMAIN;
  - a small UDP responder (this script) for what dnsmasq cannot be made to
    do: SERVFAIL, REFUSED, FORMERR, NOTIMP, a malformed answer, no answer
    at all, and answers crafted record by record (MX order with ties, a
    null MX, empty character-strings, a CNAME chain);
  - a closed port (bound, then closed: nothing listens there).
then runs TEST_PROGRAM with MTN_DNSMASQ, MTN_FAKE and MTN_CLOSED set to
"127.0.0.1:PORT" and exits with its status. Every server is stopped by the
PID or thread this script started.

Skips (exit 77) when dnsmasq is not installed or does not start.
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77

# dnsmasq's records (the C test knows them)
BIG = ["a" * 255, "b" * 255, "c" * 255]  # > 512 bytes: truncated over UDP
# (a configuration file, not the command line: only the file's parser
# unquotes, so "v=STSv1; " keeps its blank and the strings stay apart)
DNSMASQ_RECORDS = [
    'txt-record=split.test,"v=STSv1; ","id=20240101"',
    'txt-record=two.test,"first"',
    'txt-record=two.test,"second"',
    'txt-record=big.test,' + ",".join('"%s"' % s for s in BIG),
    "host-record=aonly.test,127.0.0.2",
    "host-record=both.test,127.0.0.3,::3",
    "host-record=multi.test,127.0.0.4",
    "host-record=multi.test,127.0.0.5",
    "host-record=v6only.test,::6",
    "mx-host=mx.test,b.mx.test,20",
    "mx-host=mx.test,a.mx.test,10",
    "mx-host=mx.test,c.mx.test,30",
]


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


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


# ---------------------------------------------------------------- wire


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def parse_query(data):
    """(id, flags, qname, qtype, question bytes) of a query, or None."""
    if len(data) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", data[:6])
    if qd != 1:
        return None
    pos, labels = 12, []
    while pos < len(data) and data[pos] != 0:
        n = data[pos]
        labels.append(data[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    pos += 1
    if pos + 4 > len(data):
        return None
    qtype = struct.unpack("!H", data[pos:pos + 2])[0]
    return qid, flags, ".".join(labels).lower(), qtype, data[12:pos + 4]


T_CNAME, T_MX, T_TXT = 5, 15, 16


def rr(name_bytes, rtype, rdata):
    return name_bytes + struct.pack("!HHIH", rtype, 1, 60, len(rdata)) + rdata


def txt_rdata(strings):
    return b"".join(bytes([len(s)]) + s.encode() for s in strings)


def mx_rdata(pref, host):
    return struct.pack("!H", pref) + encode_name(host)


QNAME_PTR = b"\xc0\x0c"  # the question's name


def fake_answer(data):
    """The responder's answer to one query (None: stay silent)."""
    q = parse_query(data)
    if q is None:
        return None
    qid, flags, qname, qtype, question = q
    rcode, answers = 0, []
    if qname == "silent.fake":
        return None
    elif qname == "servfail.fake":
        rcode = 2
    elif qname == "refused.fake":
        rcode = 5
    elif qname == "formerr.fake":
        rcode = 1
    elif qname == "notimp.fake":
        rcode = 4
    elif qname == "garbage.fake":
        # says one answer, carries a cut-off record
        hdr = struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0)
        return hdr + question + QNAME_PTR + b"\x00\x10\x00"
    elif qname == "mxorder.fake" and qtype == T_MX:
        for pref, host in [(20, "b.fake"), (10, "a.fake"), (20, "c.fake"),
                           (10, "d.fake"), (0, "e.fake."), (20, "f.fake")]:
            answers.append(rr(QNAME_PTR, T_MX, mx_rdata(pref, host)))
    elif qname == "nullmx.fake" and qtype == T_MX:
        answers.append(rr(QNAME_PTR, T_MX, mx_rdata(0, ".")))
    elif qname == "empty.fake" and qtype == T_TXT:
        answers.append(rr(QNAME_PTR, T_TXT, txt_rdata(["a", "", ""])))
        answers.append(rr(QNAME_PTR, T_TXT, txt_rdata([""])))
        answers.append(rr(QNAME_PTR, T_TXT, txt_rdata(["z"])))
    elif qname == "cname.fake" and qtype == T_TXT:
        target = encode_name("target.fake")
        answers.append(rr(QNAME_PTR, T_CNAME, target))
        answers.append(rr(target, T_TXT, txt_rdata(["v=STSv1; ", "id=c"])))
    elif qname == "cnameonly.fake":
        answers.append(rr(QNAME_PTR, T_CNAME, encode_name("nothing.fake")))
    elif qname.endswith(".fake") or qname == "fake":
        rcode = 3
    else:
        rcode = 5
    hdr = struct.pack("!HHHHHH", qid, 0x8000 | (flags & 0x0100) | 0x0080 |
                      rcode, 1, len(answers), 0, 0)
    return hdr + question + b"".join(answers)


class Responder(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = False

    def run(self):
        while not self.stopping:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            ans = fake_answer(data)
            if ans is not None:
                self.sock.sendto(ans, peer)

    def stop(self):
        self.stopping = True
        self.join(5)
        self.sock.close()


# ---------------------------------------------------------------- dnsmasq


def dns_probe(port, name="split.test", timeout=0.2):
    """True when something on port answers a TXT query for name."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) +
                 encode_name(name) + struct.pack("!HH", T_TXT, 1),
                 ("127.0.0.1", port))
        data = s.recv(4096)
        return len(data) >= 12 and data[:2] == b"\x42\x42"
    except OSError:
        return False
    finally:
        s.close()


def start_dnsmasq(exe, tmp):
    """(Popen, port) of a running dnsmasq, or (None, log text)."""
    log = ""
    conf = os.path.join(tmp, "dnsmasq.conf")
    with open(conf, "w") as f:
        f.write("\n".join(DNSMASQ_RECORDS) + "\n")
    for _ in range(5):
        port = free_port()
        logf = os.path.join(tmp, "dnsmasq.log")
        cmd = [exe, "--keep-in-foreground", "--conf-file=" + conf,
               "--no-resolv", "--no-hosts", "--no-poll",
               "--port=%d" % port, "--listen-address=127.0.0.1",
               "--bind-interfaces", "--local=/test/",
               "--pid-file=" + os.path.join(tmp, "dnsmasq.pid"),
               "--log-facility=" + logf]
        if os.geteuid() == 0:
            cmd += ["--user=root", "--group=root"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        for _ in range(50):
            if proc.poll() is not None:
                break
            if dns_probe(port):
                return proc, port
            time.sleep(0.1)
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate()
        log = err.decode(errors="replace")
        if os.path.exists(logf):
            with open(logf, errors="replace") as f:
                log += f.read()
    return None, log


def main():
    if len(sys.argv) < 2:
        print("usage: dnsrig.py TEST_PROGRAM [ARGS...]", file=sys.stderr)
        return 2
    exe = shutil.which("dnsmasq") or next(
        (p for p in ("/usr/sbin/dnsmasq", "/sbin/dnsmasq")
         if os.access(p, os.X_OK)), None)
    if exe is None:
        skip("dnsmasq is not installed (apt install dnsmasq-base)")
    with tempfile.TemporaryDirectory(prefix="mtn-dns-") as tmp:
        proc, port = start_dnsmasq(exe, tmp)
        if proc is None:
            skip("dnsmasq did not start: " + port.strip()[-500:])
        fake = Responder()
        fake.start()
        closed = free_port()  # nothing listens there
        try:
            env = dict(os.environ)
            env["MTN_DNSMASQ"] = "127.0.0.1:%d" % port
            env["MTN_FAKE"] = "127.0.0.1:%d" % fake.port
            env["MTN_CLOSED"] = "127.0.0.1:%d" % closed
            rc = subprocess.call(sys.argv[1:], env=env, timeout=600)
        finally:
            fake.stop()
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return rc


if __name__ == "__main__":
    sys.exit(main())
