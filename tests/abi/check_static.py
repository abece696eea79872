#!/usr/bin/env python3
"""Global symbols of the static library: only the public API.

  check_static.py NM ARCHIVE

Runs NM --defined-only -g on ARCHIVE and fails, listing them, when a
defined global symbol is not mtasts_-prefixed (an internal mt_* name would
collide with a name of a program that links the archive statically). Also
fails when no mtasts_ symbol is found (an empty or unreadable archive).
Stdlib only.
"""

import subprocess
import sys


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    nm, archive = argv
    out = subprocess.run([nm, "--defined-only", "-g", archive], check=True,
                         stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    public, bad = [], []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue  # member names and blank lines
        name = parts[-1]
        (public if name.startswith("mtasts_") else bad).append(name)
    if not public:
        print("FAIL: no mtasts_ symbol defined in %s" % archive)
        return 1
    if bad:
        print("FAIL: %d global symbol(s) of %s are not mtasts_-prefixed:"
              % (len(bad), archive))
        for name in sorted(bad):
            print("  " + name)
        return 1
    print("PASS: %d global symbols, all mtasts_" % len(public))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
