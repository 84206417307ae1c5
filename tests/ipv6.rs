//! Dual-stack networks (`net create --ipv6`): namespaces reach each other over IPv6 by address
//! and by name, IPv4-only networks keep no IPv6 on their devices, and bad combinations are
//! refused before anything changes.

mod common;

use common::Sandbox;
use common::multihost::Lab;

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

    sb.assert_ping6("ns1", "fd00:1::99");
    sb.assert_ping6("ns2", "fd00:1::2");
    sb.assert_ping6("ns1", "ns2");
    sb.assert_ping6("ns2", "ns1");
    // The gateway on the bridge answers too, and IPv4 still works.
    sb.assert_ping6("ns1", "fd00:1::1");
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
    sb.cnet(&["ns", "ls"])
        .ok()
        .stdout_has("lab:eth0=10.1.0.3/24 fd00:1::99/64");
    let ns = sb.cnet(&["--format", "json", "ns", "ls"]).ok().json();
    let ns2 = ns
        .as_array()
        .and_then(|a| a.iter().find(|n| n["name"] == "ns2"))
        .unwrap_or_else(|| panic!("{ns:#}"));
    assert_eq!(ns2["networks"][0]["address6"], "fd00:1::99/64", "{ns:#}");
    sb.cnet(&["net", "ls"])
        .ok()
        .stdout_has("10.1.0.0/24 fd00:1::/64");
    let nets = sb.cnet(&["--format", "json", "net", "ls"]).ok().json();
    assert!(
        nets.as_array()
            .is_some_and(|a| a.iter().any(|n| n["subnet6"] == "fd00:1::/64")),
        "{nets:#}"
    );
    let leases = common::leases(&sb, "lab");
    assert!(
        leases
            .iter()
            .any(|(addr, ns, state)| addr == "fd00:1::2" && ns == "ns1" && state == "bound"),
        "{leases:?}"
    );

    // Both addresses are in the network's hosts file, and both go with the detach.
    let hosts = || sb.run(&["cat", "/run/cnet/hosts/lab"]).ok().stdout.clone();
    assert!(
        hosts().contains("10.1.0.3\tns2\n") && hosts().contains("fd00:1::99\tns2\n"),
        "{}",
        hosts()
    );
    sb.cnet(&["detach", "lab", "ns2"]).ok();
    assert!(!hosts().contains("\tns2"), "{}", hosts());
    let leases = common::leases(&sb, "lab");
    assert!(
        leases
            .iter()
            .any(|(addr, _, state)| addr == "fd00:1::99" && state == "released"),
        "{leases:?}"
    );
}

#[test]
fn an_ipv4_only_network_has_no_ipv6_on_its_devices_and_refuses_ip6() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "v4", "--subnet", "10.2.0.0/24"])
        .ok();
    sb.cnet(&["attach", "v4", "ns1"]).ok();
    let host_veth = common::host_veth_name("v4", "ns1");
    // No IPv6 address of any kind (not even link-local) on the bridge, the veth's host end
    // or its namespace end.
    for (ns, dev) in [
        (None, "cn-v4"),
        (None, host_veth.as_str()),
        (Some("ns1"), "eth0"),
    ] {
        let mut argv = vec!["ip"];
        if let Some(ns) = ns {
            argv.extend(["-n", ns]);
        }
        argv.extend(["-6", "-o", "addr", "show", "dev", dev]);
        let r = sb.run(&argv);
        r.ok();
        assert_eq!(r.stdout.trim(), "", "{ns:?} {dev} has IPv6: {r}");
    }
    sb.run(&["ip", "-n", "ns1", "-6", "route", "show", "default"])
        .ok();
    let before = sb.snapshot();
    sb.cnet(&["attach", "v4", "ns2", "--ip6", "fd00:2::5"])
        .usage_error(&["--ip6 fd00:2::5: network v4 is IPv4-only"]);
    sb.snapshot()
        .assert_same(&before, "attach --ip6 on an IPv4-only network");
}

#[test]
fn bad_ipv6_combinations_exit_2_and_change_nothing() {
    let sb = Sandbox::new();
    // A network and its ULA prefix exist first, so that "nothing changes" covers them too.
    sb.cnet(&["net", "create", "d1", "--subnet", "10.5.0.0/24", "--ipv6"])
        .ok();
    let before = sb.snapshot();
    for (args, needle) in [
        (&["--subnet6", "fd00:6::/64"][..], "--subnet6 needs --ipv6"),
        (
            &[
                "--ipv6",
                "--subnet6",
                "fd00:6::/64",
                "--gateway6",
                "fd00:7::1",
            ],
            "gateway fd00:7::1 is outside subnet fd00:6::/64",
        ),
        (
            &["--ipv6", "--subnet6", "fd00:6::/121"],
            "an IPv6 network needs at least a /120",
        ),
        (&["--ipv6", "--subnet6", "10.6.0.0/24"], "is not IPv6"),
        (
            &["--subnet", "fd00:6::/64"],
            "give it as --subnet6 with --ipv6",
        ),
        (&["-d", "host", "--ipv6"], "only one host network"),
    ] {
        let mut argv = vec!["net", "create", "bad"];
        argv.extend_from_slice(args);
        sb.cnet(&argv).usage_error(&[needle]);
    }
    sb.cnet(&["attach", "d1", "ns1", "--ip6", "10.5.0.9"])
        .usage_error(&["--ip6 10.5.0.9 is not IPv6"]);
    sb.cnet(&["attach", "d1", "ns1", "--ip6", "fd00:99::9"])
        .usage_error(&["not in ip-range"]);
    sb.snapshot().assert_same(&before, "refused IPv6 input");
}

#[test]
fn networks_created_with_ipv6_alone_take_the_next_64_of_one_host_prefix() {
    let sb = Sandbox::new();
    let subnet6 = |name: &str| {
        let v = sb.cnet(&["net", "inspect", name]).ok().json();
        v[0]["ipam"]["subnet6"]
            .as_str()
            .expect("a subnet6")
            .to_string()
    };
    sb.cnet(&["net", "create", "a", "--ipv6"]).ok();
    sb.cnet(&["net", "create", "b", "--ipv6"]).ok();
    let (a, b) = (subnet6("a"), subnet6("b"));
    let octets = |s: &str| -> [u8; 16] {
        let (addr, prefix) = s.trim().split_once('/').expect("a CIDR");
        assert!(prefix == "64" || prefix == "48", "{s}");
        addr.parse::<std::net::Ipv6Addr>().expect("IPv6").octets()
    };
    let (oa, ob) = (octets(&a), octets(&b));
    assert_eq!(oa[0], 0xfd, "{a}");
    assert!(a.ends_with("/64"), "{a}");
    // The same /48 (the one recorded in the state), the next /64.
    assert_eq!(oa[..6], ob[..6], "{a} {b}");
    assert_eq!(
        u16::from_be_bytes([ob[6], ob[7]]),
        u16::from_be_bytes([oa[6], oa[7]]) + 1
    );
    let ula = sb.run(&["cat", &format!("{}/ula_prefix", sb.state_dir())]);
    ula.ok();
    assert!(ula.stdout.trim().ends_with("/48"), "{ula}");
    assert_eq!(octets(&ula.stdout)[..6], oa[..6], "{ula}");
    // After the network goes, its /64 is free again; the prefix stays.
    sb.cnet(&["net", "rm", "a"]).ok();
    sb.cnet(&["net", "create", "c", "--ipv6"]).ok();
    assert_eq!(subnet6("c"), a);
}

#[test]
fn a_dual_stack_overlay_pings_over_ipv6_by_address_across_hosts_and_by_name() {
    let lab = Lab::new(2);
    for i in 0..2 {
        let h = lab.host(i);
        let mut args = vec![
            "net",
            "create",
            "ov",
            "-d",
            "vxlan",
            "--vni",
            "6001",
            "--subnet",
            "10.31.0.0/24",
            "--ipv6",
            "--subnet6",
            "fd00:31::/64",
            "--local",
            &h.addr,
        ];
        for p in lab.peers_of(i) {
            args.extend(["--peer", p]);
        }
        h.cnet(&args).ok();
        h.cnet(&["attach", "ov", &format!("n{i}")]).ok();
        h.cnet(&["attach", "ov", &format!("m{i}")]).ok();
    }
    let addr6 = |i: usize, ns: &str| {
        let eps = common::inspect_namespaces(lab.host(i), "ov");
        let a = eps[ns]["ipv6_address"].as_str().expect("v6").to_string();
        a.split('/').next().unwrap().to_string()
    };
    // Each host leases from its own half of the v6 subnet: the two addresses differ.
    assert_ne!(addr6(0, "n0"), addr6(1, "n1"));
    lab.host(0).assert_ping6("n0", &addr6(1, "n1"));
    lab.host(1).assert_ping6("n1", &addr6(0, "m0"));
    // By name: the host's hosts file names its namespaces on the overlay with both families.
    for i in 0..2 {
        let h = lab.host(i);
        h.assert_ping6(&format!("n{i}"), &format!("m{i}"));
        let r = h.exec_in(&format!("n{i}"), &["getent", "ahostsv6", &format!("m{i}")]);
        assert!(r.ok().stdout.contains(&addr6(i, &format!("m{i}"))), "{r}");
    }
    // The host takes no part in the overlay's IPv6: its bridge has no IPv6 address.
    let r = lab
        .host(0)
        .run(&["ip", "-6", "-o", "addr", "show", "dev", "cn-ov"]);
    r.ok();
    assert_eq!(r.stdout.trim(), "", "{r}");
}

#[test]
fn two_dual_stack_networks_do_not_reach_each_other_over_ipv6() {
    let sb = Sandbox::new();
    for (name, v4, v6) in [
        ("a", "10.7.0.0/24", "fd00:7::/64"),
        ("b", "10.8.0.0/24", "fd00:8::/64"),
    ] {
        sb.cnet(&[
            "net",
            "create",
            name,
            "--subnet",
            v4,
            "--ipv6",
            "--subnet6",
            v6,
        ])
        .ok();
        sb.cnet(&["attach", name, &format!("n{name}")]).ok();
    }
    sb.assert_ping6("na", "fd00:7::1");
    let r = sb.exec_in("na", &["ping", "-6", "-c1", "-W1", "fd00:8::2"]);
    assert!(!r.succeeded(), "na must not reach nb over IPv6\n{r}");
}
