//! An overlay shared through etcd: the first host to create it chooses a free VNI and subnet
//! (unless given) and records the definition there; every other host's `net create` of the
//! same name joins that definition. Each host's VTEP is its default route's interface unless
//! `--local`/`--underlay` says otherwise; the peers are the members etcd lists.

use super::options::{SharedRequest, parse_shared, vtep_hint};
use super::{OVERHEAD, vxlan_ifname};
use crate::cli::CreateArgs;
use crate::drivers::create::{
    check_bridge_free, check_name_free, check_not_routed, check_subnet_free, new_network,
};
use crate::drivers::{Definition, Facts, dual_stack};
use crate::error::{Error, Result};
use crate::ipam;
use crate::model::{Driver, Network};
use crate::plan::{NsRef, Record};
use ipnetwork::IpNetwork;
use std::net::IpAddr;

/// Where chosen VNIs start (Docker's overlays start at 4097).
pub const FIRST_VNI: u32 = 4096;

pub fn define(facts: &dyn Facts, a: &CreateArgs) -> Result<Definition> {
    let r = parse_shared(a)?;
    let v6 = parse_v6(a)?;
    facts.require_root()?;
    let lock = facts.lock()?;
    let (net, records) = define_locked(facts, a, r, v6)?;
    Ok(Definition { net, records, lock })
}

/// `--ipv6 [--subnet6]` of a shared overlay: an L2 segment has no gateway.
fn parse_v6(a: &CreateArgs) -> Result<Option<dual_stack::V6Args>> {
    let v6 = dual_stack::parse(a)?;
    if v6.as_ref().is_some_and(|v| v.gateway6.is_some()) {
        return Err(Error::usage(
            "a vxlan network has no gateway (it is an L2 segment): drop --gateway6",
        ));
    }
    Ok(v6)
}

/// Join `name`, defined in etcd by another host, as `net create NAME -d overlay` with no
/// other option would: what an attach to a network this host does not know yet does. None
/// when etcd has no such overlay. Call with the lock held.
pub fn join_on_attach(facts: &dyn Facts, name: &str) -> Result<Option<(Network, Vec<Record>)>> {
    if !facts.store().shared() || facts.store().shared_network(name)?.is_none() {
        return Ok(None);
    }
    let a = CreateArgs {
        name: name.to_string(),
        driver: "overlay".into(),
        ..Default::default()
    };
    let r = parse_shared(&a)?;
    define_locked(facts, &a, r, None).map(Some)
}

fn define_locked(
    facts: &dyn Facts,
    a: &CreateArgs,
    r: SharedRequest,
    v6: Option<dual_stack::V6Args>,
) -> Result<(Network, Vec<Record>)> {
    check_name_free(facts, &a.name)?;
    let store = facts.store();
    let others = facts.networks()?;
    let mut records = Vec::new();
    let base = match store.shared_network(&a.name)? {
        Some(def) => joined(def, r.vni, r.subnet, v6.as_ref())?,
        None => {
            let claims = store.shared_claims()?;
            let vni = match r.vni {
                Some(v) if claims.vnis.contains(&v) => {
                    return Err(Error::usage(format!(
                        "VNI {v} is already used by another overlay in etcd"
                    )));
                }
                Some(v) => v,
                None => free_vni(facts, &claims.vnis, &others)?,
            };
            let subnet = match r.subnet {
                Some(s) => {
                    if let Some(c) = claims.subnets.iter().find(|c| ipam::overlaps(**c, s)) {
                        return Err(Error::usage(format!(
                            "subnet {s} overlaps {c}, an overlay's in etcd"
                        )));
                    }
                    s
                }
                None => {
                    let mut in_use = facts.host_routes()?;
                    in_use.extend(claims.subnets.iter().copied());
                    in_use.extend(others.iter().filter_map(|n| n.subnet));
                    ipam::choose_overlay_subnet(&in_use).ok_or_else(|| {
                        Error::runtime("no free /24 left in 10.0.0.0/8: give one with --subnet")
                    })?
                }
            };
            let subnet6 = match &v6 {
                Some(v6) => {
                    let (s, rs) = shared_subnet6(facts, v6, &claims.subnets, &others)?;
                    records = rs;
                    Some(s)
                }
                None => None,
            };
            Network {
                subnet: Some(subnet),
                ip_range: r.shape.ip_range,
                subnet6,
                internal: a.internal,
                bridge: Some(r.shape.bridge.clone()),
                vni: Some(vni),
                dstport: Some(r.shape.dstport),
                options: r.shape.opts.given.clone(),
                shared: true,
                ..new_network(&a.name, Driver::Vxlan)
            }
        }
    };
    let (Some(vni), Some(subnet)) = (base.vni, base.subnet) else {
        return Err(Error::runtime(format!(
            "network {} in etcd has no VNI or subnet",
            a.name
        )));
    };
    for s in base.subnets() {
        check_subnet_free(&others, s)?;
    }
    if let Some(o) = others.iter().find(|o| o.vni == Some(vni)) {
        return Err(Error::usage(format!(
            "VNI {vni} is already used by network {} on this host",
            o.name
        )));
    }
    let bridge = base.bridge.clone().unwrap_or_default();
    check_bridge_free(facts, &bridge)?;
    check_not_routed(facts, subnet)?;
    let (local, underlay) = vtep_hint(a);
    let underlay = match (local, underlay) {
        (None, None) => Some(facts.default_route_link()?.ok_or_else(|| {
            Error::usage(
                "this host has no default route to find its underlay by: give --underlay \
                 IFACE|IP",
            )
        })?),
        (_, u) => u,
    };
    let vtep = facts.find_vtep(local, underlay)?;
    if !facts.dry_run() {
        for link in [&bridge, &vxlan_ifname(vni)] {
            if facts.link_exists(&NsRef::Host, link)? {
                return Err(Error::usage(format!(
                    "link {link} already exists on this host"
                )));
            }
        }
    }
    let Some(room) = vtep.mtu.checked_sub(OVERHEAD).filter(|m| *m >= 68) else {
        return Err(Error::usage(format!(
            "the MTU of {} ({}) leaves no room for VXLAN's {OVERHEAD} bytes",
            vtep.underlay, vtep.mtu
        )));
    };
    // The first host sets the segment's MTU; a joiner with a smaller underlay is told.
    let mtu = base.mtu.or(r.shape.mtu).unwrap_or(room);
    if mtu > room {
        facts.say(&format!(
            "note: mtu {mtu} is more than {} ({} - {OVERHEAD}) allows: large frames will be \
             fragmented or dropped on the underlay",
            vtep.underlay, vtep.mtu
        ));
    }
    let host = store.host_id()?;
    let peers: Vec<IpAddr> = store
        .members(&a.name)?
        .into_iter()
        .filter(|m| m.host != host && m.underlay != vtep.local)
        .map(|m| m.underlay)
        .collect();
    facts.say(&format!(
        "overlay {} in etcd: VNI {vni}, subnet {subnet}, VTEP {} on {}, peers [{}]",
        a.name,
        vtep.local,
        vtep.underlay,
        peers
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(",")
    ));
    let mut net = Network {
        mtu: Some(mtu),
        parent: Some(vtep.underlay),
        local: Some(vtep.local),
        peers,
        ..base
    };
    // Each host's bridge and VTEP their own MACs: the segment joins them at L2.
    let mac = |what: &str| {
        crate::plan::format_mac(&crate::names::derived_mac(&[
            what, &net.name, &net.id, &host,
        ]))
    };
    net.bridge_mac = Some(mac("cnet-bridge"));
    net.vtep_mac = Some(mac("cnet-vtep"));
    Ok((net, records))
}

/// A new shared overlay's IPv6 subnet: `--subnet6` if free in etcd, else a /64 of this host's
/// ULA prefix (as `--ipv6` alone chooses for a local network) that no overlay in etcd and no
/// network here has. The records: this host's ULA prefix, when it is its first.
fn shared_subnet6(
    facts: &dyn Facts,
    v6: &dual_stack::V6Args,
    claimed: &[IpNetwork],
    others: &[Network],
) -> Result<(IpNetwork, Vec<Record>)> {
    if let Some(s) = v6.subnet6
        && let Some(c) = claimed.iter().find(|c| ipam::overlaps(**c, s))
    {
        return Err(Error::usage(format!(
            "subnet6 {s} overlaps {c}, an overlay's in etcd"
        )));
    }
    // The overlays in etcd count as networks this /64 must not overlap.
    let mut taken = others.to_vec();
    taken.extend(claimed.iter().map(|c| Network {
        name: "in etcd".into(),
        subnet: Some(*c),
        ..Default::default()
    }));
    let d = dual_stack::define(facts, v6, &taken, false)?;
    Ok((d.subnet6, d.records))
}

/// Join an existing definition; `--vni`/`--subnet`/`--ipv6 --subnet6`, if given, must be what
/// it has.
fn joined(
    def: Network,
    vni: Option<u32>,
    subnet: Option<IpNetwork>,
    v6: Option<&dual_stack::V6Args>,
) -> Result<Network> {
    if let Some(v6) = v6 {
        match (def.subnet6, v6.subnet6) {
            (None, _) => {
                return Err(Error::usage(format!(
                    "network {} exists in etcd as IPv4-only: drop --ipv6",
                    def.name
                )));
            }
            (Some(theirs), Some(s)) if theirs != s => {
                return Err(Error::usage(format!(
                    "network {} exists in etcd with subnet6 {theirs}, not {s}",
                    def.name
                )));
            }
            _ => {}
        }
    }
    if let Some(v) = vni.filter(|v| def.vni != Some(*v)) {
        return Err(Error::usage(format!(
            "network {} exists in etcd with VNI {}, not {v}",
            def.name,
            def.vni.unwrap_or_default()
        )));
    }
    if let Some(s) = subnet.filter(|s| def.subnet != Some(*s)) {
        return Err(Error::usage(format!(
            "network {} exists in etcd with subnet {}, not {s}",
            def.name,
            def.subnet.map(|s| s.to_string()).unwrap_or_default()
        )));
    }
    if def.driver != Driver::Vxlan {
        return Err(Error::usage(format!(
            "network {} in etcd is not an overlay",
            def.name
        )));
    }
    Ok(def)
}

/// The lowest VNI from [`FIRST_VNI`] no overlay in etcd or network of this host uses.
fn free_vni(facts: &dyn Facts, shared: &[u32], local: &[Network]) -> Result<u32> {
    // A device of a VNI left by something else is not ours to take.
    let device_free = |v: u32| {
        facts.dry_run()
            || !facts
                .link_exists(&NsRef::Host, &vxlan_ifname(v))
                .unwrap_or(true)
    };
    (FIRST_VNI..=super::MAX_VNI)
        .find(|v| {
            !shared.contains(v) && !local.iter().any(|n| n.vni == Some(*v)) && device_free(*v)
        })
        .ok_or_else(|| Error::runtime("no free VNI left"))
}

#[cfg(test)]
mod tests;
