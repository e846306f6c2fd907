# Helpers for the cluster end-to-end tests (sourced). Sets NODE, SRC, T.
#   cl_init BUILD_ROOT SOURCE_ROOT
#   cl_standalone PCAP DIR [ARGS...]     the reference run
#   cl_cluster DIR ARGS...               sluice-node local-cluster --log-dir DIR ARGS
#   cl_diff A B                          logdiff.py with the cluster's relaxations
#   cl_port RUN_DIR NODE                 a node's port from the generated topology
#   cl_fail MESSAGE                      print, exit 1

cl_init() {
    BUILD=$1
    SRC=$2
    NODE="$BUILD/cluster/sluice-node"
    if ! command -v python3 >/dev/null 2>&1; then
        echo "SKIP: python3 is not installed (logdiff.py compares the logs)"
        exit 77
    fi
    if [ ! -x "$NODE" ]; then
        echo "FAIL: $NODE was not built"
        exit 1
    fi
    T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-cluster.XXXXXX") || exit 1
    trap 'rm -rf "$T"' EXIT INT TERM
}

cl_fail() {
    echo "FAIL: $*"
    exit 1
}

cl_standalone() {
    pcap=$1
    dir=$2
    shift 2
    mkdir -p "$dir"
    "$NODE" standalone -r "$pcap" --log-dir "$dir" -C --seed 1 "$@" >"$dir.out" 2>&1 ||
        { cat "$dir.out"; cl_fail "standalone on $pcap"; }
}

cl_cluster() {
    dir=$1
    shift
    if ! "$NODE" local-cluster --log-dir "$dir" -C --seed 1 "$@" >"$dir.out" 2>&1; then
        cat "$dir.out"
        for f in "$dir"/.cluster/*.log; do
            [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }
        done
        cl_fail "local-cluster $*"
    fi
}

# weird.log: Zeek's weird de-duplication is per node, so a cluster logs each
# worker's first occurrence: standalone's rows must all be there, more may.
# CaptureLoss notices: each worker measures its own capture.
cl_diff() {
    python3 "$SRC/test/e2e/logdiff.py" --superset weird --ignore-note CaptureLoss:: "$1" "$2"
}

cl_port() {
    awk -v s="[$2]" '$0 == s { f = 1; next } /^\[/ { f = 0 } f && /^port/ { print $3 }' \
        "$1/topology.ini"
}
