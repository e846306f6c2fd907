#!/bin/sh
# sluicectl check: every shipped topology is valid and its plan names what
# the lab builds; every kind of mistake is reported as one FILE:LINE line
# (unknown key, duplicate MAC, duplicate name, worker without a reachable
# proxy, unknown host, bad rate, a node named as the lab's own liveness
# follower, ...) with exit status 2; follow refuses a lab that is not up.
# Usage: sh lab_check.sh BUILD_ROOT SOURCE_ROOT
set -u
. "$(dirname "$0")/lab_lib.sh"
lab_init "$1" "$2"
fail=0
bad() { echo "FAIL: $*"; fail=1; }

for t in "$src"/topologies/*.ini; do
    "$ctl" check "$t" >"$work/plan.txt" 2>&1 || { bad "$(basename "$t") does not check: $(head -n 5 "$work/plan.txt")"; continue; }
    grep -q "^start order" "$work/plan.txt" || bad "$(basename "$t"): no start order in the plan"
    grep -q "netns  sl-" "$work/plan.txt" || bad "$(basename "$t"): no namespaces in the plan"
done
"$ctl" check "$src/topologies/proxy-ring.ini" >"$work/ring.txt" 2>&1
grep -q "fdb    02:00:00:00:04:02 -> sp7@sl-ring.sw (static)" "$work/ring.txt" || bad "proxy-ring: no static FDB entry for mon4-2"
grep -q "tbf    sp0@sl-ring.sw rate 1G" "$work/ring.txt" || bad "proxy-ring: no 1G tbf on sp0"
"$ctl" check "$src/topologies/cpacket-direct.ini" >"$work/direct.txt" 2>&1
[ "$(grep -c "nic eth1 mac 02:00:00:00:00:0[1-4]" "$work/direct.txt")" = 4 ] || bad "cpacket-direct: not 4 workers on eth1"

# A file with one mistake of each kind; each must be named with its line.
cat >"$work/bad.ini" <<'INI'
[lab]
name = bad
hosts = tap, mon, far
mgmt_hosts = tap, mon
colour = blue

[frontend]
host = tap
link_rate = 10Q

[manager]
type = manager
host = tap

[proxy-1]
type = proxy
host = tap

[w1]
type = worker
host = nowhere
interface = eth1
mac = 02:00:00:00:00:01

[w2]
type = worker
host = mon
interface = eth2
mac = 02:00:00:00:00:01
link_rate = fast

[w3]
type = worker
host = far
interface = eth1
mac = 02:00:00:00:00:03

[w4]
type = worker
host = mon
interface = eth3
mac = 02:00:00:00:00:04
proxy = proxy-9
INI
"$ctl" check "$work/bad.ini" >"$work/bad.txt" 2>&1
[ $? = 2 ] || bad "check of a bad file did not exit 2"
expect() {
    grep -q "^$work/bad.ini:$1: .*$2" "$work/bad.txt" || bad "no line $1 mistake matching '$2'"
}
expect 5 "unknown key 'colour'"
expect 9 "bad link_rate '10Q'"
expect 21 "unknown host 'nowhere'"
expect 25 "MAC 02:00:00:00:00:01 is also w1's"
expect 30 "bad link_rate 'fast'"
expect 32 "w3 on host far cannot reach proxy proxy-1"
expect 43 "proxy 'proxy-9' is not a proxy"
grep -q "cannot reach manager manager" "$work/bad.txt" || bad "no unreachable-manager mistake"
# every line but the summary is FILE:LINE: message
grep -v "mistake" "$work/bad.txt" | grep -vq "^$work/bad.ini:[0-9]*: " && bad "a mistake not in FILE:LINE form: $(grep -v "^$work/bad.ini:[0-9]*: " "$work/bad.txt" | head -n 2)"

printf '[lab]\nhosts = a\n[manager]\ntype = manager\nhost = a\n[manager]\ntype = proxy\nhost = a\n' >"$work/dup.ini"
"$ctl" check "$work/dup.ini" >"$work/dup.txt" 2>&1
grep -q "dup.ini:6: duplicate section \[manager\]" "$work/dup.txt" || bad "duplicate name not reported: $(cat "$work/dup.txt")"
printf '[lab]\nhosts = a\n[frontend]\nhost = a\n[manager]\ntype = manager\nhost = a\n[w]\ntype = worker\nhost = a\ninterface = eth1\n' >"$work/noproxy.ini"
"$ctl" check "$work/noproxy.ini" >"$work/noproxy.txt" 2>&1
grep -q "noproxy.ini:8: w: no proxy to reach" "$work/noproxy.txt" || bad "worker without proxy not reported: $(cat "$work/noproxy.txt")"
printf '[lab]\nhosts = a\n[frontend]\nhost = a\n[manager]\ntype = manager\nhost = a\n[p]\ntype = proxy\nhost = a\n[w]\ntype = worker\nhost = a\nlb_procs = 2\nlb_interfaces = eth1, eth2\n[v]\ntype = worker\nhost = a\ninterface = eth9\n' >"$work/names.ini"
"$ctl" check "$work/names.ini" >"$work/names.txt" 2>&1
grep -q "v .*mac 02:00:00:00:00:03" "$work/names.txt" && grep -q "w-2 .*02:00:00:00:00:02" "$work/names.txt" ||
    bad "default MACs not 02:00:00:00:00:<worker number>: $(cat "$work/names.txt" | head -n 8)"
# the follower's name (sluicectl start journals and lists it) is no node's
printf '[lab]\nhosts = a\n[frontend]\nhost = a\n[manager]\ntype = manager\nhost = a\n[p]\ntype = proxy\nhost = a\n[liveness]\ntype = worker\nhost = a\ninterface = eth1\n' >"$work/live.ini"
"$ctl" check "$work/live.ini" >"$work/live.txt" 2>&1
[ $? = 2 ] && grep -q "live.ini:11: section name 'liveness' is the lab's own" "$work/live.txt" ||
    bad "a node named liveness not refused: $(cat "$work/live.txt")"
# follow needs a lab that is up
"$ctl" follow "$src/topologies/single-host.ini" --run-dir "$work/no-such-run" >"$work/follow.txt" 2>&1 &&
    bad "follow without a lab exited 0"
grep -q "no-such-run: no such lab run (run 'sluicectl up')" "$work/follow.txt" ||
    bad "follow without a lab did not say why: $(cat "$work/follow.txt")"
# ... and a started cluster: without its cluster.ini it has no manager to follow
mkdir "$work/idle-run"
"$ctl" follow "$src/topologies/single-host.ini" --run-dir "$work/idle-run" >"$work/follow2.txt" 2>&1 &&
    bad "follow without a started cluster exited 0"
grep -q "worker liveness not followed: cannot subscribe to the manager's view (.*cluster.ini" "$work/follow2.txt" ||
    bad "follow without a started cluster did not say why: $(cat "$work/follow2.txt")"

[ $fail = 0 ] && echo "PASS: shipped topologies check; every mistake named by file:line"
exit $fail
