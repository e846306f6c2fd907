#!/bin/sh
# Faults, each checked against standalone on the same pcap (logdiff.py):
#  1. a proxy freezes and is killed -9 mid-run (3 proxies): the ring closes,
#     its workers re-attach and re-send, known hosts/services still logged
#     once each;
#  1b. the only proxy is killed: the workers do not wait for acknowledgements
#     nobody can give; the known items left are counted (known_pending) and
#     local-cluster fails saying how many;
#  2. a logger freezes, is killed -9 and restarted mid-run: no record lost,
#     none written twice (batches in flight were re-sent);
#  3. garbage on every listening ZeroMQ port (raw bytes, and a correct ZMTP
#     handshake followed by malformed messages): an error line on each node
#     and the run goes on to equal logs;
#  4. a logger starting in a directory where its predecessor died inside a
#     batch cuts that batch off (journal), keeps the old files, and
#     acknowledges without writing a batch it had written before.
# usage: sh cluster_faults.sh BUILD_ROOT SOURCE_ROOT
set -u
. "$(dirname "$0")/cluster_lib.sh"
cl_init "$1" "$2"

pcap="$SRC/pcaps/scan.pcap"
[ -f "$pcap" ] || cl_fail "$pcap is missing"
cl_standalone "$pcap" "$T/sa"
fail=0
check() { # what dir
    if cl_diff "$T/sa" "$2" >"$2.diff"; then
        echo "ok: $1"
    else
        echo "FAIL: $1:"
        cat "$2.diff"
        fail=1
    fi
}
sum_stat() { # run_dir glob counter
    cat "$1"/state/$2.stats 2>/dev/null | awk -v c="$3" '$1 == c { s += $2 } END { print s + 0 }'
}

# workers read at 400 packets/s: about 2.5 s of input per worker
slow="--worker-rate 400 --dead-after 1 --hb-interval 0.1"

# 1. a dead proxy
cl_cluster "$T/p" --workers 3 --proxies 3 --loggers 2 -r "$pcap" $slow --kill proxy-2@0.8
check "proxy-2 killed mid-run" "$T/p"
grep -q "proxy proxy-2 down" "$T/p/.cluster/manager.log" ||
    { echo "FAIL: the manager never declared proxy-2 down"; fail=1; }
taken=$(sum_stat "$T/p/.cluster" 'proxy-[13]' ring_taken_over)
resent=$(sum_stat "$T/p/.cluster" 'proxy-[13]' ring_resent)
echo "   proxies 1 and 3 took over $taken elements, re-sent $resent circuits"
[ "$taken" -gt 0 ] || { echo "FAIL: nobody took over proxy-2's elements"; fail=1; }
grep -q "re-sent" "$T"/p/.cluster/worker-*.log ||
    { echo "FAIL: no worker re-attached after proxy-2 died"; fail=1; }

# 1b. the only proxy dead: the ring has nobody left to acknowledge known
#     items, so the workers stop waiting for it and say how many they lost;
#     local-cluster counts them and fails (their known_* rows are missing)
mkdir -p "$T/p1"
if "$NODE" local-cluster --log-dir "$T/p1" -C --seed 1 --workers 2 --proxies 1 --loggers 1 \
    -r "$pcap" $slow --kill proxy-1@0.8 >"$T/p1.out" 2>&1; then
    echo "FAIL: local-cluster exited 0 although its only proxy died with known items in flight"
    fail=1
fi
lost=$(sum_stat "$T/p1/.cluster" 'worker-*' known_pending)
said=$(sed -n 's/.*error: worker-[0-9]*: \([0-9]*\) known-item insertions never acknowledged (no live proxy left).*/\1/p' "$T/p1.out" |
    awk '{ s += $1 } END { print s + 0 }')
wsaid=$(grep -h "no live proxy left" "$T"/p1/.cluster/worker-*.log | sed 's/.*: \([0-9]*\) known-item.*/\1/' |
    awk '{ s += $1 } END { print s + 0 }')
if [ "$lost" -gt 0 ] && [ "$said" = "$lost" ] && [ "$wsaid" = "$lost" ] && grep -q "worker done" "$T"/p1/.cluster/worker-1.log; then
    echo "ok: the only proxy killed: workers finished, $lost known-item insertions counted lost (known_pending), local-cluster failed saying so"
else
    echo "FAIL: only proxy killed: known_pending $lost, local-cluster said $said, workers said $wsaid"
    tail -n 5 "$T/p1.out"
    fail=1
fi

# 2. a logger restarted
cl_cluster "$T/l" --workers 3 --proxies 2 --loggers 2 -r "$pcap" $slow --restart logger-1@0.8
check "logger-1 killed and restarted mid-run" "$T/l"
resent=$(sum_stat "$T/l/.cluster" '*' ship_resent)
echo "   $resent log batches re-sent after the logger came back"
[ "$resent" -gt 0 ] || { echo "FAIL: no batch was in flight when logger-1 died (no re-send)"; fail=1; }
[ "$(grep -c 'logger up' "$T/l/.cluster/logger-1.log")" -eq 2 ] ||
    { echo "FAIL: logger-1 did not start twice"; fail=1; }

# 3. garbage on every port, during a run
run="$T/g/.cluster"
"$NODE" local-cluster --log-dir "$T/g" -C --seed 1 --workers 3 --proxies 2 --loggers 2 \
    -r "$pcap" --worker-rate 100 >"$T/g.out" 2>&1 &
lc=$!
i=0
while ! grep -q "proxy up" "$run/proxy-2.log" 2>/dev/null; do
    i=$((i + 1))
    [ $i -gt 100 ] && { kill $lc; cat "$T/g.out"; cl_fail "the cluster did not come up"; }
    sleep 0.1
done
poke() { python3 "$SRC/test/e2e/zpoke.py" "$@" >>"$T/poke.out" 2>&1 || echo "   zpoke $* failed"; }
p=$(cl_port "$run" manager)
poke raw 127.0.0.1 "$p"
poke zmtp 127.0.0.1 "$p" PUSH
poke raw 127.0.0.1 $((p + 1))
for n in logger-1 logger-2 proxy-1 proxy-2; do
    p=$(cl_port "$run" $n)
    poke raw 127.0.0.1 "$p"
    poke zmtp 127.0.0.1 "$p" DEALER
done
kill -0 $lc 2>/dev/null || echo "   (the cluster had finished before the last poke)"
if ! wait $lc; then
    cat "$T/g.out"
    cl_fail "local-cluster failed after garbage"
fi
for n in logger-1 logger-2 proxy-1 proxy-2 manager; do
    if grep -q "error: garbage on" "$run/$n.log"; then
        echo "ok: $n: $(grep -c 'error: garbage on' "$run/$n.log") error lines, went on"
    else
        echo "FAIL: $n printed no error line for the garbage"
        fail=1
    fi
done
grep -q "error: garbage on the view port" "$run/manager.log" ||
    { echo "FAIL: no error line for garbage on the manager's view port"; fail=1; }
check "garbage on every port" "$T/g"

# 4. journal recovery
j="$T/j"
mkdir -p "$j/logs"
lp=$(cl_port "$T/p/.cluster" logger-1) # a port that was free a moment ago
printf '[manager]\ntype = manager\nport = %s\n[logger-1]\ntype = logger\nport = %s\n' \
    $((lp + 3)) "$lp" >"$j/topo.ini"
printf 'one whole record\n' >"$j/logs/conn.log"          # 17 bytes, batch (w, 1)
printf 'B w 1 conn=0\nC\nB w 2 conn=17\n' >"$j/logs/.sluice-journal"
printf 'half a rec' >>"$j/logs/conn.log"                # batch (w, 2) interrupted
"$NODE" logger --topology "$j/topo.ini" --node logger-1 --log-dir "$j/logs" --state-dir "$j" \
    --rotate 0 2>"$j/err" &
lg=$!
i=0
while ! grep -q "logger up" "$j/err"; do
    i=$((i + 1))
    [ $i -gt 50 ] && { kill $lg; cat "$j/err"; cl_fail "the logger did not start"; }
    sleep 0.1
done
python3 "$SRC/test/e2e/zpoke.py" batch 127.0.0.1 "$lp" w 1 >/dev/null || fail=1 # written before
python3 "$SRC/test/e2e/zpoke.py" batch 127.0.0.1 "$lp" w 2 >/dev/null || fail=1 # was cut off
cp "$j/logs/conn.log" "$j/before-hup"
kill -HUP $lg # rotate: (w, 2) goes into a rotated file, closed
i=0
while [ "$(ls "$j"/logs/conn.*.log | wc -l)" -lt 2 ] && [ $i -lt 50 ]; do
    i=$((i + 1))
    sleep 0.1
done
python3 "$SRC/test/e2e/zpoke.py" batch 127.0.0.1 "$lp" w 3 >/dev/null || fail=1
kill $lg
wait $lg || { echo "FAIL: the logger did not stop cleanly"; fail=1; }
old=$(grep -l -x 'one whole record' "$j"/logs/conn.*.log 2>/dev/null | head -n 1)
if [ -n "$old" ] && [ "$(wc -c <"$old")" -eq 17 ]; then
    echo "ok: the interrupted batch was cut off, the old file kept as $(basename "$old")"
else
    echo "FAIL: the old conn.log was not kept cut back to 17 bytes"
    ls -la "$j/logs"
    fail=1
fi
written=$(awk '$1 == "log_batches" { print $2 }' "$j/logger-1.stats")
dups=$(awk '$1 == "log_dup_batches" { print $2 }' "$j/logger-1.stats")
rotated=$(grep -l 'from zpoke' "$j"/logs/conn.*.log 2>/dev/null | head -n 1)
if [ -n "$rotated" ] && [ "$(grep -c 'from zpoke' "$rotated")" -eq 1 ] &&
    tail -n 1 "$rotated" | grep -q '^#close' && [ "$(grep -vc '^#' "$j/logs/conn.log")" -eq 1 ] &&
    tail -n 1 "$j/logs/conn.log" | grep -q '^#close'; then
    echo "ok: SIGHUP rotated conn.log (closed, as $(basename "$rotated")); SIGTERM closed the new one"
else
    echo "FAIL: SIGHUP rotation / SIGTERM close"
    ls -la "$j/logs"
    fail=1
fi
if [ "$written" = 2 ] && [ "$dups" = 1 ]; then
    echo "ok: batch (w, 1) acknowledged, not written again; (w, 2) and (w, 3) written once"
else
    echo "FAIL: after recovery: $written batches written, $dups repeats dropped"
    cat "$j/err"
    fail=1
fi
exit $fail
