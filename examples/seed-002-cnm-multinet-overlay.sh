#!/bin/sh
# Seed 002 (the Container Network Model, the drivers, DORA, several networks per container and
# the choice of default gateway; then Docker's overlay under the hood: three hosts, VNIs 5000
# and 6000, an internal overlay), with cnet and no Docker, in a sandbox. It ends with the
# seed's last scenario: containers on an internal overlay talk across hosts, and cannot get out.
set -e
. "$(dirname "$0")/sandbox.sh"

# Stand-in for the outside world: 203.0.113.2, in namespace `outside`.
make_outside

echo "== CNM: a sandbox (namespace), an endpoint (veth + address), a network (bridge)"
run cnet net create front --subnet 10.1.0.0/24
# DORA: the lease steps, then the commands that build the endpoint.
run cnet -v attach front web 2>&1
run cnet net inspect front
run ip -n web -br addr

echo
echo "== bridge: one network talks directly; networks are isolated; NAT to the outside"
run cnet attach front api
run cnet exec-in-ns api -- ping -c1 -W2 web
run cnet net create back --subnet 10.2.0.0/24
run cnet attach back db
unreachable "" db "$(addr_of "" web)"
run cnet exec-in-ns web -- ping -c1 -W2 203.0.113.2
run_sh 'nft list chain inet cnet postrouting; nft list set inet cnet subnets4'

echo
echo "== host: the host's own stack; none: loopback only"
run cnet attach host sniffer
run_sh 'cnet exec-in-ns sniffer -- ip -br link | grep cn-front'
run cnet attach none vault
run cnet exec-in-ns vault -- ip -br addr
run cnet exec-in-ns vault -- ping -c1 -W1 127.0.0.1
unreachable "" vault 203.0.113.2

echo
echo "== IPAM: a custom subnet and range; a released address comes back"
run cnet net create ranged --subnet 10.5.0.0/24 --ip-range 10.5.0.128/25
run cnet attach ranged r1
run cnet -v detach ranged r1 2>&1
run cnet -v attach ranged r1 2>&1
run cnet lease ls ranged

echo
echo "== several networks per container, and which one is the default gateway"
run cnet attach back web --gw-priority 10
run cnet exec-in-ns web -- ip route
run cnet exec-in-ns web -- ping -c1 -W2 db
run cnet exec-in-ns web -- ping -c1 -W2 api
run cnet exec-in-ns web -- ip route get 203.0.113.2
case $(cnet exec-in-ns web -- ip route show default) in
    *"via 10.2.0.1 "*) ;;
    *) echo "FAILED: web's default route is not through back (gw-priority 10)" >&2; exit 1 ;;
esac
run cnet detach back web
run cnet exec-in-ns web -- ip route show default
not_reproduced "the seed's claims on macvlan and ipvlan are shown by seed-000 and seed-001 (and examples/macvlan.sh, examples/ipvlan.sh)."

echo
echo "== overlay: hosts A, B, C on an underlay 192.0.2.0/24, two containers each, VNI 5000"
make_switch
ip addr add 192.0.2.254/24 dev sw0   # the hosts' physical network, as seen from outside
start_host a 1
start_host b 2
start_host c 3
not_reproduced "Swarm's Raft store: each host keeps its own state; the same net create runs on each, naming its underlay address and its peers."
on a cnet net create red -d overlay --vni 5000 --subnet 10.50.0.0/24 --local 192.0.2.1 --peer 192.0.2.2 --peer 192.0.2.3
on b cnet net create red -d overlay --vni 5000 --subnet 10.50.0.0/24 --local 192.0.2.2 --peer 192.0.2.1 --peer 192.0.2.3
on c cnet net create red -d overlay --vni 5000 --subnet 10.50.0.0/24 --local 192.0.2.3 --peer 192.0.2.1 --peer 192.0.2.2
for h in a b c; do
    on $h cnet attach red ${h}1
    on $h cnet attach red ${h}2
done
on a ip -d -br link show cnvx5000
on a bridge fdb show dev cnvx5000
# Container 1 on host A to container 2 on host C: bridge, VXLAN (VNI 5000), underlay, C's bridge.
c2=$(addr_of c c2)
on a cnet exec-in-ns a1 -- ping -c1 -W2 "$c2"
on a cnet exec-in-ns a1 -- ping -c1 -W2 a2
not_reproduced "names across hosts (a1 -> c2 by name): each host resolves only its own namespaces; that needs a store shared by the hosts (issue #22). Across hosts, by address."

echo
echo "== a second overlay, VNI 6000: isolated from VNI 5000; a container on both reaches both"
on a cnet net create blue -d overlay --vni 6000 --subnet 10.60.0.0/24 --local 192.0.2.1 --peer 192.0.2.2 --peer 192.0.2.3
on b cnet net create blue -d overlay --vni 6000 --subnet 10.60.0.0/24 --local 192.0.2.2 --peer 192.0.2.1 --peer 192.0.2.3
on b cnet attach blue b3
b3=$(addr_of b b3)
unreachable a a1 "$b3"
on a cnet attach blue a1
on a cnet exec-in-ns a1 -- ping -c1 -W2 "$b3"

echo
echo "== an internal overlay: across hosts, and nothing in or out"
on a cnet net create vault -d overlay --internal --vni 7000 --subnet 10.70.0.0/24 --local 192.0.2.1 --peer 192.0.2.3
on c cnet net create vault -d overlay --internal --vni 7000 --subnet 10.70.0.0/24 --local 192.0.2.3 --peer 192.0.2.1
on a cnet attach vault s1
on c cnet attach vault s2
on a cnet exec-in-ns s1 -- ip route
unreachable a s1 192.0.2.254
unreachable c s2 192.0.2.1
on a cnet exec-in-ns s1 -- ping -c1 -W2 "$(addr_of c s2)"
echo
echo "seed 002: all checks passed (s1 on host A reaches s2 on host C over the internal overlay, and nothing outside it)"
