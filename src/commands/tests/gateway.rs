//! The default route among a namespace's networks (`--gw-priority`, `--no-default-route`).

use super::*;

/// `lab` and a second network, `lab2`, in the store.
pub(super) fn with_two_networks() -> Contents {
    with_networks(&[
        lab(),
        Network {
            name: "lab2".into(),
            id: "0123456789ac".into(),
            subnet: Some("10.7.0.0/24".parse().unwrap()),
            gateway: Some("10.7.0.1".parse().unwrap()),
            bridge: Some("cn-lab2".into()),
            bridge_mac: Some("02:00:00:00:01:02".into()),
            ..lab()
        },
    ])
}

fn carrier(store: &MemStore) -> Vec<String> {
    store
        .snapshot()
        .endpoints
        .values()
        .filter(|e| e.default_route)
        .map(|e| e.network.clone())
        .collect()
}

#[test]
fn a_higher_gateway_priority_takes_the_default_route_and_gives_it_back_on_detach() {
    let store = MemStore::holding(with_two_networks());
    let host = SharedHost::new(built_host());
    cnet(&store, &host, false, &["attach", "lab", NS1]).unwrap();
    assert_eq!(carrier(&store), ["lab"]);
    cnet(&store, &host, false, &["attach", "lab2", NS1]).unwrap();
    assert_eq!(
        carrier(&store),
        ["lab"],
        "a tie stays with the earliest attach"
    );
    cnet(&store, &host, false, &["detach", "lab2", NS1]).unwrap();

    cnet(
        &store,
        &host,
        false,
        &["attach", "lab2", NS1, "--gw-priority", "5"],
    )
    .unwrap();
    assert_eq!(carrier(&store), ["lab2"]);
    let log = host.0.borrow().log.join("\n");
    let del = log
        .find(&format!("ip -n {NS1} route del default via 10.1.0.1"))
        .expect(&log);
    let add = log
        .find(&format!("ip -n {NS1} route add default via 10.7.0.1"))
        .expect(&log);
    assert!(del < add, "{log}");

    cnet(&store, &host, false, &["detach", "lab2", NS1]).unwrap();
    assert_eq!(carrier(&store), ["lab"]);
    let log = host.0.borrow().log.join("\n");
    assert!(
        log.ends_with(&format!("ip -n {NS1} route add default via 10.1.0.1"))
            || log.contains(&format!("ip -n {NS1} route add default via 10.1.0.1\n")),
        "{log}"
    );
}

#[test]
fn no_default_route_leaves_the_namespace_without_one() {
    let store = MemStore::holding(with_lab());
    let host = SharedHost::new(built_host());
    cnet(
        &store,
        &host,
        false,
        &["attach", "lab", NS1, "--no-default-route"],
    )
    .unwrap();
    assert!(carrier(&store).is_empty());
    assert!(!host.0.borrow().log.join("\n").contains("route add default"));
}

#[test]
fn a_takeover_failing_at_any_step_leaves_the_route_where_it_was() {
    let store = MemStore::holding(with_two_networks());
    let host = SharedHost::new(built_host());
    cnet(&store, &host, false, &["attach", "lab", NS1]).unwrap();
    let attached = store.snapshot();
    let files = host.0.borrow().files.clone();
    let netns = host.0.borrow().netns.clone();
    let (steps, _) = count_steps(
        &attached,
        FakeHost {
            files: files.clone(),
            netns: netns.clone(),
            ..built_host()
        },
        &["attach", "lab2", NS1, "--gw-priority", "1"],
    );
    for i in 0..steps {
        let store = MemStore::holding(attached.clone());
        let fake = SharedHost::new(FakeHost {
            files: files.clone(),
            netns: netns.clone(),
            fail_at: Some(i),
            ..built_host()
        });
        let args = ["attach", "lab2", NS1, "--gw-priority", "1"];
        assert!(cnet(&store, &fake, false, &args).is_err(), "failure {i}");
        assert_eq!(carrier(&store), ["lab"], "failure {i}");
        let fake = fake.0.borrow();
        // What the rollback put back: the old default route is live again, nothing else.
        let live: Vec<String> = fake.live.iter().map(|o| o.to_string()).collect();
        assert!(
            live.iter()
                .all(|l| l.contains("route add default via 10.1.0.1")),
            "failure {i}: {live:?}"
        );
    }
}
