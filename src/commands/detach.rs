//! `cnet detach NETWORK NETNS`: undo an attach and RELEASE the lease.

use super::{Ctx, target};
use crate::drivers;
use crate::drivers::gateway;
use crate::error::{Error, Result};
use crate::ipam;
use crate::model::family::Family;
use crate::model::{Driver, Endpoint, Network};
use crate::names;
use crate::output;
use crate::plan::{Op, Plan, Record};

pub fn run(ctx: &Ctx, network: &str, netns: &str) -> Result<()> {
    names::validate_network_name(network)?;
    super::gwbridge::refuse_by_hand(network, "detach")?;
    ctx.require_root()?;
    let _lock = ctx.lock()?;
    // Given by its name (the usual case), the network is read once; else by its ID.
    let net = match ctx.store.network(network)? {
        Some(net) => net,
        None => {
            let network = &super::networks::name_of(ctx, network)?;
            ctx.store
                .network(network)?
                .ok_or_else(|| Error::usage(format!("network {network} does not exist")))?
        }
    };
    let network = &net.name;
    let ep = find_endpoint(ctx, &net.name, netns)?
        .ok_or_else(|| Error::usage(format!("{netns} is not attached to network {network}")))?;
    detach_endpoint(ctx, &net, &ep)?;
    if ctx.global.format() == crate::cli::Format::Json && !ctx.dry_run() {
        output::print_json(&output::EndpointJson::from(&ep));
    }
    Ok(())
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
    let plan = plan_detach_endpoint(ctx, net, ep)?;
    crate::timing::mark("planned");
    ctx.teardown(&plan)
}

/// The whole of a detach: the kernel and firewall removals, then the records and files. An
/// overlay's endpoint takes the namespace's leg on the gateway bridge with it, unless another
/// overlay still needs it.
pub fn plan_detach_endpoint(ctx: &Ctx, net: &Network, ep: &Endpoint) -> Result<Plan> {
    let mut plan = plan_detach_records(ctx, net, ep)?;
    plan.extend(super::gwbridge::plan_leg_removal(ctx, net, ep)?.ops);
    // Every removal before any record: a teardown writes its records only once all its
    // removals succeeded.
    let (mut ops, records): (Vec<Op>, Vec<Op>) = plan
        .ops
        .into_iter()
        .partition(|op| !matches!(op, Op::Record(_) | Op::File(_)));
    ops.extend(records);
    ops.extend(ctx.plan_files(|hosts| hosts.left(ep))?);
    Ok(Plan { ops })
}

/// A detach without its hosts-file steps: the kernel and firewall removals and the records.
pub fn plan_detach_records(ctx: &Ctx, net: &Network, ep: &Endpoint) -> Result<Plan> {
    // Retired links go first: once the namespace end is down nothing reaches it through its
    // published ports either, and renaming a link right after rules were deleted would wait
    // for the kernel to free them (an RCU grace period, ~25 ms).
    let mut plan = drivers::plan_detach(net, ep);
    plan.extend(ctx.on_backend(&ep.network, drivers::bridge::plan_unpublish(ep).ops)?);
    // The namespace's endpoints on its other networks: who takes over each default route.
    let mut handovers: Vec<(Endpoint, Endpoint)> = Vec::new();
    for family in [Family::V4, Family::V6] {
        if !gateway::carries(ep, family) {
            continue;
        }
        let Some((other, route)) = default_route_handover(ctx, &ep.network, &ep.key, family)?
        else {
            continue;
        };
        // Whatever default route is left goes first (none, unless a detach was interrupted
        // after the handover): a detach run again then ends as one run once.
        plan.push(match family {
            Family::V4 => Op::DelRoute {
                ns: other.ns_ref(),
                dest: None,
                via: None,
                dev: None,
            },
            // IPv6's routes are each named: take away the one this route would clash with.
            Family::V6 => route.deleting(&other),
        });
        plan.push(route.adding(&other));
        match handovers
            .iter_mut()
            .find(|(was, _)| was.network == other.network)
        {
            Some((_, now)) => *now = gateway::with_carrier(now, family, true),
            None => handovers.push((other.clone(), gateway::with_carrier(&other, family, true))),
        }
    }
    for addr in ep.addresses() {
        if let Some(lease) = ctx.store.lease(&net.name, addr.ip())?
            && lease.client == ep.netns
        {
            plan.push(Op::Record(Record::PutLease {
                lease: ipam::release(&lease, output::now()),
                previous: Some(lease),
            }));
        }
    }
    for (was, now) in handovers {
        plan.push(Op::Record(Record::PutEndpoint {
            endpoint: Box::new(now),
            previous: Some(Box::new(was)),
        }));
    }
    plan.push(Op::Record(Record::DropEndpoint {
        endpoint: Box::new(ep.clone()),
    }));
    // After the endpoint: a claim whose endpoint is gone is stale, and the next check drops it.
    for claim in super::publish::claims(net, &ep.netns, &ep.key, &ep.ports) {
        plan.push(Op::Record(Record::ReleasePorts(claim)));
    }
    if net.driver == Driver::Host
        && let Some(record) = ctx.store.namespace(&ep.netns)?
    {
        plan.push(Op::Record(Record::DropNamespace(record)));
    }
    Ok(plan)
}

/// When the endpoint that gave a namespace its default route leaves, the next of its networks
/// in rank takes over (`drivers::gateway`), as Docker re-elects the gateway endpoint.
fn default_route_handover(
    ctx: &Ctx,
    network: &str,
    key: &str,
    family: Family,
) -> Result<Option<(Endpoint, gateway::Route)>> {
    let mut others = Vec::new();
    for (name, ep) in super::networks::other_endpoints(ctx, network, key)? {
        if let Some(net) = ctx.store.network(&name)? {
            others.push((net, ep));
        }
    }
    Ok(gateway::next_carrier_in(&others, family).map(|(ep, route)| (ep.clone(), route)))
}
