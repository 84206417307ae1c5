#!/bin/sh
# Times `cnet attach` on an overlay shared through etcd against an attach on an overlay of this
# host alone and on a bridge network (both in the file store), in a throwaway sandbox (own network, mount and pid namespaces; nothing of this
# machine is touched) with a one-member etcd on the sandbox's loopback. Also times a plain
# local command (`cnet net ls`) with and without the etcd store configured, to show that a
# command not touching a shared overlay pays nothing for it. Then, with a second host (own
# network and mount namespaces, its underlay a veth to the first) and `cnet agent` on both,
# times an attach on host A until a namespace on host B pings it by name.
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
if ! command -v etcd >/dev/null || ! command -v python3 >/dev/null; then
    echo "bench/etcd.sh: needs etcd and python3 (apt-get install etcd-server python3)" >&2
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
# The sandbox's own /etc/netns: without it (a host that has none yet) cnet's per-namespace files
# would land in the host's /etc. The mount point is the one thing left on the host.
mkdir -p /etc/netns
mount -t tmpfs tmpfs /etc/netns
mkdir -p /run/netns /run/state
ip link set lo up
ip link add up0 type veth peer name up1
ip addr add 192.0.2.1/24 dev up0
ip link set up0 up
ip link set up1 up
ip route add default via 192.0.2.254 dev up0
export CNET_STATE_DIR=/run/state
etcd --name b --data-dir /run/etcd --listen-client-urls http://127.0.0.1:2379,http://192.0.2.1:2379 \
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
"$CNET_BIN" net create ovl -d overlay --vni 5000 --subnet 10.50.0.0/24 --local 192.0.2.1 >/dev/null
# The same, internal: no leg on the gateway bridge (what the leg of an overlay attach costs).
"$CNET_BIN" net create ovi -d overlay --internal --vni 5001 --subnet 10.51.0.0/24 --local 192.0.2.1 >/dev/null
# `net ls` is timed on a state directory of local networks only: what it costs to have the etcd
# store configured (and compiled in) when no shared overlay is involved.
mkdir -p /run/state-local
CNET_STATE_DIR=/run/state-local "$CNET_BIN" net create solo --subnet 10.78.0.0/16 >/dev/null

# Each command timed on its own (python's clock: no extra process per sample).
python3 - "$N" "$store" <<'PY'
import os, statistics, subprocess, sys, time
n, store = int(sys.argv[1]), sys.argv[2]
cnet = os.environ["CNET_BIN"]
local = dict(os.environ, CNET_STATE_DIR="/run/state-local")
kinds = {
    "attach, local bridge network (file store)": lambda i: ([cnet, "attach", "lan", f"l{i}"], None),
    "attach, overlay of this host (file store)": lambda i: ([cnet, "attach", "ovl", f"o{i}"], None),
    "attach, the same overlay --internal (no leg)": lambda i: ([cnet, "attach", "ovi", f"i{i}"], None),
    "attach, overlay shared through etcd": lambda i: ([cnet, "--store", store, "attach", "ov", f"e{i}"], None),
    "net ls (local networks), file store": lambda i: ([cnet, "net", "ls"], local),
    "net ls (local networks), etcd store set": lambda i: ([cnet, "--store", store, "net", "ls"], local),
}
times = {k: [] for k in kinds}
for i in range(n):
    for k, make in kinds.items():
        argv, env = make(i)
        t = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
        times[k].append((time.perf_counter() - t) * 1000)
for k, v in times.items():
    v.sort()
    p95 = v[min(len(v) - 1, int(len(v) * 0.95))]
    print(f"{k:44} median {statistics.median(v):6.2f} ms   p95 {p95:6.2f} ms   (n={len(v)})")
PY

# Host B: network and mount namespaces of its own (its /run, /run/netns, /etc/netns, state),
# its underlay up1, the other end of host A's up0.
unshare --net --mount --propagation private sh -c \
    'mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /etc/netns; mkdir -p /run/netns /run/state;
     touch /run/ready; exec sleep infinity' &
bpid=$!
until nsenter -t $bpid -m test -e /run/ready 2>/dev/null; do sleep 0.05; done
ip link set up1 netns $bpid
onb() { nsenter -t $bpid -n -m env CNET_STATE_DIR=/run/state CNET_BOOT_ID=boot-b "$@"; }
onb ip link set lo up
onb ip addr add 192.0.2.2/24 dev up1
onb ip link set up1 up
onb ip route add default via 192.0.2.254 dev up1
export CNET_BOOT_ID=boot-a
"$CNET_BIN" --store $store net create nm -d overlay >/dev/null
onb "$CNET_BIN" --store etcd://192.0.2.1:2379 net create nm -d overlay >/dev/null
onb "$CNET_BIN" --store etcd://192.0.2.1:2379 attach nm b0 >/dev/null
"$CNET_BIN" --store $store agent >/run/agent-a.log 2>&1 &
onb "$CNET_BIN" --store etcd://192.0.2.1:2379 agent >/run/agent-b.log 2>&1 &
sleep 1

python3 - "$N" "$store" "$bpid" <<'PY'
import os, statistics, subprocess, sys, time
n, store, bpid = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cnet = os.environ["CNET_BIN"]
on_b = ["nsenter", "-t", bpid, "-n", "-m", "env", "CNET_STATE_DIR=/run/state",
        "CNET_BOOT_ID=boot-b", cnet, "--store", "etcd://192.0.2.1:2379"]
times = []
for i in range(n):
    t = time.perf_counter()
    subprocess.run([cnet, "--store", store, "attach", "nm", f"a{i}"], stdout=subprocess.DEVNULL,
                   check=True)
    while True:
        ping = on_b + ["exec-in-ns", "b0", "--", "ping", "-c1", "-W1", f"a{i}"]
        r = subprocess.run(ping, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode == 0:
            break
        if time.perf_counter() - t > 10:
            sys.exit(f"b0 never reached a{i} by name")
    times.append((time.perf_counter() - t) * 1000)
times.sort()
p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
k = "attach on A, B pings it by name (agents)"
print(f"{k:44} median {statistics.median(times):6.2f} ms   p95 {p95:6.2f} ms   (n={len(times)})")
PY
