#!/bin/sh
# frontend-dpdk --write-pcaps over every pcap in pcaps/ and every hash mode:
# no connection at two workers (both directions, fragments, ICMP errors
# quoting it, inner flows in inner modes), in = out + counted drops, each
# output frame an input frame with only the destination MAC changed and the
# timestamp kept, and the summary JSON equal to what fe_check finds in the
# files (distinct flows per worker within the estimate's error, also over
# 150000 SYNs). fe_check itself is shown to catch a split flow and a changed
# byte.
set -eu
BUILD=$1
SRC=$2
. "$SRC/test/e2e/frontend_lib.sh"
fe_setup

fe_pcaps >"$T/list" || fe_fail "cannot make test pcaps"
[ -s "$T/list" ] || fe_fail "no pcaps to test"

# The frontend's summary against fe_check's reading of the files and input.
# Distinct flows per worker are an estimate (HyperLogLog); in the 5-tuple
# modes, whose flows are fe_check's connections, within 10% (+3) for a
# capture without weirds (a frame cut inside its TCP header is a flow of its
# own to the frontend, and no connection to fe_check).
compare() {
    python3 - "$T/out.json" "$T/check.json" "$1" "$2" <<'EOF'
import json, sys
s = json.loads([l for l in open(sys.argv[1]) if l.startswith('{')][-1])
c = json.loads(open(sys.argv[2]).read())
what, mode = sys.argv[3], sys.argv[4]
err = []
def eq(name, a, b):
    if a != b:
        err.append("%s: summary %r, files %r" % (name, a, b))
eq("in.packets", s["in"]["packets"], c["inputs"])
eq("out.packets", s["out"]["packets"], c["matched"])
eq("drops.total", s["drops"]["total"], c["dropped"])
eq("balanced", s["balanced"], True)
eq("per worker packets", [w["packets"] for w in s["workers"]], c["per_worker"])
eq("links sent", [l["sent"] for l in s["links"]], c["per_worker"])
i = s["inputs"][0]
eq("non_ip", i["non_ip"], c["input_no_ip"])
eq("fragments", i["fragments"], c["input_fragments"])
eq("weird", i["weird"], c["input_weird"])
eq("weirds by name", i["weirds"], c["input_weirds"])
if mode in ("sym5", "inner-sym5") and c["input_weird"] == 0:
    est = [w["flows"] for w in s["workers"]]
    if any(abs(e - t) > 0.1 * t + 3 for e, t in zip(est, c["flows_per_worker"])):
        err.append("flows per worker: summary %r, files %r" % (est, c["flows_per_worker"]))
    open(sys.argv[2] + ".flows", "w").write("%d\n" % sum(c["flows_per_worker"]))
if err:
    print("FAIL %s: %s" % (what, "; ".join(err)))
    sys.exit(1)
EOF
}

runs=0
flow_runs=0
while read -r pcap; do
    name=$(basename "$pcap" .pcap)
    for h in $FE_HASHES; do
        rm -rf "$T/o"
        FE_EAL="--vdev net_pcap0,rx_pcap=$pcap"
        fe_run --workers 4 --hash "$h" --write-pcaps "$T/o" || fe_fail "$name $h: frontend exit $?"
        if ! "$FE_CHECK" --input "$pcap" --dir "$T/o" --workers 4 --hash "$h" >"$T/check.json"; then
            fe_fail "$name $h: $(cat "$T/check.json")"
        fi
        rm -f "$T/check.json.flows"
        compare "$name $h" "$h" || exit 1
        [ ! -s "$T/check.json.flows" ] || flow_runs=$((flow_runs + 1))
        runs=$((runs + 1))
    done
done <"$T/list"
echo "ok: $runs runs ($(wc -l <"$T/list") pcaps x 7 hash modes), no split connection, all accounted"
# Enough flows that every counter register is set and the skip of ranks no
# register can take (fwd.c, hll_floor) is in play: 150000 SYNs.
"$FE_SYNTH" --profile synflood --seed 3 --packets 150000 -w "$T/many.pcap" || fe_fail "synth"
rm -rf "$T/o" "$T/check.json.flows"
FE_EAL="--vdev net_pcap0,rx_pcap=$T/many.pcap"
fe_run --workers 4 --hash sym5 --write-pcaps "$T/o" || fe_fail "many flows: frontend exit $?"
"$FE_CHECK" --input "$T/many.pcap" --dir "$T/o" --workers 4 --hash sym5 >"$T/check.json" ||
    fe_fail "many flows: $(cat "$T/check.json")"
compare "many flows sym5" sym5 || exit 1
[ "$(cat "$T/check.json.flows")" -gt 40000 ] || fe_fail "many flows: $(cat "$T/check.json.flows") flows"
flow_runs=$((flow_runs + 1))
# the flow estimates were compared on the clean captures in both 5-tuple modes
[ "$flow_runs" -ge 10 ] || fe_fail "flows per worker compared in only $flow_runs runs"
echo "ok: flows per worker within 10% of the connections found, in $flow_runs runs (one of $(cat "$T/check.json.flows") flows)"

# The checker catches what it exists to catch: move one frame of a connection
# that has others at worker 1 to worker 2 (MAC rewritten to worker 2's), and
# flip one payload byte in another file.
pcap=$(grep web "$T/list" | head -n 1 || true)
[ -n "$pcap" ] || pcap=$(head -n 1 "$T/list")
rm -rf "$T/o"
FE_EAL="--vdev net_pcap0,rx_pcap=$pcap"
fe_run --workers 4 --write-pcaps "$T/o" || fe_fail "tamper base run"
python3 - "$T/o" <<'EOF'
import struct, sys, collections
d = sys.argv[1]
def read(fn):
    b = open(fn, 'rb').read()
    hdr, o, recs = b[:24], 24, []
    while o + 16 <= len(b):
        s, us, cl, l = struct.unpack('<IIII', b[o:o + 16])
        recs.append([b[o:o + 16], bytearray(b[o + 16:o + 16 + cl])])
        o += 16 + cl
    return hdr, recs
def write(fn, hdr, recs):
    with open(fn, 'wb') as f:
        f.write(hdr)
        for h, p in recs:
            f.write(h + bytes(p))
def key(p):  # IPv4 TCP/UDP 5-tuple of an untagged frame, else None
    if len(p) < 38 or p[12:14] != b'\x08\x00' or p[23] not in (6, 17):
        return None
    ihl = (p[14] & 15) * 4
    p = bytes(p)
    a, b = (p[26:30], p[14 + ihl:16 + ihl]), (p[30:34], p[16 + ihl:18 + ihl])
    return (p[23],) + tuple(sorted([a, b]))
h1, r1 = read(d + '/worker-1.pcap')
h2, r2 = read(d + '/worker-2.pcap')
cnt = collections.Counter(key(p) for _, p in r1)
i = next(i for i, (_, p) in enumerate(r1) if key(p) is not None and cnt[key(p)] >= 2)
h, p = r1.pop(i)
p[0:6] = bytes([2, 0, 0, 0, 0, 2])
r2.append([h, p])
write(d + '/worker-1.pcap', h1, r1)
write(d + '/worker-2.pcap', h2, r2)
h3, r3 = read(d + '/worker-3.pcap')
r3[-1][1][-1] ^= 0xff
write(d + '/worker-3.pcap', h3, r3)
EOF
if "$FE_CHECK" --input "$pcap" --dir "$T/o" --workers 4 --hash sym5 >"$T/check.json"; then
    fe_fail "fe_check passed tampered output: $(cat "$T/check.json")"
fi
python3 - "$T/check.json" <<'EOF' || exit 1
import json, sys
c = json.load(open(sys.argv[1]))
if c["split"] < 1 or c["unmatched_outputs"] != 1:
    print("FAIL: fe_check missed the tampering: %s" % c)
    sys.exit(1)
EOF
echo "ok: fe_check reports a moved frame as a split connection and a changed byte as unmatched"
