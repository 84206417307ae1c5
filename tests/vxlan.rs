//! VXLAN overlays: three simulated hosts (each its own sandbox, state and /run/netns) on a
//! switched underlay, each running cnet against its own view; plus single-host checks of the
//! overlay's L2-only semantics, bad input and rollback.

mod common;

use common::multihost::{Lab, UNDERLAY_IF};
use common::{OUTSIDE, Sandbox};

const SUBNET: &str = "10.20.0.0/24";

/// `net create NAME -d DRIVER --vni VNI --subnet SUBNET --local OWN --peer OTHER...` on each
/// of `hosts`, with every other host of the lab as a peer.
#[track_caller]
fn create_on(lab: &Lab, hosts: &[usize], name: &str, driver: &str, vni: &str, subnet: &str) {
    for &i in hosts {
        let h = lab.host(i);
        let mut args = vec![
            "net", "create", name, "-d", driver, "--vni", vni, "--subnet", subnet, "--local",
            &h.addr,
        ];
        for p in lab.peers_of(i) {
            args.extend(["--peer", p]);
        }
        h.cnet(&args).ok();
    }
}

/// The ingress filter's peers set on a host, as nft lists it (`port . VNI in hex . address`).
#[track_caller]
fn heard_peers(sb: &Sandbox) -> String {
    sb.run(&["nft", "list", "set", "inet", "cnet", "peers"])
        .ok()
        .stdout
        .clone()
}

/// The address (without prefix) of `netns`'s `eth0` on a host.
#[track_caller]
fn addr_of(sb: &Sandbox, netns: &str) -> String {
    let a = sb.addrs(netns, "eth0");
    assert_eq!(a.len(), 1, "{netns}: {a:?}");
    a[0].split('/').next().unwrap().to_string()
}

/// Three hosts on overlay "ov" (VNI 5000), each with namespace n1 attached; the lab and the
/// namespaces' addresses, by host.
fn overlay_of_three_hosts() -> (Lab, Vec<String>) {
    let lab = Lab::new(3);
    create_on(&lab, &[0, 1, 2], "ov", "vxlan", "5000", SUBNET);
    for h in &lab.hosts {
        h.cnet(&["attach", "ov", "n1"]).ok();
    }
    let addrs = lab.hosts.iter().map(|h| addr_of(h, "n1")).collect();
    (lab, addrs)
}

/// The MTU of a link in the sandbox host (`netns` None) or in a named namespace.
#[track_caller]
fn mtu(sb: &Sandbox, netns: Option<&str>, dev: &str) -> u64 {
    let mut argv = vec!["ip"];
    if let Some(n) = netns {
        argv.extend(["-n", n]);
    }
    argv.extend(["-j", "link", "show", dev]);
    let v: serde_json::Value = serde_json::from_str(&sb.run(&argv).ok().stdout).unwrap();
    v[0]["mtu"]
        .as_u64()
        .unwrap_or_else(|| panic!("no mtu for {dev}: {v}"))
}

/// A counting rule (no target) in INPUT, with a comment to find it by.
#[track_caller]
fn add_counter(sb: &Sandbox, tag: &str, spec: &str) {
    sb.sh(&format!(
        "iptables -I INPUT {spec} -m comment --comment {tag}"
    ))
    .ok();
}

/// Packets counted by the rule tagged `tag` in INPUT.
#[track_caller]
fn counter(sb: &Sandbox, tag: &str) -> u64 {
    let r = sb.run(&["iptables", "-nvxL", "INPUT"]);
    r.ok();
    r.stdout
        .lines()
        .find(|l| l.contains(&format!("/* {tag} */")))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no counter {tag}\n{r}"))
}

/// Counts VXLAN packets arriving on the underlay for `vni` on port 4789 (the VNI is the 24 bits
/// after the first 4 bytes of the VXLAN header, which follows the 8-byte UDP header), and any
/// UDP to the kernel's legacy port 8472.
#[track_caller]
fn count_vxlan(sb: &Sandbox, vni: u32) {
    add_counter(
        sb,
        &format!("vni{vni}"),
        &format!("-i {UNDERLAY_IF} -p udp --dport 4789 -m u32 --u32 '0>>22&0x3C@12>>8={vni}'"),
    );
    add_counter(
        sb,
        "legacy8472",
        &format!("-i {UNDERLAY_IF} -p udp --dport 8472"),
    );
}

#[test]
fn three_hosts_reach_each_other_over_udp_4789_with_their_vni_at_full_mtu() {
    let lab = Lab::new(3);
    // Docker users type -d overlay; it is the same driver.
    create_on(&lab, &[0, 1], "ov", "vxlan", "5000", SUBNET);
    create_on(&lab, &[2], "ov", "overlay", "5000", SUBNET);
    for h in &lab.hosts {
        h.cnet(&["attach", "ov", "n1"]).ok();
    }
    // Each host leases from its own part of the subnet (sorted VTEPs: a, b, c; 4 parts).
    let addrs: Vec<String> = lab.hosts.iter().map(|h| addr_of(h, "n1")).collect();
    assert_eq!(addrs, ["10.20.0.1", "10.20.0.64", "10.20.0.128"]);
    let b = lab.host(1);
    let v = b.cnet(&["net", "inspect", "ov"]).json();
    assert_eq!(v[0]["driver"], "vxlan", "{v:#}");
    assert_eq!(v[0]["ipam"]["gateway"], serde_json::Value::Null, "{v:#}");
    assert_eq!(v[0]["ipam"]["ip_range"], "10.20.0.64/26", "{v:#}");
    let slice = &v[0]["vxlan"]["lease_slice"];
    assert_eq!(slice["range"], "10.20.0.64/26", "{v:#}");
    assert_eq!(
        (slice["part"].as_u64(), slice["parts"].as_u64()),
        (Some(2), Some(4))
    );
    assert_eq!(v[0]["vxlan"]["vni"], 5000, "{v:#}");

    // The kernel's view on host a: VNI, local address, underlay, IANA port, learning on.
    let a = lab.host(0);
    let d: serde_json::Value = serde_json::from_str(
        &a.run(&["ip", "-d", "-j", "link", "show", "cnvx5000"])
            .ok()
            .stdout,
    )
    .unwrap();
    let info = &d[0]["linkinfo"];
    assert_eq!(info["info_kind"], "vxlan", "{d:#}");
    let data = &info["info_data"];
    assert_eq!(data["id"], 5000, "{d:#}");
    assert_eq!(data["local"], "192.0.2.1", "{d:#}");
    assert_eq!(data["link"], UNDERLAY_IF, "{d:#}");
    assert_eq!(data["port"], 4789, "{d:#}");
    assert_eq!(data["learning"], true, "{d:#}");
    assert_eq!(d[0]["master"], "cn-ov", "{d:#}");
    // Head-end replication: one all-zero entry per peer.
    let fdb = a
        .run(&["bridge", "fdb", "show", "dev", "cnvx5000"])
        .ok()
        .stdout
        .clone();
    let zero: Vec<&str> = fdb
        .lines()
        .filter(|l| l.starts_with("00:00:00:00:00:00"))
        .collect();
    assert_eq!(zero.len(), 2, "{fdb}");
    for p in ["192.0.2.2", "192.0.2.3"] {
        assert!(
            zero.iter().any(|l| l.contains(&format!("dst {p} "))),
            "{fdb}"
        );
    }
    // MTU: the underlay's 1500 minus 50 on the bridge, the VXLAN device and both veth ends.
    let host_if = a.cnet(&["net", "inspect", "ov"]).json()[0]["namespaces"]["n1"]["host_interface"]
        .as_str()
        .unwrap()
        .to_string();
    for (ns, dev) in [
        (None, "cn-ov"),
        (None, "cnvx5000"),
        (None, host_if.as_str()),
        (Some("n1"), "eth0"),
    ] {
        assert_eq!(mtu(a, ns, dev), 1450, "{dev}");
    }
    // An L2 segment: no gateway address on the bridge; the way out is the namespace's leg
    // on the gateway bridge.
    a.run(&["ip", "-n", "n1", "route", "show", "default"])
        .ok()
        .stdout_has("default via 172.18.0.1 dev eth1");
    let r = a.run(&["ip", "-4", "-o", "addr", "show", "dev", "cn-ov"]);
    assert!(r.ok().stdout.trim().is_empty(), "{r}");

    count_vxlan(b, 5000);
    for (i, h) in lab.hosts.iter().enumerate() {
        for (j, target) in addrs.iter().enumerate() {
            if i != j {
                h.assert_ping("n1", target);
            }
        }
    }
    // A full-size packet with DF set passes at the default MTU; one byte more does not fit.
    a.exec_in(
        "n1",
        &["ping", "-c1", "-W2", "-M", "do", "-s", "1422", &addrs[1]],
    )
    .ok();
    a.exec_in(
        "n1",
        &["ping", "-c1", "-W2", "-M", "do", "-s", "1423", &addrs[1]],
    )
    .fails();
    // What reached b over the underlay: UDP to 4789 carrying VNI 5000 (at least the echo
    // requests from a and c and the full-size one), nothing on the legacy port.
    let n = counter(b, "vni5000");
    assert!(n >= 3, "only {n} VXLAN packets with VNI 5000 reached b");
    assert_eq!(counter(b, "legacy8472"), 0);
}

#[test]
fn a_second_vni_is_isolated_even_on_the_same_subnet_and_underlay() {
    let lab = Lab::new(3);
    // Hosts a and b carry two overlays; host c has a third VNI on red's very subnet.
    create_on(&lab, &[0, 1], "red", "vxlan", "5000", SUBNET);
    create_on(&lab, &[0, 1], "blue", "vxlan", "6000", "10.30.0.0/24");
    create_on(&lab, &[2], "mirror", "vxlan", "7000", SUBNET);
    let (a, b, c) = (lab.host(0), lab.host(1), lab.host(2));
    for h in [a, b] {
        h.cnet(&["attach", "red", "r1"]).ok();
        h.cnet(&["attach", "blue", "b1"]).ok();
    }
    c.cnet(&["attach", "mirror", "m1"]).ok();
    let (ra, rb, m) = (addr_of(a, "r1"), addr_of(b, "r1"), addr_of(c, "m1"));
    assert_eq!(
        m, "10.20.0.128",
        "c leases from its own part of the shared subnet"
    );
    count_vxlan(c, 5000);

    a.assert_ping("r1", &rb);
    b.assert_ping("r1", &ra);
    a.assert_ping("b1", &addr_of(b, "b1"));
    // Same subnet, same hosts on the same underlay, different VNI: nothing gets through.
    a.assert_no_ping("r1", &m);
    c.assert_no_ping("m1", &ra);
    // a's broadcasts did reach c, tagged 5000, and went nowhere there.
    assert!(counter(c, "vni5000") > 0, "a floods red's ARP to c too");
    // And a VNI already used on this host is refused.
    a.cnet(&[
        "net",
        "create",
        "again",
        "-d",
        "vxlan",
        "--vni",
        "5000",
        "--subnet",
        "10.40.0.0/24",
        "--local",
        &a.addr,
    ])
    .usage_error(&["VNI 5000", "red"]);
}

#[test]
fn peer_rm_cuts_a_host_off_and_peer_add_brings_it_back() {
    let (lab, addrs) = overlay_of_three_hosts();
    let (a, b, c) = (lab.host(0), lab.host(1), lab.host(2));
    a.assert_ping("n1", &addrs[2]);
    c.assert_ping("n1", &addrs[1]);
    let links_c = c.links();

    // a and b cut c off; c still lists them as peers and keeps sending.
    for h in [a, b] {
        h.cnet(&["net", "peer", "rm", "ov", &c.addr]).ok();
    }
    // No flood entry to c, nothing learned behind it, and what c sends is dropped.
    let fdb = a.run(&["bridge", "fdb", "show", "dev", "cnvx5000"]);
    assert!(
        !fdb.ok().stdout.contains(&format!("dst {} ", c.addr)),
        "{fdb}"
    );
    // c is no longer among the sources a hears on VNI 5000 (0x1388); b still is.
    let peers = heard_peers(a);
    assert!(
        peers.contains("4789 . 0x1388 . 192.0.2.2") && !peers.contains(&c.addr),
        "{peers}"
    );
    let v = a.cnet(&["net", "inspect", "ov"]).json();
    assert_eq!(v[0]["vxlan"]["peers"], serde_json::json!(["192.0.2.2"]));
    a.assert_no_ping("n1", &addrs[2]);
    b.assert_no_ping("n1", &addrs[2]);
    c.assert_no_ping("n1", &addrs[0]);
    // The filter comes back from state after the ruleset is flushed.
    a.run(&["nft", "flush", "ruleset"]).ok();
    a.cnet(&["firewall", "reload"]).ok();
    c.assert_no_ping("n1", &addrs[0]);
    // a and b still reach each other; c's namespace was left alone.
    a.assert_ping("n1", &addrs[1]);
    b.assert_ping("n1", &addrs[0]);
    assert_eq!(c.links(), links_c);
    assert_eq!(addr_of(c, "n1"), addrs[2]);

    for h in [a, b] {
        h.cnet(&["net", "peer", "add", "ov", &c.addr]).ok();
    }
    a.assert_ping("n1", &addrs[2]);
    c.assert_ping("n1", &addrs[1]);
    let v = a.cnet(&["net", "inspect", "ov"]).json();
    assert_eq!(
        v[0]["vxlan"]["peers"],
        serde_json::json!(["192.0.2.2", "192.0.2.3"])
    );
}

#[test]
fn net_rm_on_one_host_leaves_the_others_working() {
    let (lab, addrs) = overlay_of_three_hosts();
    let (a, b, c) = (lab.host(0), lab.host(1), lab.host(2));
    a.assert_ping("n1", &addrs[2]);

    c.cnet(&["net", "rm", "ov"])
        .usage_error(&["ov", "attached", "--force"]);
    c.cnet(&["net", "rm", "--force", "ov"]).ok();
    let links = c.links();
    assert!(
        !links
            .iter()
            .any(|l| l == "cn-ov" || l == "cnvx5000" || l.starts_with("cnv")),
        "{links:?}"
    );
    assert!(
        !c.rules().iter().any(|r| r.contains("cnet:ov")),
        "{:#?}",
        c.rules()
    );
    assert!(!c.cnet(&["net", "ls", "-q"]).ok().stdout.contains("ov"));
    // Its last overlay gone, the gateway bridge stays (as Docker's docker_gwbridge does) until
    // a prune; then the host has no ingress filter left to pay for.
    c.cnet(&["net", "ls", "-q"])
        .ok()
        .stdout_has("cnet_gwbridge");
    c.cnet(&["net", "prune", "--force"]).ok();
    let tables = c.run(&["nft", "list", "tables"]).ok().stdout.clone();
    assert!(!tables.contains("inet cnet"), "{tables}");

    a.assert_ping("n1", &addrs[1]);
    b.assert_ping("n1", &addrs[0]);
    a.assert_no_ping("n1", &addrs[2]);
}

/// A sandbox with an underlay interface `up0` (192.0.2.1/24, MTU 1500) and a first overlay
/// `ov` (VNI 5000, peer 192.0.2.2).
fn single_host() -> Sandbox {
    let sb = Sandbox::new();
    sb.sh(
        "set -e; ip link add up0 type veth peer name up0-far; ip addr add 192.0.2.1/24 dev up0
         ip link set up0 up; ip link set up0-far up",
    )
    .ok();
    sb.cnet(&[
        "net",
        "create",
        "ov",
        "-d",
        "vxlan",
        "--vni",
        "5000",
        "--subnet",
        SUBNET,
        "--local",
        "192.0.2.1",
        "--peer",
        "192.0.2.2",
    ])
    .ok();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    sb
}

#[test]
fn bad_overlay_input_is_refused_and_changes_nothing() {
    let sb = single_host();
    let mut problems = Vec::new();
    let mut before = sb.snapshot();
    let create = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["net", "create", "x", "-d", "vxlan"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let ok = ["--subnet", "10.40.0.0/24", "--local", "192.0.2.1"];
    let with = |more: &[&str]| {
        let mut v = ok.to_vec();
        v.extend_from_slice(more);
        create(&v)
    };
    let own = |v: Vec<&str>| -> Vec<String> { v.into_iter().map(String::from).collect() };
    let cases: &[(Vec<String>, &[&str])] = &[
        (create(&ok), &["--vni"]),
        (with(&["--vni", "0"]), &["VNI 0", "1-16777215"]),
        (
            with(&["--vni", "16777216"]),
            &["VNI 16777216", "out of range"],
        ),
        (with(&["--vni", "5000"]), &["VNI 5000", "ov"]),
        (
            create(&[
                "--vni",
                "9",
                "--subnet",
                "10.40.0.0/24",
                "--local",
                "192.0.2.99",
            ]),
            &["192.0.2.99", "not an address of this host"],
        ),
        (
            create(&[
                "--vni",
                "9",
                "--subnet",
                "10.40.0.0/24",
                "--underlay",
                "nosuch0",
            ]),
            &["nosuch0", "no such interface"],
        ),
        (
            create(&["--vni", "9", "--subnet", "10.40.0.0/24"]),
            &["--local", "--underlay"],
        ),
        (
            create(&[
                "--vni",
                "9",
                "--subnet",
                "10.40.0.0/24",
                "--local",
                "192.0.2.1",
                "--underlay",
                "lo",
            ]),
            &["192.0.2.1", "up0", "lo"],
        ),
        (
            with(&["--vni", "9", "--gateway", "10.40.0.1"]),
            &["gateway"],
        ),
        (
            create(&["--vni", "9", "--local", "192.0.2.1"]),
            &["--subnet"],
        ),
        (
            with(&["--vni", "9", "--peer", "192.0.2.1"]),
            &["192.0.2.1", "own"],
        ),
        (
            create(&[
                "--vni",
                "9",
                "--subnet",
                "10.40.0.0/24",
                "--underlay",
                "up0",
                "--peer",
                "192.0.2.1",
            ]),
            &["192.0.2.1", "own address"],
        ),
        (
            create(&[
                "--vni",
                "9",
                "--subnet",
                "10.20.0.0/16",
                "--local",
                "192.0.2.1",
            ]),
            &["overlaps", "ov"],
        ),
        (
            own(vec!["net", "peer", "add", "lab", "192.0.2.5"]),
            &["lab", "only vxlan"],
        ),
        (
            own(vec!["net", "peer", "add", "nosuch", "192.0.2.5"]),
            &["nosuch", "does not exist"],
        ),
        (
            own(vec!["net", "peer", "add", "ov", "192.0.2.2"]),
            &["192.0.2.2", "already a peer"],
        ),
        (
            own(vec!["net", "peer", "add", "ov", "192.0.2.1"]),
            &["192.0.2.1", "own"],
        ),
        (
            own(vec!["net", "peer", "rm", "ov", "192.0.2.7"]),
            &["192.0.2.7", "not a peer"],
        ),
    ];
    for (args, needles) in cases {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let cmd = format!("`cnet {}`", args.join(" "));
        if let Some(p) = sb.cnet(&argv).usage_problem(needles) {
            problems.push(p);
        }
        let after = sb.snapshot();
        if let Some(d) = after.diff(&before) {
            problems.push(format!("after {cmd}: {d}"));
        }
        before = after;
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n\n"));
}

/// An overlay on VNI 7000 from `single_host`'s underlay: refused by the kernel while someone
/// else's VXLAN device holds that VNI on port 4789.
const SEVEN: [&str; 13] = [
    "net",
    "create",
    "seven",
    "-d",
    "vxlan",
    "--vni",
    "7000",
    "--subnet",
    "10.70.0.0/24",
    "--local",
    "192.0.2.1",
    "--peer",
    "192.0.2.2",
];

#[test]
fn a_failure_mid_way_rolls_back_and_dry_run_changes_nothing() {
    let sb = single_host();
    // Someone else's VXLAN device already uses VNI 7000 on port 4789: the kernel refuses a
    // second one after the bridge and its rules were made.
    sb.sh("ip link add foreign type vxlan id 7000 dstport 4789 local 192.0.2.1 dev up0")
        .ok();
    let before = sb.snapshot();
    let args = SEVEN;
    let r = sb.cnet(&args);
    r.fails_with(1);
    assert!(r.stderr.contains("VNI 7000"), "{r}");
    sb.snapshot().assert_same(&before, "after a failed create");

    sb.run(&["ip", "link", "del", "foreign"]).ok();
    let before = sb.snapshot();
    let mut dry = vec!["--dry-run"];
    dry.extend_from_slice(&args);
    let r = sb.cnet(&dry);
    r.ok()
        .stdout_has("ip link add cnvx7000 mtu 1450 group 1668179316 type vxlan id 7000 local 192.0.2.1 dev up0 dstport 4789 learning")
        .stdout_has("ip link set cnvx7000 master cn-seven")
        .stdout_has("bridge fdb append 00:00:00:00:00:00 dev cnvx7000 dst 192.0.2.2");
    sb.cnet(&["--dry-run", "net", "peer", "add", "ov", "192.0.2.3"])
        .ok()
        .stdout_has("bridge fdb append 00:00:00:00:00:00 dev cnvx5000 dst 192.0.2.3");
    sb.snapshot().assert_same(&before, "after dry runs");
}

#[test]
fn a_failed_overlay_leaves_no_tunnel_guarded() {
    let sb = single_host();
    sb.cnet(&["net", "rm", "ov"]).ok();
    sb.sh("ip link add foreign type vxlan id 7000 dstport 4789 local 192.0.2.1 dev up0")
        .ok();
    let before = sb.snapshot();
    sb.cnet(&SEVEN).fails_with(1);
    sb.snapshot()
        .assert_same(&before, "after a failed first overlay");
    // The table stays for `lab`; no tunnel is guarded in it any more.
    let guarded = sb.run(&["nft", "list", "set", "inet", "cnet", "guarded"]);
    assert!(!guarded.ok().stdout.contains("elements"), "{guarded}");
}

#[test]
fn an_overlay_is_isolated_and_egress_goes_through_a_local_bridge() {
    // One host: its uplink up0 (203.0.113.1) is also the underlay of a peerless overlay, an
    // internal one (no gateway bridge), so the way out is built by hand here.
    let sb = Sandbox::with_outside();
    sb.cnet(&[
        "net",
        "create",
        "ov",
        "--internal",
        "-d",
        "overlay",
        "--vni",
        "42",
        "--subnet",
        SUBNET,
        "--underlay",
        "up0",
    ])
    .ok();
    sb.cnet(&["net", "create", "egress", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.2.0.0/24"])
        .ok();
    // The docker_gwbridge pattern: on the overlay, and on a local bridge for the way out.
    sb.cnet(&["attach", "ov", "n1"]).ok();
    sb.cnet(&["attach", "egress", "n1"]).ok();
    sb.cnet(&["attach", "ov", "n2"]).ok();
    sb.cnet(&["attach", "lab", "x1"]).ok();
    let v = sb.cnet(&["net", "inspect", "ov"]).json();
    assert_eq!(v[0]["vxlan"]["local"], "203.0.113.1", "{v:#}");
    assert_eq!(v[0]["mtu"], 1450, "{v:#}");
    sb.run(&["ip", "-n", "n1", "route", "show", "default"])
        .ok()
        .stdout_has("default via 10.1.0.1 dev eth1");
    let r = sb.run(&["ip", "-n", "n2", "route", "show", "default"]);
    assert!(r.ok().stdout.trim().is_empty(), "{r}");

    sb.assert_ping("n2", "10.20.0.1");
    sb.assert_ping("n1", OUTSIDE);
    sb.assert_no_ping("n2", OUTSIDE);

    // Even with a route to the overlay on the host, another network cannot get in: the
    // overlay's bridge is an internal network's, never masqueraded.
    let rules = sb.rules();
    for needle in ["nft internal \"cn-ov\"", "nft within \"cn-ov\" . \"cn-ov\""] {
        assert!(rules.iter().any(|r| r == needle), "{needle}\n{rules:#?}");
    }
    assert!(
        !rules
            .iter()
            .any(|r| r.contains("subnets4") && r.contains("cn-ov")),
        "{rules:#?}"
    );
    sb.run(&["ip", "route", "add", SUBNET, "dev", "cn-ov"]).ok();
    sb.assert_no_ping("x1", "10.20.0.1");
}
