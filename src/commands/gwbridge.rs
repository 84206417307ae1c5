//! The gateway bridge of overlays, as Docker's docker_gwbridge: an overlay is an L2 segment
//! with no way out, so a namespace attached to one that is not internal also gets a leg
//! (a second interface) on `cnet_gwbridge`, a bridge network of this host only. The leg
//! carries the namespace's default route when no other network does (masqueraded), and the
//! overlay's published ports forward to the leg's address. Its ports are isolated from each
//! other, so namespaces of different overlays never meet on it. Made for a dual-stack
//! overlay, it is dual-stack, and the legs of dual-stack overlays are too.
//!
//! The network is made by the first attach that needs it, in that attach's plan (so a failed
//! attach takes it away again), and stays when the last overlay goes (`net prune` and `reset`
//! remove it). It is always local state, even when the overlay lives in etcd.

use super::{Ctx, attach, networks};
use crate::drivers::{self, AttachRequest, Target, gateway};
use crate::error::{Error, Result};
use crate::ipam;
use crate::model::family::Family;
use crate::model::{Driver, Endpoint, Network};
use crate::names;
use crate::plan::{Op, Plan, Record, format_mac};
use std::net::IpAddr;

/// The gateway bridge network's name (and its bridge's).
pub use crate::drivers::vxlan::GATEWAY_BRIDGE as NAME;
/// Whether a namespace on this network gets a leg on the gateway bridge.
pub use crate::drivers::vxlan::wants_gateway_bridge as wants_leg;

/// A leg ranks below every other network for the default route: it carries the route only
/// while nothing else can, as Docker joins docker_gwbridge only when no other network gives
/// a way out.
pub const LEG_PRIORITY: i32 = i32::MIN;

/// Refuse a command that would handle the gateway bridge by hand (usage error).
pub fn refuse_by_hand(network: &str, what: &str) -> Result<()> {
    if network == NAME {
        return Err(Error::usage(format!(
            "network {NAME} is the gateway bridge of overlays: cnet {what}s it with them"
        )));
    }
    Ok(())
}

/// The gateway bridge as stored, or a new one with the plan that makes and records it: the
/// next free default subnet, masquerade, isolated ports; dual-stack when `dual` (made for a
/// dual-stack overlay), its /64 chosen as `--ipv6` without `--subnet6` chooses it. One that is
/// there stays as it is: made for IPv4 overlays, it gives legs IPv4 only.
fn network(ctx: &Ctx, dual: bool) -> Result<(Network, Option<Plan>)> {
    if let Some(n) = ctx.store.network(NAME)? {
        return Ok((n, None));
    }
    let subnet = super::net::free_user_subnet(ctx)?;
    let mut records = Vec::new();
    let (subnet6, gateway6) = if dual {
        let v6 = drivers::dual_stack::define(
            ctx,
            &drivers::dual_stack::V6Args {
                subnet6: None,
                gateway6: None,
            },
            &ctx.store.networks()?,
            true,
        )?;
        records = v6.records;
        (Some(v6.subnet6), v6.gateway6)
    } else {
        (None, None)
    };
    let mut net = Network {
        // Stable, as the predefined networks' (and so its bridge's MAC): a dry run shows
        // what the run does.
        id: format!(
            "{:012x}",
            names::stable_hash(&["gateway-bridge", NAME]) & 0xffff_ffff_ffff
        ),
        subnet: Some(subnet),
        gateway: Some(ipam::first_host(subnet)),
        subnet6,
        gateway6,
        bridge: Some(NAME.to_string()),
        isolated_ports: true,
        ..drivers::create::new_network(NAME, Driver::Bridge)
    };
    net.bridge_mac = Some(format_mac(&drivers::bridge::bridge_mac(&net)));
    ctx.say(format!("creating the gateway bridge {NAME} on {subnet}"));
    let mut setup = Plan::default();
    setup.ops.extend(records.into_iter().map(Op::Record));
    setup.extend(drivers::plan_create(&net, &ctx.firewall_facts()?)?.ops);
    setup.push(Op::Record(Record::PutNetwork {
        net: Box::new(net.clone()),
        previous: None,
    }));
    Ok((net, Some(setup)))
}

/// A namespace's leg, as an overlay attach plans it.
pub struct Leg {
    /// What makes it (nothing when the namespace has its leg already): the network when it
    /// is missing, the lease, the interface, the endpoint record.
    pub ops: Vec<Op>,
    /// Its address, where the overlay's published ports forward to.
    pub address: IpAddr,
    /// Its IPv6 address, when the overlay and the gateway bridge are dual-stack.
    pub address6: Option<IpAddr>,
}

/// What an overlay attach needs to plan a leg.
pub struct LegRequest<'a> {
    pub overlay: &'a Network,
    /// The namespace, as it will be once the overlay's steps ran (they create it if needed).
    pub target: &'a Target,
    /// The interface name the overlay's own steps give the namespace.
    pub overlay_ifname: &'a str,
    /// The namespace's endpoints on other networks.
    pub others: &'a [(String, Endpoint)],
    pub no_default_route: bool,
    pub now: u64,
}

/// The leg an attach to `req.overlay` gives the namespace: `None` for an internal overlay
/// (or another driver), the existing one when the namespace has it.
pub fn plan_leg(ctx: &Ctx, req: &LegRequest) -> Result<Option<Leg>> {
    if !wants_leg(req.overlay) {
        return Ok(None);
    }
    if let Some((_, ep)) = req.others.iter().find(|(n, _)| n == NAME) {
        let address = ep
            .address
            .ok_or_else(|| Error::runtime(format!("{} has no address on {NAME}", ep.netns)))?;
        return Ok(Some(Leg {
            ops: Vec::new(),
            address: address.ip(),
            address6: ep.address6.map(|a| a.ip()),
        }));
    }
    let (net, setup) = network(ctx, req.overlay.subnet6.is_some())?;
    let dual = net.subnet6.is_some() && req.overlay.subnet6.is_some();
    let target = Target {
        exists: true,
        ..req.target.clone()
    };
    let ifname = attach::free_ifname(ctx, req.target, None, Some(req.overlay_ifname))?;
    let dora = attach::exchange(ctx, &net, &target, Family::V4, None, req.now)?;
    let dora6 = if dual {
        Some(attach::exchange(
            ctx,
            &net,
            &target,
            Family::V6,
            None,
            req.now,
        )?)
    } else {
        None
    };
    let takes_route = |family| {
        let carrier = req
            .others
            .iter()
            .map(|(_, e)| e)
            .find(|e| gateway::carries(e, family));
        !req.no_default_route && gateway::takes_over(LEG_PRIORITY, carrier)
    };
    let default_route = takes_route(Family::V4);
    let default_route6 = dual && takes_route(Family::V6);
    let address6 = dora6.as_ref().map(|d| d.address);
    let mac = names::mac_from_ip(dora.address.ip());
    let endpoint = Endpoint {
        network: NAME.to_string(),
        key: target.key.clone(),
        netns: target.given.clone(),
        netns_path: target.path.clone(),
        ifname: ifname.clone(),
        host_ifname: drivers::host_ifname(&net, &target.key),
        mac: Some(format_mac(&mac)),
        address: Some(dora.address),
        address6,
        aliases: Vec::new(),
        ports: Vec::new(),
        default_route,
        default_route6,
        gw_priority: LEG_PRIORITY,
        no_default_route: req.no_default_route,
        publish_to: None,
        publish_to6: None,
        since: req.now,
    };
    let mut ops = Vec::new();
    ops.extend(setup.into_iter().flat_map(|p| p.ops));
    for d in std::iter::once(&dora).chain(&dora6) {
        ops.push(Op::Record(Record::PutLease {
            lease: d.offer.clone(),
            previous: d.previous.clone(),
        }));
    }
    // The overlay's own steps brought the namespace's loopback up already.
    let lo_up = |op: &Op| matches!(op, Op::LinkUp { dev, .. } if dev == "lo");
    ops.extend(
        drivers::plan_attach(&AttachRequest {
            network: &net,
            target: &target,
            ifname,
            address: Some(dora.address),
            address6,
            mac: Some(mac),
            default_route,
            default_route6,
        })?
        .ops
        .into_iter()
        .filter(|op| !lo_up(op)),
    );
    for d in std::iter::once(&dora).chain(&dora6) {
        ops.push(Op::Record(Record::PutLease {
            lease: d.ack.clone(),
            previous: Some(d.offer.clone()),
        }));
    }
    ops.push(Op::Record(Record::PutEndpoint {
        endpoint: Box::new(endpoint),
        previous: None,
    }));
    Ok(Some(Leg {
        ops,
        address: dora.address.ip(),
        address6: address6.map(|a| a.ip()),
    }))
}

/// The legs of live namespaces on no overlay that needs them (`cnet gc` detaches them).
pub fn orphan_legs(ctx: &Ctx, net: &Network, endpoints: &[Endpoint]) -> Result<Vec<Endpoint>> {
    let mut out = Vec::new();
    if net.name != NAME {
        return Ok(out);
    }
    for ep in endpoints {
        if !super::target::alive(&ep.netns_path) {
            continue;
        }
        let mut needed = false;
        for (name, _) in networks::other_endpoints(ctx, NAME, &ep.key)? {
            needed |= ctx.store.network(&name)?.is_some_and(|n| wants_leg(&n));
        }
        if !needed {
            out.push(ep.clone());
        }
    }
    Ok(out)
}

/// The leg's teardown that goes with the detach of `ep` from `overlay`: nothing unless the
/// namespace has a leg and is on no other overlay that needs it.
pub fn plan_leg_removal(ctx: &Ctx, overlay: &Network, ep: &Endpoint) -> Result<Plan> {
    if !wants_leg(overlay) {
        return Ok(Plan::default());
    }
    let Some(leg) = ctx.store.endpoint(NAME, &ep.key)? else {
        return Ok(Plan::default());
    };
    for (name, _) in networks::other_endpoints(ctx, &overlay.name, &ep.key)? {
        if name != NAME && ctx.store.network(&name)?.is_some_and(|n| wants_leg(&n)) {
            return Ok(Plan::default());
        }
    }
    let Some(net) = ctx.store.network(NAME)? else {
        return Ok(Plan::default());
    };
    super::detach::plan_detach_records(ctx, &net, &leg)
}
