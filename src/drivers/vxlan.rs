//! The vxlan (overlay) driver: on each host, a Linux bridge with a VXLAN device as one of its
//! ports, so the bridge's L2 segment spans every host that has the same VNI. Broadcast, unknown
//! unicast and multicast reach every peer by head-end replication (one all-zero FDB entry per
//! peer); unicast follows the MACs the VXLAN device learns. Namespaces attach to the bridge
//! with veths exactly as on a bridge network.
//!
//! An overlay is an L2 segment: the bridge has no address, no gateway, no NAT, no forwarding
//! sysctl, and the internal-network rules isolate it from every other network of the host.
//! As in Docker, a namespace on an overlay that is not `--internal` also gets a leg on the
//! host's gateway bridge, its way out and where its published ports go
//! (`commands::gwbridge`).

mod define;
mod firewall;
mod inspect;
mod options;
pub mod shared;

pub use firewall::{firewall_elements, reload_rules, tunnel_filter_entries};
use firewall::{firewall_rules, peer_entry, tunnel_entries};

pub use inspect::{InspectSlice, InspectVxlan, inspect};

use super::{AttachRequest, Definition, Facts, NetworkDriver};
use crate::cli::CreateArgs;
use crate::error::{Error, Result};
use crate::firewall::inet::NetElement;
use crate::firewall::{Backend, FirewallFacts};
use crate::model::{Endpoint, Network};
use crate::plan::{NsRef, Op, Plan};
use std::net::IpAddr;

/// IANA's VXLAN port (the kernel's own default, 8472, is Linux's pre-standard one).
pub const DEFAULT_DSTPORT: u16 = 4789;
/// What VXLAN over IPv4 adds to a frame: outer IPv4 (20) + UDP (8) + VXLAN (8) + inner
/// Ethernet (14) headers.
pub const OVERHEAD: u32 = 50;
/// The largest VNI (24 bits).
pub const MAX_VNI: u32 = 0xff_ffff;

/// The vxlan driver, as [`super::of`] hands it out. Namespaces attach to its bridge as to a
/// bridge network's.
pub struct Vxlan;
pub static DRIVER: Vxlan = Vxlan;

impl NetworkDriver for Vxlan {
    fn define(&self, facts: &dyn Facts, args: &CreateArgs) -> Result<Definition> {
        if facts.store().shared() {
            shared::define(facts, args)
        } else {
            define::define(facts, args)
        }
    }
    fn plan_create(&self, net: &Network, fw: &FirewallFacts) -> Result<Plan> {
        plan_create(net, fw)
    }
    fn plan_remove(&self, net: &Network, fw: &FirewallFacts) -> Plan {
        plan_remove(net, fw)
    }
    fn plan_attach(&self, req: &AttachRequest, plan: &mut Plan) -> Result<()> {
        super::bridge::plan_attach(req, plan)
    }
    fn plan_detach(&self, ep: &Endpoint) -> Plan {
        super::bridge::plan_detach(ep)
    }
    fn inspect_vxlan(&self, net: &Network) -> Option<InspectVxlan> {
        inspect(net)
    }
    fn inspect_notes(&self, net: &Network) -> Vec<String> {
        match net.internal {
            true => vec!["internal: its namespaces have no way out".into()],
            false => vec![
                "its namespaces reach the outside, and publish ports, through a second \
                 interface on this host's gateway bridge cnet_gwbridge (NAT)"
                    .into(),
            ],
        }
    }
}

pub use crate::model::Vtep;

/// The gateway bridge network of overlays (and its bridge's name): see `commands::gwbridge`.
pub const GATEWAY_BRIDGE: &str = "cnet_gwbridge";

/// Whether a namespace on this network gets a leg on the gateway bridge: an overlay that is
/// not internal.
pub fn wants_gateway_bridge(net: &Network) -> bool {
    net.driver == crate::model::Driver::Vxlan && !net.internal
}

/// The VXLAN device of a VNI: `cnvxVNI` (at most 12 characters).
pub fn vxlan_ifname(vni: u32) -> String {
    format!("cnvx{vni}")
}

fn missing(net: &Network, what: &str) -> Error {
    Error::runtime(format!("network {} has no {what} recorded", net.name))
}

fn bridge_of(net: &Network) -> Result<&str> {
    net.bridge.as_deref().ok_or_else(|| missing(net, "bridge"))
}

fn vni_of(net: &Network) -> Result<u32> {
    net.vni.ok_or_else(|| missing(net, "VNI"))
}

/// The VXLAN device of a network.
pub fn vxlan_dev(net: &Network) -> Result<String> {
    vni_of(net).map(vxlan_ifname)
}

/// The bridge, isolated first; the tunnel guarded (peers only); then the tunnel port; then
/// one flood entry per peer.
pub fn plan_create(net: &Network, fw: &FirewallFacts) -> Result<Plan> {
    let bridge = bridge_of(net)?.to_string();
    let dev = vxlan_dev(net)?;
    let local = net.local.ok_or_else(|| missing(net, "local address"))?;
    let mut plan = Plan::default();
    plan.extend(super::plan_base(fw));
    plan.push(Op::CreateBridge {
        name: bridge.clone(),
        mac: super::bridge::bridge_mac(net),
        mtu: net.mtu,
    });
    // The host takes no part in the segment, in either family: no IPv6 on its bridge (no
    // link-local address, no MLD or ND chatter replicated to every peer). A dual-stack
    // overlay's IPv6 is the namespaces' alone.
    plan.push(Op::DisableIpv6 {
        dev: bridge.clone(),
    });
    match fw.backend {
        // The bridge isolated and the tunnel guarded in one transaction.
        Backend::Nftables => {
            let mut elements = firewall_elements(net)?;
            let tunnels = tunnel_entries(net, &net.peers)?;
            elements.extend(tunnels.into_iter().map(NetElement::Tunnel));
            plan.push(Op::AddNetwork {
                create_table: !fw.table,
                elements,
            })
        }
        Backend::Iptables => {
            plan.extend(firewall_rules(net)?.into_iter().map(Op::AppendRule));
            // The tunnel filter lives in table inet cnet on either backend: made here when
            // missing, so a dry run shows it.
            if !fw.table {
                plan.push(Op::AddNetwork {
                    create_table: true,
                    elements: Vec::new(),
                });
            }
            plan.push(Op::AllowTunnel(tunnel_entries(net, &net.peers)?));
        }
    }
    plan.push(Op::CreateVxlan {
        name: dev.clone(),
        vni: vni_of(net)?,
        local,
        underlay: net.parent.clone(),
        dstport: net.dstport.unwrap_or(DEFAULT_DSTPORT),
        mtu: net.mtu,
        master: Some(bridge),
        mac: net
            .vtep_mac
            .as_deref()
            .and_then(|m| crate::names::parse_mac(m).ok()),
    });
    // Nor on the tunnel device: no IPv6 chatter is replicated to every peer.
    plan.push(Op::DisableIpv6 { dev: dev.clone() });
    for p in &net.peers {
        plan.push(Op::AppendFdb {
            dev: dev.clone(),
            dst: *p,
        });
    }
    Ok(plan)
}

/// The tunnel goes first (the host leaves the segment), then its filter elements and the
/// bridge's (one transaction; with iptables, the rules, openings before drops), then the
/// bridge. The FDB entries go with the VXLAN device.
pub fn plan_remove(net: &Network, fw: &FirewallFacts) -> Plan {
    let mut plan = Plan::default();
    if let Ok(dev) = vxlan_dev(net) {
        plan.push(Op::DeleteLink {
            ns: NsRef::Host,
            dev,
        });
    }
    match fw.backend {
        Backend::Nftables => {
            if let (Ok(mut elements), Ok(tunnels)) =
                (firewall_elements(net), tunnel_entries(net, &net.peers))
            {
                elements.extend(tunnels.into_iter().map(NetElement::Tunnel));
                plan.push(Op::RemoveNetwork {
                    drop_table: false,
                    elements,
                });
            }
        }
        Backend::Iptables => {
            if let Ok(es) = tunnel_entries(net, &net.peers) {
                plan.push(Op::DisallowTunnel(es));
            }
            if let Ok(rules) = firewall_rules(net) {
                plan.extend(rules.into_iter().rev().map(Op::DeleteRule));
            }
        }
    }
    if let Some(b) = &net.bridge {
        plan.push(Op::DeleteLink {
            ns: NsRef::Host,
            dev: b.clone(),
        });
    }
    plan
}

/// `net peer add`: hear the VTEP, then flood to it. The filter is made again if it went
/// (an `nft flush ruleset`): its other elements come back with `firewall reload`.
pub fn plan_peer_add(net: &Network, peer: IpAddr) -> Result<Plan> {
    let mut plan = Plan::default();
    plan.push(Op::AllowTunnel(vec![peer_entry(net, peer)?]));
    plan.push(Op::AppendFdb {
        dev: vxlan_dev(net)?,
        dst: peer,
    });
    Ok(plan)
}

/// `net peer rm`: drop the VTEP's packets, stop flooding to it and forget the MACs learned
/// behind it. Attached namespaces are left alone.
pub fn plan_peer_rm(net: &Network, peer: IpAddr) -> Result<Plan> {
    let mut plan = Plan::default();
    plan.push(Op::DisallowTunnel(vec![peer_entry(net, peer)?]));
    plan.push(Op::DelFdb {
        dev: vxlan_dev(net)?,
        dst: peer,
    });
    Ok(plan)
}

#[cfg(test)]
mod tests;
