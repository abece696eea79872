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

# match
rc, out, _ = run("match", "*.example.com", "MX.example.com.")
check("match yes", rc == 0 and out.strip() == "match", out)
rc, out, _ = run("match", "*.example.com", "a.b.example.com")
check("match no", rc == 1 and out.strip() == "no match", out)

# usage errors
for args in (["policy"], ["policy", "parse"], ["record", "parse"],
             ["policy", "parse", "--bogus", good], ["frob", "x"],
             ["match", "a"], ["policy", "check", good]):
    rc, _, _ = run(*args)
    check("usage " + " ".join(args), rc == 2, rc)
rc, _, _ = run("policy", "parse", "/nonexistent/file")
check("missing file", rc == 2, rc)

for f in (good, lenient, bad, rec):
    os.unlink(f)
if failures:
    print("\n".join(failures))
    sys.exit(1)
print("tool: all checks passed")
