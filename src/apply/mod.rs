//! The one executor: runs a plan's steps in order — kernel requests, firewall changes, file
//! writes and state records alike — and on the first failure undoes every step already done,
//! in reverse. No command changes the host beside it.

use crate::error::{Error, Result};
use crate::host::Host;
use crate::plan::{Op, Plan, Record};
use crate::store::{Intent, Store};
mod recover;

pub use recover::{Recovered, interrupted, recover, recovery_plan, run_recovery};
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
        Op::Record(r) => fx.store.commit(std::slice::from_ref(r)),
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
    crate::kernel::netlink::set_link_mark(&plan.link_mark());
    let result = apply_steps(plan, fx);
    match &result {
        Err(f) if !f.rollback_errors.is_empty() => {}
        _ => end(fx, intent),
    }
    result
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
        // A run of state records goes to the store as one transaction, all or none (one etcd
        // Txn for a shared overlay's): one at a time when faults are injected.
        let run = record_run(&plan.ops[i..]).unwrap_or(run);
        let batch = &plan.ops[i..i + run];
        let mut first_error = None;
        if run > 1 && matches!(op, Op::Record(_)) {
            match commit_records(fx, batch) {
                Ok(()) => applied.extend(batch),
                Err(e) => first_error = Some(e),
            }
        } else if run > 1 {
            let ns = op.pipelined_in().expect("a run starts with a pipelined op");
            let results = crate::timing::time(
                || describe_batch("pipelined", batch),
                || fx.host.exec_batch(ns, batch),
            );
            for (o, r) in batch.iter().zip(results) {
                match r {
                    Ok(()) => applied.push(o),
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
        } else {
            if op.marked_link().is_some() {
                crate::kernel::netlink::set_link_mark(&plan.link_mark_at(i));
            }
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

/// How many records `ops` starts with, when they go to the store together (never while
/// faults are injected: then each is a step of its own); None when it starts with no record.
fn record_run(ops: &[Op]) -> Option<usize> {
    let n = ops
        .iter()
        .take_while(|o| matches!(o, Op::Record(_)))
        .count();
    (n > 0 && fault().is_none()).then_some(n)
}

/// A run of records committed to the store as one transaction, all or none.
fn commit_records(fx: &mut Effects, batch: &[Op]) -> Result<()> {
    let records: Vec<Record> = batch
        .iter()
        .filter_map(|o| match o {
            Op::Record(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    crate::timing::time(
        || describe_batch("one store transaction", batch),
        || fx.store.commit(&records),
    )
}

fn describe_batch(how: &str, ops: &[Op]) -> String {
    let lines: Vec<String> = ops.iter().map(|o| o.to_string()).collect();
    format!("({how}) {}", lines.join("; "))
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
    let mut i = 0;
    while i < plan.ops.len() {
        let op = &plan.ops[i];
        let bookkeeping = matches!(op, Op::Record(_) | Op::File(_));
        if bookkeeping && first.is_some() {
            break;
        }
        // A run of records as one store transaction (one etcd Txn for a shared overlay's
        // releases and endpoint), as in `apply_steps`.
        let run = record_run(&plan.ops[i..]).unwrap_or(1);
        let batch = &plan.ops[i..i + run];
        i += run;
        let done = if run > 1 {
            commit_records(fx, batch)
        } else {
            before_step(op)
                .and_then(|()| crate::timing::time(|| op.to_string(), || exec_removal(fx, op)))
        };
        match done {
            Ok(()) if bookkeeping => booked.extend(batch),
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

#[cfg(test)]
mod tests;
