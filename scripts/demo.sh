#!/bin/sh
# `make demo`: the main job on the bundled default capture.
# Usage: scripts/demo.sh BUILD_DIR
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
pcap="$here/pcaps/mix.pcap"
[ -f "$pcap" ] || { echo "demo: $pcap is missing (run 'make pcaps')" >&2; exit 2; }

echo "== what core/ finds in $pcap, and how a sym5 balancer spreads it over 8 workers"
"$build/emulator/sluice-inspect" --hash sym5 --workers 8 "$pcap"
