#!/bin/sh
# Worker liveness in a live replay (root), decided by the cluster's manager
# from heartbeats and relayed by sluicectl from the manager's published view:
#  - a worker killed mid-replay (--kill-worker mon1-2@4): its heartbeats
#    stop, the manager drops it from its view, the lab tells the frontend
#    `down 2`, only its flows move to the others; the report shows the loss
#    window (packets sent to it that it never analysed) and counts them as
#    dropped -- accounting still balances, equivalence fails (the loss is
#    real), the exit status says so. Its heartbeat stats file is deleted as
#    soon as it goes quiet, so a relay that read the files could not see it
#    die: the down must come from the manager's view.
#  - a worker frozen (SIGSTOP) for 8 s and then resumed (SIGCONT): the
#    manager drops it and takes it back when its heartbeats resume; the lab
#    tells the frontend `down 5`, then `up 5`.
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

# pid of node $1 of this run, from the journal ("+proc NS NAME PID START")
node_pid() {
    awk -v n="$1" '$1 == "+proc" && $3 == n { p = $4 } END { print p }' "$run/journal" 2>/dev/null
}

# Runs beside the replay: freezes mon2-1 1 s after the frontend started and
# thaws it 8 s later; deletes mon1-2's stats file once it stopped changing
# for 2.5 s (killed), long before the manager's 5 s. Notes go to watch.txt.
watcher() {
    i=0
    until [ -n "$(node_pid frontend)" ]; do
        sleep 0.2; i=$((i + 1)); [ $i -lt 600 ] || { echo "no frontend" >>"$work/watch.txt"; return; }
    done
    sleep 1
    frozen=$(node_pid mon2-1)
    kill -STOP "$frozen" && echo "froze mon2-1 ($frozen)" >>"$work/watch.txt"
    stats="$run/state/mon1-2.stats"
    last="" same=0 t=0
    while [ $t -lt 32 ]; do # 32 x 0.25 s = 8 s frozen
        now=$(stat -c %y "$stats" 2>/dev/null)
        if [ -n "$now" ] && [ "$now" = "$last" ]; then same=$((same + 1)); else same=0; fi
        last=$now
        if [ $same -ge 10 ] && [ -f "$stats" ]; then
            rm -f "$stats" && echo "removed mon1-2.stats" >>"$work/watch.txt"
        fi
        sleep 0.25; t=$((t + 1))
    done
    kill -CONT "$frozen" && echo "thawed mon2-1" >>"$work/watch.txt"
}

# web traffic whose flows start over 16 s: a 1x replay runs that long
"$synth" --profile web --seed 5 --packets 4000 --duration 16 -w "$work/w.pcap" || exit 1
: >"$work/watch.txt"
watcher &
wpid=$!
"$ctl" replay "$topo" "$work/w.pcap" --mode live --speed 1x --kill-worker mon1-2@4 --out "$out" --run-dir "$run" --quiet >"$work/r.txt" 2>&1
rc=$?
kill -CONT "$(node_pid mon2-1)" 2>/dev/null
wait "$wpid"
[ -f "$out/report.json" ] || { echo "FAIL: no report (exit $rc)"; tail -n 30 "$work/r.txt"; exit 1; }
events() { sed -n '/^events:/,/^$/p' "$work/r.txt"; }
[ "$rc" != 0 ] || { echo "FAIL: a replay that lost a worker exited 0"; fail=1; }
grep -q "mon1-2 killed with SIGKILL" "$out/report.json" || { echo "FAIL: the kill is not in the report's events"; fail=1; }

# the killed worker: down from the manager's view, with its stats file gone
grep -q "removed mon1-2.stats" "$work/watch.txt" || { echo "FAIL: the test could not remove mon1-2's stats file"; cat "$work/watch.txt"; fail=1; }
[ ! -e "$run/state/mon1-2.stats" ] || { echo "FAIL: mon1-2's stats file came back after its kill"; fail=1; }
grep -q "mon1-2: down in the view of manager 'manager' (epoch [0-9]*, [0-9.]* s into the replay): frontend told 'down 2' (ok" "$out/report.json" ||
    { echo "FAIL: the frontend was not told to mark mon1-2 down from the manager's view"; events; fail=1; }
grep -q "mon1-2: up again" "$out/report.json" && { echo "FAIL: a killed worker came back up"; events; fail=1; }
grep -q "liveness source: the view of manager 'manager', [1-9][0-9]* views (last epoch [0-9]*), [0-9]* repeats, 0 stale, 0 other messages, 0 garbage, 0 failed handshakes" "$out/report.json" ||
    { echo "FAIL: the report does not name the manager's view as the liveness source, or the relay heard garbage"; events; fail=1; }
grep -q "no heartbeat\|\.stats" "$out/report.json" && { echo "FAIL: an event still speaks of heartbeat files"; events; fail=1; }
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

# the frozen worker: down, then up again, both from the manager's view
grep -q "froze mon2-1" "$work/watch.txt" && grep -q "thawed mon2-1" "$work/watch.txt" ||
    { echo "FAIL: the test could not freeze and thaw mon2-1"; cat "$work/watch.txt"; fail=1; }
down5=$(grep -o "mon2-1: down in the view of manager 'manager' (epoch [0-9]*" "$out/report.json" | grep -o '[0-9]*$')
up5=$(grep -o "mon2-1: up again in the view of manager 'manager' (epoch [0-9]*" "$out/report.json" | grep -o '[0-9]*$')
if [ -z "$down5" ] || [ -z "$up5" ] || [ "$up5" -le "$down5" ]; then
    echo "FAIL: frozen mon2-1 was not marked down and then up again (epochs '${down5}' '${up5}')"; events; fail=1
fi
grep -q "mon2-1: down in the view .*'down 5' (ok" "$out/report.json" && grep -q "mon2-1: up again in the view .*'up 5' (ok" "$out/report.json" ||
    { echo "FAIL: the frontend was not told 'down 5' then 'up 5'"; events; fail=1; }
[ $fail = 0 ] && echo "PASS: the manager's view marks a killed worker down (no stats file needed) and a frozen one down and up again; the loss window is counted"
exit $fail
