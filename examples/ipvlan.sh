#!/bin/sh
# The IPVLAN lab of the teaching notes, with cnet instead of Docker, in a sandbox: like macvlan,
# but every namespace shares the parent's MAC address (one MAC on the switch, many IPs); and
# l3 mode, where the parent routes for its children and there is no gateway.
#
# Needs a kernel with ipvlan (CONFIG_IPVLAN). On one without, cnet says so, and so does this
# script, which then stops there (exit status 0: nothing is wrong with the lab itself).
set -e
. "$(dirname "$0")/sandbox.sh"

# The LAN, inside the sandbox: the sandbox host's "eth0" (172.25.0.10) is one end of a veth
# pair; the other end is in the namespace "lanpc", another computer on the LAN and its router
# (172.25.0.1).
ip netns add lanpc
ip link add eth0 type veth peer name eth0 netns lanpc
ip addr add 172.25.0.10/24 dev eth0 && ip link set eth0 up
ip -n lanpc addr add 172.25.0.1/24 dev eth0
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

echo "== docker network create -d ipvlan --subnet=172.25.0.0/24 --gateway=172.25.0.1 -o parent=eth0 -o ipvlan_mode=l2 my_ipvlan"
printf '\n$ cnet net create my_ipvlan -d ipvlan --subnet 172.25.0.0/24 --gateway 172.25.0.1 -o parent=eth0 -o ipvlan_mode=l2\n'
if ! err=$(cnet net create my_ipvlan -d ipvlan --subnet 172.25.0.0/24 --gateway 172.25.0.1 \
        -o parent=eth0 -o ipvlan_mode=l2 2>&1); then
    echo "$err"
    case $err in
        *"no ipvlan support (CONFIG_IPVLAN)"*)
            echo "(this kernel has no ipvlan: the rest of the lab needs one built with CONFIG_IPVLAN;"
            echo " nothing was recorded, as cnet net ls shows)"
            run cnet net ls
            exit 0 ;;
    esac
    exit 1
fi
echo "$err"
# docker run -d --name web-ipvlan --network my_ipvlan --ip 172.25.0.110 nginx
run cnet attach my_ipvlan web-ipvlan --ip 172.25.0.110
web web-ipvlan "hello from web-ipvlan"
run ip -n web-ipvlan -d link show eth0
printf '\n$ ip netns exec lanpc socat - TCP:172.25.0.110:80   # from the LAN machine\n'
fetch 172.25.0.110 "hello from web-ipvlan" ip netns exec lanpc
# One MAC for all: the LAN sees the namespace under the parent's MAC address.
run ip netns exec lanpc ip neigh show 172.25.0.110
run ip link show eth0
run cnet attach my_ipvlan web2
run cnet exec-in-ns web2 -- ping -c1 -W2 web-ipvlan
if ping -c1 -W1 172.25.0.110 >/dev/null 2>&1; then
    echo "unexpected: the host reached an ipvlan child through its parent" >&2; exit 1
fi
echo "(as expected, the host cannot ping 172.25.0.110 through its own eth0)"
run cnet net inspect my_ipvlan
run cnet net rm --force my_ipvlan

echo
echo "== l3 mode: the parent routes for its children; no gateway, the default route is a device route"
run cnet net create routed -d ipvlan --subnet 10.30.0.0/24 --parent eth0 --mode l3
run cnet attach routed r1
run cnet attach routed r2
run ip -n r1 route
run cnet exec-in-ns r1 -- ping -c1 -W2 r2
run cnet net rm --force routed
run cnet ns rm web-ipvlan web2 r1 r2
echo
echo "ipvlan: all steps passed"
