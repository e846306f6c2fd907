#!/bin/sh
# Bad arguments, unknown ports, more workers than MACs, unreadable or
# non-Ethernet pcaps, bad topology files: each gives exactly one
# "frontend-dpdk: error:" line naming the problem, a non-zero exit, no summary
# on stdout and no output written. --help prints the usage and exits 0.
set -eu
BUILD=$1
SRC=$2
. "$SRC/test/e2e/frontend_lib.sh"
fe_setup

pcap="$T/dns.pcap"
"$FE_SYNTH" --profile dns --packets 200 -w "$pcap" || fe_fail synth
printf 'not a pcap\n' >"$T/garbage.pcap"
# a raw-IP (DLT 101) pcap with one record
python3 -c "
import struct
ip = bytes([0x45,0,0,20,0,0,0,0,64,17,0,0,10,0,0,1,10,0,0,2])
open('$T/raw.pcap','wb').write(struct.pack('<IHHiIII',0xa1b2c3d4,2,4,0,0,65535,101)
    + struct.pack('<IIII',1,0,len(ip),len(ip)) + ip)"
printf '[frontend]\nhash = sym5\n[worker-1]\ntype = worker\nmac = 02:00:00:00:00:zz\n' >"$T/badmac.ini"
printf '[frontend]\nhash sym5\n' >"$T/syntax.ini"
printf '[frontend]\noutput = sideways\n' >"$T/badout.ini"
printf '[w1]\ntype = worker\nport = 3\n' >"$T/badport.ini"

n=0
# expect_error "WHAT MUST BE IN THE MESSAGE" EAL_ARGS -- APP_ARGS
expect_error() {
    want=$1
    shift
    n=$((n + 1))
    rm -rf "$T/o"
    set +e
    # shellcheck disable=SC2086,SC2046
    "$FE_BIN" "$@" >"$T/out.json" 2>"$T/err.txt"
    rc=$?
    set -e
    lines=$(grep -c 'frontend-dpdk: error:' "$T/err.txt" || true)
    if [ "$rc" -eq 0 ] || [ "$lines" -ne 1 ] || ! grep -q -- "$want" "$T/err.txt"; then
        echo "case $n: exit $rc, $lines error lines, wanted '$want':"
        cat "$T/err.txt"
        exit 1
    fi
    [ ! -s "$T/out.json" ] || fe_fail "case $n printed on stdout: $(head -c 300 "$T/out.json")"
    [ ! -e "$T/o" ] || fe_fail "case $n wrote $T/o"
}

E="-l 0-1 --no-huge -m 256 --no-pci --no-shconf --file-prefix $FE_PREFIX --log-level=*:warning"
V="--vdev net_pcap0,rx_pcap=$pcap"
O="--write-pcaps $T/o"
# shellcheck disable=SC2086
{
expect_error "bad worker count '0'" $E $V -- $O --workers 0
expect_error "unknown hash mode 'sym9'" $E $V -- $O --hash sym9
expect_error "bad rate '10Q'" $E $V -- $O --link-rate 10Q
expect_error "unknown option '--bogus'" $E $V -- $O --bogus
expect_error "needs a value" $E $V -- $O --workers
expect_error "unknown output 'sideways'" $E $V -- $O --output sideways
expect_error "bad pace" $E $V -- $O --pace fast
expect_error "8 workers but only 2 worker MACs" $E $V -- $O --workers 8 \
    --worker-mac 02:00:00:00:00:01,02:00:00:00:00:02
expect_error "bad MAC '02:00:00:00:00'" $E $V -- $O --worker-mac 02:00:00:00:00
expect_error "same MAC" $E $V -- $O --worker-mac 02:00:00:00:00:01,02:00:00:00:00:01
expect_error "--down 9: only 4 workers" $E $V -- $O --workers 4 --down 9
expect_error "--wait-start needs --ctl" $E $V -- $O --wait-start
expect_error "unexpected argument 'extra'" $E $V -- $O extra
expect_error "unknown port 5" $E $V -- $O --in-ports 5
expect_error "port 3 is not an output port" $E $V --vdev net_null0,no-rx=1 -- --link-rate 3=1G
expect_error "no output ports" $E $V -- --output direct
expect_error "cannot read pcap /nonexistent/x.pcap" $E --vdev net_pcap0,rx_pcap=/nonexistent/x.pcap -- $O
expect_error "cannot read pcap $T/garbage.pcap" $E --vdev net_pcap0,rx_pcap=$T/garbage.pcap -- $O
expect_error "link type RAW" $E --vdev net_pcap0,rx_pcap=$T/raw.pcap -- $O
expect_error "need at least 2 lcores" -l 0 --no-huge -m 256 --no-pci --no-shconf \
    --file-prefix $FE_PREFIX $V -- $O
expect_error "no ports" $E -- $O
expect_error "badmac.ini:5: bad mac" $E $V -- $O --topology $T/badmac.ini
expect_error "syntax.ini:2: expected 'key = value'" $E $V -- $O --topology $T/syntax.ini
expect_error "badout.ini:2: unknown output 'sideways'" $E $V -- $O --topology $T/badout.ini
expect_error "worker 1: port 3 is not an output port" $E $V --vdev net_null0,no-rx=1 -- \
    --topology $T/badport.ini
expect_error "missing.ini: No such file" $E $V -- $O --topology $T/missing.ini
}
echo "ok: $n bad invocations each gave one error line and moved nothing"

"$FE_BIN" -- --help >"$T/help.txt" 2>&1 || fe_fail "--help exit $?"
grep -q -- '--write-pcaps DIR' "$T/help.txt" || fe_fail "--help lacks --write-pcaps"
echo "ok: --help"
