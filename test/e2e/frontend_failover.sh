#!/bin/sh
# Worker liveness: marking worker 3 of 4 down moves exactly its frames and no
# other; marking it up again restores the first mapping exactly. Tested
# through --down, through the control socket (`down`/`up` sent while the
# frontend waits for `start`, so the outcome is deterministic), and through
# the telemetry command /sluice/worker_down. With every worker down, every
# frame is dropped and counted as no_worker.
set -eu
BUILD=$1
SRC=$2
. "$SRC/test/e2e/frontend_lib.sh"
fe_setup

pcap="$T/mix.pcap"
"$FE_SYNTH" --profile mix --seed 3 --packets 4000 -w "$pcap" || fe_fail "synth"
FE_EAL="--vdev net_pcap0,rx_pcap=$pcap"

# run NAME ARGS...: a --write-pcaps run into $T/NAME, mapping in $T/NAME.map
run() {
    name=$1
    shift
    rm -rf "${T:?}/$name"
    fe_run --workers 4 --write-pcaps "$T/$name" "$@" || fe_fail "$name: frontend exit $?"
    "$FE_CHECK" --input "$pcap" --dir "$T/$name" --workers 4 --hash sym5 --map "$T/$name.map" \
        >"$T/$name.check" || fe_fail "$name: $(cat "$T/$name.check")"
    cp "$T/out.json" "$T/$name.json"
}

# ctl_client SOCK CMD...: sends each command, prints each reply line
ctl_client() {
    python3 - "$@" <<'EOF'
import socket, sys, time
path = sys.argv[1]
for _ in range(200):
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit("no control socket at " + path)
f = s.makefile('rw')
for cmd in sys.argv[2:]:
    f.write(cmd + "\n")
    f.flush()
    print(f.readline().rstrip("\n"))
EOF
}

# bg_run NAME CLIENT-COMMANDS...: frontend waiting for `start`, driven by the client
bg_run() {
    name=$1
    shift
    rm -rf "${T:?}/$name"
    sock="$T/$name.sock"
    # shellcheck disable=SC2046,SC2086
    "$FE_BIN" $(fe_eal) $FE_EAL -- --workers 4 --write-pcaps "$T/$name" --ctl "$sock" \
        --wait-start $EXTRA >"$T/$name.json" 2>"$T/err.txt" &
    pid=$!
    "$@" >"$T/$name.replies" || { kill "$pid"; fe_fail "$name: control client failed"; }
    wait "$pid" || fe_fail "$name: frontend exit $?"
    "$FE_CHECK" --input "$pcap" --dir "$T/$name" --workers 4 --hash sym5 --map "$T/$name.map" \
        >"$T/$name.check" || fe_fail "$name: $(cat "$T/$name.check")"
}

same() {
    cmp -s "$T/$1.map" "$T/$2.map" || fe_fail "$1 and $2 map frames differently"
    for w in 1 2 3 4; do
        cmp -s "$T/$1/worker-$w.pcap" "$T/$2/worker-$w.pcap" ||
            fe_fail "$1 and $2 wrote different worker-$w.pcap"
    done
}

run base
run down3 --down 3
python3 - "$T/base.map" "$T/down3.map" <<'EOF' || exit 1
import sys
a = [int(x) for x in open(sys.argv[1])]
b = [int(x) for x in open(sys.argv[2])]
moved = sum(1 for x in a if x == 3)
bad = [(i + 1, x, y) for i, (x, y) in enumerate(zip(a, b)) if (x == 3) != (x != y) or y == 3 or (x and not y)]
if moved == 0:
    sys.exit("FAIL: worker 3 got no frames in the base run; the test would prove nothing")
if bad:
    sys.exit("FAIL: records moved wrongly (record, before, after): %s" % bad[:5])
print("ok: --down 3 moved exactly worker 3's %d frames, %d others stayed" % (moved, len(a) - moved))
EOF

# the control socket: down before start equals --down; up restores the base
EXTRA=""
bg_run ctl_down ctl_client "$T/ctl_down.sock" "down 3" "workers" "start"
grep -q '^ok worker 3 down$' "$T/ctl_down.replies" || fe_fail "ctl reply: $(cat "$T/ctl_down.replies")"
python3 -c "
import json,sys
w = json.loads(open('$T/ctl_down.replies').read().splitlines()[1])['workers']
assert [x['live'] for x in w] == [True, True, False, True], w
" || fe_fail "ctl 'workers' does not show worker 3 down"
same ctl_down down3
EXTRA="--down 3"
bg_run ctl_up ctl_client "$T/ctl_up.sock" "up 3" "start"
same ctl_up base
echo "ok: control socket down/up before start gives the --down mapping / the first mapping"

# bad control input gets an error line, the connection stays usable
EXTRA=""
bg_run ctl_bad ctl_client "$T/ctl_bad.sock" "down 9" "frobnicate" "stats" "start"
python3 - "$T/ctl_bad.replies" <<'EOF' || exit 1
import json, sys
r = open(sys.argv[1]).read().splitlines()
assert r[0].startswith("error:") and r[1].startswith("error:"), r
s = json.loads(r[2])
assert s["type"] == "stats" and s["n_workers"] == 4 and s["in"]["packets"] == 0, s
assert r[3] == "ok starting", r
EOF
same ctl_bad base
echo "ok: bad control commands answered with errors; stats answered as JSON"

# telemetry: /sluice/worker_down,3 on DPDK's telemetry socket
tel_client() {
    python3 - "$@" <<'EOF'
import json, os, socket, sys, time
rundir, ctl = sys.argv[1], sys.argv[2]
path = os.path.join(rundir, "dpdk_telemetry.v2")
for _ in range(200):
    if os.path.exists(path) and os.path.exists(ctl):
        break
    time.sleep(0.05)
else:
    sys.exit("no telemetry socket at " + path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(path)
json.loads(s.recv(16384))  # the greeting
def cmd(c):
    s.send(c.encode())
    return json.loads(s.recv(65536))
print(json.dumps(cmd("/sluice/worker_down,3")))
print(json.dumps(cmd("/sluice/workers")))
print(json.dumps(cmd("/sluice/stats")))
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(ctl)
c.sendall(b"start\n")
print(c.makefile().readline().strip())
EOF
}
bg_run tel tel_client "$(fe_runtime_dir "$FE_PREFIX")" "$T/tel.sock"
python3 - "$T/tel.replies" <<'EOF' || exit 1
import json, sys
r = open(sys.argv[1]).read().splitlines()
down = json.loads(r[0])["/sluice/worker_down"]
assert down == {"worker": 3, "live": 0}, down
w = json.loads(r[1])["/sluice/workers"]
assert w["live"] == [1, 1, 0, 1] and w["n_workers"] == 4, w
st = json.loads(r[2])["/sluice/stats"]
assert st["in_packets"] == 0 and "drops_no_worker" in st, st
EOF
same tel down3
echo "ok: telemetry /sluice/worker_down,3 gives the --down mapping"

# every worker down: nothing goes out, everything counted
run alldown --down 1 --down 2 --down 3 --down 4
python3 - "$T/alldown.json" <<'EOF' || exit 1
import json, sys
s = json.loads([l for l in open(sys.argv[1]) if l.startswith('{')][-1])
assert s["out"]["packets"] == 0 and s["drops"]["no_worker"] == s["in"]["packets"] > 0, s
assert s["balanced"], s
EOF
echo "ok: with every worker down all $(fe_json "$T/alldown.json" 'd["in"]["packets"]') frames are no_worker drops"
