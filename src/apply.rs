//! The one executor: runs a plan's steps in order — kernel requests, firewall changes, file
//! writes and state records alike — and on the first failure undoes every step already done,
//! in reverse. No command changes the host beside it.

use crate::error::{Error, Result};
use crate::host::Host;
use crate::plan::{Op, Plan, Record};
use crate::store::{Intent, Store};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// The fault hook, for crash tests: `CNET_FAULT=kill@N` makes the process SIGKILL itself right
/// before the executor's step N (counted from 0 over every plan this process applies, rollbacks
/// and recoveries left out), `CNET_FAULT=fail@N` fails that step as if the host had refused it.
/// Always compiled in: reading one environment variable once costs nothing, and a release
/// binary is what the crash tests exercise.
#[derive(Clone, Copy)]
enum Fault {
    Kill(usize),
    Fail(usize),
}

fn fault() -> Option<Fault> {
    static FAULT: OnceLock<Option<Fault>> = OnceLock::new();
    *FAULT.get_or_init(|| {
        let spec = std::env::var("CNET_FAULT").ok()?;
        let (what, at) = spec.split_once('@')?;
        let at = at.parse().ok()?;
        match what {
            "kill" => Some(Fault::Kill(at)),
            "fail" => Some(Fault::Fail(at)),
            _ => None,
        }
    })
}

/// Count a step about to be carried out, and inject the configured fault when it is its turn.
fn before_step(op: &Op) -> Result<()> {
    static STEP: AtomicUsize = AtomicUsize::new(0);
    let Some(f) = fault() else {
        return Ok(());
    };
    let step = STEP.fetch_add(1, Ordering::SeqCst);
    match f {
        Fault::Kill(at) if at == step => {
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
            unreachable!("SIGKILL cannot be caught")
        }
        Fault::Fail(at) if at == step => Err(Error::runtime(format!(
            "injected failure at step {step}: {}",
            op.to_string().lines().next().unwrap_or_default()
        ))),
        _ => Ok(()),
    }
}

/// Record a plan that changes something as an intent before its first step.
fn begin(fx: &mut Effects, plan: &Plan, teardown: bool) -> Result<Option<Intent>> {
    if plan.is_empty() {
        return Ok(None);
    }
    let intent = Intent {
        pid: std::process::id(),
        start: crate::kernel::own_start(),
        boot_id: crate::kernel::boot_id(),
        teardown,
        plan: plan.clone(),
    };
    fx.store.put_intent(&intent)?;
    Ok(Some(intent))
}

/// The plan is over (done, or rolled back completely): its intent goes.
fn end(fx: &mut Effects, intent: Option<Intent>) {
    if let Some(i) = intent {
        // An intent left behind is recovered as a no-op by the next command.
        let _ = fx.store.drop_intent(&i);
    }
}

/// Apply a plan in order. On the first failure, apply the undo of each op already applied, in
/// reverse order, and return the original error with the errors of the rollback (if any).
/// The plan is recorded as an intent while it runs; a rollback that left something behind
/// keeps it, for the next command or `cnet gc` to finish undoing.
pub fn apply_detailed(plan: &Plan, fx: &mut Effects) -> std::result::Result<(), ApplyFailure> {
    let intent = begin(fx, plan, false).map_err(|error| ApplyFailure {
        error,
        rollback_errors: Vec::new(),
    })?;
    crate::kernel::netlink::set_link_mark(&link_mark(plan));
    let result = apply_steps(plan, fx);
    match &result {
        Err(f) if !f.rollback_errors.is_empty() => {}
        _ => end(fx, intent),
    }
    result
}

/// The mark the links a plan creates carry (IFLA_IFALIAS): `cnet:NETWORK`, the network named
/// by the plan's records.
pub fn link_mark(plan: &Plan) -> String {
    let network = plan.ops.iter().find_map(|op| match op {
        Op::Record(Record::PutNetwork { net, .. }) => Some(net.name.as_str()),
        Op::Record(Record::PutEndpoint { endpoint, .. }) => Some(endpoint.network.as_str()),
        Op::Record(Record::PutLease { lease, .. }) => Some(lease.network.as_str()),
        _ => None,
    });
    match network {
        Some(n) => format!("{}{n}", crate::plan::MARK_PREFIX),
        None => crate::plan::MARK_PREFIX.trim_end_matches(':').to_string(),
    }
}

fn apply_steps(plan: &Plan, fx: &mut Effects) -> std::result::Result<(), ApplyFailure> {
    // What went in, in order: what a rollback undoes.
    let mut applied: Vec<&Op> = Vec::with_capacity(plan.ops.len());
    let mut i = 0;
    while i < plan.ops.len() {
        let op = &plan.ops[i];
        // A run of requests inside one namespace goes as one pipelined batch (one at a time
        // when faults are injected, so that each step can be the one).
        let run = match op.pipelined_in().filter(|_| fault().is_none()) {
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
            let done = before_step(op)
                .and_then(|()| crate::timing::time(|| op.to_string(), || exec_op(fx, op)));
            match done {
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
    let intent = begin(fx, plan, true)?;
    let result = teardown_steps(plan, fx);
    // Failed or not, what is recorded matches what is left: a failed teardown is run again.
    end(fx, intent);
    result
}

fn teardown_steps(plan: &Plan, fx: &mut Effects) -> Result<()> {
    let mut first = None;
    let mut booked: Vec<&Op> = Vec::new();
    for op in &plan.ops {
        let bookkeeping = matches!(op, Op::Record(_) | Op::File(_));
        if bookkeeping && first.is_some() {
            break;
        }
        let done = before_step(op)
            .and_then(|()| crate::timing::time(|| op.to_string(), || exec_removal(fx, op)));
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

/// An interrupted plan found and dealt with: what was done, and what of it failed.
pub struct Recovered {
    pub intent: Intent,
    pub plan: Plan,
    pub errors: Vec<Error>,
}

/// The intents whose process is gone: plans a kill, a crash or a reboot interrupted.
pub fn interrupted(store: &dyn Store) -> Result<Vec<Intent>> {
    Ok(store
        .intents()?
        .into_iter()
        .filter(|i| !crate::kernel::process_alive(i.pid, i.start, &i.boot_id))
        .collect())
}

/// Finish every interrupted plan (see [`recovery_plan`]) and drop its intent. Called under the
/// state lock, before a command plans, so no later change can be mistaken for the plan's.
pub fn recover(fx: &mut Effects) -> Result<Vec<Recovered>> {
    let mut out = Vec::new();
    for intent in interrupted(fx.store)? {
        let plan = recovery_plan(&intent, fx.store)?;
        let errors = run_recovery(&plan, fx);
        fx.store.drop_intent(&intent)?;
        out.push(Recovered {
            intent,
            plan,
            errors,
        });
    }
    Ok(out)
}

/// What finishes an interrupted plan, planned against the store as it is now. A teardown is
/// completed: its removals are idempotent, and its records are brought to what it meant to
/// write. Anything else is undone, last step first: the undo of every step, whether it ran or
/// not (undoing what never happened is a no-op: a removal of what is absent), and of a record
/// only when the store holds what the plan wrote.
pub fn recovery_plan(intent: &Intent, store: &dyn Store) -> Result<Plan> {
    let mut plan = Plan::default();
    if intent.teardown {
        for op in &intent.plan.ops {
            match op {
                Op::Record(r) => {
                    if let Some(r) = settle(store, r)? {
                        plan.push(Op::Record(r));
                    }
                }
                other => plan.push(other.clone()),
            }
        }
        return Ok(plan);
    }
    for op in intent.plan.ops.iter().rev() {
        match (op, op.undo()) {
            (Op::Record(r), Some(Op::Record(undo))) => {
                if recorded(store, r)?
                    && let Some(u) = settle(store, &undo)?
                {
                    plan.push(Op::Record(u));
                }
            }
            (_, Some(undo)) => plan.push(undo),
            (_, None) => {}
        }
    }
    Ok(plan)
}

/// Carry out a recovery plan: every step is tried, what is gone counts as removed.
pub fn run_recovery(plan: &Plan, fx: &mut Effects) -> Vec<Error> {
    plan.ops
        .iter()
        .filter_map(|op| exec_removal(fx, op).err())
        .collect()
}

/// Whether the store holds what a record wrote (or lacks what it removed).
fn recorded(store: &dyn Store, r: &Record) -> Result<bool> {
    Ok(match r {
        Record::PutNetwork { net, .. } => store.network(&net.name)?.as_ref() == Some(&**net),
        Record::DropNetwork { name } => store.network(name)?.is_none(),
        Record::PutLease { lease, .. } => {
            store.lease(&lease.network, lease.address)?.as_ref() == Some(lease)
        }
        Record::DropLease { lease } => store.lease(&lease.network, lease.address)?.is_none(),
        Record::PutEndpoint { endpoint: e, .. } => {
            store.endpoint(&e.network, &e.key)?.as_ref() == Some(&**e)
        }
        Record::DropEndpoint { endpoint: e } => store.endpoint(&e.network, &e.key)?.is_none(),
        Record::ClaimPorts(c) => holds_ports(store, c)?,
        Record::ReleasePorts(c) => !holds_ports(store, c)?,
        Record::PutNamespace(n) => store.namespace(&n.name)?.as_ref() == Some(n),
        Record::DropNamespace(n) => store.namespace(&n.name)?.is_none(),
    })
}

fn holds_ports(store: &dyn Store, c: &crate::model::PortClaim) -> Result<bool> {
    Ok(store
        .port_claims(&c.mapping.protocol, c.mapping.host_port)?
        .iter()
        .any(|held| held == c))
}

/// The record that brings the store to what `r` means to leave, with its precondition taken
/// from the store as it is; `None` when the store is there already.
fn settle(store: &dyn Store, r: &Record) -> Result<Option<Record>> {
    if recorded(store, r)? {
        return Ok(None);
    }
    Ok(Some(match r {
        Record::PutNetwork { net, .. } => Record::PutNetwork {
            net: net.clone(),
            previous: store.network(&net.name)?.map(Box::new),
        },
        Record::PutLease { lease, .. } => Record::PutLease {
            lease: lease.clone(),
            previous: store.lease(&lease.network, lease.address)?,
        },
        Record::PutEndpoint { endpoint: e, .. } => Record::PutEndpoint {
            endpoint: e.clone(),
            previous: store.endpoint(&e.network, &e.key)?.map(Box::new),
        },
        Record::DropLease { lease } => {
            // Only the lease the plan knew: another client's took its place meanwhile.
            let now = store.lease(&lease.network, lease.address)?;
            if now.as_ref() != Some(lease) {
                return Ok(None);
            }
            r.clone()
        }
        other => other.clone(),
    }))
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
}
