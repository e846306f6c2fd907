#!/bin/sh
# sluice-synth streams: its peak memory does not grow with the packet count.
# Compares the maximum RSS of a 100k-packet and a 1M-packet mix (written to
# /dev/null); the larger run may use at most 1.5 times the smaller's.
# Usage: sh synth_memory.sh BUILD_ROOT SOURCE_ROOT
set -u
build=$1
synth=$build/emulator/sluice-synth
[ -x "$synth" ] || { echo "FAIL: $synth was not built"; exit 1; }
[ -x /usr/bin/time ] || { echo "SKIP: /usr/bin/time missing (package 'time', in scripts/install-deps.sh)"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# rss N: peak RSS in KB of a run of N packets; empty when the run failed.
rss() {
    if /usr/bin/time -o "$tmp/time" -f '%M' "$synth" --profile mix --seed 5 --packets "$1" \
        -w /dev/null 2>"$tmp/err" && ! [ -s "$tmp/err" ]; then
        tail -n 1 "$tmp/time"
    else
        cat "$tmp/err" >&2
    fi
}
small=$(rss 100000)
large=$(rss 1000000)
echo "max RSS: 100k packets $small KB, 1M packets $large KB"
[ -n "$small" ] && [ -n "$large" ] || { echo "FAIL: no RSS measured"; exit 1; }
if [ $((large * 2)) -gt $((small * 3)) ]; then
    echo "FAIL: memory grows with the packet count"
    exit 1
fi
echo "ok: flat memory"
