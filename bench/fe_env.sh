# shellcheck shell=sh disable=SC2034
# bench/fe_env.sh: what bench/frontend.sh and bench/profile.sh share, sourced
# by both after setting NAME (for messages) and TAG (for temporary names):
# the programs, the FE_BENCH_* settings, a scratch dir $T with the
# synthesized mix in $T/mix.pcap, EAL's options and the devices, median().
# Sets: BUILD FE SYNTH TESTPMD CORES PKTS MEM FE_ARGS T PREFIX MBUFS MEMOPT
# EAL_COMMON (without --lcores) NULLS (the two output ports) DEVS (input and
# outputs).
BUILD=${1:-build}
FE="$BUILD/frontend/frontend-dpdk"
SYNTH="$BUILD/emulator/sluice-synth"
TESTPMD=${TESTPMD:-$(command -v dpdk-testpmd || true)}
if [ "$(nproc)" -ge 3 ]; then CORES=${FE_BENCH_CORES:-0,1,2}; else CORES=${FE_BENCH_CORES:-0,1}; fi
PKTS=${FE_BENCH_PACKETS:-32768}
MEM=${FE_BENCH_MEM:-1536}
FE_ARGS=${FE_BENCH_FE_ARGS:-}

for b in "$FE" "$SYNTH"; do
    [ -x "$b" ] || { echo "$NAME: $b not built" >&2; exit 1; }
done
[ -n "$TESTPMD" ] || { echo "$NAME: dpdk-testpmd not found (Debian package dpdk-dev)" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/$TAG.XXXXXX")
PREFIX="$TAG-$$"
rundir() { if [ "$(id -u)" -eq 0 ]; then echo "/var/run/dpdk/$PREFIX"; else echo "${XDG_RUNTIME_DIR:-/tmp}/dpdk/$PREFIX"; fi; }
trap 'rm -rf "$T" "$(rundir)"' EXIT INT TERM

"$SYNTH" --profile mix --seed 1 --packets "$PKTS" -w "$T/mix.pcap"
MBUFS=$((PKTS * 2 + 32768))
# Hugepages: EAL maps them and unlinks the files at once, so a killed run
# leaves none behind in hugetlbfs.
if [ "${FE_BENCH_HUGE:-0}" = 1 ]; then MEMOPT="--huge-unlink"; else MEMOPT="--no-huge"; fi
EAL_COMMON="$MEMOPT -m $MEM --no-pci --no-shconf --file-prefix $PREFIX --log-level=*:warning ${FE_BENCH_EAL_ARGS:-}"
NULLS="--vdev net_null0,no-rx=1 --vdev net_null1,no-rx=1"
DEVS="--vdev net_pcap0,rx_pcap=$T/mix.pcap,infinite_rx=1 $NULLS"

# median of the numbers on stdin
median() {
    sort -g | awk '{a[NR] = $1} END { if (NR == 0) print 0; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
