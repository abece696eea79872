"""A small DNS and HTTPS policy server on loopback for the mtasts-policyd
tests: _mta-sts TXT records from a table (or a failure), and policy files
over HTTPS with a certificate from a throwaway CA made with openssl(1).

    srv = PolicyServer(tmpdir, {"good.test": {"txt": "v=STSv1; id=1;",
                                              "policy": "...",
                                              "http": "ok"}})
    ... mtasts-policyd --dns-server 127.0.0.1:srv.dns_port
        --ca-file srv.ca_file --connect-to ::127.0.0.1:srv.https_port
    srv.close()

Per domain: "txt" a record string, a list of them, or "nxdomain",
"servfail", "drop" (no answer); "policy" the body; "http" "ok", "hang"
(accept, never answer), or an HTTP status number. Entries may be changed
while running. fetches counts the policy requests served per domain.
"""
import os
import select
import socket
import ssl
import struct
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn


def _qname(pkt, off):
    labels = []
    while True:
        n = pkt[off]
        off += 1
        if n == 0:
            return ".".join(labels), off
        if n & 0xC0:
            raise ValueError("compressed question")
        labels.append(pkt[off:off + n].decode("ascii", "replace"))
        off += n


def _name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


class PolicyServer:
    def __init__(self, tmp, zones):
        self.zones = zones
        self.fetches = {}
        self.lock = threading.Lock()
        self.stop_flag = False
        self.tmp = tmp
        self._make_certs()
        # DNS
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.dns_port = self.udp.getsockname()[1]
        self.dns_thread = threading.Thread(target=self._dns_loop,
                                           daemon=True)
        self.dns_thread.start()
        # HTTPS
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                host = self.headers.get("Host", "").split(":")[0]
                dom = host[len("mta-sts."):] if host.startswith(
                    "mta-sts.") else host
                z = server.zones.get(dom, {})
                with server.lock:
                    server.fetches[dom] = server.fetches.get(dom, 0) + 1
                mode = z.get("http", "ok")
                if mode == "hang":
                    server.hung.append(self.connection)
                    while not server.stop_flag:
                        select.select([], [], [], 0.1)
                    return
                if self.path != "/.well-known/mta-sts.txt" or \
                        z.get("policy") is None:
                    mode = 404
                status = 200 if mode == "ok" else int(mode)
                body = (z.get("policy") or "").encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Threaded(ThreadingMixIn, HTTPServer):
            # each connection in its own thread: a hanging one must not
            # hold the others
            daemon_threads = True

        self.hung = []
        self.httpd = Threaded(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket,
                                            server_side=True)
        self.https_port = self.httpd.server_address[1]
        self.http_thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
            daemon=True)
        self.http_thread.start()

    def _make_certs(self):
        d = self.tmp
        self.ca_file = os.path.join(d, "ca.pem")
        ca_key = os.path.join(d, "ca.key")
        self.key_file = os.path.join(d, "leaf.key")
        self.cert_file = os.path.join(d, "leaf.pem")
        csr = os.path.join(d, "leaf.csr")
        ext = os.path.join(d, "leaf.ext")
        names = ["mta-sts." + z for z in self.zones]
        with open(ext, "w") as f:
            f.write("subjectAltName=" + ",".join("DNS:" + n for n in names)
                    + "\nbasicConstraints=CA:FALSE\n")

        def run(*args):
            subprocess.run(["openssl"] + list(args), check=True,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
            ca_key, "-out", self.ca_file, "-days", "2", "-subj",
            "/CN=mtasts-policyd test CA")
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout",
            self.key_file, "-out", csr, "-subj", "/CN=" + names[0])
        run("x509", "-req", "-in", csr, "-CA", self.ca_file, "-CAkey",
            ca_key, "-CAcreateserial", "-out", self.cert_file, "-days", "2",
            "-extfile", ext)

    def _dns_loop(self):
        while not self.stop_flag:
            r, _, _ = select.select([self.udp], [], [], 0.1)
            if not r:
                continue
            pkt, peer = self.udp.recvfrom(4096)
            try:
                resp = self._answer(pkt)
            except (ValueError, IndexError):
                continue
            if resp is not None:
                self.udp.sendto(resp, peer)

    def _answer(self, pkt):
        qid, flags, qd = struct.unpack(">HHH", pkt[:6])
        if qd != 1:
            return None
        qname, off = _qname(pkt, 12)
        qtype, qclass = struct.unpack(">HH", pkt[off:off + 4])
        question = pkt[12:off + 4]
        name = qname.lower().rstrip(".")
        rcode, answers = 3, []  # NXDOMAIN unless known
        if name.startswith("_mta-sts."):
            z = self.zones.get(name[len("_mta-sts."):])
            txt = None if z is None else z.get("txt")
            if txt == "drop":
                return None
            if txt == "servfail":
                rcode = 2
            elif txt is not None and txt != "nxdomain":
                rcode = 0
                if qtype == 16:
                    for rec in (txt if isinstance(txt, list) else [txt]):
                        data = rec.encode()
                        rd = b""
                        while True:
                            rd += bytes([len(data[:255])]) + data[:255]
                            data = data[255:]
                            if not data:
                                break
                        answers.append((16, rd))
        elif name.startswith("mta-sts.") and name[8:] in self.zones:
            rcode = 0
            if qtype == 1:
                answers.append((1, socket.inet_aton("127.0.0.1")))
        elif name in self.zones:
            rcode = 0
        rflags = 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | rcode
        out = struct.pack(">HHHHHH", qid, rflags, 1, len(answers), 0, 0)
        out += question
        for rtype, rd in answers:
            out += b"\xc0\x0c" + struct.pack(">HHIH", rtype, 1, 60, len(rd))
            out += rd
        return out

    def connect_to(self):
        return "::127.0.0.1:%d" % self.https_port

    def close(self):
        self.stop_flag = True
        self.httpd.shutdown()
        self.httpd.server_close()
        self.dns_thread.join(5)
        self.udp.close()
