//! Finishing what a kill, a crash or a reboot interrupted: every plan that changes something
//! is recorded as an intent before its first step, and an intent whose process is gone is
//! completed (a teardown) or undone (anything else) by the next command or `cnet gc`.

use super::*;
use crate::drivers::vxlan;

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
        let mut plan = recovery_plan(&intent, fx.store)?;
        plan.extend(retired_links(&intent, fx)?);
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

/// The deletion of the links that the killed process had retired (down, renamed `cnr...`) on
/// the networks its plan touched: a command deletes them when it ends, so a kill after a plan
/// of it (or a step of this one) retired them leaves them behind, unknown to any intent.
fn retired_links(intent: &Intent, fx: &mut Effects) -> Result<Vec<Op>> {
    let marks: std::collections::BTreeSet<String> = intent
        .plan
        .ops
        .iter()
        .flat_map(|op| match op {
            // An overlay's removal retired its namespaces' legs on the gateway bridge too.
            Op::Record(Record::DropNetwork { net }) if vxlan::wants_gateway_bridge(net) => {
                vec![net.name.as_str(), vxlan::GATEWAY_BRIDGE]
            }
            Op::Record(r) => r.network().into_iter().collect(),
            _ => Vec::new(),
        })
        .map(|n| format!("{}{n}", crate::plan::MARK_PREFIX))
        .collect();
    if marks.is_empty() {
        return Ok(Vec::new());
    }
    let host = crate::plan::NsRef::Host;
    Ok(fx
        .host
        .links_in(&host)?
        .into_iter()
        .filter(|l| l.is_cnet() && crate::kernel::reclaim::is_retired(&l.name))
        .filter(|l| l.alias.as_ref().is_some_and(|a| marks.contains(a)))
        .map(|l| Op::DeleteLink {
            ns: host.clone(),
            dev: l.name,
        })
        .collect())
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
        Record::DropNetwork { net } => store.network(&net.name)?.is_none(),
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
        Record::ClaimUla(p) => store.ula()? == Some(*p),
        Record::DropUla(_) => store.ula()?.is_none(),
        Record::ForgetHost { network, host } => store
            .remote_endpoints(network)?
            .iter()
            .all(|(h, _)| h != host),
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
