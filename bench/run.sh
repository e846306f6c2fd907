#!/bin/sh
# make bench: runs every benchmark in bench/ over one synthesized mix.
# Usage: sh bench/run.sh BUILD_DIR
# Each benchmark prints its own reference measured in the same run and ends
# with one summary line. Add a benchmark by adding a line at the end.
set -eu

BUILD=${1:-build}
if [ ! -x "$BUILD/emulator/sluice-synth" ]; then
    echo "bench: $BUILD/emulator/sluice-synth not built (run make build first)" >&2
    exit 1
fi

# The mix is ~1.3 GB: keep it in BENCH_TMP (default: a fresh dir under /tmp).
WORK=$(mktemp -d "${BENCH_TMP:-/tmp}/sluice-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
MIX=$WORK/mix.pcap
"$BUILD/emulator/sluice-synth" --profile mix --seed 1 --packets 2000000 -w "$MIX"

echo "== decode"
"$BUILD/bench/decode" "$MIX"

echo "== frontend"
if [ -x "$BUILD/frontend/frontend-dpdk" ]; then
    sh "$(dirname "$0")/frontend.sh" "$BUILD"
    echo "== frontend profile"
    # perf may be missing or barred from sampling: the profile says why and
    # the other benchmarks still run
    sh "$(dirname "$0")/profile.sh" "$BUILD" || echo "profile: skipped (see above)"
else
    echo "frontend: skipped, frontend-dpdk not built (libdpdk-dev missing)"
fi

echo "== worker"; sh "$(dirname "$0")/worker.sh" "$BUILD" "$MIX"
echo "== cluster"; sh "$(dirname "$0")/cluster.sh" "$BUILD" "$MIX"
