//! cnet's chain layout and the rules each network needs. Pure: no iptables calls here.
//!
//! The layout follows Docker's, in cnet's own chains:
//!
//! ```text
//! filter FORWARD ─┬─ 1 -j CNET-USER          admins' rules; cnet never writes here
//!                 ├─ 2 -j CNET-ISOLATION-1   drops between networks (→ CNET-ISOLATION-2)
//!                 └─ 3 -j CNET-FORWARD       accepts for cnet networks
//! nat POSTROUTING ── 1 -j CNET-POSTROUTING   MASQUERADE of outbound traffic
//! raw PREROUTING  ── 1 -j CNET-RAW-PREROUTING   drops before routing (127/8 from a bridge)
//! ```
//!
//! Published ports' DNAT is not here but in nftables, as map entries (`firewall::published`).
//!
//! Isolation is consulted before the accepts, so a packet between two cnet networks is dropped
//! before anything can accept it. The one exception is a published port (see
//! `firewall::ports`): a connection that went through a DNAT (`--ctstate DNAT`, true of both
//! its directions) skips the isolation stages, as publishing a port is an explicit opening.
//! Every rule in CNET-ISOLATION-* either drops or falls through, and every rule in
//! CNET-FORWARD accepts, so the order of the networks' rules inside a chain never changes the
//! verdict: networks can be created and removed in any order. None of cnet's chains ends with a
//! RETURN: a user-defined chain falls back to its caller at its end anyway.

use super::rule::{Match, Rule, Table, Target, shell_quote};
use ipnetwork::Ipv4Network;

/// Admins' rules, consulted first from FORWARD. cnet creates it empty and never writes to it.
pub const USER_CHAIN: &str = "CNET-USER";
/// First isolation stage: traffic leaving a cnet bridge for another interface.
pub const ISOLATION_1: &str = "CNET-ISOLATION-1";
/// Second isolation stage: drops that traffic if it enters another cnet bridge.
pub const ISOLATION_2: &str = "CNET-ISOLATION-2";
/// The accepts of cnet's networks (FORWARD's policy may be DROP).
pub const FORWARD_CHAIN: &str = "CNET-FORWARD";
/// nat: MASQUERADE of outbound traffic.
pub const POSTROUTING_CHAIN: &str = "CNET-POSTROUTING";
/// raw: drops before routing (packets addressed to 127/8 arriving on a bridge).
pub const RAW_PREROUTING_CHAIN: &str = "CNET-RAW-PREROUTING";

/// The comment that tags every rule of a network.
pub fn network_comment(network: &str) -> String {
    format!("cnet:{network}")
}

/// cnet's chains, in the order they are created (the reverse order deletes them).
pub fn base_chains() -> Vec<(Table, &'static str)> {
    vec![
        (Table::Filter, USER_CHAIN),
        (Table::Filter, ISOLATION_1),
        (Table::Filter, ISOLATION_2),
        (Table::Filter, FORWARD_CHAIN),
        (Table::Nat, POSTROUTING_CHAIN),
        (Table::Raw, RAW_PREROUTING_CHAIN),
    ]
}

/// The jumps from the built-in chains to cnet's chains. Each belongs at the top of its built-in
/// chain, in this order (see [`base_jump_inserts`] for the positions). They carry no comment:
/// their targets name them, and iptables-nft runs `-m comment` as a match of its own on every
/// packet through the chain (FORWARD's three jumps see every forwarded packet).
pub fn base_jumps() -> Vec<Rule> {
    let jump = |table, chain: &str, matches: Vec<Match>, to: &str| Rule {
        table,
        chain: chain.into(),
        matches,
        target: Target::Jump(to.into()),
        comment: String::new(),
    };
    vec![
        // FORWARD: the admin's rules first, then isolation (drops), then the accepts.
        jump(Table::Filter, "FORWARD", vec![], USER_CHAIN),
        jump(Table::Filter, "FORWARD", vec![], ISOLATION_1),
        jump(Table::Filter, "FORWARD", vec![], FORWARD_CHAIN),
        jump(Table::Nat, "POSTROUTING", vec![], POSTROUTING_CHAIN),
        jump(Table::Raw, "PREROUTING", vec![], RAW_PREROUTING_CHAIN),
    ]
}

/// Each base jump with its 1-based insert position in its built-in chain: its index among the
/// jumps into the same built-in chain. Inserting the missing ones in this order, each at its
/// position, puts them at the top in the right order whether none, some or all were there
/// (the ones before it are there, so the position is never past the end of the chain).
pub fn base_jump_inserts() -> Vec<(u32, Rule)> {
    let jumps = base_jumps();
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

/// A shell command line `iptables ARGV...`, each word quoted as the shell needs.
pub fn command_line(argv: &[String]) -> String {
    let words: Vec<String> = argv.iter().map(|w| shell_quote(w)).collect();
    format!("iptables {}", words.join(" "))
}

/// `iptables -t T -N CHAIN`
pub fn new_chain_command(table: Table, chain: &str) -> String {
    command_line(&[
        "-t".into(),
        table.as_str().into(),
        "-N".into(),
        chain.into(),
    ])
}

/// The base chains as the equivalent iptables commands (for --dry-run), one per line, no
/// trailing newline. Each is done only when missing.
pub fn describe_base_chains() -> String {
    let mut lines: Vec<String> = base_chains()
        .into_iter()
        .map(|(t, c)| new_chain_command(t, c))
        .collect();
    lines.extend(
        base_jump_inserts()
            .iter()
            .map(|(pos, r)| command_line(&insert_argv(r, *pos))),
    );
    lines.join("\n")
}

/// What `Op::RemoveBase` does, as iptables commands: the jumps out, then the chains, once
/// nothing is left in them.
pub fn describe_base_removal() -> String {
    let mut lines = vec!["# cnet's base chains, now that no rule is left in them:".to_string()];
    lines.extend(
        base_jumps()
            .iter()
            .rev()
            .map(|r| command_line(&r.argv("-D"))),
    );
    lines.extend(
        base_chains()
            .into_iter()
            .rev()
            .map(|(t, c)| format!("iptables -t {} -X {c}", t.as_str())),
    );
    lines.join("\n")
}

/// What the firewall needs to know about a bridge network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgeFw<'a> {
    pub network: &'a str,
    pub bridge: &'a str,
    pub subnet: Ipv4Network,
    pub internal: bool,
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
    let rule = |table, chain: &str, matches: Vec<Match>, target| Rule {
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
        let subnet = |negate| Match::Source {
            net: n.subnet,
            negate,
        };
        let dest = |negate| Match::Destination {
            net: n.subnet,
            negate,
        };
        return vec![
            // Nothing enters from outside the subnet, nothing leaves for outside it.
            rule(
                Table::Filter,
                ISOLATION_1,
                vec![subnet(true), out_if(br, false)],
                Drop,
            ),
            rule(
                Table::Filter,
                ISOLATION_1,
                vec![dest(true), in_if(br, false)],
                Drop,
            ),
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
mod tests {
    use super::*;

    fn lab(internal: bool) -> BridgeFw<'static> {
        BridgeFw {
            network: "lab",
            bridge: "cn-lab",
            subnet: "10.1.0.0/24".parse().unwrap(),
            internal,
        }
    }

    fn rendered(rules: &[Rule]) -> Vec<String> {
        rules.iter().map(|r| r.to_string()).collect()
    }

    #[test]
    fn bridge_network_rules_render_like_iptables() {
        assert_eq!(
            rendered(&bridge_network_rules(&lab(false))),
            vec![
                "iptables -t filter -A CNET-ISOLATION-2 -o cn-lab -m comment --comment cnet:lab -j DROP",
                "iptables -t filter -A CNET-ISOLATION-1 -i cn-lab ! -o cn-lab -m conntrack ! --ctstate DNAT -m comment --comment cnet:lab -j CNET-ISOLATION-2",
                "iptables -t filter -A CNET-FORWARD -o cn-lab -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment cnet:lab -j ACCEPT",
                "iptables -t filter -A CNET-FORWARD -i cn-lab -o cn-lab -m comment --comment cnet:lab -j ACCEPT",
                "iptables -t filter -A CNET-FORWARD -i cn-lab ! -o cn-lab -m comment --comment cnet:lab -j ACCEPT",
                "iptables -t nat -A CNET-POSTROUTING -s 10.1.0.0/24 ! -o cn-lab -m comment --comment cnet:lab -j MASQUERADE",
            ]
        );
    }

    #[test]
    fn internal_network_is_closed_and_not_masqueraded() {
        let rules = bridge_network_rules(&lab(true));
        assert_eq!(
            rendered(&rules),
            vec![
                "iptables -t filter -A CNET-ISOLATION-1 ! -s 10.1.0.0/24 -o cn-lab -m comment --comment cnet:lab -j DROP",
                "iptables -t filter -A CNET-ISOLATION-1 ! -d 10.1.0.0/24 -i cn-lab -m comment --comment cnet:lab -j DROP",
                "iptables -t filter -A CNET-FORWARD -i cn-lab -o cn-lab -m comment --comment cnet:lab -j ACCEPT",
            ]
        );
        assert!(rules.iter().all(|r| r.table == Table::Filter));
    }

    #[test]
    fn every_rule_is_tagged_with_the_network_and_lives_in_a_cnet_chain() {
        let chains: Vec<&str> = base_chains().iter().map(|(_, c)| *c).collect();
        for internal in [false, true] {
            for r in bridge_network_rules(&lab(internal)) {
                assert_eq!(r.comment, "cnet:lab");
                assert!(chains.contains(&r.chain.as_str()), "{r}");
                assert_ne!(r.chain, USER_CHAIN, "cnet never writes CNET-USER");
                let argv = r.argv("-A");
                let i = argv.iter().position(|w| w == "--comment").unwrap();
                assert_eq!(argv[i + 1], "cnet:lab");
            }
        }
    }

    #[test]
    fn two_networks_differ_only_by_their_names() {
        let other = |subnet: &str, internal| BridgeFw {
            network: "web",
            bridge: "cn-web",
            subnet: subnet.parse().unwrap(),
            internal,
        };
        for internal in [false, true] {
            let a = rendered(&bridge_network_rules(&lab(internal)));
            // Same subnet: only the names differ.
            let b = rendered(&bridge_network_rules(&other("10.1.0.0/24", internal)));
            assert_ne!(a, b);
            let b_as_a: Vec<String> = b
                .iter()
                .map(|s| {
                    s.replace("cn-web", "cn-lab")
                        .replace("cnet:web", "cnet:lab")
                })
                .collect();
            assert_eq!(a, b_as_a);
            // Another subnet: the names and the subnet.
            let c = rendered(&bridge_network_rules(&other("10.2.0.0/16", internal)));
            let c_as_a: Vec<String> = c
                .iter()
                .map(|s| {
                    s.replace("cn-web", "cn-lab")
                        .replace("cnet:web", "cnet:lab")
                        .replace("10.2.0.0/16", "10.1.0.0/24")
                })
                .collect();
            assert_eq!(a, c_as_a);
        }
    }

    #[test]
    fn isolation_and_drops_come_before_openings() {
        for internal in [false, true] {
            let rules = bridge_network_rules(&lab(internal));
            let first_opening = rules
                .iter()
                .position(|r| r.chain == FORWARD_CHAIN || r.chain == POSTROUTING_CHAIN)
                .unwrap();
            assert!(
                rules[..first_opening]
                    .iter()
                    .all(|r| r.chain.starts_with("CNET-ISOLATION-"))
            );
            assert!(
                rules[first_opening..]
                    .iter()
                    .all(|r| !r.chain.starts_with("CNET-ISOLATION-"))
            );
        }
    }

    #[test]
    fn base_jumps_go_to_the_top_in_order() {
        let jumps: Vec<String> = base_jump_inserts()
            .iter()
            .map(|(p, r)| command_line(&insert_argv(r, *p)))
            .collect();
        assert_eq!(
            jumps,
            vec![
                "iptables -t filter -I FORWARD 1 -j CNET-USER",
                "iptables -t filter -I FORWARD 2 -j CNET-ISOLATION-1",
                "iptables -t filter -I FORWARD 3 -j CNET-FORWARD",
                "iptables -t nat -I POSTROUTING 1 -j CNET-POSTROUTING",
                "iptables -t raw -I PREROUTING 1 -j CNET-RAW-PREROUTING",
            ]
        );
        // Every jump targets one of cnet's chains in the same table.
        for r in base_jumps() {
            let Target::Jump(to) = &r.target else {
                panic!("{r}")
            };
            assert!(base_chains().contains(&(r.table, to.as_str())), "{r}");
        }
    }

    #[test]
    fn describe_base_chains_creates_then_jumps() {
        let d = describe_base_chains();
        assert!(!d.ends_with('\n'));
        let lines: Vec<&str> = d.lines().collect();
        assert_eq!(lines.len(), base_chains().len() + base_jumps().len());
        assert_eq!(lines[0], "iptables -t filter -N CNET-USER");
        assert_eq!(lines[4], "iptables -t nat -N CNET-POSTROUTING");
        assert_eq!(
            lines[base_chains().len()],
            "iptables -t filter -I FORWARD 1 -j CNET-USER"
        );
    }
}
