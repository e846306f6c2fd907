#!/bin/sh
# The switch stage and real output ports (net_pcap tx_pcap files): a topology
# file puts workers with their own MACs on two output ports (one section with
# lb_procs = 2); each port's file holds exactly its workers' frames, the
# summary JSON counts what the files hold, no connection is split, and the
# topology's hash is used. --output direct sends everything out one port.
# --stats-interval prints interval lines before the summary.
set -eu
BUILD=$1
SRC=$2
. "$SRC/test/e2e/frontend_lib.sh"
fe_setup

pcap="$T/mix.pcap"
# the mix without snaplen-cut frames: tx_pcap records only what is sent
"$FE_SYNTH" --profile web --seed 11 --packets 3000 -w "$pcap" || fe_fail synth
cat >"$T/topo.ini" <<'EOF'
# two ports, four workers
[frontend]
hash = sym3
output = switch
lcores = 0-1

[alpha]
type = worker
mac = 0a:00:00:00:00:10
port = 1

[beta]
type = worker
mac = 0a:00:00:00:00:20
port = 1

[gamma]
type = worker
lb_procs = 2
mac = 0a:00:00:00:00:30
port = 2
EOF
MACS="0a:00:00:00:00:10,0a:00:00:00:00:20,0a:00:00:00:00:30,0a:00:00:00:00:31"

# split_by_mac TXFILE...: writes $T/w/worker-K.pcap by destination MAC
split_by_mac() {
    rm -rf "$T/w"
    mkdir -p "$T/w"
    python3 - "$T/w" "$MACS" "$@" <<'EOF'
import struct, sys
d, macs, files = sys.argv[1], sys.argv[2].split(","), sys.argv[3:]
macs = [bytes(int(x, 16) for x in m.split(":")) for m in macs]
out = {m: [] for m in macs}
hdr = None
for fn in files:
    b = open(fn, 'rb').read()
    hdr = hdr or b[:24]
    o = 24
    while o + 16 <= len(b):
        cl = struct.unpack('<I', b[o + 8:o + 12])[0]
        rec = b[o:o + 16 + cl]
        o += 16 + cl
        out.setdefault(rec[16:22], []).append((fn, rec))
for k, m in enumerate(macs):
    with open("%s/worker-%d.pcap" % (d, k + 1), 'wb') as f:
        f.write(hdr)
        for fn, rec in out[m]:
            f.write(rec)
# which file each worker's frames were in
for k, m in enumerate(macs):
    print(k + 1, sorted(set(fn for fn, _ in out[m])))
stray = sum(len(v) for m, v in out.items() if m not in macs)
print("stray", stray)
EOF
}

FE_EAL="--vdev net_pcap0,rx_pcap=$pcap --vdev net_pcap1,tx_pcap=$T/p1.pcap --vdev net_pcap2,tx_pcap=$T/p2.pcap"
fe_run --topology "$T/topo.ini" || fe_fail "switch run"
split_by_mac "$T/p1.pcap" "$T/p2.pcap" >"$T/files.txt"
cat >"$T/want.txt" <<EOF
1 ['$T/p1.pcap']
2 ['$T/p1.pcap']
3 ['$T/p2.pcap']
4 ['$T/p2.pcap']
stray 0
EOF
diff "$T/want.txt" "$T/files.txt" >/dev/null || fe_fail "frames on the wrong port: $(cat "$T/files.txt")"
"$FE_CHECK" --input "$pcap" --dir "$T/w" --workers 4 --hash sym3 --worker-mac "$MACS" --no-ts \
    >"$T/check.json" || fe_fail "switch output: $(cat "$T/check.json")"
python3 - "$T/out.json" "$T/check.json" <<'EOF' || exit 1
import json, sys
s = json.loads([l for l in open(sys.argv[1]) if l.startswith('{')][-1])
c = json.load(open(sys.argv[2]))
assert s["hash"] == "sym3" and s["output"] == "switch", (s["hash"], s["output"])
assert [w["mac"] for w in s["workers"]] == ["0a:00:00:00:00:10", "0a:00:00:00:00:20",
                                             "0a:00:00:00:00:30", "0a:00:00:00:00:31"]
assert [w["port"] for w in s["workers"]] == [1, 1, 2, 2], s["workers"]
assert [w["packets"] for w in s["workers"]] == c["per_worker"], (s["workers"], c["per_worker"])
assert [l["sent"] for l in s["links"]] == [c["per_worker"][0] + c["per_worker"][1],
                                           c["per_worker"][2] + c["per_worker"][3]], s["links"]
assert s["in"]["packets"] == c["inputs"] and s["out"]["packets"] == c["matched"]
assert s["drops"]["total"] == c["dropped"] == 0 and s["balanced"]
EOF
echo "ok: switch stage: workers 1,2 on port 1, workers 3,4 on port 2, summary = files"

# --output direct: one port carries every worker's frames
rm -f "$T/p1.pcap" "$T/p2.pcap"
fe_run --topology "$T/topo.ini" --output direct || fe_fail "direct run"
[ ! -s "$T/p2.pcap" ] || [ "$(wc -c <"$T/p2.pcap")" -le 24 ] || fe_fail "direct mode used port 2"
split_by_mac "$T/p1.pcap" >"$T/files.txt"
grep -q "stray 0" "$T/files.txt" || fe_fail "direct: frames with other MACs"
"$FE_CHECK" --input "$pcap" --dir "$T/w" --workers 4 --hash sym3 --worker-mac "$MACS" --no-ts \
    >"$T/check.json" || fe_fail "direct output: $(cat "$T/check.json")"
[ "$(fe_json "$T/out.json" 'd["links"][0]["sent"]')" = "$(fe_json "$T/check.json" 'd["matched"]')" ] ||
    fe_fail "direct: summary sent differs from the file"
echo "ok: direct output: every frame out port 1 with its worker's MAC"

# interval lines: valid JSON, counts never go down, the summary comes last
FE_EAL="--vdev net_pcap0,rx_pcap=$pcap"
fe_run --write-pcaps "$T/o" --pace 30x --stats-interval 0.1 || fe_fail "interval run"
python3 - "$T/out.json" <<'EOF' || exit 1
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
iv = [l for l in lines if l["type"] == "interval"]
assert lines[-1]["type"] == "summary" and len(iv) >= 3, [l["type"] for l in lines]
pk = [l["in"]["packets"] for l in iv] + [lines[-1]["in"]["packets"]]
assert pk == sorted(pk) and pk[-1] == 3000, pk
for l in iv:
    assert l["in"]["packets"] == l["out"]["packets"] + l["drops"]["total"] + \
        l["in_flight"]["held_fragments"] + l["in_flight"]["queued"], l
EOF
echo "ok: --stats-interval lines, each one balanced"

# an endless input (net_pcap infinite_rx) into net_null ports: --time ends the
# run, and so does `stop` on the control socket; both drain and balance
FE_EAL="--vdev net_pcap0,rx_pcap=$pcap,infinite_rx=1 --vdev net_null0,no-rx=1 --vdev net_null1,no-rx=1"
FE_MEM=512 fe_run --workers 8 --time 0.5 || fe_fail "--time run"
python3 - "$T/out.json" <<'PY' || exit 1
import json, sys
s = json.loads([l for l in open(sys.argv[1]) if l.startswith('{')][-1])
assert s["type"] == "summary" and s["in"]["packets"] > 3000, s["in"]
assert s["out"]["packets"] == s["in"]["packets"] == sum(l["sent"] for l in s["links"]), s
assert s["balanced"] and s["drops"]["total"] == 0, s["drops"]
PY
# shellcheck disable=SC2046,SC2086
FE_MEM=512 "$FE_BIN" $(FE_MEM=512 fe_eal) $FE_EAL -- --workers 8 --ctl "$T/stop.sock" \
    >"$T/out.json" 2>"$T/err.txt" &
pid=$!
python3 - "$T/stop.sock" <<'PY' || { kill "$pid"; fe_fail "stop via control socket"; }
import socket, sys, time
for _ in range(200):
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sys.argv[1])
        break
    except OSError:
        time.sleep(0.05)
time.sleep(0.3)
s.sendall(b"stop\n")
assert s.makefile().readline().strip() == "ok stopping"
PY
wait "$pid" || fe_fail "frontend exit $? after stop"
[ "$(fe_json "$T/out.json" 'd["balanced"] and d["in"]["packets"] > 0')" = True ] ||
    fe_fail "after stop: $(tail -c 300 "$T/out.json")"
echo "ok: endless input stopped by --time and by 'stop', drained and balanced"
