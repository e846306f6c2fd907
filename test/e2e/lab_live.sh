#!/bin/sh
# Live mode (root): cpacket-direct (4 workers on one NIC, each filtering its
# MAC) and cpacket-switch (8 workers, one veth each, 1G tbf links) replay
# pcaps through frontend-dpdk's net_af_packet ports into workers sniffing
# their NICs in the lab's namespaces; the logs must equal a standalone run's
# (time and interval columns left out -- live workers stamp packets as they
# arrive; the report says so) and every packet be accounted for; the lab the
# replay brought up is gone afterwards. mix.pcap and malformed.pcap hold
# frames no veth carries to a capture (runts, cut VLAN tags, snapped
# records): the frontend must count exactly those -- per reason, as the
# kernel's rules written out here find them in the pcap -- and the verdict
# compare the cluster with a standalone run over the delivered frames, the
# rows the dropped frames alone cause shown as explained by counted drops.
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
# an elapsed time; mix, malformed: frames no link carries.
for t in cpacket-direct cpacket-switch; do
    for name in web vlan scan mix malformed; do
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
        case $name in
        mix | malformed)
            python3 - "$out/report.json" "$pcap" <<'EOF' || fail=1
import json, struct, sys
r = json.load(open(sys.argv[1]))
# What a veth (MTU 1500, the lab's af_packet ring slot: 16352 bytes) loses
# before a capture, by the kernel's rules: dev_validate_header, the VLAN
# untag before the packet taps, tpacket_snd's size limit; and records
# captured shorter than on the wire.
d = open(sys.argv[2], "rb").read()
e = "<" if d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
want, off = {}, 24
while off + 16 <= len(d):
    cap, wire = struct.unpack(e + "II", d[off + 8:off + 16])
    f = d[off + 16:off + 16 + cap]
    off += 16 + cap
    et = struct.unpack(">H", f[12:14])[0] if cap >= 14 else 0
    why = ("runt" if cap < 14 else "vlan_runt" if et in (0x8100, 0x88A8) and cap < 20
           else "oversize" if cap > min(16352, 1514 + (4 if et == 0x8100 else 0))
           else "snapped" if wire > cap else None)
    if why:
        want[why] = want.get(why, 0) + 1
got = {x["reason"]: x["count"] for x in r["drops"] if x["stage"] == "frontend"}
ex = r.get("explained_by_counted_drops", {})
problems = []
if got != want:
    problems.append("frontend drops %s, the pcap holds %s" % (got, want))
if r.get("reference") != "delivered frames" or r.get("left_out_frames") != sum(want.values()):
    problems.append("reference %s, %s frames left out" % (r.get("reference"), r.get("left_out_frames")))
if not ex.get("rows") or not [l for l in ex.get("logs", []) if l["log"] == "weird"]:
    problems.append("no rows explained by the counted drops: %s" % ex)
if not any(a["stage"].startswith("link to") for a in r["accounting"]):
    problems.append("no link accounting")
if problems:
    print("FAIL: %s %s: %s" % (r["topology"], r["pcap"], "; ".join(problems)))
    sys.exit(1)
print("ok   %s: %d frames counted as dropped before the workers (%s) explain %d rows" % (
    sys.argv[2].rsplit("/", 1)[-1], sum(want.values()), r["left_out_reasons"], ex["rows"]))
EOF
            ;;
        esac
        lab=$(sed -n 's/^name = //p' "$topo")
        left=$(ip netns list | awk '{print $1}' | grep -E "^sl-$lab[-.]")
        [ -z "$left" ] || { echo "FAIL: $t: namespaces left after the replay: $left"; fail=1; }
    done
done
# scan.pcap's Scan notices must have been compared, not both sides empty
grep -q '"log":"notice","rows_cluster":[1-9]' "$work/out-cpacket-switch-scan/report.json" ||
    { echo "FAIL: no notices compared for scan.pcap"; fail=1; }

[ $fail = 0 ] && echo "PASS: live replays (direct and switch; web, vlan, scan, mix, malformed) equivalent and accounted"
exit $fail
