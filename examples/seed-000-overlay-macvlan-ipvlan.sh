#!/bin/sh
# Seed 000 (overlay on one machine, MACVLAN, IPVLAN), with cnet and no Docker, in a sandbox.
#  1. A single-machine overlay: app1 and app2 on it, `ping app2` from app1 by name.
#  2. MACVLAN: web-macvlan at 172.24.0.100 on the LAN, reached from another computer there;
#     the host itself cannot reach it.
#  3. IPVLAN (l2): web-ipvlan at 172.25.0.110, reached from the LAN under the parent's MAC.
#     Skipped, saying why, on a kernel without ipvlan.
set -e
. "$(dirname "$0")/sandbox.sh"

# The LAN: this sandbox's host has eth0 at 172.24.0.10, one end of a veth pair whose other end
# is in namespace `lanpc`, another computer on the LAN and its router (172.24.0.1, 172.25.0.1).
ip netns add lanpc
ip link add eth0 type veth peer name eth0 netns lanpc
ip addr add 172.24.0.10/24 dev eth0 && ip link set eth0 up
ip -n lanpc addr add 172.24.0.1/24 dev eth0 && ip -n lanpc addr add 172.25.0.1/24 dev eth0
ip -n lanpc link set eth0 up && ip -n lanpc link set lo up

echo "== 1. Single-machine overlay"
not_reproduced "docker swarm init: cnet needs no Swarm; an overlay is created on each host with its VNI, underlay address and peers (none here)."
not_reproduced "--advertise-addr 127.0.0.1: a VXLAN endpoint needs a unicast address of the host; eth0's (172.24.0.10) stands in."
# docker network create -d overlay --attachable my_overlay
run cnet net create my_overlay -d overlay --vni 4097 --subnet 10.0.1.0/24 --underlay eth0
# docker run -d --network my_overlay --name app1 alpine sleep 3600 (and app2)
run cnet attach my_overlay app1
run cnet attach my_overlay app2
run ip -d link show cnvx4097
# docker exec app1 ping app2   # Works!
run cnet exec-in-ns app1 -- ping -c1 -W2 app2

echo
echo "== 2. MACVLAN"
run ip route show default || true
run ip -br addr show eth0
# docker network create -d macvlan --subnet=172.24.0.0/24 --gateway=172.24.0.1 -o parent=eth0 my_macvlan
run cnet net create my_macvlan -d macvlan --subnet 172.24.0.0/24 --gateway 172.24.0.1 -o parent=eth0
# docker run -d --name web-macvlan --network my_macvlan --ip 172.24.0.100 nginx
run cnet attach my_macvlan web-macvlan --ip 172.24.0.100
serve "" web-macvlan "hello from web-macvlan"
run ip -n web-macvlan -d link show eth0
# Step 4: from ANOTHER computer on the same network.
printf '\n(from the LAN computer lanpc)'
fetch "" lanpc 172.24.0.100:80 "hello from web-macvlan"
# Step 5: the host cannot reach the container (expected).
printf '\n$ socat -T1 - TCP:172.24.0.100:80   # curl 172.24.0.100 from the host: fails\n'
if socat -T1 - TCP:172.24.0.100:80,connect-timeout=1 </dev/null >/dev/null 2>&1; then
    echo "FAILED: the host reached its own macvlan child through eth0" >&2; exit 1
fi
echo "(as expected, the host cannot reach 172.24.0.100: eth0 hands its own traffic to the wire, never to its macvlan children)"

echo
echo "== 3. IPVLAN"
# A parent carries macvlan or ipvlan children, never both (the kernel refuses).
run cnet net rm --force my_macvlan
# docker network create -d ipvlan --subnet=172.25.0.0/24 --gateway=172.25.0.1 -o parent=eth0 -o ipvlan_mode=l2 my_ipvlan
printf '\n$ cnet net create my_ipvlan -d ipvlan --subnet 172.25.0.0/24 --gateway 172.25.0.1 -o parent=eth0 -o ipvlan_mode=l2\n'
if ! out=$(cnet net create my_ipvlan -d ipvlan --subnet 172.25.0.0/24 --gateway 172.25.0.1 \
        -o parent=eth0 -o ipvlan_mode=l2 2>&1); then
    echo "$out"
    case $out in
        *"no ipvlan support (CONFIG_IPVLAN)"*)
            not_reproduced "the IPVLAN lab: this kernel has no ipvlan (CONFIG_IPVLAN); the overlay and MACVLAN checks above passed."
            exit 0 ;;
    esac
    exit 1
fi
echo "$out"
# docker run -d --name web-ipvlan --network my_ipvlan --ip 172.25.0.110 nginx
run cnet attach my_ipvlan web-ipvlan --ip 172.25.0.110
serve "" web-ipvlan "hello from web-ipvlan"
printf '\n(from the LAN computer lanpc)'
fetch "" lanpc 172.25.0.110:80 "hello from web-ipvlan"
# The seed's table: one MAC shared by all. The LAN knows 172.25.0.110 by eth0's own MAC.
run ip -n lanpc neigh show 172.25.0.110
run ip link show eth0
parent_mac=$(cat /sys/class/net/eth0/address)
if ! ip -n lanpc neigh show 172.25.0.110 | grep -q "lladdr $parent_mac"; then
    echo "FAILED: the LAN does not see 172.25.0.110 under the parent's MAC $parent_mac" >&2; exit 1
fi
echo
echo "seed 000: all checks passed (app2 by name on the overlay; web-macvlan and web-ipvlan from the LAN)"
