#!/usr/bin/env python3
"""Requirement traceability: which requirement ids have no test.

Reads the requirement ids (bullets such as ``- **STS-TXT-3** ...``) from
doc/requirements.md and prints, per group, the ids that no test proves.

When an id counts as tested (the rule). In a file under tests/, an id
counts only where it names what a test checks:

  1. in the name of a test function, lower case with '_' for '-'
     (``sts_mx_1_exact_case_insensitive`` tests STS-MX-1; the id must not
     run on into more digits: ``sts_mx_10`` is not STS-MX-1);
  2. in the comment directly above a test function's definition (only
     blank lines between the comment's end and the definition), or in a
     comment inside the test function's body;
  3. in a string literal passed to an assertion or failure call
     (assert*, fail*, *check*, expect*, print_error, print_message) or to
     a python test's check(...): the message the failing test prints.

A test function is a C function that cmocka runs (it takes
``void **state``, or is registered with ``cmocka_unit_test*()``) or a
python function named ``test_*``. A mention anywhere else (a file's header
comment, a helper's comment, a meson.build, a README) does not count.

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
    """Yield (relative path, text) of every source file under tests_dir."""
    exclude = {os.path.realpath(p) for p in exclude if p}
    for dirpath, dirnames, filenames in os.walk(tests_dir):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.endswith((".c", ".h", ".cc", ".py")):
                continue
            path = os.path.join(dirpath, name)
            if os.path.realpath(path) in exclude:
                continue
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            yield (os.path.relpath(path, tests_dir),
                   data.decode("utf-8", errors="replace"))


# Tokens of C source, enough to tell comments, strings and code apart.
C_TOKEN_RE = re.compile(r"""
    (?P<comment>/\*.*?\*/|//[^\n]*)
  | (?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
  | (?P<other>[^/"']+|/)
""", re.S | re.X)

ASSERT_CALL_RE = re.compile(
    r"(?:assert\w*|fail\w*|\w*check\w*|expect\w*|print_error|"
    r"print_message)\s*\($")
C_FUNC_RE = re.compile(r"(\b[A-Za-z_]\w*)\s*\(([^;{}()]*)\)\s*$")
REGISTERED_RE = re.compile(r"cmocka_unit_test\w*\s*\(\s*([A-Za-z_]\w*)")


def c_evidence(text):
    """Return the snippets of a C file that can prove an id: the names of
    its test functions, the comment directly above each and the comments
    inside it, and the string literals passed to assertion calls."""
    registered = set(REGISTERED_RE.findall(text))
    out = []
    depth = 0
    code = ""            # top-level code since the last ';' or '}'
    code_pos = 0         # offset of its first non-blank character
    above = []           # run of top-level comments: [(text, start, end)]
    inside = []          # comments within the current definition's head
    in_test = False
    stmt = ""            # code of the current statement in a function
    for m in C_TOKEN_RE.finditer(text):
        kind, val = m.lastgroup, m.group()
        if kind == "comment":
            if depth == 0 and code.strip():
                inside.append(val)  # e.g. after the parameter list
            elif depth == 0:
                if above and not _blank_gap(text[above[-1][2]:m.start()]):
                    above = []
                above.append((val, m.start(), m.end()))
            elif in_test:
                out.append(val)
            continue
        if kind == "string":
            if depth > 0 and ASSERT_CALL_RE.search(_open_call(stmt)):
                out.append(val)
            if depth > 0:
                stmt += '""'
            else:
                code += '""'
            continue
        for off, ch in enumerate(val):
            if depth == 0:
                if ch == "{":
                    fm = C_FUNC_RE.search(code.strip())
                    in_test = False
                    if fm:
                        name, params = fm.group(1), fm.group(2)
                        in_test = (name in registered or re.search(
                            r"void\s*\*\*\s*state", params) is not None)
                    if in_test:
                        out.append(name.upper().replace("_", "-"))
                        out.extend(inside)
                        if above and _blank_gap(
                                text[above[-1][2]:code_pos]):
                            out.extend(c[0] for c in above)
                    above, inside = [], []
                    depth = 1
                    stmt = ""
                elif ch in ";}":
                    code = ""
                    above, inside = [], []
                else:
                    if not code.strip() and not ch.isspace():
                        code_pos = m.start() + off
                    code += ch
            elif ch == "{":
                depth += 1
                stmt = ""
            elif ch == "}":
                depth -= 1
                stmt = ""
                if depth == 0:
                    in_test = False
                    code = ""
                    above, inside = [], []
            elif ch == ";":
                stmt = ""
            else:
                stmt += ch
    return out


def _open_call(stmt):
    """The innermost call still open at the end of stmt, as 'name('."""
    depth = 0
    for i in range(len(stmt) - 1, -1, -1):
        c = stmt[i]
        if c == ")":
            depth += 1
        elif c == "(":
            if depth == 0:
                m = re.search(r"([A-Za-z_]\w*)\s*$", stmt[:i])
                return (m.group(1) + "(") if m else "("
            depth -= 1
    return ""


def _blank_gap(gap):
    """Only whitespace, with at most one blank line."""
    return gap.strip() == "" and gap.count("\n") <= 2


PY_DEF_RE = re.compile(r"^(\s*)def\s+(test_\w*)\s*\(", re.M)
PY_CHECK_RE = re.compile(
    r"""\b(?:check|assert\w*|fail\w*)\s*\(\s*(?:f|r|b)?("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')""")


def py_evidence(text):
    """Test function names, their comments and check()/assert messages."""
    out = []
    lines = text.split("\n")
    for m in PY_DEF_RE.finditer(text):
        out.append(m.group(2).upper().replace("_", "-"))
        ln = text.count("\n", 0, m.start())
        k = ln - 1
        while k >= 0 and lines[k].strip().startswith("#"):
            out.append(lines[k])
            k -= 1
        indent = len(m.group(1))
        k = ln + 1
        while k < len(lines) and (not lines[k].strip() or
                                  len(lines[k]) - len(lines[k].lstrip())
                                  > indent):
            if lines[k].strip().startswith("#"):
                out.append(lines[k])
            k += 1
    out.extend(m.group(1) for m in PY_CHECK_RE.finditer(text))
    return out


def evidence(path, text):
    if path.endswith(".py"):
        return py_evidence(text)
    return c_evidence(text)


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

    texts = [(p, "\n".join(evidence(p, t)))
             for p, t in collect_test_text(args.tests, [args.deferred])]
    found = {}
    for g, rid in reqs:
        if g not in groups:
            continue
        # whole id: not inside a longer word, not followed by more digits
        word = re.compile(r"(?<![A-Za-z0-9])" + re.escape(rid) +
                          r"(?![0-9])")
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
