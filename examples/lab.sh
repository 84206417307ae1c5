#!/bin/sh
# A lab from a file, in a sandbox: examples/lab.toml (three networks: a web tier with a published
# port, an internal database network, an overlay to another site) brought up, listed, drawn,
# brought up again (nothing changes), taken down and up again; it ends with a ping by name.
set -e
. "$(dirname "$0")/sandbox.sh"
lab="$(dirname "$0")/lab.toml"

# The overlay's underlay: this host is 192.0.2.1 (a documentation range, used only here).
ip link add up0 type veth peer name up0p
ip addr add 192.0.2.1/24 dev up0 && ip link set up0 up && ip link set up0p up

run cnet lab up "$lab"
run cnet lab ls "$lab"
run cnet graph
run cnet graph --style mermaid
if command -v dot >/dev/null; then
    cnet graph --style dot >/run/lab.dot
    run dot -Tsvg -o /run/lab.svg /run/lab.dot
fi
printf '\n$ cnet lab up %s    # again: everything is there already\n' "$lab"
again=$(cnet lab up "$lab")
[ -z "$again" ] || { echo "unexpected: a second lab up did something: $again" >&2; exit 1; }
run cnet lab down "$lab"
run cnet net ls
run cnet lab up "$lab"
run cnet exec-in-ns web -- ping -c1 -W2 postgres
