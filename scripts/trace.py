#!/usr/bin/env python3
"""Requirement traceability: which requirement ids have no test.

Reads the requirement ids (bullets such as ``- **STS-TXT-3** ...``) from
doc/requirements.md, searches every file under tests/ for each id
as a whole word, and prints, per group, the ids that no test mentions.

Ids listed in a deferred file (lines ``ID<TAB>reason``; ``#`` comments and
blank lines ignored) are printed as deferred and not counted as missing.

  scripts/trace.py [--groups STS-TXT,STS-POL] [--deferred FILE] [--check]
                   [--requirements FILE] [--tests DIR] [--verbose]

With --check the exit status is 1 when an id of the selected groups is
missing and not deferred, or when the deferred file is malformed or names
an unknown id. Stdlib only.
"""

import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_REQS = os.path.join(ROOT, "doc", "requirements.md")
DEFAULT_TESTS = os.path.join(ROOT, "tests")

# A requirement is a list item whose text starts with the bold id.
REQ_RE = re.compile(r"^\s*[-*]\s+\*\*([A-Z]+(?:-[A-Z]+)*)-([0-9]+)\*\*")


def read_requirements(path):
    """Return the ordered list of (group, id) found in the checklist."""
    ids = []
    seen = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = REQ_RE.match(line)
            if not m:
                continue
            rid = "%s-%s" % (m.group(1), m.group(2))
            if rid in seen:
                continue
            seen.add(rid)
            ids.append((m.group(1), rid))
    return ids


def read_deferred(path):
    """Return ({id: reason}, [error strings])."""
    deferred = {}
    errors = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if "\t" not in line:
                errors.append("%s:%d: expected ID<TAB>reason" % (path, n))
                continue
            rid, reason = line.split("\t", 1)
            rid = rid.strip()
            reason = reason.strip()
            if not reason:
                errors.append("%s:%d: %s has no reason" % (path, n, rid))
            if rid in deferred:
                errors.append("%s:%d: %s listed twice" % (path, n, rid))
            deferred[rid] = reason
    return deferred, errors


def collect_test_text(tests_dir, exclude):
    """Yield (relative path, text) of every file under tests_dir."""
    exclude = {os.path.realpath(p) for p in exclude if p}
    for dirpath, dirnames, filenames in os.walk(tests_dir):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if os.path.realpath(path) in exclude:
                continue
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            if b"\0" in data:
                continue  # binary
            yield (os.path.relpath(path, tests_dir),
                   data.decode("utf-8", errors="replace"))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--groups", default="",
                    help="comma-separated groups, e.g. STS-TXT,STS-POL "
                         "(default: all)")
    ap.add_argument("--deferred", metavar="FILE",
                    help="ids deferred to a later issue (ID<TAB>reason)")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if an id is missing and not deferred")
    ap.add_argument("--requirements", default=DEFAULT_REQS, metavar="FILE")
    ap.add_argument("--tests", default=DEFAULT_TESTS, metavar="DIR")
    ap.add_argument("--verbose", "-v", action="store_true",
                    help="also list the files that mention each id")
    args = ap.parse_args(argv)

    reqs = read_requirements(args.requirements)
    if not reqs:
        print("error: no requirement ids found in %s" % args.requirements)
        return 2
    all_groups = []
    for g, _ in reqs:
        if g not in all_groups:
            all_groups.append(g)
    if args.groups:
        groups = [g.strip() for g in args.groups.split(",") if g.strip()]
        unknown = [g for g in groups if g not in all_groups]
        if unknown:
            print("error: unknown group(s): %s (known: %s)"
                  % (", ".join(unknown), ", ".join(all_groups)))
            return 2
    else:
        groups = all_groups

    deferred, errors = {}, []
    if args.deferred:
        deferred, errors = read_deferred(args.deferred)
    known = {rid for _, rid in reqs}
    for rid in sorted(deferred):
        if rid not in known:
            errors.append("deferred id %s is not a requirement" % rid)

    texts = list(collect_test_text(args.tests, [args.deferred]))
    found = {}
    for g, rid in reqs:
        if g not in groups:
            continue
        word = re.compile(r"(?<![A-Za-z0-9_-])" + re.escape(rid) +
                          r"(?![A-Za-z0-9_])")
        found[rid] = [p for p, t in texts if word.search(t)]

    total_missing = 0
    for g in groups:
        ids = [rid for gg, rid in reqs if gg == g]
        tested = [rid for rid in ids if found[rid]]
        dfr = [rid for rid in ids if not found[rid] and rid in deferred]
        missing = [rid for rid in ids if not found[rid] and rid not in deferred]
        total_missing += len(missing)
        print("%s: %d ids, %d tested, %d deferred, %d missing"
              % (g, len(ids), len(tested), len(dfr), len(missing)))
        for rid in missing:
            print("  MISSING  %s" % rid)
        for rid in dfr:
            print("  deferred %s: %s" % (rid, deferred[rid]))
        for rid in ids:
            if found[rid] and rid in deferred:
                print("  note: %s is deferred but already tested (%s)"
                      % (rid, ", ".join(found[rid])))
        if args.verbose:
            for rid in tested:
                print("  tested   %s: %s" % (rid, ", ".join(found[rid])))
    for e in errors:
        print("error: %s" % e)
    print("total missing: %d" % total_missing)
    if args.check and (total_missing or errors):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
