#!/bin/sh
# bench/cluster: what the cluster transport costs. On one synthesized mix
# (at least a million packets), in the same run:
#   standalone                          the reference wall time
#   local-cluster, 1, 2 and 4 workers   wall time, split into the split of
#                                       the pcap (the balancer's work, done
#                                       before any node starts) and the
#                                       cluster's own run
# and the records that went through the loggers. Not a timed test: the
# numbers depend on the machine (the workers share its cores).
# Last line: cluster: <X> records/s through the loggers, <R> x standalone
# wall time at 1 worker (R counts the cluster's run, without the split).
# Usage: sh bench/cluster.sh BUILD_DIR [MIX.pcap]
set -eu

BUILD=${1:-build}
NODE="$BUILD/cluster/sluice-node"
[ -x "$NODE" ] || { echo "bench/cluster: $NODE not built" >&2; exit 1; }
WORK=$(mktemp -d "${BENCH_TMP:-/tmp}/sluice-bench-cluster.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
MIX=${2:-}
if [ -z "$MIX" ]; then
    MIX=$WORK/mix.pcap
    "$BUILD/emulator/sluice-synth" --profile mix --seed 1 --packets 1000000 -w "$MIX" >/dev/null
fi

now() { date +%s.%N; }
sec() { awk -v a="$1" -v b="$2" 'BEGIN { print b - a }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { print a / b }'; }

mkdir -p "$WORK/sa"
t0=$(now)
"$NODE" standalone -r "$MIX" -C --seed 1 --log-dir "$WORK/sa" 2>"$WORK/sa.err"
t1=$(now)
sa=$(sec "$t0" "$t1")
pkts=$(sed -n 's/.*standalone: \([0-9]*\) packets.*/\1/p' "$WORK/sa.err")
printf 'standalone: %d packets in %.2f s (%.0f packets/s)\n' "$pkts" "$sa" "$(div "$pkts" "$sa")"

r1=0
x=0
for n in 1 2 4; do
    out="$WORK/c$n"
    t0=$(now)
    "$NODE" local-cluster --workers "$n" --proxies 1 --loggers 1 -r "$MIX" -C --seed 1 \
        --log-dir "$out" --hb-interval 0.05 2>"$out.err" || { cat "$out.err"; exit 1; }
    t1=$(now)
    total=$(sec "$t0" "$t1")
    # the split ends when the run directory gets its node logs
    split=$(sed -n 's/.*split \([0-9]*\) packets.*/\1/p' "$out.err")
    run=$(sed -n 's/.*done in \([0-9.]*\) s.*/\1/p' "$out.err")
    recs=$(sed -n 's/.*; \([0-9]*\) in the merged logs.*/\1/p' "$out.err")
    printf 'local-cluster %d worker(s): %.2f s wall (%.2f s splitting %d packets, %.2f s the cluster), %d records through the logger: %.0f records/s\n' \
        "$n" "$total" "$(sec "$run" "$total")" "$split" "$run" "$recs" "$(div "$recs" "$run")"
    [ "$n" -eq 1 ] && r1=$(div "$run" "$sa")
    x=$(div "$recs" "$run")
done
printf 'cluster: %.0f records/s through the loggers, %.2f x standalone wall time at 1 worker\n' "$x" "$r1"
