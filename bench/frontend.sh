#!/bin/sh
# bench/frontend.sh [BUILD_DIR]: frontend-dpdk's forwarding rate against
# dpdk-testpmd --forward-mode=io on the same cores and the same devices.
#
# Input: net_pcap with infinite_rx=1 over a synthesized mix (the whole file
# is held in mbufs and replayed forever); outputs: two net_null ports with
# no-rx=1 (without no-rx a null port makes packets of its own). Both
# programs get one forwarding lcore; rounds alternate testpmd, frontend,
# testpmd, frontend, ... (this machine is noisy) and each side's figure is
# the median over rounds of the median per-second input rate (the first
# second of each run is warm-up and skipped; the ratio of the two medians
# is the result, and the median and range of the per-round ratios show how
# much a single round can be trusted; each round also says how much time
# the hypervisor took from the forwarding CPU, where /proc/stat counts it:
# a round that lost some measured the neighbours). frontend-dpdk runs as the
# product does: 8 workers, switch output, sym5, flow counting on. Then
# frontend-dpdk alone with each forwarding-lcore count of FE_BENCH_SCALE
# (one RX queue per lcore: the file given to net_pcap that many times).
#
# Environment:
#   FE_BENCH_CORES    CPU list, main lcore first (default 0,1,2 or 0,1 on
#                     two CPUs); lcores wrap around a short list, sharing CPUs
#   FE_BENCH_ROUNDS   A/B rounds (default 3)
#   FE_BENCH_SECONDS  seconds per run (default 5)
#   FE_BENCH_PACKETS  packets in the synthesized mix (default 32768)
#   FE_BENCH_MEM      MB of memory for EAL -m (default 1536)
#   FE_BENCH_HUGE     1: both programs on hugepages (2 MB pages mounted,
#                     FE_BENCH_MEM of them free); default: --no-huge
#   FE_BENCH_FE_ARGS  extra frontend-dpdk options (e.g. --no-flow-count)
#   FE_BENCH_EAL_ARGS extra EAL options for both programs (e.g. -d PMD_DIR)
#   FE_BENCH_SCALE    forwarding-lcore counts for the scaling lines (default "2")
#   TESTPMD           the dpdk-testpmd to run (default: the one on PATH)
# The last line is `frontend: <X> Mpps, <R> x testpmd-io`.
set -eu
NAME=bench/frontend
TAG=fe-bench
ROUNDS=${FE_BENCH_ROUNDS:-3}
SECS=${FE_BENCH_SECONDS:-5}
# shellcheck source=bench/fe_env.sh
. "$(dirname "$0")/fe_env.sh"

# lcores N: "--lcores 0@c0,1@c1,...,N@cN" over $CORES, wrapping around
lcores() {
    echo "$CORES" | awk -F, -v n="$1" '{
        s = ""
        for (i = 0; i <= n; i++) s = s (i ? "," : "") i "@" $((i % NF) + 1)
        print "--lcores " s
    }'
}
ncores=$(echo "$CORES" | awk -F, '{print NF}')

# testpmd io, one forwarding lcore: per-second Rx-pps of port 0. It runs
# until stopped; start-up (loading the pcap) takes a while on a busy machine,
# so it is stopped once it has printed as many non-zero samples as the
# frontend gives (with time to spare before the timeout in case it never
# does), and the first is skipped as warm-up, as the frontend's is.
tp_samples() {
    awk '/NIC statistics for port/ { port = $6 }
         /Rx-pps:/ && port == 0 && $2 > 0 { print $2 }' "$T/tp.log"
}
run_testpmd() {
    : >"$T/tp.log" # the background job opens it only later
    # shellcheck disable=SC2046,SC2086
    timeout -s INT "$((SECS + 30))" "$TESTPMD" $(lcores 1) $EAL_COMMON \
        --vdev "net_pcap0,rx_pcap=$T/mix.pcap,infinite_rx=1" $NULLS -- \
        --forward-mode=io --port-topology=chained --nb-cores=1 --stats-period 1 \
        --no-flush-rx --total-num-mbufs="$MBUFS" >"$T/tp.log" 2>&1 &
    tp=$!
    while kill -0 "$tp" 2>/dev/null && [ "$(tp_samples | wc -l)" -lt "$SECS" ]; do
        sleep 0.2
    done
    kill -INT "$tp" 2>/dev/null || true
    wait "$tp" || true
    tp_samples | awk -v n="$SECS" 'NR > 1 && NR <= n' | median
}

# frontend-dpdk with N forwarding lcores: per-second input rate
run_frontend() {
    n=$1
    rx="rx_pcap=$T/mix.pcap"
    i=2
    while [ "$i" -le "$n" ]; do rx="$rx,rx_pcap=$T/mix.pcap"; i=$((i + 1)); done
    # shellcheck disable=SC2046,SC2086
    "$FE" $(lcores "$n") $EAL_COMMON --vdev "net_pcap0,$rx,infinite_rx=1" $NULLS -- \
        --workers 8 --output switch --hash sym5 --stats-interval 1 --time "$SECS" \
        --mbufs "$((PKTS * (n + 1) + 32768))" $FE_ARGS >"$T/fe.log" 2>"$T/fe.err" || { cat "$T/fe.err" >&2; echo 0; return; }
    python3 - "$T/fe.log" <<'EOF' | median
import json, sys
iv = [json.loads(l) for l in open(sys.argv[1]) if '"interval"' in l]
for d in iv[1:]:
    print(d.get("interval_pps", 0))
EOF
}

mpps() { awk -v x="$1" 'BEGIN { printf "%.2f", x / 1e6 }'; }

# Steal: time the hypervisor gave CPU $1 to someone else, from /proc/stat
# ("STEAL TOTAL" in ticks; empty where there is no such line). A round
# whose forwarding CPU lost time this way measured the neighbours too.
cpustat() { awk -v c="cpu$1" '$1 == c && NF >= 9 { t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t }' /proc/stat 2>/dev/null || true; }
steal_pct() { [ -n "$1" ] && [ -n "$2" ] && echo "$1 $2" | awk '{ d = $4 - $2; x = d > 0 ? 100 * ($3 - $1) / d : 0; printf "%.1f", x }'; }
FWD_CPU=$(echo "$CORES" | awk -F, '{ print (NF > 1 ? $2 : $1) }')

echo "bench/frontend: cores $CORES ($(nproc) CPUs here), $ROUNDS rounds of ${SECS}s, mix of $PKTS packets, $MEMOPT${FE_ARGS:+, frontend options: $FE_ARGS}"
[ "$ncores" -ge 3 ] || echo "bench/frontend: note: fewer than 3 CPUs listed; with 2 forwarding lcores lcores share CPUs"
: >"$T/a"
: >"$T/b"
: >"$T/r"
: >"$T/steal"
r=1
while [ "$r" -le "$ROUNDS" ]; do
    s0=$(cpustat "$FWD_CPU")
    a=$(run_testpmd)
    [ "$a" != 0 ] || { echo "testpmd measured nothing; its log ends:" >&2; tail -5 "$T/tp.log" >&2; }
    s1=$(cpustat "$FWD_CPU")
    b=$(run_frontend 1)
    s2=$(cpustat "$FWD_CPU")
    sa=$(steal_pct "$s0" "$s1" || true)
    sb=$(steal_pct "$s1" "$s2" || true)
    echo "round $r: testpmd-io $(mpps "$a") Mpps, frontend $(mpps "$b") Mpps${sa:+ (CPU $FWD_CPU stolen: $sa%, $sb%)}"
    [ -z "$sa" ] || echo "$sa $sb" >>"$T/steal"
    # a run that measured nothing (failed start) does not count
    [ "$a" = 0 ] || echo "$a" >>"$T/a"
    [ "$b" = 0 ] || echo "$b" >>"$T/b"
    [ "$a" = 0 ] || [ "$b" = 0 ] || awk -v a="$a" -v b="$b" 'BEGIN { print b / a }' >>"$T/r"
    r=$((r + 1))
done
A=$(median <"$T/a")
B=$(median <"$T/b")
echo "testpmd-io, 1 forwarding lcore: $(mpps "$A") Mpps (median)"
echo "frontend-dpdk, 1 forwarding lcore (8 workers, switch, sym5): $(mpps "$B") Mpps (median)"
# The spread of the paired (same-round) ratios says how far to trust the
# last line on this machine: a difference inside it is noise.
sort -g "$T/r" | awk -v m="$(median <"$T/r")" '{ a[NR] = $1 } END {
    if (NR) printf "per-round ratio: median %.2f, range %.2f-%.2f over %d rounds\n", m, a[1], a[NR], NR }'
# The reference alone shows how much the machine moved between rounds
# (within 20% on this project's 2-core VM, 2x on a shared 16-core one).
sort -g "$T/a" | awk '{ a[NR] = $1 } END {
    if (NR < 2 || a[1] <= 0) exit
    x = a[NR] / a[1]
    printf "testpmd-io alone: %.2f-%.2f Mpps between rounds (max/min %.2f)\n", a[1] / 1e6, a[NR] / 1e6, x
    if (x > 1.25) print "bench/frontend: warning: testpmd alone moved by more than 25% between rounds: the neighbours, not the programs, set these rates; the ratio needs a quieter machine (the per-round median is the steadier figure here)" }'
[ ! -s "$T/steal" ] || awk '{ a += $1; b += $2 } END {
    printf "time stolen from the forwarding CPU by the hypervisor: %.1f%% in testpmd runs, %.1f%% in frontend runs (mean)\n", a / NR, b / NR }' "$T/steal"
for n in ${FE_BENCH_SCALE:-2}; do
    echo "frontend-dpdk, $n forwarding lcores: $(mpps "$(run_frontend "$n")") Mpps"
done
echo "frontend: $(mpps "$B") Mpps, $(awk -v a="$A" -v b="$B" 'BEGIN { printf "%.2f", (a > 0 ? b / a : 0) }') x testpmd-io"
