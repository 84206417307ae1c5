#!/bin/sh
# A five-minute tour of cnet, in a sandbox: a bridge network, two namespaces talking by name,
# NAT to an "outside world", an internal network that cannot get out, leases, teardown.
set -e
. "$(dirname "$0")/sandbox.sh"

# Stand-in for the outside world: 203.0.113.2, in namespace `outside`.
make_outside

run cnet net create lab --subnet 10.1.0.0/24
run cnet attach lab ns1
run cnet attach lab ns2 --alias web
run cnet net ls
run cnet exec-in-ns ns1 -- ping -c1 -W2 ns2
run cnet exec-in-ns ns1 -- ping -c1 -W2 web
run cnet exec-in-ns ns1 -- ping -c1 -W2 203.0.113.2
run cnet net create vault --internal
run cnet attach vault ns3
if cnet exec-in-ns ns3 -- ping -c1 -W1 203.0.113.2 >/dev/null 2>&1; then
    echo "unexpected: the internal network reached the outside" >&2; exit 1
fi
echo "(as expected, ns3 on the internal network cannot reach 203.0.113.2)"
if cnet exec-in-ns ns1 -- ping -c1 -W1 "$(ip -n ns3 -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1)" >/dev/null 2>&1; then
    echo "unexpected: two networks are not isolated" >&2; exit 1
fi
echo "(as expected, ns1 on lab cannot reach ns3 on vault)"
run cnet -v detach lab ns2
run cnet -v attach lab ns2
run cnet lease ls
run cnet net inspect lab
run cnet --dry-run attach lab ns4
run cnet net rm --force lab vault
run cnet ns rm ns1 ns2 ns3
run cnet net ls
echo
echo "quickstart: all steps passed"
