//! A bridge network's firewall: its elements of `table inet cnet`, or its iptables rules
//! with that backend.

use super::bridge_of;
use crate::error::{Error, Result};
use crate::firewall::inet::{self, NetElement, NetworkFw};
use crate::firewall::layout::{BridgeFw, bridge_network_rules};
use crate::firewall::ports as fwports;
use crate::firewall::rule::Rule;
use crate::model::Network;
use crate::model::family;

/// The network's elements of `table inet cnet`.
pub fn firewall_elements(net: &Network) -> Result<Vec<NetElement>> {
    if net.subnet.is_none() {
        return Err(Error::runtime(format!(
            "network {} has no subnet recorded",
            net.name
        )));
    }
    // A dual-stack network's IPv6 subnet goes beside the IPv4 one (`subnets6`).
    let subnets: Vec<_> = net.subnets().collect();
    Ok(inet::network_elements(&NetworkFw {
        bridge: bridge_of(net)?,
        subnets: &subnets,
        internal: net.internal,
    }))
}

/// The network's rules for the iptables backend: those of its IPv4 subnet in iptables, then,
/// on a dual-stack network, the same for its IPv6 subnet in ip6tables.
pub(super) fn firewall_rules(net: &Network) -> Result<Vec<Rule>> {
    let subnet = net
        .subnet
        .ok_or_else(|| Error::runtime(format!("network {} has no subnet recorded", net.name)))?;
    family::v4_net(subnet)?;
    let mut rules = Vec::new();
    for subnet in net.subnets() {
        let fw = BridgeFw {
            network: &net.name,
            bridge: bridge_of(net)?,
            subnet,
            internal: net.internal,
        };
        rules.extend(bridge_network_rules(&fw));
        // What published ports need of the network (loopback and hairpin NAT).
        rules.extend(fwports::network_rules(&fw));
    }
    Ok(rules)
}

/// Rules `firewall reload` puts back for a network.
pub fn reload_rules(net: &Network) -> Result<Vec<Rule>> {
    firewall_rules(net)
}
