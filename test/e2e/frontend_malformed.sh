#!/bin/sh
# The malformed profile (truncations at every layer, bad lengths, snaplen-cut
# and runt frames) goes through without a crash in every hash mode: every
# frame is written or counted as dropped, every frame the decoder finds
# weird is counted under its weird name. Then two inputs on two forwarding
# lcores (net_pcap with two rx_pcap files) sharing shaped worker links.
set -eu
BUILD=$1
SRC=$2
. "$SRC/test/e2e/frontend_lib.sh"
fe_setup

pcap="$T/malformed.pcap"
"$FE_SYNTH" --profile malformed --seed 9 --packets 6000 -w "$pcap" || fe_fail synth
FE_EAL="--vdev net_pcap0,rx_pcap=$pcap"

for h in $FE_HASHES; do
    rm -rf "$T/o"
    fe_run --workers 3 --hash "$h" --write-pcaps "$T/o" || fe_fail "$h: frontend exit $?"
    "$FE_CHECK" --input "$pcap" --dir "$T/o" --workers 3 --hash "$h" >"$T/check.json" ||
        fe_fail "$h: $(cat "$T/check.json")"
    python3 - "$T/out.json" "$T/check.json" "$h" <<'EOF' || exit 1
import json, sys
s = json.loads([l for l in open(sys.argv[1]) if l.startswith('{')][-1])
c = json.load(open(sys.argv[2]))
i = s["inputs"][0]
assert c["input_weird"] > 100, "the malformed profile should be full of weirds: %s" % c
assert i["weird"] == c["input_weird"] and i["weirds"] == c["input_weirds"], (i["weirds"], c["input_weirds"])
assert s["in"]["packets"] == c["inputs"] == s["out"]["packets"] + s["drops"]["total"], s
assert s["out"]["packets"] == c["matched"] and s["balanced"], s
EOF
done
echo "ok: malformed profile in 7 hash modes: $(fe_json "$T/check.json" 'd["input_weird"]') weird frames counted by name, all frames accounted"

# two inputs, two forwarding lcores (lcore 2 shares CPU 1), shared shaped links
"$FE_SYNTH" --profile elephants --seed 21 --packets 3000 --duration 1 -w "$T/a.pcap" || fe_fail synth
python3 - "$T/a.pcap" "$pcap" "$T/both.pcap" <<'EOF'
import sys
a, b = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
open(sys.argv[3], 'wb').write(a + b[24:])
EOF
rm -rf "$T/o"
# shellcheck disable=SC2086
"$FE_BIN" --lcores '0@0,1@1,2@1' --no-huge -m 512 --no-pci --no-shconf --file-prefix "$FE_PREFIX" \
    --log-level='*:warning' --vdev "net_pcap0,rx_pcap=$T/a.pcap,rx_pcap=$pcap" -- \
    --workers 4 --write-pcaps "$T/o" --link-rate 5M >"$T/out.json" 2>"$T/err.txt" ||
    fe_fail "two lcores: exit $?"
"$FE_CHECK" --input "$T/both.pcap" --dir "$T/o" --workers 4 --hash sym5 >"$T/check.json" ||
    fe_fail "two lcores: $(cat "$T/check.json")"
python3 - "$T/out.json" "$T/check.json" <<'EOF' || exit 1
import json, sys
s = json.loads([l for l in open(sys.argv[1]) if l.startswith('{')][-1])
c = json.load(open(sys.argv[2]))
assert s["forwarding_lcores"] == 2 and [i["packets"] for i in s["inputs"]] == [3000, 6000], s["inputs"]
assert s["in"]["packets"] == c["inputs"] and s["out"]["packets"] == c["matched"], (s["out"], c)
assert s["drops"]["total"] == s["drops"]["shaper"] == c["dropped"] > 0 and s["balanced"], s["drops"]
assert [l["sent"] for l in s["links"]] == c["per_worker"], (s["links"], c)
EOF
echo "ok: two forwarding lcores on two inputs, shared shaped links: $(fe_json "$T/out.json" 'd["drops"]["shaper"]') shaper drops, all accounted"
