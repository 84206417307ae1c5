//! macvlan networks on a "LAN" (see tests/sublink/mod.rs): namespaces on the segment, modes,
//! the host shim, static addresses and MACs, a parent that goes away, rollback, bad input.

mod common;
mod sublink;

use common::leases;
use sublink::{Kind, LANPC, assert_lanpc_pings, assert_no_ping, create, host_ping, lan};

#[test]
fn namespaces_reach_each_other_and_the_lan() {
    sublink::namespaces_reach_each_other_and_the_lan(Kind::Macvlan);
}

#[test]
fn static_ip_mac_and_detach() {
    sublink::static_ip_mac_and_detach(Kind::Macvlan);
}

#[test]
fn name_clash_in_the_parent_namespace_does_not_matter() {
    sublink::name_clash_in_the_parent_namespace_does_not_matter(Kind::Macvlan);
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    sublink::bad_input_is_refused_and_changes_nothing(Kind::Macvlan);
}

#[test]
fn namespaces_reach_each_other_and_the_lan_over_ipv6() {
    sublink::dual_stack::namespaces_reach_each_other_and_the_lan_over_ipv6(Kind::Macvlan);
}

#[test]
fn a_parent_that_disappears() {
    sublink::a_parent_that_disappears(Kind::Macvlan);
}

#[test]
fn a_failed_attach_rolls_back() {
    sublink::a_failed_attach_rolls_back(Kind::Macvlan);
}

#[test]
fn internal_network_and_dry_run() {
    sublink::internal_network_and_dry_run(Kind::Macvlan);
}

#[test]
fn private_mode_keeps_namespaces_apart_but_not_from_the_lan() {
    let sb = lan();
    create(&sb, Kind::Macvlan, "lan", &["--mode", "private"]);
    sb.cnet(&["attach", "lan", "ns1"]).ok();
    sb.cnet(&["attach", "lan", "ns2"]).ok();
    assert!(sublink::link_details(&sb, "ns1", "eth0").contains("macvlan mode private"));
    assert_no_ping(&sb, "ns1", "192.168.50.129");
    assert_no_ping(&sb, "ns2", "ns1");
    sb.assert_ping("ns1", LANPC);
    sb.assert_ping("ns2", LANPC);
    assert_lanpc_pings(&sb, "192.168.50.128");
    let v = sb.cnet(&["net", "inspect", "lan"]).json();
    assert_eq!(v[0]["options"]["macvlan_mode"], "private", "{v:#}");
    assert!(v[0]["notes"].to_string().contains("private mode"), "{v:#}");
}

#[test]
fn host_shim_lets_the_host_reach_the_namespaces() {
    let sb = lan();
    // Docker's spellings.
    sb.cnet(&[
        "net",
        "create",
        "lan",
        "-d",
        "macvlan",
        "--subnet",
        "192.168.50.0/24",
        "--ip-range",
        "192.168.50.128/25",
        "-o",
        "parent=lan0",
        "-o",
        "macvlan_mode=bridge",
        "-o",
        "host_shim=true",
    ])
    .ok();
    let shim = "cns-lan";
    assert_eq!(sb.links(), ["cns-lan", "lan0", "lo"]);
    let d = sb
        .run(&["ip", "-d", "addr", "show", shim])
        .ok()
        .stdout
        .clone();
    assert!(d.contains("macvlan mode bridge"), "{d}");
    assert!(d.contains("inet 192.168.50.254/32"), "{d}");
    sb.run(&["ip", "route", "show", "192.168.50.128/25"])
        .ok()
        .stdout_has(&format!("dev {shim}"));
    assert_eq!(
        leases(&sb, "lan"),
        [(
            "192.168.50.254".into(),
            format!("host-shim:{shim}"),
            "bound".into()
        )]
    );
    // Not a stale lease: no note.
    let v = sb.cnet(&["lease", "ls", "lan", "--format", "json"]).json();
    assert!(v[0].get("note").is_none_or(|n| n.is_null()), "{v:#}");

    sb.cnet(&["attach", "lan", "ns1"])
        .ok()
        .stdout_has("192.168.50.128/24");
    assert!(
        host_ping(&sb, "192.168.50.128"),
        "the host cannot reach ns1 through the shim"
    );
    sb.assert_ping("ns1", "192.168.50.254");
    sb.assert_ping("ns1", LANPC);
    // The shim's address is never handed out.
    sb.cnet(&["attach", "lan", "ns2", "--ip", "192.168.50.254"])
        .usage_error(&["192.168.50.254", "host-shim:cns-lan"]);
    let v = sb.cnet(&["net", "inspect", "lan"]).json();
    assert!(
        v[0]["notes"]
            .to_string()
            .contains("through its shim cns-lan"),
        "{v:#}"
    );

    sb.cnet(&["net", "rm", "--force", "lan"]).ok();
    assert_eq!(sb.links(), ["lan0", "lo"]);
    let routes = sb.run(&["ip", "route"]).ok().stdout.clone();
    assert!(!routes.contains("192.168.50.128/25"), "{routes}");
    assert_eq!(sb.links_in("ns1"), ["lo"]);
    assert!(!host_ping(&sb, "192.168.50.128"));
}
