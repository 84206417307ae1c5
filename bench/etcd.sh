#!/bin/sh
# Times `cnet attach` on an overlay shared through etcd against an attach on a local bridge
# network, in a throwaway sandbox (own network, mount and pid namespaces; nothing of this
# machine is touched) with a one-member etcd on the sandbox's loopback. Also times a plain
# local command (`cnet net ls`) with and without the etcd store configured, to show that a
# command not touching a shared overlay pays nothing for it.
#
#   bench/etcd.sh [N]      N attaches of each kind (default 50); prints median and p95 in ms.
#                          The cnet binary: CNET_BIN, else target/release, else target/debug.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
if [ -z "${PHASE:-}" ]; then N=${1:-50}; fi

if [ "$(id -u)" != 0 ]; then
    echo "bench/etcd.sh: run as root (the sandbox needs unshare)" >&2
    exit 2
fi
if ! command -v etcd >/dev/null; then
    echo "bench/etcd.sh: etcd is not installed (apt-get install etcd-server)" >&2
    exit 2
fi
if [ -z "${CNET_BIN:-}" ]; then
    for b in "$repo/target/release/cnet" "$repo/target/debug/cnet"; do
        if [ -x "$b" ]; then CNET_BIN=$b; break; fi
    done
fi
export CNET_BIN N

if [ -z "${PHASE:-}" ]; then
    echo "cnet: $CNET_BIN, $N attaches of each kind"
    PHASE=sandbox exec unshare --mount --net --pid --fork --mount-proc --propagation private \
        sh "$0"
fi

# Inside the sandbox.
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /etc/netns 2>/dev/null || true
mkdir -p /run/netns /run/state
ip link set lo up
ip link add up0 type veth peer name up1
ip addr add 192.0.2.1/24 dev up0
ip link set up0 up
ip link set up1 up
ip route add default via 192.0.2.254 dev up0
export CNET_STATE_DIR=/run/state
etcd --name b --data-dir /run/etcd --listen-client-urls http://127.0.0.1:2379 \
    --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380 \
    --initial-advertise-peer-urls http://127.0.0.1:2380 --initial-cluster b=http://127.0.0.1:2380 \
    </dev/null >/run/etcd.log 2>&1 &
store=etcd://127.0.0.1:2379
i=0
until "$CNET_BIN" --store $store net create ov -d overlay >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 50 ] || { cat /run/etcd.log; exit 1; }
    sleep 0.2
done
"$CNET_BIN" net create lan --subnet 10.77.0.0/16 >/dev/null
# `net ls` is timed on a state directory of local networks only: what it costs to have the etcd
# store configured (and compiled in) when no shared overlay is involved.
mkdir -p /run/state-local
CNET_STATE_DIR=/run/state-local "$CNET_BIN" net create solo --subnet 10.78.0.0/16 >/dev/null

# Milliseconds of each run of "$@", one per line, into a file.
timed() {
    out=$1; shift
    s=$(date +%s%N)
    "$@" >/dev/null
    e=$(date +%s%N)
    echo $(((e - s) / 1000)) >>"$out"
}

stats() {
    sort -n "$1" | awk -v what="$2" '{ v[NR] = $1 } END {
        m = v[int((NR + 1) / 2)]; p = v[int(NR * 0.95 + 0.999)]
        printf "%-44s median %7.2f ms   p95 %7.2f ms   (n=%d)\n", what, m / 1000, p / 1000, NR }'
}

rm -f /run/t.*
n=0
while [ $n -lt "$N" ]; do
    timed /run/t.local "$CNET_BIN" attach lan l$n
    timed /run/t.etcd "$CNET_BIN" --store $store attach ov e$n
    CNET_STATE_DIR=/run/state-local timed /run/t.ls "$CNET_BIN" net ls
    CNET_STATE_DIR=/run/state-local timed /run/t.lsetcd "$CNET_BIN" --store $store net ls
    n=$((n + 1))
done
stats /run/t.local "attach, local bridge network (file store)"
stats /run/t.etcd "attach, overlay shared through etcd"
stats /run/t.ls "net ls (local networks), file store"
stats /run/t.lsetcd "net ls (local networks), etcd store set"
