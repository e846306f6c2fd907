#!/bin/sh
# test/fuzz/replay.sh BUILD SRC: every fuzz target's checks over seeds made
# from the project's own inputs (test 'fuzz_replay'): pkt over every frame
# of pcaps/*.pcap, ana and lb over runs of those frames, wire and dns over
# fuzz_mkseed's messages, topo and topo_agree over topologies/*.ini. Where
# ../shared/zeek-conformance is there (next to the source root), its real
# traces are added to the pcaps. A failed check names its input (replay.c)
# and fails the test.
set -eu
build=$1
src=$2
fz=$build/test/fuzz
T=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-replay.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
mkdir "$T/pkt" "$T/runs" "$T/wire" "$T/dns" "$T/topo"
set -- "$src"/pcaps/*.pcap
[ -f "$1" ] || { echo "replay.sh: no pcaps in $src/pcaps" >&2; exit 1; }
traces="$src/../shared/zeek-conformance/traces"
if [ -d "$traces" ]; then
    set -- "$@" "$traces"/*
else
    echo "replay.sh: note: $traces is absent; seeding from pcaps/ only"
fi
"$fz/fuzz_seed" "$T/pkt" "$@"
"$fz/fuzz_seed" --ana "$T/runs" "$@"
"$fz/fuzz_mkseed" wire "$T/wire"
"$fz/fuzz_mkseed" dns "$T/dns"
cp "$src"/topologies/*.ini "$T/topo/"
# replay NAME DIR: fails unless it ran at least one input and every check held
replay() {
    "$fz/replay_$1" "$2" >"$T/out" 2>&1 || { cat "$T/out" >&2; echo "replay.sh: $1 failed" >&2; exit 1; }
    cat "$T/out"
    n=$(awk '/ inputs$/ { n = $(NF - 1) } END { print n }' "$T/out")
    [ "${n:-0}" -gt 0 ] || { echo "replay.sh: $1 ran no input" >&2; exit 1; }
}
replay pkt "$T/pkt"
replay ana "$T/runs"
replay lb "$T/runs"
replay wire "$T/wire"
replay dns "$T/dns"
replay topo "$T/topo"
replay topo_agree "$T/topo"
echo "replay.sh: every target's checks held"
