//! The executor against the fake host and the in-memory store.

use super::*;
use crate::firewall::rule::{Rule, Table, Target};
use crate::model::{Lease, LeaseState};
use crate::plan::NsRef;
use crate::store::MemStore;
use crate::testing::FakeHost;

fn run(plan: &Plan, host: &mut FakeHost, store: &MemStore) -> Result<()> {
    apply(plan, &mut Effects { host, store })
}

fn rule(comment: &str) -> Rule {
    Rule {
        family: crate::model::family::Family::V4,
        table: Table::Filter,
        chain: "CNET-FORWARD".into(),
        matches: vec![],
        target: Target::Accept,
        comment: comment.into(),
    }
}

fn lease(addr: &str) -> Lease {
    Lease {
        network: "lab".into(),
        address: addr.parse().unwrap(),
        client: "ns1".into(),
        state: LeaseState::Offered,
        since: 1,
        expires: Some(31),
        boot_id: "b".into(),
    }
}

#[test]
fn failure_undoes_applied_ops_in_reverse_state_included_and_keeps_the_first_error() {
    let plan = Plan {
        ops: vec![
            Op::CreateBase {
                family: crate::model::family::Family::V4,
                input: "*filter\n:CNET-USER - [0:0]\nCOMMIT\n".into(),
            },
            Op::Record(Record::PutLease {
                lease: lease("10.1.0.2"),
                previous: None,
            }),
            Op::AppendRule(rule("a")),
            Op::AppendRule(rule("b")),
            Op::AppendRule(rule("c")),
            Op::AppendRule(rule("d")),
        ],
    };
    let store = MemStore::default();
    let mut host = FakeHost::failing_at(3);
    let e = run(&plan, &mut host, &store).unwrap_err();
    let e = e.to_string();
    assert!(e.starts_with("injected failure at step 3: iptables"), "{e}");
    assert!(e.ends_with("--comment c -j ACCEPT"), "{e}");
    assert_eq!(host.live, vec![], "left behind on the host: {:?}", host.log);
    assert_eq!(store.snapshot(), MemStore::default().snapshot());
    let undone: Vec<&str> = host.log[3..].iter().map(String::as_str).collect();
    assert_eq!(undone.len(), 3, "{:?}", host.log);
    assert!(
        undone[0].contains("-D CNET-FORWARD -m comment --comment b"),
        "{undone:?}"
    );
    assert!(undone[1].contains("--comment a"), "{undone:?}");
    assert!(undone[2].starts_with("# cnet's base chains"), "{undone:?}");
}

#[test]
fn a_claim_of_a_held_address_fails_and_a_stale_replacement_is_a_nak() {
    let store = MemStore::default();
    store.put_lease(&lease("10.1.0.2"), true).unwrap();
    let claim = Plan {
        ops: vec![Op::Record(Record::PutLease {
            lease: lease("10.1.0.2"),
            previous: None,
        })],
    };
    let e = run(&claim, &mut FakeHost::default(), &store).unwrap_err();
    assert!(e.to_string().contains("claimed by another process"), "{e}");
    let stale = Plan {
        ops: vec![Op::Record(Record::PutLease {
            lease: Lease {
                state: LeaseState::Bound,
                ..lease("10.1.0.2")
            },
            previous: Some(Lease {
                client: "ns9".into(),
                ..lease("10.1.0.2")
            }),
        })],
    };
    let e = run(&stale, &mut FakeHost::default(), &store).unwrap_err();
    assert!(e.to_string().starts_with("NAK"), "{e}");
    assert_eq!(
        store.lease("lab", "10.1.0.2".parse().unwrap()).unwrap(),
        Some(lease("10.1.0.2"))
    );
}

#[test]
fn removal_in_a_missing_namespace_counts_as_done() {
    let plan = Plan {
        ops: vec![
            Op::DeleteLink {
                ns: NsRef::Path("/nonexistent/netns/x".into()),
                dev: "eth0".into(),
            },
            Op::DelRoute {
                ns: NsRef::Named("cnet-test-does-not-exist".into()),
                dest: None,
                via: Some("10.9.0.1".parse().unwrap()),
                dev: None,
            },
            Op::RemoveBase,
        ],
    };
    let mut host = FakeHost::default();
    let store = MemStore::default();
    apply_teardown(
        &plan,
        &mut Effects {
            host: &mut host,
            store: &store,
        },
    )
    .unwrap();
    assert_eq!(host.log.len(), 1, "{:?}", host.log);
}

#[test]
fn a_failed_teardown_removes_what_it_can_and_records_nothing() {
    let store = MemStore::default();
    store.put_lease(&lease("10.1.0.2"), true).unwrap();
    let plan = Plan {
        ops: vec![
            Op::DeleteLink {
                ns: NsRef::Host,
                dev: "cnv1".into(),
            },
            Op::DeleteRule(rule("a")),
            Op::Record(Record::DropLease {
                lease: lease("10.1.0.2"),
            }),
        ],
    };
    let mut host = FakeHost::failing_at(0);
    let e = apply_teardown(
        &plan,
        &mut Effects {
            host: &mut host,
            store: &store,
        },
    );
    assert!(e.is_err());
    assert_eq!(
        host.log.len(),
        1,
        "the rule is still deleted: {:?}",
        host.log
    );
    assert!(
        store
            .lease("lab", "10.1.0.2".parse().unwrap())
            .unwrap()
            .is_some()
    );
}

fn interrupted_intent(plan: Plan) -> Intent {
    Intent {
        pid: u32::MAX,
        start: 1,
        boot_id: "an earlier boot".into(),
        teardown: false,
        plan,
    }
}

#[test]
fn an_interrupted_plan_is_undone_and_its_intent_dropped() {
    let store = MemStore::default();
    let mut host = FakeHost::default();
    let plan = Plan {
        ops: vec![
            Op::AppendRule(rule("a")),
            Op::Record(Record::PutLease {
                lease: lease("10.1.0.2"),
                previous: None,
            }),
            Op::AppendRule(rule("b")),
        ],
    };
    // Killed after its second step.
    host.exec(&plan.ops[0]).unwrap();
    store.put_lease(&lease("10.1.0.2"), true).unwrap();
    store.put_intent(&interrupted_intent(plan)).unwrap();
    let done = recover(&mut Effects {
        host: &mut host,
        store: &store,
    })
    .unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(host.live, vec![], "{:?}", host.log);
    assert_eq!(store.snapshot(), MemStore::default().snapshot());
}

#[test]
fn recovery_leaves_a_record_the_plan_did_not_write() {
    let store = MemStore::default();
    let theirs = Lease {
        client: "ns9".into(),
        ..lease("10.1.0.2")
    };
    store.put_lease(&theirs, true).unwrap();
    let plan = Plan {
        ops: vec![Op::Record(Record::PutLease {
            lease: lease("10.1.0.2"),
            previous: None,
        })],
    };
    let intent = interrupted_intent(plan);
    assert!(recovery_plan(&intent, &store).unwrap().is_empty());
    store.put_intent(&intent).unwrap();
    let mut host = FakeHost::default();
    recover(&mut Effects {
        host: &mut host,
        store: &store,
    })
    .unwrap();
    assert_eq!(
        store.lease("lab", "10.1.0.2".parse().unwrap()).unwrap(),
        Some(theirs)
    );
    assert!(store.intents().unwrap().is_empty());
}

#[test]
fn an_interrupted_teardown_is_completed() {
    let store = MemStore::default();
    store.put_lease(&lease("10.1.0.2"), true).unwrap();
    let plan = Plan {
        ops: vec![
            Op::DeleteRule(rule("a")),
            Op::Record(Record::DropLease {
                lease: lease("10.1.0.2"),
            }),
        ],
    };
    let intent = Intent {
        teardown: true,
        ..interrupted_intent(plan)
    };
    store.put_intent(&intent).unwrap();
    let mut host = FakeHost::default();
    recover(&mut Effects {
        host: &mut host,
        store: &store,
    })
    .unwrap();
    assert!(host.log[0].contains("-D CNET-FORWARD"), "{:?}", host.log);
    assert_eq!(store.snapshot(), MemStore::default().snapshot());
}
