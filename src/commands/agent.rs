//! `cnet agent`: keeps this host's shared overlays in step with etcd, so that a host that
//! joins, leaves or goes down, and an endpoint attached or detached on another host, is
//! programmed here without a command on this host: the same steps an attach plans
//! (`peer::sync_shared`), applied under the state lock whenever etcd says something changed,
//! and every [`RESYNC`] in case a change was missed. It registers its host as alive under an
//! etcd lease it renews, so the other agents drop this host when it stops.

use super::Ctx;
use crate::cli::AgentArgs;
use crate::error::{Error, Result};
use crate::plan::Plan;
use std::time::{Duration, Instant};

/// The longest the agent goes without looking, whatever the watch says.
const RESYNC: Duration = Duration::from_secs(10);
/// How long it waits after a failure (etcd away) before trying again.
const RETRY: Duration = Duration::from_secs(1);

pub fn run(ctx: &Ctx, a: &AgentArgs) -> Result<()> {
    if !ctx.store.shared() {
        return Err(Error::usage(
            "cnet agent keeps overlays shared through etcd in step: give --store etcd://HOST:PORT \
             (or CNET_STORE)",
        ));
    }
    if a.ttl < 2 {
        return Err(Error::usage(format!(
            "--ttl {}: etcd keeps a lease at least 2 seconds",
            a.ttl
        )));
    }
    ctx.require_root()?;
    let ttl = Duration::from_secs(a.ttl);
    let mut renewed: Option<Instant> = None;
    loop {
        // Once is no liveness: a lease left to expire would make this host look down.
        let alive = match a.once {
            true => Ok(()),
            false => stay_alive(ctx, ttl, &mut renewed),
        };
        let step = alive.and_then(|_| converge_after_watch(ctx));
        match (step, a.once) {
            (Ok(()), true) => return Ok(()),
            (Err(e), true) => return Err(e),
            (Ok(()), false) => {
                let due = renewed.map_or(Duration::ZERO, |r| (ttl / 3).saturating_sub(r.elapsed()));
                if let Err(e) = ctx.store.wait_for_change(due.min(RESYNC)) {
                    eprintln!("cnet agent: {e}");
                    std::thread::sleep(RETRY);
                }
            }
            (Err(e), false) => {
                eprintln!("cnet agent: {e}");
                std::thread::sleep(RETRY);
            }
        }
    }
}

/// Register this host (first) or renew its liveness when a third of the TTL has passed since
/// the last renewal: one renewal lost to a slow etcd does not make it expire.
fn stay_alive(ctx: &Ctx, ttl: Duration, renewed: &mut Option<Instant>) -> Result<()> {
    match renewed {
        None => ctx.store.register_host(ttl)?,
        Some(at) if at.elapsed() >= ttl / 3 => ctx.store.keep_alive()?,
        Some(_) => return Ok(()),
    }
    *renewed = Some(Instant::now());
    Ok(())
}

/// Watch first, then look: a change between the two is seen by the next wait.
fn converge_after_watch(ctx: &Ctx) -> Result<()> {
    ctx.store.watch_overlays()?;
    converge(ctx)
}

/// Program every shared overlay of this host for its members and endpoints as etcd lists
/// them now.
fn converge(ctx: &Ctx) -> Result<()> {
    let _lock = ctx.lock()?;
    for net in ctx.store.networks()?.into_iter().filter(|n| n.shared) {
        let (now, mut ops) = super::peer::sync_shared(ctx, &net)?;
        let peers_changed = now.peers != net.peers;
        // Names of every host's endpoints in this host's hosts files.
        ops.extend(ctx.plan_files(|hosts| hosts.refresh(&net.name))?);
        if ops.is_empty() {
            continue;
        }
        ctx.apply(&Plan { ops })?;
        if peers_changed {
            let peers: Vec<String> = now.peers.iter().map(|p| p.to_string()).collect();
            crate::outln!("{}: peers {}", net.name, peers.join(","));
        }
    }
    Ok(())
}
