#!/bin/sh
# The MACVLAN labs of the teaching notes, with cnet instead of Docker, in a sandbox: namespaces
# that appear on the LAN as machines of their own, with their own MAC addresses and LAN
# addresses, no bridge and no NAT; and why the host itself cannot reach them (plus the shim
# that fixes it).
set -e
. "$(dirname "$0")/sandbox.sh"

# The LAN, inside the sandbox: the sandbox host's "eth0" (172.24.0.10) is one end of a veth
# pair; the other end is in the namespace "lanpc", another computer on the LAN, which is also
# its router (172.24.0.1). Documentation-style private ranges, used only inside this sandbox.
ip netns add lanpc
ip link add eth0 type veth peer name eth0 netns lanpc
ip addr add 172.24.0.10/24 dev eth0 && ip link set eth0 up
ip -n lanpc addr add 172.24.0.1/24 dev eth0
ip -n lanpc link set eth0 up && ip -n lanpc link set lo up
web() { # a one-page web server in a namespace: web NETNS TEXT
    cnet exec-in-ns "$1" -- socat TCP-LISTEN:80,fork,reuseaddr \
        SYSTEM:"echo HTTP/1.0 200 OK; echo; echo $2" &
    sleep 0.3
}
fetch() { # fetch http://ADDRESS/ and check the page: fetch ADDRESS TEXT [COMMAND PREFIX...]
    addr=$1 text=$2; shift 2
    page=$("$@" socat -T2 - "TCP:$addr:80,connect-timeout=2" </dev/null)
    printf '%s\n' "$page"
    case $page in *"$text"*) ;; *) echo "unexpected: no '$text' from $addr" >&2; exit 1 ;; esac
}

echo "== Lab 1: docker network create -d macvlan --subnet=172.24.0.0/24 --gateway=172.24.0.1 -o parent=eth0 my_macvlan"
run ip route show default || true
run cnet net create my_macvlan -d macvlan --subnet 172.24.0.0/24 --gateway 172.24.0.1 -o parent=eth0
# docker run -d --name web-macvlan --network my_macvlan --ip 172.24.0.100 nginx
run cnet attach my_macvlan web-macvlan --ip 172.24.0.100
web web-macvlan "hello from web-macvlan"
run ip -n web-macvlan -d link show eth0
# Step 4: from ANOTHER computer on the same network.
printf '\n$ ip netns exec lanpc socat - TCP:172.24.0.100:80   # from the LAN machine\n'
fetch 172.24.0.100 "hello from web-macvlan" ip netns exec lanpc
run ip netns exec lanpc ip neigh show 172.24.0.100
# Step 5: the host cannot reach its own macvlan children (expected).
if ping -c1 -W1 172.24.0.100 >/dev/null 2>&1; then
    echo "unexpected: the host reached a macvlan child through its parent" >&2; exit 1
fi
echo "(as expected, the host cannot ping 172.24.0.100: eth0 hands its own traffic to the wire, never to its macvlan children)"
run cnet net inspect my_macvlan

echo
echo "== The usual fix: a macvlan shim on the host (the namespaces get addresses from a range the host does not route)"
run cnet net rm --force my_macvlan
run cnet net create my_macvlan -d macvlan --subnet 172.24.0.0/24 --gateway 172.24.0.1 \
    --ip-range 172.24.0.96/28 -o parent=eth0 -o host_shim=true
run cnet attach my_macvlan web-macvlan --ip 172.24.0.100   # its web server is still running
run ip addr show cns-my_macvlan
run ip route show 172.24.0.96/28
printf '\n$ socat - TCP:172.24.0.100:80   # from the host, now\n'
fetch 172.24.0.100 "hello from web-macvlan"
run cnet lease ls my_macvlan

echo
echo "== Lab 2: docker network create -d macvlan --subnet 192.168.0.0/24 --gateway 192.168.0.1 -o parent=eth0 my-macvlan-net"
run cnet net create my-macvlan-net -d macvlan --subnet 192.168.0.0/24 --gateway 192.168.0.1 -o parent=eth0
# docker run -d --name macvlan_nginx --net my-macvlan-net nginx
run cnet attach my-macvlan-net macvlan_nginx
web macvlan_nginx "hello from macvlan_nginx"
# docker run --rm --name macvlan_busybox --net my-macvlan-net busybox curl 192.168.0.2:80
run cnet attach my-macvlan-net macvlan_busybox
printf '\n$ cnet exec-in-ns macvlan_busybox -- socat - TCP:192.168.0.2:80\n'
fetch 192.168.0.2 "hello from macvlan_nginx" cnet exec-in-ns macvlan_busybox --
run cnet exec-in-ns macvlan_busybox -- ping -c1 -W2 macvlan_nginx
run cnet detach my-macvlan-net macvlan_busybox
run cnet ns rm macvlan_busybox

echo
echo "== private mode: the namespaces cannot reach each other, only the LAN"
run cnet net create quiet -d macvlan --subnet 10.20.0.0/24 --parent eth0 --mode private
run cnet attach quiet q1
run cnet attach quiet q2
if cnet exec-in-ns q1 -- ping -c1 -W1 q2 >/dev/null 2>&1; then
    echo "unexpected: two private-mode macvlan children reached each other" >&2; exit 1
fi
echo "(as expected, q1 cannot ping q2)"

run cnet net ls
run cnet net rm --force my_macvlan my-macvlan-net quiet
run cnet ns rm web-macvlan macvlan_nginx q1 q2
echo
echo "macvlan: all steps passed"
