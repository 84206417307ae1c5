#!/bin/sh
# Seed 001 (the host, bridge, overlay and MACVLAN drivers), with cnet and no Docker, in a
# sandbox. Each part ends with the seed's own check:
#  - host: two namespaces on the host network share the host's stack (same eth0, same ports):
#    host_busybox reaches host_nginx on localhost:80, and so does the host;
#  - bridge: bridge_busybox fetches bridge_nginx:80 by name;
#  - overlay: overlay_busybox fetches overlay_nginx:80 by name (Swarm services not reproduced);
#  - MACVLAN: macvlan_busybox fetches 192.168.0.2:80, macvlan_nginx's first free LAN address.
set -e
. "$(dirname "$0")/sandbox.sh"

# The LAN: this sandbox's host has eth0 at 192.168.0.10, one end of a veth pair whose other
# end is in namespace `lanpc`, the LAN's router (192.168.0.1).
ip netns add lanpc
ip link add eth0 type veth peer name eth0 netns lanpc
ip addr add 192.168.0.10/24 dev eth0 && ip link set eth0 up
ip -n lanpc addr add 192.168.0.1/24 dev eth0
ip -n lanpc link set eth0 up && ip -n lanpc link set lo up

echo "== the host network driver"
# docker run -d --net host --name host_busybox ...; docker run -d --net host --name host_nginx nginx
run cnet attach host host_busybox
run cnet attach host host_nginx
serve "" host_nginx "hello from host_nginx"
run_sh 'ip addr | grep eth0'
run_sh 'cnet exec-in-ns host_busybox -- ip addr | grep eth0'
if [ "$(ip -o addr show eth0)" != "$(cnet exec-in-ns host_busybox -- ip -o addr show eth0)" ]; then
    echo "FAILED: host_busybox does not see the host's own eth0" >&2; exit 1
fi
echo "(the same eth0: host_busybox uses the host's network stack)"
fetch "" host_busybox localhost:80 "hello from host_nginx"
fetch "" - localhost:80 "hello from host_nginx"
# No two containers can use the same port.
printf '\n$ cnet exec-in-ns host_busybox -- socat TCP-LISTEN:80 -   # a second server on port 80\n'
if cnet exec-in-ns host_busybox -- socat TCP-LISTEN:80 - </dev/null 2>&1; then
    echo "FAILED: a second server got port 80 of the host network" >&2; exit 1
fi
echo "(as expected, port 80 is taken: host_nginx holds it for the whole host)"

echo
echo "== bridge network"
run ip -br link
echo "(cnet's default bridge network, bridge cnet0, is made in the kernel on its first use; none yet)"
# docker network create --driver bridge my-bridge-net
run cnet net create --driver bridge my-bridge-net
run ip -br link
# docker run -d --name bridge_nginx --network my-bridge-net nginx
run cnet attach my-bridge-net bridge_nginx
serve "" bridge_nginx "hello from bridge_nginx"
# docker run --rm --name bridge_busybox --network my-bridge-net radial/busyboxplus:curl curl bridge_nginx:80
run cnet attach my-bridge-net bridge_busybox
fetch "" bridge_busybox bridge_nginx:80 "hello from bridge_nginx"
run cnet detach my-bridge-net bridge_busybox   # --rm
run cnet ns rm bridge_busybox

echo
echo "== overlay"
not_reproduced "docker service create: cnet has no Swarm services (replicas, scheduling over nodes, a virtual IP, service logs). Each task is a namespace attached by hand, here both on this one host; the overlay's VTEP is eth0."
# docker network create --driver overlay my-overlay-net
run cnet net create --driver overlay my-overlay-net --vni 4097 --subnet 10.0.1.0/24 --underlay eth0
# docker service create --name overlay_nginx --network my-overlay-net nginx
run cnet attach my-overlay-net overlay_nginx
serve "" overlay_nginx "hello from overlay_nginx"
# docker service create --name overlay_busybox ... sh -c 'curl overlay_nginx:80 && sleep 3600'
run cnet attach my-overlay-net overlay_busybox
# docker service logs overlay_busybox: what its curl printed
fetch "" overlay_busybox overlay_nginx:80 "hello from overlay_nginx"

echo
echo "== MACVLAN"
# docker network create -d macvlan --subnet 192.168.0.0/24 --gateway 192.168.0.1 -o parent=eth0 my-macvlan-net
run cnet net create -d macvlan --subnet 192.168.0.0/24 --gateway 192.168.0.1 -o parent=eth0 my-macvlan-net
# docker run -d --name macvlan_nginx --net my-macvlan-net nginx
run cnet attach my-macvlan-net macvlan_nginx
serve "" macvlan_nginx "hello from macvlan_nginx"
# docker run --rm --name macvlan_busybox --net my-macvlan-net radial/busyboxplus:curl curl 192.168.0.2:80
run cnet attach my-macvlan-net macvlan_busybox
fetch "" macvlan_busybox 192.168.0.2:80 "hello from macvlan_nginx"
echo
echo "seed 001: all checks passed (host stack shared; bridge_nginx and overlay_nginx by name; 192.168.0.2 on the macvlan)"
