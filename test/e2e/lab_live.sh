#!/bin/sh
# Live mode (root): cpacket-direct (4 workers on one NIC, each filtering its
# MAC) and cpacket-switch (8 workers, one veth each, 1G tbf links) replay
# pcaps through frontend-dpdk's net_af_packet ports into workers sniffing
# their NICs in the lab's namespaces; the logs must equal a standalone run's
# (time and interval columns left out -- live workers stamp packets as they
# arrive; the report says so) and every packet be accounted for; the lab the
# replay brought up is gone afterwards.
# Usage: sh lab_live.sh BUILD_ROOT SOURCE_ROOT
set -u
. "$(dirname "$0")/lab_lib.sh"
lab_init "$1" "$2"
[ "$(id -u)" = 0 ] || { echo "SKIP: live mode needs root"; exit 77; }
ip netns add "sl-probe-$$" 2>/dev/null || { echo "SKIP: cannot create network namespaces here"; exit 77; }
ip netns del "sl-probe-$$"
lab_need_replay
lab_pcaps
fail=0
# web: plain traffic; vlan: tagged frames the receiving stack discards after
# the capture (rx_dropped that is no loss); scan: notices whose text carries
# an elapsed time. malformed.pcap and mix.pcap are left out: they hold
# frames shorter than an Ethernet or VLAN header, which no link carries.
for t in cpacket-direct cpacket-switch; do
    for name in web vlan scan; do
        pcap="$pcaps_dir/$name.pcap"
        [ -f "$pcap" ] || { echo "FAIL: no $pcap"; fail=1; continue; }
        run="$work/run-$t"
        out="$work/out-$t-$name"
        topo=$(lab_topo "$t")
        "$ctl" replay "$topo" "$pcap" --mode live --out "$out" --run-dir "$run" --quiet >"$work/$t-$name.txt" 2>&1
        rc=$?
        if [ ! -f "$out/report.json" ]; then
            echo "FAIL: $t $name: no report (exit $rc)"; tail -n 25 "$work/$t-$name.txt"; fail=1; continue
        fi
        eq=$(json_top "$out/report.json" equivalent)
        acc=$(json_top "$out/report.json" accounted)
        if [ "$rc" != 0 ] || [ "$eq" != true ] || [ "$acc" != true ]; then
            echo "FAIL: $t live $name: exit $rc, equivalent=$eq accounted=$acc"
            sed -n '/^accounting/,/^verdict/p' "$work/$t-$name.txt" | head -n 40
            fail=1
        else
            echo "ok   $t live $name"
        fi
        # equivalence over something: conn rows came out of the live cluster
        rows=$(grep -o '"log": *"conn", *"rows_cluster": *[0-9]*' "$out/report.json" | grep -o '[0-9]*$')
        [ "${rows:-0}" -gt 0 ] || { echo "FAIL: $t $name: no conn rows from the live cluster"; fail=1; }
        grep -q "live mode: time and interval columns .* not compared" "$out/report.json" ||
            { echo "FAIL: $t: the report does not say which columns live mode leaves out"; fail=1; }
        lab=$(sed -n 's/^name = //p' "$topo")
        left=$(ip netns list | awk '{print $1}' | grep -E "^sl-$lab[-.]")
        [ -z "$left" ] || { echo "FAIL: $t: namespaces left after the replay: $left"; fail=1; }
    done
done
# scan.pcap's Scan notices must have been compared, not both sides empty
grep -q '"log":"notice","rows_cluster":[1-9]' "$work/out-cpacket-switch-scan/report.json" ||
    { echo "FAIL: no notices compared for scan.pcap"; fail=1; }

[ $fail = 0 ] && echo "PASS: live replays (direct and switch; web, vlan, scan) equivalent and accounted"
exit $fail
