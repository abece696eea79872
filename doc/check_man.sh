#!/bin/sh
# Documentation coverage check, run by meson test (suite 'doc').
#
#   check_man.sh HEADER DOCDIR NAME...
#
# Every function declared in HEADER must be listed in the NAME section
# (.Nm) of a page in DOCDIR, and must be one of the NAMEs that meson
# installs as a page or alias; every NAME must be a function of HEADER.
set -eu

header=$1
docdir=$2
shift 2

tmp=${TMPDIR:-/tmp}/check_man.$$
trap 'rm -f "$tmp".*' EXIT

# the functions declared, not those named in comments
awk '{
    line = $0; out = ""
    while (length(line) > 0) {
        if (incomment) {
            i = index(line, "*/")
            if (i == 0) { line = ""; break }
            line = substr(line, i + 2); incomment = 0
        } else {
            i = index(line, "/*")
            if (i == 0) { out = out line; line = ""; break }
            out = out substr(line, 1, i - 1); line = substr(line, i + 2)
            incomment = 1
        }
    }
    print out
}' "$header" | grep -o 'mtasts_[a-z0-9_]*(' | tr -d '(' | sort -u >"$tmp.api"
sed -n 's/^\.Nm \(mtasts_[a-z0-9_]*\).*/\1/p' "$docdir"/*.3 | sort -u >"$tmp.nm"
for n in "$@"; do echo "$n"; done | sort -u >"$tmp.inst"

status=0
if ! cmp -s "$tmp.api" "$tmp.nm"; then
    echo "functions missing from (<) or unknown to (>) the NAME sections:"
    comm -3 "$tmp.api" "$tmp.nm" | sed 's/^\t/> /; t; s/^/< /'
    status=1
fi
if ! cmp -s "$tmp.api" "$tmp.inst"; then
    echo "functions without (<) or unknown to (>) an installed page/alias:"
    comm -3 "$tmp.api" "$tmp.inst" | sed 's/^\t/> /; t; s/^/< /'
    status=1
fi
[ $status -eq 0 ] && echo "$(wc -l <"$tmp.api") functions documented"
exit $status
