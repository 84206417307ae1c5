#!/bin/sh
# attach + detach on a dual-stack network (`net create --ipv6`) against an IPv4-only one
# (issue 23's goal: within 1.3x), in a throwaway sandbox (own network, mount and pid
# namespaces; nothing of this machine is touched).
#
# Both networks are bridges; one namespace per network is attached and detached CYCLES times
# (default 200), the two networks taking turns, so that a slow moment of the machine costs
# both alike. Prints the median milliseconds of each command and of attach+detach per network,
# and the dual-stack / IPv4-only ratio.
#
#   bench/ipv6.sh [CYCLES]   the cnet binary: CNET_BIN, else the `cargo dist` build, else
#                            target/release or target/debug
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

if [ "$(id -u)" != 0 ]; then
    echo "bench/ipv6.sh: run as root (the sandbox needs unshare)" >&2
    exit 2
fi
if [ -z "${CNET_BIN:-}" ]; then
    for b in "$repo/target/x86_64-unknown-linux-gnu/release/cnet" "$repo/target/release/cnet" \
        "$repo/target/debug/cnet"; do
        if [ -x "$b" ]; then CNET_BIN=$b; break; fi
    done
fi
[ -x "${CNET_BIN:-}" ] || { echo "bench/ipv6.sh: no cnet binary (cargo dist)" >&2; exit 2; }
CYCLES=${1:-${CYCLES:-200}}
export CNET_BIN CYCLES

if [ -z "${IN_SANDBOX:-}" ]; then
    mkdir -p /etc/netns
    exec env IN_SANDBOX=1 unshare --mount --net --pid --fork --kill-child --mount-proc \
        --propagation private sh -c 'mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /etc/netns &&
            ip link set lo up && exec "$0"' "$0"
fi

export CNET_STATE_DIR=/run/cnet-bench
cnet() { "$CNET_BIN" "$@" >/dev/null; }
cnet net create v4 --subnet 10.61.0.0/24
cnet net create ds --subnet 10.62.0.0/24 --ipv6 --subnet6 fd00:62::/64
# Warm up: the namespaces exist from here on, as a container's would before its attach.
cnet attach v4 n4 && cnet detach v4 n4
cnet attach ds n6 && cnet detach ds n6

now() { date +%s%N; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
i=0
while [ "$i" -lt "$CYCLES" ]; do
    for pair in v4:n4 ds:n6; do
        net=${pair%%:*} ns=${pair##*:}
        t0=$(now); cnet attach "$net" "$ns"; t1=$(now); cnet detach "$net" "$ns"; t2=$(now)
        echo "$net $(( t1 - t0 )) $(( t2 - t1 ))" >>"$out"
    done
    i=$((i + 1))
done

median() { sort -n | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.2f", m/1e6}'; }
report() {
    a=$(awk -v n="$1" '$1 == n {print $2}' "$out" | median)
    d=$(awk -v n="$1" '$1 == n {print $3}' "$out" | median)
    b=$(awk -v n="$1" '$1 == n {print $2 + $3}' "$out" | median)
    echo "$2 attach $a ms  detach $d ms  attach+detach $b ms"
    eval "both_$1=$b"
}
echo "cnet $($CNET_BIN --version 2>/dev/null || true), $CYCLES cycles, medians:"
report v4 "IPv4-only  "
report ds "dual-stack "
echo "dual-stack / IPv4-only (attach+detach): $(echo "$both_ds $both_v4" | awk '{printf "%.2f", $1 / $2}')x (goal: at most 1.3x)"
