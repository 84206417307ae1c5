#!/usr/bin/env python3
"""A/B of two cnet binaries: attach and detach, with and without a published port, and net
create / net rm of a bridge network (beside one that exists, so the firewall's table or chains
are there already).

    bench/ab.py OLD_BINARY NEW_BINARY [ROUNDS]      (as root)

Runs inside a throwaway sandbox of its own (network, mount and pid namespaces). Each binary
has its own state directory and bridge network; the two are interleaved round by round (the
order flips every round), so that drift of the machine falls on both alike. Prints the median
of each operation and the ratio NEW / OLD.
"""
import os
import statistics
import subprocess
import sys
import time


def in_sandbox():
    return os.environ.get("CNET_AB_SANDBOX") == "1"


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    if not in_sandbox():
        env = dict(os.environ, CNET_AB_SANDBOX="1")
        cmd = ["unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc",
               "--propagation", "private", sys.executable, *sys.argv]
        sys.exit(subprocess.run(cmd, env=env).returncode)
    binaries = {"old": os.path.abspath(sys.argv[1]), "new": os.path.abspath(sys.argv[2])}
    rounds = min(int(sys.argv[3]) if len(sys.argv) > 3 else 60, 150)
    sh("mount -t tmpfs none /run; mkdir -p /run/netns /run/lock /etc/netns; "
       "mount -t tmpfs none /etc/netns; ip link set lo up")
    env = {v: dict(os.environ, CNET_STATE_DIR=f"/run/state-{v}") for v in binaries}

    def cnet(v, *args):
        start = time.perf_counter()
        subprocess.run([binaries[v], *args], env=env[v], check=True,
                       stdout=subprocess.DEVNULL)
        return time.perf_counter() - start

    for v in binaries:
        cnet(v, "net", "create", f"lab{v}")
    times = {}
    order = list(binaries)
    for i in range(rounds):
        for v in (order if i % 2 else order[::-1]):
            sh(f"ip netns add {v}{i}; ip netns add {v}p{i}")
            port = (10000 if v == "old" else 20000) + i
            times.setdefault((v, "attach"), []).append(cnet(v, "attach", f"lab{v}", f"{v}{i}"))
            times.setdefault((v, "attach -p"), []).append(
                cnet(v, "attach", f"lab{v}", f"{v}p{i}", "-p", f"{port}:80"))
    for i in range(rounds):
        for v in (order if i % 2 else order[::-1]):
            times.setdefault((v, "detach"), []).append(cnet(v, "detach", f"lab{v}", f"{v}{i}"))
            times.setdefault((v, "detach -p"), []).append(
                cnet(v, "detach", f"lab{v}", f"{v}p{i}"))
    for i in range(rounds):
        for v in (order if i % 2 else order[::-1]):
            subnet = f"10.{100 + i}.{0 if v == 'old' else 1}.0/24"
            times.setdefault((v, "net create"), []).append(
                cnet(v, "net", "create", f"n{v}{i}", "--subnet", subnet))
    for i in range(rounds):
        for v in (order if i % 2 else order[::-1]):
            times.setdefault((v, "net rm"), []).append(cnet(v, "net", "rm", f"n{v}{i}"))
    for op in ["attach", "attach -p", "detach", "detach -p", "net create", "net rm"]:
        old = statistics.median(times[("old", op)]) * 1000
        new = statistics.median(times[("new", op)]) * 1000
        print(f"{op:10s} old {old:.2f} ms  new {new:.2f} ms  new/old {new / old:.2f}")


if __name__ == "__main__":
    main()
