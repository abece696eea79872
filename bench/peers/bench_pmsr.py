#!/usr/bin/python3
"""Peer benchmark: postfix-mta-sts-resolver's parse_mta_sts_policy.

Uses the Debian package (apt-get install postfix-mta-sts-resolver), so run it
with the system interpreter (/usr/bin/python3), which sees dist-packages.
Measures the same policy bytes as bench_text (bench/policy-google.txt):

  pmsr_parse         parse_mta_sts_policy(str)       (the parser alone)
  pmsr_decode_parse  parse_mta_sts_policy(b.decode()) (what resolver.py does
                                                      with the fetched body)

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
        from postfix_mta_sts_resolver.utils import parse_mta_sts_policy
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

    cases = []
    for name, fn, arg, what in (
            ("pmsr_parse", parse_mta_sts_policy, text,
             "PMSR parse_mta_sts_policy(str)"),
            ("pmsr_decode_parse", decode_parse, raw,
             "PMSR bytes.decode + parse")):
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
           "cases": cases}
    if args.json:
        print(json.dumps(out))
    else:
        print("postfix-mta-sts-resolver %s, Python %s, %d batches"
              % (ver, out["python"], args.batches))
        for c in cases:
            print("%-20s %-34s %10.1f ns" % (c["name"], c["what"], c["median_ns"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
