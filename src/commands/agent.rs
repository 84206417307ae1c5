//! `cnet agent`: keeps this host's shared overlays in step with their members in etcd, so a
//! host that joins (or leaves) is programmed here without a command on this host: the same
//! peer steps an attach plans (`peer::sync_shared`), applied under the state lock whenever a
//! network's members change, and every [`RESYNC`] in case a change was missed.

use super::Ctx;
use crate::cli::AgentArgs;
use crate::error::{Error, Result};
use crate::plan::Plan;
use std::time::Duration;

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
    ctx.require_root()?;
    loop {
        // Watch first, then look: a change between the two is seen by the wait.
        let step = ctx.store.watch_members().and_then(|_| converge(ctx));
        match (step, a.once) {
            (Ok(()), true) => return Ok(()),
            (Err(e), true) => return Err(e),
            (Ok(()), false) => {
                if let Err(e) = ctx.store.wait_for_members(RESYNC) {
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

/// Program every shared overlay of this host for its members as etcd lists them now.
fn converge(ctx: &Ctx) -> Result<()> {
    let _lock = ctx.lock()?;
    for net in ctx.store.networks()?.into_iter().filter(|n| n.shared) {
        let (now, ops) = super::peer::sync_shared(ctx, &net)?;
        if ops.is_empty() {
            continue;
        }
        ctx.apply(&Plan { ops })?;
        let peers: Vec<String> = now.peers.iter().map(|p| p.to_string()).collect();
        crate::outln!("{}: peers {}", net.name, peers.join(","));
    }
    Ok(())
}
