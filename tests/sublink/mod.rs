//! Integration tests shared by the macvlan and ipvlan drivers (tests/macvlan.rs and
//! tests/ipvlan.rs run each of them with their kind).
//!
//! The "LAN": a veth pair whose end `lan0` is the parent, in the sandbox host (with
//! 192.168.50.10/24, like a machine's own eth0), and whose other end is `eth0` of namespace
//! `lanpc`, which stands for another machine on the LAN and is its router (192.168.50.1).
//! The networks lease from 192.168.50.128/25.

#![allow(dead_code)]

pub mod dual_stack;

use crate::common::{Sandbox, leases};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Macvlan,
    Ipvlan,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Macvlan => "macvlan",
            Kind::Ipvlan => "ipvlan",
        }
    }
}

/// The LAN machine (and router), and the sandbox host's own address on the LAN.
pub const LANPC: &str = "192.168.50.1";
pub const HOST: &str = "192.168.50.10";
/// The parent's MTU: children get it unless the network has one.
pub const PARENT_MTU: &str = "1400";

const LAN_SETUP: &str = "set -e
ip netns add lanpc
ip link add lan0 mtu 1400 type veth peer name eth0 netns lanpc
ip addr add 192.168.50.10/24 dev lan0
ip link set lan0 up
ip -n lanpc link set lo up
ip -n lanpc addr add 192.168.50.1/24 dev eth0
ip -n lanpc link set eth0 up
";

/// A sandbox with the LAN.
#[track_caller]
pub fn lan() -> Sandbox {
    let sb = Sandbox::new();
    sb.sh(LAN_SETUP).ok();
    sb
}

/// `cnet net create NAME -d KIND --parent lan0 --subnet 192.168.50.0/24 --ip-range
/// 192.168.50.128/25 EXTRA...`
#[track_caller]
pub fn create(sb: &Sandbox, kind: Kind, name: &str, extra: &[&str]) {
    let mut args = vec![
        "net",
        "create",
        name,
        "-d",
        kind.name(),
        "--parent",
        "lan0",
        "--subnet",
        "192.168.50.0/24",
        "--ip-range",
        "192.168.50.128/25",
    ];
    args.extend_from_slice(extra);
    sb.cnet(&args).ok().stdout_has(name);
}

/// A ping that must fail, quickly (one second).
#[track_caller]
pub fn assert_no_ping(sb: &Sandbox, netns: &str, target: &str) {
    let r = sb.exec_in(netns, &["ping", "-c1", "-W1", target]);
    assert!(!r.succeeded(), "{netns} must not reach {target}\n{r}");
}

/// The LAN machine pings `target`.
#[track_caller]
pub fn assert_lanpc_pings(sb: &Sandbox, target: &str) {
    let r = sb.run(&["ip", "netns", "exec", "lanpc", "ping", "-c1", "-W2", target]);
    assert!(r.succeeded(), "the LAN machine cannot ping {target}\n{r}");
}

/// The sandbox host itself pings `target`.
pub fn host_ping(sb: &Sandbox, target: &str) -> bool {
    sb.run(&["ping", "-c1", "-W1", target]).succeeded()
}

/// `ip -d link show DEV` inside a namespace.
#[track_caller]
pub fn link_details(sb: &Sandbox, netns: &str, dev: &str) -> String {
    sb.run(&["ip", "-n", netns, "-d", "link", "show", dev])
        .ok()
        .stdout
        .clone()
}

/// Two namespaces on the same LAN: they reach each other (by address and by name), the LAN
/// machine and its router reach them and they reach it, straight through the parent; no
/// firewall rule is involved; the host cannot reach them through its own parent.
pub fn namespaces_reach_each_other_and_the_lan(kind: Kind) {
    let sb = lan();
    let rules_before = sb.rules();
    create(&sb, kind, "lan", &[]);
    sb.cnet(&["attach", "lan", "ns1"])
        .ok()
        .stdout_has("192.168.50.128/24");
    sb.cnet(&["attach", "lan", "ns2"])
        .ok()
        .stdout_has("192.168.50.129/24");
    assert_eq!(sb.addrs("ns1", "eth0"), ["192.168.50.128/24"]);
    assert_eq!(sb.addrs("ns2", "eth0"), ["192.168.50.129/24"]);
    for ns in ["ns1", "ns2"] {
        let d = link_details(&sb, ns, "eth0");
        assert!(d.contains(&format!("{} ", kind.name())), "{ns}: {d}");
        let mode = match kind {
            Kind::Macvlan => "mode bridge",
            Kind::Ipvlan => "mode l2",
        };
        assert!(d.contains(mode), "{ns}: {d}");
        assert!(d.contains(&format!("mtu {PARENT_MTU} ")), "{ns}: {d}");
        sb.run(&["ip", "-n", ns, "route", "show", "default"])
            .ok()
            .stdout_has(&format!("default via {LANPC} dev eth0"));
    }
    // No temporary name is left anywhere, and nothing was added to the host.
    assert_eq!(sb.links_in("ns1"), ["eth0", "lo"]);
    assert_eq!(sb.links(), ["lan0", "lo"]);

    sb.assert_ping("ns1", "192.168.50.129");
    sb.assert_ping("ns2", "ns1");
    sb.assert_ping("ns1", LANPC);
    assert_lanpc_pings(&sb, "192.168.50.129");

    // No NAT, no filtering: not one iptables rule.
    assert_eq!(
        sb.rules(),
        rules_before,
        "{} added firewall rules",
        kind.name()
    );
    // The host's traffic to them leaves through the parent and never comes back to them.
    assert!(
        !host_ping(&sb, "192.168.50.128"),
        "the host reached a {} child through its parent",
        kind.name()
    );
    let v = sb.cnet(&["net", "inspect", "lan"]).json();
    let notes = v[0]["notes"].to_string();
    assert!(notes.contains("the host cannot reach"), "{v:#}");
    assert_eq!(v[0]["options"]["parent"], "lan0", "{v:#}");
}

/// `--ip`, `--mac` (macvlan; refused for ipvlan), detach and coming back.
pub fn static_ip_mac_and_detach(kind: Kind) {
    let sb = lan();
    create(&sb, kind, "lan", &[]);
    let mac = "02:aa:bb:cc:dd:ee";
    if kind == Kind::Ipvlan {
        let before = sb.snapshot();
        sb.cnet(&["attach", "lan", "ns1", "--mac", mac])
            .usage_error(&["--mac", "ipvlan"]);
        sb.snapshot().assert_same(&before, "a refused --mac");
    }
    let mut args = vec!["attach", "lan", "ns1", "--ip", "192.168.50.200"];
    if kind == Kind::Macvlan {
        args.extend(["--mac", mac]);
    }
    sb.cnet(&args).ok().stdout_has("192.168.50.200/24");
    assert_eq!(sb.addrs("ns1", "eth0"), ["192.168.50.200/24"]);
    assert_lanpc_pings(&sb, "192.168.50.200");
    // The LAN sees the namespace under its own MAC (macvlan) or the parent's (ipvlan).
    let neigh = sb
        .run(&["ip", "-n", "lanpc", "neigh", "show", "192.168.50.200"])
        .ok()
        .stdout
        .clone();
    let expected = match kind {
        Kind::Macvlan => mac.to_string(),
        Kind::Ipvlan => {
            let v: serde_json::Value =
                serde_json::from_str(&sb.run(&["ip", "-j", "link", "show", "lan0"]).ok().stdout)
                    .expect("ip -j gives JSON");
            v[0]["address"]
                .as_str()
                .expect("lan0 has a MAC")
                .to_string()
        }
    };
    assert!(neigh.contains(&expected), "expected {expected}: {neigh}");
    let ep = &crate::common::inspect_namespaces(&sb, "lan")["ns1"];
    match kind {
        Kind::Macvlan => assert_eq!(ep["mac_address"], mac, "{ep:#}"),
        Kind::Ipvlan => assert!(ep["mac_address"].is_null(), "{ep:#}"),
    }

    sb.cnet(&["detach", "lan", "ns1"]).ok();
    assert_eq!(sb.links_in("ns1"), ["lo"]);
    assert_eq!(
        leases(&sb, "lan"),
        [("192.168.50.200".into(), "ns1".into(), "released".into())]
    );
    assert!(crate::common::inspect_namespaces(&sb, "lan").is_empty());
    // Sticky, like DHCP.
    sb.cnet(&["attach", "lan", "ns1"])
        .ok()
        .stdout_has("192.168.50.200/24");
    sb.assert_ping("ns1", LANPC);
    sb.cnet(&["net", "rm", "--force", "lan"]).ok();
    assert_eq!(sb.links_in("ns1"), ["lo"]);
}

/// A link named like the child's final name in the parent's namespace (the host) does not
/// matter; one in the target namespace makes cnet pick the next ethN.
pub fn name_clash_in_the_parent_namespace_does_not_matter(kind: Kind) {
    let sb = lan();
    sb.sh(
        "ip link add eth0 type veth peer name eth0p && ip netns add busy && \
           ip -n busy link add eth0 type veth peer name eth9",
    )
    .ok();
    create(&sb, kind, "lan", &[]);
    sb.cnet(&["attach", "lan", "ns1"]).ok();
    let d = link_details(&sb, "ns1", "eth0");
    assert!(d.contains(kind.name()), "{d}");
    // The host's own eth0 is untouched.
    assert!(link_details_host(&sb, "eth0").contains("veth"));
    // In a namespace that has an eth0, the child becomes eth1.
    sb.cnet(&["attach", "lan", "busy"])
        .ok()
        .stdout_has("lan busy eth1 ");
    assert!(link_details(&sb, "busy", "eth1").contains(kind.name()));
    assert!(link_details(&sb, "busy", "eth0").contains("veth"));
    sb.assert_ping("busy", "ns1");
}

fn link_details_host(sb: &Sandbox, dev: &str) -> String {
    sb.run(&["ip", "-d", "link", "show", dev])
        .ok()
        .stdout
        .clone()
}

/// Bad input: one line, exit status 2, nothing changed.
pub fn bad_input_is_refused_and_changes_nothing(kind: Kind) {
    let sb = lan();
    sb.sh("ip link add lan1 type veth peer name lan1p").ok();
    create(&sb, kind, "lan", &[]);
    let before = sb.snapshot();
    let k = kind.name();
    let base = ["net", "create", "x", "-d", k];
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["--parent", "nope0", "--subnet", "10.9.0.0/24"],
            vec!["nope0", "does not exist"],
        ),
        (
            vec!["--parent", "lan1", "--subnet", "10.9.0.0/24"],
            vec!["lan1", "is down"],
        ),
        (vec!["--subnet", "10.9.0.0/24"], vec!["--parent"]),
        (vec!["--parent", "lan0"], vec!["--subnet"]),
        (
            vec!["--parent", "lan0", "--subnet", "192.168.50.0/26"],
            vec!["overlaps network lan", "same parent lan0"],
        ),
        (
            vec![
                "--parent",
                "lan0",
                "--subnet",
                "10.9.0.0/24",
                "--mode",
                "nosuch",
            ],
            vec!["mode 'nosuch'"],
        ),
        (
            vec![
                "-o",
                "parent=lan0",
                "--parent",
                "lan1",
                "--subnet",
                "10.9.0.0/24",
            ],
            vec!["disagree"],
        ),
        (
            vec!["--parent", "lan0", "--subnet", "10.9.0.0/24", "--vni", "5"],
            vec!["--vni", k],
        ),
        (
            vec![
                "--parent",
                "lan0",
                "--subnet",
                "10.9.0.0/24",
                "-o",
                "nosuch=1",
            ],
            vec!["unknown option 'nosuch'"],
        ),
        (
            vec![
                "--parent",
                "lan0",
                "--subnet",
                "10.9.0.0/24",
                "--mtu",
                "9000",
            ],
            vec!["mtu 9000", "lan0"],
        ),
        (
            vec!["--parent", "lo", "--subnet", "10.9.0.0/24"],
            vec!["lo", "not an Ethernet interface"],
        ),
    ];
    let cases = cases.into_iter().chain(match kind {
        Kind::Macvlan => vec![
            (
                vec![
                    "--parent",
                    "lan0",
                    "--subnet",
                    "10.9.0.0/24",
                    "--mode",
                    "private",
                    "-o",
                    "host_shim=true",
                ],
                vec!["host_shim", "bridge"],
            ),
            (
                // The host routes the whole LAN through lan0 already.
                vec![
                    "--parent",
                    "lan0",
                    "--subnet",
                    "192.168.60.0/24",
                    "-o",
                    "host_shim=true",
                ],
                vec![],
            ),
        ],
        Kind::Ipvlan => vec![
            (
                vec![
                    "--parent",
                    "lan0",
                    "--subnet",
                    "10.9.0.0/24",
                    "--mode",
                    "l3",
                    "--gateway",
                    "10.9.0.1",
                ],
                vec!["--gateway", "l3"],
            ),
            (
                vec![
                    "--parent",
                    "lan0",
                    "--subnet",
                    "10.9.0.0/24",
                    "-o",
                    "host_shim=true",
                ],
                vec!["unknown option 'host_shim'"],
            ),
        ],
    });
    for (extra, needles) in cases {
        if extra.contains(&"192.168.60.0/24") {
            // Give the host a route to exactly that subnet, then ask for a shim over it.
            sb.sh("ip addr add 192.168.60.10/24 dev lan0").ok();
            let before = sb.snapshot();
            let mut args: Vec<&str> = base.to_vec();
            args.extend(&extra);
            sb.cnet(&args)
                .usage_error(&["already has a route to 192.168.60.0/24", "--ip-range"]);
            sb.snapshot()
                .assert_same(&before, "a shim over a routed subnet");
            sb.sh("ip addr del 192.168.60.10/24 dev lan0").ok();
            continue;
        }
        let mut args: Vec<&str> = base.to_vec();
        args.extend(&extra);
        sb.cnet(&args).usage_error(&needles);
        sb.snapshot()
            .assert_same(&before, &format!("refused: {}", args.join(" ")));
    }
}

/// A parent that disappears: attach fails cleanly (exit 1, naming it, nothing left behind),
/// detach and `net rm` still succeed.
pub fn a_parent_that_disappears(kind: Kind) {
    let sb = lan();
    create(&sb, kind, "lan", &[]);
    sb.cnet(&["attach", "lan", "ns1"]).ok();
    // Deleting the parent takes its children (and the veth peer) with it.
    sb.run(&["ip", "link", "del", "lan0"]).ok();
    assert_eq!(sb.links_in("ns1"), ["lo"]);
    let before = sb.snapshot();
    let r = sb.cnet(&["attach", "lan", "ns2"]);
    r.fails_with(1);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{r}");
    assert!(
        r.stderr.contains("parent interface lan0 does not exist"),
        "{r}"
    );
    sb.snapshot()
        .assert_same(&before, "an attach to a network whose parent is gone");
    sb.cnet(&["detach", "lan", "ns1"]).ok();
    sb.cnet(&["net", "rm", "lan"]).ok();
    sb.cnet(&["net", "ls", "-q"]).ok();
    assert!(!sb.cnet(&["net", "ls", "-q"]).stdout.contains("lan"));
}

/// A failure late in an attach (the namespace already has a default route) undoes the child,
/// the address and the lease.
pub fn a_failed_attach_rolls_back(kind: Kind) {
    let sb = lan();
    create(&sb, kind, "lan", &[]);
    sb.sh(
        "set -e; ip netns add busy; ip -n busy link add d0 type veth peer name d1; \
           ip -n busy addr add 10.9.9.2/24 dev d0; ip -n busy link set d0 up; \
           ip -n busy route add default via 10.9.9.1",
    )
    .ok();
    let before = sb.snapshot();
    let links = sb.links_in("busy");
    let r = sb.cnet(&["attach", "lan", "busy"]);
    r.fails_with(1);
    assert!(r.stderr.contains("route add default"), "{r}");
    sb.snapshot().assert_same(&before, "a rolled-back attach");
    assert_eq!(sb.links_in("busy"), links);
    assert!(leases(&sb, "lan").is_empty());
    // And the same namespace attaches fine without the conflicting route.
    sb.run(&["ip", "-n", "busy", "route", "del", "default"])
        .ok();
    sb.cnet(&["attach", "lan", "busy"]).ok();
    sb.assert_ping("busy", LANPC);
}

/// `--internal`: no default route, the segment is still there; `--mtu` overrides the
/// parent's. `--dry-run` prints the child creation under its temporary name and changes
/// nothing.
pub fn internal_network_and_dry_run(kind: Kind) {
    let sb = lan();
    create(&sb, kind, "lan", &["--internal", "--mtu", "1300"]);
    let before = sb.snapshot();
    let r = sb.cnet(&["--dry-run", "attach", "lan", "ns1"]);
    r.ok();
    let text = &r.stdout;
    let add = text
        .lines()
        .find(|l| l.starts_with("ip link add link lan0 name cnt"))
        .unwrap_or_else(|| panic!("no child creation in\n{text}"));
    assert!(add.contains(" netns ns1 "), "{text}");
    assert!(
        add.contains(&format!("type {} mode", kind.name())),
        "{text}"
    );
    let temp = add.split_whitespace().nth(6).expect("a name");
    assert!(
        text.contains(&format!("ip -n ns1 link set {temp} name eth0")),
        "{text}"
    );
    assert!(!text.contains("route add"), "{text}");
    sb.snapshot().assert_same(&before, "a dry run");

    sb.cnet(&["attach", "lan", "ns1"]).ok();
    // The network's MTU, not the parent's.
    let d = link_details(&sb, "ns1", "eth0");
    assert!(d.contains("mtu 1300 "), "{d}");
    let routes = sb.run(&["ip", "-n", "ns1", "route"]).ok().stdout.clone();
    assert!(!routes.contains("default"), "{routes}");
    sb.assert_ping("ns1", LANPC);
}
