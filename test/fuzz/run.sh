#!/bin/sh
# test/fuzz/run.sh [SECONDS]: fuzzes the frame decoder (sl_pkt) with
# libFuzzer under ASan+UBSan for SECONDS (default 600).
#
# Builds build-fuzz (CC=clang, -Dfuzz=true, -Db_sanitize=address,undefined),
# seeds from every frame of pcaps/*.pcap plus the pcaps named in FUZZ_SEEDS
# (space-separated paths), and keeps the grown corpus in
# build-fuzz/fuzz-corpus/pkt between runs. A crash leaves its input in
# build-fuzz/fuzz-artifacts/ and makes this script fail.
set -eu

secs=${1:-600}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}
cd "$root"

if ! command -v clang >/dev/null 2>&1; then
    echo "run.sh: clang is needed for libFuzzer (apt-get install clang)" >&2
    exit 1
fi

opts="-Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized"
if [ -f "$build/build.ninja" ]; then
    # shellcheck disable=SC2086
    meson configure "$build" $opts >/dev/null
else
    # shellcheck disable=SC2086
    CC=clang meson setup "$build" $opts
fi
ninja -C "$build" test/fuzz/fuzz_pkt test/fuzz/fuzz_seed

corpus=$build/fuzz-corpus/pkt
seeds=$build/fuzz-seeds
arts=$build/fuzz-artifacts
rm -rf "$seeds"
mkdir -p "$corpus" "$seeds" "$arts"

set -- $(ls pcaps/*.pcap 2>/dev/null || true) ${FUZZ_SEEDS:-}
if [ $# -gt 0 ]; then
    "$build/test/fuzz/fuzz_seed" "$seeds" "$@"
else
    echo "run.sh: no seed pcaps (pcaps/*.pcap, FUZZ_SEEDS): starting from an empty corpus"
fi

echo "run.sh: fuzzing sl_pkt for ${secs}s"
ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
    "$build/test/fuzz/fuzz_pkt" -max_total_time="$secs" -max_len=4096 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$arts/" "$corpus" "$seeds"
