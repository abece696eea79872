#!/usr/bin/env python3
"""End-to-end tests of `mtasts lookup`, `mtasts check` and the libevent
example against real servers on loopback (rig.py): dnsmasq for DNS, nginx
and a small Python HTTPS server for the policy hosts, Python STARTTLS SMTP
listeners for the MX hosts, certificates from a throwaway CA.

usage: test_e2e.py GROUP MTASTS [NET_EVENT_LOOP]
  GROUP  lookup | check | event-loop
  MTASTS the tool; NET_EVENT_LOOP the example (event-loop group)

Every case checks the outcome, why, result type and exit code in the JSON
form, that the human form says the same, and what the run left in its
--cache file; the nginx access log shows which runs made an HTTPS request.
The contract is /LOOKUP_SCHEMA.md of the tool (mtasts(1)).

Exit: 0 all passed, 1 a case failed, 77 a server program is missing.
"""
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rig as R  # noqa: E402

Z = "e2e.test"
WELL_KNOWN = "/.well-known/mta-sts.txt"
RESULT_CODE = {"sts-policy-fetch-error": 9, "sts-policy-invalid": 10,
               "sts-webpki-invalid": 11}
EXIT = {"apply": 0, "no_policy": 1, "no_active_policy": 1, "tempfail": 3}
EVENT_LOOP_N = 100


def policy(mx, mode="enforce", max_age=86400):
    body = f"version: STSv1\nmode: {mode}\n"
    body += "".join(f"mx: {m}\n" for m in mx)
    return (body + f"max_age: {max_age}\n").encode()


def padded_policy(size, mx):
    """A valid policy of exactly size bytes: the four fields, then
    extension lines with distinct names (RFC 8461 3.2 allows unknown
    fields; distinct names avoid a duplicate-field warning)."""
    body = bytearray(policy(mx))
    i = 0
    while len(body) < size:
        rem = size - len(body)
        key = b"pad%04d: " % i
        i += 1
        if rem >= 2000:
            body += key + b"x" * (1000 - len(key) - 1) + b"\n"
        else:
            # the last line takes what is left (at least key + 1 + LF)
            n = rem - len(key) - 1
            if n < 1:
                raise R.RigError("bad padding arithmetic")
            body += key + b"x" * n + b"\n"
    assert len(body) == size
    return bytes(body)


def entry_fields(path):
    """The fields of a cache entry file (doc/cache-entry.md) and its
    policy body, or None when the file does not exist."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    fields = {}
    rest = data
    lines = 0
    while rest and lines < 20:
        line, _, rest = rest.partition(b"\n")
        lines += 1
        text = line.decode("ascii", "replace")
        if "=" not in text:
            fields["header"] = text
            continue
        k, _, v = text.partition("=")
        fields[k] = v
        if k == "policy":
            fields["body"] = rest
            break
    return fields


class Failures:
    def __init__(self):
        self.items = []

    def check(self, case, what, cond, detail=""):
        if not cond:
            self.items.append(f"{case}: {what}: {detail}")
        return cond

    def eq(self, case, what, got, want):
        return self.check(case, what, got == want,
                          f"expected {want!r}, got {got!r}")


F = Failures()


# ---------------------------------------------------------------- the rig


class World:
    """Every server, record and certificate of the tests."""

    def __init__(self, rig, mtasts):
        self.rig = rig
        self.mtasts = mtasts
        self.pki = rig.make_pki()
        self.policies = {}   # label -> served policy bytes
        self.ids = {}        # label -> TXT id
        self.work = os.path.join(rig.dir, "work")
        os.makedirs(self.work)
        self.build()

    # -- helpers
    def host(self, label):
        return f"mta-sts.{label}.{Z}"

    def sts(self, label, ident=None, *, a=True):
        ident = ident or "2024" + label
        self.ids[label] = ident
        self.rig.dns.txt(f"_mta-sts.{label}.{Z}", f"v=STSv1; id={ident};")
        if a:
            self.rig.dns.a(self.host(label))

    def serve(self, label, cert, body=None, ctype="text/plain", extra=None,
              mx=None):
        """An nginx server block for mta-sts.<label> serving body (a
        policy for mx.<label> by default) with Content-Type ctype ("" for
        none), or the location body extra."""
        if extra is None:
            if body is None:
                body = policy(mx or [f"mx1.{label}.{Z}"])
            self.policies[label] = body
            f = self.rig.nginx.file(label + ".txt", body)
            extra = f'default_type "{ctype}"; alias {f};'
        self.rig.nginx.server(self.host(label), cert, {WELL_KNOWN: extra})

    # -- everything
    def build(self):
        rig, pki, dns = self.rig, self.pki, self.rig.dns
        web_good_labels = [
            "valid", "cacheflow", "multi", "norecord", "txtinvalid",
            "notfound", "redirect", "redirtarget", "error500", "html",
            "noctype", "charset", "size64k", "size64k1", "split",
            "mismatch", "testing", "nonemode", "probe", "checkok",
            "checkbad", "chunkedok", "chunkedbig", "hanghttp", "dripok",
            "dripslow"]
        self.web_good = pki.issue(
            "web-good", [self.host(x) for x in web_good_labels]
            + [self.host(f"d{i}") for i in range(EVENT_LOOP_N)])
        web_expired = pki.issue("web-expired", [self.host("expired")],
                                expired=True)
        web_wrong = pki.issue("web-wrongname", [self.host("other")])
        web_untrusted = pki.issue("web-untrusted", [self.host("untrusted")],
                                  ca="untrusted")
        mx_good = pki.issue("mx-good", [
            f"good.probe.{Z}", f"mx.checkok.{Z}", f"mx.rogue.{Z}",
            f"mx1.valid.{Z}"])
        mx_expired = pki.issue("mx-expired", [
            f"expired.probe.{Z}", f"mx1.checkbad.{Z}"], expired=True)
        mx_wrong = pki.issue("mx-wrongname", [f"other.{Z}"])
        mx_untrusted = pki.issue("mx-untrusted", [f"untrusted.probe.{Z}"],
                                 ca="untrusted")
        self.mx_certs = {"good": mx_good, "expired": mx_expired}
        good = self.web_good
        # the default server for unknown names
        default = pki.issue("web-default", [f"default.{Z}"])
        rig.nginx.server("_", default, {}, default=True)

        # valid: a policy, a TLSRPT record, one MX in DNS
        self.sts("valid", "20240101T000000")
        dns.txt(f"_smtp._tls.valid.{Z}", "v=TLSRPTv1; rua=mailto:tlsrpt@valid.e2e.test")
        dns.mx(f"valid.{Z}", f"mx1.valid.{Z}", 10)
        dns.a(f"mx1.valid.{Z}")
        self.serve("valid", good,
                   mx=[f"mx1.valid.{Z}", f"*.backup.valid.{Z}"])
        # cacheflow: the same id from cache, then a new id (a dnsmasq
        # restart) fetched
        self.sts("cacheflow", "c1")
        self.serve("cacheflow", good)
        # several STS records; no record; an invalid record: no fetch
        dns.txt(f"_mta-sts.multi.{Z}", "v=STSv1; id=m1;")
        dns.txt(f"_mta-sts.multi.{Z}", "v=STSv1; id=m2;")
        dns.a(self.host("multi"))
        self.serve("multi", good)
        dns.a(self.host("norecord"))
        self.serve("norecord", good)
        dns.txt(f"_mta-sts.txtinvalid.{Z}", "v=STSv1; id=not valid!;")
        dns.a(self.host("txtinvalid"))
        self.serve("txtinvalid", good)
        # NXDOMAIN for mta-sts.<domain> while the record exists
        self.sts("nxhost", a=False)
        # HTTP answers
        self.sts("notfound")
        self.serve("notfound", good, extra="return 404;")
        self.sts("redirect")
        self.serve("redirect", good, extra=f"return 301 https://{self.host('redirtarget')}{WELL_KNOWN};")
        dns.a(self.host("redirtarget"))
        self.serve("redirtarget", good)
        self.sts("error500")
        self.serve("error500", good, extra="return 500;")
        self.sts("html")
        self.serve("html", good, ctype="text/html")
        self.sts("noctype")
        self.serve("noctype", good, ctype="")
        self.sts("charset")
        self.serve("charset", good, ctype="text/plain; charset=utf-8")
        self.sts("size64k")
        self.serve("size64k", good,
                   body=padded_policy(65536, [f"mx1.size64k.{Z}"]))
        self.sts("size64k1")
        self.serve("size64k1", good,
                   body=padded_policy(65537, [f"mx1.size64k1.{Z}"]))
        # certificates of the policy host
        self.sts("expired")
        self.serve("expired", web_expired)
        self.sts("wrongname")
        self.serve("wrongname", web_wrong)
        self.sts("untrusted")
        self.serve("untrusted", web_untrusted)
        # TXT split across character-strings (in the middle of "id")
        self.ids["split"] = "split2024"
        dns.txt(f"_mta-sts.split.{Z}", "v=STSv1; i", "d=split2024;")
        dns.a(self.host("split"))
        self.serve("split", good)
        # MX names against the patterns (MX given as arguments)
        self.sts("mismatch")
        self.serve("mismatch", good, mx=[f"mx1.mismatch.{Z}"])
        self.sts("testing")
        self.serve("testing", good,
                   body=policy([f"mx1.testing.{Z}"], mode="testing"))
        self.sts("nonemode")
        self.serve("nonemode", good,
                   body=policy([f"mx1.nonemode.{Z}"], mode="none"))
        # --probe: one MX per certificate kind, all under *.probe
        self.sts("probe")
        self.serve("probe", good, mx=[f"*.probe.{Z}"])
        self.probe_mx = ["good", "expired", "wrongname", "untrusted",
                         "nostarttls"]
        for i, k in enumerate(self.probe_mx):
            dns.mx(f"probe.{Z}", f"{k}.probe.{Z}", 10 * (i + 1))
            dns.a(f"{k}.probe.{Z}")
        # mtasts check: an all-good domain, and one with a planted MX
        # mismatch and an expired MX certificate
        for lbl in ("checkok", "checkbad"):
            self.sts(lbl)
            dns.txt(f"_smtp._tls.{lbl}.{Z}",
                    f"v=TLSRPTv1; rua=mailto:tlsrpt@{lbl}.{Z}")
        self.serve("checkok", good, body=policy([f"mx.checkok.{Z}"],
                                               max_age=604800))
        dns.mx(f"checkok.{Z}", f"mx.checkok.{Z}", 10)
        dns.a(f"mx.checkok.{Z}")
        self.serve("checkbad", good, body=policy([f"mx1.checkbad.{Z}"],
                                                max_age=604800))
        dns.mx(f"checkbad.{Z}", f"mx1.checkbad.{Z}", 10)
        dns.mx(f"checkbad.{Z}", f"mx.rogue.{Z}", 20)
        dns.a(f"mx1.checkbad.{Z}")
        dns.a(f"mx.rogue.{Z}")
        # event loop: d0..d99, one nginx server block for all (a regex
        # server_name; the certificate lists the 100 names)
        f = rig.nginx.file("d.txt", policy([f"*.{Z}"]))
        rig.nginx.server(r"~^mta-sts\.d[0-9]+\.e2e\.test$", good,
                         {WELL_KNOWN: f'default_type "text/plain"; alias {f};'})
        for i in range(EVENT_LOOP_N):
            dns.txt(f"_mta-sts.d{i}.{Z}", f"v=STSv1; id=d{i};")
            dns.a(self.host(f"d{i}"))

        # the Python HTTPS server: chunked, hang and drip cases
        py = rig.https(good)
        self.py = py
        for lbl in ("chunkedok", "chunkedbig", "hanghttp", "dripok",
                    "dripslow"):
            self.sts(lbl)
        self.policies["chunkedok"] = policy([f"mx1.chunkedok.{Z}"])
        py.route(self.host("chunkedok"),
                 R.chunked(self.policies["chunkedok"], chunk=16))
        py.route(self.host("chunkedbig"),
                 R.chunked(padded_policy(70000, [f"mx1.chunkedbig.{Z}"])))
        py.route(self.host("hanghttp"), R.hold(30))
        self.policies["dripok"] = policy([f"mx1.dripok.{Z}"])
        py.route(self.host("dripok"), R.drip(self.policies["dripok"],
                                             every=0.1, piece=10))
        py.route(self.host("dripslow"),
                 R.drip(policy([f"mx1.dripslow.{Z}"]) + b"\n" * 200,
                        every=0.5, piece=1))
        # accepts and never sends a byte (not even the TLS handshake)
        self.sts("hangtcp")
        self.hold = rig.tcp_hold(30)

        # SMTP listeners, one per certificate kind
        self.smtp = {
            "good": rig.smtp("good", mx_good),
            "expired": rig.smtp("expired", mx_expired),
            "wrongname": rig.smtp("wrongname", mx_wrong),
            "untrusted": rig.smtp("untrusted", mx_untrusted),
            "nostarttls": rig.smtp("nostarttls", None),
        }
        rig.start()

        ct = []
        for lbl in ("chunkedok", "chunkedbig", "hanghttp", "dripok",
                    "dripslow"):
            # keep the host (resolved by dnsmasq), change the port
            ct.append(f"{self.host(lbl)}:443::{py.port}")
        ct.append(f"{self.host('hangtcp')}:443:127.0.0.1:{self.hold.port}")
        mx_map = {f"{k}.probe.{Z}": k for k in self.probe_mx}
        mx_map.update({f"mx.checkok.{Z}": "good", f"mx.rogue.{Z}": "good",
                       f"mx1.valid.{Z}": "good",
                       f"mx1.checkbad.{Z}": "expired"})
        for name, kind in mx_map.items():
            ct.append(f"{name}:25::{self.smtp[kind].port}")
        ct.append(f":443::{rig.nginx.port}")
        self.connect_to = ct

    # -- running the tool
    def base_args(self, timeout=5):
        a = ["--dns-server", f"127.0.0.1:{self.rig.dns.port}",
             "--ca-file", self.pki.ca_file, "--timeout", str(timeout)]
        for c in self.connect_to:
            a += ["--connect-to", c]
        return a

    def run(self, cmd, args, json_out, timeout=5, limit=90):
        argv = [self.mtasts, cmd] + (["--json"] if json_out else []) \
            + self.base_args(timeout) + args
        t0 = time.monotonic()
        try:
            p = subprocess.run(argv, capture_output=True, timeout=limit)
        except subprocess.TimeoutExpired:
            return None, "", "", time.monotonic() - t0, argv
        return (p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"),
                time.monotonic() - t0, argv)

    def requests(self, label):
        h = self.host(label)
        return len(self.rig.nginx.requests(h)) + len(self.py.requests(h))


# ---------------------------------------------------------------- lookup


def short(argv):
    """argv without the options every run shares (printed once at the
    start), for failure messages."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] in ("--dns-server", "--ca-file", "--connect-to") \
                and i + 1 < len(argv):
            i += 2
            continue
        out.append(argv[i])
        i += 1
    return " ".join(out)


def parse_json(case, out, err, argv):
    try:
        return json.loads(out)
    except ValueError:
        F.check(case, "JSON output", False,
                f"not JSON: {out[:300]!r} stderr {err[:300]!r} "
                f"({short(argv)})")
        return None


def step(o, kind):
    for s in o.get("steps") or []:
        if s.get("kind") == kind:
            return s
    return None


def human_lines(out):
    return [ln.strip() for ln in out.splitlines()]


def check_human(case, out, exp, mx_exp):
    """The human form carries the outcome, why and result type, and one
    line per MX with its action, reason and result type."""
    lines = human_lines(out)
    ol = [ln for ln in lines if ln.startswith("outcome:")]
    if not F.check(case, "human: an outcome line", len(ol) == 1, out[-800:]):
        return
    m = re.match(r"outcome:\s*(\S+)\s+why=(\S+)", ol[0])
    if F.check(case, "human: outcome line form", m is not None, ol[0]):
        F.eq(case, "human: outcome", m.group(1), exp["outcome"])
        F.eq(case, "human: why", m.group(2), exp["why"])
    rl = [ln for ln in lines if ln.startswith("result_type:")]
    if exp["result_type"] is None:
        F.check(case, "human: no result_type line", not rl, rl)
    elif F.check(case, "human: a result_type line", len(rl) == 1, out[-800:]):
        F.eq(case, "human: result_type", rl[0].split(":", 1)[1].split()[0],
             exp["result_type"])
    for host, (action, reason, rt) in (mx_exp or {}).items():
        ml = [ln for ln in lines if ln.startswith(f"mx {host} ")
              or ln.startswith(f"mx {host}:")]
        if not F.check(case, f"human: a line for mx {host}", len(ml) == 1,
                       out[-1200:]):
            continue
        words = re.findall(r"[a-z_][a-z0-9_-]*", ml[0].split(":", 1)[1])
        F.check(case, f"human: mx {host} action/reason",
                action in words and reason in words, ml[0])
        if rt is not None:
            F.check(case, f"human: mx {host} result type", rt in words, ml[0])
        else:
            F.check(case, f"human: mx {host} no result type",
                    not any("-" in w for w in words), ml[0])


def run_lookup(w, case, label, exp, mx_args=(), timeout=5, probe=False,
               mx_exp=None, cache=None, now=None, human=True):
    """One lookup in JSON form (with a --cache file) and in human form
    (with a copy of the cache file as it was before), checked against
    exp: outcome, why, source, result_type, and optionally txt (dns,
    records), fetch (transport, http_status, content_type, tls,
    body_size), requests (HTTPS requests this run made), cache ('policy',
    'backoff' or None: what the file holds after the run)."""
    domain = f"{label}.{Z}"
    cache = cache or os.path.join(w.work, case + ".entry")
    before = os.path.join(w.work, case + ".before")
    if os.path.exists(cache):
        shutil.copyfile(cache, before)
    elif os.path.exists(before):
        os.unlink(before)
    extra = ["--cache", cache]
    if probe:
        extra.append("--probe")
    if now is not None:
        extra += ["--now", str(now)]
    n0 = w.requests(label)
    rc, out, err, secs, argv = w.run("lookup", extra + [domain, *mx_args],
                                     True, timeout)
    if not F.check(case, "finished", rc is not None,
                   f"still running after 90 s: {short(argv)}"):
        return None
    o = parse_json(case, out, err, argv)
    if o is None:
        return None
    made = w.requests(label) - n0
    F.eq(case, "exit code", rc, EXIT.get(exp["outcome"], -1))
    for k in ("outcome", "why", "source", "result_type"):
        F.eq(case, k, o.get(k), exp[k])
    F.eq(case, "domain", o.get("domain"), domain)
    if "requests" in exp:
        F.eq(case, "HTTPS requests made (access log)", made, exp["requests"])
    if "txt" in exp:
        t = step(o, "txt")
        if F.check(case, "a txt step", t is not None, o.get("steps")):
            for k, v in exp["txt"].items():
                got = t.get(k)
                if k == "records" and isinstance(got, list):
                    # an RRset has no order; the strings of one record do
                    got, v = sorted(got), sorted(v)
                F.eq(case, "txt " + k, got, v)
    fs = step(o, "fetch")
    if exp.get("fetch") is None:
        F.check(case, "no fetch step", fs is None, fs)
    elif F.check(case, "a fetch step", fs is not None, o.get("steps")):
        F.eq(case, "fetch url", fs.get("url"),
             f"https://{w.host(label)}{WELL_KNOWN}")
        for k, v in exp["fetch"].items():
            F.eq(case, "fetch " + k, fs.get(k), v)
    # what is cached
    e = entry_fields(cache)
    c = o.get("cache") or {}
    F.eq(case, "cache.file", c.get("file"), cache)
    kind = exp.get("cache")
    if kind is None:
        F.check(case, "no cache file", e is None, e)
    elif F.check(case, "a cache file", e is not None, c):
        F.eq(case, "cache entry domain", e.get("domain"), domain)
        if kind == "policy":
            F.eq(case, "cached id", e.get("id"), w.ids.get(label))
            if label in w.policies:
                F.eq(case, "cached policy body", e.get("body"),
                     w.policies[label])
        else:
            F.eq(case, "cache: no policy", e.get("policy"), "0")
            F.eq(case, "cache backoff id", e.get("backoff-id"),
                 w.ids.get(label))
            F.eq(case, "cache backoff result", e.get("backoff-result"),
                 str(RESULT_CODE.get(exp["result_type"], "?")))
    if "cache_action" in exp:
        F.eq(case, "cache.action", c.get("action"), exp["cache_action"])
    # per MX
    if mx_exp is not None:
        got = {m.get("host"): m for m in o.get("mx") or []}
        F.eq(case, "MX hosts", sorted(got), sorted(mx_exp))
        for host, (action, reason, rt, *tls) in mx_exp.items():
            m = got.get(host)
            if m is None:
                continue
            F.eq(case, f"mx {host} action", m.get("action"), action)
            F.eq(case, f"mx {host} reason", m.get("reason"), reason)
            F.eq(case, f"mx {host} result_type", m.get("result_type"), rt)
            if tls:
                F.eq(case, f"mx {host} tls", m.get("tls"), tls[0])
    if "check" in exp:
        exp["check"](o)
    # the human form, from the same starting cache state
    if human:
        hcache = os.path.join(w.work, case + ".human.entry")
        if os.path.exists(before):
            shutil.copyfile(before, hcache)
        elif os.path.exists(hcache):
            os.unlink(hcache)
        hextra = ["--cache", hcache] + extra[2:]
        rc2, hout, herr, _, hargv = w.run("lookup", hextra + [domain, *mx_args],
                                          False, timeout)
        if F.check(case, "human: finished", rc2 is not None, short(hargv)):
            F.eq(case, "human: exit code", rc2, rc)
            check_human(case, hout, exp,
                        {h: v[:3] for h, v in (mx_exp or {}).items()})
            for line in exp.get("human", ()):
                F.check(case, "human: a line " + repr(line),
                        line in human_lines(hout), hout[-1500:])
    return o


def fail(rt, transport="ok", http_status=None, **more):
    """Expectations of a fetch that failed without a cached policy."""
    f = {"transport": transport}
    if http_status is not None:
        f["http_status"] = http_status
    f.update(more)
    return {"outcome": "no_policy", "why": "fetch_failed", "source": "none",
            "result_type": rt, "fetch": f, "requests": 1, "cache": "backoff",
            "cache_action": "store"}


def applied(**fetch):
    f = {"transport": "ok", "http_status": 200, "tls": "ok"}
    f.update(fetch)
    return {"outcome": "apply", "why": "fetched", "source": "fetch",
            "result_type": None, "fetch": f, "requests": 1,
            "cache": "policy", "cache_action": "store"}


def no_fetch(why):
    return {"outcome": "no_policy", "why": why, "source": "none",
            "result_type": None, "fetch": None, "requests": 0, "cache": None}


FE, PI, WI = "sts-policy-fetch-error", "sts-policy-invalid", \
    "sts-webpki-invalid"


def lookup_cases(w):
    """(case name, function) pairs; each runs its own lookups."""
    cases = []

    def add(name, label, exp, **kw):
        cases.append((name, lambda: run_lookup(w, name, label, exp, **kw)))

    def valid_extra(o):
        p = o.get("policy") or {}
        F.eq("valid", "policy mode", p.get("mode"), "enforce")
        F.eq("valid", "policy mx", p.get("mx"),
             [f"mx1.valid.{Z}", f"*.backup.valid.{Z}"])
        F.eq("valid", "policy id", p.get("id"), w.ids["valid"])
        F.eq("valid", "policy max_age", p.get("max_age"), 86400)
        t = o.get("tlsrpt") or {}
        F.eq("valid", "tlsrpt record", t.get("record"),
             "v=TLSRPTv1; rua=mailto:tlsrpt@valid.e2e.test")
        F.eq("valid", "tlsrpt rua", t.get("rua"),
             ["mailto:tlsrpt@valid.e2e.test"])
        F.eq("valid", "exim", o.get("exim"),
             f"enforce mx1.valid.{Z} *.backup.valid.{Z}")
        m = (o.get("mx") or [{}])[0]
        F.eq("valid", "mx preference", m.get("preference"), 10)
        F.eq("valid", "mx source", m.get("source"), "dns")
        F.eq("valid", "mx_dns", o.get("mx_dns"), "ok")

    exp = applied(content_type="text/plain",
                  body_size=len(w.policies["valid"]))
    exp["txt"] = {"dns": "ok", "records": [[f"v=STSv1; id={w.ids['valid']};"]]}
    exp["check"] = valid_extra
    add("valid", "valid", exp,
        mx_exp={f"mx1.valid.{Z}": ("deliver", "pass", None, "not_tried")})

    exp = no_fetch("txt_multiple")
    exp["txt"] = {"dns": "ok", "records": [["v=STSv1; id=m1;"],
                                           ["v=STSv1; id=m2;"]]}
    add("several-records", "multi", exp)
    exp = no_fetch("no_record")
    exp["txt"] = {"dns": "nxdomain"}
    add("no-record", "norecord", exp)
    add("txt-invalid", "txtinvalid", no_fetch("txt_invalid"))
    exp = fail(FE, transport="connect")
    exp["requests"] = 0
    add("policy-host-nxdomain", "nxhost", exp)

    def notfound_then_backoff():
        run_lookup(w, "http-404", "notfound", fail(FE, http_status=404))
        # the backoff entry keeps the same id from being fetched again
        exp = {"outcome": "no_policy", "why": "backoff", "source": "none",
               "result_type": FE, "fetch": None, "requests": 0,
               "cache": "backoff"}
        run_lookup(w, "http-404-backoff", "notfound", exp,
                   cache=os.path.join(w.work, "http-404.entry"), human=False)
    cases.append(("http-404", notfound_then_backoff))

    def redirect_extra(o):
        F.eq("http-301", "redirect target not requested",
             w.requests("redirtarget"), 0)
    exp = fail(FE, http_status=301)
    exp["check"] = redirect_extra
    add("http-301", "redirect", exp)
    add("http-500", "error500", fail(FE, http_status=500))
    add("text-html", "html", fail(PI, http_status=200,
                                  content_type="text/html"))
    add("no-content-type", "noctype", fail(PI, http_status=200,
                                           content_type=None))
    add("text-plain-charset", "charset",
        applied(content_type="text/plain; charset=utf-8"))
    add("body-64KiB", "size64k", applied(body_size=65536))
    add("body-64KiB+1", "size64k1", fail(PI, transport="too_big"))
    add("chunked", "chunkedok", applied(content_type="text/plain"))
    add("chunked-over-length", "chunkedbig", fail(PI, transport="too_big"))
    # a certificate refused: the handshake ends before any request is sent
    # (nothing in the access log)
    for name, label, tls in (("cert-expired", "expired", "cert_expired"),
                             ("cert-wrong-name", "wrongname",
                              "cert_host_mismatch"),
                             ("cert-untrusted", "untrusted",
                              "cert_untrusted")):
        exp = fail(WI, transport="cert", tls=tls)
        exp["requests"] = 0
        add(name, label, exp)
    # accepts TCP and never answers: no TLS handshake, nothing logged
    exp = fail(FE, transport="timeout")
    exp["requests"] = 0
    add("hang-tcp", "hangtcp", exp, timeout=2)
    # TLS done, the request read, no response
    add("hang-http", "hanghttp", fail(FE, transport="timeout"), timeout=2)
    # a slow drip: a small body in 10-byte pieces every 0.1 s completes
    # within --timeout 10; one byte every 0.5 s does not within 2 s (the
    # timeout is for the whole fetch, not between bytes)
    add("slow-drip-completes", "dripok", applied(), timeout=10)
    add("slow-drip-times-out", "dripslow", fail(FE, transport="timeout"),
        timeout=2)
    exp = applied()
    exp["txt"] = {"dns": "ok", "records": [["v=STSv1; i", "d=split2024;"]]}
    # the human form shows the two strings apart
    exp["human"] = [f'txt _mta-sts.split.{Z}: ok "v=STSv1; i" "d=split2024;"']
    add("txt-split", "split", exp)
    # an MX that matches no pattern is skipped under enforce (reported as
    # validation-failure), delivered under testing (still reported)
    exp = applied()
    exp["check"] = lambda o: F.eq("mx-mismatch", "mx_dns (MX given)",
                                  o.get("mx_dns"), None)
    add("mx-mismatch", "mismatch", exp,
        mx_args=[f"mx1.mismatch.{Z}", "mx.attacker.test"],
        mx_exp={f"mx1.mismatch.{Z}": ("deliver", "pass", None),
                "mx.attacker.test": ("skip", "mx_mismatch",
                                     "validation-failure")})
    add("mx-mismatch-testing", "testing", applied(),
        mx_args=["mx.attacker.test"],
        mx_exp={"mx.attacker.test": ("deliver", "mx_mismatch",
                                     "validation-failure")})
    exp = applied()
    exp["outcome"] = "no_active_policy"
    add("mode-none", "nonemode", exp, mx_args=["mx.attacker.test"],
        mx_exp={"mx.attacker.test": ("deliver", "no_policy", None)})

    def probe_extra(o):
        for m in o.get("mx") or []:
            pr = m.get("probe") or {}
            F.check("probe", f"{m.get('host')} probe connected",
                    pr.get("connected") is True, pr)
        good = w.smtp["good"].sessions
        F.check("probe", "good MX: a STARTTLS session",
                any(s["tls"] for s in good), good)
        F.check("probe", "no-STARTTLS MX: EHLO seen, no TLS",
                all(not s["tls"] and "EHLO" in s["commands"]
                    for s in w.smtp["nostarttls"].sessions)
                and w.smtp["nostarttls"].sessions,
                w.smtp["nostarttls"].sessions)
    exp = applied()
    exp["check"] = probe_extra
    add("probe", "probe", exp, probe=True, mx_exp={
        f"good.probe.{Z}": ("deliver", "pass", None, "ok"),
        f"expired.probe.{Z}": ("skip", "cert_invalid", "certificate-expired",
                               "cert_expired"),
        f"wrongname.probe.{Z}": ("skip", "cert_invalid",
                                 "certificate-host-mismatch",
                                 "cert_host_mismatch"),
        f"untrusted.probe.{Z}": ("skip", "cert_invalid",
                                 "certificate-not-trusted", "cert_untrusted"),
        f"nostarttls.probe.{Z}": ("skip", "no_starttls",
                                  "starttls-not-supported", "no_starttls"),
    })
    return cases


def cache_flow(w):
    """valid policy fetched; the same id served from the cache (no HTTPS
    request); the TXT id changes (dnsmasq restarted) and the new policy
    is fetched; then cached again."""
    case, label = "cache", "cacheflow"
    cache = os.path.join(w.work, "cacheflow.entry")
    now = int(time.time())
    run_lookup(w, case + "-1-fetched", label, applied(), cache=cache, now=now)
    e1 = entry_fields(cache) or {}
    exp = {"outcome": "apply", "why": "cached", "source": "cache",
           "result_type": None, "fetch": None, "requests": 0,
           "cache": "policy"}
    run_lookup(w, case + "-2-cached", label, exp, cache=cache, now=now + 60)
    F.eq(case, "cached policy kept", (entry_fields(cache) or {}).get("body"),
         e1.get("body"))
    # a new id and a new policy behind it
    w.rig.dns.remove(f"txt-record=_mta-sts.{label}.")
    w.ids[label] = "c2"
    w.rig.dns.txt(f"_mta-sts.{label}.{Z}", "v=STSv1; id=c2;")
    w.policies[label] = policy([f"mx2.{label}.{Z}"], max_age=172800)
    w.rig.nginx.file(label + ".txt", w.policies[label])
    w.rig.dns.restart()

    def new_policy(o):
        F.eq(case, "new policy mx", (o.get("policy") or {}).get("mx"),
             [f"mx2.{label}.{Z}"])
    exp = applied()
    exp["check"] = new_policy
    run_lookup(w, case + "-3-new-id", label, exp, cache=cache, now=now + 120)
    exp = {"outcome": "apply", "why": "cached", "source": "cache",
           "result_type": None, "fetch": None, "requests": 0,
           "cache": "policy"}
    run_lookup(w, case + "-4-cached", label, exp, cache=cache, now=now + 180)


def dns_down(w):
    """The DNS server does not answer (a closed port): the TXT query fails
    temporarily, no policy, exit 3."""
    case = "dns-unreachable"
    dead = R.free_port(udp_too=True)
    argv = [w.mtasts, "lookup", "--json", "--dns-server", f"127.0.0.1:{dead}",
            "--ca-file", w.pki.ca_file, "--timeout", "2", f"valid.{Z}"]
    try:
        p = subprocess.run(argv, capture_output=True, timeout=90)
    except subprocess.TimeoutExpired:
        F.check(case, "finished", False, argv)
        return
    o = parse_json(case, p.stdout.decode(), p.stderr.decode(), argv)
    if o is None:
        return
    F.eq(case, "exit code", p.returncode, 3)
    F.eq(case, "why", o.get("why"), "txt_tempfail")
    F.check(case, "outcome", o.get("outcome") in ("no_policy", "tempfail"),
            o.get("outcome"))
    t = step(o, "txt") or {}
    F.check(case, "txt dns", t.get("dns") in ("timeout", "error", "servfail"),
            t)


# ---------------------------------------------------------------- check


def run_check(w, case, label, want_rc, must=(), must_not_errors=False,
              mx_check=None):
    domain = f"{label}.{Z}"
    rc, out, err, secs, argv = w.run("check", [domain], True, 5)
    if not F.check(case, "finished", rc is not None, short(argv)):
        return
    o = parse_json(case, out, err, argv)
    if o is None:
        return
    F.eq(case, "exit code", rc, want_rc)
    fl = o.get("findings") or []
    codes = {(f.get("code"), f.get("subject")) for f in fl}
    for code, subject in must:
        F.check(case, f"finding {code} ({subject})",
                any(c == code and (subject is None or s == subject)
                    for c, s in codes), fl)
    errors = [f for f in fl if f.get("severity") == "error"]
    F.eq(case, "errors count", o.get("errors"), len(errors))
    if must_not_errors:
        # an all-good domain has only info findings, or none
        F.eq(case, "only info findings",
             [f for f in fl if f.get("severity") != "info"], [])
        F.eq(case, "warnings count", o.get("warnings"), 0)
    if mx_check:
        mx_check(o.get("mx") or [])
    # the human form: the same exit code and the finding codes
    rc2, hout, _, _, hargv = w.run("check", [domain], False, 5)
    if F.check(case, "human: finished", rc2 is not None, short(hargv)):
        F.eq(case, "human: exit code", rc2, rc)
        for code, _ in must:
            F.check(case, f"human: {code} shown", code in hout, hout[-1500:])


def check_cases(w):
    def ok_mx(mx):
        F.eq("check-ok", "mx", [(m.get("host"), m.get("match"), m.get("tls"))
                                for m in mx],
             [(f"mx.checkok.{Z}", True, "ok")])

    def bad_mx(mx):
        got = {m.get("host"): (m.get("match"), m.get("tls")) for m in mx}
        F.eq("check-bad", "mx", got,
             {f"mx1.checkbad.{Z}": (True, "cert_expired"),
              f"mx.rogue.{Z}": (False, "ok")})
    return [
        ("check-ok", lambda: run_check(w, "check-ok", "checkok", 0,
                                       must_not_errors=True, mx_check=ok_mx)),
        ("check-bad", lambda: run_check(
            w, "check-bad", "checkbad", 1,
            must=[("mx-mismatch", f"mx.rogue.{Z}"),
                  ("mx-cert-expired", f"mx1.checkbad.{Z}")],
            mx_check=bad_mx)),
        # every MX certificate fault, each its own finding
        ("check-probe", lambda: run_check(
            w, "check-probe", "probe", 1,
            must=[("mx-cert-expired", f"expired.probe.{Z}"),
                  ("mx-cert-host-mismatch", f"wrongname.probe.{Z}"),
                  ("mx-cert-untrusted", f"untrusted.probe.{Z}"),
                  ("mx-no-starttls", f"nostarttls.probe.{Z}"),
                  ("max-age-short", None), ("tlsrpt-missing", None)])),
        # the policy host's faults
        ("check-policy-cert-expired", lambda: run_check(
            w, "check-policy-cert-expired", "expired", 1,
            must=[("policy-cert-expired", None)])),
        ("check-policy-cert-host-mismatch", lambda: run_check(
            w, "check-policy-cert-host-mismatch", "wrongname", 1,
            must=[("policy-cert-host-mismatch", None)])),
        ("check-policy-cert-untrusted", lambda: run_check(
            w, "check-policy-cert-untrusted", "untrusted", 1,
            must=[("policy-cert-untrusted", None)])),
        ("check-policy-host-unresolvable", lambda: run_check(
            w, "check-policy-host-unresolvable", "nxhost", 1,
            must=[("policy-host-unresolvable", None)])),
        ("check-policy-http-status", lambda: run_check(
            w, "check-policy-http-status", "notfound", 1,
            must=[("policy-http-status", None)])),
        ("check-policy-content-type", lambda: run_check(
            w, "check-policy-content-type", "html", 1,
            must=[("policy-content-type", None)])),
        ("check-policy-too-big", lambda: run_check(
            w, "check-policy-too-big", "size64k1", 1,
            must=[("policy-too-big", None)])),
        ("check-txt-multiple", lambda: run_check(
            w, "check-txt-multiple", "multi", 1,
            must=[("txt-multiple", None)])),
        ("check-txt-missing", lambda: run_check(
            w, "check-txt-missing", "norecord", 1,
            must=[("txt-missing", None)])),
    ]


# ---------------------------------------------------------------- event loop


def event_loop(w, prog):
    case = "event-loop"
    n0 = len(w.rig.nginx.requests())
    argv = [prog, "--dns-server", f"127.0.0.1:{w.rig.dns.port}",
            "--ca-file", w.pki.ca_file, "--connect-to",
            f":443::{w.rig.nginx.port}", "--count", str(EVENT_LOOP_N),
            "--base", Z, "--timeout", "20"]
    try:
        p = subprocess.run(argv, capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        F.check(case, "finished", False, argv)
        return
    out = p.stdout.decode("utf-8", "replace")
    print(out[-600:])
    F.eq(case, "exit code", p.returncode, 0)
    lines = {}
    for ln in out.splitlines():
        m = re.match(r"(d\d+\.e2e\.test): (\S+) why=(\S+)", ln)
        if m:
            lines[m.group(1)] = (m.group(2), m.group(3))
    want = {f"d{i}.{Z}": ("apply", "fetched") for i in range(EVENT_LOOP_N)}
    F.eq(case, "every domain applied", lines, want)
    s = re.search(r"summary: total=(\d+) done=(\d+) failed=(\d+) apply=(\d+) "
                  r"in_flight=(\d+) txt_before_first_fetch=(\d+)", out)
    if F.check(case, "summary line", s is not None, out[-400:]):
        F.eq(case, "summary", [int(x) for x in s.groups()[:5]],
             [EVENT_LOOP_N, EVENT_LOOP_N, 0, EVENT_LOOP_N, EVENT_LOOP_N])
        # overlapping lookups: several TXT answers were in before the first
        # fetch ended (one after the other it would be exactly 1)
        F.check(case, "lookups overlapped", int(s.group(6)) > 1, s.group(0))
    reqs = w.rig.nginx.requests()[n0:]
    hosts = sorted({r["host"] for r in reqs})
    F.eq(case, "one fetch per domain", len(reqs), EVENT_LOOP_N)
    F.eq(case, "distinct policy hosts", len(hosts), EVENT_LOOP_N)


# ---------------------------------------------------------------- main


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("lookup", "check",
                                                 "event-loop"):
        print(__doc__, file=sys.stderr)
        return 2
    group, mtasts = sys.argv[1], sys.argv[2]
    missing = R.missing_programs()
    if missing:
        print("SKIP: the e2e rig needs " + ", ".join(missing)
              + " (apt-get install dnsmasq nginx-light openssl)")
        return 77
    if group != "event-loop":
        p = subprocess.run([mtasts, group, "--help"], capture_output=True)
        if p.returncode != 0:
            # a tree where libmtasts-net is in but the commands are not yet
            print(f"SKIP: this mtasts has no working '{group}' command "
                  f"(`mtasts {group} --help` exited {p.returncode})")
            return 77
    if group == "event-loop" and (len(sys.argv) < 4
                                  or not os.access(sys.argv[3], os.X_OK)):
        print("SKIP: net_event_loop was not built (needs libevent)")
        return 77
    t0 = time.monotonic()
    with R.Rig() as rig:
        w = World(rig, mtasts)
        print(f"rig up in {time.monotonic() - t0:.1f}s: dir {rig.dir}, "
              f"dnsmasq :{rig.dns.port}, nginx :{rig.nginx.port}, "
              f"python https :{w.py.port}")
        print("every run: " + " ".join(w.base_args()))
        if group == "lookup":
            cases = lookup_cases(w)
            cases.append(("dns-unreachable", lambda: dns_down(w)))
            sequential = [("cache", lambda: cache_flow(w))]
        elif group == "check":
            cases, sequential = check_cases(w), []
        else:
            cases, sequential = [], [("event-loop",
                                      lambda: event_loop(w, sys.argv[3]))]
        # independent cases (one domain each) run 4 at a time; those that
        # restart dnsmasq run alone afterwards
        ex = concurrent.futures.ThreadPoolExecutor(4)
        try:
            futs = {ex.submit(fn): name for name, fn in cases}
            for fut in concurrent.futures.as_completed(futs):
                try:
                    fut.result()
                except Exception as e:  # noqa: BLE001 - a case's bug
                    F.items.append(f"{futs[fut]}: raised {e!r}")
        finally:
            # on SIGTERM or ^C the cases not started yet are dropped
            ex.shutdown(wait=True, cancel_futures=True)
        for name, fn in sequential:
            try:
                fn()
            except Exception as e:  # noqa: BLE001
                F.items.append(f"{name}: raised {e!r}")
        names = [n for n, _ in cases] + [n for n, _ in sequential]
        failed = {x.split(":", 1)[0] for x in F.items}
        for name in names:
            # a case's own checks, and those of its steps ("NAME-...")
            # that are not cases themselves
            bad = any(f == name or (f.startswith(name + "-")
                                    and f not in names) for f in failed)
            print(("FAIL " if bad else "ok   ") + name)
    print(f"{len(names)} cases, {len(F.items)} failed checks, "
          f"{time.monotonic() - t0:.1f}s")
    for x in F.items:
        print("  " + x)
    return 1 if F.items else 0


if __name__ == "__main__":
    sys.exit(main())
