//! `cnet detach NETWORK NETNS`: undo an attach and RELEASE the lease.

use super::{Ctx, hostsfile, target};
use crate::drivers;
use crate::error::{Error, Result};
use crate::ipam;
use crate::model::{Driver, Endpoint, Network};
use crate::names;
use crate::output;
use crate::plan::Op;

pub fn run(ctx: &Ctx, network: &str, netns: &str) -> Result<()> {
    names::validate_network_name(network)?;
    ctx.require_root()?;
    let _lock = ctx.lock()?;
    let net = ctx
        .store
        .network(network)?
        .ok_or_else(|| Error::usage(format!("network {network} does not exist")))?;
    let ep = find_endpoint(ctx, &net.name, netns)?
        .ok_or_else(|| Error::usage(format!("{netns} is not attached to network {network}")))?;
    detach_endpoint(ctx, &net, &ep)
}

/// The endpoint of a namespace on a network. A namespace given by a path that no longer exists
/// is found by the path it was attached with, so stale endpoints can still be detached.
pub fn find_endpoint(ctx: &Ctx, network: &str, netns: &str) -> Result<Option<Endpoint>> {
    match target::resolve(netns) {
        Ok(t) => ctx.store.endpoint(network, &t.key),
        Err(e) if netns.contains('/') => {
            let eps = ctx.store.endpoints(network)?;
            match eps.into_iter().find(|ep| ep.netns == netns) {
                Some(ep) => Ok(Some(ep)),
                None => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// Tear an endpoint down, release its lease and forget it. Tolerates a namespace that is gone.
pub fn detach_endpoint(ctx: &Ctx, net: &Network, ep: &Endpoint) -> Result<()> {
    // Retired links go first: once the namespace end is down nothing reaches it through its
    // published ports either, and renaming a link right after rules were deleted would wait
    // for the kernel to free them (an RCU grace period, ~25 ms). A detach that waits for the
    // kernel (`--wait`) deletes the pair instead, which waits for a grace period itself: the
    // ports go first there, so that their freeing runs during that wait, not after it.
    let mut plan = drivers::plan_detach(net, ep);
    let unpublish = drivers::bridge::plan_unpublish(ep).ops;
    if crate::kernel::reclaim::waiting() {
        plan.ops.splice(0..0, unpublish);
    } else {
        plan.extend(unpublish);
    }
    // The namespace's endpoints on its other networks: who takes over the default route, and
    // what its hosts file merges afterwards.
    let others = super::attach::other_endpoints(ctx, &ep.network, &ep.key)?;
    let handover = if ep.default_route {
        default_route_handover(ctx, &others)?
    } else {
        None
    };
    if let Some((other, gw)) = &handover {
        plan.push(Op::AddRoute {
            ns: other.ns_ref(),
            dest: None,
            via: Some(*gw),
            dev: None,
        });
    }
    crate::timing::mark("planned");
    ctx.teardown(&plan)?;
    if ctx.dry_run() {
        return Ok(());
    }
    crate::timing::mark("torn down");
    if let Some(addr) = ep.address
        && let Some(l) = ctx.store.lease(&net.name, addr.ip())?
    {
        ctx.store
            .put_lease(&ipam::release(&l, output::now()), false)?;
        ctx.say(format!("RELEASE {} {}", ep.netns, addr.ip()));
    }
    if let Some((mut other, _)) = handover {
        other.default_route = true;
        ctx.store.put_endpoint(&other.key, &other)?;
    }
    crate::timing::mark("released");
    ctx.store.remove_endpoint(&net.name, &ep.key)?;
    // After the endpoint: a claim whose endpoint is gone is stale, and the next check drops it.
    super::publish::release_endpoint(ctx, net, ep)?;
    if net.driver == Driver::Host {
        ctx.store.remove_namespace(&ep.netns)?;
    }
    crate::timing::mark("forgotten");
    hostsfile::left(ctx, ep, &others)?;
    crate::timing::mark("hosts");
    Ok(())
}

/// When the endpoint that gave a namespace its default route leaves, another of its networks
/// with a gateway takes over (as Docker re-elects the gateway endpoint).
fn default_route_handover(
    ctx: &Ctx,
    others: &[(String, Endpoint)],
) -> Result<Option<(Endpoint, std::net::Ipv4Addr)>> {
    for (name, other) in others {
        if let Some(n) = ctx.store.network(name)?
            && !n.internal
            && n.driver.leases_addresses()
            && let Some(gw) = n.gateway
        {
            return Ok(Some((other.clone(), gw)));
        }
    }
    Ok(None)
}
