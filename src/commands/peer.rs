//! `cnet net peer add|rm NAME IP`: change the peer VTEPs of a live vxlan network. Only the
//! VXLAN device's forwarding database changes; attached namespaces are left alone.

use super::Ctx;
use crate::cli::PeerCommand;
use crate::drivers::vxlan;
use crate::error::{Error, Result};
use crate::model::{Driver, Forward, Member, Network};
use crate::names;
use crate::plan::{Op, Record};
use std::net::IpAddr;

pub fn run(ctx: &Ctx, cmd: &PeerCommand) -> Result<()> {
    let (name, ip, add) = match cmd {
        PeerCommand::Add { name, ip } => (name, *ip, true),
        PeerCommand::Rm { name, ip } => (name, *ip, false),
    };
    names::validate_network_name(name)?;
    if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.is_loopback() {
        return Err(Error::usage(format!(
            "peer {ip} is not a unicast address of another host"
        )));
    }
    let ip = IpAddr::V4(ip);
    ctx.require_root()?;
    let _lock = ctx.lock()?;
    let mut net = ctx
        .store
        .network(name)?
        .ok_or_else(|| Error::usage(format!("network {name} does not exist")))?;
    if net.driver != Driver::Vxlan {
        return Err(Error::usage(format!(
            "network {name} is a {} network: only vxlan networks have peers",
            net.driver
        )));
    }
    if net.local == Some(ip) {
        return Err(Error::usage(format!(
            "{ip} is this host's own VTEP address on network {name}"
        )));
    }
    let known = net.peers.contains(&ip);
    let mut plan = if add {
        if known {
            return Err(Error::usage(format!(
                "{ip} is already a peer of network {name}"
            )));
        }
        vxlan::plan_peer_add(&net, ip)?
    } else {
        if !known {
            return Err(Error::usage(format!(
                "{ip} is not a peer of network {name}"
            )));
        }
        vxlan::plan_peer_rm(&net, ip)?
    };
    plan.ops = ctx.on_backend(&net.name, plan.ops)?;
    let previous = net.clone();
    if add {
        net.peers.push(ip);
    } else {
        net.peers.retain(|p| *p != ip);
    }

    plan.push(Op::Record(Record::PutNetwork {
        net: Box::new(net.clone()),
        previous: Some(Box::new(previous)),
    }));
    ctx.apply(&plan)?;
    if add && !ctx.dry_run() && !net.slice_vteps.is_empty() && !net.slice_vteps.contains(&ip) {
        eprintln!(
            "cnet: note: {ip} was not among the VTEPs this host's lease slice ({}) was \
             computed over: give that host an --ip-range that no other host leases from",
            net.ip_range.map(|r| r.to_string()).unwrap_or_default()
        );
        if let Some(range6) = net.ip_range6 {
            eprintln!(
                "cnet: note: the same goes for this host's IPv6 slice ({range6}): that host \
                 must lease IPv6 from outside it"
            );
        }
    }
    Ok(())
}

/// A shared overlay's peers brought in step with its live members in etcd, and its remote
/// endpoints with their endpoints: the steps that program this host's VXLAN device (flood
/// entries, tunnel filter, one FDB and one neighbour entry per remote endpoint) for what
/// changed since it last looked, and the record of what it programmed. Nothing for a network
/// of this host alone.
pub fn sync_shared(ctx: &Ctx, net: &Network) -> Result<(Network, Vec<Op>)> {
    if !net.shared {
        return Ok((net.clone(), Vec::new()));
    }
    let host = ctx.store.host_id()?;
    // A host whose agent stopped renewing its liveness is not sent to.
    let down = ctx.store.down_hosts()?;
    let live: Vec<Member> = ctx
        .store
        .members(&net.name)?
        .into_iter()
        .filter(|m| m.host != host && Some(m.underlay) != net.local && !down.contains(&m.host))
        .collect();
    let mut remote: Vec<IpAddr> = live.iter().map(|m| m.underlay).collect();
    remote.sort();
    remote.dedup();
    let forwards = wanted_forwards(ctx, net, &live)?;
    let mut ops = Vec::new();
    for f in net.forwards.iter().filter(|f| !forwards.contains(f)) {
        ops.push(Op::DelForward(f.clone()));
    }
    for p in remote.iter().filter(|p| !net.peers.contains(p)) {
        ops.extend(vxlan::plan_peer_add(net, *p)?.ops);
    }
    for p in net.peers.iter().filter(|p| !remote.contains(p)) {
        ops.extend(vxlan::plan_peer_rm(net, *p)?.ops);
    }
    for f in forwards.iter().filter(|f| !net.forwards.contains(f)) {
        ops.push(Op::AddForward(f.clone()));
    }
    if ops.is_empty() {
        return Ok((net.clone(), ops));
    }
    let mut ops = ctx.on_backend(&net.name, ops)?;
    let updated = Network {
        peers: remote,
        forwards,
        ..net.clone()
    };
    ops.push(Op::Record(Record::PutNetwork {
        net: Box::new(updated.clone()),
        previous: Some(Box::new(net.clone())),
    }));
    Ok((updated, ops))
}

/// The remote endpoints (with a MAC and an IPv4 address, and their IPv6 address if any) of
/// the live hosts, behind their hosts' VTEPs, in order.
fn wanted_forwards(ctx: &Ctx, net: &Network, live: &[Member]) -> Result<Vec<Forward>> {
    let dev = vxlan::vxlan_dev(net)?;
    let mut out: Vec<Forward> = ctx
        .store
        .remote_endpoints(&net.name)?
        .into_iter()
        .filter_map(|(h, ep)| {
            Some(Forward {
                dev: dev.clone(),
                mac: ep.mac?,
                ip: ep.address?.ip(),
                vtep: live.iter().find(|m| m.host == h)?.underlay,
                ip6: ep.address6.map(|a| a.ip()),
            })
        })
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}
