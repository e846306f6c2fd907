#!/bin/sh
# Zeek conformance: runs sluice-node standalone over the real traces in
# ../shared/zeek-conformance (relative to the source root) and scores its
# conn.log against Zeek 8's own with ../shared/tools/zeek-conformance.
# Fails when a run fails or when fewer baseline rows match exactly than the
# floor below. Skips (77) when the corpus or python3 is absent.
#
# usage: sh conformance.sh BUILD_ROOT SOURCE_ROOT
set -u

# Measured on this tree: `python3 ../shared/tools/zeek-conformance --cmd
# 'build/cluster/sluice-node standalone -r {pcap} {flags} --log-dir {logdir}'`
# printed "conformance: 199/200 baseline rows exact (99.5%), 7 extra rows,
# 0 runs failed". (The one row left needs Zeek's HTTP/MIME analyzer, whose
# header limit adds an 'X' to the history.)
FLOOR=199

build=${1:?build root}
src=${2:?source root}
shared="$src/../shared"
tool="$shared/tools/zeek-conformance"
node="$build/cluster/sluice-node"

if [ ! -d "$shared/zeek-conformance" ] || [ ! -f "$tool" ]; then
    echo "SKIP: $shared/zeek-conformance or its scoring tool is absent"
    exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "SKIP: python3 is not installed"
    exit 77
fi
if [ ! -x "$node" ]; then
    echo "FAIL: $node was not built"
    exit 1
fi

out=$(python3 "$tool" --corpus "$shared/zeek-conformance" \
    --cmd "$node standalone -r {pcap} {flags} --log-dir {logdir}" -v 2>&1)
rc=$?
echo "$out"
if [ $rc -ne 0 ]; then
    echo "FAIL: the scoring tool exited with $rc"
    exit 1
fi
last=$(echo "$out" | tail -n 1)
exact=$(echo "$last" | sed -n 's/^conformance: \([0-9]*\)\/[0-9]* .*/\1/p')
failed=$(echo "$last" | sed -n 's/.* \([0-9]*\) runs failed$/\1/p')
if [ -z "$exact" ] || [ -z "$failed" ]; then
    echo "FAIL: cannot read the score from: $last"
    exit 1
fi
if [ "$failed" -ne 0 ]; then
    echo "FAIL: $failed analyzer runs failed"
    exit 1
fi
if [ "$exact" -lt "$FLOOR" ]; then
    echo "FAIL: $exact rows exact, below the floor of $FLOOR"
    exit 1
fi
echo "PASS: $exact rows exact (floor $FLOOR)"
exit 0
