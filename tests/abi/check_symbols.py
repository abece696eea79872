#!/usr/bin/env python3
"""Exported-symbol check for the shared library.

  check_symbols.py NM LIBRARY MAP HEADER [API_MACRO]

Compares three sets of names and fails with a diff when they differ:
  - the dynamic symbols LIBRARY defines (NM -D --defined-only), without
    version suffixes and without the version-node symbols (MTASTS_1.0),
  - the global names of the linker version script MAP,
  - the functions HEADER declares with API_MACRO (default MTASTS_API;
    MTASTS_NET_API for libmtasts-net).
Stdlib only.
"""

import re
import subprocess
import sys


def strip_c_comments(text):
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


def library_symbols(nm, lib):
    out = subprocess.run([nm, "-D", "--defined-only", lib], check=True,
                         stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    names = set()
    nodes = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name = parts[-1]
        kind = parts[-2] if len(parts) >= 3 else parts[0]
        name = name.split("@", 1)[0]
        if kind == "A":
            nodes.add(name)  # version node, e.g. MTASTS_1.0
            continue
        names.add(name)
    return names, nodes


def map_symbols(path):
    with open(path, encoding="utf-8") as f:
        text = strip_c_comments(f.read())
    text = re.sub(r"#[^\n]*", " ", text)
    names = set()
    nodes = set()
    # NODE { global: a; b; local: *; } [PARENT];
    for m in re.finditer(r"([A-Za-z_][A-Za-z0-9_.]*)\s*\{(.*?)\}", text,
                         flags=re.S):
        nodes.add(m.group(1))
        section = None
        for tok in re.split(r"[;\s]+", m.group(2)):
            if not tok:
                continue
            if tok in ("global:", "local:"):
                section = tok
                continue
            if tok.endswith(":"):
                section = tok
                continue
            if section == "global:":
                names.add(tok)
    return names, nodes


def header_functions(path, macro="MTASTS_API"):
    with open(path, encoding="utf-8") as f:
        text = strip_c_comments(f.read())
    text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)  # drop directives
    names = set()
    for m in re.finditer(r"\b" + macro + r"\b([^;{]*?)\b([A-Za-z_]\w*)\s*\(",
                         text, flags=re.S):
        names.add(m.group(2))
    return names


def diff(label_a, a, label_b, b):
    lines = []
    for n in sorted(a - b):
        lines.append("  only in %s: %s" % (label_a, n))
    for n in sorted(b - a):
        lines.append("  only in %s: %s" % (label_b, n))
    return lines


def main(argv):
    if len(argv) not in (4, 5):
        print(__doc__)
        return 2
    nm, lib, map_path, header = argv[:4]
    macro = argv[4] if len(argv) == 5 else "MTASTS_API"
    lib_names, lib_nodes = library_symbols(nm, lib)
    map_names, map_nodes = map_symbols(map_path)
    hdr_names = header_functions(header, macro)

    print("library exports %d symbols (version nodes: %s)"
          % (len(lib_names), ", ".join(sorted(lib_nodes)) or "none"))
    print("version script lists %d names (nodes: %s)"
          % (len(map_names), ", ".join(sorted(map_nodes)) or "none"))
    print("header declares %d MTASTS_API functions" % len(hdr_names))

    problems = []
    d = diff("library", lib_names, "libmtasts.map", map_names)
    if d:
        problems.append("library exports vs version script:")
        problems.extend(d)
    d = diff("libmtasts.map", map_names, "mtasts.h", hdr_names)
    if d:
        problems.append("version script vs MTASTS_API in the header:")
        problems.extend(d)
    d = diff("library", lib_names, "mtasts.h", hdr_names)
    if d:
        problems.append("library exports vs MTASTS_API in the header:")
        problems.extend(d)
    if lib_nodes - map_nodes:
        problems.append("version nodes in the library but not in the map: "
                        + ", ".join(sorted(lib_nodes - map_nodes)))
    if not lib_names:
        problems.append("no exported symbols found (wrong library?)")
    if problems:
        print("FAIL")
        print("\n".join(problems))
        return 1
    print("PASS: the three lists agree")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
