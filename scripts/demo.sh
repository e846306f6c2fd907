#!/bin/sh
# `make demo`: the main job on the bundled default capture -- replay
# pcaps/mix.pcap through frontend-dpdk into the cluster of
# topologies/default.ini (offline mode, no root), compare the cluster's
# merged logs with a standalone run, and print the report.
# Usage: scripts/demo.sh BUILD_DIR
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
pcap="$here/pcaps/mix.pcap"
[ -f "$pcap" ] || { echo "demo: $pcap is missing (run 'make pcaps')" >&2; exit 2; }
ctl="$build/emulator/sluicectl"
[ -x "$ctl" ] || { echo "demo: $ctl is missing (libnl-3 / libnl-route-3 not found?)" >&2; exit 2; }
out="$build/demo"
# a run directory of our own: no root needed, no clash with a live lab
run="$out/run"

echo "== sluicectl replay topologies/default.ini pcaps/mix.pcap (offline mode)"
"$ctl" replay "$here/topologies/default.ini" "$pcap" --out "$out" --run-dir "$run"
echo "== open $out/report.html for the per-worker chart"
