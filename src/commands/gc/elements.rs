//! Elements of cnet's nftables tables that nothing in the state accounts for: published ports
//! no endpoint publishes (a killed detach, an endpoint file removed by hand) and tunnel-filter
//! entries of no overlay or of a peer the overlay no longer has. They are read back from the
//! kernel and removed one by one, each a repair of its own, so gc says what it removed.

use super::Repair;
use crate::commands::Ctx;
use crate::drivers;
use crate::error::Result;
use crate::firewall::inet::NetElement;
use crate::firewall::layout::{DNAT_CHAIN, TUNNEL_CHAIN};
use crate::firewall::listing::network_of;
use crate::firewall::published::PortEntry;
use crate::firewall::tunnel::TunnelEntry;
use crate::firewall::{Backend, FirewallFacts, entry_rules};
use crate::model::{Endpoint, Network};
use crate::plan::{Op, Plan};

/// The stale elements, as repairs.
pub fn repairs(ctx: &Ctx, networks: &[Network], endpoints: &[Endpoint]) -> Result<Vec<Repair>> {
    if ctx.firewall_backend()? == Backend::Iptables {
        return stale_rules(ctx, networks, endpoints);
    }
    let held = match ctx.host.borrow_mut().firewall_elements() {
        Ok(held) => held,
        // No nf_tables, or not allowed to look (a dry run as a user): nothing to say about it.
        Err(e) => {
            ctx.say(format!("gc: not checking nftables elements: {e}"));
            return Ok(Vec::new());
        }
    };
    let (ports, tunnel) = expected(networks, endpoints);
    let mut out = Vec::new();
    for e in held.ports.into_iter().filter(|e| !ports.contains(e)) {
        out.push(repair(
            format!("published port {}", e.element_text()),
            "no endpoint publishes it",
            Op::UnpublishPorts(vec![e]),
        ));
    }
    for e in held.tunnel.into_iter().filter(|e| !tunnel.contains(e)) {
        let object = match e {
            TunnelEntry::Guarded { .. } => format!("tunnel filter {}", e.element_text()),
            TunnelEntry::Peer { .. } => format!("tunnel peer {}", e.element_text()),
        };
        out.push(repair(
            object,
            "no overlay has it",
            Op::DisallowTunnel(vec![e]),
        ));
    }
    Ok(out)
}

/// With the iptables backend, the same as rules: DNAT and tunnel-filter rules of a network
/// that exists, which no endpoint publishes or no overlay has (those of networks that are gone
/// are `leftovers`' to remove).
fn stale_rules(ctx: &Ctx, networks: &[Network], endpoints: &[Endpoint]) -> Result<Vec<Repair>> {
    let mut wanted = Vec::new();
    for ep in endpoints {
        for op in drivers::bridge::plan_unpublish(ep).ops {
            if let Op::UnpublishPorts(es) = op {
                wanted.extend(entry_rules::port_rules(&ep.network, &es));
            }
        }
    }
    for net in networks {
        wanted.extend(entry_rules::tunnel_rules(&net.name, &tunnel_of(net)));
    }
    let mut out = Vec::new();
    for rule in ctx.host.borrow_mut().cnet_rules()? {
        let ours = [DNAT_CHAIN, TUNNEL_CHAIN].contains(&rule.chain.as_str());
        let live = network_of(&rule).is_some_and(|n| networks.iter().any(|net| net.name == n));
        if ours && live && !wanted.contains(&rule) {
            out.push(repair(
                format!("firewall rule {}", rule.command_line("-D")),
                "no endpoint or overlay has it",
                Op::DeleteRules(vec![rule]),
            ));
        }
    }
    Ok(out)
}

/// The tunnel-filter entries of one network (none but an overlay's).
fn tunnel_of(net: &Network) -> Vec<TunnelEntry> {
    expected(std::slice::from_ref(net), &[]).1
}

fn repair(object: String, problem: &str, op: Op) -> Repair {
    Repair {
        object,
        problem: problem.into(),
        action: "removed".into(),
        plan: Plan { ops: vec![op] },
        builds: false,
        detach: None,
        failed: false,
    }
}

/// What the state accounts for: the ports its endpoints publish (as their detach would take
/// them out) and the tunnel entries of its overlays (as their creation puts them in).
fn expected(networks: &[Network], endpoints: &[Endpoint]) -> (Vec<PortEntry>, Vec<TunnelEntry>) {
    let mut ports = Vec::new();
    for ep in endpoints {
        for op in drivers::bridge::plan_unpublish(ep).ops {
            if let Op::UnpublishPorts(es) = op {
                ports.extend(es);
            }
        }
    }
    let mut tunnel = Vec::new();
    let facts = FirewallFacts::default();
    for net in networks {
        for op in drivers::plan_create(net, &facts)
            .map(|p| p.ops)
            .unwrap_or_default()
        {
            match op {
                Op::AllowTunnel(es) => tunnel.extend(es),
                // An overlay's tunnel entries go in with its network's elements.
                Op::AddNetwork { elements, .. } => {
                    tunnel.extend(elements.into_iter().filter_map(|e| match e {
                        NetElement::Tunnel(t) => Some(t),
                        _ => None,
                    }))
                }
                _ => {}
            }
        }
    }
    (ports, tunnel)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::{published, tunnel};
    use std::net::Ipv4Addr;

    #[test]
    fn elements_read_back_are_the_entries_that_made_them() {
        let any = PortEntry {
            host_ip: None,
            proto: 6,
            host_port: 8080,
            addr: Ipv4Addr::new(10, 1, 0, 2).into(),
            port: 80,
        };
        let one = PortEntry {
            host_ip: Some(Ipv4Addr::LOCALHOST.into()),
            proto: 17,
            ..any
        };
        let any6 = PortEntry {
            addr: "fd00:1::2".parse().unwrap(),
            ..any
        };
        let one6 = PortEntry {
            host_ip: Some("fd00::1".parse().unwrap()),
            ..any6
        };
        for e in [any, one, any6, one6] {
            assert_eq!(
                PortEntry::from_element(e.map(), &e.key(), &e.data()),
                Some(e)
            );
        }
        assert_eq!(
            PortEntry::from_element(published::MAP_IP, &any.key(), &any.data()),
            None
        );
        assert_eq!(
            PortEntry::from_element(published::MAP6_ANY, &any.key(), &any.data()),
            None
        );
        for e in tunnel::entries(4789, 0xabcdef, &[Ipv4Addr::new(192, 0, 2, 2)]) {
            assert_eq!(TunnelEntry::from_element(e.set(), &e.key()), Some(e));
        }
        assert_eq!(TunnelEntry::from_element(tunnel::SET_PEERS, &[0; 8]), None);
    }
}
