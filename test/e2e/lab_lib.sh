# Helpers for the lab's end-to-end tests (sourced, POSIX sh).
# lab_init BUILD_ROOT SOURCE_ROOT sets: ctl node fe synth src work pcaps_dir;
# exits 77 with a reason when what the test needs is not built.

lab_init() {
    build=$1
    src=$2
    ctl="$build/emulator/sluicectl"
    node="$build/cluster/sluice-node"
    fe="$build/frontend/frontend-dpdk"
    synth="$build/emulator/sluice-synth"
    [ -x "$ctl" ] || { echo "SKIP: $ctl not built (libnl missing?)"; exit 77; }
    work=$(mktemp -d)
    trap 'lab_cleanup' EXIT INT TERM
}

lab_cleanup() {
    [ -n "${run:-}" ] && "$ctl" down --run-dir "$run" >/dev/null 2>&1
    rm -rf "$work"
}

# The cluster daemons and the frontend must exist for a replay.
lab_need_replay() {
    [ -x "$node" ] || { echo "SKIP: $node not built"; exit 77; }
    for role in logger manager proxy worker; do
        "$node" --help 2>/dev/null | grep -q "^ *$role " ||
            { echo "SKIP: sluice-node has no '$role' role yet"; exit 77; }
    done
    [ -x "$fe" ] || { echo "SKIP: $fe not built (libdpdk missing?)"; exit 77; }
}

# pcaps_dir: the committed pcaps, or freshly synthesized ones when none are
# committed yet (same commands: pcaps/regenerate.sh).
lab_pcaps() {
    if ls "$src"/pcaps/*.pcap >/dev/null 2>&1; then
        pcaps_dir="$src/pcaps"
    else
        [ -x "$synth" ] || { echo "SKIP: no pcaps in $src/pcaps and no sluice-synth"; exit 77; }
        pcaps_dir="$work/pcaps"
        sh "$src/pcaps/regenerate.sh" "$synth" "$pcaps_dir" >/dev/null 2>&1 ||
            { echo "FAIL: pcaps/regenerate.sh failed"; exit 1; }
    fi
}

# json_top FILE KEY: a top-level scalar of report.json (true/false/number).
json_top() {
    grep -o "\"$2\":[a-z0-9.]*" "$1" | head -n 1 | cut -d: -f2
}

# lab_topo NAME: a copy of topologies/NAME.ini under $work whose lab name is
# unique to this test run (labs of two test runs on one machine -- two build
# trees -- must not meet: namespaces, run directories, DPDK prefixes).
lab_topo() {
    n=$(printf '%s' "$1" | cut -c1-6)
    sed "s/^name = .*/name = $n$$/" "$src/topologies/$1.ini" >"$work/$1.ini"
    echo "$work/$1.ini"
}
