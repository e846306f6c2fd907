#!/bin/sh
# The committed pcaps are exactly what pcaps/regenerate.sh makes with the
# sluice-synth just built: regenerates them into a temporary directory and
# compares byte for byte. Also keeps each under 1 MB.
# Usage: sh synth_regen.sh BUILD_ROOT SOURCE_ROOT
set -u
build=$1
src=$2
synth=$build/emulator/sluice-synth
[ -x "$synth" ] || { echo "FAIL: $synth was not built"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sh "$src/pcaps/regenerate.sh" "$synth" "$tmp" || { echo "FAIL: regenerate.sh failed"; exit 1; }

fails=0
n=0
for f in "$tmp"/*.pcap; do
    name=$(basename "$f")
    n=$((n + 1))
    committed=$src/pcaps/$name
    if [ ! -f "$committed" ]; then
        echo "FAIL: pcaps/$name is not in the tree (run: make pcaps)"
        fails=$((fails + 1))
    elif ! cmp "$f" "$committed"; then
        echo "FAIL: pcaps/$name differs from what regenerate.sh makes now"
        fails=$((fails + 1))
    elif [ "$(wc -c <"$committed")" -ge 1048576 ]; then
        echo "FAIL: pcaps/$name is 1 MB or more"
        fails=$((fails + 1))
    else
        echo "ok: pcaps/$name regenerates byte-identically ($(wc -c <"$committed") bytes)"
    fi
done
[ $n -ge 10 ] || { echo "FAIL: regenerate.sh made only $n pcaps"; exit 1; }
[ $fails -eq 0 ] || exit 1
echo "all $n pcaps identical"
