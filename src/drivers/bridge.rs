//! The bridge driver: a Linux bridge holding the gateway address, one veth pair per namespace,
//! NAT and isolation rules.

mod define;
mod firewall;

use firewall::firewall_rules;
pub use firewall::{firewall_elements, reload_rules};

use super::{AttachRequest, Definition, Facts, NetworkDriver};
use crate::cli::CreateArgs;
use crate::error::{Error, Result};
use crate::firewall::FirewallFacts;
use crate::firewall::ports as fwports;
use crate::firewall::published::{self, PortEntry};
use crate::model::{Endpoint, Network, PortMapping};
use crate::names;
use crate::plan::{NsRef, Op, Plan};
use ipnetwork::IpNetwork;

/// The bridge driver, as [`super::of`] hands it out.
pub struct Bridge;
pub static DRIVER: Bridge = Bridge;

impl NetworkDriver for Bridge {
    fn define(&self, facts: &dyn Facts, args: &CreateArgs) -> Result<Definition> {
        define::define(facts, args)
    }
    fn plan_create(&self, net: &Network, fw: &FirewallFacts) -> Result<Plan> {
        plan_create(net, fw)
    }
    fn plan_remove(&self, net: &Network, fw: &FirewallFacts) -> Plan {
        plan_remove(net, fw)
    }
    fn plan_attach(&self, req: &AttachRequest, plan: &mut Plan) -> Result<()> {
        plan_attach(req, plan)
    }
    fn plan_detach(&self, ep: &Endpoint) -> Plan {
        plan_detach(ep)
    }
    fn inspect_notes(&self, net: &Network) -> Vec<String> {
        match net.isolated_ports {
            true => vec![
                "ports isolated: its namespaces reach the outside, never each other \
                 (cnet attaches them with their overlays)"
                    .into(),
            ],
            false => Vec::new(),
        }
    }
}

fn bridge_of(net: &Network) -> Result<&str> {
    net.bridge
        .as_deref()
        .ok_or_else(|| Error::runtime(format!("network {} has no bridge recorded", net.name)))
}

/// The bridge's MAC: pinned at creation, so it does not follow its ports as they come and go.
pub fn bridge_mac(net: &Network) -> [u8; 6] {
    net.bridge_mac
        .as_deref()
        .and_then(|m| names::parse_mac(m).ok())
        .unwrap_or_else(|| names::derived_mac(&["cnet-bridge", &net.name, &net.id]))
}

pub fn plan_create(net: &Network, fw: &FirewallFacts) -> Result<Plan> {
    let bridge = bridge_of(net)?.to_string();
    let (subnet, gateway) = match (net.subnet, net.gateway) {
        (Some(s), Some(g)) => (s, g),
        _ => {
            return Err(Error::runtime(format!(
                "network {} has no subnet",
                net.name
            )));
        }
    };
    let mut plan = Plan::default();
    plan.push(Op::CreateBridge {
        name: bridge.clone(),
        mac: bridge_mac(net),
        mtu: net.mtu,
    });
    plan.push(Op::AddAddress {
        ns: NsRef::Host,
        dev: bridge.clone(),
        addr: IpNetwork::new(gateway, subnet.prefix()).expect("prefix from a subnet"),
    });
    plan_ip_families(net, &bridge, &mut plan);
    plan.extend(super::plan_network_firewall(
        fw,
        || firewall_elements(net),
        || firewall_rules(net),
    )?);
    if !net.internal {
        // For published ports on 127.0.0.1; after the rule that drops what it would let in.
        plan.push(Op::Sysctl {
            ns: NsRef::Host,
            key: fwports::route_localnet_key(bridge_of(net)?),
            value: "1".into(),
        });
    }
    Ok(plan)
}

/// What a bridge carrying the network needs of each family: an IPv4-only network's has no
/// IPv6 at all (no link-local address, so the host sends no router or neighbour solicitations
/// and MLD reports into it); a dual-stack network's holds the IPv6 gateway (no DAD: cnet chose
/// it) and ignores router advertisements. Forwarding on, unless the network is internal: IPv4
/// always, IPv6 for a dual-stack network, whose isolation, internal and masquerade rules hold
/// for IPv6 on either backend (`table inet cnet`'s forward rules match interfaces and
/// `subnets6` masquerades; the iptables fallback writes the IPv6 subnet's rules to
/// ip6tables). Like the IPv4 one, the sysctl is not undone (other networks may rely on it).
pub fn plan_ip_families(net: &Network, bridge: &str, plan: &mut Plan) {
    match super::dual_stack::gateway_address(net) {
        None if !net.dual_stack() => plan.push(Op::DisableIpv6 {
            dev: bridge.to_string(),
        }),
        gateway6 => {
            // Its link-local address (the source of the host's neighbour solicitations for
            // forwarded traffic) without DAD: set before the first port brings carrier, so the
            // host answers for the network at once, not a second or two later.
            plan.push(super::dual_stack::no_dad(NsRef::Host, bridge));
            plan.push(super::dual_stack::ignore_router_advertisements(
                NsRef::Host,
                bridge,
            ));
            if let Some(addr) = gateway6 {
                plan.push(Op::AddAddress {
                    ns: NsRef::Host,
                    dev: bridge.to_string(),
                    addr,
                });
            }
        }
    }
    if !net.internal {
        plan.push(Op::Sysctl {
            ns: NsRef::Host,
            key: "net.ipv4.ip_forward".into(),
            value: "1".into(),
        });
        if net.dual_stack() {
            plan.push(Op::Sysctl {
                ns: NsRef::Host,
                key: IPV6_FORWARDING.into(),
                value: "1".into(),
            });
        }
    }
}

/// IPv6 forwarding for every interface. With it on, interfaces whose `accept_ra` is 1 ignore
/// router advertisements (the kernel treats the host as a router); `accept_ra=2` keeps them.
pub const IPV6_FORWARDING: &str = "net.ipv6.conf.all.forwarding";

pub fn plan_remove(net: &Network, fw: &FirewallFacts) -> Plan {
    let mut plan = Plan::default();
    if let Ok(op) =
        super::plan_network_firewall_removal(fw, || firewall_elements(net), || firewall_rules(net))
    {
        plan.push(op);
    }
    if let Some(b) = &net.bridge {
        plan.push(Op::DeleteLink {
            ns: NsRef::Host,
            dev: b.clone(),
        });
    }
    plan
}

pub fn plan_attach(req: &AttachRequest, plan: &mut Plan) -> Result<()> {
    let net = req.network;
    let t = req.target;
    let address = req
        .address
        .ok_or_else(|| Error::runtime("bridge endpoints need an address"))?;
    let host = names::host_veth_name(&net.name, &t.key);
    plan.push(Op::CreateVeth {
        host: host.clone(),
        peer: req.ifname.clone(),
        peer_ns: t.ns.clone(),
        mtu: net.mtu,
        peer_mac: Some(req.mac.unwrap_or_else(|| names::mac_from_ip(address.ip()))),
        master: Some(bridge_of(net)?.to_string()),
    });
    // Both ends without IPv6 autoconfiguration. The host end is a bridge port, which bridges
    // IPv6 frames without IPv6 of its own, on dual-stack networks too: it goes up only once
    // IPv6 is off on it, so the kernel never configures IPv6 there (a link-local address, DAD,
    // multicast joins) only to undo it. The namespace end of a dual-stack network gets its
    // IPv6 address from cnet (`configure_interface`).
    plan.push(Op::DisableIpv6 { dev: host.clone() });
    // Before it is up: no frame ever passes between two isolated ports.
    if net.isolated_ports {
        plan.push(Op::IsolatePort { dev: host.clone() });
    }
    plan.push(Op::LinkUp {
        ns: NsRef::Host,
        dev: host,
    });
    plan.push(Op::NoIpv6Autoconf {
        ns: t.ns.clone(),
        dev: req.ifname.clone(),
    });
    super::configure_interface(req, address, plan);
    Ok(())
}

/// The map entries of a namespace's published ports on a bridge network: to its IPv4
/// address, and to its IPv6 address too on a dual-stack network.
pub fn publish_entries(
    address: Option<IpNetwork>,
    address6: Option<IpNetwork>,
    ports: &[PortMapping],
) -> Result<Vec<PortEntry>> {
    if ports.is_empty() {
        return Ok(Vec::new());
    }
    let addrs: Vec<_> = address.iter().chain(&address6).map(|a| a.ip()).collect();
    if addrs.is_empty() {
        return Err(Error::runtime("published ports need an address"));
    }
    published::entries(&addrs, ports)
}

/// Open published ports: appended to the attach plan, after the namespace's links (so rollback
/// closes the ports first).
pub fn plan_publish(
    address: Option<IpNetwork>,
    address6: Option<IpNetwork>,
    ports: &[PortMapping],
) -> Result<Vec<Op>> {
    let entries = publish_entries(address, address6, ports)?;
    Ok(if entries.is_empty() {
        Vec::new()
    } else {
        vec![Op::PublishPorts(entries)]
    })
}

/// The map entries of an endpoint's published ports: to its own addresses, or, on an overlay,
/// to its namespace's address on the gateway bridge.
pub fn endpoint_publish_entries(ep: &Endpoint) -> Result<Vec<PortEntry>> {
    match ep.publish_to {
        Some(to) => publish_entries(
            Some(IpNetwork::from(to)),
            ep.publish_to6.map(IpNetwork::from),
            &ep.ports,
        ),
        None => publish_entries(ep.address, ep.address6, &ep.ports),
    }
}

/// Close an endpoint's published ports: exactly the entries `plan_publish` added.
pub fn plan_unpublish(ep: &Endpoint) -> Plan {
    let mut plan = Plan::default();
    if let Ok(entries) = endpoint_publish_entries(ep)
        && !entries.is_empty()
    {
        plan.push(Op::UnpublishPorts(entries));
    }
    plan
}

pub fn plan_detach(ep: &Endpoint) -> Plan {
    let mut plan = Plan::default();
    // Deleting the host end takes the namespace end with it, and works even when the namespace
    // is already gone (then the pair is gone too, and the delete finds nothing: fine).
    if let Some(h) = &ep.host_ifname {
        plan.push(Op::RetireVeth {
            host: h.clone(),
            peer_ns: ep.ns_ref(),
            peer: ep.ifname.clone(),
        });
    }
    plan
}

#[cfg(test)]
mod tests;
