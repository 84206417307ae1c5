#!/bin/sh
# `cnet lab up`/`lab down` (and `lab down --wait`) of N namespaces (default 100) on 4 bridge
# networks, against the same attachments as N `cnet attach` processes run one after another
# (and N `cnet ns rm`), in a throwaway sandbox. Prints the times and their ratios. The binary
# is the first cnet on the sandbox's PATH: the `cargo dist` build if there is one (see
# examples/sandbox.sh).
#
# Usage (as root): bench/lab.sh [N]
set -e
. "$(dirname "$0")/../examples/sandbox.sh"
n=${1:-100}
lab=/run/bench-lab.toml

now() { date +%s.%N; }
elapsed() { awk "BEGIN { print $2 - $1 }"; }
# Untimed, between phases: until the links retired by the phase before (`cnr...`, deleted in
# the background after `lab down` or `ns rm` returned) are gone, so no phase pays for another's.
settle() {
    tries=0
    while ip -o link show | grep -q ': cnr' && [ "$tries" -lt 100 ]; do
        sleep 0.05; tries=$((tries + 1))
    done
}

# The lab file: networks b0..b3 (10.200.K.0/24), namespace nI on network b(I mod 4).
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
cnet lab down "$lab" >/dev/null; t2=$(now)
lab_up=$(elapsed "$t0" "$t1"); lab_down=$(elapsed "$t1" "$t2")
settle
# `down --wait`: until the kernel has deleted the links too (what `lab down` did before).
cnet lab up "$lab" >/dev/null
t0=$(now); cnet lab down --wait "$lab" >/dev/null; t1=$(now)
lab_down_wait=$(elapsed "$t0" "$t1")

# The same lab, one process per object (the networks are made the same way, not timed).
for k in 0 1 2 3; do cnet net create "b$k" --subnet "10.200.$k.0/24" >/dev/null; done
t0=$(now)
i=0
while [ "$i" -lt "$n" ]; do cnet attach "b$((i % 4))" "n$i" >/dev/null; i=$((i + 1)); done
t1=$(now)
i=0
while [ "$i" -lt "$n" ]; do cnet ns rm "n$i" >/dev/null; i=$((i + 1)); done
t2=$(now)
attaches=$(elapsed "$t0" "$t1"); removals=$(elapsed "$t1" "$t2")
settle
for k in 0 1 2 3; do cnet net rm "b$k" >/dev/null; done

printf '\n%s namespaces on 4 networks (seconds)\n' "$n"
printf '%-36s %8.3f\n' "cnet lab up (networks included)" "$lab_up"
printf '%-36s %8.3f\n' "$n x cnet attach" "$attaches"
printf '%-36s %8.3f\n' "cnet lab down (networks included)" "$lab_down"
printf '%-36s %8.3f\n' "cnet lab down --wait" "$lab_down_wait"
printf '%-36s %8.3f\n' "$n x cnet ns rm" "$removals"
awk "BEGIN { printf \"lab up / attaches: %.2f   lab down / ns rms: %.2f   lab down --wait / ns rms: %.2f\\n\", $lab_up / $attaches, $lab_down / $removals, $lab_down_wait / $removals }"
