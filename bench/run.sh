#!/bin/sh
# cnet benchmark: cnet side by side with iproute2 + iptables, the CNI bridge plugin and
# netavark. Run as root on a Debian machine; everything runs inside throwaway sandboxes.
#
#   bench/run.sh            full run (1, 100, 1000 namespaces; data path): tens of minutes
#   bench/run.sh --smoke    CI form (N=5, no 1000 scale, iperf3 -t 1): under two minutes
#   bench/run.sh --help     every option (scales, cycles, tools, ports, ...)
#
# The cnet binary: --cnet PATH, or CNET_BIN, default the `cargo dist` build (made if missing).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

if [ "$(id -u)" != 0 ]; then
    echo "bench/run.sh: run as root (the sandboxes need unshare; peers are installed with apt)" >&2
    exit 2
fi

# The peers and tools, from Debian's packages, installed when missing.
need=""
command -v ip >/dev/null || need="$need iproute2"
command -v iptables >/dev/null || need="$need iptables"
command -v nft >/dev/null || need="$need nftables"
command -v unshare >/dev/null && command -v nsenter >/dev/null || need="$need util-linux"
command -v iperf3 >/dev/null || need="$need iperf3"
command -v ping >/dev/null || need="$need iputils-ping"
command -v sysctl >/dev/null || need="$need procps"
command -v python3 >/dev/null || need="$need python3"
[ -x /usr/lib/cni/bridge ] || [ -x /opt/cni/bin/bridge ] || [ -n "${CNI_PLUGIN_DIR:-}" ] ||
    need="$need containernetworking-plugins"
[ -x /usr/lib/podman/netavark ] || [ -x /usr/libexec/podman/netavark ] || [ -n "${NETAVARK:-}" ] ||
    need="$need netavark"
if [ -n "$need" ]; then
    if command -v apt-get >/dev/null; then
        echo "bench/run.sh: installing$need" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq $need >/dev/null 2>&1 ||
            { apt-get update -qq && apt-get install -y -qq $need >/dev/null; } || {
            echo "bench/run.sh: could not install$need with apt-get; install them and rerun" >&2
            exit 2
        }
    else
        echo "bench/run.sh: missing$need (Debian package names); install them and rerun" >&2
        exit 2
    fi
fi

# The cnet binary: --cnet/CNET_BIN if given, else the `cargo dist` build, the binary as
# installed (made when missing).
cnet_given=no
for a in "$@"; do case "$a" in --cnet|--cnet=*) cnet_given=yes ;; esac; done
if [ "$cnet_given" = no ] && [ -z "${CNET_BIN:-}" ]; then
    CNET_BIN="$repo/target/x86_64-unknown-linux-gnu/release/cnet"
    if [ ! -x "$CNET_BIN" ]; then
        echo "bench/run.sh: building cnet (cargo dist)" >&2
        (cd "$repo" && cargo dist)
    fi
    export CNET_BIN
fi

# Debian's python3 when there is one (the standard library is all the driver needs).
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
exec "$py" "$here/cnetbench.py" "$@"
