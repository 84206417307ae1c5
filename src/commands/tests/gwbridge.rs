//! Overlays' way out: the gateway bridge (`cnet_gwbridge`), its legs and the ports published
//! through it.

use super::*;
use crate::commands::gwbridge::NAME;

/// Two overlays that are not internal, and an internal one.
fn with_overlays() -> Contents {
    let open = |name: &str, vni: u32, subnet: &str| Network {
        name: name.into(),
        internal: false,
        bridge: Some(format!("cn-{name}")),
        vni: Some(vni),
        subnet: Some(subnet.parse().unwrap()),
        ..overlay()
    };
    with_networks(&[
        open("ov", 5000, "10.20.0.0/24"),
        open("ov2", 5001, "10.21.0.0/24"),
        overlay_named("vault", 5002, "10.22.0.0/24"),
    ])
}

fn overlay_named(name: &str, vni: u32, subnet: &str) -> Network {
    Network {
        name: name.into(),
        bridge: Some(format!("cn-{name}")),
        vni: Some(vni),
        subnet: Some(subnet.parse().unwrap()),
        ..overlay()
    }
}

fn endpoint(store: &MemStore, network: &str, ns: &str) -> Option<crate::model::Endpoint> {
    store.endpoint(network, ns).unwrap()
}

#[test]
fn an_overlay_attach_makes_the_gateway_bridge_and_a_leg_that_carries_route_and_ports() {
    let store = MemStore::holding(with_overlays());
    let host = SharedHost::new(built_host());
    cnet(
        &store,
        &host,
        false,
        &["attach", "ov", NS1, "-p", "8081:80"],
    )
    .unwrap();
    let gw = store.network(NAME).unwrap().expect("the gateway bridge");
    assert_eq!(gw.driver, Driver::Bridge);
    assert!(gw.isolated_ports && !gw.internal && !gw.shared);
    let leg = endpoint(&store, NAME, NS1).expect("a leg");
    let on_overlay = endpoint(&store, "ov", NS1).unwrap();
    assert_eq!(
        (on_overlay.ifname.as_str(), leg.ifname.as_str()),
        ("eth0", "eth1")
    );
    assert!(leg.default_route && !on_overlay.default_route);
    let to = leg.address.unwrap().ip();
    assert_eq!(on_overlay.publish_to, Some(to));
    let log = host.0.borrow().log.join("\n");
    for needle in [
        format!("ip link add {NAME} mtu"),
        "type bridge_slave isolated on".to_string(),
        format!("published {{ tcp . 8081 : {to} . 80 }}"),
        format!("route add default via {}", gw.gateway.unwrap()),
    ] {
        assert!(log.contains(&needle), "no {needle} in\n{log}");
    }
    assert_eq!(log.matches("link set lo up").count(), 1, "{log}");
    // A second overlay's namespace joins the same gateway bridge; a namespace on both
    // overlays keeps its one leg.
    cnet(&store, &host, false, &["attach", "ov2", NS2]).unwrap();
    cnet(&store, &host, false, &["attach", "ov2", NS1]).unwrap();
    let s = store.snapshot();
    assert_eq!(s.networks.keys().filter(|n| *n == NAME).count(), 1);
    assert_eq!(
        s.endpoints.keys().filter(|(n, _)| n == NAME).count(),
        2,
        "{:?}",
        s.endpoints.keys()
    );
}

#[test]
fn an_overlay_attach_with_a_port_fails_whole_at_any_step_gateway_bridge_included() {
    each_failure_leaves_nothing(
        &with_overlays(),
        built_host,
        &["attach", "ov", NS1, "-p", "8081:80"],
    );
}

#[test]
fn an_internal_overlay_gets_no_leg_and_publishes_nothing() {
    let store = MemStore::holding(with_overlays());
    let host = SharedHost::new(built_host());
    let before = store.snapshot();
    let e = cnet(
        &store,
        &host,
        false,
        &["attach", "vault", NS1, "-p", "8081:80"],
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("internal"), "{e}");
    assert_eq!(store.snapshot(), before);
    cnet(&store, &host, false, &["attach", "vault", NS1]).unwrap();
    assert!(store.network(NAME).unwrap().is_none());
    assert!(endpoint(&store, NAME, NS1).is_none());
}

#[test]
fn the_gateway_bridge_is_not_attached_detached_or_created_by_hand() {
    let store = MemStore::holding(with_overlays());
    let host = SharedHost::new(built_host());
    cnet(&store, &host, false, &["attach", "ov", NS1]).unwrap();
    let before = store.snapshot();
    for args in [
        vec!["attach", NAME, NS2],
        vec!["detach", NAME, NS1],
        vec!["net", "create", NAME],
        vec!["net", "rm", NAME],
    ] {
        let e = cnet(&store, &host, false, &args).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
        assert!(e.to_string().contains(NAME), "{e}");
        assert_eq!(store.snapshot(), before, "{args:?}");
    }
}

#[test]
fn a_detach_takes_the_leg_and_its_ports_unless_another_overlay_needs_the_leg() {
    let store = MemStore::holding(with_overlays());
    let host = SharedHost::new(built_host());
    cnet(
        &store,
        &host,
        false,
        &["attach", "ov", NS1, "-p", "8081:80"],
    )
    .unwrap();
    cnet(&store, &host, false, &["attach", "ov2", NS1]).unwrap();
    let leg = endpoint(&store, NAME, NS1).unwrap();
    let to = leg.address.unwrap().ip();
    cnet(&store, &host, false, &["detach", "ov", NS1]).unwrap();
    let log = host.0.borrow().log.join("\n");
    assert!(
        log.contains(&format!(
            "delete element inet cnet published {{ tcp . 8081 : {to} . 80 }}"
        )),
        "{log}"
    );
    assert!(store.snapshot().ports.is_empty());
    assert!(endpoint(&store, NAME, NS1).is_some(), "ov2 still needs it");
    cnet(&store, &host, false, &["detach", "ov2", NS1]).unwrap();
    let s = store.snapshot();
    assert!(s.endpoints.is_empty(), "{:?}", s.endpoints.keys());
    let log = host.0.borrow().log.join("\n");
    let retired = format!("ip link del {}", leg.host_ifname.unwrap());
    assert!(log.contains(&retired), "{log}");
    // The gateway bridge stays (as Docker's does) until a prune.
    assert!(s.networks.contains_key(NAME));
    cnet(&store, &host, false, &["net", "prune", "--force"]).unwrap();
    assert!(!store.snapshot().networks.contains_key(NAME));
}
