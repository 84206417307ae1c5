//! Undoing: `net rm`, `ns rm`, `--dry-run` (which does nothing) and the rollback of a failed
//! attach. After each, the sandbox must look as it did before.

mod common;

use common::{Sandbox, host_veth_name, inspect_namespaces, leases};

#[test]
fn net_rm_leaves_nothing_behind() {
    let sb = Sandbox::new();
    // Namespaces made by another tool, so cnet records none of its own.
    sb.sh("ip netns add ns1 && ip netns add ns2").ok();
    let before = sb.snapshot();

    sb.cnet(&["net", "create", "x", "--subnet", "10.7.0.0/24"])
        .ok();
    sb.cnet(&["attach", "x", "ns1"]).ok();
    sb.cnet(&["attach", "x", "ns2"]).ok();
    let attached = sb.snapshot();
    assert_ne!(attached.rules, before.rules, "a network has firewall rules");
    assert!(
        attached.links.contains(&"cn-x".to_string()),
        "{:?}",
        attached.links
    );

    sb.cnet(&["detach", "x", "ns1"]).ok();
    sb.cnet(&["net", "rm", "x"]).usage_error(&["x", "ns2"]);
    sb.cnet(&["net", "rm", "x", "--force"]).ok();

    let after = sb.snapshot();
    assert_eq!(after.links, before.links, "host links differ");
    assert_eq!(after.rules, before.rules, "iptables rules differ");
    assert_eq!(after.state, before.state, "state files differ");
    assert_eq!(after.netns, before.netns, "namespaces differ");
    let st = sb.state_dir();
    for gone in [
        format!("{st}/networks/x.toml"),
        format!("{st}/leases/x"),
        format!("{st}/endpoints/x"),
    ] {
        assert!(!sb.exists(&gone), "{gone} is left behind");
    }
    for ns in ["ns1", "ns2"] {
        assert_eq!(sb.links_in(ns), ["lo"], "{ns} keeps an interface");
    }
    // No namespace still resolves names to the removed network's addresses.
    for ns in ["ns1", "ns2"] {
        let r = sb.exec_in(ns, &["getent", "-s", "files", "hosts", "ns1", "ns2"]);
        assert!(
            !r.stdout.contains("10.7.0."),
            "{ns} still resolves names to addresses of the removed network\n{r}"
        );
    }
    let r = sb.cnet(&["net", "ls", "-q"]);
    assert!(!r.ok().stdout.lines().any(|l| l == "x"), "{r}");
}

#[test]
fn detach_cuts_off_at_once_and_the_kernel_frees_the_pair_behind_it() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    sb.cnet(&["attach", "lab", "ns2"]).ok();
    sb.assert_ping("ns2", "10.1.0.2");
    let veth = host_veth_name("lab", "ns1");

    sb.cnet(&["detach", "lab", "ns1"]).ok();
    // At once: ns1 is off the network, its interface name is free, the host end is gone
    // from the bridge's view under its old name.
    sb.assert_no_ping("ns2", "10.1.0.2");
    assert!(!sb.links_in("ns1").contains(&"eth0".to_string()));
    assert!(!sb.links().contains(&veth));
    // So attaching again straight away gets eth0 and the same address back.
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    assert_eq!(sb.addrs("ns1", "eth0"), ["10.1.0.2/24"]);
    sb.assert_ping("ns2", "10.1.0.2");

    // The freeing finishes on its own, shortly.
    sb.cnet(&["detach", "lab", "ns1"]).ok();
    assert_eq!(
        sb.settle(),
        Vec::<String>::new(),
        "retired links never freed"
    );
    assert_eq!(sb.links_in("ns1"), ["lo"]);

    // --wait returns only when it is done.
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    sb.cnet(&["detach", "--wait", "lab", "ns1"]).ok();
    assert_eq!(sb.retired_links(Some("ns1")), Vec::<String>::new());
    assert_eq!(sb.links_in("ns1"), ["lo"]);
    sb.cnet(&["ns", "rm", "--wait", "ns2"]).ok();
    assert_eq!(sb.retired_links(None), Vec::<String>::new());
    assert!(!sb.links().contains(&host_veth_name("lab", "ns2")));
}

#[test]
fn dry_run_changes_nothing() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    let before = sb.snapshot();

    let r = sb.cnet(&["--dry-run", "net", "create", "d", "--subnet", "10.9.0.0/24"]);
    r.ok()
        .stdout_has("ip link add cn-d mtu 1499 group 1668179316 type bridge")
        .stdout_has("add element inet cnet bridges { \"cn-d\" }");
    sb.snapshot()
        .assert_same(&before, "after --dry-run net create");

    let r = sb.cnet(&["--dry-run", "attach", "lab", "nsx"]);
    r.ok()
        .stdout_has("ip netns add nsx")
        .stdout_has("ip link add");
    sb.snapshot().assert_same(&before, "after --dry-run attach");

    sb.cnet(&["--dry-run", "attach", "bridge", "nsy"])
        .ok()
        .stdout_has("cnet0");
    sb.snapshot()
        .assert_same(&before, "after --dry-run attach bridge");

    sb.cnet(&["--dry-run", "detach", "lab", "ns1"])
        .ok()
        .stdout_has("ip link del");
    sb.cnet(&["--dry-run", "net", "rm", "lab", "--force"]).ok();
    sb.cnet(&["--dry-run", "ns", "rm", "ns1"]).ok();
    sb.snapshot()
        .assert_same(&before, "after --dry-run detach / net rm / ns rm");
    sb.assert_ping("ns1", "10.1.0.1");
}

#[test]
fn ns_rm_detaches_everywhere_and_deletes_only_what_cnet_created() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&["net", "create", "lab2", "--subnet", "10.2.0.0/24"])
        .ok();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    sb.cnet(&["attach", "lab2", "ns1"]).ok();
    sb.cnet(&["attach", "lab", "ns2"]).ok();
    assert_eq!(sb.addrs("ns1", "eth1"), ["10.2.0.2/24"]);

    sb.cnet(&["ns", "rm", "ns1"]).ok();
    assert!(
        !sb.netns_list().contains(&"ns1".to_string()),
        "{:?}",
        sb.netns_list()
    );
    for net in ["lab", "lab2"] {
        let eps = inspect_namespaces(&sb, net);
        assert!(!eps.contains_key("ns1"), "{net} still lists ns1: {eps:#?}");
        let table = leases(&sb, net);
        assert!(
            !table.iter().any(|(_, c, s)| c == "ns1" && s == "bound"),
            "{net}: ns1 still holds a lease: {table:#?}"
        );
    }
    let links = sb.links();
    for net in ["lab", "lab2"] {
        let veth = host_veth_name(net, "ns1");
        assert!(!links.contains(&veth), "{veth} left on the host: {links:?}");
    }
    assert!(!sb.exists("/etc/netns/ns1"), "/etc/netns/ns1 left behind");
    sb.assert_no_ping("ns2", "10.1.0.2");

    // A namespace made by another tool, given by path.
    let r = sb.sh(
        "unshare --net sleep 1000 </dev/null >/dev/null 2>&1 &
         pid=$!
         for i in $(seq 50); do
           [ \"$(readlink /proc/$pid/ns/net)\" != \"$(readlink /proc/self/ns/net)\" ] && { echo $pid; exit 0; }
           sleep 0.1
         done
         exit 1",
    );
    r.ok();
    let pid = r.stdout.trim().to_string();
    let path = format!("/proc/{pid}/ns/net");
    let ino = || {
        let r = sb.run(&["readlink", &path]);
        r.ok();
        r.stdout.trim().to_string()
    };
    let ino_before = ino();
    sb.cnet(&["attach", "lab", &path]).ok();
    let addr = sb.exec_in(&path, &["ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
    let addr = common::parse_inet(&addr.ok().stdout);
    assert_eq!(addr.len(), 1);
    sb.assert_ping("ns2", addr[0].split('/').next().unwrap_or_default());

    sb.cnet(&["ns", "rm", &path]).ok();
    assert!(
        sb.run(&["kill", "-0", &pid]).succeeded(),
        "the process was killed"
    );
    assert_eq!(ino(), ino_before, "the process's namespace changed");
    let r = sb.run(&["nsenter", &format!("--net={path}"), "ip", "-j", "link"]);
    assert_eq!(
        common::link_names(&r.ok().stdout),
        ["lo"],
        "the endpoint was not removed"
    );
    assert_eq!(
        inspect_namespaces(&sb, "lab").len(),
        1,
        "only ns2 remains on lab"
    );
}

#[test]
fn failed_attach_rolls_back_in_a_namespace_cnet_did_not_create() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    // A namespace that already has a default route: adding cnet's (the last step of an
    // attach) fails after the veth, its address and its link state are in place.
    sb.sh("ip netns add ns1 && ip -n ns1 link set lo up && ip -n ns1 route add default dev lo")
        .ok();
    let before = sb.snapshot();
    let r = sb.cnet(&["attach", "lab", "ns1"]);
    r.fails_with(1);
    assert_eq!(
        r.stderr.trim().lines().count(),
        1,
        "one line on stderr\n{r}"
    );
    assert!(
        r.stderr.contains("route"),
        "the error names the failed step\n{r}"
    );
    sb.snapshot()
        .assert_same(&before, "after the failed attach");
    assert_eq!(sb.links_in("ns1"), ["lo"]);
    sb.run(&["ip", "-n", "ns1", "route", "show", "default"])
        .ok()
        .stdout_has("default dev lo");
    assert!(leases(&sb, "lab").is_empty());
    // Nothing was left in the way: once the route is gone the same attach works.
    sb.run(&["ip", "-n", "ns1", "route", "del", "default"]).ok();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    assert_eq!(sb.addrs("ns1", "eth0"), ["10.1.0.2/24"]);
}

#[test]
fn failed_attach_removes_the_namespace_it_created() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    // The host end of ns2's veth is taken: the attach fails after creating the namespace.
    let veth = host_veth_name("lab", "ns2");
    sb.run(&[
        "ip", "link", "add", &veth, "type", "veth", "peer", "name", "squat1",
    ])
    .ok();
    let before = sb.snapshot();
    let r = sb.cnet(&["attach", "lab", "ns2"]);
    r.fails();
    assert_eq!(
        r.stderr.trim().lines().count(),
        1,
        "one line on stderr\n{r}"
    );
    assert!(
        r.stderr.contains(&veth),
        "the error names the clashing link\n{r}"
    );
    sb.snapshot()
        .assert_same(&before, "after the failed attach");
    assert!(!sb.netns_list().contains(&"ns2".to_string()));

    sb.run(&["ip", "link", "del", &veth]).ok();
    sb.cnet(&["attach", "lab", "ns2"]).ok();
    assert_eq!(sb.addrs("ns2", "eth0"), ["10.1.0.3/24"]);
    sb.assert_ping("ns2", "ns1");
}

#[test]
fn the_iptables_backends_base_jumps_carry_no_comment() {
    let sb = Sandbox::new();
    sb.run(&[
        "env",
        "CNET_FIREWALL=iptables",
        "cnet",
        "net",
        "create",
        "lab",
        "--subnet",
        "10.1.0.0/24",
    ])
    .ok();
    let save = sb.run(&["iptables-save"]);
    let mut jumps: Vec<&str> = save
        .ok()
        .stdout
        .lines()
        .filter(|l| {
            ["-A FORWARD ", "-A POSTROUTING ", "-A PREROUTING "]
                .iter()
                .any(|c| l.starts_with(c))
        })
        .collect();
    // iptables-save's order of the tables is iptables-nft's; FORWARD's own order matters.
    // FORWARD's lines first, as they are; the others by name.
    let forward = |l: &str| l.starts_with("-A FORWARD ");
    jumps.sort_by_key(|l| (!forward(l), if forward(l) { "" } else { *l }));
    assert_eq!(
        jumps,
        [
            "-A FORWARD -j CNET-USER",
            "-A FORWARD -j CNET-ISOLATION-1",
            "-A FORWARD -j CNET-FORWARD",
            "-A POSTROUTING -j CNET-POSTROUTING",
            "-A PREROUTING -j CNET-RAW-PREROUTING",
            "-A PREROUTING -j CNET-TUNNEL",
            "-A PREROUTING -m addrtype --dst-type LOCAL -j CNET-DNAT",
        ]
    );
}
