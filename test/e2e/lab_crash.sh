#!/bin/sh
# kill -9 of sluicectl in the middle of a replay, then `sluicectl down`:
# every process the replay started (frontend, standalone, cluster nodes) is
# gone afterwards, found through the run directory's journal alone; in live
# mode also every namespace, link and qdisc.
# Usage: sh lab_crash.sh BUILD_ROOT SOURCE_ROOT
set -u
. "$(dirname "$0")/lab_lib.sh"
lab_init "$1" "$2"
lab_need_replay
[ -x "$synth" ] || { echo "SKIP: no sluice-synth"; exit 77; }
run="$work/run"
fail=0
topo=$(lab_topo default)
# flows spread over 30 s of capture time: a 1x replay is still running when killed
"$synth" --profile web --seed 3 --packets 3000 --duration 30 -w "$work/slow.pcap" || exit 1

pids_of_journal() {
    awk '$1 == "+proc" { print $4 }' "$run/journal" 2>/dev/null
}

crash_once() {
    what=$1
    delay=$2
    "$ctl" replay "$topo" "$work/slow.pcap" --speed 1x --out "$work/out" --run-dir "$run" --quiet >"$work/replay.txt" 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pids=$(pids_of_journal)
    [ -n "$pids" ] || { echo "FAIL: $what: the journal names no process (nothing was running?)"; cat "$work/replay.txt"; fail=1; }
    alive=0
    for p in $pids; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
    [ "$alive" -gt 0 ] || echo "note: $what: no process was alive after the kill"
    "$ctl" down "$topo" --run-dir "$run" >"$work/down.txt" 2>&1 || { echo "FAIL: $what: down failed"; cat "$work/down.txt"; fail=1; }
    sleep 0.3
    for p in $pids; do
        if kill -0 "$p" 2>/dev/null && [ "$(cat /proc/$p/stat 2>/dev/null | cut -d' ' -f3)" != Z ]; then
            echo "FAIL: $what: process $p ($(tr '\0' ' ' </proc/$p/cmdline | cut -c1-80)) survived down"
            fail=1
        fi
    done
    grep -q '^+' "$run/journal" && { echo "FAIL: $what: journal not empty after down"; fail=1; }
    echo "ok   $what: $alive processes running at the kill, none after down"
}

crash_once "kill -9 during the frontend's paced replay" 3
crash_once "kill -9 early (processes starting)" 0.3

# live mode: the replay brings the lab up itself; after kill -9 and down no
# namespace of the lab may remain either
if [ "$(id -u)" = 0 ] && ip netns add "sl-probe-$$" 2>/dev/null; then
    ip netns del "sl-probe-$$"
    topo=$(lab_topo cpacket-direct)
    lab=$(sed -n 's/^name = //p' "$topo")
    "$ctl" replay "$topo" "$work/slow.pcap" --mode live --speed 1x --out "$work/out-live" --run-dir "$run" --quiet >"$work/live.txt" 2>&1 &
    pid=$!
    sleep 4
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pids=$(pids_of_journal)
    [ -n "$(ip netns list | grep "^sl-$lab[-.]")" ] || echo "note: live: no namespace existed at the kill"
    "$ctl" down "$topo" --run-dir "$run" >"$work/down.txt" 2>&1 || { echo "FAIL: live: down failed"; cat "$work/down.txt"; fail=1; }
    sleep 0.5
    left=$(ip netns list | awk '{print $1}' | grep -E "^sl-$lab[-.]")
    [ -z "$left" ] || { echo "FAIL: live: namespaces left: $left"; fail=1; }
    for p in $pids; do
        if kill -0 "$p" 2>/dev/null && [ "$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null)" != Z ]; then
            echo "FAIL: live: process $p survived down"; fail=1
        fi
    done
    ls /run/netns 2>/dev/null | grep -E "^sl-$lab[-.]" && { echo "FAIL: live: a namespace file left"; fail=1; }
    echo "ok   live: kill -9 mid-replay, then down: no namespace, link or process left"
else
    echo "note: live part skipped (needs root and network namespaces)"
fi

[ $fail = 0 ] && echo "PASS: down after kill -9 of sluicectl mid-replay leaves no process"
exit $fail
