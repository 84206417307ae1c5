#!/bin/sh
# The lab of bench/lab.sh (N namespaces, default 100, on 4 bridge networks) built and removed
# by hand, the fastest way iproute2 and iptables allow, against `cnet lab up`/`lab down`, in a
# throwaway sandbox. Prints both times and checks that each build works (a ping).
#
# By hand: one `ip -batch` for the host's side (namespaces, bridges with their gateway address,
# veth pairs created straight into their namespace, on their bridge), one `ip -n NS -batch` per
# namespace (iproute2 6.1 takes no -n inside a batch: address, links up, default route), and
# one `iptables-restore --noflush` for cnet's kind of rules (forward in/out, masquerade).
# Removed: one `ip -batch` deleting the namespaces (their veths go with them) and the bridges,
# and one `iptables-restore` deleting the rules. What cnet does beyond that is not in the hand
# version: its state records and leases, hosts files for names, rollback, isolation chains.
#
# Usage (as root): bench/lab-ipbatch.sh [N]
set -e
. "$(dirname "$0")/../examples/sandbox.sh"
n=${1:-100}
lab=/run/bench-lab.toml
work=/run/ipbatch
mkdir -p "$work"

now() { date +%s.%N; }
elapsed() { awk "BEGIN { print $2 - $1 }"; }

# The scripts, written before the clock starts.
{
    for k in 0 1 2 3; do
        echo "link add b$k type bridge"
        echo "addr add 10.200.$k.1/24 dev b$k"
        echo "link set b$k up"
    done
    i=0
    while [ "$i" -lt "$n" ]; do
        echo "netns add n$i"
        echo "link add v$i type veth peer name eth0 netns n$i"
        echo "link set v$i master b$((i % 4)) up"
        i=$((i + 1))
    done
} >"$work/up.batch"
i=0
while [ "$i" -lt "$n" ]; do
    k=$((i % 4))
    printf 'link set lo up\naddr add 10.200.%s.%s/24 dev eth0\nlink set eth0 up\nroute add default via 10.200.%s.1\n' \
        "$k" "$((i / 4 + 2))" "$k" >"$work/ns$i.batch"
    i=$((i + 1))
done
rules() {
    echo '*filter'
    for k in 0 1 2 3; do
        echo "-$1 FORWARD -o b$k -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
        echo "-$1 FORWARD -i b$k -j ACCEPT"
    done
    echo 'COMMIT'
    echo '*nat'
    for k in 0 1 2 3; do echo "-$1 POSTROUTING -s 10.200.$k.0/24 ! -o b$k -j MASQUERADE"; done
    echo 'COMMIT'
}
rules A >"$work/up.rules"
rules D >"$work/down.rules"
{
    i=0
    while [ "$i" -lt "$n" ]; do echo "netns del n$i"; i=$((i + 1)); done
    for k in 0 1 2 3; do echo "link del b$k"; done
} >"$work/down.batch"

t0=$(now)
sysctl -qw net.ipv4.ip_forward=1
ip -batch "$work/up.batch"
i=0
while [ "$i" -lt "$n" ]; do ip -n "n$i" -batch "$work/ns$i.batch"; i=$((i + 1)); done
iptables-restore --noflush <"$work/up.rules"
t1=$(now)
ip netns exec n0 ping -c1 -W2 10.200.0.3 >/dev/null
t2=$(now)
iptables-restore --noflush <"$work/down.rules"
ip -batch "$work/down.batch"
t3=$(now)
hand_up=$(elapsed "$t0" "$t1"); hand_down=$(elapsed "$t2" "$t3")

# The same lab as a lab file (as bench/lab.sh writes it).
{
    for k in 0 1 2 3; do
        printf '[networks.b%s]\nsubnet = "10.200.%s.0/24"\n\n' "$k" "$k"
    done
    i=0
    while [ "$i" -lt "$n" ]; do
        printf '[namespaces.n%s]\nattach = [{ network = "b%s" }]\n\n' "$i" "$((i % 4))"
        i=$((i + 1))
    done
} >"$lab"
echo "cnet: $(command -v cnet)"
t0=$(now); cnet lab up "$lab" >/dev/null; t1=$(now)
cnet exec-in-ns n0 ping -c1 -W2 n4 >/dev/null
t2=$(now); cnet lab down "$lab" >/dev/null; t3=$(now)
lab_up=$(elapsed "$t0" "$t1"); lab_down=$(elapsed "$t2" "$t3")

printf '\n%s namespaces on 4 networks (seconds)\n' "$n"
printf '%-44s %8.3f\n' "by hand: ip -batch + iptables-restore, up" "$hand_up"
printf '%-44s %8.3f\n' "cnet lab up" "$lab_up"
printf '%-44s %8.3f\n' "by hand: ip -batch + iptables-restore, down" "$hand_down"
printf '%-44s %8.3f\n' "cnet lab down" "$lab_down"
awk "BEGIN { printf \"cnet / by hand: up %.2f   down %.2f\\n\", $lab_up / $hand_up, $lab_down / $hand_down }"
