#!/bin/sh
# sluicectl up / down: the live lab is built as the topology says, and down
# removes all of it -- also after kill -9 of sluicectl part-way through up --
# while namespaces and links the lab did not create survive untouched.
# Usage: sh lab_updown.sh BUILD_ROOT SOURCE_ROOT   (root; skips otherwise)
set -u
build=$1
src=$2
ctl="$build/emulator/sluicectl"

[ -x "$ctl" ] || { echo "SKIP: $ctl not built (libnl missing?)"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: live mode needs root"; exit 77; }
command -v ip >/dev/null 2>&1 || { echo "SKIP: iproute2's ip is missing"; exit 77; }

lab="t$$"
work=$(mktemp -d)
run="$work/run"
decoy="sl-decoy-$$"
fail=0

cleanup() {
    "$ctl" down --run-dir "$run" >/dev/null 2>&1
    ip netns del "$decoy" 2>/dev/null
    ip netns del "sl-$lab-foreign" 2>/dev/null
    ip netns del "sl-$lab-mon" 2>/dev/null
    ip link del "sld$$" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

ip netns add "$decoy" 2>/dev/null || { echo "SKIP: cannot create network namespaces here"; exit 77; }
ip link add "sld$$" type veth peer name "sldp$$" 2>/dev/null || { echo "SKIP: cannot create links here"; exit 77; }

bad() { echo "FAIL: $*"; fail=1; }

# A topology with every kind of object: management network, kernel bridge
# with static FDB, worker NICs with MACs, tbf link rates, two lb_procs NICs.
cat >"$work/t.ini" <<EOF
[lab]
name = $lab
mode = live
hosts = tap, mgr, mon

[frontend]
host = tap
output = switch
switch = bridge
link_rate = 100M

[manager]
type = manager
host = mgr

[proxy-1]
type = proxy
host = mgr

[w]
type = worker
host = mon
lb_procs = 2
lb_interfaces = eth1, eth2
mac = 02:00:00:00:0a:01
EOF

nss() { ip netns list | awk '{print $1}' | grep -E "^sl-$lab[-.]" | sort; }
expect_none() {
    left=$(nss)
    [ -z "$left" ] || bad "$1: namespaces left: $left"
    # no process of ours: nothing runs from the lab's namespaces (they are gone)
    ip netns list | grep -q "^$decoy" || bad "$1: the decoy namespace $decoy was removed"
    ip link show "sld$$" >/dev/null 2>&1 || bad "$1: the decoy link sld$$ was removed"
}

# 1. up builds what the plan says
"$ctl" check "$work/t.ini" >"$work/check.out" || bad "check failed: $(cat "$work/check.out")"
"$ctl" up "$work/t.ini" --run-dir "$run" >"$work/up.out" 2>&1 || bad "up failed: $(cat "$work/up.out")"
[ "$(nss | wc -l)" = 5 ] || bad "expected 5 namespaces, got: $(nss | tr '\n' ' ')"
ip -n "sl-$lab-mon" link show eth1 2>/dev/null | grep -q "02:00:00:00:0a:01" || bad "eth1 in mon lacks MAC 02:00:00:00:0a:01"
ip -n "sl-$lab-mon" link show eth2 2>/dev/null | grep -q "02:00:00:00:0a:02" || bad "eth2 in mon lacks MAC 02:00:00:00:0a:02"
tc -n "sl-$lab.sw" qdisc show dev sp0 2>/dev/null | grep -q "tbf.*rate 100Mbit" || bad "no 100Mbit tbf on sp0"
bridge -n "sl-$lab.sw" fdb show dev sp1 2>/dev/null | grep -q "02:00:00:00:0a:02.*static" || bad "no static FDB entry for worker 2 on sp1"
ip -n "sl-$lab-mgr" addr show mgmt0 2>/dev/null | grep -q "inet 198.18.0.2/15" || bad "mgr lacks its management address 198.18.0.2/15"
ip -n "sl-$lab-mgr" -4 addr 2>/dev/null | grep -v "127.0.0.1\|198.18." | grep -q inet && bad "an address outside 198.18.0.0/15 in the lab"
ip -4 addr show | grep -q "198.18." && bad "a 198.18.x address leaked into the caller's namespace"

# 2. up again is refused (journal not empty) and changes nothing
"$ctl" up "$work/t.ini" --run-dir "$run" >/dev/null 2>&1 && bad "a second up succeeded"
[ "$(nss | wc -l)" = 5 ] || bad "a refused up changed the namespaces"

# 3. a process started inside a lab namespace goes with it
ip netns exec "sl-$lab-mon" sleep 300 &
sleeper=$!
sleep 0.2
"$ctl" down "$work/t.ini" --run-dir "$run" >"$work/down.out" 2>&1 || bad "down failed: $(cat "$work/down.out")"
sleep 0.2
kill -0 "$sleeper" 2>/dev/null && bad "a process in the lab's namespace survived down"
expect_none "after down"

# 4. kill -9 of sluicectl part-way through up, at several points, then down
for d in 0.005 0.01 0.02 0.04 0.08; do
    "$ctl" up "$work/t.ini" --run-dir "$run" >/dev/null 2>&1 &
    pid=$!
    sleep "$d"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    "$ctl" down "$work/t.ini" --run-dir "$run" >"$work/down.out" 2>&1 || bad "down after kill -9 at ${d}s failed: $(cat "$work/down.out")"
    expect_none "kill -9 at ${d}s"
    # nothing half-made may remain under /run/netns either
    ls /run/netns 2>/dev/null | grep -E "^sl-$lab[-.]" && bad "a namespace file left at ${d}s"
done

# 5. a namespace that exists before up (someone else's) stops up before it
#    creates anything, and survives
ip netns add "sl-$lab-mon"
"$ctl" up "$work/t.ini" --run-dir "$run" >"$work/up2.out" 2>&1 && bad "up succeeded over a foreign namespace"
grep -q "not this lab's" "$work/up2.out" || bad "up did not say why: $(cat "$work/up2.out")"
[ "$(nss)" = "sl-$lab-mon" ] || bad "up created something before refusing: $(nss | tr '\n' ' ')"
"$ctl" down "$work/t.ini" --run-dir "$run" >/dev/null 2>&1
ip netns list | grep -q "^sl-$lab-mon" || bad "down removed a namespace it did not create"
ip netns del "sl-$lab-mon"

# 6. a journal naming a namespace that is not ours (no tag): down leaves it
"$ctl" up "$work/t.ini" --run-dir "$run" >/dev/null 2>&1 || bad "up (6) failed"
ip netns add "sl-$lab-foreign"
tag=$(sed -n 's/^tag //p' "$run/journal")
echo "+ns sl-$lab-foreign $tag 0 0" >>"$run/journal"
"$ctl" down "$work/t.ini" --run-dir "$run" >"$work/down3.out" 2>&1
grep -q "left.*sl-$lab-foreign" "$work/down3.out" || bad "down did not report the foreign namespace: $(cat "$work/down3.out")"
ip netns list | grep -q "^sl-$lab-foreign" || bad "down removed a namespace without the lab's tag"
ip netns del "sl-$lab-foreign"
[ -z "$(nss)" ] || bad "namespaces left after (6): $(nss | tr '\n' ' ')"

# 7. a bad topology: nothing is started, the mistakes name file:line
printf '[lab]\nhosts = a\n[frontend]\nhost = b\n' >"$work/bad.ini"
"$ctl" up "$work/bad.ini" --run-dir "$work/run-bad" >"$work/bad.out" 2>&1
[ $? = 2 ] || bad "up of a bad topology did not exit 2"
grep -q "bad.ini:4: .*unknown host 'b'" "$work/bad.out" || bad "no file:line mistake: $(cat "$work/bad.out")"

[ $fail = 0 ] && echo "PASS: up/down, kill -9 mid-up, foreign namespaces and links untouched"
exit $fail
