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

# --- helpers for the seed labs (examples/seed-*.sh) -------------------------------------------

# Print a shell pipeline, then run it: run_sh 'ip addr | grep eth0'
run_sh() {
    printf '\n$ %s\n' "$1"
    sh -c "$1"
}

# An IPv4 address of a namespace on simulated host HOST ("" for this one): addr_of HOST NETNS [IFACE]
addr_of() {
    at "$1" ip -n "$2" -4 -o addr show "${3:-eth0}" | awk '{ split($4, a, "/"); print a[1]; exit }'
}

# Say what a lab cannot reproduce with cnet, and why.
not_reproduced() {
    printf '\n[not reproduced] %s\n' "$*"
}

# Retry a command for up to 5 s, saying what for: wait_for WHAT COMMAND...
wait_for() {
    what=$1; shift
    printf '(waiting for %s)\n' "$what"
    tries=0
    until "$@" >/dev/null 2>&1; do
        tries=$((tries + 1))
        if [ "$tries" -ge 50 ]; then
            echo "gave up waiting for $what" >&2
            return 1
        fi
        sleep 0.1
    done
}

# Simulated hosts: each has its own network and mount namespaces (its own /run/netns,
# /etc/netns and cnet state), with underlay interface up0 at 192.0.2.N/24 plugged into the
# bridge sw0 of this sandbox (a documentation range, used only here).
make_switch() {
    ip link add sw0 type bridge && ip link set sw0 up
}

start_host() { # NAME N
    unshare --mount --net --propagation private sh -c '
        mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /etc/netns &&
        mkdir -p /run/netns /run/cnet && ip link set lo up && exec sleep infinity' &
    eval "pid_$1=$!"
    wait_for "host $1 to start" host_started "$!"
    ip link add "swp-$1" type veth peer name up0 netns "/proc/$!/ns/net"
    ip link set "swp-$1" master sw0 && ip link set "swp-$1" up
    nsenter -t "$!" --net sh -c "ip addr add 192.0.2.$2/24 dev up0 && ip link set up0 up"
}

host_started() { # PID: has it its own network namespace, with /run/cnet mounted?
    [ -e "/proc/$1/ns/net" ] && [ "$(readlink "/proc/$1/ns/net")" != "$(readlink /proc/self/ns/net)" ] &&
        nsenter -t "$1" --mount test -d /run/cnet
}

# Run a command quietly on simulated host HOST, or on this sandbox's own host if HOST is "".
at() {
    where=$1; shift
    if [ -z "$where" ]; then
        "$@"
    else
        eval "pid=\$pid_$where"
        nsenter -t "$pid" --mount --net -- "$@"
    fi
}

# Print a command as a prompt of simulated host HOST, then run it there.
on() {
    where=$1; shift
    printf '\n[host %s]$ %s\n' "$where" "$*"
    at "$where" "$@"
}

# A one-line web server (standing in for nginx) in a namespace, in the background:
# serve HOST NETNS TEXT [PORT]   (HOST "" for this sandbox's own host)
serve() {
    port=${4:-80}
    printf '\n%s$ cnet exec-in-ns %s -- socat TCP-LISTEN:%s,fork,reuseaddr SYSTEM:"echo HTTP/1.0 200 OK; echo; echo %s" &\n' \
        "${1:+[host $1]}" "$2" "$port" "$3"
    at "$1" cnet exec-in-ns "$2" -- socat "TCP-LISTEN:$port,fork,reuseaddr" \
        SYSTEM:"echo HTTP/1.0 200 OK; echo; echo $3" &
    wait_for "$2 to listen on port $port" at "$1" ip netns exec "$2" sh -c "ss -Hltn 'sport = :$port' | grep -q ."
}

# Fetch a page and check it holds TEXT (what `curl ADDRESS:PORT` does in the labs):
# fetch HOST NETNS ADDRESS:PORT TEXT   (NETNS "-" for the host itself)
fetch() {
    if [ "$2" = - ]; then
        printf '\n%s$ socat -T2 - TCP:%s   # curl %s\n' "${1:+[host $1]}" "$3" "$3"
        page=$(at "$1" socat -T2 - "TCP:$3,connect-timeout=2" </dev/null) || true
    else
        printf '\n%s$ cnet exec-in-ns %s -- socat -T2 - TCP:%s   # curl %s\n' "${1:+[host $1]}" "$2" "$3" "$3"
        page=$(at "$1" cnet exec-in-ns "$2" -- socat -T2 - "TCP:$3,connect-timeout=2" </dev/null) || true
    fi
    printf '%s\n' "$page"
    case $page in
        *"$4"*) ;;
        *) echo "FAILED: no '$4' from $3" >&2; return 1 ;;
    esac
}

# Expect a ping to fail: unreachable HOST NETNS TARGET
unreachable() {
    if at "$1" cnet exec-in-ns "$2" -- ping -c1 -W1 "$3" >/dev/null 2>&1; then
        echo "FAILED: $2${1:+ on host $1} reached $3" >&2
        return 1
    fi
    echo "(as expected, $2${1:+ on host $1} cannot reach $3)"
}
