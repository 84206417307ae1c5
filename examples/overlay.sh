#!/bin/sh
# The overlay lab of the seeds (Docker's multi-host overlay: hosts A, B and C, VNI 5000, then a
# second overlay with VNI 6000), with cnet and no Docker or Swarm: three simulated hosts, each
# with its own network and mount namespaces (its own /run/netns, /etc/netns and cnet state), on
# an underlay 192.0.2.0/24 (a documentation range, used only inside this sandbox) switched by a
# bridge. Each host runs cnet against its own view, as real hosts would.
set -e
. "$(dirname "$0")/sandbox.sh"

# --- the lab: a switch (bridge sw0, in this sandbox) and three hosts plugged into it --------
# sw0 also holds 192.0.2.254, standing for "the outside world" of the egress part.
ip link add sw0 type bridge && ip link set sw0 up
ip addr add 192.0.2.254/24 dev sw0

start_host() { # NAME N: host NAME gets underlay address 192.0.2.N on its up0
    unshare --mount --net --propagation private sh -c '
        mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /etc/netns &&
        mkdir -p /run/netns /run/cnet && ip link set lo up && exec sleep infinity' &
    eval "pid_$1=$!"
    until [ -e "/proc/$!/ns/net" ] && [ "$(readlink "/proc/$!/ns/net")" != "$(readlink /proc/self/ns/net)" ] &&
        nsenter -t "$!" --mount test -d /run/cnet 2>/dev/null; do sleep 0.05; done
    ip link add "swp-$1" type veth peer name up0 netns "/proc/$!/ns/net"
    ip link set "swp-$1" master sw0 && ip link set "swp-$1" up
    nsenter -t "$!" --net sh -c "ip addr add 192.0.2.$2/24 dev up0 && ip link set up0 up"
}

# Run a command on a host: print it as a prompt, then run it there.
on() {
    host=$1; shift
    printf '\n[host %s]$ %s\n' "$host" "$*"
    eval "pid=\$pid_$host"
    nsenter -t "$pid" --mount --net -- "$@"
}

# Quietly: does a ping fail?
unreachable() {
    host=$1; ns=$2; target=$3
    eval "pid=\$pid_$host"
    if nsenter -t "$pid" --mount --net -- cnet exec-in-ns "$ns" -- ping -c1 -W1 "$target" >/dev/null 2>&1; then
        echo "unexpected: $ns on host $host reached $target" >&2; exit 1
    fi
    echo "(as expected, $ns on host $host cannot reach $target)"
}

start_host a 1
start_host b 2
start_host c 3

# --- an overlay spanning the three hosts ----------------------------------------------------
# Same VNI and subnet everywhere; each host names its own underlay address and its peers.
on a cnet net create red -d overlay --vni 5000 --subnet 10.20.0.0/24 --local 192.0.2.1 --peer 192.0.2.2 --peer 192.0.2.3
on b cnet net create red -d overlay --vni 5000 --subnet 10.20.0.0/24 --local 192.0.2.2 --peer 192.0.2.1 --peer 192.0.2.3
on c cnet net create red -d overlay --vni 5000 --subnet 10.20.0.0/24 --underlay up0 --peer 192.0.2.1 --peer 192.0.2.2

# Hosts keep their own state: each leases from its own slice of the subnet (a: .0/26, b: .64/26,
# c: .128/26), computed alike everywhere from the sorted VTEP addresses.
on a cnet attach red app1
on b cnet attach red app2
on c cnet attach red app3
on b cnet net inspect red

# What the kernel got: a bridge, a VXLAN port on it (VNI 5000, UDP 4789, learning on), one
# all-zero FDB entry per peer (head-end replication of broadcast and unknown unicast).
on a ip -d link show cnvx5000
on a bridge fdb show dev cnvx5000
on a ip link show cn-red

# Across hosts, by address. The MTU is up0's 1500 minus VXLAN's 50, so a full-size packet with
# DF set goes through without fragmenting.
capture=
if command -v tcpdump >/dev/null; then
    printf '\n$ tcpdump -ni sw0 -c 2 udp port 4789 and src host 192.0.2.1   # the underlay, meanwhile\n'
    timeout 5 tcpdump -ni sw0 -c 2 -l udp port 4789 and src host 192.0.2.1 2>/dev/null &
    capture=$!
    sleep 1
fi
on a cnet exec-in-ns app1 -- ping -c1 -W2 10.20.0.64
[ -z "$capture" ] || wait "$capture" || true
on a cnet exec-in-ns app1 -- ping -c1 -W2 10.20.0.128
on c cnet exec-in-ns app3 -- ping -c1 -W2 -M do -s 1422 10.20.0.64

# --- a second overlay, VNI 6000, on the same hosts: a separate L2 segment ----------------------
on a cnet net create blue -d overlay --vni 6000 --subnet 10.30.0.0/24 --local 192.0.2.1 --peer 192.0.2.2
on b cnet net create blue -d overlay --vni 6000 --subnet 10.30.0.0/24 --local 192.0.2.2 --peer 192.0.2.1
on a cnet attach blue db1
on b cnet attach blue db2
on a cnet exec-in-ns db1 -- ping -c1 -W2 10.30.0.128
unreachable a db1 10.20.0.64
unreachable a app1 10.30.0.128

# --- the way out: an overlay has no gateway. As Docker does with docker_gwbridge, app1's attach
# also gave it a second interface (eth1) on host a's gateway bridge cnet_gwbridge: its default
# route, masqueraded; and -p on an overlay publishes through it.
on a cnet exec-in-ns app1 -- ip route
on a cnet exec-in-ns app1 -- ping -c1 -W2 192.0.2.254
on a cnet exec-in-ns app1 -- ping -c1 -W2 10.20.0.128
on a cnet net inspect cnet_gwbridge
# An --internal overlay gets no leg: nothing in or out.
on a cnet net create vault -d overlay --internal --vni 7000 --subnet 10.40.0.0/24 --local 192.0.2.1 --peer 192.0.2.2
on a cnet attach vault safe
on a cnet exec-in-ns safe -- ip route
unreachable a safe 192.0.2.254

# --- peers of a live network: cut host c off, then bring it back -----------------------------
on a cnet net peer rm red 192.0.2.3
on b cnet net peer rm red 192.0.2.3
unreachable a app1 10.20.0.128
unreachable c app3 10.20.0.64
on a cnet exec-in-ns app1 -- ping -c1 -W2 10.20.0.64
on a cnet net peer add red 192.0.2.3
on b cnet net peer add red 192.0.2.3
on a cnet exec-in-ns app1 -- ping -c1 -W2 10.20.0.128

# --- one host leaves; the others keep working ------------------------------------------------
on c cnet net rm --force red
on a cnet exec-in-ns app1 -- ping -c1 -W2 10.20.0.64
unreachable a app1 10.20.0.128
on b cnet net ls

echo
echo "overlay: all steps passed"
