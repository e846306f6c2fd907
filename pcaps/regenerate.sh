#!/bin/sh
# Regenerates the committed synthesized pcaps, byte for byte.
# Usage: sh pcaps/regenerate.sh SYNTH_BINARY [OUT_DIR]
#   SYNTH_BINARY  path to sluice-synth (e.g. build/emulator/sluice-synth)
#   OUT_DIR       where to write (default: this directory)
# The commands below are the record of how each file was made; README.md
# lists them too. test/e2e/synth_regen.sh runs this into a temporary
# directory and compares every file with the committed one.
set -eu

[ $# -ge 1 ] || { echo "usage: $0 SYNTH_BINARY [OUT_DIR]" >&2; exit 2; }
synth=$1
out=${2:-$(cd "$(dirname "$0")" && pwd)}
[ -x "$synth" ] || { echo "regenerate: $synth is not an executable" >&2; exit 2; }
mkdir -p "$out"

gen() {
    name=$1
    shift
    # Written aside and renamed, so an interrupted run leaves no half file.
    "$synth" "$@" -w "$out/$name.pcap.tmp"
    mv "$out/$name.pcap.tmp" "$out/$name.pcap"
}

gen web       --profile web       --seed 1 --packets 1000
gen dns       --profile dns       --seed 1 --packets 4000
gen scan      --profile scan      --seed 1 --packets 3000
gen fragments --profile fragments --seed 1 --packets 700
gen tunnels   --profile tunnels   --seed 1 --packets 1000
gen vlan      --profile vlan      --seed 1 --packets 1000
gen elephants --profile elephants --seed 1 --packets 700
gen malformed --profile malformed --seed 1 --packets 4000
gen synflood  --profile synflood  --seed 1 --packets 2500
gen mix       --profile mix       --seed 1 --packets 1200
