#!/bin/sh
# Seed 004 (Docker networking: veths and the default bridge, custom bridge networks with names,
# host networking and its port conflicts, an overlay, DNS between containers, custom IPAM), with
# cnet and no Docker, in a sandbox. It ends with the seed's last example: a network created with
# --subnet=192.168.1.0/24 hands out addresses from that subnet.
set -e
. "$(dirname "$0")/sandbox.sh"

# Stand-in for the outside world: 203.0.113.2, in namespace `outside`; the host is 203.0.113.1.
make_outside

echo "== 3. the default bridge (Docker's docker0 is cnet's cnet0), veth pairs"
run cnet net inspect bridge
# docker run -it --rm --name container1 alpine (and container2)
run cnet attach bridge container1
run cnet attach bridge container2
run cnet net inspect bridge
# One veth pair per container: one end in it (eth0), the other a port of cnet0.
run ip -br link show master cnet0
run ip -n container1 -br link show eth0
# / # ping container2   (Docker's default bridge resolves no names; cnet's hosts files do)
run cnet exec-in-ns container1 -- ping -c1 -W2 container2
# Container to host, and through the host (NAT) to the outside.
run cnet exec-in-ns container1 -- ip route
run cnet exec-in-ns container1 -- ping -c1 -W2 203.0.113.1
run cnet exec-in-ns container1 -- ping -c1 -W2 203.0.113.2
# --rm
run cnet ns rm container1 container2

echo
echo "== a custom bridge network: containers talk by name"
# docker network create my_bridge
run cnet net create my_bridge
# docker run -dit --name container1 --network my_bridge alpine (and container2)
run cnet attach my_bridge container1
run cnet attach my_bridge container2
run cnet exec-in-ns container1 -- ping -c1 -W2 container2
run cnet exec-in-ns container2 -- ping -c1 -W2 container1

echo
echo "== 4. host networking: the host's IP and ports"
run cnet attach host hostapp
serve "" hostapp "hello from hostapp" 8080
fetch "" - 203.0.113.1:8080 "hello from hostapp"
fetch "" outside 203.0.113.1:8080 "hello from hostapp"
printf '\n$ socat TCP-LISTEN:8080 -   # on the host itself: the port is taken\n'
if socat TCP-LISTEN:8080 - </dev/null 2>&1; then
    echo "FAILED: the host could bind port 8080 that hostapp holds" >&2; exit 1
fi
echo "(as expected, a port conflict: hostapp and the host share one port space)"

echo
echo "== 5. overlay"
not_reproduced "docker swarm init / docker service create: cnet has no Swarm or services; web is one namespace on an overlay of this one host (seed-002 and seed-003 span several hosts)."
# docker network create --driver overlay my_overlay
run cnet net create --driver overlay my_overlay --vni 4097 --subnet 10.0.1.0/24 --local 203.0.113.1
# docker service create --name web --network my_overlay nginx
run cnet attach my_overlay web
serve "" web "hello from web"
run cnet attach my_overlay webclient
fetch "" webclient web:80 "hello from web"

echo
echo "== 7. DNS: names instead of addresses"
# docker run -dit --name db --network my_bridge alpine; docker run -dit --name app --network my_bridge alpine
run cnet attach my_bridge db
run cnet attach my_bridge app
run cat /etc/netns/app/hosts
run cnet exec-in-ns app -- ping -c1 -W2 db

echo
echo "== IPAM: a custom subnet"
# docker network create --subnet=192.168.1.0/24 my_custom_network
run cnet net create --subnet 192.168.1.0/24 my_custom_network
run cnet attach my_custom_network custom1
run cnet net inspect my_custom_network
addr=$(addr_of "" custom1)
case $addr in
    192.168.1.*) echo "(custom1 got $addr, from 192.168.1.0/24)" ;;
    *) echo "FAILED: custom1 got '$addr', not an address of 192.168.1.0/24" >&2; exit 1 ;;
esac
run cnet exec-in-ns custom1 -- ping -c1 -W2 192.168.1.1
echo
echo "seed 004: all checks passed (names on the default and a custom bridge; host ports shared; web by name on the overlay; app reaches db; 192.168.1.0/24 honoured)"
