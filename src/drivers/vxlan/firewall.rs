//! The overlay's firewall: its bridge as an internal network (elements of `table inet cnet`,
//! or iptables rules with that backend) and its tunnel filter's elements.

use super::{DEFAULT_DSTPORT, bridge_of, missing, vni_of};
use crate::error::Result;
use crate::firewall::inet::{self, NetElement, NetworkFw};
use crate::firewall::layout::{BridgeFw, bridge_network_rules};
use crate::firewall::rule::Rule;
use crate::firewall::tunnel::{self, TunnelEntry};
use crate::model::Network;
use crate::model::family;
use std::net::IpAddr;

/// The ingress filter's elements for these peers: VXLAN packets of the network's VNI are
/// heard from them only.
pub(super) fn tunnel_entries(net: &Network, peers: &[IpAddr]) -> Result<Vec<TunnelEntry>> {
    let peers = peers
        .iter()
        .map(|p| family::v4(*p))
        .collect::<Result<Vec<_>>>()?;
    Ok(tunnel::entries(
        net.dstport.unwrap_or(DEFAULT_DSTPORT),
        vni_of(net)?,
        &peers,
    ))
}

/// The network's elements of the ingress filter, as its state has them (`firewall reload`).
pub fn tunnel_filter_entries(net: &Network) -> Result<Vec<TunnelEntry>> {
    tunnel_entries(net, &net.peers)
}

/// The internal-network rules on the overlay's bridge: nothing enters from outside the subnet,
/// nothing leaves for outside it, nothing reaches the host; traffic within the bridge,
/// namespaces and tunnel, passes. In ip6tables too for a dual-stack overlay's IPv6 subnet.
pub(super) fn firewall_rules(net: &Network) -> Result<Vec<Rule>> {
    family::v4_net(net.subnet.ok_or_else(|| missing(net, "subnet"))?)?;
    let mut rules = Vec::new();
    for subnet in net.subnets() {
        rules.extend(bridge_network_rules(&BridgeFw {
            network: &net.name,
            bridge: bridge_of(net)?,
            subnet,
            internal: true,
        }));
    }
    Ok(rules)
}

/// Rules `firewall reload` puts back for a network.
pub fn reload_rules(net: &Network) -> Result<Vec<Rule>> {
    firewall_rules(net)
}

/// The overlay's bridge as an internal network's elements of `table inet cnet`.
pub fn firewall_elements(net: &Network) -> Result<Vec<NetElement>> {
    Ok(inet::network_elements(&NetworkFw {
        bridge: bridge_of(net)?,
        subnets: &[net.subnet.ok_or_else(|| missing(net, "subnet"))?],
        internal: true,
    }))
}

/// The filter element of one peer of the network.
pub(super) fn peer_entry(net: &Network, peer: IpAddr) -> Result<TunnelEntry> {
    Ok(TunnelEntry::Peer {
        dstport: net.dstport.unwrap_or(DEFAULT_DSTPORT),
        vni: vni_of(net)?,
        addr: family::v4(peer)?,
    })
}
