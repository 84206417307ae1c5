//! Published ports and the overlays' tunnel filter with the iptables backend: the same
//! entries `table inet cnet` holds as map and set elements (`published`, `tunnel`), as
//! iptables and ip6tables rules tagged `cnet:NETWORK`. Pure: no iptables calls here.
//!
//! ```text
//! nat CNET-DNAT  (jumped from PREROUTING and OUTPUT for the host's own addresses)
//!   [-d HOSTIP] -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.1.0.2:80
//!   (ip6tables: the same to [fd00:1::2]:80, for a dual-stack namespace)
//! raw CNET-TUNNEL  (jumped from PREROUTING)
//!   -s PEER -p udp -m udp --dport 4789 -m u32 --u32 VNI -j RETURN   one per peer, at the top
//!   -p udp -m udp --dport 4789 -m u32 --u32 VNI -j DROP             one per overlay
//! ```
//!
//! One DNAT rule per host port (a range is one per port, keeping each port's offset, as the
//! maps have one element per port): what a packet for a published port meets is one chain
//! walk, where the table does one lookup. Every peer's RETURN is inserted at the top of
//! CNET-TUNNEL and every overlay's DROP appended at its end, so whatever order peers come and
//! go in, a peer's packets return before any drop and everyone else's for a guarded port and
//! VNI are dropped; packets of no overlay walk the chain and return at its end. The rest a
//! published port needs (the accept into the bridge, the hairpin masquerade) is per network,
//! in `ports`.

use super::Backend;
use super::layout::{DNAT_CHAIN, TUNNEL_CHAIN, network_comment};
use super::published::{PortEntry, proto_name};
use super::rule::{Match, Rule, Table, Target};
use super::tunnel::TunnelEntry;
use crate::model::family::Family;
use crate::plan::Op;
use ipnetwork::IpNetwork;
use std::net::SocketAddr;

/// The DNAT rule of each published port, in ip6tables for an IPv6 one.
pub fn port_rules(network: &str, entries: &[PortEntry]) -> Vec<Rule> {
    entries
        .iter()
        .map(|e| {
            let mut matches = Vec::new();
            if let Some(ip) = e.host_ip {
                matches.push(Match::Destination {
                    net: IpNetwork::from(ip),
                    negate: false,
                });
            }
            matches.push(Match::DestPort {
                proto: proto_name(e.proto),
                port: e.host_port,
            });
            Rule {
                family: Family::of(e.addr),
                table: Table::Nat,
                chain: DNAT_CHAIN.into(),
                matches,
                target: Target::Dnat(SocketAddr::new(e.addr, e.port)),
                comment: network_comment(network),
            }
        })
        .collect()
}

/// The tunnel filter's rules for these entries: a guard's DROP, a peer's RETURN.
pub fn tunnel_rules(network: &str, entries: &[TunnelEntry]) -> Vec<Rule> {
    entries
        .iter()
        .map(|e| {
            let (dstport, vni, peer, target) = match *e {
                TunnelEntry::Guarded { dstport, vni } => (dstport, vni, None, Target::Drop),
                TunnelEntry::Peer { dstport, vni, addr } => {
                    (dstport, vni, Some(addr), Target::Return)
                }
            };
            let mut matches = Vec::new();
            if let Some(addr) = peer {
                matches.push(Match::Source {
                    net: IpNetwork::from(std::net::IpAddr::V4(addr)),
                    negate: false,
                });
            }
            matches.push(Match::DestPort {
                proto: "udp".into(),
                port: dstport,
            });
            matches.push(Match::Vni(vni));
            Rule {
                family: Family::V4,
                table: Table::Raw,
                chain: TUNNEL_CHAIN.into(),
                matches,
                target,
                comment: network_comment(network),
            }
        })
        .collect()
}

/// A step of published ports or the tunnel filter as `backend` takes it: with nftables as it
/// is (map and set elements), with iptables as the rules of `network` that do the same (its
/// undo, deleting them, closes exactly what it opened). Any other step is returned unchanged.
pub fn on_backend(backend: Backend, network: &str, op: Op) -> Op {
    if backend != Backend::Iptables {
        return op;
    }
    match op {
        Op::PublishPorts(es) => Op::AppendRules(port_rules(network, &es)),
        Op::UnpublishPorts(es) => Op::DeleteRules(port_rules(network, &es)),
        Op::AllowTunnel(es) => Op::AppendRules(tunnel_rules(network, &es)),
        Op::DisallowTunnel(es) => Op::DeleteRules(tunnel_rules(network, &es)),
        other => other,
    }
}

/// How many host ports the DNAT rules among `rules` publish: a dual-stack port, one rule in
/// iptables and one in ip6tables, counts once (as in `published::count_ports`).
pub fn count_ports(rules: &[Rule]) -> usize {
    rules
        .iter()
        .filter(|r| r.chain == DNAT_CHAIN && matches!(r.target, Target::Dnat(_)))
        .map(|r| &r.matches)
        .collect::<std::collections::HashSet<_>>()
        .len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::listing::cnet_rules;
    use crate::firewall::{published, tunnel};

    fn rendered(rules: &[Rule]) -> Vec<String> {
        rules.iter().map(Rule::to_string).collect()
    }

    fn ports(specs: &[&str], addrs: &[&str]) -> Vec<PortEntry> {
        let specs: Vec<_> = specs
            .iter()
            .map(|s| crate::ports::parse(s).unwrap())
            .collect();
        let addrs: Vec<_> = addrs.iter().map(|a| a.parse().unwrap()).collect();
        published::entries(&addrs, &specs).unwrap()
    }

    #[test]
    fn a_port_is_one_dnat_rule_per_family_and_host_port() {
        let es = ports(
            &[
                "8080:80",
                "127.0.0.1:9090:90/udp",
                "8000-8001:9000-9001/sctp",
            ],
            &["10.1.0.2", "fd00:1::2"],
        );
        assert_eq!(
            rendered(&port_rules("lab", &es)),
            [
                "iptables -t nat -A CNET-DNAT -p tcp -m tcp --dport 8080 -m comment --comment cnet:lab -j DNAT --to-destination 10.1.0.2:80",
                "ip6tables -t nat -A CNET-DNAT -p tcp -m tcp --dport 8080 -m comment --comment cnet:lab -j DNAT --to-destination '[fd00:1::2]:80'",
                "iptables -t nat -A CNET-DNAT -d 127.0.0.1/32 -p udp -m udp --dport 9090 -m comment --comment cnet:lab -j DNAT --to-destination 10.1.0.2:90",
                "iptables -t nat -A CNET-DNAT -p sctp -m sctp --dport 8000 -m comment --comment cnet:lab -j DNAT --to-destination 10.1.0.2:9000",
                "iptables -t nat -A CNET-DNAT -p sctp -m sctp --dport 8001 -m comment --comment cnet:lab -j DNAT --to-destination 10.1.0.2:9001",
                "ip6tables -t nat -A CNET-DNAT -p sctp -m sctp --dport 8000 -m comment --comment cnet:lab -j DNAT --to-destination '[fd00:1::2]:9000'",
                "ip6tables -t nat -A CNET-DNAT -p sctp -m sctp --dport 8001 -m comment --comment cnet:lab -j DNAT --to-destination '[fd00:1::2]:9001'",
            ]
        );
    }

    #[test]
    fn peers_return_at_the_top_and_the_guard_drops_at_the_end() {
        let es = tunnel::entries(4789, 5000, &["192.0.2.2".parse().unwrap()]);
        assert_eq!(
            rendered(&tunnel_rules("ov", &es)),
            [
                "iptables -t raw -A CNET-TUNNEL -p udp -m udp --dport 4789 -m u32 --u32 '0x0>>0x16&0x3c@0xc>>0x8=0x1388' -m comment --comment cnet:ov -j DROP",
                "iptables -t raw -I CNET-TUNNEL -s 192.0.2.2/32 -p udp -m udp --dport 4789 -m u32 --u32 '0x0>>0x16&0x3c@0xc>>0x8=0x1388' -m comment --comment cnet:ov -j RETURN",
            ]
        );
    }

    /// What iptables-save prints of them (as iptables 1.8.9 does) reads back as the same rules,
    /// so gc and reset find them as cnet wrote them.
    #[test]
    fn saved_rules_read_back_as_written() {
        let v4 = "*raw\n:CNET-TUNNEL - [0:0]\n\
            -A CNET-TUNNEL -s 192.0.2.2/32 -p udp -m udp --dport 4789 -m u32 --u32 \"0x0>>0x16&0x3c@0xc>>0x8=0x1388\" -m comment --comment \"cnet:ov\" -j RETURN\n\
            -A CNET-TUNNEL -p udp -m udp --dport 4789 -m u32 --u32 \"0x0>>0x16&0x3c@0xc>>0x8=0x1388\" -m comment --comment \"cnet:ov\" -j DROP\n\
            COMMIT\n*nat\n\
            -A PREROUTING -m addrtype --dst-type LOCAL -j CNET-DNAT\n\
            -A CNET-DNAT -d 127.0.0.1/32 -p tcp -m tcp --dport 8080 -m comment --comment \"cnet:lab\" -j DNAT --to-destination 10.1.0.2:80\n\
            COMMIT\n";
        let v6 = "*nat\n-A CNET-DNAT -p udp -m udp --dport 8080 -m comment --comment \"cnet:lab\" -j DNAT --to-destination [fd00::2]:80\nCOMMIT\n";
        let tunnel = tunnel::entries(4789, 5000, &["192.0.2.2".parse().unwrap()]);
        let mut expected = tunnel_rules("ov", &tunnel);
        expected.swap(0, 1);
        expected.extend(port_rules(
            "lab",
            &ports(&["127.0.0.1:8080:80"], &["10.1.0.2"]),
        ));
        assert_eq!(cnet_rules(v4, Family::V4), expected);
        assert_eq!(
            cnet_rules(v6, Family::V6),
            port_rules("lab", &ports(&["8080:80/udp"], &["fd00::2"]))
        );
    }

    #[test]
    fn a_dual_stack_port_counts_once() {
        let es = ports(
            &["8080:80", "127.0.0.1:8081:80", "8082-8083:80-81/udp"],
            &["10.1.0.2", "fd00:1::2"],
        );
        let mut rules = port_rules("lab", &es);
        rules.extend(tunnel_rules("ov", &tunnel::entries(4789, 1, &[])));
        assert_eq!(count_ports(&rules), 4);
    }

    #[test]
    fn the_backend_chooses_elements_or_rules() {
        let es = ports(&["8080:80"], &["10.1.0.2"]);
        let op = Op::PublishPorts(es.clone());
        assert_eq!(on_backend(Backend::Nftables, "lab", op.clone()), op);
        let open = on_backend(Backend::Iptables, "lab", op);
        assert_eq!(open, Op::AppendRules(port_rules("lab", &es)));
        assert_eq!(
            open.undo(),
            Some(on_backend(Backend::Iptables, "lab", Op::UnpublishPorts(es)))
        );
        let guard = tunnel::entries(4789, 7, &[]);
        assert_eq!(
            on_backend(Backend::Iptables, "ov", Op::DisallowTunnel(guard.clone())),
            Op::DeleteRules(tunnel_rules("ov", &guard))
        );
    }
}
