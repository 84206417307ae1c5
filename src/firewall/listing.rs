//! Reading back what of cnet's rules the firewall holds: `iptables-save` lines parsed into typed
//! rules, so a rule of a network that no longer exists can be deleted as the rule it is. Only
//! rules whose every word cnet itself could have written are read; anything else is left alone.

use super::rule::{Match, Rule, Table, Target};
use crate::model::family::Family;

/// The rules of `iptables-save` (`ip6tables-save`, for `family` V6) output whose comment is
/// cnet's (`cnet:NETWORK`).
pub fn cnet_rules(save: &str, family: Family) -> Vec<Rule> {
    let mut table = None;
    let mut out = Vec::new();
    for line in save.lines().map(str::trim) {
        if let Some(t) = line.strip_prefix('*') {
            table = match t {
                "filter" => Some(Table::Filter),
                "nat" => Some(Table::Nat),
                "raw" => Some(Table::Raw),
                _ => None,
            };
        } else if let (Some(t), Some(rest)) = (table, line.strip_prefix("-A "))
            && let Some(rule) =
                parse_rule(family, t, rest).filter(|r| r.comment.starts_with("cnet:"))
        {
            out.push(rule);
        }
    }
    out
}

/// The network a rule's comment names (`cnet:lab` → `lab`).
pub fn network_of(rule: &Rule) -> Option<&str> {
    let name = rule.comment.strip_prefix("cnet:")?;
    name.split_whitespace().next()
}

/// Words of a save line: whitespace-separated, `"..."` kept together.
fn words(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut w = String::new();
        if c == '"' {
            chars.next();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => w.push(chars.next()?),
                    ch => w.push(ch),
                }
            }
        } else {
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() {
                    break;
                }
                w.push(ch);
                chars.next();
            }
        }
        out.push(w);
    }
    Some(out)
}

/// `CHAIN MATCHES... -j TARGET` (what follows `-A`) as a rule; `None` for any word cnet does
/// not write.
fn parse_rule(family: Family, table: Table, rest: &str) -> Option<Rule> {
    let words = words(rest)?;
    let mut it = words.iter().map(String::as_str);
    let chain = it.next()?.to_string();
    let (mut matches, mut comment, mut target) = (Vec::new(), String::new(), None);
    let mut negate = false;
    while let Some(w) = it.next() {
        match w {
            "!" => {
                negate = true;
                continue;
            }
            "-i" => matches.push(Match::InIface {
                name: it.next()?.into(),
                negate,
            }),
            "-o" => matches.push(Match::OutIface {
                name: it.next()?.into(),
                negate,
            }),
            "-s" => matches.push(Match::Source {
                net: it.next()?.parse().ok()?,
                negate,
            }),
            "-d" => matches.push(Match::Destination {
                net: it.next()?.parse().ok()?,
                negate,
            }),
            "-p" => {
                let proto = it.next()?.to_string();
                // `-p udp -m udp --dport N`: the module named after the protocol, then the port.
                if (it.next()?, it.next()?, it.next()?) != ("-m", proto.as_str(), "--dport") {
                    return None;
                }
                let port = it.next()?.parse().ok()?;
                matches.push(Match::DestPort { proto, port });
            }
            "-m" if matches!(it.next()?, "conntrack" | "comment" | "addrtype" | "u32") => {}
            "--dst-type" if it.next()? == "LOCAL" => matches.push(Match::LocalDestination),
            "--u32" => {
                let text = it.next()?;
                let vni = text.strip_prefix("0x0>>0x16&0x3c@0xc>>0x8=0x")?;
                let vni = u32::from_str_radix(vni, 16).ok()?;
                if super::rule::vni_u32(vni) != text {
                    return None;
                }
                matches.push(Match::Vni(vni));
            }
            "--ctstate" => {
                let states = it.next()?.split(',').map(String::from).collect();
                matches.push(if negate {
                    Match::NotCtState(states)
                } else {
                    Match::CtState(states)
                });
            }
            "--comment" => comment = it.next()?.to_string(),
            "-j" => {
                target = Some(match it.next()? {
                    "ACCEPT" => Target::Accept,
                    "DROP" => Target::Drop,
                    "MASQUERADE" => Target::Masquerade,
                    "RETURN" => Target::Return,
                    "DNAT" if it.next()? == "--to-destination" => {
                        Target::Dnat(it.next()?.parse().ok()?)
                    }
                    "DNAT" => return None,
                    other => Target::Jump(other.into()),
                })
            }
            _ => return None,
        }
        negate = false;
    }
    Some(Rule {
        family,
        table,
        chain,
        matches,
        target: target?,
        comment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_rule_reads_back_as_the_rule_cnet_wrote() {
        let rule = Rule {
            family: Family::V4,
            table: Table::Filter,
            chain: "CNET-FORWARD".into(),
            matches: vec![
                Match::OutIface {
                    name: "cn-lab".into(),
                    negate: false,
                },
                Match::Source {
                    net: "10.1.0.0/24".parse().unwrap(),
                    negate: true,
                },
                Match::CtState(vec!["RELATED".into(), "ESTABLISHED".into()]),
            ],
            target: Target::Accept,
            comment: "cnet:lab".into(),
        };
        let save = format!(
            "*filter\n:CNET-FORWARD - [0:0]\n-A {} {}\n-A FORWARD -j CNET-USER\n\
             -A CNET-FORWARD -p tcp -m comment --comment cnet:x -j ACCEPT\nCOMMIT\n",
            rule.chain,
            rule.spec_argv().join(" ")
        );
        let rules = cnet_rules(&save, Family::V4);
        assert_eq!(rules, vec![rule.clone()]);
        assert_eq!(network_of(&rules[0]), Some("lab"));
    }

    #[test]
    fn a_quoted_comment_and_a_negated_state_are_read() {
        let save = "*nat\n-A CNET-POSTROUTING -s 10.1.0.0/24 ! -o cn-lab -m conntrack ! \
                    --ctstate DNAT -m comment --comment \"cnet:lab ns1\" -j MASQUERADE\n";
        let rules = cnet_rules(save, Family::V4);
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].table, Table::Nat);
        assert!(
            rules[0]
                .matches
                .contains(&Match::NotCtState(vec!["DNAT".into()]))
        );
        assert_eq!(network_of(&rules[0]), Some("lab"));
    }

    #[test]
    fn an_ip6tables_rule_reads_back_as_an_ipv6_rule() {
        let save = "*filter\n-A CNET-ISOLATION-1 ! -s fd00:1::/64 -o cn-lab -m comment \
                    --comment cnet:lab -j DROP\nCOMMIT\n";
        let rules = cnet_rules(save, Family::V6);
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].family, Family::V6);
        assert_eq!(
            rules[0].command_line("-D"),
            "ip6tables -t filter -D CNET-ISOLATION-1 ! -s fd00:1::/64 -o cn-lab -m comment --comment cnet:lab -j DROP"
        );
    }
}
