#!/usr/bin/env python3
"""cnet benchmark: cnet side by side with iproute2 + iptables, the CNI bridge plugin and netavark.

Run it through bench/run.sh (installs the peers, finds the cnet binary). Everything that touches
a network runs inside throwaway sandboxes (own network, mount and pid namespaces, tmpfs over
/run, /etc/netns and the tools' state directories), one fresh sandbox per measured phase, so no
tool sees another's bridges or iptables rules and the host's own network is never touched.

Python 3 standard library only. See bench/README.md for what is measured and how.
"""

import argparse
import datetime
import json
import math
import os
import platform
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

SUBNET_PREFIX = "10.60"          # every tool: 10.60.0.0/16, gateway 10.60.0.1, NAT
SUBNET = SUBNET_PREFIX + ".0.0/16"
GATEWAY = SUBNET_PREFIX + ".0.1"
NET = "bench"                    # network name where a tool has names
CONTAINER_PORT = 80
HOST_PORT_BASE = 20000
STATE_DIR = "/run/cnet-bench"     # cnet's state, inside the sandbox's tmpfs /run

# ---------------------------------------------------------------------------------------------
# Small helpers


class ToolError(Exception):
    """A tool invocation that failed (non-zero exit)."""

    def __init__(self, argv, code, stderr, stdin=None):
        self.argv, self.code, self.stderr = argv, code, stderr
        msg = f"`{shlex.join(argv)}` exited with {code}: {stderr.strip()[-600:]}"
        super().__init__(msg)


class NotSupported(Exception):
    """The cnet build under test lacks a feature (published ports, vxlan)."""


def median(v):
    return statistics.median(v) if v else None


def p95(v):
    if not v:
        return None
    s = sorted(v)
    return s[max(0, math.ceil(0.95 * len(s)) - 1)]


def ratio_interval(num, den, level=0.95, rounds=2000):
    """A percentile-bootstrap interval for median(num) ÷ median(den): how far the ratio of two
    noisy medians may be from the truth. Seeded, so re-rendering gives the same table."""
    if len(num) < 3 or len(den) < 3:
        return None
    rng = random.Random(0)
    rs = sorted(median(rng.choices(num, k=len(num))) / median(rng.choices(den, k=len(den)))
                for _ in range(rounds))
    cut = int(rounds * (1 - level) / 2)
    return rs[cut], rs[rounds - 1 - cut]


def paired_ratio(num, den, level=0.95, rounds=2000):
    """The median of num[i] ÷ den[i] over rounds run back to back, with a percentile-bootstrap
    interval over the rounds: drift of the machine between rounds cancels out of each pair.
    Seeded, so re-rendering gives the same table. None when fewer than 3 pairs."""
    pairs = [a / b for a, b in zip(num, den) if b]
    if len(pairs) < 3:
        return None
    rng = random.Random(0)
    rs = sorted(median(rng.choices(pairs, k=len(pairs))) for _ in range(rounds))
    cut = int(rounds * (1 - level) / 2)
    return median(pairs), rs[cut], rs[rounds - 1 - cut]


def ms(ns):
    return ns / 1e6


def fmt(x, digits=1):
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.{max(digits, 2)}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    return "–" if r is None else f"{r:.2f}×"


def find_exe(names, dirs=()):
    for d in dirs:
        for n in names:
            p = os.path.join(d, n)
            if os.access(p, os.X_OK):
                return p
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    return None


def netavark_path():
    return os.environ.get("NETAVARK") or find_exe(
        ["netavark"], ["/usr/lib/podman", "/usr/libexec/podman", "/usr/local/libexec/podman"])


def cni_dir():
    for d in [os.environ.get("CNI_PLUGIN_DIR"), "/usr/lib/cni", "/opt/cni/bin"]:
        if d and os.access(os.path.join(d, "bridge"), os.X_OK):
            return d
    return None


# ---------------------------------------------------------------------------------------------
# Tools under test (each runs inside a fresh sandbox; "host" below is the sandbox's namespace)


class Tool:
    name = "?"
    label = "?"
    creates_ns = False        # the attach command creates the namespace itself

    def __init__(self, cfg, ports):
        self.cfg = cfg
        self.ports = ports
        self.record = None     # list to which invocations are logged (first cycle only)

    # -- invocation --
    def run(self, argv, stdin=None, env=None, capture=False):
        if self.record is not None:
            self.record.append({"argv": argv, "stdin": stdin,
                                "env": {k: v for k, v in (env or {}).items()
                                        if k.startswith("CNI_")}})
        full_env = None
        if env:
            full_env = dict(os.environ)
            full_env.update(env)
        p = subprocess.run(argv, input=stdin.encode() if isinstance(stdin, str) else stdin,
                           stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                           stderr=subprocess.PIPE, env=full_env)
        if p.returncode != 0:
            raise ToolError(argv, p.returncode, p.stderr.decode(errors="replace"))
        return p.stdout.decode() if capture else None

    # -- per-tool API --
    def check(self):
        """None when the tool can run this phase, else the reason it cannot (n/a)."""
        return None

    def version(self):
        return ""

    def create_network(self):
        pass

    def remove_network(self):
        pass

    def endpoint(self, idx):
        k = idx + 2
        return {"idx": idx, "ns": f"b{idx}", "ip": f"{SUBNET_PREFIX}.{k // 256}.{k % 256}",
                "veth": f"vb{idx}", "cid": f"benchc{idx:06d}", "port": HOST_PORT_BASE + idx}

    def ns_add(self, ep):
        self.run(["ip", "netns", "add", ep["ns"]])

    def attach(self, ep):
        raise NotImplementedError

    def detach(self, ep):
        raise NotImplementedError

    def ns_del(self, ep):
        self.run(["ip", "netns", "del", ep["ns"]])

    def list_ops(self):
        return {}


class Cnet(Tool):
    name = "cnet"
    label = "cnet (namespace made beforehand)"

    def __init__(self, cfg, ports):
        super().__init__(cfg, ports)
        self.bin = cfg["cnet"]
        os.environ["CNET_STATE_DIR"] = STATE_DIR

    def c(self, *args):
        return [self.bin, *args]

    def check(self):
        if self.ports and not self.cfg["cnet_publish"]:
            return "n/a (not supported by this cnet build)"
        return None

    def create_network(self):
        self.run(self.c("net", "create", NET, "--subnet", SUBNET))

    def remove_network(self):
        self.run(self.c("net", "rm", "--force", NET))

    def attach(self, ep):
        argv = self.c("attach", NET, ep["ns"])
        if self.ports:
            argv += ["-p", f"{ep['port']}:{CONTAINER_PORT}"]
        self.run(argv)

    def detach(self, ep):
        self.run(self.c("detach", NET, ep["ns"]))

    def list_ops(self):
        return {
            "net ls": self.c("net", "ls"),
            "lease ls": self.c("lease", "ls"),
            f"lease ls {NET}": self.c("lease", "ls", NET),
            f"net inspect {NET}": self.c("net", "inspect", NET),
        }


class CnetWait(Cnet):
    """cnet with `detach --wait`: the detach returns only once the kernel has freed the veth
    pair (as the peers' detaches do), instead of leaving that to cnet's background reclaimer.
    The like-for-like detach figure; attach is the plain cnet one."""
    name = "cnet-wait"
    label = "cnet, detach --wait (namespace made beforehand)"

    def check(self):
        if not self.cfg.get("cnet_wait", True):
            return "n/a (not supported by this cnet build: no `detach --wait`)"
        return super().check()

    def detach(self, ep):
        self.run(self.c("detach", "--wait", NET, ep["ns"]))

    def list_ops(self):
        return {}


class CnetMakesNs(Cnet):
    name = "cnet-ns"
    label = "cnet (attach creates the namespace)"
    creates_ns = True

    def ns_add(self, ep):
        pass

    def ns_del(self, ep):
        self.run(self.c("ns", "rm", ep["ns"]))

    def list_ops(self):
        return {}


class IpCommands(Tool):
    """The hand-written equivalent: one `ip`/`iptables` process per step."""
    name = "ip-cmds"
    label = "iproute2 + iptables, separate commands"
    bridge = "brbench"

    def network_commands(self):
        b = self.bridge
        cmds = [
            ["ip", "link", "add", b, "type", "bridge"],
            ["ip", "addr", "add", f"{GATEWAY}/16", "dev", b],
            ["ip", "link", "set", b, "up"],
            ["sysctl", "-qw", "net.ipv4.ip_forward=1"],
            ["iptables", "-t", "nat", "-A", "POSTROUTING", "-s", SUBNET, "!", "-o", b,
             "-j", "MASQUERADE"],
            ["iptables", "-A", "FORWARD", "-o", b, "-m", "conntrack", "--ctstate",
             "RELATED,ESTABLISHED", "-j", "ACCEPT"],
            ["iptables", "-A", "FORWARD", "-i", b, "-j", "ACCEPT"],
        ]
        if self.ports:
            cmds += [
                ["iptables", "-t", "nat", "-N", "BENCH-DNAT"],
                ["iptables", "-t", "nat", "-A", "PREROUTING", "-m", "addrtype",
                 "--dst-type", "LOCAL", "-j", "BENCH-DNAT"],
                ["iptables", "-t", "nat", "-A", "OUTPUT", "-m", "addrtype",
                 "--dst-type", "LOCAL", "-j", "BENCH-DNAT"],
            ]
        return cmds

    def port_rules(self, ep, op):
        """The two rules a published port needs: DNAT, and the FORWARD accept."""
        return [
            ["-t", "nat", op, "BENCH-DNAT", "-p", "tcp", "--dport", str(ep["port"]),
             "-j", "DNAT", "--to-destination", f"{ep['ip']}:{CONTAINER_PORT}"],
            ["-t", "filter", op, "FORWARD", "-d", f"{ep['ip']}/32", "-o", self.bridge,
             "-p", "tcp", "--dport", str(CONTAINER_PORT), "-j", "ACCEPT"],
        ]

    def create_network(self):
        for c in self.network_commands():
            self.run(c)

    def remove_network(self):
        self.run(["ip", "link", "del", self.bridge])

    def attach(self, ep):
        ns, v = ep["ns"], ep["veth"]
        for c in [
            ["ip", "link", "add", v, "type", "veth", "peer", "name", "eth0", "netns", ns],
            ["ip", "link", "set", v, "master", self.bridge],
            ["ip", "link", "set", v, "up"],
            ["ip", "-n", ns, "link", "set", "lo", "up"],
            ["ip", "-n", ns, "addr", "add", f"{ep['ip']}/16", "dev", "eth0"],
            ["ip", "-n", ns, "link", "set", "eth0", "up"],
            ["ip", "-n", ns, "route", "add", "default", "via", GATEWAY],
        ]:
            self.run(c)
        if self.ports:
            for r in self.port_rules(ep, "-A"):
                self.run(["iptables", *r])

    def detach(self, ep):
        if self.ports:
            for r in self.port_rules(ep, "-D"):
                self.run(["iptables", *r])
        self.run(["ip", "link", "del", ep["veth"]])


class IpBatch(IpCommands):
    """The same steps with as few processes as iproute2 allows: one `ip -batch` on the host
    side, one `ip -n NS -batch` inside the namespace (batch lines cannot switch namespaces),
    and one `iptables-restore --noflush` for a published port."""
    name = "ip-batch"
    label = "iproute2 -batch + iptables-restore"

    def restore_text(self, ep, op):
        by_table = {}
        for r in self.port_rules(ep, op):
            by_table.setdefault(r[1], []).append(shlex.join(r[2:]))
        return "".join(f"*{t}\n" + "\n".join(lines) + "\nCOMMIT\n" for t, lines in by_table.items())

    def attach(self, ep):
        ns, v = ep["ns"], ep["veth"]
        self.run(["ip", "-batch", "-"],
                 stdin=f"link add {v} up master {self.bridge} type veth peer name eth0 netns {ns}\n")
        self.run(["ip", "-n", ns, "-batch", "-"],
                 stdin=(f"link set lo up\naddr add {ep['ip']}/16 dev eth0\n"
                        f"link set eth0 up\nroute add default via {GATEWAY}\n"))
        if self.ports:
            self.run(["iptables-restore", "--noflush"], stdin=self.restore_text(ep, "-A"))

    def detach(self, ep):
        if self.ports:
            self.run(["iptables-restore", "--noflush"], stdin=self.restore_text(ep, "-D"))
        self.run(["ip", "link", "del", ep["veth"]])


class CniBridge(Tool):
    name = "cni"
    label = "CNI bridge + host-local (+ portmap)"

    def __init__(self, cfg, ports):
        super().__init__(cfg, ports)
        self.dir = cfg["cni_dir"]
        self.conf = {
            "cniVersion": "1.0.0", "name": NET, "type": "bridge", "bridge": "cnibench0",
            "isGateway": True, "ipMasq": True,
            "ipam": {"type": "host-local", "ranges": [[{"subnet": SUBNET, "gateway": GATEWAY}]],
                     "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "/run/cni-bench/networks"},
        }

    def check(self):
        if not self.dir:
            return "CNI plugins not found (apt-get install containernetworking-plugins)"
        return None

    def version(self):
        out = subprocess.run([os.path.join(self.dir, "bridge")], env={"CNI_COMMAND": "VERSION"},
                             input=b'{"cniVersion":"1.0.0"}', capture_output=True)
        plain = subprocess.run([os.path.join(self.dir, "bridge")], capture_output=True)
        first = (plain.stderr or plain.stdout).decode().strip().splitlines()
        return (first[0] if first else "") + " — VERSION: " + out.stdout.decode().strip()

    def env(self, cmd, ep):
        return {"CNI_COMMAND": cmd, "CNI_CONTAINERID": ep["cid"],
                "CNI_NETNS": f"/run/netns/{ep['ns']}", "CNI_IFNAME": "eth0", "CNI_PATH": self.dir}

    def portmap_conf(self, ep):
        return {"cniVersion": "1.0.0", "name": NET, "type": "portmap",
                "capabilities": {"portMappings": True}, "snat": True,
                "runtimeConfig": {"portMappings": [{"hostPort": ep["port"],
                                                    "containerPort": CONTAINER_PORT,
                                                    "protocol": "tcp"}]},
                "prevResult": ep["result"]}

    def attach(self, ep):
        out = self.run([os.path.join(self.dir, "bridge")], stdin=json.dumps(self.conf),
                       env=self.env("ADD", ep), capture=True)
        ep["result"] = json.loads(out)
        if self.ports:
            self.run([os.path.join(self.dir, "portmap")], stdin=json.dumps(self.portmap_conf(ep)),
                     env=self.env("ADD", ep), capture=True)

    def detach(self, ep):
        # libcni's order: the chain in reverse, each plugin given the cached prevResult.
        if self.ports:
            self.run([os.path.join(self.dir, "portmap")], stdin=json.dumps(self.portmap_conf(ep)),
                     env=self.env("DEL", ep))
        conf = dict(self.conf, prevResult=ep["result"])
        self.run([os.path.join(self.dir, "bridge")], stdin=json.dumps(conf),
                 env=self.env("DEL", ep))


class Netavark(Tool):
    name = "netavark"
    label = "netavark (JSON on stdin)"
    NET_ID = "2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9"

    def __init__(self, cfg, ports):
        super().__init__(cfg, ports)
        self.bin = cfg["netavark"]

    def check(self):
        if not self.bin:
            return "netavark not found (apt-get install netavark)"
        return None

    def version(self):
        return subprocess.run([self.bin, "--version"], capture_output=True,
                              text=True).stdout.strip()

    def create_network(self):
        os.makedirs("/run/netavark-bench", exist_ok=True)

    def options(self, ep):
        o = {
            "container_id": ep["cid"], "container_name": ep["ns"],
            "networks": {NET: {"static_ips": [ep["ip"]], "interface_name": "eth0"}},
            "network_info": {NET: {
                "name": NET, "id": self.NET_ID, "driver": "bridge",
                "network_interface": "nvbench0",
                "subnets": [{"subnet": SUBNET, "gateway": GATEWAY}],
                "ipv6_enabled": False, "internal": False, "dns_enabled": False,
                "ipam_options": {"driver": "host-local"}}},
        }
        if self.ports:
            o["port_mappings"] = [{"host_ip": "", "container_port": CONTAINER_PORT,
                                   "host_port": ep["port"], "range": 1, "protocol": "tcp"}]
        return json.dumps(o)

    def attach(self, ep):
        self.run([self.bin, "--config", "/run/netavark-bench", "setup", f"/run/netns/{ep['ns']}"],
                 stdin=self.options(ep))

    def detach(self, ep):
        self.run([self.bin, "--config", "/run/netavark-bench", "teardown",
                  f"/run/netns/{ep['ns']}"], stdin=self.options(ep))


TOOLS = {t.name: t for t in [Cnet, CnetWait, IpBatch, IpCommands, CniBridge, Netavark,
                             CnetMakesNs]}
PEERS = ["ip-batch", "ip-cmds", "cni", "netavark"]

# ---------------------------------------------------------------------------------------------
# Phases (each runs inside its own sandbox)


def timed(fn, *a):
    t0 = time.perf_counter_ns()
    fn(*a)
    return ms(time.perf_counter_ns() - t0)


def check_endpoint(tool, ep):
    """Untimed sanity check after the first attach: the namespace reaches the gateway, and a
    published port is in the nat table. A tool that does not set up a working endpoint fails
    the phase: its figures would not be comparable."""
    p = subprocess.run(["ip", "netns", "exec", ep["ns"], "ping", "-c1", "-W2", GATEWAY],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise ToolError(p.args, p.returncode,
                        f"check after {tool.name} attach: {ep['ns']} cannot ping the gateway: "
                        + p.stdout[-200:] + p.stderr)
    r = subprocess.run(["ip", "-n", ep["ns"], "-4", "route", "show", "default"],
                       capture_output=True, text=True)
    if GATEWAY not in r.stdout:
        raise ToolError(r.args, 1, f"check after {tool.name} attach: no default route via "
                                   f"{GATEWAY}: {r.stdout.strip()}")
    if tool.ports:
        # iptables' nat table for the peers; cnet keeps published ports in nftables maps.
        nat = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True)
        nft = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True)
        if str(ep["port"]) not in nat.stdout + nft.stdout:
            raise ToolError(nat.args, 1, f"check after {tool.name} attach: host port "
                                         f"{ep['port']} not in the nat table nor in nftables")


def phase_latency(spec, cfg):
    tool = TOOLS[spec["tool"]](cfg, spec["ports"])
    res = {"tool": tool.name, "label": tool.label, "ports": spec["ports"], "status": "ok",
           "scales": {}, "fill": {"ns_add": [], "attach": []},
           "teardown": {"detach": [], "ns_del": []}, "list_ops": {}, "commands": {}}
    why = tool.check()
    if why:
        res.update(status="n/a", note=why)
        return res
    scales, cycles, budget = spec["scales"], spec["cycles"], spec["budget"]
    start = time.monotonic()
    seq = 0
    attached = []

    def new_ep():
        nonlocal seq
        ep = tool.endpoint(seq)
        seq += 1
        return ep

    try:
        tool.record = []
        tool.create_network()
        res["commands"]["network"] = tool.record
        tool.record = None
        for S in scales:
            while len(attached) < S - 1:
                if time.monotonic() - start > budget:
                    break
                ep = new_ep()
                t_ns = timed(tool.ns_add, ep)
                t_at = timed(tool.attach, ep)
                if not tool.creates_ns:
                    res["fill"]["ns_add"].append(t_ns)
                res["fill"]["attach"].append(t_at)
                attached.append(ep)
            if len(attached) < S - 1:
                res["budget_hit"] = (f"stopped filling at {len(attached)} namespaces after "
                                     f"{budget:.0f} s (budget); scale {S} not measured")
                break
            sc = {"ns_add": [], "attach": [], "detach": [], "ns_del": [], "size": S}
            for c in range(cycles):
                ep = new_ep()
                if c == 0 and S == scales[0]:
                    tool.record = []
                t_ns = timed(tool.ns_add, ep)
                t_at = timed(tool.attach, ep)
                if c == 0 and S == scales[0]:
                    res["commands"]["attach"] = tool.record
                    tool.record = None
                    check_endpoint(tool, ep)
                if c == 0:
                    lo = {}
                    for what, argv in tool.list_ops().items():
                        lo[what] = [timed(tool.run, argv) for _ in range(max(5, cycles))]
                    if lo:
                        res["list_ops"][str(S)] = lo
                if c == 0 and S == scales[0]:
                    tool.record = []
                t_de = timed(tool.detach, ep)
                if c == 0 and S == scales[0]:
                    res["commands"]["detach"] = tool.record
                    tool.record = None
                t_nd = timed(tool.ns_del, ep)
                if not tool.creates_ns:
                    sc["ns_add"].append(t_ns)
                sc["attach"].append(t_at)
                sc["detach"].append(t_de)
                sc["ns_del"].append(t_nd)
            res["scales"][str(S)] = sc
        # The kernel finishes the last scale point's namespace cleanups and frees in the
        # background; let it, so that they land in no tool's first teardown window.
        time.sleep(spec["settle"])
        while attached:
            ep = attached.pop(0)
            res["teardown"]["detach"].append(timed(tool.detach, ep))
            res["teardown"]["ns_del"].append(timed(tool.ns_del, ep))
        tool.remove_network()
    except ToolError as e:
        res.update(status="failed", error=str(e), at=f"after {seq} namespaces")
    res["elapsed_s"] = time.monotonic() - start
    return res


def phase_netcrud(spec, cfg):
    """cnet net create + net rm, next to the hand-written equivalent."""
    reps = spec["cycles"]
    res = {"status": "ok", "ops": {}}
    os.environ["CNET_STATE_DIR"] = STATE_DIR
    c = cfg["cnet"]
    ip = IpCommands(cfg, False)
    try:
        create, rm, ip_create, ip_rm = [], [], [], []
        # First call outside the timing: cnet's predefined networks and base chains appear.
        subprocess.run([c, "net", "ls"], stdout=subprocess.DEVNULL, check=True)
        for i in range(reps):
            create.append(timed(ip.run, [c, "net", "create", "crud", "--subnet", SUBNET]))
            rm.append(timed(ip.run, [c, "net", "rm", "crud"]))
        def ip_teardown():
            for x in ip.network_commands()[::-1]:
                if x[0] == "iptables":
                    ip.run([("-D" if w == "-A" else w) for w in x])
            ip.run(["ip", "link", "del", ip.bridge])

        for i in range(reps):
            ip_create.append(timed(ip.create_network))
            ip_rm.append(timed(ip_teardown))
        res["ops"] = {"cnet net create": create, "cnet net rm": rm,
                      "iproute2+iptables create": ip_create, "iproute2+iptables rm": ip_rm}
    except ToolError as e:
        res.update(status="failed", error=str(e))
    return res


def sh(script):
    p = subprocess.run(["sh", "-ec", script], capture_output=True, text=True)
    if p.returncode != 0:
        raise ToolError(["sh", "-ec", script], p.returncode, p.stderr)
    return p.stdout


# iperf3's client and server each on a CPU of its own (when there are two), so that runs do not
# differ by where the scheduler happened to put them; the first second (slow start) is left out.
IPERF_PINNED = ["-A", "0,1"] if (os.cpu_count() or 1) >= 2 else []
IPERF_OMIT = ["-O", "1"]


def iperf(client_ns, server_ns, addr, seconds, enter=None):
    """One iperf3 TCP run from client_ns to addr (served in server_ns); Gbit/s, retransmits."""
    pre = lambda ns: ["ip", "netns", "exec", ns]
    srv = subprocess.Popen(pre(server_ns) + ["iperf3", "-s", "-1", "-B", addr, "-p", "5201"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        last = None
        for attempt in range(50):
            p = subprocess.run(pre(client_ns) + ["iperf3", "-c", addr, "-p", "5201", "-t",
                                                 str(seconds), "-J"] + IPERF_PINNED + IPERF_OMIT,
                               capture_output=True, text=True)
            try:
                j = json.loads(p.stdout)
            except ValueError:
                j = {}
            if p.returncode == 0 and "sum_received" in j.get("end", {}):
                return (j["end"]["sum_received"]["bits_per_second"] / 1e9,
                        j["end"]["sum_sent"].get("retransmits"))
            # The server may not listen yet (iperf3 -J exits 0 even then): retry.
            last = (p, j.get("error") or p.stdout[-400:] + p.stderr)
            time.sleep(0.1)
        raise ToolError(last[0].args, last[0].returncode, last[1])
    finally:
        try:
            srv.wait(timeout=5)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()


def phase_datapath(spec, cfg):
    res = {"status": "ok", "configs": {}, "order": [], "setup": {}, "sysctl": {}}
    os.environ["CNET_STATE_DIR"] = STATE_DIR
    c = cfg["cnet"]
    configs = []  # (key, label, client ns, server ns, server addr)
    try:
        # Bare veth pair: the physical limit.
        s = """ip netns add vA; ip netns add vB
ip link add v0 netns vA type veth peer name v1 netns vB
ip -n vA addr add 192.168.250.1/24 dev v0; ip -n vB addr add 192.168.250.2/24 dev v1
ip -n vA link set v0 up; ip -n vB link set v1 up; ip -n vA link set lo up; ip -n vB link set lo up"""
        sh(s)
        res["setup"]["veth"] = s
        configs.append(("veth", "bare veth pair (physical limit)", "vA", "vB", "192.168.250.2"))

        # Hand-built bridge, best settings, in its own "host" namespace with no firewall rules.
        s = """ip netns add hbh; ip netns add hbA; ip netns add hbB
ip netns exec hbh sysctl -qw net.bridge.bridge-nf-call-iptables=0 || true
ip -n hbh link add hbr0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
ip -n hbh link set hbr0 up
for x in A B; do
  ip -n hbh link add hv$x type veth peer name eth0 netns hb$x
  ip -n hbh link set hv$x master hbr0 up
  ip -n hb$x link set lo up; ip -n hb$x link set eth0 up
done
ip -n hbA addr add 10.200.0.2/24 dev eth0; ip -n hbB addr add 10.200.0.3/24 dev eth0"""
        sh(s)
        res["setup"]["hand-bridge"] = s
        configs.append(("hand-bridge", "hand-built bridge (no rules, bridge-nf-call-iptables=0)",
                        "hbA", "hbB", "10.200.0.3"))

        # cnet bridge network, in the sandbox's host namespace, with the same host setting as
        # the hand-built one: cnet needs no br_netfilter (hairpin is masqueraded, isolation is
        # routed), and bridged traffic through iptables costs every tool alike.
        s = ("sysctl -qw net.bridge.bridge-nf-call-iptables=0 || true\n"
             f"{c} net create dp --subnet 10.201.0.0/24\n{c} attach dp cbA\n"
             f"{c} attach dp cbB")
        sh(s)
        res["setup"]["cnet-bridge"] = s
        addr = sh("ip -n cbB -4 -o addr show eth0").split()[3].split("/")[0]
        res["sysctl"]["cnet host bridge-nf-call-iptables"] = sh(
            "cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo none").strip()
        configs.append(("cnet-bridge", "cnet bridge network (bridge-nf-call-iptables=0)", "cbA", "cbB", addr))

        # Hand-built VXLAN: two "hosts" joined by a veth underlay; on each, a bridge holding the
        # VXLAN device and a veth to a container namespace; MTU 1450 inside the overlay.
        s = """ip netns add xhA; ip netns add xhB; ip netns add xcA; ip netns add xcB
ip link add u0 netns xhA type veth peer name u0 netns xhB
ip -n xhA addr add 192.168.251.1/24 dev u0; ip -n xhB addr add 192.168.251.2/24 dev u0
for h in A B; do
  [ $h = A ] && { me=192.168.251.1; peer=192.168.251.2; } || { me=192.168.251.2; peer=192.168.251.1; }
  ip netns exec xh$h sysctl -qw net.bridge.bridge-nf-call-iptables=0 || true
  ip -n xh$h link set lo up; ip -n xh$h link set u0 up
  ip -n xh$h link add vx0 mtu 1450 type vxlan id 42 local $me remote $peer dstport 4789 dev u0
  ip -n xh$h link add xbr0 mtu 1450 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
  ip -n xh$h link set vx0 master xbr0 up; ip -n xh$h link set xbr0 up
  ip -n xh$h link add xv0 mtu 1450 type veth peer name eth0 mtu 1450 netns xc$h
  ip -n xh$h link set xv0 master xbr0 up
  ip -n xc$h link set lo up; ip -n xc$h link set eth0 up
done
ip -n xcA addr add 10.202.0.2/24 dev eth0; ip -n xcB addr add 10.202.0.3/24 dev eth0"""
        sh(s)
        res["setup"]["hand-vxlan"] = s
        configs.append(("hand-vxlan", "hand-built VXLAN, MTU 1450", "xcA", "xcB", "10.202.0.3"))

        # cnet VXLAN, same underlay shape.
        if cfg["cnet_vxlan"]:
            s = """ip netns add chA; ip netns add chB
ip link add u0 netns chA type veth peer name u0 netns chB
ip -n chA addr add 192.168.252.1/24 dev u0; ip -n chB addr add 192.168.252.2/24 dev u0
ip -n chA link set u0 up; ip -n chB link set u0 up; ip -n chA link set lo up; ip -n chB link set lo up
for h in A B; do ip netns exec ch$h sysctl -qw net.bridge.bridge-nf-call-iptables=0 || true; done"""
            sh(s)
            cmds = ""
            for h, me, peer in [("A", "192.168.252.1", "192.168.252.2"),
                                ("B", "192.168.252.2", "192.168.252.1")]:
                pre = f"nsenter --net=/run/netns/ch{h} env CNET_STATE_DIR=/run/cnet-ch{h} {c}"
                cmds += (f"{pre} net create ov -d vxlan --subnet 10.203.0.0/24 --vni 4243 "
                         f"--local {me} --peer {peer} --mtu 1450\n"
                         f"{pre} attach ov cc{h}\n")
            p = subprocess.run(["sh", "-ec", cmds], capture_output=True, text=True)
            if p.returncode != 0 and "not available" in p.stderr:
                res["cnet_vxlan_note"] = ("n/a (not supported by this cnet build: "
                                          + p.stderr.strip().splitlines()[-1] + ")")
            elif p.returncode != 0:
                raise ToolError(["sh", "-ec", cmds], p.returncode, p.stderr)
            else:
                res["setup"]["cnet-vxlan"] = s + "\n" + cmds
                addr = sh("ip -n ccB -4 -o addr show eth0").split()[3].split("/")[0]
                configs.append(("cnet-vxlan", "cnet VXLAN network, MTU 1450 (bridge-nf-call-iptables=0)", "ccA", "ccB",
                                addr))
        else:
            res["cnet_vxlan_note"] = "n/a (not supported by this cnet build)"

        # Interleave the runs so that drift in machine load hits every configuration alike;
        # each round starts one configuration later, so none always follows the same one.
        for key, label, *_ in configs:
            res["configs"][key] = {"label": label, "gbps": [], "retr": []}
            res["order"].append(key)
        res["iperf_flags"] = " ".join(IPERF_PINNED + IPERF_OMIT)
        for r in range(spec["reps"]):
            k = r % len(configs)
            for key, label, a, b, addr in configs[k:] + configs[:k]:
                g, retr = iperf(a, b, addr, spec["seconds"])
                res["configs"][key]["gbps"].append(g)
                res["configs"][key]["retr"].append(retr)
        res["mtu"] = {}
        for k, _, a, _, addr in configs:
            dev = sh(f"ip -n {a} -o route get {addr}").split(" dev ")[1].split()[0]
            res["mtu"][k] = sh(f"ip -n {a} -o link show dev {dev}").split(" mtu ")[1].split()[0]
    except (ToolError, KeyError, IndexError, ValueError) as e:
        res.update(status="failed", error=str(e))
    return res


# A kernel request's line in CNET_TIMING's output: "[  at ms]  took ms  what".
TIMED_REQUEST = re.compile(r"^\[\s*[\d.]+ ms\]\s+([\d.]+) ms\s+(.*)$")


def kernel_share(stderr):
    """The milliseconds a cnet command spent in kernel requests (netlink, nftables, /proc/sys
    writes), by kind, read from its CNET_TIMING lines. What is left of its wall time is cnet's
    own work and the process's start and exit."""
    out = {}
    for line in stderr.splitlines():
        m = TIMED_REQUEST.match(line)
        if not m:
            continue
        took, what = float(m.group(1)), m.group(2)
        if what.startswith("(pipelined)"):
            kind = "namespace side"
        elif what.startswith("nft "):
            kind = "published ports"
        elif what.startswith("ip link"):
            kind = "host links"  # the veth pair, its bridge port, up / retired
        else:
            kind = "other"
        out[kind] = out.get(kind, 0.0) + took
    return out


def phase_growth(spec, cfg):
    """Whose is the growth in the flatness figures? cnet attach and detach on a network that
    stays at one namespace and on one that grows, interleaved so that drift of the machine hits
    both alike: first with the growing network empty, then holding `size` - 1 others (each with
    a published port). A cost that grows on the big network only comes from its size (the
    kernel bridge's port list, or cnet's own state if it scanned it); one that grows on both,
    from the machine or from the number of namespaces and links. Every command runs with
    CNET_TIMING=1, so each is also split into the time its kernel requests took and the rest
    (cnet's own work, process start and exit)."""
    os.environ["CNET_STATE_DIR"] = STATE_DIR
    c, size, k = cfg["cnet"], spec["size"], spec["cycles"]
    ports = [False, True] if cfg["cnet_publish"] else [False]
    tool = Tool(cfg, False)  # the untimed commands: a failure raises with its stderr
    res = {"status": "ok", "size": size, "before": {}, "after": {}, "kernel": {}}
    timing = dict(os.environ, CNET_TIMING="1")
    seq = 0

    def run(argv):
        t0 = time.perf_counter_ns()
        p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=timing,
                           text=True)
        took = ms(time.perf_counter_ns() - t0)
        if p.returncode != 0:
            raise ToolError(argv, p.returncode, p.stderr)
        return took, kernel_share(p.stderr)

    def cycles(when):
        nonlocal seq
        for _ in range(k):
            for net in ("small", "big"):
                for port in ports:
                    ns = f"g{seq}"
                    seq += 1
                    tool.run(["ip", "netns", "add", ns])
                    publish = ["-p", f"{HOST_PORT_BASE + 30000 + seq}:80"] if port else []
                    for op, argv in (("attach", [c, "attach", net, ns, *publish]),
                                     ("detach", [c, "detach", net, ns])):
                        key = f"{net} {op}" + (" port" if port else "")
                        took, kernel = run(argv)
                        res[when].setdefault(key, []).append(took)
                        for kind, v in kernel.items():
                            res["kernel"].setdefault(when, {}).setdefault(key, {}) \
                                .setdefault(kind, []).append(v)
                        res["kernel"].setdefault(when, {}).setdefault(key, {}) \
                            .setdefault("all", []).append(sum(kernel.values()))
                    tool.run(["ip", "netns", "del", ns])
            # The floor under every figure: what a process spawn costs from this driver.
            res[when].setdefault("spawn", []).append(timed(subprocess.run, ["/bin/true"]))

    try:
        tool.run([c, "net", "create", "small", "--subnet", "10.61.0.0/16"])
        tool.run([c, "net", "create", "big", "--subnet", SUBNET])
        run([c, "attach", "small", "resident"])  # the one namespace it keeps
        cycles("before")
        for i in range(size - 1):
            tool.run(["ip", "netns", "add", f"f{i}"])
            publish = ["-p", f"{HOST_PORT_BASE + i}:80"] if cfg["cnet_publish"] else []
            run([c, "attach", "big", f"f{i}", *publish])
        time.sleep(spec["settle"])
        cycles("after")
    except ToolError as e:
        res.update(status="failed", error=str(e))
    return res


def write_growth(w, gr):
    """The growth control's tables: wall time before and after, and the same split into the
    kernel requests' time and the rest."""
    b, a, kern = gr["before"], gr["after"], gr.get("kernel", {})
    big = gr["size"] - 1
    keys = [f"{net} {op}{port}" for op in ("attach", "detach") for port in ("", " port")
            for net in ("small", "big") if f"{net} {op}{port}" in b]
    w("### Whose growth: a network that stays small beside one that grows\n")
    w(f"cnet attach and detach, interleaved, on a network holding one namespace and on one "
      f"that is empty, then holds {big} others"
      + (" (each with a published port when the build has them)" if kern else "")
      + f"; {len(b[keys[0]])} of each. A cost that grows only on the big network comes "
      "from its size; one that grows on both, from the machine, from the number of "
      "namespaces and links in the system, or from the big network's detaches just before "
      "(their links are deleted in the background)."
      + (" Every command ran with `CNET_TIMING=1`: *kernel* is the time its kernel requests "
         "took (netlink, nftables, /proc/sys), as cnet measured them around each request; "
         "*rest* is the wall time less that: cnet's own work, the process's start and exit."
         if kern else "") + "\n")

    def rest(when, key):
        walls, k = (b if when == "before" else a)[key], kern.get(when, {}).get(key, {})
        return [x - y for x, y in zip(walls, k.get("all", []))]

    w("| operation | port | network | before (ms) | after (ms) | after ÷ before "
      "| kernel: before → after (ms) | rest: before → after (ms) |")
    w("|---|---|---|---|---|---|---|---|")
    for key in keys:
        net, op = key.split()[:2]
        x0, x1 = median(b[key]), median(a[key])
        where = "stays at 1" if net == "small" else f"0 → {big}"
        k0 = median(kern.get("before", {}).get(key, {}).get("all", []))
        k1 = median(kern.get("after", {}).get(key, {}).get("all", []))
        r0, r1 = median(rest("before", key)), median(rest("after", key))
        split = (f"{fmt(k0, 2)} → {fmt(k1, 2)} | {fmt(r0, 2)} → {fmt(r1, 2)}"
                 if k0 is not None and r0 is not None else "– | –")
        w(f"| {op} | {'yes' if key.endswith(' port') else 'no'} | {where} | {fmt(x0)} | "
          f"{fmt(x1)} | {fmt_ratio(ratio(x1, x0))} | {split} |")
    if b.get("spawn") and a.get("spawn"):
        x0, x1 = median(b["spawn"]), median(a["spawn"])
        w(f"| `/bin/true` (process spawn) | – | – | {fmt(x0)} | {fmt(x1)} | "
          f"{fmt_ratio(ratio(x1, x0))} | – | {fmt(x0, 2)} → {fmt(x1, 2)} |")
    w("")
    kinds = sorted({kind for when in kern.values() for per in when.values() for kind in per
                    if kind != "all"})
    if not kinds:
        return
    w("Where the big network's time grew: median after − median before (ms) of each kind of "
      "kernel request, of the rest, and of the wall time; the network that stays small "
      "beside it, for the machine's drift.\n")
    w("| operation | port | network | " + " | ".join(kinds) + " | rest | wall |")
    w("|---|---|---|" + "---|" * (len(kinds) + 2))

    def grew(xs0, xs1):
        m0, m1 = median(xs0), median(xs1)
        return "–" if m0 is None or m1 is None else f"{m1 - m0:+.2f}"

    for key in keys:
        net, op = key.split()[:2]
        cells = [grew(kern["before"][key].get(kind, []), kern["after"][key].get(kind, []))
                 for kind in kinds]
        cells += [grew(rest("before", key), rest("after", key)), grew(b[key], a[key])]
        w(f"| {op} | {'yes' if key.endswith(' port') else 'no'} | "
          f"{'stays at 1' if net == 'small' else f'0 → {big}'} | " + " | ".join(cells) + " |")
    w("")


def phase_floor(spec, cfg):
    """What one process spawn costs from this driver: the floor under every number."""
    return {"status": "ok", "true": [timed(subprocess.run, ["/bin/true"])
                                      for _ in range(max(20, spec["cycles"]))]}


PHASES = {"latency": phase_latency, "netcrud": phase_netcrud, "datapath": phase_datapath,
          "floor": phase_floor, "growth": phase_growth}

# ---------------------------------------------------------------------------------------------
# Orchestration (outside the sandboxes)

SANDBOX_SETUP = r"""set -e
mount -t tmpfs -o mode=0755 cnetbench-run /run
mkdir -p /run/netns /run/lock
mount -t tmpfs -o mode=0755 cnetbench-etc-netns /etc/netns
for d in /var/lib/cnet /var/lib/cni /var/lib/containers; do
  if [ -d "$d" ]; then mount -t tmpfs -o mode=0755 cnetbench-state "$d"; fi
done
ip link set lo up
exec "$@"
"""


def in_sandbox(phase, spec, cfg, timeout):
    os.makedirs("/etc/netns", exist_ok=True)  # a mount point; stays empty on the host
    with tempfile.TemporaryDirectory(prefix="cnetbench.") as tmp:
        out = os.path.join(tmp, "out.json")
        argv = ["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc",
                "--propagation", "private", "sh", "-c", SANDBOX_SETUP, "sh",
                sys.executable, os.path.abspath(__file__), "--phase", phase,
                "--phase-spec", json.dumps({"spec": spec, "cfg": cfg}), "--phase-out", out]
        try:
            p = subprocess.run(argv, timeout=timeout, stdin=subprocess.DEVNULL,
                               capture_output=True, text=True)
        except subprocess.TimeoutExpired:
            return {"status": "failed", "error": f"phase {phase} timed out after {timeout} s"}
        if os.path.exists(out):
            with open(out) as f:
                return json.load(f)
        return {"status": "failed",
                "error": f"sandbox for {phase} failed (exit {p.returncode}): {p.stderr[-800:]}"}


def machine_info(cfg):
    def cmd(*a):
        try:
            return subprocess.run(a, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "not found"
    def deb(pkg):
        v = cmd("dpkg-query", "-W", "-f", "${Version}", pkg) if shutil.which("dpkg-query") else ""
        return f" (Debian package {pkg} {v})" if v else ""
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cnet_rev = ""
    if os.path.realpath(cfg["cnet"]).startswith(REPO + os.sep):
        cnet_rev = cmd("git", "-C", REPO, "describe", "--always", "--dirty")
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
        "os": cmd("sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"),
        "load_start": open("/proc/loadavg").read().split()[:3],
        "cnet": cmd(cfg["cnet"], "--version") + (f" (binary {cfg['cnet']}"
                                                  + (f", git {cnet_rev}" if cnet_rev else "")
                                                  + ")"),
        "cnet_publish": cfg["cnet_publish"], "cnet_vxlan": cfg["cnet_vxlan"],
        "cnet_wait": cfg["cnet_wait"],
        "netavark": (cmd(cfg["netavark"], "--version") + deb("netavark")
                     if cfg["netavark"] else "not found"),
        "cni": (CniBridge(cfg, False).version() + deb("containernetworking-plugins")
                if cfg["cni_dir"] else "not found"),
        "iproute2": cmd("ip", "-V"), "iptables": cmd("iptables", "--version"),
        "iperf3": cmd("iperf3", "--version").splitlines()[0] if shutil.which("iperf3") else "",
        "python": platform.python_version(),
    }


class ForeignCpu:
    """Samples, every few seconds, the CPU time of processes that are not this bench's (nor
    kernel threads): a compiler running next to the bench shows up here. Processes shorter than
    the sampling interval are missed; the figure is a lower bound."""

    def __init__(self, interval=3.0):
        import threading
        self.me = os.getpid()
        self.hz = os.sysconf("SC_CLK_TCK")
        self.seen = {}       # pid -> (first ticks, last ticks)
        self.names = {}
        self.stop = threading.Event()
        self.base = set(self.sample().keys())
        self.t0 = time.monotonic()
        self.th = threading.Thread(target=self.loop, args=(interval,), daemon=True)
        self.th.start()

    def sample(self):
        stats, out = {}, {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    st = f.read()
            except OSError:
                continue
            name = st[st.index("(") + 1:st.rindex(")")]
            f = st[st.rindex(")") + 2:].split()
            # f[1] ppid, f[11] utime, f[12] stime (fields 4, 14, 15 of proc(5))
            stats[int(d)] = (int(f[1]), int(f[11]) + int(f[12]), name)
        for pid, (ppid, ticks, name) in stats.items():
            p, mine = pid, False
            while p in stats and p > 2:
                if p == self.me:
                    mine = True
                    break
                p = stats[p][0]
            if mine or pid == 2 or ppid == 2 or pid == 1:
                continue
            out[pid] = ticks
            self.names[pid] = name
        return out

    def loop(self, interval):
        while not self.stop.wait(interval):
            for pid, ticks in self.sample().items():
                first = self.seen.get(pid, (None,))[0]
                if first is None:
                    first = ticks if pid in self.base else 0
                self.seen[pid] = (first, ticks)

    def result(self):
        self.stop.set()
        self.th.join()
        used = {}
        for pid, (a, b) in self.seen.items():
            if b > a:
                used[self.names.get(pid, "?")] = used.get(self.names.get(pid, "?"), 0) + (b - a)
        secs = sum(used.values()) / self.hz
        top = [x for x in sorted(used.items(), key=lambda x: -x[1])[:5] if x[1] >= self.hz // 10]
        return {"seconds": round(secs, 1),
                "share": round(secs / max(1.0, time.monotonic() - self.t0), 3),
                "top": [f"{n} {t / self.hz:.1f}s" for n, t in top]}


def detect_cnet(path):
    def help_of(*a):
        p = subprocess.run([path, *a, "--help"], capture_output=True, text=True)
        return p.stdout + p.stderr
    publish = "--publish" in help_of("attach")
    # `--vni` is in the help before the driver exists; the data path phase tries a create.
    vxlan = "vni" in help_of("net", "create")
    wait = "--wait" in help_of("detach")
    return publish, vxlan, wait


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true",
                    help="CI form: N=5, scales 1 and 10, iperf3 -t 1 once; exit 0 even when "
                         "targets are missed, non-zero only when a tool invocation fails")
    ap.add_argument("--cnet", default=os.environ.get("CNET_BIN",
                                                     os.path.join(REPO, "target/x86_64-unknown-linux-gnu/release/cnet")),
                    help="cnet binary (env CNET_BIN; default the `cargo dist` build, "
                         "target/x86_64-unknown-linux-gnu/release/cnet)")
    ap.add_argument("--scales", help="comma-separated network sizes (default 1,100,1000)")
    ap.add_argument("--cycles", type=int,
                    help="attach/detach samples per scale point (default 30; smoke 5)")
    ap.add_argument("--window", type=int, default=50,
                    help="operations in the first/last window of the flatness figure (50)")
    ap.add_argument("--budget", type=float, default=900,
                    help="seconds a tool may spend filling one network before it is stopped "
                         "(the scales it did not reach are reported as such)")
    ap.add_argument("--settle", type=float,
                    help="seconds of pause before a network's teardown, for the kernel's "
                         "background cleanup of the last scale point (default 2; smoke 0.5)")
    ap.add_argument("--quiesce", type=float,
                    help="seconds of quiet, after a sync, before the first phase: writeback "
                         "from a build just before would land in the first tool's figures "
                         "(default 30; smoke 0)")
    ap.add_argument("--tools", default=",".join(TOOLS),
                    help="comma-separated subset of: " + ",".join(TOOLS))
    ap.add_argument("--ports", choices=["both", "off", "on"], default="both",
                    help="with/without a published port per namespace")
    ap.add_argument("--iperf-seconds", type=int, help="iperf3 -t (default 3; smoke 1)")
    ap.add_argument("--iperf-reps", type=int, help="iperf3 runs per configuration (15; smoke 1)")
    ap.add_argument("--skip", default="",
                    help="comma-separated phases to skip: latency,growth,netcrud,datapath")
    ap.add_argument("--label", default=None,
                    help="how to label the figures in RESULTS.md (default: smoke/medium/full "
                         "from the parameters, plus 'noisy' when the load average was >= 1)")
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"), help="Markdown output")
    ap.add_argument("--json", default=os.path.join(HERE, "results.json"), help="raw samples")
    ap.add_argument("--note", default=None,
                    help="a line of free text for RESULTS.md (e.g. which commit cnet was built "
                         "from)")
    ap.add_argument("--report-only", metavar="JSON",
                    help="re-render RESULTS.md from the raw samples of an earlier run "
                         "(its --json file), measuring nothing")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--phase-spec", help=argparse.SUPPRESS)
    ap.add_argument("--phase-out", help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.phase:  # inside a sandbox
        ps = json.loads(a.phase_spec)
        r = PHASES[a.phase](ps["spec"], ps["cfg"])
        with open(a.phase_out, "w") as f:
            json.dump(r, f)
        return 0

    if a.report_only:
        with open(a.report_only) as f:
            results = json.load(f)
        if a.note:
            results["info"]["note"] = a.note
        if a.label:
            results["info"]["label"] = a.label
        md, summary = report(results)
        with open(a.out, "w") as f:
            f.write(md)
        print(md)
        print(summary)
        return 0

    if os.geteuid() != 0:
        print("cnetbench: run as root (sandboxes need unshare); use bench/run.sh", file=sys.stderr)
        return 2
    missing = [x for x in ["ip", "iptables", "iptables-restore", "unshare", "nsenter", "iperf3", "ping",
                           "sysctl"] if not shutil.which(x)]
    cfg = {"cnet": os.path.abspath(a.cnet), "netavark": netavark_path(), "cni_dir": cni_dir()}
    if not os.access(cfg["cnet"], os.X_OK):
        missing.append(f"cnet binary {cfg['cnet']} (cargo build --release, or --cnet PATH)")
    if not cfg["netavark"]:
        missing.append("netavark")
    if not cfg["cni_dir"]:
        missing.append("CNI plugins (/usr/lib/cni)")
    if missing:
        print("cnetbench: missing: " + ", ".join(missing) + "\n  apt-get install -y iproute2 "
              "iptables util-linux iperf3 netavark containernetworking-plugins  "
              "(bench/run.sh does this)", file=sys.stderr)
        return 2
    cfg["cnet_publish"], cfg["cnet_vxlan"], cfg["cnet_wait"] = detect_cnet(cfg["cnet"])

    smoke = a.smoke
    scales = [int(x) for x in (a.scales or ("1,10" if smoke else "1,100,1000")).split(",")]
    cycles = a.cycles or (5 if smoke else 30)
    settle = a.settle if a.settle is not None else (0.5 if smoke else 2.0)
    quiesce = a.quiesce if a.quiesce is not None else (0.0 if smoke else 30.0)
    # Runs of one stream on 2 vCPUs vary by ±15% whatever the path: many short interleaved
    # runs pin a median down better than a few long ones.
    iperf_s = a.iperf_seconds or (1 if smoke else 3)
    iperf_reps = a.iperf_reps or (1 if smoke else 15)
    tools = [t for t in a.tools.split(",") if t]
    for t in tools:
        if t not in TOOLS:
            ap.error(f"unknown tool {t}")
    ports = {"both": [False, True], "off": [False], "on": [True]}[a.ports]
    skip = set(x for x in a.skip.split(",") if x)
    info = machine_info(cfg)
    params = {"smoke": smoke, "scales": scales, "cycles": cycles, "window": a.window,
              "budget": a.budget, "settle": settle, "quiesce": quiesce,
              "iperf_seconds": iperf_s,
              "iperf_reps": iperf_reps,
              "tools": tools, "ports": ports}
    results = {"info": info, "params": params, "latency": [], "failures": []}
    t_start = time.monotonic()

    def log(msg):
        print(f"[{time.monotonic() - t_start:6.0f}s] {msg}", file=sys.stderr, flush=True)

    if quiesce > 0:
        log(f"sync, then {quiesce:g} s of quiet before the first phase ...")
        os.sync()
        time.sleep(quiesce)
    foreign = ForeignCpu()
    results["floor"] = in_sandbox("floor", {"cycles": cycles}, cfg, 120)
    if "latency" not in skip:
        for pt in ports:
            for t in tools:
                log(f"latency: {t}, {'with' if pt else 'without'} a published port ...")
                spec = {"tool": t, "ports": pt, "scales": scales, "cycles": cycles,
                        "budget": a.budget, "settle": settle}
                r = in_sandbox("latency", spec, cfg, timeout=int(a.budget * 3 + 600))
                r.setdefault("tool", t)
                r.setdefault("ports", pt)
                results["latency"].append(r)
                if r.get("status") == "failed":
                    results["failures"].append(f"{t} ports={pt}: {r.get('error')}")
                    log(f"  FAILED: {r.get('error')}")
                else:
                    log(f"  {r.get('status')} in {r.get('elapsed_s', 0):.0f} s"
                        + (f" — {r['budget_hit']}" if r.get("budget_hit") else ""))
    if "growth" not in skip and "cnet" in tools:
        log(f"growth: cnet on a small and a big network, before and after {max(scales)} ...")
        results["growth"] = in_sandbox("growth", {"size": max(scales), "cycles": cycles,
                                                  "settle": settle}, cfg, 900)
        if results["growth"].get("status") == "failed":
            results["failures"].append("growth: " + results["growth"].get("error", ""))
    if "netcrud" not in skip:
        log("net create / net rm ...")
        results["netcrud"] = in_sandbox("netcrud", {"cycles": max(cycles, 10)}, cfg, 900)
        if results["netcrud"].get("status") == "failed":
            results["failures"].append("net create/rm: " + results["netcrud"].get("error", ""))
    if "datapath" not in skip:
        log("data path (iperf3) ...")
        results["datapath"] = in_sandbox("datapath", {"seconds": iperf_s, "reps": iperf_reps},
                                         cfg, 60 + 12 * iperf_reps * (iperf_s + 3))
        if results["datapath"].get("status") == "failed":
            results["failures"].append("data path: " + results["datapath"].get("error", ""))
    info["load_end"] = open("/proc/loadavg").read().split()[:3]
    info["foreign_cpu"] = foreign.result()
    info["elapsed_s"] = round(time.monotonic() - t_start)
    if a.note:
        info["note"] = a.note
    if a.label:
        info["label"] = a.label
    else:
        kind = ("smoke" if smoke else
                "full" if max(scales) >= 1000 and cycles >= 30 else "medium")
        # The bench itself keeps about one CPU busy, so the load average at the end says little;
        # what counts is the load before it started and the CPU other processes took meanwhile.
        why = []
        if float(info["load_start"][0]) >= 1.0:
            why.append(f"load average {info['load_start'][0]} at the start")
        if info["foreign_cpu"]["share"] > 0.10:
            why.append(f"other processes used {100 * info['foreign_cpu']['share']:.0f}% of a CPU "
                       "during the run")
        info["label"] = kind + (f" (noisy: {'; '.join(why)})" if why else "")

    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    md, summary = report(results)
    with open(a.out, "w") as f:
        f.write(md)
    print(md)
    print(summary)
    log(f"wrote {a.out}" + (f" and {a.json}" if a.json else ""))
    if results["failures"]:
        print("cnetbench: tool invocations failed:\n  " + "\n  ".join(results["failures"]),
              file=sys.stderr)
        return 1
    return 0


# ---------------------------------------------------------------------------------------------
# Report


def report(R):
    info, params = R["info"], R["params"]
    lat = {(r["tool"], r["ports"]): r for r in R["latency"]}
    scales = params["scales"]
    W = params["window"]
    out = []
    w = out.append
    targets = []  # (what, value, target, pass?)

    def status_cell(r):
        if r is None:
            return None
        if r.get("status") == "n/a":
            return r.get("note", "n/a")
        return None

    def samples(tool, ports, S, key):
        r = lat.get((tool, ports))
        if not r or r.get("status") == "n/a":
            return None
        sc = r.get("scales", {}).get(str(S))
        if not sc:
            return None
        if key == "ns+attach":
            if TOOLS[tool].creates_ns:
                return sc["attach"]
            return [a + b for a, b in zip(sc["ns_add"], sc["attach"])]
        return sc.get(key) or None

    w(f"# cnet benchmark results — {info['label']}\n")
    w(f"Generated by `bench/run.sh`{' --smoke' if params['smoke'] else ''} on "
      f"{info['date']}; {info['elapsed_s']} s. See `bench/README.md` for the method.\n")
    if "noisy" in info["label"] or not info["label"].startswith("full"):
        w("> **These figures are noisy or reduced** (not the full form, or the machine was "
          "busy). Use them to see that the bench works and for rough shapes only; the ratios of "
          "a full run on an idle machine are the ones to judge targets by.\n")
    if info.get("note"):
        w(info["note"] + "\n")
    w("## Machine and versions\n")
    w("| | |\n|---|---|")
    for k, lbl in [("cpu", "CPU"), ("nproc", "nproc"), ("kernel", "kernel"), ("os", "OS"),
                   ("cnet", "cnet"), ("netavark", "netavark"), ("cni", "CNI plugins"),
                   ("iproute2", "iproute2"), ("iptables", "iptables"), ("iperf3", "iperf3"),
                   ("python", "python")]:
        w(f"| {lbl} | {str(info.get(k, '')).replace('|', '/')} |")
    w(f"| load average (1/5/15 min) | start {' '.join(info['load_start'])}, end "
      f"{' '.join(info['load_end'])} (the bench itself keeps about one CPU busy) |")
    fc = info.get("foreign_cpu")
    if fc:
        w(f"| CPU used by other processes during the run | {fc['seconds']} s "
          f"({100 * fc['share']:.1f}% of one CPU; sampled every 3 s, a lower bound)"
          + (f": {', '.join(fc['top'])}" if fc["top"] else "") + " |")
    w(f"| cnet features | published ports (`attach --publish`): "
      f"{'yes' if info['cnet_publish'] else 'no'}; vxlan flags in `net create --help`: "
      f"{'yes' if info['cnet_vxlan'] else 'no'}"
      + ("" if "cnet_wait" not in info else
         f"; `detach --wait`: {'yes' if info['cnet_wait'] else 'no'}") + " |")
    w(f"| parameters | scales {', '.join(map(str, scales))}; {params['cycles']} attach/detach "
      f"samples per scale point; flatness window {W}; "
      + (f"{params['settle']:g} s pause before each teardown; " if params.get("settle") else "")
      + (f"sync and {params['quiesce']:g} s of quiet before the first phase; "
         if params.get("quiesce") else "")
      + f"iperf3 -t {params['iperf_seconds']} × {params['iperf_reps']} |")
    fl = R.get("floor", {}).get("true")
    if fl:
        w(f"| process spawn floor | `/bin/true` from the driver: median {fmt(median(fl))} ms, "
          f"p95 {fmt(p95(fl))} ms (every figure below includes at least one such spawn) |")
    w("")

    tools = [t for t in params["tools"]]
    peers = [t for t in PEERS if t in tools]

    def fastest_peer(ports, S, key):
        best = None
        for t in peers:
            s = samples(t, ports, S, key)
            if s:
                m = median(s)
                if best is None or m < best[1]:
                    best = (t, m)
        return best

    def lat_table(title, key, cnet_tool, note, ratios=True):
        for ports in params["ports"]:
            w(f"### {title}, {'with' if ports else 'without'} a published port\n")
            w(note + "\n")
            hdr = "| tool | " + " | ".join(f"@{S} median / p95" for S in scales)
            if ratios:
                hdr += " | " + " | ".join(f"{cnet_tool} ÷ tool @{S}" for S in scales)
            w(hdr + " |")
            w("|---" * (1 + (2 if ratios else 1) * len(scales)) + "|")
            for t in tools:
                if key == "ns_add" and TOOLS[t].creates_ns:
                    continue
                r = lat.get((t, ports))
                cells = []
                na = status_cell(r)
                for S in scales:
                    s = samples(t, ports, S, key)
                    if na:
                        cells.append(na if S == scales[0] else "n/a")
                    elif r is None:
                        cells.append("not run")
                    elif s is None:
                        cells.append("failed" if r.get("status") == "failed" else
                                     "not reached")
                    else:
                        cells.append(f"{fmt(median(s))} / {fmt(p95(s))}")
                for S in (scales if ratios else []):
                    c = samples(cnet_tool, ports, S, key)
                    s = samples(t, ports, S, key)
                    cells.append(fmt_ratio(ratio(median(c) if c else None,
                                                 median(s) if s else None)))
                w(f"| {TOOLS[t].label} | " + " | ".join(cells) + " |")
            fails = [f"{TOOLS[t].label}: {lat[(t, ports)]['error']} ({lat[(t, ports)]['at']})"
                     for t in tools if lat.get((t, ports), {}).get("status") == "failed"]
            hits = [f"{TOOLS[t].label}: {lat[(t, ports)]['budget_hit']}"
                    for t in tools if lat.get((t, ports), {}).get("budget_hit")]
            for x in fails:
                w(f"\n- **failed** — {x}")
            for x in hits:
                w(f"\n- too slow to fill — {x}")
            w("")

    w("## Attach and detach latency (ms)\n")
    w("Each figure times one tool invocation (for CNI with a published port: the `bridge` then "
      "the `portmap` plugin; for iproute2: every command of the step, see *Exact commands*) "
      "with the network holding S namespaces (S−1 others plus the measured one). "
      "Ratios are medians: cnet ÷ tool (< 1 means cnet is faster).\n")
    lat_table("Attach, namespace made beforehand", "attach", "cnet",
              "Namespace created with `ip netns add` before the timed command; cnet runs "
              "`cnet attach NET NS`.")
    lat_table("Attach including namespace creation", "ns+attach", "cnet-ns",
              "Peers: `ip netns add` + attach, summed per operation; cnet: `cnet attach NET NS` "
              "creating the namespace itself (row *cnet (attach creates the namespace)*), which "
              "the ratio columns use.")
    lat_table("Namespace creation alone (`ip netns add`)", "ns_add", "cnet",
              "The same command for every tool (measured in each tool's run: a check that the "
              "runs saw the same machine); the floor that creation puts under *including* "
              "figures.", ratios=False)
    lat_table("Detach", "detach", "cnet", "The tool's detach/teardown/DEL for one namespace, "
              "the namespace itself left in place (deleted afterwards, untimed here). "
              "`cnet detach` returns once the namespace is cut off and leaves the kernel's "
              "freeing of the veth pair to a background process; the peers wait for it. "
              "The row *cnet, detach --wait* runs `cnet detach --wait NET NS`, which waits for "
              "it too: the like-for-like figure.")
    lat_table("Namespace deletion", "ns_del", "cnet-ns",
              "`ip netns del` after the detach; for *cnet (attach creates the namespace)* "
              "`cnet ns rm NS`, which the ratio columns use.")

    # Flatness
    w("## Flatness as the network grows\n")
    w(f"Attach: median of the last {W} operations while filling the network to {max(scales)} "
      f"÷ median of the first {W}. Detach: median of the first {W} detaches when emptying it "
      f"(network full) ÷ median of the last {W} (network nearly empty)"
      + (f", after a {params['settle']:g} s pause for the kernel's cleanup of the last scale "
         "point" if params.get("settle") else "") + ". Target for cnet: ≤ 1.10.\n")
    w("| tool | ports | attach: first / last (ms) | attach ratio | detach: full / nearly empty "
      "(ms) | detach ratio |")
    w("|---|---|---|---|---|---|")
    flat = {}
    for ports in params["ports"]:
        for t in tools:
            r = lat.get((t, ports))
            if not r or r.get("status") == "n/a":
                w(f"| {TOOLS[t].label} | {'yes' if ports else 'no'} | "
                  f"{(r or {}).get('note', 'not run')} | | | |")
                continue
            fa, td = r["fill"]["attach"], r["teardown"]["detach"]
            k = min(W, len(fa) // 2)
            kd = min(W, len(td) // 2)
            ra = rd = None
            cells = ["–", "–", "–", "–"]
            if k:
                a0, a1 = median(fa[:k]), median(fa[-k:])
                ra = ratio(a1, a0)
                cells[0:2] = [f"{fmt(a0)} / {fmt(a1)} (n={k}, filled to {len(fa) + 1})",
                              fmt_ratio(ra)]
            if kd:
                d0, d1 = median(td[:kd]), median(td[-kd:])
                rd = ratio(d0, d1)
                cells[2:4] = [f"{fmt(d0)} / {fmt(d1)} (n={kd})", fmt_ratio(rd)]
            flat[(t, ports)] = (ra, rd, len(fa) + 1, k)
            w(f"| {TOOLS[t].label} | {'yes' if ports else 'no'} | " + " | ".join(cells) + " |")
    w("")

    gr = R.get("growth", {})
    if gr.get("status") == "failed":
        w(f"Growth control **failed**: {gr.get('error')}\n")
    elif gr.get("before"):
        write_growth(w, gr)

    # cnet CLI operations
    w("## cnet commands at scale (ms, median / p95)\n")
    lo_r = lat.get(("cnet", False), {})
    lo = lo_r.get("list_ops", {})
    if lo:
        names = list(next(iter(lo.values())).keys())
        w("| command | " + " | ".join(f"{S} endpoints" for S in lo) + " |")
        w("|---" * (1 + len(lo)) + "|")
        for n in names:
            w(f"| `cnet {n}` | " + " | ".join(
                f"{fmt(median(lo[S][n]))} / {fmt(p95(lo[S][n]))}" for S in lo) + " |")
        w("")
    crud = R.get("netcrud", {})
    if crud.get("ops"):
        w("| network create / remove | median / p95 |\n|---|---|")
        for n, v in crud["ops"].items():
            w(f"| {n} | {fmt(median(v))} / {fmt(p95(v))} |")
        w(f"\ncnet net create ÷ hand-written: "
          f"{fmt_ratio(ratio(median(crud['ops']['cnet net create']), median(crud['ops']['iproute2+iptables create'])))}; "
          f"net rm ÷ hand-written: "
          f"{fmt_ratio(ratio(median(crud['ops']['cnet net rm']), median(crud['ops']['iproute2+iptables rm'])))}. "
          "Hand-written create: bridge, address, up, ip_forward, MASQUERADE and two FORWARD "
          "rules as separate commands; remove: the rules, then the bridge.\n")
    elif crud.get("status") == "failed":
        w(f"net create/rm **failed**: {crud.get('error')}\n")

    # Data path
    dp = R.get("datapath", {})
    w("## Data path: TCP throughput (iperf3, one stream)\n")
    if dp.get("status") == "failed":
        w(f"**failed**: {dp.get('error')}\n")
    dp_conf = {k: v for k, v in dp.get("configs", {}).items() if v["gbps"]}
    if dp_conf:
        flags = dp.get("iperf_flags")
        w(f"iperf3 -t {params['iperf_seconds']}{' ' + flags if flags else ''}, "
          f"{params['iperf_reps']} run(s) per configuration, interleaved (each round one "
          "configuration later); Gbit/s received. Client and server are two namespaces inside "
          "the sandbox.\n")
        w("| path | MTU | Gbit/s median (min–max) | retransmits | ÷ bare veth |")
        w("|---|---|---|---|---|")
        med = {k: median(v["gbps"]) for k, v in dp_conf.items()}
        for k in [k for k in dp["order"] if k in dp_conf]:
            v = dp_conf[k]
            w(f"| {v['label']} | {dp.get('mtu', {}).get(k, '1500')} | {med[k]:.2f} "
              f"({min(v['gbps']):.2f}–{max(v['gbps']):.2f}) | "
              f"{'/'.join(str(x) for x in v['retr'])} | "
              f"{fmt_ratio(ratio(med[k], med.get('veth')))} |")
        if dp.get("cnet_vxlan_note"):
            w(f"| cnet VXLAN network, MTU 1450 | | {dp['cnet_vxlan_note']} | | |")
        w("")
        if dp.get("sysctl"):
            w("cnet host namespace: " + ", ".join(f"{k} = {v}" for k, v in dp["sysctl"].items())
              + " (bridged traffic between cnet namespaces passes iptables FORWARD when 1).\n")

    # Targets
    w("## Targets (issue 6), from this run\n")
    w("| target | measured | goal | result |\n|---|---|---|---|")

    def tgt(what, val, goal, ok, shown=None):
        res = "n/a" if ok is None else ("PASS" if ok else "FAIL")
        targets.append((what, res))
        w(f"| {what} | {shown if shown is not None else fmt_ratio(val)} | {goal} | {res} |")

    # Detach: the plain cnet line, then the like-for-like `detach --wait` line (the kernel's
    # freeing of the veth pair inside the figure, as for the peers) at each scale and port mode.
    for group in [[("attach", "attach", "cnet")],
                  [("attach incl. ns creation", "ns+attach", "cnet-ns")],
                  [("detach", "detach", "cnet"),
                   ("detach --wait (like-for-like)", "detach", "cnet-wait")]]:
        for ports in params["ports"]:
            for S in scales:
                for op, key, cn in group:
                    c = samples(cn, ports, S, key)
                    fp = fastest_peer(ports, S, key)
                    pl = "with port" if ports else "no port"
                    what = f"{op} median @{S}, {pl}: {cn} ÷ fastest peer"
                    r_c = lat.get((cn, ports))
                    if r_c and r_c.get("status") == "n/a":
                        tgt(what, None, "≤ 0.50×", None, r_c.get("note"))
                    elif c and fp:
                        v = median(c) / fp[1]
                        tgt(what, v, "≤ 0.50×", v <= 0.5,
                            f"{fmt(median(c))} ÷ {fmt(fp[1])} ms ({TOOLS[fp[0]].label}) = "
                            f"{fmt_ratio(v)}")
                    elif cn in tools:
                        tgt(what, None, "≤ 0.50×", None, "not measured")
    for ports in params["ports"]:
        pl = "with port" if ports else "no port"
        r_c = lat.get(("cnet", ports))
        if r_c and r_c.get("status") == "n/a":
            tgt(f"cnet attach flatness, {pl}", None, "≤ 1.10×", None, r_c.get("note"))
            tgt(f"cnet detach flatness, {pl}", None, "≤ 1.10×", None, r_c.get("note"))
            continue
        f = flat.get(("cnet", ports))
        if f:
            ra, rd, size, k = f
            sfx = f" (filled to {size}, windows of {k})"
            tgt(f"cnet attach flatness, {pl}: last ÷ first", ra, "≤ 1.10×",
                None if ra is None else ra <= 1.1, None if ra is None else fmt_ratio(ra) + sfx)
            tgt(f"cnet detach flatness, {pl}: full ÷ nearly empty", rd, "≤ 1.10×",
                None if rd is None else rd <= 1.1, None if rd is None else fmt_ratio(rd) + sfx)
    if lo:
        big = max(lo, key=int)
        v = median(lo[big]["net ls"])
        tgt(f"`cnet net ls` at {big} endpoints", v, "< 20 ms", v < 20, f"{fmt(v)} ms")
    if dp_conf:
        med = {k: median(v["gbps"]) for k, v in dp_conf.items()}
        for c, h, lbl in [("cnet-bridge", "hand-bridge", "bridge"),
                          ("cnet-vxlan", "hand-vxlan", "VXLAN")]:
            if c in med and h in med:
                # Paired by round (runs of the same round are seconds apart); the ratio of
                # the medians, as older results have it, when the rounds cannot be paired.
                pr = paired_ratio(dp_conf[c]["gbps"], dp_conf[h]["gbps"])
                if pr and len(dp_conf[c]["gbps"]) == len(dp_conf[h]["gbps"]):
                    v = pr[0]
                    shown = (f"{med[c]:.2f} vs {med[h]:.2f} Gbit/s; per round: {fmt_ratio(v)} "
                             f"(95% interval {pr[1]:.2f}–{pr[2]:.2f})")
                else:
                    v = med[c] / med[h]
                    ci = ratio_interval(dp_conf[c]["gbps"], dp_conf[h]["gbps"])
                    spread = f" (95% interval {ci[0]:.2f}–{ci[1]:.2f})" if ci else ""
                    shown = f"{med[c]:.2f} ÷ {med[h]:.2f} Gbit/s = {fmt_ratio(v)}{spread}"
                tgt(f"data path {lbl}: cnet ÷ hand-built", v, "≥ 0.97×", v >= 0.97, shown)
            else:
                tgt(f"data path {lbl}: cnet ÷ hand-built", None, "≥ 0.97×", None,
                    dp.get("cnet_vxlan_note", "not measured"))
    w("")

    # Exact commands
    w("## Exact commands\n")
    w("As run for the first operation at the smallest scale (namespace `b{N}`, address from the "
      f"subnet {SUBNET}, gateway {GATEWAY}, host port 20000+N → 80/tcp). Captured from the "
      "driver while it ran them; stdin shown below the command.\n")
    for ports in params["ports"]:
        for t in tools:
            r = lat.get((t, ports))
            if not r or not r.get("commands"):
                continue
            w(f"<details><summary>{TOOLS[t].label}, {'with' if ports else 'without'} a "
              "published port</summary>\n")
            for phase in ["network", "attach", "detach"]:
                cmds = r["commands"].get(phase)
                if not cmds:
                    continue
                w(f"{phase}:\n\n```sh")
                for c in cmds:
                    envs = " ".join(f"{k}={v}" for k, v in c.get("env", {}).items())
                    line = (envs + " " if envs else "") + shlex.join(c["argv"])
                    if c.get("stdin"):
                        line += " <<'EOF'\n" + c["stdin"].rstrip("\n") + "\nEOF"
                    w(line)
                w("```\n")
            w("</details>\n")
    if dp.get("setup"):
        w("<details><summary>Data path set-up</summary>\n")
        for k, s in dp["setup"].items():
            w(f"{k}:\n\n```sh\n{s}\n```\n")
        w("</details>\n")
    w("Notes: CNI is driven plugin by plugin with `CNI_COMMAND`, `CNI_CONTAINERID`, "
      "`CNI_NETNS`, `CNI_IFNAME`, `CNI_PATH` and the config on stdin, as libcni would (no "
      "`loopback` plugin, which would add a process). netavark 1.4 takes the addresses from its "
      "caller (podman does the IPAM) and creates the bridge on the first setup and removes it "
      "with the last teardown, so its figures at 1 include bridge and network-rule creation. "
      "iproute2 has no IPAM either: the script chooses addresses.\n")

    # Summary for stdout
    fails = [x for x in targets if x[1] == "FAIL"]
    summary = (f"\nTargets: {sum(1 for x in targets if x[1] == 'PASS')} PASS, {len(fails)} FAIL, "
               f"{sum(1 for x in targets if x[1] == 'n/a')} n/a  [{info['label']}]\n"
               + "".join(f"  FAIL: {x[0]}\n" for x in fails))
    return "\n".join(out) + "\n", summary


if __name__ == "__main__":
    sys.exit(main())
