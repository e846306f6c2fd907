#!/bin/sh
# sluicectl replay, offline mode (no root): every shipped topology replays
# pcaps through frontend-dpdk (--write-pcaps) into the whole cluster; the
# merged logs must equal a standalone run's and every packet must be
# accounted for. Every topology x every pcap (about half a second each).
# Usage: sh lab_replay.sh BUILD_ROOT SOURCE_ROOT
set -u
. "$(dirname "$0")/lab_lib.sh"
lab_init "$1" "$2"
lab_need_replay
lab_pcaps
run="$work/run"
fail=0

replay_one() {
    topo=$1
    pcap=$2
    name="$(basename "$topo" .ini)-$(basename "$pcap" .pcap)"
    out="$work/out-$name"
    "$ctl" replay "$topo" "$pcap" --out "$out" --run-dir "$run" --quiet >"$work/$name.txt" 2>&1
    rc=$?
    if [ ! -f "$out/report.json" ]; then
        echo "FAIL: $name: no report.json (exit $rc)"; tail -n 20 "$work/$name.txt"; fail=1; return
    fi
    eq=$(json_top "$out/report.json" equivalent)
    acc=$(json_top "$out/report.json" accounted)
    split=$(json_top "$out/report.json" split_connections)
    [ -f "$out/report.html" ] || { echo "FAIL: $name: no report.html"; fail=1; }
    grep -q "<svg" "$out/report.html" 2>/dev/null || { echo "FAIL: $name: report.html has no SVG chart"; fail=1; }
    grep -qi "<script\|http://[^w]\|https://" "$out/report.html" && { echo "FAIL: $name: report.html has a script or an external asset"; fail=1; }
    if [ "$rc" != 0 ] || [ "$eq" != true ] || [ "$acc" != true ] || [ "$split" != 0 ]; then
        echo "FAIL: $name: exit $rc, equivalent=$eq accounted=$acc split_connections=$split"
        sed -n '/^equivalence/,/^verdict/p' "$work/$name.txt" | head -n 30
        grep -i "mismatch\|error\|sluicectl:" "$work/$name.txt" | head -n 10
        fail=1
    else
        echo "ok   $name: $(grep -o '"pcap_packets":[0-9]*' "$out/report.json")"
    fi
    # nothing of the run may be left running
    if [ -f "$run/journal" ] && grep -q '^+proc' "$run/journal"; then
        left=$("$ctl" down --run-dir "$run" 2>&1 | grep -c stopped)
        [ "$left" = 0 ] || { echo "FAIL: $name: $left processes were still running after replay"; fail=1; }
    fi
}

for t in "$src"/topologies/*.ini; do
    topo=$(lab_topo "$(basename "$t" .ini)")
    for pcap in "$pcaps_dir"/*.pcap; do replay_one "$topo" "$pcap"; done
done

[ $fail = 0 ] && echo "PASS: offline replays equivalent to standalone, every packet accounted for"
exit $fail
