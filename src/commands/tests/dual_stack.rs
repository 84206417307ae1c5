//! Dual-stack networks (`--ipv6`) run whole: one exchange leasing both families, a default
//! route per family, and failures at any step leaving nothing.

use super::*;
use crate::model::family::Family;

/// `lab` (IPv4 only) and `dual` (10.8.0.0/24 and fd00:8::/64) in the store.
fn with_dual() -> Contents {
    with_networks(&[
        lab(),
        Network {
            name: "dual".into(),
            id: "0123456789ad".into(),
            subnet: Some("10.8.0.0/24".parse().unwrap()),
            gateway: Some("10.8.0.1".parse().unwrap()),
            subnet6: Some("fd00:8::/64".parse().unwrap()),
            gateway6: Some("fd00:8::1".parse().unwrap()),
            bridge: Some("cn-dual".into()),
            bridge_mac: Some("02:00:00:00:01:08".into()),
            ..lab()
        },
    ])
}

fn carriers(store: &MemStore, family: Family) -> Vec<String> {
    store
        .snapshot()
        .endpoints
        .values()
        .filter(|e| crate::drivers::gateway::carries(e, family))
        .map(|e| e.network.clone())
        .collect()
}

#[test]
fn one_attach_leases_both_families_and_a_detach_releases_both() {
    let store = MemStore::holding(with_dual());
    let host = SharedHost::new(built_host());
    cnet(&store, &host, false, &["attach", "dual", NS1]).unwrap();
    let s = store.snapshot();
    let bound: Vec<String> = s
        .leases
        .values()
        .filter(|l| l.state == LeaseState::Bound)
        .map(|l| l.address.to_string())
        .collect();
    assert_eq!(bound, ["10.8.0.2", "fd00:8::2"]);
    let ep = s.endpoints.values().next().unwrap();
    assert_eq!(ep.address6, Some("fd00:8::2/64".parse().unwrap()));
    let log = host.0.borrow().log.join("\n");
    for line in [
        format!("ip netns exec {NS1} sysctl -w net.ipv6.conf.eth0.accept_ra=0"),
        format!("ip -n {NS1} -6 addr add fd00:8::2/64 dev eth0 nodad"),
        format!("ip -n {NS1} -6 route add default via fd00:8::1"),
    ] {
        assert!(log.contains(&line), "{line}\n{log}");
    }
    cnet(&store, &host, false, &["detach", "dual", NS1]).unwrap();
    let s = store.snapshot();
    assert!(
        s.leases.values().all(|l| l.state == LeaseState::Released),
        "{:#?}",
        s.leases
    );
    // Back, the namespace gets both addresses again (sticky per family).
    cnet(&store, &host, false, &["attach", "dual", NS1]).unwrap();
    let ep = store.snapshot().endpoints.into_values().next().unwrap();
    assert_eq!(
        ep.addresses().map(|a| a.to_string()).collect::<Vec<_>>(),
        ["10.8.0.2/24", "fd00:8::2/64"]
    );
}

#[test]
fn each_family_goes_to_the_highest_network_that_carries_it() {
    let store = MemStore::holding(with_dual());
    let host = SharedHost::new(built_host());
    cnet(
        &store,
        &host,
        false,
        &["attach", "lab", NS1, "--gw-priority", "5"],
    )
    .unwrap();
    cnet(&store, &host, false, &["attach", "dual", NS1]).unwrap();
    // IPv4 stays with the higher lab; IPv6, which lab cannot carry, goes to dual.
    assert_eq!(carriers(&store, Family::V4), ["lab"]);
    assert_eq!(carriers(&store, Family::V6), ["dual"]);
    cnet(&store, &host, false, &["detach", "dual", NS1]).unwrap();
    assert_eq!(carriers(&store, Family::V4), ["lab"]);
    assert!(carriers(&store, Family::V6).is_empty());
    // Now with a higher priority: dual takes both routes from lab in one attach.
    cnet(
        &store,
        &host,
        false,
        &["attach", "dual", NS1, "--gw-priority", "9"],
    )
    .unwrap();
    assert_eq!(carriers(&store, Family::V4), ["dual"]);
    assert_eq!(carriers(&store, Family::V6), ["dual"]);
    // And gives IPv4 back to lab when it leaves.
    cnet(&store, &host, false, &["detach", "dual", NS1]).unwrap();
    assert_eq!(carriers(&store, Family::V4), ["lab"]);
    let log = host.0.borrow().log.join("\n");
    assert!(
        log.ends_with(&format!("ip -n {NS1} route add default via 10.1.0.1"))
            || log.contains(&format!("ip -n {NS1} route add default via 10.1.0.1\n")),
        "{log}"
    );
}

#[test]
fn a_dual_stack_attach_failing_at_any_step_leaves_store_and_host_as_they_were() {
    each_failure_leaves_nothing(&with_dual(), built_host, &["attach", "dual", NS1]);
    each_failure_leaves_nothing(
        &with_dual(),
        built_host,
        &["attach", "dual", NS1, "--ip6", "fd00:8::99"],
    );
}

#[test]
fn a_dual_stack_create_failing_at_any_step_leaves_nothing_not_even_the_host_prefix() {
    each_failure_leaves_nothing(
        &Contents::default(),
        FakeHost::default,
        &["net", "create", "d2", "--subnet", "10.9.0.0/24", "--ipv6"],
    );
    // Created, the network holds a /64 of the host prefix it recorded.
    let store = MemStore::default();
    let host = SharedHost::new(FakeHost::default());
    cnet(&store, &host, false, &["net", "create", "d2", "--ipv6"]).unwrap();
    let s = store.snapshot();
    let ula = s.ula.expect("a host prefix");
    let subnet6 = s.networks["d2"].subnet6.expect("a v6 subnet");
    assert_eq!((ula.prefix(), subnet6.prefix()), (48, 64));
    assert!(ula.contains(subnet6.network()), "{ula} {subnet6}");
}

#[test]
fn ip6_on_an_ipv4_only_network_is_refused_before_anything() {
    let store = MemStore::holding(with_dual());
    let host = SharedHost::new(built_host());
    let e = cnet(
        &store,
        &host,
        false,
        &["attach", "lab", NS1, "--ip6", "fd00:8::5"],
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert_eq!(
        e.to_string(),
        "--ip6 fd00:8::5: network lab is IPv4-only (created without --ipv6)"
    );
    assert_eq!(store.snapshot(), with_dual());
    assert_eq!(host.0.borrow().asked, 0);
}
