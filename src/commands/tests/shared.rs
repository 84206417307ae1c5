//! What an attach does when a shared store's claim is lost to another host (a NAK).

use super::*;
use crate::store::memory::RIVAL;

#[test]
fn an_attach_whose_offer_another_host_took_discovers_again() {
    let store = MemStore::holding(with_lab());
    store.lose_claims.set(2);
    let host = SharedHost::new(built_host());
    cnet(&store, &host, false, &["attach", "lab", NS1]).unwrap();
    let s = store.snapshot();
    let held: Vec<(String, String)> = s
        .leases
        .values()
        .map(|l| (l.address.to_string(), l.client.clone()))
        .collect();
    assert_eq!(
        held,
        [
            ("10.1.0.2".to_string(), RIVAL.to_string()),
            ("10.1.0.3".to_string(), RIVAL.to_string()),
            ("10.1.0.4".to_string(), NS1.to_string()),
        ]
    );
    let ep = store.endpoint("lab", NS1).unwrap().expect("an endpoint");
    assert_eq!(ep.address.unwrap().to_string(), "10.1.0.4/24");
    // The lost rounds left nothing on the host: one namespace, one veth.
    let log = host.0.borrow().log.join("\n");
    assert_eq!(log.matches("ip netns add").count(), 1, "{log}");
}

#[test]
fn an_attach_gives_up_after_too_many_naks_and_leaves_nothing() {
    let store = MemStore::holding(with_lab());
    store.lose_claims.set(usize::MAX);
    let host = SharedHost::new(built_host());
    let e = cnet(&store, &host, false, &["attach", "lab", NS1]).unwrap_err();
    assert_eq!(e.exit_code(), 1);
    assert!(e.to_string().contains("claimed by another host"), "{e}");
    assert!(store.endpoint("lab", NS1).unwrap().is_none());
    assert!(store.namespace(NS1).unwrap().is_none());
    assert!(store.snapshot().leases.values().all(|l| l.client == RIVAL));
}

/// A shared overlay this host joined when host 192.0.2.2 was its only other member.
fn joined_overlay() -> (MemStore, Network) {
    let net = Network {
        name: "ov".into(),
        id: "0123456789ab".into(),
        driver: Driver::Vxlan,
        subnet: Some("10.0.0.0/24".parse().unwrap()),
        internal: true,
        mtu: Some(1450),
        bridge: Some("cn-ov".into()),
        parent: Some("eth1".into()),
        vni: Some(4096),
        local: Some("192.0.2.1".parse().unwrap()),
        peers: vec!["192.0.2.2".parse().unwrap()],
        dstport: Some(4789),
        shared: true,
        ..Default::default()
    };
    let store = MemStore::default();
    store.put_network(&net).unwrap();
    let member = |host: &str, addr: &str| crate::model::Member {
        host: host.into(),
        underlay: addr.parse().unwrap(),
        vtep_mac: None,
        since: 1,
    };
    *store.shared.borrow_mut() = Some(crate::store::memory::SharedView {
        host: "aaaaaaaaaaaa".into(),
        definitions: [("ov".to_string(), net.shared_form())].into(),
        // Host .3 joined since; this host is a member too.
        members: [(
            "ov".to_string(),
            vec![
                member("aaaaaaaaaaaa", "192.0.2.1"),
                member("bbbbbbbbbbbb", "192.0.2.2"),
                member("cccccccccccc", "192.0.2.3"),
            ],
        )]
        .into(),
    });
    (store, net)
}

#[test]
fn an_attach_to_a_shared_overlay_first_programs_the_hosts_that_joined_since() {
    let (store, _) = joined_overlay();
    let host = SharedHost::new(built_host());
    cnet(&store, &host, false, &["attach", "ov", NS1]).unwrap();
    let log = host.0.borrow().log.join("\n");
    assert!(
        log.contains("bridge fdb append 00:00:00:00:00:00 dev cnvx4096 dst 192.0.2.3"),
        "{log}"
    );
    assert!(!log.contains("dst 192.0.2.2"), "{log}");
    assert!(!log.contains("dst 192.0.2.1"), "{log}");
    let peers = store.network("ov").unwrap().unwrap().peers;
    assert_eq!(peers.len(), 2, "{peers:?}");
    // The next attach has nothing more to program.
    let before = host.0.borrow().log.len();
    cnet(&store, &host, false, &["attach", "ov", NS2]).unwrap();
    let log = host.0.borrow().log[before..].join("\n");
    assert!(!log.contains("bridge fdb append"), "{log}");
}
