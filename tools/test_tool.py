#!/usr/bin/env python3
"""Tests of the mtasts command-line tool: JSON shape, verdicts, exit codes.

usage: test_tool.py PATH_TO_MTASTS PROJECT_ROOT
"""
import json
import os
import subprocess
import sys
import tempfile

TOOL = sys.argv[1]
ROOT = sys.argv[2]
failures = []


def run(*args, stdin=None):
    p = subprocess.run([TOOL, *args], input=stdin, capture_output=True)
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
REPORTS = os.path.join(ROOT, "..", "shared", "corpus", "reports")
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
      and o["error"]["code"] == "MTASTS_ESTATE" and o["report"] is None, o)
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

for f in (good, lenient, bad, rec, rpt):
    os.unlink(f)
if failures:
    print("\n".join(failures))
    sys.exit(1)
print("tool: all checks passed")
