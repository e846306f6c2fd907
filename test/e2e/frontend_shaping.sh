#!/bin/sh
# Link shaping: the elephants profile (about 90 Mbit/s for 1.6 s) through one
# 10M link at --pace 1x drops close to the excess over the link rate (within
# 10%, in Ethernet L1 bytes as the link counts them), none at 1G. Shaping runs
# on pcap time, so topspeed drops exactly the same frames; and a direct
# output port (net_pcap tx_pcap) carrying the same traffic drops the same
# number as a worker link.
set -eu
BUILD=$1
SRC=$2
. "$SRC/test/e2e/frontend_lib.sh"
fe_setup

pcap="$T/elephants.pcap"
"$FE_SYNTH" --profile elephants --seed 5 --packets 20000 --duration 2 -w "$pcap" || fe_fail synth
FE_EAL="--vdev net_pcap0,rx_pcap=$pcap"

# excess RATE_BPS WRITTEN_PCAP: checks dropped L1 bytes against the excess
excess() {
    python3 - "$pcap" "$2" "$1" "$T/out.json" <<'EOF'
import json, struct, sys
def frames(fn):
    b = open(fn, 'rb').read()
    o, out = 24, []
    while o + 16 <= len(b):
        s, us, cl, l = struct.unpack('<IIII', b[o:o + 16])
        out.append((s + us / 1e6, l))
        o += 16 + cl
    return out
l1 = lambda l: max(l + 4, 64) + 20
inp, outp, rate = frames(sys.argv[1]), frames(sys.argv[2]), float(sys.argv[3])
span = inp[-1][0] - inp[0][0]
offered = sum(l1(l) for _, l in inp)
passed = sum(l1(l) for _, l in outp)
excess = offered - rate / 8 * span
dropped = offered - passed
s = json.loads([l for l in open(sys.argv[4]) if l.startswith('{')][-1])
print("offered %.0f B over %.2f s, link %.0f B: excess %.0f B, dropped %.0f B (%d frames)"
      % (offered, span, rate / 8 * span, excess, dropped, len(inp) - len(outp)))
assert s["drops"]["shaper"] == s["drops"]["total"] == len(inp) - len(outp), s["drops"]
assert s["balanced"], s
if excess <= 0:
    assert dropped == 0, "drops below the link rate"
else:
    assert abs(dropped - excess) <= 0.10 * excess, "dropped %.0f not within 10%% of %.0f" % (dropped, excess)
EOF
}

rm -rf "$T/o10"
fe_run --workers 1 --write-pcaps "$T/o10" --link-rate 10M --pace 1x || fe_fail "10M run"
excess 10000000 "$T/o10/worker-1.pcap" || fe_fail "10M: drops not close to the excess"
"$FE_CHECK" --input "$pcap" --dir "$T/o10" --workers 1 --hash sym5 >"$T/check.json" ||
    fe_fail "10M output: $(cat "$T/check.json")"
drops10=$(fe_json "$T/out.json" 'd["drops"]["shaper"]')

rm -rf "$T/o1g"
fe_run --workers 1 --write-pcaps "$T/o1g" --link-rate 1G --pace 1x || fe_fail "1G run"
[ "$(fe_json "$T/out.json" 'd["drops"]["total"]')" = 0 ] || fe_fail "drops at 1G"
excess 1000000000 "$T/o1g/worker-1.pcap" || fe_fail "1G"
echo "ok: 10M link drops $drops10 frames, close to the excess; 1G drops none"

rm -rf "$T/ots"
fe_run --workers 1 --write-pcaps "$T/ots" --link-rate 10M || fe_fail "topspeed run"
cmp -s "$T/o10/worker-1.pcap" "$T/ots/worker-1.pcap" || fe_fail "topspeed shaped differently"
echo "ok: topspeed drops the same frames as --pace 1x"

FE_EAL="--vdev net_pcap0,rx_pcap=$pcap --vdev net_pcap1,tx_pcap=$T/tx.pcap"
fe_run --workers 4 --output direct --link-rate 10M || fe_fail "direct port run"
[ "$(fe_json "$T/out.json" 'd["links"][0]["shaper_drops"]')" = "$drops10" ] ||
    fe_fail "direct port dropped $(fe_json "$T/out.json" 'd["links"][0]["shaper_drops"]'), worker link $drops10"
sent=$(python3 -c "
import struct; b=open('$T/tx.pcap','rb').read(); o=24; n=0
while o+16<=len(b): n+=1; o+=16+struct.unpack('<I',b[o+8:o+12])[0]
print(n)")
[ "$sent" = "$(fe_json "$T/out.json" 'd["links"][0]["sent"]')" ] || fe_fail "tx_pcap has $sent frames"
echo "ok: a shaped direct output port drops as the worker link did ($drops10), sends $sent"
