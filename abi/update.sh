#!/bin/bash
# Regenerate the ABI baselines abi/libmtasts.abi and abi/libmtasts-net.abi
# (when built) from a build with debug info. Usage:
#
#   abi/update.sh [BUILD_DIR]     # default BUILD_DIR: <project>/build
#
# Review the diff (abi/check.sh BUILD_DIR shows it) before committing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build}

if [ ! -e "$build/src/libmtasts.so.1" ]; then
    echo "abi/update.sh: $build/src/libmtasts.so.1 not found; build first" >&2
    exit 2
fi
for pair in libmtasts:src libmtasts-net:net; do
    name=${pair%%:*}
    sub=${pair#*:}
    [ -e "$build/$sub/$name.so.1" ] || {
        echo "abi/update.sh: $name not built: its baseline is kept"
        continue
    }
    lib=$(readlink -f "$build/$sub/$name.so.1")
    abidw --drop-private-types --headers-dir "$root/include" \
        --out-file "$here/$name.abi" "$lib"
    # Keep the baseline free of machine-specific paths.
    sed -i -e "s|$root/||g" -e "s|$(readlink -f "$build")/||g" "$here/$name.abi"
    echo "abi/update.sh: wrote abi/$name.abi from $lib"
done
