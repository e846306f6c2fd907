#!/bin/sh
# sluicectl start / status / netstats / stop on a live lab (cpacket-direct):
# start brings up loggers, manager, proxy, workers and the frontend reading
# tap0; status lists every node running with a live pid; frames sent into
# tap0 from the frontend host's namespace all reach the workers (netstats'
# recvd sums to the frames sent); stop leaves every node stopped and no
# process behind, the logger having written conn.log; down leaves no
# namespace, link or process. Then unpaced: frames injected while the
# frontend is stopped (SIGSTOP) overrun its AF_PACKET ring; the kernel's
# drops are counted (netstats' frontend line, status' drops), so that
# injected = frontend in + counted kernel drops. Then liveness after start:
# start left the follower running (status lists it); a worker killed with
# SIGKILL leaves the manager's view, the follower tells the frontend
# `down 2` (frozen at that moment: the follower says it did not answer, and
# tells it once it does; its log says so, the frontend lists worker 2 as
# not live), and
# frames sent from then on reach the other three workers only; `follow
# --restart` starts it again, the manager takes it back, `up 2`, and it gets
# frames again.
# Usage: sh lab_ctl.sh BUILD_ROOT SOURCE_ROOT   (root; skips otherwise)
set -u
. "$(dirname "$0")/lab_lib.sh"
lab_init "$1" "$2"
[ "$(id -u)" = 0 ] || { echo "SKIP: live mode needs root"; exit 77; }
command -v ip >/dev/null 2>&1 || { echo "SKIP: iproute2's ip is missing"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 is missing (the traffic injector)"; exit 77; }
ip netns add "sl-probe-$$" 2>/dev/null || { echo "SKIP: cannot create network namespaces here"; exit 77; }
ip netns del "sl-probe-$$"
lab_need_replay
lab_pcaps
fail=0
bad() { echo "FAIL: $*"; fail=1; }
# alive PID: the process exists and is not a zombie (a node that exited is
# reparented to pid 1, which may be slow to reap it; sluicectl counts a zombie
# as gone too)
alive() {
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

topo=$(lab_topo cpacket-direct)
lab=$(sed -n 's/^name = //p' "$topo")
fens="sl-$lab-tap"
pcap="$pcaps_dir/web.pcap"
out="$work/out"
run="$work/run"
[ -f "$pcap" ] || { echo "FAIL: no $pcap"; exit 1; }
nss() { ip netns list | awk '{print $1}' | grep -E "^sl-${lab}[-.]"; }
links_before=$(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort)

"$ctl" up "$topo" --run-dir "$run" >"$work/up.out" 2>&1 || { bad "up failed: $(cat "$work/up.out")"; exit 1; }

# 0. a start whose frontend dies at once fails and leaves nothing running or
#    journalled: status shows every node stopped and the next start works
mkdir "$work/badbin"
ln -s "$(cd "$(dirname "$node")" && pwd)/sluice-node" "$work/badbin/sluice-node"
printf '#!/bin/sh\necho "frontend: refusing on purpose" >&2\nexit 1\n' >"$work/badbin/frontend-dpdk"
chmod +x "$work/badbin/frontend-dpdk"
"$ctl" start "$topo" --run-dir "$run" --out "$work/out-bad" --bin-dir "$work/badbin" --restart >"$work/start-bad.out" 2>&1 &&
    bad "start succeeded with a frontend that exits at once"
grep -q "the frontend stopped at once" "$work/start-bad.out" || bad "failed start did not say why: $(cat "$work/start-bad.out")"
# start ran its follower with --restart (and its --bin-dir) before it gave up
grep -q "^# sluicectl started: .*sluicectl follow .* --bin-dir $work/badbin --restart" "$run/logs/liveness.log" ||
    bad "start --restart did not run 'follow --restart': $(head -n 1 "$run/logs/liveness.log")"
"$ctl" status "$topo" --run-dir "$run" >"$work/status0.out" 2>&1 || bad "status after a failed start exited non-zero"
[ "$(awk 'NR > 1 && $5 == "stopped"' "$work/status0.out" | wc -l)" = 8 ] ||
    bad "a failed start left nodes behind: $(cat "$work/status0.out")"

# 1. start: every node of the topology and the frontend run, each with a pid
"$ctl" start "$topo" --run-dir "$run" --out "$out" >"$work/start.out" 2>&1 ||
    { bad "start failed:"; cat "$work/start.out"; exit 1; }
"$ctl" status "$topo" --run-dir "$run" >"$work/status1.out" 2>&1 || bad "status after start exited non-zero"
for nd in logger-1 manager proxy-1 worker-1 worker-2 worker-3 worker-4 frontend liveness; do
    line=$(awk -v n="$nd" '$1 == n' "$work/status1.out")
    [ -n "$line" ] || { bad "status does not list $nd"; continue; }
    state=$(echo "$line" | awk '{print $5}')
    pid=$(echo "$line" | awk '{print $4}')
    [ "$state" = running ] || bad "$nd is $state after start, not running"
    case $pid in '' | *[!0-9]*) bad "$nd has no pid ($pid)"; continue ;; esac
    alive "$pid" || bad "$nd's pid $pid does not exist"
    pids="${pids:-} $pid"
done
[ "$(awk 'NR > 1' "$work/status1.out" | wc -l)" = 9 ] ||
    bad "status lists other than 8 nodes and the follower: $(cat "$work/status1.out")"

# 2. traffic into tap0 reaches the workers: netstats' recvd sums to the frames sent
# Paced (1 ms every 2 frames): this checks the control plumbing, not capacity,
# and a frontend built with sanitizers on a busy 2-core machine cannot drain
# af_packet's ring as fast as a raw socket fills it.
sent=$(ip netns exec "$fens" python3 "$src/test/e2e/pcap_inject.py" tap0 "$pcap" --gap-every 2 \
    2>"$work/inject.err")
case $sent in '' | *[!0-9]*) bad "injecting $pcap failed: $(cat "$work/inject.err")"; sent=0 ;; esac
[ "$sent" -gt 0 ] || bad "no frames sent"
sum=-1
i=0
while [ $i -lt 40 ]; do
    "$ctl" netstats "$topo" --run-dir "$run" >"$work/netstats.out" 2>&1
    sum=$(grep -v '^ *frontend:' "$work/netstats.out" | sed -n 's/.* recvd=\([0-9]*\) .*/\1/p' | awk '{s += $1} END {print s + 0}')
    [ "$sum" -ge "$sent" ] && break
    sleep 0.5
    i=$((i + 1))
done
[ "$(grep -v '^ *frontend:' "$work/netstats.out" | grep -c 'recvd=')" = 4 ] || bad "netstats lists other than 4 workers: $(cat "$work/netstats.out")"
[ "$sum" = "$sent" ] || { bad "workers received $sum frames, $sent were sent"; cat "$work/netstats.out"; }
busy=$(sed -n 's/.* recvd=\([1-9][0-9]*\) .*/\1/p' "$work/netstats.out" | wc -l)
[ "$busy" -ge 2 ] || bad "the frontend spread $pcap over $busy worker(s), expected several"
# status asks the running frontend: it read every frame from its tap, dropped none
"$ctl" status "$topo" --run-dir "$run" >"$work/status-mid.out" 2>&1 || bad "status after traffic exited non-zero"
fpk=$(awk '$1 == "frontend" {print $6 "/" $7}' "$work/status-mid.out")
[ "$fpk" = "$sent/0" ] || bad "status: frontend packets/drops $fpk, expected $sent/0"

# 2b. unpaced, into a ring nobody drains: the frontend stopped (SIGSTOP),
#     web.pcap's 1000 frames at full speed into a 512-frame AF_PACKET ring
fepid=$(awk '$1 == "frontend" {print $4}' "$work/status-mid.out")
case $fepid in '' | *[!0-9]*) bad "no frontend pid in status"; fepid= ;; esac
if [ -n "$fepid" ]; then
    kill -STOP "$fepid"
    sent2=$(ip netns exec "$fens" python3 "$src/test/e2e/pcap_inject.py" tap0 "$pcap" --gap-every 0 \
        2>"$work/inject2.err")
    kill -CONT "$fepid"
    case $sent2 in '' | *[!0-9]*) bad "unpaced inject failed: $(cat "$work/inject2.err")"; sent2=0 ;; esac
    total=$((sent + sent2))
    i=0
    while [ $i -lt 40 ]; do
        "$ctl" netstats "$topo" --run-dir "$run" >"$work/netstats2.out" 2>&1
        fline=$(grep '^ *frontend:' "$work/netstats2.out")
        frecv=$(echo "$fline" | sed -n 's/.* recvd=\([0-9]*\) .*/\1/p')
        fmiss=$(echo "$fline" | sed -n 's/.* dropped=\([0-9]*\) .*/\1/p')
        [ -n "$frecv" ] && [ $((frecv + fmiss)) -ge "$total" ] && break
        sleep 0.25
        i=$((i + 1))
    done
    if [ -z "$frecv" ] || [ $((frecv + fmiss)) != "$total" ] || [ "$fmiss" -eq 0 ]; then
        bad "injected $total, frontend in ${frecv:-?} + kernel drops ${fmiss:-?}: $(cat "$work/netstats2.out")"
    else
        echo "ok   unpaced: injected $total = frontend in $frecv + counted kernel drops $fmiss"
    fi
    "$ctl" status "$topo" --run-dir "$run" >"$work/status-late.out" 2>&1
    fpk=$(awk '$1 == "frontend" {print $6 "/" $7}' "$work/status-late.out")
    [ "$fpk" = "$frecv/$fmiss" ] || bad "status: frontend packets/drops $fpk, netstats said $frecv/$fmiss"
    # what the frontend read all reached the workers
    wsum=$(grep -v '^ *frontend:' "$work/netstats2.out" | sed -n 's/.* recvd=\([0-9]*\) .*/\1/p' | awk '{s += $1} END {print s + 0}')
    i=0
    while [ "$wsum" -lt "${frecv:-0}" ] && [ $i -lt 20 ]; do
        sleep 0.5
        "$ctl" netstats "$topo" --run-dir "$run" >"$work/netstats2.out" 2>&1
        wsum=$(grep -v '^ *frontend:' "$work/netstats2.out" | sed -n 's/.* recvd=\([0-9]*\) .*/\1/p' | awk '{s += $1} END {print s + 0}')
        i=$((i + 1))
    done
    [ "$wsum" = "${frecv:-0}" ] || bad "the frontend read $frecv frames, the workers received $wsum"
fi

# 2c. liveness after start: worker-2 killed; the manager drops it from its
#     view (after its dead-after), the follower tells the frontend `down 2`
# fe_workers: "K:LIVE:PACKETS ..." per worker, from the frontend's control socket
fe_workers() {
    python3 - "$run/frontend.ctl" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"stats\n")
b = b""
while not b.endswith(b"\n"):
    d = s.recv(1 << 16)
    if not d:
        break
    b += d
ws = json.loads(b)["workers"]
print(" ".join("%d:%s:%d" % (w["worker"], str(w["live"]).lower(), w["packets"]) for w in ws))
EOF
}
# sums of the per-worker packet counters of a fe_workers line, and worker 2's
tot() { echo "$1" | tr ' ' '\n' | awk -F: '{s += $3} END {print s + 0}'; }
two() { echo "$1" | tr ' ' '\n' | awk -F: '$1 == 2 {print $3}'; }
# send_counted NAME: web.pcap into tap0 (paced); sets nsent (frames sent) and
# before / after (fe_workers around it, after: once the frontend has sent
# them all on, or 10 s)
send_counted() {
    before=$(fe_workers)
    nsent=$(ip netns exec "$fens" python3 "$src/test/e2e/pcap_inject.py" tap0 "$pcap" --gap-every 2 \
        2>"$work/inject-$1.err")
    case $nsent in '' | *[!0-9]*) bad "inject ($1) failed: $(cat "$work/inject-$1.err")"; nsent=0 ;; esac
    i=0
    after=$(fe_workers)
    while [ $(($(tot "$after") - $(tot "$before"))) -lt "$nsent" ] && [ $i -lt 40 ]; do
        sleep 0.25
        i=$((i + 1))
        after=$(fe_workers)
    done
}
# wait_line PATTERN FILE: true once FILE has a line matching PATTERN (30 s at most)
wait_line() {
    i=0
    until grep -q "$1" "$2" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 60 ] || return 1
        sleep 0.5
    done
}
w2=$(awk '$1 == "worker-2" {print $4}' "$work/status-mid.out")
case $w2 in '' | *[!0-9]*) bad "no pid for worker-2 in status"; w2= ;; esac
flog="$run/logs/liveness.log"
if [ -n "$w2" ]; then
    # the frontend frozen meanwhile: the follower says it is not taken, and
    # relays the down once the frontend answers again
    [ -z "$fepid" ] || kill -STOP "$fepid"
    kill -9 "$w2"
    if [ -n "$fepid" ]; then
        wait_line "the frontend did not take 'down 2' (Connection timed out, .*): trying again at every step" "$flog" ||
            bad "the follower did not say the frozen frontend refused 'down 2': $(cat "$flog")"
        kill -CONT "$fepid"
        wait_line "the frontend answers again" "$flog" ||
            bad "the follower did not say the frontend answers again: $(cat "$flog")"
    fi
    wait_line "worker-2: down in the view of manager 'manager' (epoch [0-9]*, [0-9.]* s after start): frontend told 'down 2' (ok" "$flog" ||
        bad "30 s after worker-2 was killed the follower has not told the frontend: $(cat "$flog")"
    send_counted down
    case " $before " in *" 2:false:"*) ;; *) bad "the frontend does not list worker 2 as down: $before" ;; esac
    moved=$(($(tot "$after") - $(tot "$before")))
    if [ "$nsent" -gt 0 ] && [ "$moved" = "$nsent" ] && [ "$(two "$after")" = "$(two "$before")" ]; then
        echo "ok   worker-2 killed: the follower told the frontend 'down 2'; the $nsent frames sent then went to workers 1, 3 and 4"
    else
        bad "after down 2: $nsent frames sent, $moved reached workers, worker 2 none? ($before -> $after)"
    fi
fi
"$ctl" status "$topo" --run-dir "$run" >"$work/status-dead.out" 2>&1 && bad "status exits 0 with worker-2 crashed"
[ "$(awk '$1 == "worker-2" {print $5}' "$work/status-dead.out")" = crashed ] ||
    bad "status does not call worker-2 crashed: $(cat "$work/status-dead.out")"
[ "$(awk '$1 == "liveness" {print $5}' "$work/status-dead.out")" = running ] ||
    bad "status does not list the follower running: $(cat "$work/status-dead.out")"

# 2d. follow --restart, run by hand in place of start's follower: worker-2,
#     crashed and out of the view, is started again (a new pid); the manager
#     takes it back, the frontend is told `up 2`, and worker 2 gets frames
#     again; then logger-1 is killed and started again
fpid=$(awk '$1 == "liveness" {print $4}' "$work/status-dead.out")
case $fpid in '' | *[!0-9]*) bad "no pid for the follower in status"; fpid= ;; esac
if [ -n "$fpid" ] && [ -n "$w2" ]; then
    kill -TERM "$fpid"
    i=0
    while alive "$fpid" && [ $i -lt 40 ]; do sleep 0.25; i=$((i + 1)); done
    alive "$fpid" && bad "the follower did not stop on SIGTERM"
    "$ctl" follow "$topo" --run-dir "$run" --restart >"$work/follow2.out" 2>&1 &
    f2=$!
    wait_line "worker-2: up again in the view of manager 'manager' (epoch [0-9]*, [0-9.]* s after start): frontend told 'up 2' (ok" "$work/follow2.out" ||
        bad "30 s after follow --restart, worker-2 is not back: $(cat "$work/follow2.out")"
    grep -q "worker-2: crashed (pid $w2 gone) and out of the manager's view; started again as pid [0-9]* (restart 1)" "$work/follow2.out" ||
        bad "follow --restart did not say it restarted worker-2: $(cat "$work/follow2.out")"
    "$ctl" status "$topo" --run-dir "$run" >"$work/status-back.out" 2>&1
    nw2=$(awk '$1 == "worker-2" && $5 == "running" {print $4}' "$work/status-back.out")
    [ -n "$nw2" ] && [ "$nw2" != "$w2" ] || bad "status does not show worker-2 running again: $(cat "$work/status-back.out")"
    send_counted up
    case " $before " in *" 2:true:"*) ;; *) bad "the frontend does not list worker 2 as live again: $before" ;; esac
    back=$(($(two "$after") - $(two "$before")))
    if [ "$nsent" -gt 0 ] && [ $(($(tot "$after") - $(tot "$before"))) = "$nsent" ] && [ "$back" -gt 0 ]; then
        echo "ok   follow --restart: worker-2 started again and taken back ('up 2'); $back of $nsent later frames went to it"
    else
        bad "after up 2: $nsent frames sent, worker 2 got $back ($before -> $after)"
    fi
    # and a crashed logger: no view is waited for; the new one adds to the
    # log of the old, and writes what the workers send from then on
    lg=$(awk '$1 == "logger-1" && $5 == "running" {print $4}' "$work/status-back.out")
    if [ -n "$lg" ]; then
        kill -KILL "$lg"
        wait_line "logger-1: crashed (pid $lg gone); started again as pid [0-9]* (restart 1)" "$work/follow2.out" ||
            bad "30 s after logger-1 was killed, follow --restart has not started it again: $(cat "$work/follow2.out")"
        "$ctl" status "$topo" --run-dir "$run" >"$work/status-lg.out" 2>&1
        nlg=$(awk '$1 == "logger-1" && $5 == "running" {print $4}' "$work/status-lg.out")
        [ -n "$nlg" ] && [ "$nlg" != "$lg" ] || bad "status does not show logger-1 running again: $(cat "$work/status-lg.out")"
        [ "$(grep -c '^# sluicectl started:' "$run/logs/logger-1.log")" = 2 ] ||
            bad "the restarted logger's log does not follow its predecessor's: $(head -n 3 "$run/logs/logger-1.log")"
    else
        bad "no running logger-1 in status: $(cat "$work/status-back.out")"
    fi
    kill -TERM "$f2"
    wait "$f2" || bad "follow --restart exited non-zero on SIGTERM"
    grep -q "liveness source: the view of manager 'manager'" "$work/follow2.out" ||
        bad "follow --restart did not say what it heard: $(tail -n 2 "$work/follow2.out")"
fi

# 3. stop: every node stopped, no process left, the logger wrote conn rows
"$ctl" stop "$topo" --run-dir "$run" >"$work/stop.out" 2>&1 || bad "stop failed: $(cat "$work/stop.out")"
# reverse start order: the follower stops first, then the frontend; the logger last
[ "$(awk '{print $1}' "$work/stop.out" | head -n 2 | tr '\n' ' ')" = "liveness frontend " ] ||
    bad "stop did not start with the follower and the frontend: $(cat "$work/stop.out")"
grep -q "liveness source: the view of manager 'manager', [1-9][0-9]* views (last epoch [0-9]*), [0-9]* repeats, 0 stale, 0 other messages, 0 garbage, 0 failed handshakes" "$flog" ||
    bad "the follower's log does not end with what it heard: $(tail -n 3 "$flog")"
[ "$(awk '{n = $1} END {print n}' "$work/stop.out")" = logger-1 ] || bad "stop did not end with the logger"
"$ctl" status "$topo" --run-dir "$run" >"$work/status2.out" 2>&1 || bad "status after stop exited non-zero"
[ "$(awk 'NR > 1 && $5 == "stopped"' "$work/status2.out" | wc -l)" = 8 ] ||
    bad "not every node is stopped: $(cat "$work/status2.out")"
for p in ${pids:-}; do
    alive "$p" && bad "pid $p still exists after stop"
done
conn=$(find "$out" -name conn.log 2>/dev/null | head -n 1)
if [ -z "$conn" ]; then
    bad "no conn.log under $out"
else
    rows=$(grep -vc '^#' "$conn")
    [ "$rows" -gt 0 ] || bad "$conn has no rows"
fi
# the conn rows came at stop, to the logger started again in 2d
[ -z "${nlg:-}" ] || grep -q "logger done: [1-9][0-9]* records" "$run/logs/logger-1.log" ||
    bad "the restarted logger wrote nothing: $(tail -n 3 "$run/logs/logger-1.log")"

# the nodes' logs and sluicectl's output (an ASan+UBSan build reports
# there): no sanitizer error
ls "$run"/logs/*.log >/dev/null 2>&1 || bad "no node logs under $run/logs"
san=$(grep -l "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$run"/logs/*.log "$work"/*.out "$work"/inject.err 2>/dev/null)
[ -z "$san" ] || { bad "sanitizer reports in: $san"; grep -h -A5 "Sanitizer\|runtime error:" $san | head -n 30; }

# 4. down: no namespace, link or process of the lab remains
"$ctl" down "$topo" --run-dir "$run" >"$work/down.out" 2>&1 || bad "down failed: $(cat "$work/down.out")"
left=$(nss)
[ -z "$left" ] || bad "namespaces left after down: $left"
links_after=$(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort)
new=$(printf '%s\n' "$links_after" | grep -vxF "$links_before" | grep -E '^(tap|in|fp|sp|up|m|eth|br|mgmt)[0-9]')
[ -z "$new" ] || bad "links left in this namespace after down: $new"
for p in ${pids:-}; do
    alive "$p" && bad "pid $p exists after down"
done

[ $fail = 0 ] && echo "PASS: start/status/netstats/stop on cpacket-direct ($sent frames of web.pcap via tap0, ${rows:-0} conn rows)"
exit $fail
