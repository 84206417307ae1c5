//! A new vxlan network checked against the others and the host: the VTEP, the MTU, the lease
//! slice.

use super::options::parse;
use super::{OVERHEAD, vxlan_ifname};
use crate::cli::CreateArgs;
use crate::drivers::create::{
    check_bridge_free, check_name_free, check_not_routed, check_subnet_free, new_network,
};
use crate::drivers::{Definition, Facts, dual_stack};
use crate::error::{Error, Result};
use crate::ipam;
use crate::model::{Driver, Network};
use crate::plan::NsRef;
use std::net::IpAddr;

pub fn define(facts: &dyn Facts, a: &CreateArgs) -> Result<Definition> {
    let r = parse(a)?;
    let v6 = dual_stack::parse(a)?;
    if let Some(v6) = &v6 {
        if v6.gateway6.is_some() {
            return Err(Error::usage(
                "a vxlan network has no gateway (it is an L2 segment): drop --gateway6",
            ));
        }
        // Each host's ULA prefix is its own: the hosts of an overlay must agree on a subnet.
        if v6.subnet6.is_none() && !a.peer.is_empty() {
            return Err(Error::usage(
                "a vxlan network with peers needs --subnet6 with --ipv6: every host of the \
                 overlay must give the same one",
            ));
        }
    }
    facts.require_root()?;

    let lock = facts.lock()?;
    check_name_free(facts, &a.name)?;
    let others = facts.networks()?;
    check_subnet_free(&others, r.subnet)?;
    if let Some(o) = others.iter().find(|o| o.vni == Some(r.vni)) {
        return Err(Error::usage(format!(
            "VNI {} is already used by network {}",
            r.vni, o.name
        )));
    }
    check_bridge_free(facts, &r.shape.bridge)?;
    check_not_routed(facts, r.subnet)?;
    let (local, underlay) = super::options::vtep_hint(a);
    let vtep = facts.find_vtep(local, underlay)?;
    let peers: Vec<IpAddr> = a.peer.iter().copied().map(IpAddr::V4).collect();
    if peers.contains(&vtep.local) {
        return Err(Error::usage(format!(
            "--peer {} is this host's own address on {}",
            vtep.local, vtep.underlay
        )));
    }
    let dev = vxlan_ifname(r.vni);
    if !facts.dry_run() {
        for link in [&r.shape.bridge, &dev] {
            if facts.link_exists(&NsRef::Host, link)? {
                return Err(Error::usage(format!(
                    "link {link} already exists on this host"
                )));
            }
        }
    }
    let Some(default_mtu) = vtep.mtu.checked_sub(OVERHEAD).filter(|m| *m >= 68) else {
        return Err(Error::usage(format!(
            "the MTU of {} ({}) leaves no room for VXLAN's {OVERHEAD} bytes",
            vtep.underlay, vtep.mtu
        )));
    };
    let mtu = r.shape.mtu.unwrap_or(default_mtu);
    if mtu > default_mtu {
        facts.say(&format!(
            "note: mtu {mtu} is more than {} ({} - {OVERHEAD}) allows: large frames will be \
             fragmented or dropped on the underlay",
            vtep.underlay, vtep.mtu
        ));
    }
    // Without --ip-range, lease only from this host's part of the subnet.
    let (ip_range, slice_vteps) = match r.shape.ip_range {
        Some(range) => (range, Vec::new()),
        None => {
            let s = ipam::vtep_slice(r.subnet, vtep.local, &peers)?;
            facts.say(&format!(
                "lease slice {} (part {} of {} of {}, over VTEPs {})",
                s.range,
                s.index + 1,
                s.parts,
                r.subnet,
                join(&s.vteps)
            ));
            (s.range, s.vteps)
        }
    };
    // IPv6 addresses are leased from this host's slice of the v6 subnet, over the same VTEPs,
    // whatever --ip-range says of IPv4: there is no --ip-range6 to split it otherwise.
    let (v6, ip_range6) = match v6 {
        Some(v6) => {
            let d = dual_stack::define(facts, &v6, &others, false)?;
            let slice = ipam::vtep_slice(d.subnet6, vtep.local, &peers)?;
            (Some(d), Some(slice.range))
        }
        None => (None, None),
    };
    let mut net = Network {
        subnet: Some(r.subnet),
        gateway: None,
        ip_range: Some(ip_range),
        subnet6: v6.as_ref().map(|d| d.subnet6),
        ip_range6,
        internal: a.internal,
        mtu: Some(mtu),
        bridge: Some(r.shape.bridge),
        parent: Some(vtep.underlay),
        vni: Some(r.vni),
        local: Some(vtep.local),
        peers,
        dstport: Some(r.shape.dstport),
        options: r.shape.opts.given,
        slice_vteps,
        ..new_network(&a.name, Driver::Vxlan)
    };
    net.bridge_mac = Some(crate::plan::format_mac(
        &crate::drivers::bridge::bridge_mac(&net),
    ));
    Ok(Definition {
        net,
        records: v6.map(|d| d.records).unwrap_or_default(),
        lock,
    })
}

fn join(ips: &[IpAddr]) -> String {
    ips.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}
