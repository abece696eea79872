#!/usr/bin/python3
"""Peer benchmark: postfix-mta-sts-resolver's policy and TXT record parsers.

Uses the Debian package (apt-get install postfix-mta-sts-resolver), so run it
with the system interpreter (/usr/bin/python3), which sees dist-packages.
Measures the same inputs as bench_text: the policy bytes of
bench/policy-google.txt and the TXT record of bench_text.c (TXT_RECORD):

  pmsr_parse         parse_mta_sts_policy(str)       (the parser alone)
  pmsr_decode_parse  parse_mta_sts_policy(b.decode()) (what resolver.py does
                                                      with the fetched body)
  pmsr_txt_parse     parse_mta_sts_record(str)       (the parser alone)
  pmsr_txt_check     what resolver.py does with the one TXT string: the
                     startswith('v=STSv1') filter, parse_mta_sts_record,
                     and its v == 'STSv1' and 'id' checks

PMSR has no MX match: it answers Postfix's socketmap with the patterns
("secure match=..."), and Postfix's TLS client compares them with the
certificate names. So it has no MX match case.

Many batches of ~20 ms each (timeit); reports the median ns/op.
Exit status 77 when the package is not installed.
"""
import argparse
import json
import os
import statistics
import sys
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
# the same record as bench_text.c's txt_text
TXT_RECORD = "v=STSv1; id=20160831085700Z;"


def bench(stmt_fn, arg, batches, batch_ms):
    timer = timeit.Timer("f(a)", globals={"f": stmt_fn, "a": arg})
    number = 1
    while True:  # calibrate: one batch lasts about batch_ms
        t = timer.timeit(number)
        if t >= batch_ms / 1000.0 / 4:
            break
        number *= 2
    number = max(1, int(number * (batch_ms / 1000.0) / t))
    samples = timer.repeat(repeat=batches, number=number)
    per_op = [s / number * 1e9 for s in samples]
    return statistics.median(per_op), min(per_op), number


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--batches", type=int, default=31)
    ap.add_argument("--batch-ms", type=float, default=20.0)
    ap.add_argument("--policy", default=os.path.join(HERE, "..", "policy-google.txt"))
    args = ap.parse_args()

    try:
        from postfix_mta_sts_resolver.utils import (parse_mta_sts_policy,
                                                    parse_mta_sts_record)
    except ImportError as e:
        print("SKIP pmsr: postfix-mta-sts-resolver not importable (%s); "
              "apt-get install postfix-mta-sts-resolver and run with "
              "/usr/bin/python3" % e, file=sys.stderr)
        return 77

    with open(args.policy, "rb") as f:
        raw = f.read()
    text = raw.decode("ascii")
    res = parse_mta_sts_policy(text)
    if (res.get("version") != "STSv1" or res.get("mode") != "enforce"
            or len(res["mx"]) != 3 or res.get("max_age") != "86400"):
        print("pmsr: unexpected parse result %r" % (res,), file=sys.stderr)
        return 1

    def decode_parse(b):
        return parse_mta_sts_policy(b.decode("ascii"))

    def txt_check(txt):
        # the steps of STSResolver.resolve between the DNS answer and the id
        if not txt.startswith("v=STSv1"):
            return None
        rec = parse_mta_sts_record(txt)
        if rec.get("v", None) != "STSv1" or "id" not in rec:
            return None
        return rec["id"]

    rec = parse_mta_sts_record(TXT_RECORD)
    if (rec.get("v") != "STSv1" or rec.get("id") != "20160831085700Z"
            or txt_check(TXT_RECORD) != "20160831085700Z"
            or txt_check("v=STSv1; x=1;") is not None):
        print("pmsr: unexpected TXT parse result %r" % (rec,), file=sys.stderr)
        return 1

    cases = []
    for name, fn, arg, what in (
            ("pmsr_parse", parse_mta_sts_policy, text,
             "PMSR parse_mta_sts_policy(str)"),
            ("pmsr_decode_parse", decode_parse, raw,
             "PMSR bytes.decode + parse"),
            ("pmsr_txt_parse", parse_mta_sts_record, TXT_RECORD,
             "PMSR parse_mta_sts_record(str)"),
            ("pmsr_txt_check", txt_check, TXT_RECORD,
             "PMSR TXT filter + parse + v/id check")):
        med, mn, number = bench(fn, arg, args.batches, args.batch_ms)
        cases.append({"name": name, "what": what, "median_ns": med,
                      "min_ns": mn, "iterations_per_batch": number})

    try:
        import importlib.metadata as md
        ver = md.version("postfix_mta_sts_resolver")
    except Exception:  # noqa: BLE001 - version is informational only
        ver = "unknown"
    out = {"bench": "pmsr", "peer_version": ver,
           "python": sys.version.split()[0], "batches": args.batches,
           "cases": cases,
           "notes": ["no MX match: Postfix matches (see above)"]}
    if args.json:
        print(json.dumps(out))
    else:
        print("postfix-mta-sts-resolver %s, Python %s, %d batches"
              % (ver, out["python"], args.batches))
        for c in cases:
            print("%-20s %-38s %10.1f ns" % (c["name"], c["what"], c["median_ns"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
