//! Hosts that went down, on overlays shared through etcd: once a host's agent stopped renewing
//! its liveness longer ago than the grace period (counted from when a live host first saw it
//! down, as recorded in etcd), its leases there are released (dropped: another host may take
//! the addresses) and its endpoints forgotten, so every host's names and per-endpoint entries
//! lose them. A host that was only restarting within the grace period keeps everything.

use super::{Ctx, Repair};
use crate::error::Result;
use crate::plan::{Op, Plan, Record};

pub fn repairs(ctx: &Ctx, grace_seconds: u64) -> Result<Vec<Repair>> {
    if !ctx.store.shared() {
        return Ok(Vec::new());
    }
    let down = ctx.store.down_hosts()?;
    if down.is_empty() {
        return Ok(Vec::new());
    }
    let now = crate::output::now();
    let mut out = Vec::new();
    for net in ctx.store.networks()?.into_iter().filter(|n| n.shared) {
        let leases = ctx.store.leases(&net.name)?;
        let endpoints = ctx.store.remote_endpoints(&net.name)?;
        for host in &down {
            let suffix = format!("@{host}");
            let theirs: Vec<_> = leases
                .iter()
                .filter(|l| l.client.ends_with(&suffix))
                .collect();
            let has_endpoints = endpoints.iter().any(|(h, _)| h == host);
            if theirs.is_empty() && !has_endpoints {
                continue;
            }
            // Not recorded (a store that keeps no such record): down from now on.
            let since = ctx.store.down_since(host)?.unwrap_or(now);
            let down_for = now.saturating_sub(since);
            if down_for < grace_seconds {
                continue;
            }
            let mut ops: Vec<Op> = theirs
                .iter()
                .map(|l| {
                    Op::Record(Record::DropLease {
                        lease: (*l).clone(),
                    })
                })
                .collect();
            ops.push(Op::Record(Record::ForgetHost {
                network: net.name.clone(),
                host: host.clone(),
            }));
            out.push(Repair {
                object: format!("host {host} on {}", net.name),
                problem: format!(
                    "down for {down_for} s (its agent stopped; grace {grace_seconds} s), {} \
                     lease(s)",
                    theirs.len()
                ),
                action: "leases released, endpoints forgotten".into(),
                plan: Plan { ops },
                builds: false,
                detach: None,
                failed: false,
            });
        }
    }
    Ok(out)
}
