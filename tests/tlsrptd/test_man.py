#!/usr/bin/env python3
"""mtasts-tlsrptd(8) documents every option and every setting (suite
tlsrptd): each --option that `mtasts-tlsrptd --help` prints is in the
page's option list (.It Fl \\-option), and each setting name that
tlsrptd/config.c knows is in the page (as an option, or as a name of the
configuration file).

    test_man.py MTASTS_TLSRPTD SOURCE_ROOT
"""
import os
import re
import subprocess
import sys


def main():
    exe, root = sys.argv[1], sys.argv[2]
    with open(os.path.join(root, "tlsrptd", "mtasts-tlsrptd.8")) as f:
        page = f.read().replace("\\-", "-").replace("\\&", "")
    with open(os.path.join(root, "tlsrptd", "config.c")) as f:
        config = f.read()
    with open(os.path.join(root, "tlsrptd", "main.c")) as f:
        main_c = f.read()
    helptext = subprocess.run([exe, "--help"], capture_output=True,
                              timeout=30).stdout.decode()
    failures = []
    # options listed in the OPTIONS section (an .It line names one or more)
    listed = set()
    for line in re.findall(r"^\.It (.*)$", page, re.M):
        listed.update(re.findall(r"Fl -([a-z-]+)", line))
    options = set(re.findall(r"--([a-z][a-z-]+)", helptext))
    options |= set(re.findall(r'strcmp\(argv\[i\], "--([a-z-]+)"\)', main_c))
    for o in sorted(options):
        if o not in listed:
            failures.append("option --%s is not in the option list" % o)
    settings = set(re.findall(r'same\(name, "([a-z-]+)"\)', config))
    words = set(re.findall(r"[a-z_]+", page))
    for name in sorted(settings):
        if name not in listed and name.replace("-", "_") not in words:
            failures.append("setting %s is not in the page" % name)
    if len(options) < 30 or len(settings) < 30:
        failures.append("too few options (%d) or settings (%d) found: the "
                        "patterns are stale" % (len(options), len(settings)))
    for f in failures:
        print("FAIL:", f)
    print("%d options, %d settings checked" % (len(options), len(settings)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
