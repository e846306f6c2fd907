#!/bin/sh
# bench/profile.sh [BUILD_DIR]: where the forwarding core's time goes, in
# frontend-dpdk and in dpdk-testpmd --forward-mode=io, on bench/frontend.sh's
# input and devices, from perf samples of each program's forwarding thread.
#
# Why: on a shared machine a forwarding rate swings by tens of percent from
# one run to the next (bench/frontend.sh prints how far), while the share of
# a thread's samples each library takes hardly depends on how many cycles
# the thread was given. For each program it prints the shares and
# own/pcap = (samples outside net_pcap) / (samples in net_pcap), the work
# per frame done on top of net_pcap's RX copy. If net_pcap costs the same
# per frame in both programs (bench/frontend.sh on a quiet machine is how to
# check that), the frontend forwards (1 + own_testpmd) / (1 + own_frontend)
# of testpmd's rate: the model ratio. It is an estimate to set beside the
# measured ratio, never one to quote in its place.
#
# Environment: FE_BENCH_CORES, FE_BENCH_PACKETS, FE_BENCH_MEM, FE_BENCH_HUGE,
# FE_BENCH_FE_ARGS, FE_BENCH_EAL_ARGS and TESTPMD as for bench/frontend.sh;
#   FE_PROF_ROUNDS   profiles of each program, alternating (default 3)
#   FE_PROF_SECONDS  seconds sampled in each (default 3)
#   PERF             the perf to run (default: perf on PATH; Debian: linux-perf)
# perf needs perf_event_paranoid <= 0 or root; the samples are cpu-clock
# ones, so a VM without a PMU will do.
# The last line is
#   `profile: own/pcap testpmd-io <A>, frontend <B>; model <R> x testpmd-io`.
set -eu
NAME=bench/profile
TAG=fe-prof
ROUNDS=${FE_PROF_ROUNDS:-3}
SECS=${FE_PROF_SECONDS:-3}
PERF=${PERF:-$(command -v perf || true)}
if [ -z "$PERF" ] || ! command -v "$PERF" >/dev/null; then
    echo "bench/profile: perf not found (Debian package linux-perf)" >&2
    exit 1
fi
"$PERF" stat -e cpu-clock true >/dev/null 2>&1 ||
    { echo "bench/profile: perf cannot sample here (perf_event_paranoid, or not root)" >&2; exit 1; }
# shellcheck source=bench/fe_env.sh
. "$(dirname "$0")/fe_env.sh"
cleanup() {
    [ -z "${PID:-}" ] || kill -INT "$PID" 2>/dev/null || true
    rm -rf "$T" "$(rundir)"
}
trap cleanup EXIT INT TERM

c0=$(echo "$CORES" | cut -d, -f1)
c1=$(echo "$CORES" | cut -d, -f2)
EAL="--lcores 0@$c0,1@$c1 $EAL_COMMON"

# The forwarding thread of process $1 (EAL names it rte-worker-1), once
# pattern $2 shows in log $3 (forwarding has begun); empty after 60 s.
fwd_thread() {
    i=0
    while [ "$i" -lt 600 ]; do
        if grep -q "$2" "$3" 2>/dev/null; then
            for t in /proc/"$1"/task/*; do
                if grep -qs '^rte-worker-1$' "$t/comm"; then
                    basename "$t"
                    return
                fi
            done
        fi
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
        i=$((i + 1))
    done
}

# profile NAME PID PATTERN LOG: samples the forwarding thread for SECS s
# (after one second of warm-up), prints "own pcap null other" percentages.
profile() {
    tid=$(fwd_thread "$2" "$3" "$4")
    [ -n "$tid" ] || { echo "bench/profile: $1 did not start forwarding; its log ends:" >&2; tail -5 "$4" >&2; return 1; }
    sleep 1
    "$PERF" record -q -F 1999 -t "$tid" -o "$T/$1.data" -- sleep "$SECS" >/dev/null 2>&1
    "$PERF" report -i "$T/$1.data" --no-children --sort dso --stdio 2>/dev/null |
        awk '/^ *[0-9.]+%/ { p = $1; sub("%", "", p)
                 if ($2 ~ /net_pcap/) pcap += p; else if ($2 ~ /net_null/) null += p; else other += p }
             END { printf "%.4f %.1f %.1f %.1f\n", (pcap > 0 ? (null + other) / pcap : 0), pcap, null, other }'
}

echo "bench/profile: cores $c0,$c1, $ROUNDS rounds of ${SECS}s sampled, mix of $PKTS packets, $MEMOPT${FE_ARGS:+, frontend options: $FE_ARGS}"
: >"$T/a"
: >"$T/b"
r=1
while [ "$r" -le "$ROUNDS" ]; do
    # shellcheck disable=SC2086
    "$TESTPMD" $EAL $DEVS -- --forward-mode=io --port-topology=chained --nb-cores=1 \
        --stats-period 1 --no-flush-rx --total-num-mbufs="$MBUFS" >"$T/tp.log" 2>&1 &
    PID=$!
    a=$(profile testpmd "$PID" "Rx-pps" "$T/tp.log") || exit 1
    kill -INT "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    # shellcheck disable=SC2086
    "$FE" $EAL $DEVS -- --workers 8 --output switch --hash sym5 --stats-interval 1 \
        --mbufs "$MBUFS" $FE_ARGS >"$T/fe.log" 2>&1 &
    PID=$!
    b=$(profile frontend "$PID" '"interval"' "$T/fe.log") || exit 1
    kill -INT "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=
    echo "$a" | awk -v r="$r" '{ printf "round %d: testpmd-io own/pcap %.3f (net_pcap %s%%, net_null %s%%, the rest %s%%)\n", r, $1, $2, $3, $4 }'
    echo "$b" | awk -v r="$r" '{ printf "round %d: frontend   own/pcap %.3f (net_pcap %s%%, net_null %s%%, the rest %s%%)\n", r, $1, $2, $3, $4 }'
    echo "$a" | cut -d' ' -f1 >>"$T/a"
    echo "$b" | cut -d' ' -f1 >>"$T/b"
    r=$((r + 1))
done
echo "frontend-dpdk, its last profile, by symbol (net_pcap's have no names):"
"$PERF" report -i "$T/frontend.data" --no-children --sort dso,sym --stdio 2>/dev/null |
    grep '%' | grep -v '^#' | head -15
A=$(median <"$T/a")
B=$(median <"$T/b")
awk -v a="$A" -v b="$B" 'BEGIN { printf "profile: own/pcap testpmd-io %.3f, frontend %.3f; model %.2f x testpmd-io\n", a, b, (1 + a) / (1 + b) }'
