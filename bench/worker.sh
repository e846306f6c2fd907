#!/bin/sh
# bench/worker: offline throughput of one worker's analysis (sluice-node standalone) on one
# core, with argus (`argus -r FILE -w out`) and tshark's TCP conversation table
# (`tshark -q -z conv,tcp -r FILE`) measured in the same run as references.
#
# Usage: sh bench/worker.sh BUILD_DIR [PCAP]
#   Without PCAP, a mix of BENCH_PACKETS packets (default 2000000, seed BENCH_SEED = 1) is
#   synthesized once and cached under BUILD_DIR/bench/, keyed by its arguments and by the
#   synthesizer binary (a changed synthesizer may write different bytes).
#   BENCH_REPS (default 3) runs of each tool, alternated (A B C A B C ...) because the machine
#   is noisy; medians are quoted.
#
# Every figure is per CPU second (user+sys of the tool, from /usr/bin/time), not per wall
# second: argus pads its wall time with a one-second timer, and other jobs share the machine.
# Mbps counts wire length (the pcap's orig_len), so a snaplen does not flatter anyone.
# Last line: `worker: <X> Mbps/core, <R> x argus` (R is 'n/a' when argus is unavailable).
set -eu

BUILD=${1:?usage: sh bench/worker.sh BUILD_DIR [PCAP]}
PCAP=${2:-}
PACKETS=${BENCH_PACKETS:-2000000}
SEED=${BENCH_SEED:-1}
REPS=${BENCH_REPS:-3}
SRC=$(cd "$(dirname "$0")/.." && pwd)
NODE=$BUILD/cluster/sluice-node
SYNTH=$BUILD/emulator/sluice-synth

die() {
    echo "worker: $*" >&2
    exit 1
}

[ -x "$NODE" ] || die "$NODE not built (run make build first)"
[ -x /usr/bin/time ] || die "/usr/bin/time missing (Debian package 'time')"

# The references are optional: without them sluice's figure still stands, with R = n/a.
# NOTES collects what the table must say about missing references.
NOTES=""
sh "$SRC/scripts/install-deps.sh" bench ||
    NOTES="${NOTES}worker: could not install the reference tools (argus-server, tshark)
"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sluice-worker.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

# Packets and wire bytes of a classic pcap, read from the record headers alone (independent
# of every tool measured here).
pcap_size() {
    python3 - "$1" <<'EOF'
import struct, sys
with open(sys.argv[1], 'rb') as f:
    head = f.read(24)
    if len(head) < 24:
        sys.exit('short pcap header')
    magic = struct.unpack('<I', head[:4])[0]
    if magic in (0xa1b2c3d4, 0xa1b23c4d):
        rec = struct.Struct('<IIII')
    elif magic in (0xd4c3b2a1, 0x4d3cb2a1):
        rec = struct.Struct('>IIII')
    else:
        sys.exit('not a classic pcap (pcapng is not supported here)')
    pkts = wire = 0
    while True:
        h = f.read(16)
        if len(h) < 16:
            break
        _, _, incl, orig = rec.unpack(h)
        pkts += 1
        wire += orig
        f.seek(incl, 1)
print(pkts, wire)
EOF
}

if [ -n "$PCAP" ]; then
    [ -r "$PCAP" ] || die "cannot read $PCAP"
    MIX=$PCAP
    SIZE=$TMP/mix.size
else
    [ -x "$SYNTH" ] || die "$SYNTH not built (run make build first)"
    CACHE=$BUILD/bench
    mkdir -p "$CACHE"
    tag=$(cksum <"$SYNTH" | cut -d' ' -f1)
    MIX=$CACHE/worker-mix-s$SEED-p$PACKETS-$tag.pcap
    SIZE=$MIX.size
    if [ ! -s "$MIX" ] || [ ! -s "$SIZE" ]; then
        # One cached mix at a time: each is over a gigabyte.
        rm -f "$CACHE"/worker-mix-*.pcap "$CACHE"/worker-mix-*.pcap.size
        echo "worker: synthesizing $PACKETS packets (mix, seed $SEED) into $MIX" >&2
        "$SYNTH" --profile mix --seed "$SEED" --packets "$PACKETS" -w "$MIX.part"
        pcap_size "$MIX.part" >"$SIZE.part"
        mv "$MIX.part" "$MIX"
        mv "$SIZE.part" "$SIZE"
    fi
fi
[ -s "$SIZE" ] || pcap_size "$MIX" >"$SIZE"
read -r NPKTS WIRE <"$SIZE"
[ "$NPKTS" -gt 0 ] || die "$MIX holds no packets"

TASKSET=""
if command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null; then
    TASKSET="taskset -c 0"
fi

TOOLS="sluice"
for t in argus tshark; do
    if command -v "$t" >/dev/null 2>&1; then
        TOOLS="$TOOLS $t"
    else
        NOTES="${NOTES}worker: $t not installed: no $t reference in this run
"
    fi
done

# run_tool TOOL N: one timed run; appends "TOOL cpu_s wall_s rss_kib" to $TMP/runs.
run_tool() {
    out=$TMP/out.$1
    rm -rf "$out"
    mkdir "$out"
    case $1 in
        sluice) set -- "$1" "$2" "$NODE" standalone -r "$MIX" --log-dir "$out" ;;
        argus) set -- "$1" "$2" argus -r "$MIX" -w "$out/argus.out" ;;
        tshark) set -- "$1" "$2" tshark -q -z conv,tcp -r "$MIX" ;;
    esac
    tool=$1
    shift 2
    # shellcheck disable=SC2086
    if ! $TASKSET /usr/bin/time -f '%U %S %e %M' -o "$TMP/time" "$@" >"$out/stdout" \
        2>"$out/stderr"; then
        echo "worker: $tool failed:" >&2
        tail -n 5 "$out/stderr" >&2
        return 1
    fi
    case $tool in
        sluice)
            # A run that stopped early would give a flattering figure.
            n=$(sed -n 's/.*: \([0-9][0-9]*\) packets,.*/\1/p' "$out/stderr" | tail -n 1)
            [ "$n" = "$NPKTS" ] || {
                echo "worker: sluice read ${n:-?} packets of $NPKTS" >&2
                return 1
            }
            [ -s "$out/conn.log" ] || { echo "worker: sluice wrote no conn.log" >&2; return 1; }
            ;;
        argus) [ -s "$out/argus.out" ] || { echo "worker: argus wrote nothing" >&2; return 1; } ;;
        tshark) grep -q 'TCP Conversations' "$out/stdout" ||
            { echo "worker: tshark printed no conversation table" >&2; return 1; } ;;
    esac
    awk -v t="$tool" 'END { printf "%s %.3f %.3f %d\n", t, $1 + $2, $3, $4 }' "$TMP/time" \
        >>"$TMP/runs"
    rm -rf "$out"
}

median() {
    sort -n | awk '{ v[NR] = $1 } END {
        if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2];
        else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Read the capture once so that the first run does not pay for the disk.
cat "$MIX" >/dev/null
: >"$TMP/runs"
i=1
while [ "$i" -le "$REPS" ]; do
    ok=""
    for t in $TOOLS; do
        if run_tool "$t" "$i"; then
            ok="$ok $t"
        elif [ "$t" = sluice ]; then
            die "sluice-node standalone failed on $MIX"
        else
            NOTES="${NOTES}worker: $t failed in run $i: its reference is dropped
"
        fi
    done
    TOOLS=${ok# }
    i=$((i + 1))
done

echo "worker: $NPKTS packets, $WIRE wire bytes ($((WIRE / NPKTS)) B/packet) in $MIX"
echo "worker: ${TASKSET:-no taskset}; $REPS runs each, medians; per core = per CPU second (user+sys)"
printf '%s' "$NOTES"
printf '%-8s %4s %9s %13s %9s %12s %11s %10s\n' tool runs cpu_s cpu_min-max wall_s \
    kpkt/s/core Mbps/core peak_MiB
for t in $TOOLS; do
    cpu=$(awk -v t="$t" '$1 == t { print $2 }' "$TMP/runs" | median)
    wall=$(awk -v t="$t" '$1 == t { print $3 }' "$TMP/runs" | median)
    rss=$(awk -v t="$t" '$1 == t { print $4 }' "$TMP/runs" | median)
    runs=$(awk -v t="$t" '$1 == t { n++ } END { print n + 0 }' "$TMP/runs")
    range=$(awk -v t="$t" '$1 == t { if (!n++ || $2 < lo) lo = $2; if ($2 > hi) hi = $2 }
        END { printf "%.2f-%.2f", lo, hi }' "$TMP/runs")
    awk -v t="$t" -v n="$runs" -v c="$cpu" -v g="$range" -v w="$wall" -v r="$rss" \
        -v p="$NPKTS" -v b="$WIRE" 'BEGIN {
        if (c <= 0) c = 0.001
        printf "%-8s %4d %9.2f %13s %9.2f %12.0f %11.0f %10.1f\n", t, n, c, g, w,
            p / c / 1e3, b * 8 / c / 1e6, r / 1024 }'
    awk -v t="$t" -v c="$cpu" -v b="$WIRE" 'BEGIN {
        if (c <= 0) c = 0.001
        printf "%s %.6f\n", t, b * 8 / c / 1e6 }' >>"$TMP/mbps"
done

X=$(awk '$1 == "sluice" { print $2 }' "$TMP/mbps")
A=$(awk '$1 == "argus" { print $2 }' "$TMP/mbps")
if [ -n "$A" ]; then
    R=$(awk -v x="$X" -v a="$A" 'BEGIN { printf "%.2f", x / a }')
else
    R="n/a"
fi
printf 'worker: %.0f Mbps/core, %s x argus\n' "$X" "$R"
