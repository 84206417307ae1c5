//! Bridge networks: reachability by address and by name, isolation between networks, NAT to
//! the outside world, internal networks.

mod common;

use common::{OUTSIDE, Sandbox, UPLINK_HOST, inspect_namespaces};

#[test]
fn two_namespaces_on_one_network_reach_each_other_by_ip_and_name() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    sb.cnet(&["attach", "lab", "ns2", "--alias", "web"]).ok();

    let listed = sb.netns_list();
    for ns in ["ns1", "ns2"] {
        assert!(
            listed.contains(&ns.to_string()),
            "ip netns ls lacks {ns}: {listed:?}"
        );
    }
    assert_eq!(sb.addrs("ns1", "eth0"), ["10.1.0.2/24"]);
    assert_eq!(sb.addrs("ns2", "eth0"), ["10.1.0.3/24"]);
    for ns in ["ns1", "ns2"] {
        sb.run(&["ip", "-n", ns, "route", "show", "default"])
            .ok()
            .stdout_has("default via 10.1.0.1");
    }

    sb.assert_ping("ns1", "10.1.0.3");
    sb.assert_ping("ns2", "10.1.0.2");
    sb.assert_ping("ns1", "ns2");
    sb.assert_ping("ns1", "web");
    sb.assert_ping("ns2", "ns1");
    // The gateway answers too.
    sb.assert_ping("ns1", "10.1.0.1");

    let eps = inspect_namespaces(&sb, "lab");
    assert_eq!(eps.len(), 2, "{eps:#?}");
    for (ns, addr) in [("ns1", "10.1.0.2/24"), ("ns2", "10.1.0.3/24")] {
        let ep = &eps[ns];
        assert_eq!(ep["interface"], "eth0", "{ns}: {ep:#}");
        assert_eq!(ep["ipv4_address"], addr, "{ns}: {ep:#}");
        let mac = ep["mac_address"].as_str().unwrap_or_default();
        assert_eq!(mac.len(), 17, "{ns}: MacAddress {ep:#}");
        // The MAC inspect reports is the one the kernel has.
        sb.run(&["ip", "-n", ns, "link", "show", "eth0"])
            .ok()
            .stdout_has(mac);
    }
    let aliases = eps["ns2"]["aliases"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(aliases.iter().any(|a| a == "web"), "{:#}", eps["ns2"]);
}

#[test]
fn networks_are_isolated_from_each_other() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "a", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&["net", "create", "b", "--subnet", "10.2.0.0/24"])
        .ok();
    for (net, ns) in [("a", "a1"), ("a", "a2"), ("b", "b1"), ("b", "b2")] {
        sb.cnet(&["attach", net, ns]).ok();
    }
    // Same network: fine.
    sb.assert_ping("a1", "10.1.0.3");
    sb.assert_ping("b1", "10.2.0.3");
    // Across networks: dropped, both ways, by address and by bridge gateway.
    sb.assert_no_ping("a1", "10.2.0.2");
    sb.assert_no_ping("b2", "10.1.0.3");
    // And names of the other network do not resolve.
    sb.assert_no_ping("a1", "b1");
}

#[test]
fn nat_reaches_the_outside_and_internal_networks_do_not() {
    let sb = Sandbox::with_outside();
    sb.cnet(&["net", "create", "pub"]).ok();
    sb.cnet(&["net", "create", "priv", "--internal"]).ok();
    sb.cnet(&["attach", "pub", "nsa"]).ok();
    sb.cnet(&["attach", "priv", "nsb"]).ok();

    sb.assert_ping("nsa", OUTSIDE);

    // A server in the outside world that answers with the address it sees.
    sb.sh(
        "ip netns exec outside socat TCP-LISTEN:7000,fork,reuseaddr \
         SYSTEM:'echo $SOCAT_PEERADDR' </dev/null >/dev/null 2>&1 &
         for i in $(seq 50); do
           ip netns exec outside ss -ltnH | grep -q ':7000 ' && exit 0
           sleep 0.1
         done
         echo 'socat did not start listening' >&2; exit 1",
    )
    .ok();
    let r = sb.exec_in(
        "nsa",
        &["socat", "-u", &format!("TCP:{OUTSIDE}:7000"), "STDOUT"],
    );
    r.ok();
    assert_eq!(
        r.stdout.trim(),
        UPLINK_HOST,
        "the outside must see the host's address\n{r}"
    );

    sb.assert_no_ping("nsb", OUTSIDE);
    let r = sb.run(&["ip", "-n", "nsb", "route", "show", "default"]);
    r.ok();
    assert!(
        r.stdout.trim().is_empty(),
        "an internal network gives no default route\n{r}"
    );
}

#[test]
fn exec_in_ns_leaves_sigpipe_to_the_command_as_ip_netns_exec_does() {
    let sb = Sandbox::new();
    sb.run(&["ip", "netns", "add", "p"]).ok();
    // A pipeline whose reader quits early: the writer must die of SIGPIPE, quietly.
    let r = sb.exec_in("p", &["sh", "-c", "yes | head -1"]);
    r.ok();
    assert_eq!(r.stdout.trim(), "y", "{r}");
    assert!(!r.stderr.contains("Broken pipe"), "{r}");
    let ignored = |r: &common::Run| {
        r.stdout
            .lines()
            .find_map(|l| l.strip_prefix("SigIgn:"))
            .map(|m| m.trim().to_string())
    };
    let ours = sb.exec_in("p", &["grep", "SigIgn", "/proc/self/status"]);
    let iproute2 = sb.run(&[
        "ip",
        "netns",
        "exec",
        "p",
        "grep",
        "SigIgn",
        "/proc/self/status",
    ]);
    assert_eq!(ignored(&ours), ignored(&iproute2), "{ours}\n{iproute2}");
}

/// The gateway's MTU and MAC, as the kernel has them.
fn bridge_mtu_and_mac(sb: &Sandbox, bridge: &str) -> (u64, String) {
    let v: serde_json::Value =
        serde_json::from_str(&sb.run(&["ip", "-j", "link", "show", bridge]).ok().stdout).unwrap();
    let mtu = v[0]["mtu"].as_u64().unwrap_or_default();
    let mac = v[0]["address"].as_str().unwrap_or_default().to_string();
    (mtu, mac)
}

#[test]
fn the_gateway_keeps_its_mtu_and_mac_when_a_smaller_port_joins_by_hand() {
    let sb = Sandbox::new();
    // The default MTU and one asked for: the kernel treats both as the user's.
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&[
        "net",
        "create",
        "thin",
        "--subnet",
        "10.2.0.0/24",
        "--mtu",
        "1400",
    ])
    .ok();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    for (net, want) in [("lab", 1500), ("thin", 1400)] {
        let bridge = format!("cn-{net}");
        let (mtu, mac) = bridge_mtu_and_mac(&sb, &bridge);
        assert_eq!(mtu, want, "{bridge}");
        // A port with a smaller MTU and the lowest possible MAC: a bridge left to itself
        // would take both, and its namespaces' cached gateway MAC would go stale.
        let port = format!("x{net}");
        sb.run(&[
            "ip",
            "link",
            "add",
            &port,
            "mtu",
            "1300",
            "address",
            "02:00:00:00:00:01",
            "type",
            "veth",
            "peer",
            "name",
            &format!("y{net}"),
        ])
        .ok();
        sb.run(&["ip", "link", "set", &port, "master", &bridge, "up"])
            .ok();
        assert_eq!(bridge_mtu_and_mac(&sb, &bridge), (want, mac), "{bridge}");
    }
    sb.assert_ping("ns1", "10.1.0.1");
}

/// The route to the outside world from a namespace: `via GATEWAY dev IF src ADDRESS`.
fn route_out(sb: &Sandbox, ns: &str) -> String {
    let r = sb.run(&["ip", "-n", ns, "-o", "route", "get", OUTSIDE]);
    r.ok();
    r.stdout.trim().to_string()
}

#[test]
fn the_network_with_the_highest_gateway_priority_carries_the_default_route() {
    let sb = Sandbox::with_outside();
    sb.cnet(&["net", "create", "front", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&["net", "create", "back", "--subnet", "10.2.0.0/24"])
        .ok();
    sb.cnet(&["attach", "front", "ns1"]).ok();
    sb.cnet(&["attach", "back", "ns1", "--gw-priority", "10"])
        .ok();
    let out = route_out(&sb, "ns1");
    assert!(out.contains("via 10.2.0.1 dev eth1 src 10.2.0.2"), "{out}");
    sb.assert_ping("ns1", OUTSIDE);

    // The carrier leaves: the route goes back to the other network, and out it still goes.
    sb.cnet(&["detach", "back", "ns1"]).ok();
    let out = route_out(&sb, "ns1");
    assert!(out.contains("via 10.1.0.1 dev eth0 src 10.1.0.2"), "{out}");
    sb.assert_ping("ns1", OUTSIDE);

    // --no-default-route: a namespace on that network alone has no way out.
    sb.cnet(&["attach", "back", "ns2", "--no-default-route"])
        .ok();
    let r = sb.run(&["ip", "-n", "ns2", "route", "show", "default"]);
    assert_eq!(r.ok().stdout.trim(), "", "{r}");
}

#[test]
fn a_detach_run_again_after_its_route_handover_succeeds() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "front", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&["net", "create", "back", "--subnet", "10.2.0.0/24"])
        .ok();
    sb.cnet(&["attach", "front", "ns1"]).ok();
    sb.cnet(&["attach", "back", "ns1"]).ok();
    // As a detach killed after handing the route over leaves it: the carrier's link gone,
    // the other network's default route in place, the records still there.
    sb.sh("ip -n ns1 link del eth0 && ip -n ns1 route add default via 10.2.0.1")
        .ok();
    sb.cnet(&["detach", "front", "ns1"]).ok();
    let out = route_out(&sb, "ns1");
    assert!(out.contains("via 10.2.0.1 dev eth1"), "{out}");
}

#[test]
fn an_ipv4_network_puts_no_ipv6_address_on_its_bridge() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    let r = sb.run(&["ip", "-6", "-o", "addr", "show", "dev", "cn-lab"]);
    assert_eq!(r.ok().stdout.trim(), "", "{r}");
    let r = sb.run(&["ip", "-n", "ns1", "-6", "-o", "addr", "show", "dev", "eth0"]);
    assert_eq!(r.ok().stdout.trim(), "", "{r}");
}
