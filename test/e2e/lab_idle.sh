#!/bin/sh
# Live captures on an idle interface (root): libpcap's read timeout does not
# wake an idle TPACKET_V3 capture, so a node blocked in it would send no
# heartbeats and never see SIGTERM. Checks that
#  - `sluice-node standalone -i lo` in a namespace, idle for a while after a
#    few packets, stops on SIGTERM by itself (not SIGKILL) and writes its logs;
#  - the workers of a started cpacket-direct lab, with no traffic at all,
#    keep heartbeating (the manager never calls one silent) and each ends on
#    `stop` with its closing line (it drained; it was not killed).
# Usage: sh lab_idle.sh BUILD_ROOT SOURCE_ROOT
set -u
. "$(dirname "$0")/lab_lib.sh"
lab_init "$1" "$2"
[ "$(id -u)" = 0 ] || { echo "SKIP: live capture needs root"; exit 77; }
ns="sl-idle-$$"
ip netns add "$ns" 2>/dev/null || { echo "SKIP: cannot create network namespaces here"; exit 77; }
trap 'ip netns del "$ns" 2>/dev/null; lab_cleanup' EXIT INT TERM
lab_need_replay
command -v python3 >/dev/null || { echo "SKIP: no python3 to send test packets"; exit 77; }
fail=0

# --- standalone
ip -n "$ns" link set lo up
mkdir "$work/sa"
ip netns exec "$ns" "$node" standalone -i lo --log-dir "$work/sa" 2>"$work/sa.err" &
pid=$!
sleep 1
ip netns exec "$ns" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for p in range(4000, 4005):
    s.sendto(b"idle test", ("127.0.0.1", p))
'
sleep 2 # idle: no packet for longer than any read timeout
kill -TERM "$pid"
gone=0
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    kill -0 "$pid" 2>/dev/null || { gone=1; break; }
    sleep 0.5
done
if [ $gone = 0 ]; then
    echo "FAIL: standalone -i ignored SIGTERM on an idle interface"
    kill -KILL "$pid"
    fail=1
fi
wait "$pid"
rc=$?
[ "$rc" = 0 ] || { echo "FAIL: standalone -i exited $rc"; cat "$work/sa.err"; fail=1; }
n=$(grep -c "	udp	" "$work/sa/conn.log" 2>/dev/null)
[ "${n:-0}" -ge 5 ] || { echo "FAIL: standalone -i wrote ${n:-no} udp conn rows, want 5"; fail=1; }
[ $fail = 0 ] && echo "ok   standalone -i stops on SIGTERM when idle, logs written"

# --- idle workers of a live lab
run="$work/run"
topo=$(lab_topo cpacket-direct)
if ! "$ctl" up "$topo" --run-dir "$run" >"$work/up.txt" 2>&1 ||
    ! "$ctl" start "$topo" --run-dir "$run" >"$work/start.txt" 2>&1; then
    echo "FAIL: up/start"; tail -n 20 "$work/up.txt" "$work/start.txt"; exit 1
fi
sleep 7 # longer than the manager's dead-after (5 s)
"$ctl" stop "$topo" --run-dir "$run" >"$work/stop.txt" 2>&1 || { echo "FAIL: stop"; cat "$work/stop.txt"; fail=1; }
if grep -q "worker-[0-9]* silent" "$run/logs/manager.log"; then
    echo "FAIL: the manager lost heartbeats of idle workers:"; grep silent "$run/logs/manager.log"; fail=1
fi
for k in 1 2 3 4; do
    grep -q "worker done" "$run/logs/worker-$k.log" ||
        { echo "FAIL: worker-$k did not end by itself on stop"; tail -n 5 "$run/logs/worker-$k.log"; fail=1; }
done
"$ctl" down "$topo" --run-dir "$run" >/dev/null 2>&1 || { echo "FAIL: down"; fail=1; }
[ $fail = 0 ] && echo "PASS: idle live captures heartbeat and stop on SIGTERM"
exit $fail
