#!/usr/bin/env python3
"""The shared objects a library or program needs (DT_NEEDED), checked
against a list.

  check_needed.py READELF LIBRARY ALLOWED...

Fails when LIBRARY (or a program) needs anything not in ALLOWED (sonames
such as libc.so.6): the core libmtasts must stay libc-only, the mtasts
tool must not need libmtasts-net. Stdlib only.
"""

import re
import subprocess
import sys


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    readelf, lib, allowed = argv[0], argv[1], set(argv[2:])
    out = subprocess.run([readelf, "-d", lib], capture_output=True,
                         text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    print("%s needs: %s" % (lib, ", ".join(needed) or "nothing"))
    if not needed:
        print("FAIL: no DT_NEEDED entry found (not a shared library?)")
        return 1
    extra = [n for n in needed if n not in allowed]
    if extra:
        print("FAIL: needs more than %s: %s"
              % (", ".join(sorted(allowed)), ", ".join(extra)))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
