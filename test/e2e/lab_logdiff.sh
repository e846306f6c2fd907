#!/bin/sh
# The equivalence checker itself (sluicectl logdiff, the comparison replay
# reports): rows compared without uid, in any order, sets in any order,
# tunnel_parents by the parent's 5-tuple, multiplicity counted, per-node
# logs (stats) ignored; TSV and JSON lines.
# Usage: sh lab_logdiff.sh BUILD_ROOT SOURCE_ROOT
set -u
. "$(dirname "$0")/lab_lib.sh"
lab_init "$1" "$2"
fail=0
bad() { echo "FAIL: $*"; fail=1; }
a="$work/a"; b="$work/b"
mkdir -p "$a" "$b"
tab=$(printf '\t')

hdr() { # path fields types
    printf '#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t%s\n#open\t2026-01-01-00-00-00\n#fields\t%s\n#types\t%s\n' "$1" "$2" "$3"
}
CF="ts${tab}uid${tab}id.orig_h${tab}id.orig_p${tab}id.resp_h${tab}id.resp_p${tab}proto${tab}service${tab}tunnel_parents"
CT="time${tab}string${tab}addr${tab}port${tab}addr${tab}port${tab}enum${tab}string${tab}set[string]"
{ hdr conn "$CF" "$CT"
  printf '1.0\tCa1\t10.0.0.1\t4789\t10.0.0.2\t4789\tudp\t-\t(empty)\n'
  printf '1.5\tCa3\t10.0.0.5\t4789\t10.0.0.6\t4789\tudp\t-\t(empty)\n'
  printf '2.0\tCa2\t192.168.1.1\t1000\t192.168.1.2\t80\ttcp\thttp\tCa1,Ca3\n'
  printf '3.0\tCa4\t1.1.1.1\t1\t2.2.2.2\t2\ttcp\t-\t-\n'
  printf '#close\t2026-01-01-00-00-09\n'; } >"$a/conn.log"
{ hdr conn "$CF" "$CT"
  printf '3.0\tCb4\t1.1.1.1\t1\t2.2.2.2\t2\ttcp\t-\t-\n'
  printf '2.0\tCb2\t192.168.1.1\t1000\t192.168.1.2\t80\ttcp\thttp\tCb3,Cb1\n'
  printf '1.5\tCb3\t10.0.0.5\t4789\t10.0.0.6\t4789\tudp\t-\t(empty)\n'
  printf '1.0\tCb1\t10.0.0.1\t4789\t10.0.0.2\t4789\tudp\t-\t(empty)\n'; } >"$b/conn.log"
{ hdr stats "ts${tab}peer${tab}pkts_proc" "time${tab}string${tab}count"; printf '1.0\tworker-1\t5\n'; } >"$a/stats.log"
{ hdr stats "ts${tab}peer${tab}pkts_proc" "time${tab}string${tab}count"; printf '1.0\tzeek\t9\n'; } >"$b/stats.log"
printf '{"ts":1.0,"host":"10.0.0.1"}\n{"ts":2.0,"host":"10.0.0.2"}\n' >"$a/known_hosts.log"
printf '{"ts":2.0,"host":"10.0.0.2"}\n{"ts":1.0,"host":"10.0.0.1"}\n' >"$b/known_hosts.log"
printf '{"ts":1.0,"host":"10.0.0.1","port_num":53,"service":["dns","x"]}\n' >"$a/known_services.log"
printf '{"ts":1.0,"host":"10.0.0.1","port_num":53,"service":["x","dns"]}\n' >"$b/known_services.log"

"$ctl" logdiff "$a" "$b" >"$work/o1.txt" 2>&1 || bad "equivalent directories reported different: $(cat "$work/o1.txt")"
grep -q "stats" "$work/o1.txt" && bad "stats.log (per node) was compared"

# a tunnel parent that is a different connection must count
sed -i 's/^1.5\tCb3\t10.0.0.5/1.5\tCb3\t10.0.0.7/' "$b/conn.log"
"$ctl" logdiff "$a" "$b" >"$work/o2.txt" 2>&1 && bad "different tunnel parents not found"
grep -q "conn .* only in $a: 2, only in $b: 2" "$work/o2.txt" || bad "expected 2+2 differing conn rows: $(cat "$work/o2.txt")"
sed -i 's/^1.5\tCb3\t10.0.0.7/1.5\tCb3\t10.0.0.5/' "$b/conn.log"

# a duplicated row (a split connection logged twice) must count
printf '3.0\tCa5\t1.1.1.1\t1\t2.2.2.2\t2\ttcp\t-\t-\n' >>"$a/conn.log"
"$ctl" logdiff "$a" "$b" >"$work/o3.txt" 2>&1 && bad "a duplicated row was not found"
grep -q "only in $a: 1, only in $b: 0" "$work/o3.txt" || bad "duplicate not counted once: $(cat "$work/o3.txt")"

# a missing JSON row
sed -i '1d' "$b/known_hosts.log"
"$ctl" logdiff "$a" "$b" >"$work/o4.txt" 2>&1
grep -q "known_hosts .* only in $a: 1" "$work/o4.txt" || bad "missing JSON row not found: $(cat "$work/o4.txt")"

# garbage: a row that does not match its header is an error, not a crash
printf 'garbage\n' >>"$b/conn.log"
"$ctl" logdiff "$a" "$b" >"$work/o5.txt" 2>&1
[ $? = 2 ] || bad "a malformed log did not give exit 2: $(cat "$work/o5.txt")"

[ $fail = 0 ] && echo "PASS: logdiff: uid-free, order-free, tunnel_parents by 5-tuple, multiplicity, TSV and JSON"
exit $fail
