#!/bin/sh
# sluice-synth end to end: every profile yields a valid pcap of exactly the
# asked packet count whose contents an independent reader accepts (tcpdump
# and test/e2e/synth_check.py: checksums, lengths, TCP sequence numbers,
# reassembled fragments); each profile holds what it promises; the same
# arguments give the same bytes and another seed other bytes; every option
# acts; bad arguments give one line on stderr and exit status 2.
# Usage: sh synth_profiles.sh BUILD_ROOT SOURCE_ROOT
set -u
build=$1
src=$2
synth=$build/emulator/sluice-synth
check=$src/test/e2e/synth_check.py

fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}
ok() { echo "ok: $*"; }

[ -x "$synth" ] || { echo "FAIL: $synth was not built"; exit 1; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing (scripts/install-deps.sh installs it)"; exit 77; }
command -v tcpdump >/dev/null || { echo "SKIP: tcpdump missing (scripts/install-deps.sh installs it)"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# json FILE EXPR: evaluates a Python expression over the checker's summary d.
json() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# synth NAME ARGS...: writes $tmp/NAME.pcap and its summary $tmp/NAME.json.
synth() {
    name=$1
    shift
    "$synth" "$@" -w "$tmp/$name.pcap" 2>"$tmp/$name.err"
    rc=$?
    if [ $rc -ne 0 ] || grep -q 'runtime error' "$tmp/$name.err"; then
        fail "$name: sluice-synth $* exited $rc ($(cat "$tmp/$name.err"))"
        return 1
    fi
    python3 "$check" "$tmp/$name.pcap" >"$tmp/$name.json" || {
        fail "$name: checker could not read the pcap"
        return 1
    }
}

# expect NAME DESCRIPTION PYTHON-CONDITION
expect() {
    if [ "$(json "$tmp/$1.json" "$3")" = True ]; then ok "$1: $2"; else fail "$1: $2 ($3)"; fi
}

N=1500
for p in web dns scan fragments tunnels vlan elephants malformed synflood mix; do
    synth "$p" --profile "$p" --seed 7 --packets $N || continue
    # libpcap's own reader (tcpdump) agrees on the count.
    got=$(tcpdump --count -r "$tmp/$p.pcap" 2>/dev/null | awk '{print $1}')
    [ "$got" = $N ] && ok "$p: tcpdump reads $N packets" || fail "$p: tcpdump read '$got' packets, not $N"
    expect "$p" "pcap 2.4, Ethernet, $N records in time order" \
        "d['version'] == '2.4' and d['linktype'] == 1 and d['packets'] == $N and d['out_of_order'] == 0"
    bad=$(tcpdump -vv -nn -r "$tmp/$p.pcap" 2>/dev/null |
        grep -ciE 'cksum [^ ]* \(incorrect|bad cksum|bad [a-z0-9]* cksum')
    if [ "$p" = malformed ]; then
        [ "$bad" -gt 0 ] && ok "$p: tcpdump flags $bad bad checksums" || fail "$p: no bad checksum"
        expect "$p" "at least 12 kinds of inconsistency" "len(d['problems']) >= 12"
        expect "$p" "snaplen-cut frames" "d['snaplen_cut'] > 0"
        expect "$p" "unknown ethertype and IP protocol" \
            "any(k.startswith('ethertype_') for k in d['counts']) and any(k.startswith('ipproto_25') for k in d['counts'])"
    else
        [ "$bad" = 0 ] && ok "$p: tcpdump finds no bad checksum" || fail "$p: tcpdump flags $bad bad checksums"
        # mix holds some malformed flows on purpose
        if [ "$p" = mix ]; then
            expect "$p" "only deliberate problems (<= 3% of packets)" "sum(d['problems'].values()) <= $N * 3 // 100"
        else
            expect "$p" "checksums, lengths and TCP sequence numbers consistent" "d['problems'] == {}"
        fi
    fi
done

# What each profile promises.
expect web "TCP over IPv4 and IPv6 with SYNs, FINs, RSTs" \
    "d['counts']['ipv4'] > 0 and d['counts']['ipv6'] > 0 and min(d['counts']['tcp_syn'], d['counts']['tcp_fin'], d['counts']['tcp_rst']) > 0"
tcpdump -nn -r "$tmp/web.pcap" 2>/dev/null >"$tmp/web.txt"
for w in 'GET /' 'HTTP/1.1 200 OK' 'Flags \[S\]' 'Flags \[R\.\]' 'Flags \[F\.\]'; do
    grep -q "$w" "$tmp/web.txt" && ok "web: has '$w'" || fail "web: no '$w'"
done
# One flow in ten retransmits a segment: a longer run is sure to hold some.
synth webretx --profile web --seed 7 --packets 6000 &&
    expect webretx "retransmissions (data resent with the same sequence number)" "d['counts'].get('tcp_retransmission', 0) > 0"

tcpdump -nn -r "$tmp/dns.pcap" 2>/dev/null >"$tmp/dns.txt"
for w in ' A? ' ' AAAA? ' ' PTR? ' ' MX? ' ' TXT? ' 'NXDomain' 'CNAME' 'Flags \[S\]' 'udp port .* unreachable'; do
    grep -q "$w" "$tmp/dns.txt" && ok "dns: has '$w'" || fail "dns: no '$w'"
done
# tcpdump parses every DNS message, compression pointers included.
if grep -qE '\[\|domain\]|<BAD|<LOOP>' "$tmp/dns.txt"; then fail "dns: tcpdump finds malformed DNS"; else ok "dns: tcpdump parses every DNS message"; fi

expect scan "an address scan: >= 30 hosts on one port, the first 30 within a minute" \
    "d['scan']['addr_scan_hosts'] >= 30 and d['scan']['addr_scan_30_hosts_us'] < 60000000"
expect scan "a port scan: >= 20 ports of one host" "d['scan']['port_scan_ports'] >= 20"
tcpdump -nn -r "$tmp/scan.pcap" 2>/dev/null >"$tmp/scan.txt"
grep -q 'Flags \[S\.\]' "$tmp/scan.txt" && grep -q 'Flags \[R\.\], seq 0' "$tmp/scan.txt" &&
    ok "scan: open (SYN/ACK) and closed (RST/ACK) ports" || fail "scan: open or closed ports missing"

expect fragments "IPv4 and IPv6 fragments, reassembled, some out of order" \
    "d['counts']['ipv4_fragment'] > 0 and d['counts']['ipv6_fragment'] > 0 and d['counts']['reassembled'] > 0 and d['counts']['fragments_out_of_order'] > 0"
expect fragments "fragmented UDP, ICMP and TCP besides unfragmented packets" \
    "min(d['counts'].get(k, 0) for k in ('udp', 'icmp', 'icmp6', 'tcp')) > 0 and d['counts']['ipv4'] + d['counts']['ipv6'] > d['counts']['ipv4_fragment'] + d['counts']['ipv6_fragment']"

expect tunnels "GRE, GRE-TEB, VXLAN, GENEVE, GTP-U, IP-in-IP and 6in4" \
    "all(d['counts'].get('tun_' + t, 0) > 0 for t in ('gre', 'gre_teb', 'vxlan', 'geneve', 'gtpu', 'ipip', '6in4'))"
expect tunnels "inner TCP handshakes and inner UDP" "d['counts']['tcp_syn'] > 0 and d['counts']['udp'] > 0"
expect vlan "802.1Q, QinQ, MPLS stacks of 1-3 labels, PPPoE" \
    "all(d['counts'].get(k, 0) > 0 for k in ('vlan_0x8100', 'vlan_0x88a8', 'mpls_labels_1', 'mpls_labels_2', 'mpls_labels_3', 'pppoe'))"
expect elephants "three connections carry most of the bytes" "d['top3_conn_byte_share'] > 0.5"
expect synflood "SYNs from > 500 sources to one server" "d['scan']['syn_sources_one_server'] > 500"
expect mix "web, DNS, tunnels, VLANs and fragments together" \
    "d['counts']['tcp_syn'] > 0 and d['counts']['dns'] > 0 and any(k.startswith('tun_') for k in d['counts']) and d['counts'].get('vlan_0x8100', 0) + d['counts'].get('vlan_0x88a8', 0) + d['counts'].get('pppoe', 0) > 0 and d['counts']['reassembled'] > 0"

# Same arguments, same bytes; another seed, other bytes.
synth mix2 --profile mix --seed 7 --packets $N &&
    { cmp -s "$tmp/mix.pcap" "$tmp/mix2.pcap" && ok "same arguments: identical bytes" || fail "same arguments: different bytes"; }
synth mix3 --profile mix --seed 8 --packets $N &&
    { cmp -s "$tmp/mix.pcap" "$tmp/mix3.pcap" && fail "another seed: same bytes" || ok "another seed: different bytes"; }

# Options.
synth one --profile web --packets 1 && expect one "--packets 1: one packet" "d['packets'] == 1"
synth odd --profile mix --packets 12345 --seed 3 && expect odd "--packets 12345: exact" "d['packets'] == 12345"
synth start --profile dns --packets 10 --start 1234567890.5 &&
    expect start "--start: first timestamp" "d['first_ts'] == 1234567890500000"
synth short --profile web --packets 3000 --duration 5 && synth long --profile web --packets 3000 --duration 500 &&
    { [ "$(json "$tmp/short.json" "d['span_us']")" -lt "$(json "$tmp/long.json" "d['span_us']")" ] &&
        ok "--duration: a longer duration spreads the flows wider" || fail "--duration has no effect"; }
synth small --profile web --packets 2000 --sizes 64 && expect small "--sizes 64: no frame above 100 bytes" "d['max_len'] <= 100"
synth jumbo --profile web --packets 2000 --sizes 9000 && expect jumbo "--sizes 9000: jumbo frames" "d['max_len'] > 1514"
synth imix --profile web --packets 2000 --sizes imix &&
    expect imix "--sizes imix: small, medium and large packets" "len(d['sizes']) == 3 and d['problems'] == {}"
if synth hosts --profile web --packets 2000 --hosts 5; then
    n=$(tcpdump -nn -r "$tmp/hosts.pcap" 2>/dev/null | grep -oE '10\.1\.[0-9]+\.[0-9]+' | sort -u | wc -l)
    [ "$n" -ge 1 ] && [ "$n" -le 5 ] && ok "--hosts 5: $n client addresses" || fail "--hosts 5: $n client addresses"
fi
if synth flows --profile dns --packets 100000 --flows 5; then
    got=$(json "$tmp/flows.json" "d['packets']")
    [ "$got" -gt 0 ] && [ "$got" -lt 100 ] && grep -q 'note: every one of the 5 flows ended' "$tmp/flows.err" &&
        ok "--flows 5: stops when the 5 flows end ($got packets, noted)" || fail "--flows 5: $got packets"
fi
"$synth" --profile web --packets 5 -w - >"$tmp/stdout.pcap" 2>/dev/null &&
    [ "$(tcpdump --count -r "$tmp/stdout.pcap" 2>/dev/null | awk '{print $1}')" = 5 ] &&
    ok "-w -: writes to stdout" || fail "-w - does not write a pcap to stdout"

"$synth" --help >"$tmp/help" 2>&1 && ok "--help exits 0" || fail "--help exit status"
for p in web dns scan fragments tunnels vlan elephants malformed synflood mix; do
    grep -q "^  $p " "$tmp/help" || fail "--help does not list $p"
done

# Bad arguments: exit 2, one line on stderr, nothing on stdout.
bad() {
    "$synth" "$@" >"$tmp/bad.out" 2>"$tmp/bad.err"
    rc=$?
    lines=$(wc -l <"$tmp/bad.err")
    if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && [ ! -s "$tmp/bad.out" ]; then
        ok "bad args ($*): $(cat "$tmp/bad.err")"
    else
        fail "bad args ($*): exit $rc, $lines stderr lines"
    fi
}
W="-w $tmp/bad.pcap"
bad
bad $W
bad --profile web
bad --profile nope $W
bad --profile web --packets 0 $W
bad --profile web --packets abc $W
bad --profile web --packets -5 $W
bad --profile web --packets 10x $W
bad --profile web --seed x $W
bad --profile web --flows 0 $W
bad --profile web --hosts 0 $W
bad --profile web --duration 0 $W
bad --profile web --duration 1.2.3 $W
bad --profile web --sizes 10 $W
bad --profile web --sizes huge $W
bad --profile web --start yesterday $W
bad --profile web --start 5000000000 $W
bad --profile web --duration 0.0000001 $W
bad --profile web --bogus $W
bad --profile web -x $W
bad --profile web $W extra
bad --profile web --packets
[ ! -e "$tmp/bad.pcap" ] && ok "bad args write no file" || fail "bad args left a file"

"$synth" --profile web -w "$tmp/no/such/dir/x.pcap" 2>"$tmp/io.err"
rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <"$tmp/io.err")" -eq 1 ] && ok "unwritable output: exit 1, $(cat "$tmp/io.err")" ||
    fail "unwritable output: exit $rc"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all passed"
