#!/bin/bash
# Regenerate the ABI baseline abi/libmtasts.abi from a build with debug
# info. Usage:
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
lib=$(readlink -f "$build/src/libmtasts.so.1")
abidw --drop-private-types --headers-dir "$root/include" \
    --out-file "$here/libmtasts.abi" "$lib"
# Keep the baseline free of machine-specific paths.
sed -i -e "s|$root/||g" -e "s|$(readlink -f "$build")/||g" "$here/libmtasts.abi"
echo "abi/update.sh: wrote abi/libmtasts.abi from $lib"
