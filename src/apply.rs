//! The one executor: runs a plan's steps in order — kernel requests, firewall changes, file
//! writes and state records alike — and on the first failure undoes every step already done,
//! in reverse. No command changes the host beside it.

use crate::error::{Error, Result};
use crate::host::Host;
use crate::plan::{Op, Plan, Record};
use crate::store::Store;

/// What a plan acts on: the host (kernel, firewall, files) and the store.
pub struct Effects<'a> {
    pub host: &'a mut dyn Host,
    pub store: &'a dyn Store,
}

/// A plan that failed: the error of the op that failed, and the errors met while undoing the
/// ops applied before it (empty when the rollback was complete).
#[derive(Debug)]
pub struct ApplyFailure {
    pub error: Error,
    pub rollback_errors: Vec<Error>,
}

/// Carry out one step: state records in the store, the rest on the host.
fn exec_op(fx: &mut Effects, op: &Op) -> Result<()> {
    match op {
        Op::Record(r) => record(fx.store, r),
        _ => fx.host.exec(op),
    }
}

/// Execute a removal op: whatever it removes being already gone counts as success, including
/// when the namespace it lived in is gone.
fn exec_removal(fx: &mut Effects, op: &Op) -> Result<()> {
    if let Some(ns) = op.inside()
        && !fx.host.netns_exists(ns)
    {
        return Ok(());
    }
    exec_op(fx, op)
}

/// Apply a plan in order. On the first failure, apply the undo of each op already applied, in
/// reverse order, and return the original error with the errors of the rollback (if any).
pub fn apply_detailed(plan: &Plan, fx: &mut Effects) -> std::result::Result<(), ApplyFailure> {
    // What went in, in order: what a rollback undoes.
    let mut applied: Vec<&Op> = Vec::with_capacity(plan.ops.len());
    let mut i = 0;
    while i < plan.ops.len() {
        let op = &plan.ops[i];
        // A run of requests inside one namespace goes as one pipelined batch.
        let run = match op.pipelined_in() {
            Some(ns) => plan.ops[i..]
                .iter()
                .take_while(|o| o.pipelined_in() == Some(ns))
                .count(),
            None => 1,
        };
        let batch = &plan.ops[i..i + run];
        let mut first_error = None;
        if run > 1 {
            let ns = op.pipelined_in().expect("a run starts with a pipelined op");
            let results =
                crate::timing::time(|| describe_batch(batch), || fx.host.exec_batch(ns, batch));
            for (o, r) in batch.iter().zip(results) {
                match r {
                    Ok(()) => applied.push(o),
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
        } else {
            match crate::timing::time(|| op.to_string(), || exec_op(fx, op)) {
                Ok(()) => applied.push(op),
                Err(e) => first_error = Some(e),
            }
        }
        if let Some(error) = first_error {
            let mut rollback_errors = Vec::new();
            for done in applied.iter().rev() {
                if let Some(undo) = done.undo()
                    && let Err(e) = exec_removal(fx, &undo)
                {
                    rollback_errors.push(e);
                }
            }
            return Err(ApplyFailure {
                error,
                rollback_errors,
            });
        }
        i += run;
    }
    Ok(())
}

fn describe_batch(ops: &[Op]) -> String {
    let lines: Vec<String> = ops.iter().map(|o| o.to_string()).collect();
    format!("(pipelined) {}", lines.join("; "))
}

/// Apply a plan in order. On the first failure, apply the undo (`Op::undo`) of each op already
/// applied, in reverse order, ignoring errors during rollback (see [`apply_detailed`] to get
/// them), and return the original error. Firewall ops go to `fw`.
pub fn apply(plan: &Plan, fx: &mut Effects) -> Result<()> {
    apply_detailed(plan, fx).map_err(|f| f.error)
}

/// Apply a teardown: every kernel and firewall removal is attempted even if an earlier one
/// failed, and what is gone already counts as removed. State records and files, which come
/// after, are written only when every removal succeeded, and all or none of them: a failed
/// teardown stays recorded, so it can simply be run again.
pub fn apply_teardown(plan: &Plan, fx: &mut Effects) -> Result<()> {
    let mut first = None;
    let mut booked: Vec<&Op> = Vec::new();
    for op in &plan.ops {
        let bookkeeping = matches!(op, Op::Record(_) | Op::File(_));
        if bookkeeping && first.is_some() {
            break;
        }
        let done = crate::timing::time(|| op.to_string(), || exec_removal(fx, op));
        match done {
            Ok(()) if bookkeeping => booked.push(op),
            Ok(()) => {}
            Err(e) if bookkeeping => {
                for done in booked.iter().rev() {
                    if let Some(undo) = done.undo() {
                        let _ = exec_op(fx, &undo);
                    }
                }
                return Err(e);
            }
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    match first {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Carry out one state record, with its precondition.
fn record(store: &dyn Store, r: &Record) -> Result<()> {
    match r {
        Record::PutNetwork { net, .. } => store.put_network(net),
        Record::DropNetwork { name } => store.remove_network(name),
        Record::PutLease { lease, previous } => match previous {
            None => store.put_lease(lease, true),
            Some(p) => {
                // Only if unchanged: a lease that moved on since planning is a NAK.
                let now = store.lease(&lease.network, lease.address)?;
                if now.as_ref() != Some(p) {
                    return Err(Error::runtime(format!(
                        "NAK: the lease of {} on network {} changed meanwhile",
                        lease.address, lease.network
                    )));
                }
                store.put_lease(lease, false)
            }
        },
        Record::DropLease { lease } => store.remove_lease(&lease.network, lease.address),
        Record::PutEndpoint { endpoint, .. } => store.put_endpoint(&endpoint.key, endpoint),
        Record::DropEndpoint { endpoint } => {
            store.remove_endpoint(&endpoint.network, &endpoint.key)
        }
        Record::ClaimPorts(c) => store.claim_ports(c),
        Record::ReleasePorts(c) => store.release_ports(c),
        Record::PutNamespace(n) => store.put_namespace(n),
        Record::DropNamespace(n) => store.remove_namespace(&n.name),
    }
}

#[cfg(test)]
mod tests {
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
}
