#!/usr/bin/env python3
"""Tests of the mtasts command-line tool: JSON shape, verdicts, exit codes.

usage: test_tool.py PATH_TO_MTASTS PROJECT_ROOT [net|nonet]
"""
import json
import os
import socket
import subprocess
import sys
import tempfile

TOOL = sys.argv[1]
ROOT = sys.argv[2]
NET = len(sys.argv) > 3 and sys.argv[3] == "net"
failures = []


# lookup and check run mtasts-net beside the tool (the build tree), unless
# MTASTS_EXEC_PATH says where: that is tried below, not inherited.
os.environ.pop("MTASTS_EXEC_PATH", None)


def run(*args, stdin=None, env=None):
    p = subprocess.run([TOOL, *args], input=stdin, capture_output=True,
                       env=env)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr


def check(name, cond, detail=""):
    if not cond:
        failures.append(f"{name}: {detail}")


def js(*args, stdin=None):
    rc, out, err = run(*args, stdin=stdin)
    lines = out.strip().splitlines()
    check(" ".join(args) + " one line", len(lines) == 1, out)
    return rc, json.loads(out)


def tmpfile(data):
    f = tempfile.NamedTemporaryFile(delete=False)
    f.write(data)
    f.close()
    return f.name


GOOD = b"version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 604800\n"
LENIENT = b"version: STSv1\nmode: testing\nmode: enforce\nmx: mail.example.com\nmax_age: 31557601\n"
BAD = b"version: STSv1\nmode : enforce\nmx: mail.example.com\nmax_age: 1\n"
good, lenient, bad = tmpfile(GOOD), tmpfile(LENIENT), tmpfile(BAD)

# policy parse: valid
rc, o = js("policy", "parse", "--json", good)
check("policy valid rc", rc == 0, rc)
check("policy valid verdict", o["verdict"] == "valid", o)
check("policy valid fields", o["version"] == "STSv1" and o["mode"] == "enforce"
      and o["max_age"] == 604800
      and o["mx"] == ["mail.example.com", "*.example.net"]
      and o["extensions"] == [] and o["warnings"] == [] and o["error"] is None, o)

# policy parse: lenient, then strict
rc, o = js("policy", "parse", "--json", lenient)
check("policy lenient rc", rc == 0, rc)
check("policy lenient", o["verdict"] == "lenient" and o["mode"] == "testing"
      and o["max_age"] == 31557600
      and sorted(o["warnings"]) == ["duplicate_field", "max_age_clamped"], o)
rc, o = js("policy", "parse", "--strict", "--json", lenient)
check("policy strict rc", rc == 1, rc)
check("policy strict", o["verdict"] == "invalid"
      and o["error"]["code"] == "MTASTS_ESTRICT" and o["mode"] is None, o)

# policy parse: invalid with offset and line
rc, o = js("policy", "parse", "--json", bad)
check("policy invalid rc", rc == 1, rc)
e = o["error"]
check("policy invalid error", o["verdict"] == "invalid"
      and e["code"] == "MTASTS_ESYNTAX" and e["reason"] == "colon"
      and e["offset"] == 19 and e["line"] == 2 and e["message"], o)

# stdin
rc, o = js("policy", "parse", "--json", "-", stdin=GOOD)
check("policy stdin", rc == 0 and o["verdict"] == "valid", o)

# bundled example used by the README
ex = os.path.join(ROOT, "examples", "policies", "google.txt")
if os.path.exists(ex):
    rc, o = js("policy", "parse", "--json", ex)
    check("example policy", rc == 0 and o["verdict"] == "valid", o)

# policy check
rc, o = js("policy", "check", "--json", good, "MAIL.example.com.", "a.example.net")
check("check all allowed", rc == 0 and o["hosts"] == [
    {"host": "MAIL.example.com.", "allowed": True},
    {"host": "a.example.net", "allowed": True}], o)
rc, o = js("policy", "check", "--json", good, "b.a.example.net")
check("check not allowed", rc == 1 and o["hosts"][0]["allowed"] is False, o)
rc, out, _ = run("policy", "check", good, "mail.example.com", "x.example.org")
check("check human", rc == 1 and "mail.example.com: allowed" in out
      and "x.example.org: not allowed" in out, out)

# record parse
rc, o = js("record", "parse", "--json", "v=STSv1; id=20160831085700Z; ext=1;")
check("record valid", rc == 0 and o["verdict"] == "valid"
      and o["id"] == "20160831085700Z"
      and o["extensions"] == [{"name": "ext", "value": "1"}], o)
rc, o = js("record", "parse", "--json", "v=STSv1; id=a  ")
check("record lenient", rc == 0 and o["verdict"] == "lenient"
      and o["warnings"] == ["trailing_wsp"], o)
rc, o = js("record", "parse", "--strict", "--json", "v=STSv1; id=a  ")
check("record strict", rc == 1 and o["error"]["code"] == "MTASTS_ESTRICT", o)
rc, o = js("record", "parse", "--json", "v=STSv1; id=2016-08-31")
check("record invalid", rc == 1 and o["id"] is None
      and o["error"]["reason"] == "id" and o["error"]["offset"] == 12, o)
rec = tmpfile(b"v=STSv1; id=fromfile;\n")
rc, o = js("record", "parse", "--json", "-f", rec)
check("record -f", rc == 0 and o["id"] == "fromfile", o)

# tlsrpt-record parse
rc, o = js("tlsrpt-record", "parse", "--json",
           "v=TLSRPTv1; rua=mailto:a%2Bb@example.com?subject=hi, "
           "https://r.example/t; ext=1")
check("tlsrpt valid", rc == 0 and o["verdict"] == "valid"
      and o["warnings"] == [] and o["error"] is None
      and o["rua"] == [
          {"uri": "mailto:a%2Bb@example.com?subject=hi", "kind": "mailto",
           "target": "a+b@example.com"},
          {"uri": "https://r.example/t", "kind": "https",
           "target": "https://r.example/t"}]
      and o["extensions"] == [{"name": "ext", "value": "1"}], o)
rc, o = js("tlsrpt-record", "parse", "--json",
           "v=TLSRPTv1; rua=http://r.example/,mailto:")
check("tlsrpt lenient", rc == 0 and o["verdict"] == "lenient"
      and sorted(o["warnings"]) == ["no_usable_rua", "rua_mailto",
                                     "rua_scheme"]
      and o["rua"] == [
          {"uri": "http://r.example/", "kind": "other", "target": None},
          {"uri": "mailto:", "kind": "other", "target": None}], o)
rc, o = js("tlsrpt-record", "parse", "--strict", "--json",
           "v=TLSRPTv1; rua=mailto:a@example.com  ")
check("tlsrpt strict", rc == 1 and o["verdict"] == "invalid"
      and o["error"]["code"] == "MTASTS_ESTRICT"
      and o["error"]["reason"] == "strict" and o["error"]["offset"] == 36
      and o["rua"] is None and o["extensions"] is None, o)
rc, o = js("tlsrpt-record", "parse", "--json",
           "v=TLSRPTv1; rua=reports@example.com")
check("tlsrpt invalid", rc == 1 and o["rua"] is None
      and o["error"]["code"] == "MTASTS_ESYNTAX"
      and o["error"]["reason"] == "uri" and o["error"]["offset"] == 23,
      o)
rpt = tmpfile(b"v=TLSRPTv1;rua=mailto:tlsrpt@example.com;\n")
rc, o = js("tlsrpt-record", "parse", "--json", "-f", rpt)
check("tlsrpt -f", rc == 0 and o["rua"][0]["target"] == "tlsrpt@example.com",
      o)
rc, out, _ = run("tlsrpt-record", "parse",
                 "v=TLSRPTv1; rua=mailto:a@example.com,ftp://x/")
check("tlsrpt human", rc == 0 and "tlsrpt-record: lenient" in out
      and "rua: mailto:a@example.com (mailto: a@example.com)" in out
      and "rua: ftp://x/ (unusable)" in out, out)

# match
rc, out, _ = run("match", "*.example.com", "MX.example.com.")
check("match yes", rc == 0 and out.strip() == "match", out)
rc, out, _ = run("match", "*.example.com", "a.b.example.com")
check("match no", rc == 1 and out.strip() == "no match", out)

# report parse (RFC 8460 JSON, plain or gzip)
REPORTS = os.path.join(ROOT, "corpus", "reports")
appb_gz = os.path.join(REPORTS, "rfc8460-example__tlsrpt-be__test.json.gz")
appb = os.path.join(REPORTS, "rfc8460-example__tlsrpt-be__test.json")
rc, o = js("report", "parse", "--json", appb_gz)
check("report gz rc", rc == 0, rc)
check("report gz verdict", o["verdict"] == "lenient"
      and o["warnings"] == ["mx_host_string", "bad_uri"] and o["error"] is None,
      o)
check("report gz model", o["report"]["organization-name"] == "Company-X"
      and o["report"]["policies"][0]["policy"]["mx-host"]
      == ["*.mail.company-y.example"]
      and len(o["report"]["policies"][0]["failure-details"]) == 3, o)
rc2, o2 = js("report", "parse", "--json", appb)
check("report json = gz", rc2 == 0 and o2 == o, o2)
rc, o = js("report", "parse", "--json", "--strict", appb)
check("report strict", rc == 1 and o["verdict"] == "invalid"
      and o["error"]["code"] == "MTASTS_ESTRICT" and o["report"] is None, o)
valid_rpt = os.path.join(REPORTS, "google__mox__test-xmox-nl-2022.json")
rc, o = js("report", "parse", "--strict", "--json", valid_rpt)
check("report valid", rc == 0 and o["verdict"] == "valid"
      and o["warnings"] == [], o)
rc, out, _ = run("report", "parse", "--canonical", valid_rpt)
check("report canonical", rc == 0 and len(out.strip().splitlines()) == 1
      and json.loads(out)["report-id"] == "2022-09-15T00:00:00Z_test.xmox.nl",
      out)
with open(valid_rpt, "rb") as f:
    rc3, out3, _ = run("report", "parse", "--canonical", "-", stdin=f.read())
check("report canonical stdin", rc3 == 0 and out3 == out, out3)
rc, out, _ = run("report", "parse", appb_gz)
check("report human", rc == 0 and "report: lenient" in out
      and "organization: Company-X" in out
      and "date-range: 2016-04-01T00:00:00Z .. 2016-04-01T23:59:59Z" in out
      and "policy 0: sts company-y.example: 5326 successful, 303 failed" in out
      and "warning at policies[0].policy.mx-host: mx_host_string" in out
      and "validation-failure: 3 session(s)" in out, out)
badrpt = tmpfile(b'{"organization-name":"x","report-id":"a","report-id":"b"}')
rc, o = js("report", "parse", "--json", badrpt)
check("report invalid", rc == 1 and o["verdict"] == "invalid"
      and o["error"]["code"] == "MTASTS_ESYNTAX" and o["error"]["offset"] == 41
      and o["report"] is None, o)
rc, out, err = run("report", "parse", "--canonical", badrpt)
check("report canonical invalid", rc == 1 and out == ""
      and b"MTASTS_ESYNTAX" in err, (out, err))
os.unlink(badrpt)

# report parse of a report e-mail (RFC 8460 section 5.3): refused unless the
# caller vouches for its DKIM signature with --dkim-pass (RPT-DELIV-17)
eml = os.path.join(REPORTS, "google__mox__test-xmox-nl-2022.eml")
rc, out, err = run("report", "parse", eml)
check("report eml without --dkim-pass", rc == 1 and b"--dkim-pass" in err
      and b"DKIM" in err, (out, err))
rc, o = js("report", "parse", "--json", eml)
check("report eml json without --dkim-pass", rc == 1
      and o["error"]["code"] == "MTASTS_REFUSED" and o["report"] is None, o)
rc, o = js("report", "parse", "--json", "--dkim-pass", eml)
check("report eml", rc == 0 and o["verdict"] == "valid"
      and o["mismatch"] is False and o["report"] == js("report", "parse",
                                                       "--json",
                                                       valid_rpt)[1]["report"],
      o)
rc, out, _ = run("report", "parse", "--canonical", "--dkim-pass", eml)
rc2, out2, _ = run("report", "parse", "--canonical", valid_rpt)
check("report eml canonical", rc == 0 and out == out2, out)
with open(eml, "rb") as f:
    rc, out3, _ = run("report", "parse", "--canonical", "--dkim-pass", "-",
                      stdin=f.read())
check("report eml stdin", rc == 0 and out3 == out2, out3)
eml_rfc = os.path.join(REPORTS, "rfc8460-example__tlsrpt-be__test.eml")
rc, out, _ = run("report", "parse", "--dkim-pass", eml_rfc)
check("report eml mismatch", rc == 0 and "disagrees" in out
      and "organization: Company-X" in out, out)
rc, o = js("report", "parse", "--json", "--dkim-pass", "--strict", eml_rfc)
check("report eml strict", rc == 1 and o["error"]["code"] == "MTASTS_ESTRICT",
      o)
cron = os.path.join(REPORTS, "not-a-report__tlsrpt-rs__cron-mail.eml")
rc, o = js("report", "parse", "--json", "--dkim-pass", cron)
check("report eml not a report", rc == 1
      and o["error"]["code"] == "MTASTS_ESYNTAX"
      and o["error"]["reason"] == "not_found", o)

# usage errors
for args in (["report", "parse"], ["report", "parse", "--json", "--canonical",
                                   appb],
             ["report", "parse", "--bogus", appb], ["report", "parse", appb,
                                                    appb],
             ["policy"], ["policy", "parse"], ["record", "parse"],
             ["tlsrpt-record", "parse"], ["tlsrpt-record", "parse", "a", "b"],
             ["tlsrpt-record", "frob", "a"],
             ["policy", "parse", "--bogus", good], ["frob", "x"],
             ["match", "a"], ["policy", "check", good]):
    rc, _, _ = run(*args)
    check("usage " + " ".join(args), rc == 2, rc)
rc, _, _ = run("policy", "parse", "/nonexistent/file")
check("missing file", rc == 2, rc)

# report build: a report from session results (JSON lines)
SESS = os.path.join(ROOT, "examples", "sessions", "rfc8460-appb.jsonl")
BUILD = ["report", "build", "--org", "Company-X",
         "--contact", "sts-reporting@company-x.example", "--day", "2016-04-01"]
rc, out, err = run(*BUILD, "--random", "0x1a2b", SESS)
check("build rc", rc == 0, (rc, err))
check("build note", b"1 session line(s) not of 2016-04-01 ignored" in err, err)
check("build one line", len(out.splitlines()) == 1, out)
built = out
rc, o = js("report", "parse", "--json", "-", stdin=out.encode())
check("build parse back", rc == 0 and o["verdict"] == "valid"
      and o["warnings"] == [], o)
r = o["report"]
p0 = r["policies"][0] if r and r["policies"] else {}
check("build report", r["organization-name"] == "Company-X"
      and r["contact-info"] == "sts-reporting@company-x.example"
      and r["report-id"] == "20160401.company-y.example.0000000000001a2b"
      and r["date-range"] == {"start-datetime": "2016-04-01T00:00:00Z",
                              "end-datetime": "2016-04-01T23:59:59Z"}
      and len(r["policies"]) == 1, r)
check("build policy", p0.get("policy") == {
    "policy-type": "sts",
    "policy-string": ["version: STSv1", "mode: testing",
                      "mx: *.mail.company-y.example", "max_age: 86400"],
    "policy-domain": "company-y.example",
    "mx-host": ["*.mail.company-y.example"]}, p0)
check("build summary", p0.get("summary") == {
    "total-successful-session-count": 5326,
    "total-failure-session-count": 303}, p0)
check("build details", p0.get("failure-details") == [
    {"result-type": "certificate-expired",
     "sending-mta-ip": "2001:db8:abcd:12::1",
     "receiving-mx-hostname": "mx1.mail.company-y.example",
     "failed-session-count": 100},
    {"result-type": "starttls-not-supported",
     "sending-mta-ip": "2001:db8:abcd:13::1",
     "receiving-mx-hostname": "mx2.mail.company-y.example",
     "receiving-ip": "203.0.113.56", "failed-session-count": 200,
     "additional-information": "https://reports.company-x.example/"
                               "report_info?id=5065427c-23d3"
                               "#StarttlsNotSupported"},
    {"result-type": "validation-failure", "sending-mta-ip": "198.51.100.62",
     "receiving-mx-hostname": "mx-backup.mail.company-y.example",
     "receiving-ip": "203.0.113.58", "failed-session-count": 3,
     "failure-reason-code": "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"}], p0)
rc, out2, _ = run(*BUILD, "--random", "0x1a2b", SESS)
check("build deterministic", rc == 0 and out2 == built, out2)
rc, out2, _ = run(*BUILD, "--random", "6699", "--json", "-",
                  stdin=open(SESS, "rb").read())
check("build stdin, decimal random", rc == 0 and out2 == built, out2)
rc, out2, _ = run("report", "parse", "--canonical", "-", stdin=built.encode())
check("build is canonical", rc == 0 and out2 == built, out2)
rc, out2, _ = run(*BUILD, "--report-id", "5065427c-23d3-47ca-b6e0-946ea0e8c4be",
                  "--pretty", SESS)
check("build pretty", rc == 0 and len(out2.splitlines()) > 10
      and json.loads(out2)["report-id"]
      == "5065427c-23d3-47ca-b6e0-946ea0e8c4be", out2)

# the same sessions one a line, without "count": the same report
expanded = []
with open(SESS) as f:
    for line in f:
        s = json.loads(line)
        n = s.pop("count", 1)
        expanded += [json.dumps(s)] * n
check("expanded size", len(expanded) == 5326 + 303 + 7 + 2, len(expanded))
exp = tmpfile(("\n".join(expanded) + "\n").encode())
rc, out2, _ = run(*BUILD, "--random", "0x1a2b", exp)
check("build expanded", rc == 0 and out2 == built, out2)
os.unlink(exp)

# --mail: the whole message, CRLF, two MIME parts, readable by report parse
MAIL = ["--mail", "--from", "tlsrpt@company-x.example",
        "--to", "tlsrpt@company-y.example",
        "--date", "Fri, 01 Apr 2016 12:00:00 +0000",
        "--message-id", "1@company-x.example"]
for gz in ([], ["--gzip"]):
    p = subprocess.run([TOOL, *BUILD, "--random", "0x1a2b", *MAIL, *gz, SESS],
                       capture_output=True)
    msg = p.stdout
    name = "build mail" + (" gzip" if gz else "")
    check(name + " rc", p.returncode == 0, p.stderr)
    check(name + " CRLF", msg.endswith(b"\r\n")
          and b"\n" not in msg.replace(b"\r\n", b""), msg[:200])
    head = msg.split(b"\r\n\r\n", 1)[0].decode()
    for h in ("From: tlsrpt@company-x.example", "To: tlsrpt@company-y.example",
              "Date: Fri, 01 Apr 2016 12:00:00 +0000",
              "Message-ID: <1@company-x.example>", "MIME-Version: 1.0",
              "Content-Type: multipart/report; report-type=\"tlsrpt\"",
              "TLS-Report-Domain: company-y.example",
              "TLS-Report-Submitter: company-x.example", "Subject: "):
        check(name + " header " + h, ("\r\n" + head).count("\r\n" + h) == 1,
              head)
    bnd = head.split("boundary=\"", 1)[-1].split("\"", 1)[0]
    check(name + " parts", bnd != head
          and msg.count(("\r\n--" + bnd + "\r\n").encode()) == 2
          and msg.count(("\r\n--" + bnd + "--").encode()) == 1, head)
    check(name + " attachment", (b"application/tlsrpt+gzip" if gz
                                 else b"application/tlsrpt+json") in msg, head)
    rc, out2, _ = run("report", "parse", "--canonical", "--dkim-pass", "-",
                      stdin=msg)
    check(name + " parse back", rc == 0 and out2 == built, out2)

# --https: the body to -o FILE, the Content-Type on stdout
body = tmpfile(b"")
rc, out2, err = run(*BUILD, "--random", "0x1a2b", "--https", "--gzip",
                    "-o", body, SESS)
with open(body, "rb") as f:
    data = f.read()
check("build https gzip", rc == 0 and out2 == "application/tlsrpt+gzip\n"
      and data[:2] == b"\x1f\x8b", (out2, err, data[:4]))
rc, out2, _ = run("report", "parse", "--canonical", body)
check("build https gzip parse back", rc == 0 and out2 == built, out2)
rc, out2, _ = run(*BUILD, "--random", "0x1a2b", "--https", "-o", body, SESS)
with open(body, "rb") as f:
    data = f.read()
check("build https json", rc == 0 and out2 == "application/tlsrpt+json\n"
      and data.decode() + "\n" == built, (out2, data[:40]))
os.unlink(body)

# other policy types, unknown result types, escapes, several domains
OTHER = b"\n".join(json.dumps(s).encode() for s in (
    {"time": 1459468800, "outcome": "failure",
     "policy": {"type": "tlsa", "domain": "b.example",
                "records": [{"usage": 3, "selector": 1, "mtype": 1,
                             "data": "ab12"}]},
     "failures": [{"result_type": "tlsa-invalid",
                   "receiving_mx": "mx.b.example"}]},
    {"time": 1459468900, "outcome": "failure", "count": 2,
     "policy": {"type": "none", "domain": "a.example"},
     "failures": [{"result_type": "x-new-type", "sending_ip": "192.0.2.1",
                   "reason_code": "caf\u00e9 \U0001F600", "helo": None}]},
    {"time": 1459468901, "outcome": "success",
     "policy": {"type": "none", "domain": "a.example"}})) + b"\n"
oth = tmpfile(OTHER)
rc, out2, err = run(*BUILD, oth)
check("build several domains", rc == 2 and b"a.example" in err
      and b"b.example" in err and b"--domain" in err, (rc, err))
rc, o = js(*BUILD, "--domain", "B.example", oth)
check("build tlsa", rc == 0 and o["policies"][0]["policy"] == {
    "policy-type": "tlsa", "policy-string": ["3 1 1 AB12"],
    "policy-domain": "b.example"}
    and o["policies"][0]["failure-details"][0]["result-type"]
    == "tlsa-invalid"
    and o["report-id"] == "20160401.b.example.0000000000000000", o)
rc, o = js(*BUILD, "--domain", "a.example", oth)
d = o["policies"][0]["failure-details"][0] if rc == 0 else {}
check("build none", rc == 0
      and o["policies"][0]["policy"]["policy-type"] == "no-policy-found"
      and o["policies"][0]["summary"] == {
          "total-successful-session-count": 1,
          "total-failure-session-count": 2}
      and d.get("result-type") == "x-new-type"
      and d.get("failure-reason-code") == "caf\u00e9 \U0001F600"
      and d.get("failed-session-count") == 2, o)
rc, out2, err = run(*BUILD, "--domain", "c.example", oth)
check("build no such domain", rc == 1 and b"c.example" in err, (rc, err))
rc, out2, err = run(*BUILD[:-1], "2016-04-02", oth)
check("build no session of the day", rc == 1 and out2 == ""
      and b"3 session line(s) not of 2016-04-02" in err, (rc, err))
os.unlink(oth)

# "count" is added in one step (issue 9, item 6: 100 lines of 10^6 took
# 5.5 s as 10^8 single adds): 100 lines of count 1000000 give the exact
# totals; the timeout only guards against a hang
BIG = []
for i in range(100):
    s = {"time": 1459468800 + i, "count": 1000000,
         "policy": {"type": "none", "domain": "big.example"}}
    if i % 2:
        s["outcome"] = "failure"
        s["failures"] = [{"result_type": "starttls-not-supported",
                          "receiving_mx": "mx%d.big.example" % (i % 3)}]
    else:
        s["outcome"] = "success"
    BIG.append(json.dumps(s))
BIG.append(json.dumps({"time": 1459468800, "count": 1000000,
                       "outcome": "transient",
                       "policy": {"type": "none", "domain": "big.example"}}))
big = tmpfile(("\n".join(BIG) + "\n").encode())
p = subprocess.run([TOOL, *BUILD, big], capture_output=True, timeout=120)
check("build big counts rc", p.returncode == 0, p.stderr)
o = json.loads(p.stdout) if p.returncode == 0 else {"policies": [{}]}
p0 = o["policies"][0]
check("build big counts summary", p0.get("summary") == {
    "total-successful-session-count": 50000000,
    "total-failure-session-count": 50000000}, p0)
check("build big counts details", sorted(
    (d["receiving-mx-hostname"], d["failed-session-count"])
    for d in p0.get("failure-details", [])) == [
    ("mx0.big.example", 17000000), ("mx1.big.example", 17000000),
    ("mx2.big.example", 16000000)], p0)
os.unlink(big)
# 10,000 such lines (1.6 MB): one add per session made this about 10
# minutes; in one step it is well under a second. The timeout is a hang
# guard with a wide margin, not a measurement.
big = tmpfile(("\n".join(BIG[i % 100] for i in range(10000)) + "\n")
              .encode())
try:
    p = subprocess.run([TOOL, *BUILD, big], capture_output=True, timeout=120)
    o = json.loads(p.stdout) if p.returncode == 0 else {"policies": [{}]}
    check("build 10^10 sessions", p.returncode == 0
          and o["policies"][0].get("summary") == {
              "total-successful-session-count": 5000000000,
              "total-failure-session-count": 5000000000}, (p.stderr, o))
except subprocess.TimeoutExpired:
    check("build 10^10 sessions", False, "no result within 120 s")
os.unlink(big)

# bad input: exit 1, the line and byte of the error
OK = (b'{"time": 1459468800, "outcome": "success", '
      b'"policy": {"type": "none", "domain": "a.example"}}')
for bad_line, what in (
        (b'{"time": 1459468800,}', b"byte 21: expected a member name"),
        (b'{"time": 1459468800} x', b"byte 22: expected the end of the line"),
        (b'{"time": 1459468800.5}', b"expected an integer"),
        (b'{"time": 01}', b"no leading zero"),
        (b'{"time": 99999999999999999999}', b"within 64 bits"),
        (b'{"time": 1, "time": 2}', b"duplicate member"),
        (b'{"a": "\\ud800"}', b"low surrogate"),
        (b'{"a": "\\udc00"}', b"high surrogate"),
        (b'{"a": "\\u0000"}', b"NUL"),
        (b'{"a": "\\x"}', b"valid escape"),
        (b'{"a": "\xc3\x28"}', b"UTF-8"),
        (b'{"a": "\x01"}', b"control character"),
        (b'{"a": "abc', b"unterminated string"),
        (b'{"a": tru}', b"expected a JSON value"),
        (b"[" * 20 + b"]" * 20, b"nesting"),
        (b'[1, 2]', b"expected an object (a session)"),
        (OK[:-1] + b', "extra": 1}', b'unexpected member "extra"'),
        (OK.replace(b'"success"', b'"ok"'), b'"outcome"'),
        (OK.replace(b'"none"', b'"dmarc"'), b'"type"'),
        (OK.replace(b'1459468800', b'"now"'), b'integer as "time"'),
        (OK[:-1] + b', "count": 0}', b'"count"'),
        (OK.replace(b'"a.example"', b'"bad domain"'), b"policy domain"),
        (OK.replace(b'"none"', b'"sts", "text": "version: STSv1\\n"'),
         b"valid MTA-STS policy"),
        (OK.replace(b'"none"', b'"tlsa", "records": []'), b"TLSA records"),
        (OK.replace(b'"none"', b'"tlsa", "records": [{"usage": 3, '
                    b'"selector": 1, "mtype": 1, "data": "xy"}]'),
         b"hex digits"),
        (OK.replace(b'"success"', b'"failure", "failures": '
                    b'[{"result_type": "validation-failure", '
                    b'"sending_ip": "not-an-ip"}]'), b"well-formed failures"),
        (OK.replace(b'"success"', b'"failure", "failures": [{}]'),
         b'member "result_type"'),
        (b"{" + b" " * (1 << 20), b"at most 1048576 bytes")):
    f = tmpfile(OK + b"\n\n" + bad_line + b"\n" + OK + b"\n")
    rc, out2, err = run(*BUILD, f)
    check("build bad line " + repr(bad_line[:40]), rc == 1 and out2 == ""
          and err.startswith(b"mtasts: report build: ")
          and b": line 3, byte " in err and what in err, (rc, err))
    os.unlink(f)

# usage errors: exit 2
for args in ([], ["--org", "X", "--day", "2016-04-01", SESS],
             ["--org", "X", "--contact", "a@b.example", SESS],
             ["--org", "X", "--contact", "a@b.example", "--day", "2016-04-01"],
             [*BUILD[2:], "--day", "2016-04-02", SESS],
             [*BUILD[2:], "--report-id", "a", "--random", "1", SESS],
             [*BUILD[2:], "--random", "-1", SESS],
             [*BUILD[2:], "--random", "0x", SESS],
             [*BUILD[2:], "--json", "--mail", SESS],
             [*BUILD[2:], "--mail", "--from", "a@b.example", SESS],
             [*BUILD[2:], "--https", SESS],
             [*BUILD[2:], "--gzip", SESS],
             [*BUILD[2:], "--pretty", "--https", "-o", "/dev/null", SESS],
             [*BUILD[2:], "--from", "a@b.example", SESS],
             [*BUILD[2:], "--bogus", SESS],
             [*BUILD[2:], SESS, SESS],
             [*BUILD[2:], "--org"],
             [*BUILD[2:], "/nonexistent/file"],
             [*BUILD[2:], "--report-id", "not an id", SESS],
             ["--org", "X", "--contact", "not an address", "--day",
              "2016-04-01", SESS]):
    rc, out2, err = run("report", "build", *args)
    check("build usage " + " ".join(args), rc == 2 and out2 == "", (rc, err))
for day in ("2016-02-30", "2016-13-01", "2016-4-01", "1969-12-31",
            "2016-04-01x"):
    rc, _, _ = run("report", "build", "--org", "X", "--contact", "a@b.example",
                   "--day", day, SESS)
    check("build bad day " + day, rc == 2, rc)
rc, _, _ = run("report", "build", "--org", "X", "--contact", "a@b.example",
               "--day", "2016-02-29", SESS)
check("build leap day", rc == 1, rc)

# Text output injection (issue 9, item 6): strings from input are escaped
# in every human-readable output (mtasts(1), TEXT OUTPUT), so that they can
# neither forge a line, nor reach the terminal as a control sequence, nor be
# cut short at an embedded NUL.
def runb(*args, stdin=None):
    p = subprocess.run([TOOL, *args], input=stdin, capture_output=True,
                       timeout=60)
    return p.returncode, p.stdout, p.stderr


# C0 controls but LF, DEL; C1 and the bidirectional and line-breaking
# characters as UTF-8; a byte that is not UTF-8 (raw C1 bytes included)
def raw_controls(b):
    bad = sorted({c for c in b if (c < 0x20 and c != 0x0A) or c == 0x7F})
    try:
        t = b.decode("utf-8")
    except UnicodeDecodeError as e:
        return bad + ["invalid UTF-8 at %d" % e.start]
    return bad + ["U+%04X" % ord(c) for c in t
                  if 0x80 <= ord(c) <= 0x9F or ord(c) in (
                      0x061C, 0x200E, 0x200F, 0x2028, 0x2029, 0x202A,
                      0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067,
                      0x2068, 0x2069)]


def report_json(org="Company-X", domain="company-y.example",
                contact="sts-reporting@company-x.example",
                report_id="5065427c-23d3", reason="X509_V_ERR",
                mx="mx1.mail.company-y.example", result="validation-failure",
                ip="198.51.100.62", mxhost="*.mail.company-y.example"):
    return json.dumps({
        "organization-name": org,
        "date-range": {"start-datetime": "2016-04-01T00:00:00Z",
                       "end-datetime": "2016-04-01T23:59:59Z"},
        "contact-info": contact, "report-id": report_id,
        "policies": [{
            "policy": {"policy-type": "sts",
                       "policy-string": ["version: STSv1", "mode: testing",
                                         "mx: *.mail.company-y.example",
                                         "max_age: 86400"],
                       "policy-domain": domain, "mx-host": [mxhost]},
            "summary": {"total-successful-session-count": 5,
                        "total-failure-session-count": 1},
            "failure-details": [{
                "result-type": result, "sending-mta-ip": ip,
                "receiving-mx-hostname": mx, "failed-session-count": 1,
                "failure-reason-code": reason}]}]}).encode()


# the three examples of the review: a forged line, an ESC sequence, a NUL
rc, out, err = runb("report", "parse", "-",
                    stdin=report_json(org="Google\r\nreport: strict"))
check("inject CRLF rc", rc == 0, (rc, err))
check("inject CRLF forges no line", b"\r" not in out and not any(
    ln.startswith(b"report: strict") for ln in out.split(b"\n")), out)
check("inject CRLF escaped",
      b"\norganization: Google\\r\\nreport: strict\n" in out, out)
rc, out, err = runb("report", "parse", "-",
                    stdin=report_json(org="\x1b]0;owned\x07\x1b[2J",
                                      reason="\x1b[31mred\x1b[0m"))
check("inject ESC rc", rc == 0, (rc, err))
check("inject ESC no raw ESC", b"\x1b" not in out and b"\x07" not in out,
      out)
check("inject ESC escaped",
      b"\norganization: \\u001b]0;owned\\u0007\\u001b[2J\n" in out
      and b" (\\u001b[31mred\\u001b[0m)\n" in out, out)
rc, out, err = runb("report", "parse", "-",
                    stdin=report_json(domain="example.com\x00.evil",
                                      report_id="id\x00.evil",
                                      reason="code\x00.evil"))
check("inject NUL no raw NUL", b"\x00" not in out, out)
# the name is shown whole or the report refused; never cut at the NUL
check("inject NUL name not cut", b"sts example.com:" not in out
      and b"example.com\n" not in out, out)
if rc == 0:
    check("inject NUL name shown whole",
          b"sts example.com\\u0000.evil: " in out
          or b"sts (no domain): " in out, out)
    check("inject NUL escaped", b"\nreport-id: id\\u0000.evil\n" in out
          and b"(code\\u0000.evil)\n" in out, out)
rc, out, err = runb("report", "parse", "-", stdin=report_json(
    org="Example\x00 Evil", reason="a\\u0000b \u202e\u2028\u009b \u00e9"))
check("inject NUL text", rc == 0
      and b"\norganization: Example\\u0000 Evil\n" in out, (rc, out, err))
check("inject backslash, bidi, C1 escaped; UTF-8 kept",
      "(a\\\\u0000b \\u202e\\u2028\\u009b \u00e9)\n".encode() in out, out)

# the audit: every text-mode subcommand on hostile input
HOSTILE = "h\x1b[2J\r\nx: forged\x00\x07\x7f\u009b\u202e\u2028\\"
HOST_ARG = (b"mx\x1b[2J\r\nx\x07\x7f\xc2\x9b\xe2\x80\xae.example\xff")
pol_hostile = tmpfile(b"version: STSv1\nmode: enforce\nmx: mail.example.com\n"
                      b"max_age: 86400\n"
                      b"ext: v\xc2\x9b31m\xe2\x80\xae\xe2\x80\xa8 z\\\n")
POL_EXT_SHOWN = b"extension: ext=v\\u009b31m\\u202e\\u2028 z\\\\\n"
entry_body = open(pol_hostile, "rb").read()
entry = tmpfile(b"MTASTS-ENTRY/1\ndomain=example.com\nid=abc\nfetched=1000\n"
                b"expires=87400\nbackoff-until=0\nbackoff-id=\n"
                b"backoff-result=0\nlast-used=1000\npolicy=%d\n"
                % len(entry_body) + entry_body)
# Names and addresses holding NUL are refused by the parser in every mode,
# so they carry the hostile text without it (they are shown with bad_name).
HOSTILE_NAME = HOSTILE.replace("\x00", "")
rpt_hostile = report_json(org=HOSTILE, contact=HOSTILE, report_id=HOSTILE,
                          domain=HOSTILE_NAME, mx=HOSTILE_NAME, result=HOSTILE,
                          ip=HOSTILE_NAME, reason=HOSTILE, mxhost=HOSTILE_NAME)
rpt_file = tmpfile(rpt_hostile)
mail_hostile = (
    b"From: tlsrpt@x.example\r\nTo: tlsrpt@company-y.example\r\n"
    b"Subject: Report Domain: company-y.example Submitter: x.example "
    b"Report-ID: <1@x.example>\r\nTLS-Report-Domain: company-y.example\r\n"
    b"TLS-Report-Submitter: x.example\r\nMIME-Version: 1.0\r\n"
    b"Message-ID: <1@x.example>\r\n"
    b"Date: Fri, 01 Apr 2016 12:00:00 +0000\r\n"
    b"Content-Type: multipart/report; report-type=\"tlsrpt\"; "
    b"boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
    b"--B\r\nContent-Type: application/tlsrpt+json\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\n"
    + __import__("base64").encodebytes(rpt_hostile).replace(b"\n", b"\r\n")
    + b"--B--\r\n")
esc_dir = tempfile.mkdtemp()
esc_name = os.path.join(esc_dir, "f\x1b[2J\rx")
with open(esc_name, "wb") as f:
    f.write(b'{"\\u001b[2J\\r\\n": 1}\n')
gone = os.path.join(esc_dir, "gone\x1b[2J\r\n")
SESSION = json.dumps({"time": 1459468800, "outcome": "success", "policy": {
    "type": "none", "domain": "a.example"}}).encode() + b"\n"
AUDIT = [
    # (name, args, stdin, escaped text that must be in stdout or stderr)
    ("record parse", ["record", "parse", "v=STSv1; id=a; e=" + HOSTILE.replace("\x00", "")],
     None, None),
    ("record parse -f", ["record", "parse", "-f", rpt_file], None, None),
    ("tlsrpt-record parse", ["tlsrpt-record", "parse",
                             "v=TLSRPTv1; rua=mailto:a%0D%0Ax:%20y%1B@b.example,"
                             "https://r.example/%0A%1B%00"], None, None),
    ("policy parse", ["policy", "parse", pol_hostile], None, POL_EXT_SHOWN),
    ("policy parse stdin", ["policy", "parse", "-"], entry_body,
     POL_EXT_SHOWN),
    ("policy check", ["policy", "check", pol_hostile, HOST_ARG], None,
     b"mx\\u001b[2J\\r\\nx\\u0007\\u007f\\u009b\\u202e.example\\xff: not"),
    ("decide", ["decide", pol_hostile, HOST_ARG], None,
     b"mx\\u001b[2J\\r\\nx\\u0007\\u007f\\u009b\\u202e.example\\xff: skip"),
    ("match", ["match", HOST_ARG, HOST_ARG], None, None),
    ("cache dump", ["cache", "dump", entry], None, POL_EXT_SHOWN),
    ("report parse", ["report", "parse", rpt_file], None,
     b"\norganization: h\\u001b[2J\\r\\nx: forged\\u0000\\u0007\\u007f"
     b"\\u009b\\u202e\\u2028\\\\\n"),
    ("report parse mail", ["report", "parse", "--dkim-pass", "-"],
     mail_hostile, b"\ncontact: h\\u001b[2J\\r\\nx: forged"),
    ("report build member", ["report", "build", "--org", "X", "--contact",
                             "a@b.example", "--day", "2016-04-01", esc_name],
     None, b"unexpected member \"\\u001b[2J\\r\\n\""),
    ("report build domain", ["report", "build", "--org", "X", "--contact",
                             "a@b.example", "--day", "2016-04-01",
                             "--domain", HOST_ARG, "-"], SESSION,
     b" for mx\\u001b[2J\\r\\nx"),
    ("report build file", ["report", "build", "--org", "X", "--contact",
                           "a@b.example", "--day", "2016-04-01", gone],
     None, b"gone\\u001b[2J\\r\\n"),
    ("policy parse file", ["policy", "parse", gone], None,
     b"gone\\u001b[2J\\r\\n"),
    ("unknown option", ["policy", "parse", b"-" + HOST_ARG, good], None,
     b"unknown option -mx\\u001b[2J"),
    ("unknown outcome", ["decide", "--tls", HOST_ARG, good, "a"], None,
     b"unknown TLS outcome mx\\u001b[2J"),
]
for name, args, data, shown in AUDIT:
    rc, out, err = runb(*args, stdin=data)
    check("audit " + name + " stdout", raw_controls(out) == [],
          (raw_controls(out), out))
    check("audit " + name + " stderr", raw_controls(err) == [],
          (raw_controls(err), err))
    if shown is not None:
        check("audit " + name + " shows the input", shown in out + err,
              (out, err))
for f in (pol_hostile, entry, rpt_file, esc_name):
    os.unlink(f)
os.rmdir(esc_dir)
# decide --postfix: the socketmap answer by Postfix version.
ENF = tmpfile(b"version: STSv1\nmode: enforce\nmx: mx1.example.com\n"
              b"mx: *.mail.example.com\nmax_age: 604800\n")
TST = tmpfile(b"version: STSv1\nmode: testing\nmx: mx1.example.com\n"
              b"max_age: 604800\n")
LEGACY = "OK secure match=mx1.example.com:.mail.example.com servername=hostname"
TLSRPT = (LEGACY + " policy_type=sts policy_domain=example.com"
          " mx_host_pattern=mx1.example.com"
          " mx_host_pattern=*.mail.example.com"
          " { policy_string = version: STSv1 }"
          " { policy_string = mode: enforce }"
          " { policy_string = mx: mx1.example.com }"
          " { policy_string = mx: *.mail.example.com }"
          " { policy_string = max_age: 604800 }")
for ver, want in (("3.7.11", LEGACY), ("3.8.6", LEGACY), ("3.9.2", LEGACY),
                  ("3.10-20241201", LEGACY), ("3.10.0", TLSRPT),
                  ("3.10.4", TLSRPT), ("3.10.5", TLSRPT),
                  ("3.11-20250601", TLSRPT)):
    rc, out, err = run("decide", "--postfix", ver, "--domain", "Example.COM.",
                       ENF)
    check("postfix " + ver, rc == 0 and out == want + "\n", (rc, out, err))
rc, out, err = run("decide", "--postfix", "3.7.11", "--domain", "example.com",
                   "-", stdin=open(ENF, "rb").read())
check("postfix stdin", rc == 0 and out == LEGACY + "\n", (rc, out, err))
for args in (["--domain", "example.com", TST],
             ["--domain", "example.com", "--no-policy"],
             ["--domain", ".example.com", ENF]):
    rc, out, err = run("decide", "--postfix", "3.10.5", *args)
    check("postfix notfound " + " ".join(args),
          rc == 0 and out == "NOTFOUND \n", (rc, out, err))
rc, out, err = run("decide", "--postfix", "3.7.11", "--domain", "example.com",
                   "--temp")
check("postfix temp", rc == 0 and out ==
      "TEMP MTA-STS policy for example.com temporarily unavailable\n",
      (rc, out, err))
rc, j = js("decide", "--json", "--postfix", "3.7.11", "--domain",
           "example.com", ENF)
check("postfix json", rc == 0 and j == {"postfix_version": "3.7.11",
                                         "answer": LEGACY}, j)
for ver in ("3.7", "3.7.11\n", "v3.7.11", "3.07.1", "3.256.0", "2.9.9x", ""):
    rc, out, err = run("decide", "--postfix", ver, "--domain", "example.com",
                       ENF)
    check("postfix bad version " + repr(ver),
          rc == 2 and out == "" and b"bad version at offset" in err,
          (rc, out, err))
rc, out, err = run("decide", "--postfix", "2.9.9", "--domain", "example.com",
                   ENF)
check("postfix too old", rc == 1 and out == "", (rc, out, err))
rc, out, err = run("decide", "--postfix", "3.7.11", "--domain",
                   "[192.0.2.1]:25", ENF)
check("postfix bad domain", rc == 1 and out == "" and b"--domain" in err,
      (rc, out, err))
BADPOL = tmpfile(b"version: STSv1\nmode: enforce\nmax_age: 1\n")
rc, out, err = run("decide", "--postfix", "3.7.11", "--domain", "example.com",
                   BADPOL)
check("postfix invalid policy", rc == 1 and out == "" and b"invalid" in err,
      (rc, out, err))
for args in (["--domain", "example.com"],                     # no source
             [ENF],                                           # no domain
             ["--domain", "example.com", "--temp", "--no-policy"],
             ["--domain", "example.com", "--temp", ENF],
             ["--domain", "example.com", ENF, "mx1.example.com"]):
    rc, out, err = run("decide", "--postfix", "3.7.11", *args)
    check("postfix usage " + " ".join(args), rc == 2 and out == "",
          (rc, out, err))
rc, out, err = run("decide", "--domain", "example.com", ENF, "mx1.example.com")
check("domain without --postfix", rc == 2, (rc, out, err))
for f in (ENF, TST, BADPOL):
    os.unlink(f)

for f in (good, lenient, bad, rec, rpt):
    os.unlink(f)

# lookup and check: usage, options and the failures that need no server.
# The cases with real DNS and HTTPS servers are the e2e suite's. The two
# commands share their option parser: every bad value is tried on lookup,
# one of each kind on check (each run of a tool linked with libcurl costs
# tens of milliseconds).
for cmd in ("lookup", "check"):
    rc, out, err = run(cmd, "--help")
    check(cmd + " --help", rc == 0 and out.startswith("usage: mtasts " + cmd)
          and "--dns-server" in out, (rc, out, err))
    rc, out, err = run(cmd, "--json")
    check(cmd + " only options", rc == 2 and b"usage: mtasts " + cmd.encode()
          in err, (rc, out, err))
    rc, out, err = run(cmd, "--bogus", "example.test")
    check(cmd + " unknown option", rc == 2 and b"unknown option --bogus"
          in err, (rc, out, err))
    rc, out, err = run(cmd, "example.test", "--timeout")
    check(cmd + " option without value",
          rc == 2 and b"--timeout needs a value" in err, (rc, out, err))
    rc, out, err = run(cmd, "bad..example")
    check(cmd + " bad domain", rc == 2 and out == ""
          and b"not a domain name" in err, (rc, out, err))
rc, out, err = run("lookup")
check("lookup no domain", rc == 2 and out == "", (rc, out, err))
for bad, cmd in (("1.2.3", "lookup"), ("127.0.0.1:0", "lookup"),
                 ("127.0.0.1:65536", "lookup"), ("[::1", "lookup"),
                 ("[::1]x", "lookup"), ("ns.example.test", "lookup"),
                 ("127.0.0.1,", "lookup"), ("127.0.0.1:53:53", "check")):
    rc, out, err = run(cmd, "--dns-server", bad, "example.test")
    check(cmd + " bad --dns-server " + bad,
          rc == 2 and out == "" and b"--dns-server " + bad.encode()
          + b": not an IP address" in err, (rc, out, err))
for bad, cmd in (("a:b:c:d", "lookup"), ("a:1:b", "lookup"),
                 ("a:1:b:2:3", "lookup"), ("[::1:1:b:2", "lookup"),
                 ("a:70000::", "lookup"), ("bad_host:25::", "lookup"),
                 ("::[1.2.3.4]:25", "check")):
    rc, out, err = run(cmd, "--connect-to", bad, "example.test")
    check(cmd + " bad --connect-to " + bad,
          rc == 2 and out == "" and b"--connect-to " + bad.encode()
          + b": expected HOST:PORT:HOST2:PORT2" in err, (rc, out, err))
for bad in ("0", "0.000", "-1", "abc", "1e3", "86401", "1.", ".5"):
    rc, out, err = run("lookup", "--timeout", bad, "example.test")
    check("bad --timeout " + bad, rc == 2 and b"--timeout" in err,
          (rc, out, err))
rc, out, err = run("check", "--ca-file", "/nonexistent/ca.pem", "example.test")
check("missing --ca-file", rc == 2 and b"/nonexistent/ca.pem" in err,
      (rc, out, err))
for bad in ("x-.example", "\u00e9.example"):
    rc, out, err = run("lookup", bad)
    check("lookup bad domain " + bad, rc == 2 and out == ""
          and b"not a domain name" in err, (rc, out, err))
rc, out, err = run("check", "example.test", "mx1.example.test")
check("check takes one domain", rc == 2 and b"usage: mtasts check" in err,
      (rc, out, err))
for bad in ("--cache", "--postfix", "--probe"):
    rc, out, err = run("check", bad, "x", "example.test")
    check("check refuses " + bad, rc == 2 and b"unknown option" in err,
          (rc, out, err))
rc, out, err = run("lookup", "example.test", "bad mx")
check("lookup bad MX", rc == 2 and b"MX bad mx: not a host name" in err,
      (rc, out, err))
rc, out, err = run("lookup", "--postfix", "3.7", "example.test")
check("lookup bad --postfix", rc == 2 and b"bad version at offset 3" in err,
      (rc, out, err))
rc, out, err = run("lookup", "--postfix", "2.9.9", "example.test")
check("lookup --postfix too old", rc == 2 and b"before 2.10" in err,
      (rc, out, err))
rc, out, err = run("lookup", "--now", "yesterday", "example.test")
check("lookup bad --now", rc == 2 and b"--now" in err, (rc, out, err))


def free_port(kind):
    """A loopback port nothing listens on (bound, then closed)."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


if not NET:
    for cmd in ("lookup", "check"):
        rc, out, err = run(cmd, "example.test")
        check(cmd + " without libmtasts-net", rc == 4 and out == "" and
              b"needs libmtasts-net" in err, (rc, out, err))
else:
    # An address literal asks nothing of the network (STS-FETCH-15).
    rc, o = js("lookup", "--json", "--postfix", "3.10.5", "[192.0.2.1]")
    check("lookup literal", rc == 1 and o["outcome"] == "no_policy"
          and o["why"] == "address_literal" and o["steps"] == []
          and o["policy"] is None and o["mx"] == [] and o["tlsrpt"] is None
          and o["postfix"] == "NOTFOUND " and o["exim"] == "none", o)
    # A DNS server that is not there, and a port 25 that is closed: the
    # TXT query fails temporarily (exit 3) and a probe cannot connect.
    dns = "127.0.0.1:%d" % free_port(socket.SOCK_DGRAM)
    smtp = "::127.0.0.1:%d" % free_port(socket.SOCK_STREAM)
    cache = os.path.join(tempfile.mkdtemp(), "entry")
    rc, o = js("lookup", "--json", "--dns-server", dns, "--timeout", "0.3",
               "--connect-to", smtp, "--probe", "--cache", cache,
               "--postfix", "3.7.11", "example.test", "mx1.example.test")
    check("lookup no dns rc", rc == 3, rc)
    st = o.get("steps") or [{}]
    check("lookup no dns", o["domain"] == "example.test"
          and st[0].get("kind") == "txt"
          and st[0].get("name") == "_mta-sts.example.test"
          and st[0].get("dns") in ("timeout", "error", "servfail")
          and st[0].get("records") == []
          and o["outcome"] == "no_policy" and o["why"] == "txt_tempfail"
          and o["source"] == "none" and o["result_type"] is None
          and o["alert"] is False and o["policy"] is None
          and o["cache"]["file"] == cache and o["cache"]["entry_error"] is None
          and o["tlsrpt"]["name"] == "_smtp._tls.example.test"
          and o["tlsrpt"]["record"] is None and o["tlsrpt"]["error"]
          and o["postfix"] == "NOTFOUND " and o["exim"] == "none", o)
    mx = (o.get("mx") or [{}])[0]
    check("lookup probe refused", len(o["mx"]) == 1
          and mx.get("host") == "mx1.example.test"
          and mx.get("source") == "argument" and mx.get("preference") is None
          and mx.get("action") == "deliver" and mx.get("reason") == "no_policy"
          and mx.get("tls") == "failed"
          and mx.get("probe", {}).get("connected") is False
          and mx.get("probe", {}).get("error"), o)
    check("lookup no dns: no cache file", not os.path.exists(cache), cache)
    rc, out, err = run("lookup", "--dns-server", dns, "--timeout", "0.3",
                       "example.test")
    check("lookup no dns text", rc == 3 and
          "txt _mta-sts.example.test: " in out and
          "outcome: no_policy why=txt_tempfail" in out and
          "exim: none" in out, (rc, out, err))
    rc, o = js("check", "--json", "--dns-server", dns, "--timeout", "0.3",
               "example.test")
    codes = [f["code"] for f in o.get("findings", [])]
    check("check no dns", rc == 3 and "txt-tempfail" in codes
          and o["errors"] >= 1 and o["policy"] is None
          and all(f["severity"] in ("error", "warning", "info")
                  for f in o["findings"]), (rc, o))
    rc, out, err = run("check", "--dns-server", dns, "--timeout", "0.3",
                       "example.test")
    check("check no dns text", rc == 3 and "error txt-tempfail "
          "_mta-sts.example.test: " in out, (rc, out, err))
    os.rmdir(os.path.dirname(cache))

# mtasts runs lookup and check as mtasts-net (libexecdir/mtasts), found
# beside itself or where MTASTS_EXEC_PATH says. Where it is not: the
# arguments are still checked (exit 2), then the one-line error naming
# the paths tried, exit 4. A built mtasts does not look (built without).
empty = tempfile.mkdtemp()
env = dict(os.environ, MTASTS_EXEC_PATH=empty + "/")
helper = os.path.join(empty, "mtasts-net")
for cmd in ("lookup", "check"):
    rc, out, err = run(cmd, "example.test", env=env)
    lines = err.splitlines()
    want = (b"mtasts: " + cmd.encode() + b" needs libmtasts-net ("
            + (b"mtasts-net not installed; tried " + helper.encode() + b")"
               if NET else b"built without c-ares/libcurl)"))
    check(cmd + " without mtasts-net", rc == 4 and out == ""
          and lines == [want], (rc, out, err, want))
    rc, out, err = run(cmd, "--bogus", "example.test", env=env)
    check(cmd + " without mtasts-net: bad option", rc == 2 and out == ""
          and b"unknown option --bogus" in err
          and b"libmtasts-net" not in err, (rc, out, err))
    rc, out, err = run(cmd, "--help", env=env)
    check(cmd + " without mtasts-net: --help", rc == 0
          and out.startswith("usage: mtasts " + cmd), (rc, out, err))
# a mtasts-net that cannot be run: why, after its path
with open(helper, "w") as f:
    f.write("#!/bin/sh\nexit 0\n")
os.chmod(helper, 0o644)
rc, out, err = run("lookup", "example.test", env=env)
check("lookup, mtasts-net not executable", rc == 4 and out == ""
      and (not NET or (helper.encode() + b": Permission denied)") in err),
      (rc, out, err))
os.unlink(helper)
os.rmdir(empty)
if NET:
    # MTASTS_EXEC_PATH replaces the other places; the tool's own directory
    # holds mtasts-net in the build tree. argv[0] stays the tool's.
    env = dict(os.environ, MTASTS_EXEC_PATH=os.path.dirname(
        os.path.abspath(TOOL)))
    rc, out, err = run("lookup", "--json", "[192.0.2.1]", env=env)
    check("lookup through MTASTS_EXEC_PATH", rc == 1 and
          json.loads(out)["why"] == "address_literal", (rc, out, err))
    rc, out, err = run("check", "--bogus", "example.test", env=env)
    check("check bad option through MTASTS_EXEC_PATH", rc == 2 and out == ""
          and err.startswith(b"mtasts: unknown option --bogus\n"),
          (rc, out, err))

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("tool: all checks passed")
