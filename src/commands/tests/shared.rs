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
