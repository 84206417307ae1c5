//! cnet's chain layout and the rules each network needs. Pure: no iptables calls here.
//!
//! The layout follows Docker's, in cnet's own chains, the same in iptables and ip6tables:
//!
//! ```text
//! filter FORWARD ─┬─ 1 -j CNET-USER          admins' rules; cnet never writes here
//!                 ├─ 2 -j CNET-ISOLATION-1   drops between networks (→ CNET-ISOLATION-2)
//!                 └─ 3 -j CNET-FORWARD       accepts for cnet networks
//! filter INPUT    ── 1 -j CNET-INPUT         drops from internal networks to the host
//! nat POSTROUTING ── 1 -j CNET-POSTROUTING   MASQUERADE of outbound traffic
//! nat PREROUTING  ── 1 -m addrtype --dst-type LOCAL -j CNET-DNAT   published ports
//! nat OUTPUT      ── 1 -m addrtype --dst-type LOCAL -j CNET-DNAT   (the host's own connections)
//! raw PREROUTING  ─┬─ 1 -j CNET-RAW-PREROUTING  drops before routing (127/8 from a bridge;
//!                  │                            iptables only)
//!                  └─ 2 -j CNET-TUNNEL          VXLAN packets of an overlay from a non-peer
//!                                               dropped (iptables only: the underlay is IPv4)
//! ```
//!
//! A network's IPv4 rules go to iptables; a dual-stack network's IPv6 subnet gets the same
//! rules again in ip6tables (each [`Rule`] names its family). Published ports are DNAT rules
//! in CNET-DNAT (`firewall::dnat`), and overlays' tunnel filters rules in CNET-TUNNEL
//! (`firewall::tunnel_rules`): what `table inet cnet` holds as map and set elements.
//!
//! Isolation is consulted before the accepts, so a packet between two cnet networks is dropped
//! before anything can accept it. The one exception is a published port (see
//! `firewall::ports`): a connection that went through a DNAT (`--ctstate DNAT`, true of both
//! its directions) skips the isolation stages, as publishing a port is an explicit opening.
//! Every rule in CNET-ISOLATION-* either drops or falls through, and every rule in
//! CNET-FORWARD accepts, so the order of the networks' rules inside a chain never changes the
//! verdict: networks can be created and removed in any order. None of cnet's chains ends with a
//! RETURN: a user-defined chain falls back to its caller at its end anyway.

use super::rule::{Match, Rule, Table, Target, binary, shell_quote};
use crate::model::family::Family;
use ipnetwork::IpNetwork;

/// Admins' rules, consulted first from FORWARD. cnet creates it empty and never writes to it.
pub const USER_CHAIN: &str = "CNET-USER";
/// First isolation stage: traffic leaving a cnet bridge for another interface.
pub const ISOLATION_1: &str = "CNET-ISOLATION-1";
/// Second isolation stage: drops that traffic if it enters another cnet bridge.
pub const ISOLATION_2: &str = "CNET-ISOLATION-2";
/// The accepts of cnet's networks (FORWARD's policy may be DROP).
pub const FORWARD_CHAIN: &str = "CNET-FORWARD";
/// filter INPUT: what internal networks send to the host's own addresses, dropped.
pub const INPUT_CHAIN: &str = "CNET-INPUT";
/// nat: MASQUERADE of outbound traffic.
pub const POSTROUTING_CHAIN: &str = "CNET-POSTROUTING";
/// raw: drops before routing (packets addressed to 127/8 arriving on a bridge).
pub const RAW_PREROUTING_CHAIN: &str = "CNET-RAW-PREROUTING";
/// nat: published ports' DNAT, for packets addressed to the host's own addresses.
pub const DNAT_CHAIN: &str = "CNET-DNAT";
/// raw: the overlays' tunnel filter (peers' RETURNs first, then each overlay's DROP).
pub const TUNNEL_CHAIN: &str = "CNET-TUNNEL";

/// Both families, in the order their rules and base chains go in.
pub const FAMILIES: [Family; 2] = [Family::V4, Family::V6];

/// The comment that tags every rule of a network.
pub fn network_comment(network: &str) -> String {
    format!("cnet:{network}")
}

/// cnet's chains of a family, in the order they are created (the reverse order deletes them).
/// ip6tables has no raw chain: IPv6 has no `route_localnet` to guard.
pub fn base_chains(family: Family) -> Vec<(Table, &'static str)> {
    let mut chains = vec![
        (Table::Filter, USER_CHAIN),
        (Table::Filter, ISOLATION_1),
        (Table::Filter, ISOLATION_2),
        (Table::Filter, FORWARD_CHAIN),
        (Table::Filter, INPUT_CHAIN),
        (Table::Nat, POSTROUTING_CHAIN),
        (Table::Nat, DNAT_CHAIN),
    ];
    if family == Family::V4 {
        chains.push((Table::Raw, RAW_PREROUTING_CHAIN));
        chains.push((Table::Raw, TUNNEL_CHAIN));
    }
    chains
}

/// The jumps from the built-in chains to cnet's chains. Each belongs at the top of its built-in
/// chain, in this order (see [`base_jump_inserts`] for the positions). They carry no comment:
/// their targets name them, and iptables-nft runs `-m comment` as a match of its own on every
/// packet through the chain (FORWARD's three jumps see every forwarded packet).
pub fn base_jumps(family: Family) -> Vec<Rule> {
    let jump = |table, chain: &str, matches: Vec<Match>, to: &str| Rule {
        family,
        table,
        chain: chain.into(),
        matches,
        target: Target::Jump(to.into()),
        comment: String::new(),
    };
    let mut jumps = vec![
        // FORWARD: the admin's rules first, then isolation (drops), then the accepts.
        jump(Table::Filter, "FORWARD", vec![], USER_CHAIN),
        jump(Table::Filter, "FORWARD", vec![], ISOLATION_1),
        jump(Table::Filter, "FORWARD", vec![], FORWARD_CHAIN),
        jump(Table::Filter, "INPUT", vec![], INPUT_CHAIN),
        jump(Table::Nat, "POSTROUTING", vec![], POSTROUTING_CHAIN),
        // Published ports: what arrives for a host address, and what the host itself sends to
        // one (127.0.0.1 too: `firewall::ports` lets that through the bridge).
        jump(
            Table::Nat,
            "PREROUTING",
            vec![Match::LocalDestination],
            DNAT_CHAIN,
        ),
        jump(
            Table::Nat,
            "OUTPUT",
            vec![Match::LocalDestination],
            DNAT_CHAIN,
        ),
    ];
    if family == Family::V4 {
        jumps.push(jump(Table::Raw, "PREROUTING", vec![], RAW_PREROUTING_CHAIN));
        jumps.push(jump(Table::Raw, "PREROUTING", vec![], TUNNEL_CHAIN));
    }
    jumps
}

/// Each base jump with its 1-based insert position in its built-in chain: its index among the
/// jumps into the same built-in chain. Inserting the missing ones in this order, each at its
/// position, puts them at the top in the right order whether none, some or all were there
/// (the ones before it are there, so the position is never past the end of the chain).
pub fn base_jump_inserts(family: Family) -> Vec<(u32, Rule)> {
    let jumps = base_jumps(family);
    let mut out: Vec<(u32, Rule)> = Vec::with_capacity(jumps.len());
    for rule in jumps {
        let pos = 1 + out
            .iter()
            .filter(|(_, r)| r.table == rule.table && r.chain == rule.chain)
            .count() as u32;
        out.push((pos, rule));
    }
    out
}

/// Argv (after `iptables`) inserting `rule` at `position` of its chain: `-t T -I CHAIN N ...`.
pub fn insert_argv(rule: &Rule, position: u32) -> Vec<String> {
    let mut a = vec![
        "-t".to_string(),
        rule.table.as_str().to_string(),
        "-I".to_string(),
        rule.chain.clone(),
        position.to_string(),
    ];
    a.extend(rule.spec_argv());
    a
}

/// A shell command line `iptables ARGV...` (`ip6tables` for IPv6), each word quoted as the
/// shell needs.
pub fn command_line(family: Family, argv: &[String]) -> String {
    let words: Vec<String> = argv.iter().map(|w| shell_quote(w)).collect();
    format!("{} {}", binary(family), words.join(" "))
}

/// What `Op::RemoveBase` does, as iptables and ip6tables commands: the jumps out, then the
/// chains, once nothing is left in them.
pub fn describe_base_removal() -> String {
    let mut lines = vec!["# cnet's base chains, now that no rule is left in them:".to_string()];
    for family in FAMILIES {
        lines.extend(
            base_jumps(family)
                .iter()
                .rev()
                .map(|r| r.command_line("-D")),
        );
        lines.extend(
            base_chains(family)
                .into_iter()
                .rev()
                .map(|(t, c)| format!("{} -t {} -X {c}", binary(family), t.as_str())),
        );
    }
    lines.join("\n")
}

/// What the firewall needs to know about a bridge network, in one family: its IPv4 subnet,
/// or the IPv6 one of a dual-stack network (whose rules then go to ip6tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgeFw<'a> {
    pub network: &'a str,
    pub bridge: &'a str,
    pub subnet: IpNetwork,
    pub internal: bool,
}

impl BridgeFw<'_> {
    pub fn family(&self) -> Family {
        Family::of_net(self.subnet)
    }
}

fn in_if(name: &str, negate: bool) -> Match {
    Match::InIface {
        name: name.into(),
        negate,
    }
}

fn out_if(name: &str, negate: bool) -> Match {
    Match::OutIface {
        name: name.into(),
        negate,
    }
}

/// Every rule a bridge network needs, each tagged `cnet:NETWORK`, in the order to append them
/// (delete them in the reverse order). Drops come first and openings last, so that while the
/// rules go in one at a time the network is never reachable before it is isolated, and on
/// teardown the openings go first.
///
/// Matches are listed in the order `iptables -S` prints them (`-s -d -i -o`, then modules), so
/// a rendered rule reads like iptables' own listing.
pub fn bridge_network_rules(n: &BridgeFw) -> Vec<Rule> {
    use Target::{Accept, Drop, Jump, Masquerade};
    let br = n.bridge;
    let comment = network_comment(n.network);
    let family = n.family();
    let rule = |table, chain: &str, matches: Vec<Match>, target| Rule {
        family,
        table,
        chain: chain.into(),
        matches,
        target,
        comment: comment.clone(),
    };
    // Bridged traffic between two ports of the bridge reaches FORWARD when br_netfilter is
    // loaded: accept it explicitly, FORWARD's policy may be DROP (Docker sets that).
    let within = rule(
        Table::Filter,
        FORWARD_CHAIN,
        vec![in_if(br, false), out_if(br, false)],
        Accept,
    );
    if n.internal {
        // Nothing enters from outside, nothing leaves for outside. IPv4 says so by the subnet
        // (as Docker does); IPv6 by the bridge alone, as the table does: with br_netfilter,
        // frames bridged between two ports pass ip6tables' FORWARD too, and neighbour
        // discovery inside the network comes from link-local addresses, outside the subnet.
        let (enters, leaves) = match family {
            Family::V4 => (
                vec![
                    Match::Source {
                        net: n.subnet,
                        negate: true,
                    },
                    out_if(br, false),
                ],
                vec![
                    Match::Destination {
                        net: n.subnet,
                        negate: true,
                    },
                    in_if(br, false),
                ],
            ),
            Family::V6 => (
                vec![in_if(br, true), out_if(br, false)],
                vec![in_if(br, false), out_if(br, true)],
            ),
        };
        return vec![
            // Nothing reaches the host's own addresses (its gateway address and every other,
            // a link-local one too), as the table's `input` chain does.
            rule(Table::Filter, INPUT_CHAIN, vec![in_if(br, false)], Drop),
            rule(Table::Filter, ISOLATION_1, enters, Drop),
            rule(Table::Filter, ISOLATION_1, leaves, Drop),
            within,
        ];
    }
    vec![
        // Stage 2: whatever came from some cnet bridge (stage 1) and goes into this one dies.
        rule(Table::Filter, ISOLATION_2, vec![out_if(br, false)], Drop),
        // Stage 1: traffic leaving this bridge for another interface is checked by stage 2;
        // if no other cnet bridge claims it there, it falls through to CNET-FORWARD.
        // Connections through a published port (DNAT) are not: a namespace of this network
        // reaches another network's published port through a host address, and the replies
        // of this network's published ports go back to any network (internal networks keep
        // their unconditional drops).
        rule(
            Table::Filter,
            ISOLATION_1,
            vec![
                in_if(br, false),
                out_if(br, true),
                Match::NotCtState(vec!["DNAT".into()]),
            ],
            Jump(ISOLATION_2.into()),
        ),
        // Replies to connections made from the network (outside → in is not opened).
        rule(
            Table::Filter,
            FORWARD_CHAIN,
            vec![
                out_if(br, false),
                Match::CtState(vec!["RELATED".into(), "ESTABLISHED".into()]),
            ],
            Accept,
        ),
        within,
        // Outbound: isolation has already dropped what was going to another cnet network.
        rule(
            Table::Filter,
            FORWARD_CHAIN,
            vec![in_if(br, false), out_if(br, true)],
            Accept,
        ),
        // Outbound traffic leaves with the host's address.
        rule(
            Table::Nat,
            POSTROUTING_CHAIN,
            vec![
                Match::Source {
                    net: n.subnet,
                    negate: false,
                },
                out_if(br, true),
            ],
            Masquerade,
        ),
    ]
}

#[cfg(test)]
mod tests;
