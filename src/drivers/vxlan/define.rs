//! A new vxlan network checked against the others and the host: the VTEP, the MTU, the lease
//! slice.

use super::options::parse;
use super::{OVERHEAD, vxlan_ifname};
use crate::cli::CreateArgs;
use crate::drivers::create::{
    check_bridge_free, check_name_free, check_not_routed, check_subnet_free, new_network,
};
use crate::drivers::{Definition, Facts};
use crate::error::{Error, Result};
use crate::ipam;
use crate::model::{Driver, Network};
use crate::plan::NsRef;
use std::net::IpAddr;

pub fn define(facts: &dyn Facts, a: &CreateArgs) -> Result<Definition> {
    let r = parse(a)?;
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
    let mut net = Network {
        subnet: Some(r.subnet),
        gateway: None,
        ip_range: Some(ip_range),
        internal: true,
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
        records: Vec::new(),
        lock,
    })
}

fn join(ips: &[IpAddr]) -> String {
    ips.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}
