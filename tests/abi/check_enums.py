#!/usr/bin/env python3
"""Checks of the public constants (issue 10, item 2).

  check_enums.py HEADER LIBRARY

- Every family of constants is a typed enum ("typedef enum mtasts_x {...}
  mtasts_x;") whose values are all explicit and documented, and no
  #define of the header is backslash-continued except the two macros that
  are not constants (MTASTS_DIAG_INIT, MTASTS_POSTFIX_VERSION), so FFI
  generators (cffi, ctypes) see every constant.
- Flag families (MTASTS_<OBJ>_F_<NAME>) hold single bits.
- Selector families that go through setters taking an int never share a
  value: mtasts_limit, mtasts_option, mtasts_agg_option.
- Every value of a family with a name function has a name, read from the
  built LIBRARY through ctypes, and it is the one the enumerator spells;
  the first value past each family has none.
Stdlib only.
"""

import ctypes
import re
import sys

CONTINUED_OK = {"MTASTS_DIAG_INIT", "MTASTS_POSTFIX_VERSION"}
DISJOINT = ["mtasts_limit", "mtasts_option", "mtasts_agg_option"]

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def parse_enums(text):
    enums = {}
    for m in re.finditer(r"typedef enum (\w+) \{(.*?)\} (\w+);", text,
                         flags=re.S):
        name, body, tname = m.group(1), m.group(2), m.group(3)
        if name != tname:
            fail("enum %s is typedef'd as %s" % (name, tname))
        items = []
        # each enumerator: a doc comment, then NAME = VALUE
        pos = 0
        for e in re.finditer(r"(/\*\*.*?\*/)?\s*(MTASTS_\w+)\s*(=\s*([^,}]+))?,?",
                             body, flags=re.S):
            doc, ename, value = e.group(1), e.group(2), e.group(4)
            if value is None:
                fail("%s: %s has no explicit value" % (name, ename))
                continue
            if doc is None:
                fail("%s: %s has no doc comment" % (name, ename))
            items.append((ename, int(value.strip(), 0)))
            pos = e.end()
        if not items:
            fail("enum %s is empty" % name)
        enums[name] = items
    return enums


def check_defines(text):
    for m in re.finditer(r"^#define (\w+)[^\n]*\\\n", text, flags=re.M):
        if m.group(1) not in CONTINUED_OK:
            fail("#define %s is backslash-continued" % m.group(1))


def check_flags(enums):
    nflags = 0
    for name, items in enums.items():
        for ename, value in items:
            if "_F_" in ename:
                nflags += 1
                if value <= 0 or value & (value - 1):
                    fail("flag %s = %#x is not a single bit" % (ename, value))
            elif name.endswith("_flag"):
                fail("%s in flag family %s lacks _F_" % (ename, name))
    if nflags == 0:
        fail("no flag families found")


def check_disjoint(enums):
    seen = {}
    for name in DISJOINT:
        if name not in enums:
            fail("enum %s missing" % name)
            continue
        for ename, value in enums[name]:
            if value in seen:
                fail("%s and %s share the value %d" % (ename, seen[value],
                                                       value))
            seen[value] = ename


def lower_suffix(ename, prefix):
    return ename[len(prefix):].lower()


def check_names(enums, lib):
    L = ctypes.CDLL(lib)

    def fn(name):
        f = getattr(L, name)
        f.restype = ctypes.c_char_p
        f.argtypes = [ctypes.c_int]
        return lambda v: (f(v) or b"").decode() or None

    # enum: (name function, expected name of an enumerator, "no name" value)
    table = {
        "mtasts_status": (fn("mtasts_status_name"), lambda e: e,
                          "MTASTS_UNKNOWN"),
        "mtasts_warning": (fn("mtasts_warning_name"),
                           lambda e: lower_suffix(e, "MTASTS_W_"), None),
        "mtasts_reason": (fn("mtasts_reason_name"),
                          lambda e: lower_suffix(e, "MTASTS_R_"), "unknown"),
        "mtasts_mode": (fn("mtasts_mode_name"),
                        lambda e: lower_suffix(e, "MTASTS_MODE_"), None),
        "mtasts_result_type": (
            fn("mtasts_result_type_name"),
            lambda e: None if e == "MTASTS_RESULT_NONE"
            else lower_suffix(e, "MTASTS_RESULT_").replace("_", "-"), None),
        "mtasts_why": (fn("mtasts_why_name"),
                       lambda e: lower_suffix(e, "MTASTS_WHY_"), None),
        "mtasts_decide_reason": (fn("mtasts_decide_reason_name"),
                                 lambda e: lower_suffix(e, "MTASTS_DECIDE_"),
                                 None),
    }
    strerror = fn("mtasts_strerror")
    checked = 0
    for ename_enum, (name_of, expect, unknown) in table.items():
        if ename_enum not in enums:
            fail("enum %s missing" % ename_enum)
            continue
        values = set()
        for ename, value in enums[ename_enum]:
            if ename == "MTASTS_W_COUNT":
                continue  # a count, not a warning
            values.add(value)
            got = name_of(value)
            if got != expect(ename):
                fail("%s (%d): name %r, expected %r" % (ename, value, got,
                                                       expect(ename)))
            checked += 1
            if ename_enum == "mtasts_status" and \
                    strerror(value) == "unknown error":
                fail("%s has no mtasts_strerror() text" % ename)
        # just outside the family: no name
        for v in (max(values) + 1, min(values) - 1):
            if v not in values and name_of(v) != unknown:
                fail("%s: value %d outside the family has the name %r" %
                     (ename_enum, v, name_of(v)))
    # reasons also have messages
    msg = fn("mtasts_reason_message")
    for ename, value in enums.get("mtasts_reason", []):
        if not msg(value):
            fail("%s has no message" % ename)
    return checked


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    enums = parse_enums(text)
    check_defines(text)
    check_flags(enums)
    check_disjoint(enums)
    # "-" for the library: a sanitizer build, which a plain interpreter
    # cannot load; the header checks still run (the names are checked by
    # the plain builds)
    checked = check_names(enums, sys.argv[2]) if sys.argv[2] != "-" else 0
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("PASS: %d enums, %d named values checked" % (len(enums), checked))
    return 0


if __name__ == "__main__":
    sys.exit(main())
