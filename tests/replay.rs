//! The replay test (issue #19): `--dry-run` prints a script that reproduces the run, step by
//! step, for every driver this kernel has (the harness: `common::replay`).

mod common;

use common::replay::replay;

/// The lab: every driver this kernel has, then detaches and removals. A step starting with `!`
/// is a shell command run the same way in both sandboxes (an admin's doing, not cnet's).
const STEPS: &[&str] = &[
    "net create lab --subnet 10.1.0.0/24",
    "net create lab2 --subnet 10.2.0.0/24 --mtu 1400",
    "net create vault --internal --subnet 10.3.0.0/24",
    "net create lan -d macvlan --parent lan0 --subnet 192.168.50.0/24 --ip-range 192.168.50.128/25 -o host_shim=true",
    "net create ov -d vxlan --vni 5000 --subnet 10.20.0.0/24 --local 192.0.2.1 --peer 192.0.2.2",
    "net create ov2 -d overlay --vni 5001 --subnet 10.21.0.0/24 --underlay up0 --peer 192.0.2.2 --mtu 1400",
    "attach lab web -p 8080:80 --alias www",
    "attach lab2 web",
    "attach lab ns2 -p 127.0.0.1:9090:9090 -p 8000-8001:9000-9001/udp",
    "attach vault ns2 --alias safe",
    "attach lan ns3 --ip 192.168.50.140 --mac 02:aa:bb:cc:dd:ee",
    "attach lan ns4",
    "attach ov ns3",
    "attach ov web",
    "attach ov2 ns4",
    // Dual stack: web's IPv4 default route stays with lab, its IPv6 one comes from dual.
    "net create dual --subnet 10.4.0.0/24 --ipv6 --subnet6 fd00:4::/64",
    "attach dual web",
    "attach dual ns7 --ip6 fd00:4::9 -p 7070:70 -p [fd00:4::1]:7071:71",
    "attach lab2 /run/netns/other",
    "attach lab2 ns4 --gw-priority 3",
    "attach bridge ns5",
    "attach host hostns",
    "attach none lonely",
    "firewall reload",
    "! nft flush ruleset",
    "firewall reload",
    "net peer add ov 192.0.2.3",
    "net peer rm ov 192.0.2.2",
    "detach lab ns2",
    "detach lab2 web",
    "detach dual web",
    "net rm --force dual",
    "detach lab2 /run/netns/other",
    "detach lab2 ns4",
    "net rm lab2",
    "detach lan ns3",
    "net rm --force lan",
    "net rm --force vault",
    "ns rm ns2 ns3",
    "attach ov ns6",
    "net rm --force ov ov2",
    "detach bridge ns5",
    "detach host hostns",
    "detach none lonely",
    "ns rm ns4 ns5 ns6 ns7 lonely",
    // Namespaces deleted behind cnet's back: gc detaches what was attached in them (the kernel
    // took their veths along) and forgets them and their /etc/netns files.
    "attach lab g1 -p 8085:80 --alias gone",
    "attach lab g2",
    "net create ovg -d overlay --vni 5002 --subnet 10.22.0.0/24 --underlay up0 --peer 192.0.2.2",
    "attach ovg g2 -p 8086:80",
    // The kernel deletes a namespace's links in the background: both sandboxes wait for the
    // host ends of g1's and g2's veths to be gone, so that the dry run plans on what the run
    // finds.
    "! ends=$(for n in g1 g2; do ip -n $n -o link | sed -n 's/^[0-9]*: [^@]*@if\\([0-9]*\\).*/\\1/p'; done) && ip netns del g1 && ip netns del g2 && for i in $ends; do while ip -o link | grep -q \"^$i: \"; do sleep 0.05; done; done",
    "gc",
    "net rm ovg",
    "detach lab web",
    "net rm lab",
];

#[test]
fn a_dry_run_pasted_into_a_shell_builds_what_the_real_run_builds() {
    replay(STEPS);
}
