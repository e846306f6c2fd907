#!/bin/sh
# A worker killed mid-replay (live mode, root): its heartbeats stop, the lab
# tells the frontend to mark it down, only its flows move to the others; the
# report shows the loss window (packets sent to it before it was marked down
# that it never analysed) and counts them as dropped -- accounting still
# balances, equivalence fails (the loss is real), the exit status says so.
# Usage: sh lab_failover.sh BUILD_ROOT SOURCE_ROOT
set -u
. "$(dirname "$0")/lab_lib.sh"
lab_init "$1" "$2"
[ "$(id -u)" = 0 ] || { echo "SKIP: live mode needs root"; exit 77; }
ip netns add "sl-probe-$$" 2>/dev/null || { echo "SKIP: cannot create network namespaces here"; exit 77; }
ip netns del "sl-probe-$$"
lab_need_replay
[ -x "$synth" ] || { echo "SKIP: no sluice-synth"; exit 77; }
fail=0
run="$work/run"
out="$work/out"
topo=$(lab_topo cpacket-switch)
# web traffic whose flows start over 16 s: a 1x replay runs that long
"$synth" --profile web --seed 5 --packets 4000 --duration 16 -w "$work/w.pcap" || exit 1
"$ctl" replay "$topo" "$work/w.pcap" --mode live --speed 1x --kill-worker mon1-2@4 --out "$out" --run-dir "$run" --quiet >"$work/r.txt" 2>&1
rc=$?
[ -f "$out/report.json" ] || { echo "FAIL: no report (exit $rc)"; tail -n 30 "$work/r.txt"; exit 1; }
[ "$rc" != 0 ] || { echo "FAIL: a replay that lost a worker exited 0"; fail=1; }
grep -q "mon1-2 killed with SIGKILL" "$out/report.json" || { echo "FAIL: the kill is not in the report's events"; fail=1; }
grep -q "mon1-2: no heartbeat .*down 2" "$out/report.json" || { echo "FAIL: the frontend was not told to mark mon1-2 down"; grep events -A3 "$work/r.txt"; fail=1; }
grep -q '"stage":"worker","where":"mon1-2","reason":"killed","count":[1-9]' "$out/report.json" || { echo "FAIL: the loss is not counted as a drop"; fail=1; }
grep -q "loss window of mon1-2" "$out/report.json" || { echo "FAIL: no loss window in the report"; fail=1; }
[ "$(json_top "$out/report.json" accounted)" = true ] || { echo "FAIL: the loss is not accounted for"; sed -n '/^accounting/,/^split/p' "$work/r.txt"; fail=1; }
# its flows moved: after the down the frontend sent mon1-2 nothing (at most
# one burst already on its way when the command landed), the others went on
after=$(grep -o "after mon1-2 was marked down the frontend sent it [0-9]* packets and the other workers [0-9]*" "$out/report.json")
to_k=$(echo "$after" | sed -n 's/.*sent it \([0-9]*\) packets.*/\1/p')
others=$(echo "$after" | sed -n 's/.*other workers \([0-9]*\)$/\1/p')
if [ -z "$to_k" ] || [ "$to_k" -gt 32 ] || [ "${others:-0}" -eq 0 ]; then
    echo "FAIL: mon1-2's flows did not move after the down (${after:-no such event in the report})"; fail=1
fi
[ $fail = 0 ] && echo "PASS: a killed worker is marked down from its missing heartbeats; the loss window is counted"
exit $fail
