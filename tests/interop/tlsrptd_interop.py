#!/usr/bin/env python3
"""Interop: sys4's libtlsrpt (the library Postfix 3.10+ links) sends
100,000 results through its real API to mtasts-tlsrptd; the day is closed
with `report`; each report must hold exactly what was sent and parse back
with `mtasts report parse --strict`.

    tlsrptd_interop.py MTASTS_TLSRPTD MTASTS SOURCE_ROOT CC...

libtlsrpt is built from the peer sources beside the project's checkout
(SOURCE_ROOT/../shared/interop/libtlsrpt, not part of the project) with
the C compiler CC into a temporary directory, together with our sender
(tlsrpt_sender.c). Without those sources the test skips (exit 77).
"""
import codecs
import concurrent.futures
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

COUNT = 100000
RESULT_TYPES = {
    201: "starttls-not-supported", 202: "certificate-host-mismatch",
    203: "certificate-not-trusted", 204: "certificate-expired",
    205: "validation-failure", 301: "sts-policy-fetch-error",
    302: "sts-policy-invalid", 303: "sts-webpki-invalid",
    304: "tlsa-invalid", 305: "dnssec-invalid", 306: "dane-required",
}
KINDS = {0: "sts", 1: "tlsa", 2: "no-policy-found"}


def xhh(err):
    """Bytes that are not UTF-8 as \\xHH (mtasts-tlsrptd(8), Texts)."""
    bad = err.object[err.start:err.end]
    return "".join("\\x%02X" % b for b in bad), err.end


codecs.register_error("tlsrptd-xhh", xhh)


def text(hexstr):
    return bytes.fromhex(hexstr).decode("utf-8", "tlsrptd-xhh")


def expected(path):
    """Per report domain: policy, success and failure counts, and the
    failure-details entries with their counts."""
    exp = {}
    with open(path) as f:
        for line in f:
            x = json.loads(line)
            dom = text(x["d"]).lower().rstrip(".")
            kind = KINDS[x["kind"]]
            strings = [text(x["ps%d" % i]) for i in range(4)
                       if "ps%d" % i in x]
            if kind == "tlsa":
                strings = [s[:6] + s[6:].upper() for s in strings]
            e = exp.setdefault(dom, {"type": kind, "strings": strings,
                                     "ok": 0, "failed": 0, "details": {}})
            if not x["failed"]:
                e["ok"] += x["count"]
                continue
            e["failed"] += x["count"]
            reason = text(x["f"]) if "f" in x else None
            rt = RESULT_TYPES.get(x["code"])
            if rt is None:
                rt = "validation-failure"
                reason = "libtlsrpt-unknown-failure-code-%d" % x["code"] + (
                    ": " + reason if reason else "")
            key = (rt, text(x["s"]), text(x["n"]), text(x["h"]),
                   text(x["r"]), reason)
            e["details"][key] = e["details"].get(key, 0) + x["count"]
    return exp


def got(report):
    pols = report["policies"]
    if len(pols) != 1:
        return None
    p = pols[0]
    details = {}
    for d in p["failure-details"]:
        key = (d["result-type"], d.get("sending-mta-ip"),
               d.get("receiving-mx-hostname"), d.get("receiving-mx-helo"),
               d.get("receiving-ip"), d.get("failure-reason-code"))
        details[key] = details.get(key, 0) + d["failed-session-count"]
    return {"type": p["policy"]["policy-type"],
            "strings": p["policy"].get("policy-string", []),
            "ok": p["summary"]["total-successful-session-count"],
            "failed": p["summary"]["total-failure-session-count"],
            "details": details}


def main():
    tlsrptd, mtasts, root = sys.argv[1:4]
    cc = sys.argv[4:]
    peer = os.path.normpath(os.path.join(root, "..", "shared", "interop",
                                         "libtlsrpt"))
    if not os.path.isfile(os.path.join(peer, "libtlsrpt.c")):
        print("interop peers not found at %s: skipped" % peer)
        return 77
    here = os.path.dirname(os.path.abspath(__file__))
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)
            print("FAIL:", what)

    with tempfile.TemporaryDirectory(prefix="tlsrptd-interop-") as tmp:
        # libtlsrpt's configure only fills in its version header
        with open(os.path.join(peer, "tlsrpt_version.h.in")) as f:
            h = f.read()
        for k, v in (("MAJOR", "0"), ("MINOR", "5"), ("PATCH", "1"),
                     ("IS_PRERELEASE", "1"), ("PRERELEASE", "rc2")):
            h = h.replace("@TLSRPT_VERSION_%s@" % k, v)
        with open(os.path.join(tmp, "tlsrpt_version.h"), "w") as f:
            f.write(h)
        exe = os.path.join(tmp, "tlsrpt_sender")
        build = cc + ["-O2", "-w", "-I" + tmp, "-I" + peer, "-o", exe,
                      os.path.join(here, "tlsrpt_sender.c"),
                      os.path.join(peer, "libtlsrpt.c"),
                      os.path.join(peer, "json-escape-initializer-list.c")]
        r = subprocess.run(build, capture_output=True, timeout=120)
        if r.returncode != 0:
            print(" ".join(build))
            print(r.stdout.decode(), r.stderr.decode())
            return 1
        sock = os.path.join(tmp, "tlsrpt.sock")
        store = os.path.join(tmp, "store")
        log = os.path.join(tmp, "collector.log")
        logf = open(log, "wb")
        coll = subprocess.Popen([tlsrptd, "--socket", sock, "--store", store,
                                 "--foreground"], stdout=logf,
                                stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 20
            while not os.path.exists(sock):
                if time.time() > deadline or coll.poll() is not None:
                    print(open(log).read())
                    return 1
                time.sleep(0.02)
            day = datetime.datetime.now(
                datetime.timezone.utc).strftime("%Y-%m-%d")
            expect = os.path.join(tmp, "expect.jsonl")
            t0 = time.time()
            r = subprocess.run([exe, sock, str(COUNT), expect],
                               capture_output=True, timeout=120)
            secs = time.time() - t0
            check(r.returncode == 0,
                  "sender: %s" % r.stderr.decode(errors="replace"))
            day_after = datetime.datetime.now(
                datetime.timezone.utc).strftime("%Y-%m-%d")
            if day_after != day:
                print("the UTC day changed while sending: skipped")
                return 77
        finally:
            coll.send_signal(signal.SIGTERM)
            try:
                rc = coll.wait(timeout=60)
            except subprocess.TimeoutExpired:
                coll.kill()
                rc = coll.wait()
            logf.close()
        text_log = open(log, encoding="utf-8", errors="replace").read()
        check(rc == 0, "collector exit status %d: %s" % (rc, text_log))
        m = re.search(r"stopped: (\d+) datagrams, (\d+) sessions counted, "
                      r"(\d+) unreadable, (\d+) not counted", text_log)
        check(m is not None and m.groups() == (str(COUNT), str(COUNT), "0",
                                               "0"),
              "collector counts: %s" % (str(m.groups()) if m else text_log))
        print("libtlsrpt (blocking) -> mtasts-tlsrptd: %d results in %.2f s "
              "(%.0f/s)" % (COUNT, secs, COUNT / secs))

        out = os.path.join(tmp, "reports")
        r = subprocess.run([tlsrptd, "report", "--store", store, "--day",
                            day, "--out-dir", out, "--org", "Interop Org",
                            "--contact", "tlsrpt@example.net"],
                           capture_output=True, timeout=120)
        check(r.returncode == 0, "report: %s" % r.stderr.decode())
        exp = expected(expect)
        files = sorted(f for f in os.listdir(out) if f.endswith(".json"))
        check(sorted(d + ".json" for d in exp) == files,
              "one report per domain: %d files, %d domains" % (
                  len(files), len(exp)))
        total = [0, 0]
        for name in files:
            path = os.path.join(out, name)
            with open(path, "rb") as f:
                rep = json.loads(f.read())
            dom = name[:-5]
            g = got(rep)
            check(g == exp.get(dom), "%s: got %s\nwant %s" % (
                dom, g, exp.get(dom)))
            if g:
                total[0] += g["ok"]
                total[1] += g["failed"]
            check(rep["policies"][0]["policy"].get("policy-domain") == dom,
                  "%s: policy-domain" % dom)
        check(sum(total) == COUNT, "total sessions %s" % total)
        def strict(name):
            r = subprocess.run([mtasts, "report", "parse", "--strict",
                                os.path.join(out, name)],
                               capture_output=True, timeout=60)
            return name, r.returncode, r.stdout.decode() + r.stderr.decode()

        # (a sanitizer build of the tool starts slowly: in parallel)
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            bad = [(n, t) for n, rc, t in pool.map(strict, files) if rc != 0]
        check(not bad, "reports refused by --strict: %s" % bad[:3])
        print("%d reports, %d successful and %d failed sessions" % (
            len(files), total[0], total[1]))
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
