#!/usr/bin/env python3
"""Build the installed static library with only the public symbols global.

  static_archive.py LD OBJCOPY AR MAP INPUT.a OUTPUT.a

INPUT.a is the internal archive (every object of the library, compiled
with hidden visibility). Its objects are linked into one relocatable
object (LD -r), so the calls between library files are resolved inside
it; then every defined global symbol that the linker version script MAP
does not list is made local (OBJCOPY --keep-global-symbols), and the
object is put alone in OUTPUT.a (AR, deterministic). A program linking
OUTPUT.a statically then sees the mtasts_* API and nothing else: no
internal mt_* name can collide with one of its own. Undefined references
(libc, and the sanitizer runtimes under -Db_sanitize) stay as they are.
Stdlib only.
"""

import os
import re
import subprocess
import sys


def map_globals(path):
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"/\*.*?\*/", " ", f.read(), flags=re.S)
    names = []
    for m in re.finditer(r"global:(.*?)(?:local:|\})", text, flags=re.S):
        for tok in m.group(1).split(";"):
            tok = tok.strip()
            if tok:
                names.append(tok)
    return names


def main(argv):
    if len(argv) != 6:
        sys.stderr.write(__doc__)
        return 2
    ld, objcopy, ar, map_path, inp, out = argv
    names = map_globals(map_path)
    if not names:
        sys.stderr.write("static_archive.py: no global names in %s\n"
                         % map_path)
        return 1
    obj = out + ".o"
    keep = out + ".keep"
    with open(keep, "w", encoding="utf-8") as f:
        f.write("\n".join(names) + "\n")
    subprocess.run([ld, "-r", "-o", obj, "--whole-archive", inp,
                    "--no-whole-archive"], check=True)
    subprocess.run([objcopy, "--keep-global-symbols=" + keep, obj],
                   check=True)
    if os.path.exists(out):
        os.unlink(out)
    subprocess.run([ar, "rcsD", out, obj], check=True)
    os.unlink(obj)
    os.unlink(keep)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
