#!/bin/sh
# The one place that lists the Debian packages sluice needs. Idempotent:
# installs only what is missing, so `make demo` and `make test` may call it
# every time. Needs root (or sudo) only when something is missing.
set -eu

PKGS="build-essential pkg-config meson ninja-build python3
libdpdk-dev dpdk dpdk-dev
libpcap-dev tcpdump time
check
libzmq3-dev libmsgpack-dev
libnl-3-dev libnl-route-3-dev iproute2
clang libclang-rt-14-dev"

# Only `make bench` needs these: the reference tools bench/worker.sh measures
# against, and perf for bench/profile.sh.
BENCH_PKGS="argus-server tshark linux-perf"

# Usage: install-deps.sh [bench]
want=$PKGS
case "${1:-}" in
    "") ;;
    bench) want="$PKGS $BENCH_PKGS" ;;
    *) echo "usage: install-deps.sh [bench]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
case "$missing" in
    # tshark's wireshark-common asks whether non-root users may capture: answer no up front.
    *" tshark"*)
        echo 'wireshark-common wireshark-common/install-setuid boolean false' |
            $SUDO debconf-set-selections
        ;;
esac
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
