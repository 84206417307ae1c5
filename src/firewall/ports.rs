//! What a bridge network's published ports need of iptables. Pure: no iptables calls here.
//!
//! The DNAT of each published port is an element of cnet's nftables maps
//! (`firewall::published`): `tcp . HOSTPORT : CIP . PORT`, looked up for packets addressed to
//! one of the host's own addresses; with the iptables backend, a rule of CNET-DNAT doing the
//! same (`firewall::entry_rules`). There is no userland proxy. PREROUTING's lookup serves
//! traffic arriving from elsewhere: another machine, a namespace on the same network (hairpin)
//! or on another cnet network; OUTPUT's serves the host itself, on its own addresses and on
//! 127.0.0.1. Beside those, every non-internal bridge network gets, once
//! ([`network_rules`]):
//!
//! ```text
//! raw    CNET-RAW-PREROUTING -d 127.0.0.0/8 -i BR -j DROP
//! nat    CNET-POSTROUTING    -s SUBNET -o BR -m conntrack --ctstate DNAT -j MASQUERADE
//! nat    CNET-POSTROUTING    -s 127.0.0.0/8 -o BR -j MASQUERADE
//! filter CNET-FORWARD        -o BR -m conntrack --ctstate DNAT -j ACCEPT
//! sysctl net.ipv4.conf.BR.route_localnet=1
//! ```
//!
//! The ACCEPT matches `--ctstate DNAT`: only connections that came through a DNAT into the
//! bridge — a published host port, where cnet's map sent them to exactly one namespace's
//! address and port — are let in, never direct ones to a namespace's address. The same
//! conntrack state lets them through isolation (`layout::bridge_network_rules`): a namespace of
//! another cnet network reaches the port through a host address, as in Docker (publishing is an
//! explicit opening), while it still cannot reach the namespace directly.
//!
//! A dual-stack network gets the two rules of its IPv6 subnet in ip6tables too (the masquerade
//! of hairpin traffic and the ACCEPT); IPv6 has no `route_localnet`, so no loopback rules.
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
    BridgeFw, FORWARD_CHAIN, POSTROUTING_CHAIN, RAW_PREROUTING_CHAIN, network_comment,
};
use super::rule::{Match, Rule, Table, Target};
use crate::model::family::Family;
use ipnetwork::{IpNetwork, Ipv4Network};
use std::net::Ipv4Addr;

/// The sysctl that lets 127.0.0.1 traffic through a bridge (slashes, so a bridge name with a
/// dot stays one path component).
pub fn route_localnet_key(bridge: &str) -> String {
    if bridge.contains('.') {
        format!("net/ipv4/conf/{bridge}/route_localnet")
    } else {
        format!("net.ipv4.conf.{bridge}.route_localnet")
    }
}

fn loopback() -> IpNetwork {
    IpNetwork::V4(Ipv4Network::new(Ipv4Addr::new(127, 0, 0, 0), 8).expect("valid prefix"))
}

/// The rules a bridge network needs so that its namespaces can publish ports (none for an
/// internal network, which publishes nothing), in the order to append them: the drop first.
/// For an IPv6 subnet, the hairpin masquerade and the ACCEPT only.
pub fn network_rules(n: &BridgeFw) -> Vec<Rule> {
    if n.internal {
        return Vec::new();
    }
    let comment = network_comment(n.network);
    let family = n.family();
    let rule = |table, chain: &str, matches, target| Rule {
        family,
        table,
        chain: chain.into(),
        matches,
        target,
        comment: comment.clone(),
    };
    let out = || Match::OutIface {
        name: n.bridge.into(),
        negate: false,
    };
    let from = |net| Match::Source { net, negate: false };
    let dnat = || Match::CtState(vec!["DNAT".into()]);
    let hairpin = rule(
        Table::Nat,
        POSTROUTING_CHAIN,
        vec![from(n.subnet), out(), dnat()],
        Target::Masquerade,
    );
    let accept = rule(
        Table::Filter,
        FORWARD_CHAIN,
        vec![out(), dnat()],
        Target::Accept,
    );
    if family == Family::V6 {
        return vec![hairpin, accept];
    }
    let to_loopback = Match::Destination {
        net: loopback(),
        negate: false,
    };
    let from_bridge = Match::InIface {
        name: n.bridge.into(),
        negate: false,
    };
    vec![
        rule(
            Table::Raw,
            RAW_PREROUTING_CHAIN,
            vec![to_loopback, from_bridge],
            Target::Drop,
        ),
        hairpin,
        rule(
            Table::Nat,
            POSTROUTING_CHAIN,
            vec![from(loopback()), out()],
            Target::Masquerade,
        ),
        accept,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(rules: &[Rule]) -> Vec<String> {
        rules.iter().map(|r| r.to_string()).collect()
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
                "iptables -t filter -A CNET-FORWARD -o cn-lab -m conntrack --ctstate DNAT -m comment --comment cnet:lab -j ACCEPT",
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
    fn an_ipv6_subnet_gets_the_hairpin_masquerade_and_the_accept_in_ip6tables() {
        let n = BridgeFw {
            network: "lab",
            bridge: "cn-lab",
            subnet: "fd00:1::/64".parse().unwrap(),
            internal: false,
        };
        assert_eq!(
            rendered(&network_rules(&n)),
            vec![
                "ip6tables -t nat -A CNET-POSTROUTING -s fd00:1::/64 -o cn-lab -m conntrack --ctstate DNAT -m comment --comment cnet:lab -j MASQUERADE",
                "ip6tables -t filter -A CNET-FORWARD -o cn-lab -m conntrack --ctstate DNAT -m comment --comment cnet:lab -j ACCEPT",
            ]
        );
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
