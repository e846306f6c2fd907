#!/bin/sh
# bench/bundle.sh BUILD_DIR OUT_DIR: packs frontend-dpdk, sluice-synth and
# dpdk-testpmd with every shared library they load (glibc's loader included)
# into OUT_DIR, laid out like a build dir, so bench/frontend.sh can run on a
# bare machine that has no DPDK installed:
#
#   TESTPMD=OUT_DIR/bin/dpdk-testpmd sh bench/frontend.sh OUT_DIR
#
# With BUNDLE_PERF=1 it packs perf too (about 20 MB more), for
#   TESTPMD=OUT_DIR/bin/dpdk-testpmd PERF=OUT_DIR/bin/perf sh bench/profile.sh OUT_DIR
#
# DPDK's drivers are plugins: each wrapper passes -d with the ones its
# program does not already link (loading a driver twice breaks its probe).
set -eu
BUILD=${1:?build dir}
OUT=${2:?output dir}
PMDS=$(dirname "$(find /usr/lib -path '*pmds*' -name librte_net_pcap.so | head -n 1)")
TESTPMD=$(command -v dpdk-testpmd) || { echo "bundle: dpdk-testpmd not found" >&2; exit 1; }

rm -rf "$OUT"
mkdir -p "$OUT/lib" "$OUT/real" "$OUT/bin" "$OUT/pmds" "$OUT/pmds-tp" "$OUT/frontend" "$OUT/emulator"
cp -L "$BUILD/frontend/frontend-dpdk" "$BUILD/emulator/sluice-synth" "$TESTPMD" "$OUT/real/"
if [ "${BUNDLE_PERF:-0}" = 1 ]; then
    PERF=$(command -v perf) || { echo "bundle: perf not found (Debian package linux-perf)" >&2; exit 1; }
    cp -L "$PERF" "$OUT/real/perf"
fi
# A plugin also pulled in as a dependency (bus_vdev by net_pcap) would be
# loaded twice, from two paths, and register two buses: plugins are only
# the drivers a program neither links nor gets through another driver.
for d in net_pcap net_null mempool_ring; do
    for p in frontend-dpdk:pmds dpdk-testpmd:pmds-tp; do
        ldd "$OUT/real/${p%%:*}" | grep -q "librte_$d" || cp -L "$PMDS/librte_$d.so" "$OUT/${p#*:}/"
    done
done
ldd "$OUT"/real/* "$OUT"/pmds/* 2>/dev/null |
    awk '/=>/ { print $3 } /ld-linux/ { print $1 }' | sort -u |
    while read -r l; do [ -f "$l" ] && cp -L "$l" "$OUT/lib/"; done

wrap() { # wrap NAME PLUGIN_DIR DEST
    dflag=""
    [ -z "$2" ] || dflag="-d \"\$D/$2\""
    cat >"$3" <<W
#!/bin/sh
D=\$(cd "\$(dirname "\$0")/.." && pwd)
exec "\$D/lib/ld-linux-x86-64.so.2" --library-path "\$D/lib" "\$D/real/$1" $dflag "\$@"
W
    chmod +x "$3"
}
wrap frontend-dpdk pmds "$OUT/frontend/frontend-dpdk"
wrap dpdk-testpmd pmds-tp "$OUT/bin/dpdk-testpmd"
wrap sluice-synth "" "$OUT/emulator/sluice-synth"
[ ! -f "$OUT/real/perf" ] || wrap perf "" "$OUT/bin/perf"
du -sh "$OUT"
