#!/bin/sh
# The testbed catches what it exists to catch: a deliberately broken
# balancer -- the 5-tuple hashed as seen, so a connection's two directions
# land on different workers -- must show split connections and a failed
# equivalence (and a non-zero exit), while the same pcap cut by a correct
# symmetric balancer passes. Both splits are made by `sluicectl split` and
# fed to the cluster with replay --split-input.
# Usage: sh lab_broken.sh BUILD_ROOT SOURCE_ROOT
set -u
. "$(dirname "$0")/lab_lib.sh"
lab_init "$1" "$2"
lab_need_replay
lab_pcaps
run="$work/run"
fail=0
topo=$(lab_topo default)
pcap="$pcaps_dir/web.pcap"
[ -f "$pcap" ] || pcap=$(ls "$pcaps_dir"/*.pcap | head -n 1)

# 1. a correct split passes (so the checker does not just always fail)
"$ctl" split "$pcap" "$work/good" --workers 4 --hash sym5 || { echo "FAIL: split sym5"; exit 1; }
"$ctl" replay "$topo" "$pcap" --split-input "$work/good" --out "$work/o-good" --run-dir "$run" --quiet >"$work/good.txt" 2>&1
rc=$?
[ "$rc" = 0 ] || { echo "FAIL: a symmetric split failed (exit $rc)"; tail -n 30 "$work/good.txt"; fail=1; }
[ "$(json_top "$work/o-good/report.json" split_connections)" = 0 ] || { echo "FAIL: split connections in a symmetric split"; fail=1; }

# 2. the broken split is caught
"$ctl" split "$pcap" "$work/bad" --workers 4 --hash asym || { echo "FAIL: split asym"; exit 1; }
"$ctl" replay "$topo" "$pcap" --split-input "$work/bad" --out "$work/o-bad" --run-dir "$run" --quiet >"$work/bad.txt" 2>&1
rc=$?
[ "$rc" != 0 ] || { echo "FAIL: replay of a broken split exited 0"; fail=1; }
[ -f "$work/o-bad/report.json" ] || { echo "FAIL: no report for the broken split"; tail -n 20 "$work/bad.txt"; exit 1; }
eq=$(json_top "$work/o-bad/report.json" equivalent)
split=$(json_top "$work/o-bad/report.json" split_connections)
[ "$eq" = false ] || { echo "FAIL: broken split reported equivalent=$eq"; fail=1; }
[ -n "$split" ] && [ "$split" -gt 0 ] || { echo "FAIL: broken split reported split_connections=$split"; fail=1; }
grep -q '"split_examples":\[{' "$work/o-bad/report.json" || { echo "FAIL: no split connection examples"; fail=1; }
grep -q "only_in_cluster\":[1-9]" "$work/o-bad/report.json" || { echo "FAIL: no rows only in the cluster"; fail=1; }

# 3. frontend-dpdk --hash sym5 on tunnels.pcap: split inner connections
if [ -f "$pcaps_dir/tunnels.pcap" ]; then
    "$ctl" replay "$topo" "$pcaps_dir/tunnels.pcap" --hash sym5 --out "$work/o-tun" --run-dir "$run" --quiet >"$work/tun.txt" 2>&1
    rc=$?
    tsplit=$(json_top "$work/o-tun/report.json" split_connections)
    [ "$rc" != 0 ] && [ "$(json_top "$work/o-tun/report.json" equivalent)" = false ] &&
        [ -n "$tsplit" ] && [ "$tsplit" -gt 0 ] ||
        { echo "FAIL: sym5 over tunnels: exit $rc, split_connections=$tsplit"; fail=1; }
    # and the shipped sym3 keeps them whole
    "$ctl" replay "$topo" "$pcaps_dir/tunnels.pcap" --out "$work/o-tun3" --run-dir "$run" --quiet >"$work/tun3.txt" 2>&1 ||
        { echo "FAIL: sym3 over tunnels is not equivalent"; fail=1; }
fi

[ $fail = 0 ] && echo "PASS: broken balancer caught ($split split connections, equivalence failed); a symmetric split passes"
exit $fail
