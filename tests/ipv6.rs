//! Dual-stack networks (`net create --ipv6`): namespaces reach each other over IPv6 by address
//! and by name, IPv4-only networks keep no IPv6 on their devices, and bad combinations are
//! refused before anything changes.

mod common;

use common::Sandbox;

/// The global IPv6 addresses (CIDR) of `ifname` in a named namespace, as the kernel has them,
/// with their flags (`tentative` would mean DAD still runs).
fn addrs6(sb: &Sandbox, netns: &str, ifname: &str) -> Vec<String> {
    let r = sb.run(&["ip", "-n", netns, "-6", "-o", "addr", "show", "dev", ifname]);
    r.ok();
    r.stdout
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace().skip_while(|w| *w != "inet6").skip(1);
            let addr = words.next()?;
            let flags: Vec<&str> = words.collect();
            Some(format!("{addr} {}", flags.join(" ")))
        })
        .collect()
}

fn ping6(sb: &Sandbox, netns: &str, target: &str) {
    let mut last = None;
    for _ in 0..3 {
        let r = sb.exec_in(netns, &["ping", "-6", "-c1", "-W2", target]);
        if r.succeeded() {
            return;
        }
        last = Some(r);
    }
    panic!("{netns} cannot ping -6 {target}\n{}", last.expect("tried"));
}

#[test]
fn namespaces_on_a_dual_stack_bridge_ping_each_other_over_ipv6_by_address_and_name() {
    let sb = Sandbox::new();
    sb.cnet(&[
        "net",
        "create",
        "lab",
        "--subnet",
        "10.1.0.0/24",
        "--ipv6",
        "--subnet6",
        "fd00:1::/64",
    ])
    .ok();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    sb.cnet(&["attach", "lab", "ns2", "--ip6", "fd00:1::99"])
        .ok();

    // Each address is usable at once (no DAD: not tentative), beside the IPv4 one.
    let a1 = addrs6(&sb, "ns1", "eth0");
    assert!(a1.iter().any(|a| a.starts_with("fd00:1::2/64 ")), "{a1:?}");
    assert!(a1.iter().all(|a| !a.contains("tentative")), "{a1:?}");
    let a2 = addrs6(&sb, "ns2", "eth0");
    assert!(a2.iter().any(|a| a.starts_with("fd00:1::99/64 ")), "{a2:?}");
    assert_eq!(sb.addrs("ns1", "eth0"), ["10.1.0.2/24"]);
    for ns in ["ns1", "ns2"] {
        sb.run(&["ip", "-n", ns, "-6", "route", "show", "default"])
            .ok()
            .stdout_has("default via fd00:1::1 dev eth0");
        sb.run(&[
            "ip",
            "netns",
            "exec",
            ns,
            "sysctl",
            "-n",
            "net.ipv6.conf.eth0.accept_ra",
        ])
        .ok()
        .stdout_has("0");
    }

    ping6(&sb, "ns1", "fd00:1::99");
    ping6(&sb, "ns2", "fd00:1::2");
    ping6(&sb, "ns1", "ns2");
    ping6(&sb, "ns2", "ns1");
    // The gateway on the bridge answers too, and IPv4 still works.
    ping6(&sb, "ns1", "fd00:1::1");
    sb.assert_ping("ns1", "10.1.0.3");

    // Shown by inspect, ns ls and lease ls, in JSON too.
    let eps = common::inspect_namespaces(&sb, "lab");
    assert_eq!(
        eps["ns2"]["ipv6_address"], "fd00:1::99/64",
        "{:#}",
        eps["ns2"]
    );
    let net = sb
        .cnet(&["--format", "json", "net", "inspect", "lab"])
        .ok()
        .json();
    assert_eq!(net[0]["ipam"]["subnet6"], "fd00:1::/64", "{net:#}");
    assert_eq!(net[0]["ipam"]["gateway6"], "fd00:1::1", "{net:#}");
    sb.cnet(&["ns", "ls"]).ok().stdout_has("fd00:1::99/64");
    let leases = common::leases(&sb, "lab");
    assert!(
        leases
            .iter()
            .any(|(addr, ns, state)| addr == "fd00:1::2" && ns == "ns1" && state == "bound"),
        "{leases:?}"
    );

    // Detached, the namespace keeps no IPv6 address and the lease is released.
    sb.cnet(&["detach", "lab", "ns2"]).ok();
    let leases = common::leases(&sb, "lab");
    assert!(
        leases
            .iter()
            .any(|(addr, _, state)| addr == "fd00:1::99" && state == "released"),
        "{leases:?}"
    );
}
