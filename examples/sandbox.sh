# Sourced by the examples: re-run the calling script inside a throwaway sandbox, so trying an
# example never touches this machine's own network namespace, /run/netns, /etc/netns or
# /var/lib/cnet. The sandbox has its own network, mount and pid namespaces; when the script
# ends, everything it built goes with them.
#
# Usage, at the top of an example:   . "$(dirname "$0")/sandbox.sh"

if [ -z "${CNET_IN_SANDBOX:-}" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "$0: run as root (the sandbox needs unshare)" >&2
        exit 2
    fi
    here=$(cd "$(dirname "$0")" && pwd)
    mkdir -p /etc/netns
    exec env CNET_IN_SANDBOX=1 PATH="$here/../target/x86_64-unknown-linux-gnu/release:$here/../target/release:$here/../target/debug:$PATH" \
        unshare --mount --net --pid --fork --kill-child --mount-proc --propagation private \
        sh -c 'mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /etc/netns &&
               mkdir -p /run/cnet && ip link set lo up && exec "$0" "$@"' "$0" "$@"
fi
export CNET_STATE_DIR=/run/cnet

# Print a command, then run it: the examples are lab material.
run() {
    printf '\n$ %s\n' "$*"
    "$@"
}

# A stand-in for another machine, or for the outside world: namespace `outside` at 203.0.113.2
# on a veth, the sandbox's host being 203.0.113.1 (a documentation range, used only here).
make_outside() {
    ip netns add outside
    ip link add up0 type veth peer name eth0 netns outside
    ip addr add 203.0.113.1/24 dev up0 && ip link set up0 up
    ip -n outside addr add 203.0.113.2/24 dev eth0
    ip -n outside link set eth0 up && ip -n outside link set lo up
}
