#!/bin/sh
# Kernel ports (root and network namespaces; skips otherwise).
# 1. Output through net_af_packet into a veth: frames at the edges of what a
#    kernel link carries (runts, short VLAN tags, MTU + 14 / + 18, a snapped
#    record) -- the frontend counts by reason exactly the frames the kernel's
#    rules lose, and the far end of the veth captures exactly the rest, in
#    order (kernel_port.py check). Again with a small ring slot (framesz=),
#    and with pcaps/malformed.pcap over three workers (what the far end
#    captures = what the frontend says it sent).
# 2. The same frames out a net_pcap port: nothing dropped (only kernel ports
#    check).
# 3. Output through net_tap (its kernel side captured).
# 4. Input from net_af_packet with its RX ring overrun (the frontend stopped
#    with SIGSTOP while frames are injected, unpaced): frames in + rx_missed
#    (the kernel's PACKET_STATISTICS drops) = frames injected, rx_missed > 0.
set -u
BUILD=$1
SRC=$2
. "$SRC/test/e2e/frontend_lib.sh"
fe_setup
[ "$(id -u)" = 0 ] || { echo "SKIP: kernel ports need root (namespaces, veths)"; exit 77; }
command -v ip >/dev/null || { echo "SKIP: iproute2's ip is missing"; exit 77; }
command -v tcpdump >/dev/null || { echo "SKIP: tcpdump missing (scripts/install-deps.sh installs it)"; exit 77; }
NS="slkt-$$"
ip netns add "$NS" 2>/dev/null || { echo "SKIP: cannot create network namespaces here"; exit 77; }
# a frontend (maybe SIGSTOPped) or tcpdump still running when the script
# ends early (a failure, a meson timeout) must not outlive it
FE=''
TD=''
# shellcheck disable=SC2154 # p is the loop's own variable
trap 'for p in $FE $TD; do kill -CONT "$p"; kill -KILL "$p"; done 2>/dev/null; ip netns del "$NS" 2>/dev/null; fe_cleanup' EXIT
trap 'exit 1' INT TERM
KP="$SRC/test/e2e/kernel_port.py"
nsx() { ip netns exec "$NS" "$@"; }
# no IPv6 chatter (DAD, router solicitations) on the links: every frame is ours
nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
nsx ip link add ka0 type veth peer name kb0
nsx ip link add kc0 type veth peer name kd0
for l in ka0 kb0 kc0 kd0; do nsx ip link set "$l" up; done
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# capture_start IFACE FILE / capture_stop: tcpdump at the far end, ready
# before any frame is sent
capture_start() {
    # not through nsx: $! is then tcpdump itself (ip netns exec execs it);
    # immediate mode: no frame waits in a ring block when it stops. Immediate
    # mode uses a TPACKET_V2 ring of snaplen-sized slots: with -s 0 (256 KiB
    # slots) the default 2 MiB buffer holds 8 frames and a burst overruns
    # it, so: slots of 16 KiB (more than any frame sent here) and a 64 MiB
    # buffer (4096 slots, more than any case sends); capture_stop checks
    # that the capture itself dropped nothing.
    ip netns exec "$NS" tcpdump --immediate-mode -i "$1" -U -s 16384 -B 65536 -w "$2" 2>"$T/td.err" &
    TD=$!
    i=0
    until grep -q "listening on" "$T/td.err" 2>/dev/null || [ $i -ge 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
}
capture_stop() {
    sleep 0.5
    # TERM: a background job of a non-interactive shell ignores INT
    kill -TERM "$TD" 2>/dev/null
    wait "$TD" 2>/dev/null
    TD=
    grep -q "^0 packets dropped by kernel" "$T/td.err" ||
        bad "the capture at the far end lost frames itself: $(tr '\n' ' ' <"$T/td.err")"
}
# (a background job runs `ip netns exec` directly, not nsx: $! is then the
# process itself, not a subshell)
fe_ns() {
    # shellcheck disable=SC2046,SC2086
    nsx "$FE_BIN" $(fe_eal) "$@" >"$T/out.json" 2>"$T/err.txt"
}
ctl() {
    python3 - "$T/ctl" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
print(s.makefile().readline().strip())
EOF
}
wait_ctl() {
    i=0
    until [ -S "$T/ctl" ] || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
}

python3 "$KP" make "$T/k.pcap" || fe_fail "kernel_port.py make"

# 1. net_af_packet into a veth, default ring slot (framesz 2048: 2016 bytes of frame)
capture_start kb0 "$T/cap1.pcap"
fe_ns --vdev "net_pcap0,rx_pcap=$T/k.pcap" --vdev net_af_packet1,iface=ka0,qdisc_bypass=0 -- \
    --workers 1 || bad "af_packet: frontend exit $?: $(head -n 5 "$T/err.txt")"
capture_stop
if python3 "$KP" check af_packet 1500 2016 "$T/k.pcap" "$T/out.json" "$T/cap1.pcap"; then
    echo "ok   af_packet: drops $(fe_json "$T/out.json" 'd["drops"]'), far end got $(python3 "$KP" count "$T/cap1.pcap") frames"
else
    fail=1
fi

# ... a ring slot smaller than the MTU: framesz 1024 holds 992 bytes
capture_start kb0 "$T/cap2.pcap"
fe_ns --vdev "net_pcap0,rx_pcap=$T/k.pcap" --vdev net_af_packet1,iface=ka0,framesz=1024,blocksz=4096 -- \
    --workers 1 || bad "af_packet framesz=1024: frontend exit $?: $(head -n 5 "$T/err.txt")"
capture_stop
python3 "$KP" check af_packet 1500 992 "$T/k.pcap" "$T/out.json" "$T/cap2.pcap" || fail=1
[ "$(fe_json "$T/out.json" 'd["drops"]["oversize"]')" -gt 4 ] || bad "framesz=1024: no frame over the slot counted"

# ... the malformed profile over three workers
mal="$SRC/pcaps/malformed.pcap"
if [ ! -f "$mal" ]; then
    mal="$T/malformed.pcap"
    "$FE_SYNTH" --profile malformed --seed 9 --packets 4000 -w "$mal" || fe_fail synth
fi
capture_start kb0 "$T/cap3.pcap"
fe_ns --vdev "net_pcap0,rx_pcap=$mal" --vdev net_af_packet1,iface=ka0,qdisc_bypass=0,framesz=16384,blocksz=65536 -- \
    --workers 3 || bad "malformed: frontend exit $?"
capture_stop
got=$(python3 "$KP" count "$T/cap3.pcap")
python3 - "$T/out.json" "$got" <<'EOF' || fail=1
import json, sys
s = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])
d, got = s["drops"], int(sys.argv[2])
ok = s["balanced"] and s["in"]["packets"] == s["out"]["packets"] + d["total"]
ok = ok and d["runt"] > 0 and d["vlan_runt"] > 0 and d["snapped"] > 0 and got == s["out"]["packets"]
ok = ok and sum(w["dropped"] for w in s["workers"]) + s["links"][0]["unattributed"] == s["links"][0]["refused"]
if not ok:
    print("FAIL: malformed.pcap: far end captured %d, summary %s %s %s" % (got, s["in"], s["out"], d))
    sys.exit(1)
print("ok   malformed.pcap through af_packet: %d frames captured = sent; drops %s" % (got, d))
EOF

# 2. the same frames out a net_pcap port keep every frame
fe_ns --vdev "net_pcap0,rx_pcap=$T/k.pcap" --vdev "net_pcap1,tx_pcap=$T/tx.pcap" -- --workers 1 ||
    bad "net_pcap out: frontend exit $?"
[ "$(fe_json "$T/out.json" 'd["drops"]["total"]')" = 0 ] || bad "net_pcap output dropped frames: $(fe_json "$T/out.json" 'd["drops"]')"
[ "$(python3 "$KP" count "$T/tx.pcap")" = "$(python3 "$KP" count "$T/k.pcap")" ] || bad "net_pcap output lost frames"
[ "$(fe_json "$T/out.json" '"kernel" in d["links"][0]')" = False ] || bad "a net_pcap link marked kernel"

# 3. net_tap (an input too: DPDK's tap wants as many RX as TX queues); the
#    tap appears when the frontend starts, so it waits for `start`
rm -f "$T/ctl"
# shellcheck disable=SC2046
ip netns exec "$NS" "$FE_BIN" $(fe_eal) --vdev "net_pcap0,rx_pcap=$T/k.pcap" --vdev net_tap1,iface=ktap0 -- \
    --workers 1 --in-ports 0,1 --out-ports 1 --wait-start --ctl "$T/ctl" >"$T/out.json" 2>"$T/err.txt" &
FE=$!
wait_ctl
capture_start ktap0 "$T/cap4.pcap"
ctl start >/dev/null
n=$(python3 "$KP" count "$T/k.pcap")
i=0
until [ "$(ctl stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["in"]["packets"])' 2>/dev/null)" = "$n" ] || [ $i -ge 50 ]; do
    sleep 0.1
    i=$((i + 1))
done
kill -TERM "$FE"
wait "$FE" || bad "tap: frontend exit $?: $(head -n 5 "$T/err.txt")"
FE=
capture_stop
python3 "$KP" check tap 0 1522 "$T/k.pcap" "$T/out.json" "$T/cap4.pcap" || fail=1

# 4. af_packet input overrun: 1000 frames into a 512-frame ring while the
#    frontend is stopped
rm -f "$T/ctl"
# shellcheck disable=SC2046
ip netns exec "$NS" "$FE_BIN" $(fe_eal) --vdev net_af_packet0,iface=kc0 --vdev net_null1,no-rx=1 -- \
    --workers 2 --ctl "$T/ctl" >"$T/out.json" 2>"$T/err.txt" &
FE=$!
wait_ctl
ctl stats >/dev/null || bad "overrun: the frontend's control socket does not answer"
kill -STOP "$FE"
sent=$(nsx python3 "$SRC/test/e2e/pcap_inject.py" kd0 "$SRC/pcaps/web.pcap" --gap-every 0 2>"$T/inj.err")
kill -CONT "$FE"
case $sent in '' | *[!0-9]*) bad "inject failed: $(cat "$T/inj.err")"; sent=0 ;; esac
i=0
until [ "$(ctl stats | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["in"]["packets"] + d["rx_missed"])' 2>/dev/null)" = "$sent" ] || [ $i -ge 50 ]; do
    sleep 0.1
    i=$((i + 1))
done
kill -TERM "$FE"
wait "$FE" || bad "overrun: frontend exit $?: $(head -n 5 "$T/err.txt")"
FE=
python3 - "$T/out.json" "$sent" <<'EOF' || fail=1
import json, sys
s = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])
sent, inp, missed = int(sys.argv[2]), s["in"]["packets"], s["rx_missed"]
port = s["rx_missed_ports"][0]
if not (inp + missed == sent and missed > 0 and port["missed"] == missed and port["name"] == "net_af_packet0"):
    print("FAIL: overrun: injected %d, frontend in %d + rx_missed %d (%s)" % (sent, inp, missed, port))
    sys.exit(1)
print("ok   af_packet input overrun: injected %d = in %d + rx_missed %d" % (sent, inp, missed))
EOF

[ $fail = 0 ] && echo "PASS: kernel ports count what the kernel would lose (af_packet, tap out; af_packet in)"
exit $fail
