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
    # the chart: packets, bytes and connections per worker, as report.json says
    if [ -n "$py" ] && ! "$py" "$src/test/e2e/lab_svg_check.py" "$out" >"$work/$name.svg.txt" 2>&1; then
        echo "FAIL: $name: report.html's chart does not match report.json:"; head -n 10 "$work/$name.svg.txt"; fail=1
    fi
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

py=$(command -v python3) || echo "note: no python3: the chart is not checked against report.json"
for t in "$src"/topologies/*.ini; do
    topo=$(lab_topo "$(basename "$t" .ini)")
    for pcap in "$pcaps_dir"/*.pcap; do replay_one "$topo" "$pcap"; done
done

# the chart check itself must catch a wrong figure, a wrong label, a missing
# series and a chart that is not a well-formed SVG document
one=$(ls -d "$work"/out-* 2>/dev/null | head -n 1)
if [ -n "$py" ] && [ -f "$one/report.html" ]; then
    mkdir -p "$work/bad" && cp "$one/report.json" "$work/bad/"
    for t in 's/data-value="\([0-9]*\)"/data-value="1\1"/' 's/data-series="bytes"/data-series="octets"/' \
             's/<\/g>//' 's/class="value"\([^>]*\)>\([0-9]*\)</class="value"\1>9\2</'; do
        sed "$t" "$one/report.html" >"$work/bad/report.html"
        if cmp -s "$one/report.html" "$work/bad/report.html"; then
            echo "FAIL: the tampering '$t' changed nothing"; fail=1
        elif "$py" "$src/test/e2e/lab_svg_check.py" "$work/bad" >/dev/null 2>&1; then
            echo "FAIL: lab_svg_check.py accepted a chart tampered with '$t'"; fail=1
        fi
    done
fi

[ $fail = 0 ] && echo "PASS: offline replays equivalent to standalone, every packet accounted for"
exit $fail
