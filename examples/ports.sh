#!/bin/sh
# Docker's `docker run -p 8080:80` lab with cnet, in a sandbox: a web server in a namespace,
# published on the host's port 8080 (and on 127.0.0.1:9090 only), reached from an "outside"
# machine, from the host itself and from a namespace of another network; then closed again.
set -e
. "$(dirname "$0")/sandbox.sh"

# Stand-in for another machine: namespace `outside`, to which the host is 203.0.113.1.
make_outside

# A closed port drops the connection's SYNs (isolation, or no DNAT any more): without a connect
# timeout, socat would wait for TCP to give up (about two minutes) in silence.
fetch() { # NETNS|- ADDRESS PORT: one line from a TCP server, from a namespace or the host
    if [ "$1" = - ]; then
        socat -T2 - "TCP:$2:$3,connect-timeout=2" </dev/null
    else
        ip netns exec "$1" socat -T2 - "TCP:$2:$3,connect-timeout=2" </dev/null
    fi
}

run cnet net create web --subnet 10.1.0.0/24
run cnet attach web nginx -p 8080:80 -p 127.0.0.1:9090:80
# The "web server": answers every connection on port 80 with one line.
cnet exec-in-ns nginx -- socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo hello from nginx' &
sleep 0.3
run cnet ns ls
run nft list table inet cnet

echo; echo "from another machine, through the host's address:"
fetch outside 203.0.113.1 8080
echo "from the host itself:"
fetch - 127.0.0.1 8080
fetch - 127.0.0.1 9090
if fetch outside 203.0.113.1 9090 >/dev/null 2>&1; then
    echo "unexpected: 9090 is published on 127.0.0.1 only" >&2; exit 1
fi
echo "(as expected, 127.0.0.1:9090 is not reachable from another machine)"

run cnet net create other --subnet 10.2.0.0/24
run cnet attach other client
echo "from a namespace of another network, through the host's address:"
fetch client 10.2.0.1 8080
if fetch client 10.1.0.2 80 >/dev/null 2>&1; then
    echo "unexpected: the other network reached nginx directly" >&2; exit 1
fi
echo "(as expected, only the published port is open to it, not nginx's own address)"

run cnet --dry-run attach web api -p 8081:80
run cnet detach web nginx
if fetch outside 203.0.113.1 8080 >/dev/null 2>&1; then
    echo "unexpected: 8080 still answers after the detach" >&2; exit 1
fi
echo "(as expected, the port closed with the detach)"
run nft list map inet cnet published
run cnet net rm --force web other
echo
echo "ports: all steps passed"
