#!/usr/bin/env bash
# Builds the binary to ship and its symbols, apart: target/dist/indgang (no debug info) and
# target/dist/indgang.debug (the line tables), linked by a GNU debuglink, so that gdb, addr2line and
# a backtrace symboliser find the symbols when the .debug file lies beside the binary (or in
# /usr/lib/debug). Keep the .debug file of every build you ship.
#
#   tools/release.sh              # build, then split
#   tools/release.sh --split-only # split an existing target/dist-build/release/indgang again
set -euo pipefail
cd "$(dirname "$0")/.."

build=target/dist-build
dist=target/dist
if [[ "${1:-}" != "--split-only" ]]; then
    # The release profile, with line tables kept for the split.
    cargo build --release --target-dir "$build" \
        --config 'profile.release.debug="line-tables-only"' \
        --config 'profile.release.strip="none"'
fi
command -v objcopy >/dev/null || { echo "tools/release.sh: objcopy (binutils) is needed" >&2; exit 1; }
mkdir -p "$dist"
cp "$build/release/indgang" "$dist/indgang.full"
objcopy --only-keep-debug "$dist/indgang.full" "$dist/indgang.debug"
objcopy --strip-debug --add-gnu-debuglink="$dist/indgang.debug" "$dist/indgang.full" "$dist/indgang"
rm "$dist/indgang.full"
ls -l "$dist/indgang" "$dist/indgang.debug"
