# Shared helpers for the frontend end-to-end tests (sourced, POSIX sh).
# Callers set BUILD and SRC from $1 and $2 first.
#
#   fe_setup              checks for the binaries (exit 77 with a reason when
#                         frontend-dpdk was not built), makes $T (a temp dir
#                         removed at exit)
#   fe_run ARGS...        runs frontend-dpdk with test EAL options; stdout to
#                         $T/out.json, stderr to $T/err.txt; EAL args come from
#                         $FE_EAL (set per call: vdevs), app args follow
#   fe_pcaps              prints the pcaps to test: every pcaps/*.pcap, or (when
#                         the directory has none) small synthesized ones
#   fe_json FILE EXPR     prints a Python expression over the last JSON line
#                         of FILE (bound to d)

FE_BIN="$BUILD/frontend/frontend-dpdk"
FE_CHECK="$BUILD/test/e2e/fe_check"
FE_SYNTH="$BUILD/emulator/sluice-synth"
FE_HASHES="sym5 sym3 sym2 inner-sym5 inner-sym3 inner-sym2 toeplitz"
# One DPDK file prefix per test script: its runs are sequential.
FE_PREFIX="fe-test-$$"

fe_setup() {
    if [ ! -x "$FE_BIN" ]; then
        echo "SKIP: $FE_BIN not built (libdpdk-dev missing?)"
        exit 77
    fi
    for b in "$FE_CHECK" "$FE_SYNTH"; do
        if [ ! -x "$b" ]; then
            echo "FAIL: $b not built"
            exit 1
        fi
    done
    command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }
    T=$(mktemp -d "${TMPDIR:-/tmp}/fe-test.XXXXXX")
    trap 'fe_cleanup' EXIT INT TERM
}

# DPDK keeps an (empty, with --no-shconf) runtime dir per file prefix.
fe_runtime_dir() {
    if [ "$(id -u)" -eq 0 ]; then
        echo "/var/run/dpdk/$1"
    else
        echo "${XDG_RUNTIME_DIR:-/tmp}/dpdk/$1"
    fi
}

fe_cleanup() {
    rm -rf "$(fe_runtime_dir "$FE_PREFIX")" "$T"
}

# Test EAL options: 2 lcores, no hugepages, no PCI, the script's file prefix.
fe_eal() {
    echo "-l 0-1 --no-huge -m ${FE_MEM:-256} --no-pci --no-shconf --file-prefix $FE_PREFIX --log-level=*:warning"
}

fe_run() {
    # shellcheck disable=SC2046,SC2086
    "$FE_BIN" $(fe_eal) $FE_EAL -- "$@" >"$T/out.json" 2>"$T/err.txt"
}

fe_pcaps() {
    found=0
    for f in "$SRC"/pcaps/*.pcap; do
        [ -f "$f" ] || continue
        echo "$f"
        found=1
    done
    [ "$found" -eq 1 ] && return 0
    mkdir -p "$T/pcaps"
    for p in web dns scan fragments tunnels vlan elephants malformed synflood mix; do
        "$FE_SYNTH" --profile "$p" --seed 7 --packets 2000 -w "$T/pcaps/$p.pcap" || return 1
        echo "$T/pcaps/$p.pcap"
    done
}

fe_json() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip().startswith('{')]
d = json.loads(lines[-1])
print(eval(sys.argv[2]))
EOF
}

fe_fail() {
    echo "FAIL: $*"
    [ -f "$T/err.txt" ] && sed -n '1,20p' "$T/err.txt"
    exit 1
}
