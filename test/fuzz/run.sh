#!/bin/sh
# test/fuzz/run.sh [SECONDS]: fuzzes the parsers that take untrusted bytes
# with libFuzzer under ASan+UBSan, SECONDS (default 600) per target:
#   pkt   sl_pkt_decode (frames)            fuzz_pkt.c
#   wire  sl_wire_decode (cluster messages) fuzz_wire.c
#   topo  sl_ini_parse + sl_topo_parse      fuzz_topo.c
#   agree the cluster's, the lab's and frontend-dpdk's topology readers
#         agree on every worker of a file all three accept (fuzz_topo_agree.c)
#   dns   sl_dns_deliver (UDP and TCP)      fuzz_dns.c
#   ana   a worker's whole analysis (sl_ana, sl_conn, every policy
#         module) over runs of frames       fuzz_ana.c
#   lb    sl_lb over runs of frames: fragment table, held early
#         fragments, ICMP error steering    fuzz_lb.c
# FUZZ_TARGETS="wire dns" picks some (default: all, in that order).
# `make test` replays every target over its seeds (replay.sh).
#
# Builds build-fuzz (CC=clang, -Dfuzz=true, -Db_sanitize=address,undefined).
# Seeds: pkt from every frame of pcaps/*.pcap plus the pcaps named in
# FUZZ_SEEDS (space-separated paths), ana and lb from runs of their frames;
# wire and dns from fuzz_mkseed's small valid messages; topo from
# topologies/*.ini. The grown corpus of each target
# stays in build-fuzz/fuzz-corpus/TARGET between runs. A crash leaves its
# input in build-fuzz/fuzz-artifacts/TARGET/; every target still runs, and
# the script fails at the end naming those that crashed.
set -eu

secs=${1:-600}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}
targets=${FUZZ_TARGETS:-pkt wire topo agree dns ana lb}
cd "$root"

for t in $targets; do
    case $t in
    pkt | wire | topo | agree | dns | ana | lb) ;;
    *)
        echo "run.sh: unknown target '$t' (pkt wire topo agree dns ana lb)" >&2
        exit 2
        ;;
    esac
done

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
fuzzer() { if [ "$1" = agree ]; then echo fuzz_topo_agree; else echo "fuzz_$1"; fi; }
ninja_targets="test/fuzz/fuzz_seed test/fuzz/fuzz_mkseed"
for t in $targets; do
    ninja_targets="$ninja_targets test/fuzz/$(fuzzer "$t")"
done
# shellcheck disable=SC2086
ninja -C "$build" $ninja_targets

# seed_TARGET DIR: writes that target's seeds into the empty DIR.
seed_pkt() { seed_pcaps "$1"; }
seed_ana() { seed_pcaps "$1" --ana; }
seed_lb() { seed_pcaps "$1" --ana; }
# seed_pcaps DIR [--ana]: frames (or runs of them) of the seed pcaps
seed_pcaps() {
    dir=$1
    mode=${2:-}
    # shellcheck disable=SC2046,SC2086
    set -- $(ls pcaps/*.pcap 2>/dev/null || true) ${FUZZ_SEEDS:-}
    if [ $# -gt 0 ]; then
        # shellcheck disable=SC2086
        "$build/test/fuzz/fuzz_seed" $mode "$dir" "$@"
    else
        echo "run.sh: no seed pcaps (pcaps/*.pcap, FUZZ_SEEDS): starting from an empty corpus"
    fi
}
seed_wire() { "$build/test/fuzz/fuzz_mkseed" wire "$1"; }
seed_dns() { "$build/test/fuzz/fuzz_mkseed" dns "$1"; }
seed_agree() { seed_topo "$1"; }
seed_topo() {
    for f in topologies/*.ini; do
        [ -f "$f" ] && cp "$f" "$1/"
    done
    return 0
}

failed=
for t in $targets; do
    corpus=$build/fuzz-corpus/$t
    seeds=$build/fuzz-seeds/$t
    arts=$build/fuzz-artifacts/$t
    rm -rf "$seeds"
    mkdir -p "$corpus" "$seeds" "$arts"
    "seed_$t" "$seeds"
    case $t in
    wire | topo | agree) maxlen=8192 ;;
    ana | lb) maxlen=16384 ;;
    *) maxlen=4096 ;;
    esac
    echo "run.sh: fuzzing $t for ${secs}s"
    if ! ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1} \
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
        "$build/test/fuzz/$(fuzzer "$t")" -max_total_time="$secs" -max_len=$maxlen -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$arts/" "$corpus" "$seeds"; then
        echo "run.sh: $t: crash or failure, input in $arts/" >&2
        failed="$failed $t"
    fi
done
if [ -n "$failed" ]; then
    echo "run.sh: failed:$failed" >&2
    exit 1
fi
