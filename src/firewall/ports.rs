//! The rules of published ports. Pure: no iptables calls here.
//!
//! A published port `HOSTPORT:PORT` of a namespace at CIP on bridge BR is three rules, tagged
//! `cnet:NETWORK:NAMESPACE`:
//!
//! ```text
//! filter CNET-FORWARD    -d CIP/32 -o BR -p tcp --dport PORT -m conntrack --ctstate DNAT -j ACCEPT
//! nat    CNET-PREROUTING [-d HOSTIP/32] -p tcp --dport HOSTPORT -j DNAT --to-destination CIP:PORT
//! nat    CNET-OUTPUT     [-d HOSTIP/32] -p tcp --dport HOSTPORT -j DNAT --to-destination CIP:PORT
//! ```
//!
//! PREROUTING's DNAT serves traffic arriving from elsewhere: another machine, a namespace on
//! the same network (hairpin) or on another cnet network; OUTPUT's serves the host itself, on
//! its own addresses and on 127.0.0.1. Both chains are entered only for packets addressed to
//! one of the host's addresses (`-m addrtype --dst-type LOCAL`, see `layout`). There is no
//! userland proxy. A port range is one rule of each kind: the same range on both sides keeps
//! the port; a different one is shifted as a block (`CIP:9000-9010/8000`).
//!
//! The ACCEPT matches `--ctstate DNAT`: only connections that came through a published host
//! port are let in, never direct ones to CIP. The same conntrack state lets them through
//! isolation (`layout::bridge_network_rules`): a namespace of another cnet network reaches the
//! port through a host address, as in Docker (publishing is an explicit opening), while it
//! still cannot reach CIP directly.
//!
//! Every non-internal bridge network also gets, once ([`network_rules`]):
//!
//! ```text
//! raw CNET-RAW-PREROUTING -d 127.0.0.0/8 -i BR -j DROP
//! nat CNET-POSTROUTING    -s SUBNET -o BR -m conntrack --ctstate DNAT -j MASQUERADE
//! nat CNET-POSTROUTING    -s 127.0.0.0/8 -o BR -j MASQUERADE
//! sysctl net.ipv4.conf.BR.route_localnet=1
//! ```
//!
//! The host reaching 127.0.0.1:HOSTPORT sends a packet from 127.0.0.1 out of BR after the
//! DNAT: the kernel allows that only with `route_localnet` on BR; it is masqueraded to the
//! gateway address, and the replies, addressed back to 127.0.0.1 once un-NATed, are accepted on
//! BR for the same reason. `route_localnet` would also let a namespace on the bridge send to
//! the host's 127.0.0.1 services directly (a packet for 127/8 arriving on BR is no longer a
//! martian): the raw rule drops those before routing. Replies of the host's own connections
//! still carry the gateway address at that point (conntrack restores 127.0.0.1 later), so the
//! drop never hits them. Hairpin traffic (a namespace of the network reaching a published port
//! of the same network through a host address) is masqueraded too, or the server would answer
//! the client directly, from an address the client never talked to.

use super::layout::{
    BridgeFw, FORWARD_CHAIN, OUTPUT_CHAIN, POSTROUTING_CHAIN, PREROUTING_CHAIN,
    RAW_PREROUTING_CHAIN, network_comment,
};
use super::rule::{Match, Rule, Table, Target};
use crate::model::PortMapping;
use ipnetwork::Ipv4Network;
use std::net::Ipv4Addr;

/// The comment of a namespace's port rules: cnet, the network and the namespace (its state key:
/// its name, or `@ino-N` for one given by path).
pub fn port_comment(network: &str, key: &str) -> String {
    format!("cnet:{network}:{key}")
}

/// The sysctl that lets 127.0.0.1 traffic through a bridge (slashes, so a bridge name with a
/// dot stays one path component).
pub fn route_localnet_key(bridge: &str) -> String {
    if bridge.contains('.') {
        format!("net/ipv4/conf/{bridge}/route_localnet")
    } else {
        format!("net.ipv4.conf.{bridge}.route_localnet")
    }
}

fn loopback() -> Ipv4Network {
    Ipv4Network::new(Ipv4Addr::new(127, 0, 0, 0), 8).expect("valid prefix")
}

fn host(addr: Ipv4Addr) -> Ipv4Network {
    Ipv4Network::new(addr, 32).expect("valid prefix")
}

/// The rules a bridge network needs so that its namespaces can publish ports (none for an
/// internal network, which publishes nothing), in the order to append them: the drop first.
pub fn network_rules(n: &BridgeFw) -> Vec<Rule> {
    if n.internal {
        return Vec::new();
    }
    let comment = network_comment(n.network);
    let out = || Match::OutIface {
        name: n.bridge.into(),
        negate: false,
    };
    vec![
        Rule {
            table: Table::Raw,
            chain: RAW_PREROUTING_CHAIN.into(),
            matches: vec![
                Match::Destination {
                    net: loopback(),
                    negate: false,
                },
                Match::InIface {
                    name: n.bridge.into(),
                    negate: false,
                },
            ],
            target: Target::Drop,
            comment: comment.clone(),
        },
        Rule {
            table: Table::Nat,
            chain: POSTROUTING_CHAIN.into(),
            matches: vec![
                Match::Source {
                    net: n.subnet,
                    negate: false,
                },
                out(),
                Match::CtState(vec!["DNAT".into()]),
            ],
            target: Target::Masquerade,
            comment: comment.clone(),
        },
        Rule {
            table: Table::Nat,
            chain: POSTROUTING_CHAIN.into(),
            matches: vec![
                Match::Source {
                    net: loopback(),
                    negate: false,
                },
                out(),
            ],
            target: Target::Masquerade,
            comment,
        },
    ]
}

/// What the rules of one namespace's published ports need to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishFw<'a> {
    pub network: &'a str,
    pub bridge: &'a str,
    /// The namespace's state key (names it in the comments).
    pub key: &'a str,
    /// The namespace's address on the network.
    pub addr: Ipv4Addr,
}

/// The rules of one published port, in the order to append them (the opening into the bridge
/// first, the DNATs that send traffic to it last; delete them in the reverse order).
pub fn port_rules(e: &PublishFw, m: &PortMapping) -> Vec<Rule> {
    let comment = port_comment(e.network, e.key);
    let proto = Match::Protocol(m.protocol.clone());
    let dnat_target = if m.container_port == m.container_port_end {
        Target::Dnat {
            addr: e.addr,
            port: Some((m.container_port, m.container_port)),
        }
    } else if m.host_port == m.container_port {
        // The same range on both sides: keep the port.
        Target::Dnat {
            addr: e.addr,
            port: None,
        }
    } else {
        Target::DnatShift {
            addr: e.addr,
            from: m.container_port,
            to: m.container_port_end,
            base: m.host_port,
        }
    };
    let dnat = |chain: &str| {
        let mut matches = Vec::new();
        if let Some(ip) = m.host_ip {
            matches.push(Match::Destination {
                net: host(ip),
                negate: false,
            });
        }
        matches.push(proto.clone());
        matches.push(Match::DestPort {
            from: m.host_port,
            to: m.host_port_end,
        });
        Rule {
            table: Table::Nat,
            chain: chain.into(),
            matches,
            target: dnat_target.clone(),
            comment: comment.clone(),
        }
    };
    vec![
        Rule {
            table: Table::Filter,
            chain: FORWARD_CHAIN.into(),
            matches: vec![
                Match::Destination {
                    net: host(e.addr),
                    negate: false,
                },
                Match::OutIface {
                    name: e.bridge.into(),
                    negate: false,
                },
                proto.clone(),
                Match::DestPort {
                    from: m.container_port,
                    to: m.container_port_end,
                },
                Match::CtState(vec!["DNAT".into()]),
            ],
            target: Target::Accept,
            comment: comment.clone(),
        },
        dnat(PREROUTING_CHAIN),
        dnat(OUTPUT_CHAIN),
    ]
}

/// The rules of all of a namespace's published ports, in the order to append them, each rule
/// once (two mappings to one container port share their ACCEPT).
pub fn endpoint_rules(e: &PublishFw, ports: &[PortMapping]) -> Vec<Rule> {
    let mut out: Vec<Rule> = Vec::new();
    for m in ports {
        for r in port_rules(e, m) {
            if !out.contains(&r) {
                out.push(r);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::layout::{USER_CHAIN, base_chains};

    fn ep() -> PublishFw<'static> {
        PublishFw {
            network: "lab",
            bridge: "cn-lab",
            key: "ns1",
            addr: "10.1.0.2".parse().unwrap(),
        }
    }

    fn rendered(rules: &[Rule]) -> Vec<String> {
        rules.iter().map(|r| r.to_string()).collect()
    }

    fn spec(s: &str) -> PortMapping {
        crate::ports::parse(s).unwrap()
    }

    #[test]
    fn one_port_is_an_accept_and_two_dnats() {
        assert_eq!(
            rendered(&port_rules(&ep(), &spec("8080:80"))),
            vec![
                "iptables -t filter -A CNET-FORWARD -d 10.1.0.2/32 -o cn-lab -p tcp --dport 80 -m conntrack --ctstate DNAT -m comment --comment cnet:lab:ns1 -j ACCEPT",
                "iptables -t nat -A CNET-PREROUTING -p tcp --dport 8080 -m comment --comment cnet:lab:ns1 -j DNAT --to-destination 10.1.0.2:80",
                "iptables -t nat -A CNET-OUTPUT -p tcp --dport 8080 -m comment --comment cnet:lab:ns1 -j DNAT --to-destination 10.1.0.2:80",
            ]
        );
    }

    #[test]
    fn a_host_address_restricts_the_dnats_only() {
        let r = rendered(&port_rules(&ep(), &spec("127.0.0.1:9090:80/udp")));
        assert_eq!(
            r[0],
            "iptables -t filter -A CNET-FORWARD -d 10.1.0.2/32 -o cn-lab -p udp --dport 80 -m conntrack --ctstate DNAT -m comment --comment cnet:lab:ns1 -j ACCEPT"
        );
        assert_eq!(
            r[1],
            "iptables -t nat -A CNET-PREROUTING -d 127.0.0.1/32 -p udp --dport 9090 -m comment --comment cnet:lab:ns1 -j DNAT --to-destination 10.1.0.2:80"
        );
        assert!(r[2].contains("-A CNET-OUTPUT -d 127.0.0.1/32 -p udp --dport 9090"));
    }

    #[test]
    fn a_range_is_one_rule_of_each_kind() {
        let same = rendered(&port_rules(&ep(), &spec("8000-8010:8000-8010/udp")));
        assert_eq!(same.len(), 3);
        assert!(same[0].contains("-p udp --dport 8000:8010 "), "{}", same[0]);
        assert!(
            same[1].ends_with("--dport 8000:8010 -m comment --comment cnet:lab:ns1 -j DNAT --to-destination 10.1.0.2"),
            "{}",
            same[1]
        );
        let shifted = rendered(&port_rules(&ep(), &spec("8000-8002:7000-7002")));
        assert!(shifted[0].contains("--dport 7000:7002 "), "{}", shifted[0]);
        assert!(
            shifted[2].ends_with("--dport 8000:8002 -m comment --comment cnet:lab:ns1 -j DNAT --to-destination 10.1.0.2:7000-7002/8000"),
            "{}",
            shifted[2]
        );
    }

    #[test]
    fn shared_container_port_gives_one_accept() {
        let rules = endpoint_rules(&ep(), &[spec("8080:80"), spec("8081:80")]);
        assert_eq!(rules.len(), 5, "{:#?}", rendered(&rules));
        assert_eq!(rules.iter().filter(|r| r.table == Table::Filter).count(), 1);
    }

    #[test]
    fn network_rules_drop_loopback_then_masquerade() {
        let n = BridgeFw {
            network: "lab",
            bridge: "cn-lab",
            subnet: "10.1.0.0/24".parse().unwrap(),
            internal: false,
        };
        assert_eq!(
            rendered(&network_rules(&n)),
            vec![
                "iptables -t raw -A CNET-RAW-PREROUTING -d 127.0.0.0/8 -i cn-lab -m comment --comment cnet:lab -j DROP",
                "iptables -t nat -A CNET-POSTROUTING -s 10.1.0.0/24 -o cn-lab -m conntrack --ctstate DNAT -m comment --comment cnet:lab -j MASQUERADE",
                "iptables -t nat -A CNET-POSTROUTING -s 127.0.0.0/8 -o cn-lab -m comment --comment cnet:lab -j MASQUERADE",
            ]
        );
        assert!(
            network_rules(&BridgeFw {
                internal: true,
                ..n
            })
            .is_empty()
        );
    }

    #[test]
    fn every_rule_names_cnet_network_and_namespace_in_a_cnet_chain() {
        let chains = base_chains();
        for r in endpoint_rules(
            &ep(),
            &[spec("1.2.3.4:80-81:80-81/sctp"), spec("53:53/udp")],
        ) {
            assert_eq!(r.comment, "cnet:lab:ns1");
            assert!(chains.contains(&(r.table, r.chain.as_str())), "{r}");
            assert_ne!(r.chain, USER_CHAIN);
        }
    }

    #[test]
    fn route_localnet_key_survives_dotted_bridge_names() {
        assert_eq!(
            route_localnet_key("cn-lab"),
            "net.ipv4.conf.cn-lab.route_localnet"
        );
        assert_eq!(
            route_localnet_key("br.10"),
            "net/ipv4/conf/br.10/route_localnet"
        );
    }
}
