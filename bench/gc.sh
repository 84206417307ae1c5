#!/bin/sh
# Times `cnet gc` and `cnet restore` at 1000 endpoints (goal: under 1 s each), in throwaway
# sandboxes (own network, mount and pid namespaces; nothing of this machine is touched):
#
#   gc, nothing to repair        1000 namespaces attached to one bridge network
#   gc, 100 namespaces deleted   `ip netns del` of 100 of them by hand, then gc (each run
#                                deletes another 100)
#   restore after a reboot       the state directory copied into a fresh sandbox (no links,
#                                no rules, empty /run) and CNET_BOOT_ID changed
#
# Prints the median of RUNS runs (default 3) of each, in seconds. CNET_TIMING=1 in the
# environment makes cnet print its phases on stderr.
#
#   bench/gc.sh [N]         N namespaces (default 1000); the cnet binary: CNET_BIN, else the
#                           `cargo dist` build, else target/release or target/debug
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
if [ -z "${PHASE:-}" ]; then N=${1:-1000}; fi
RUNS=${RUNS:-3}

if [ "$(id -u)" != 0 ]; then
    echo "bench/gc.sh: run as root (the sandboxes need unshare)" >&2
    exit 2
fi
if [ -z "${CNET_BIN:-}" ]; then
    for b in "$repo/target/x86_64-unknown-linux-gnu/release/cnet" "$repo/target/release/cnet" \
        "$repo/target/debug/cnet"; do
        if [ -x "$b" ]; then CNET_BIN=$b; break; fi
    done
fi
[ -x "${CNET_BIN:-}" ] || { echo "bench/gc.sh: no cnet binary (cargo dist)" >&2; exit 2; }
export CNET_BIN N RUNS

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p /etc/netns

# Run a phase of this script inside a fresh sandbox.
sandboxed() {
    unshare --mount --net --pid --fork --kill-child --mount-proc --propagation private \
        sh -c 'mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /etc/netns &&
               mkdir -p /run/cnet-state && ip link set lo up && exec "$0" "$@"' \
        "$0" "$@"
}

# Seconds a command takes (its output discarded, its failure fatal).
seconds() {
    t0=$(date +%s.%N)
    "$@" >/dev/null || { echo "bench/gc.sh: failed: $*" >&2; exit 1; }
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc
}

median() {
    sort -n | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.3f", m}'
}

export CNET_STATE_DIR=/run/cnet-state
cnet() { "$CNET_BIN" "$@"; }

case "${PHASE:-}" in
build)
    dir=$1
    cnet net create lab --subnet 10.200.0.0/16 >/dev/null
    i=1
    while [ "$i" -le "$N" ]; do
        cnet attach lab "n$i" >/dev/null
        i=$((i + 1))
    done
    tar -C "$CNET_STATE_DIR" -cf "$dir/state.tar" .
    for r in $(seq "$RUNS"); do seconds cnet gc; done | median >"$dir/gc-clean"
    for r in $(seq "$RUNS"); do
        first=$(( (r - 1) * 100 + 1 ))
        for j in $(seq "$first" $((first + 99))); do ip netns del "n$j"; done
        out=$(cnet gc --dry-run | grep -c '^# endpoint ') || true
        [ "$out" = 100 ] || { echo "bench/gc.sh: gc sees $out endpoints gone, not 100" >&2; exit 1; }
        seconds cnet gc
    done | median >"$dir/gc-deleted"
    ;;
restore)
    dir=$1
    tar -C "$CNET_STATE_DIR" -xf "$dir/state.tar"
    export CNET_BOOT_ID=00000000-0000-0000-0000-00000000b007
    seconds cnet restore >>"$dir/restore-runs"
    cnet attach lab after-boot >/dev/null
    ;;
*)
    echo "building $N namespaces on one bridge network (cnet: $CNET_BIN)..." >&2
    PHASE=build sandboxed "$work"
    for r in $(seq "$RUNS"); do PHASE=restore sandboxed "$work"; done
    printf '%-36s %ss\n' "gc, nothing to repair ($N endpoints)" "$(cat "$work/gc-clean")"
    printf '%-36s %ss\n' "gc, 100 namespaces deleted" "$(cat "$work/gc-deleted")"
    printf '%-36s %ss\n' "restore after a reboot" "$(median <"$work/restore-runs")"
    ;;
esac
