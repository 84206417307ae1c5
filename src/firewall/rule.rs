//! Firewall rules as typed data, rendered to iptables argv. Never built as strings and never
//! matched as text: two rules are the same rule when their data is equal.

use crate::model::family::Family;
use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Table {
    Filter,
    Nat,
    /// Before connection tracking (drops of packets that must never be tracked or routed).
    Raw,
}

impl Table {
    pub fn as_str(self) -> &'static str {
        match self {
            Table::Filter => "filter",
            Table::Nat => "nat",
            Table::Raw => "raw",
        }
    }
}

/// One match of a rule. `negate` renders as iptables' `!`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Match {
    InIface {
        name: String,
        negate: bool,
    },
    OutIface {
        name: String,
        negate: bool,
    },
    Source {
        net: IpNetwork,
        negate: bool,
    },
    Destination {
        net: IpNetwork,
        negate: bool,
    },
    /// `-m conntrack --ctstate A,B`
    CtState(Vec<String>),
    /// `-m conntrack ! --ctstate A,B`
    NotCtState(Vec<String>),
    /// `-p PROTO -m PROTO --dport PORT` (tcp, udp or sctp).
    DestPort {
        proto: String,
        port: u16,
    },
    /// `-m addrtype --dst-type LOCAL`: addressed to one of the host's own addresses.
    LocalDestination,
    /// `-m u32 --u32 ...`: a VXLAN header's VNI (24 bits, 12 bytes into the UDP header),
    /// written the way iptables-save prints it, so a rule reads back as itself.
    Vni(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Target {
    Accept,
    Drop,
    Masquerade,
    Jump(String),
    /// Back to the calling chain: what it matches is exempt from the drops after it.
    Return,
    /// `-j DNAT --to-destination ADDR:PORT` (`[ADDR]:PORT` for IPv6).
    Dnat(std::net::SocketAddr),
}

/// A rule of one chain, of iptables (`family` V4) or ip6tables (V6). `comment` is rendered as
/// `-m comment --comment`, and names cnet and the network (and the namespace, for per-endpoint
/// rules); an empty one is left out.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rule {
    #[serde(default = "Family::v4")]
    pub family: Family,
    pub table: Table,
    pub chain: String,
    pub matches: Vec<Match>,
    pub target: Target,
    pub comment: String,
}

/// The command that writes rules of a family: `iptables` or `ip6tables` (`-save` and
/// `-restore` are named after it).
/// The legacy ones (`iptables-legacy`) where the backend chose them (`firewall::variant`).
pub fn binary(family: Family) -> &'static str {
    super::variant::binary(family)
}

impl Rule {
    /// The rule's specification as argv, without table, command or chain
    /// (what follows `iptables -t T -A CHAIN`).
    pub fn spec_argv(&self) -> Vec<String> {
        let mut a: Vec<String> = Vec::new();
        let neg = |a: &mut Vec<String>, n: bool| {
            if n {
                a.push("!".into())
            }
        };
        for m in &self.matches {
            match m {
                Match::InIface { name, negate } => {
                    neg(&mut a, *negate);
                    a.extend(["-i".into(), name.clone()]);
                }
                Match::OutIface { name, negate } => {
                    neg(&mut a, *negate);
                    a.extend(["-o".into(), name.clone()]);
                }
                Match::Source { net, negate } => {
                    neg(&mut a, *negate);
                    a.extend(["-s".into(), net.to_string()]);
                }
                Match::Destination { net, negate } => {
                    neg(&mut a, *negate);
                    a.extend(["-d".into(), net.to_string()]);
                }
                Match::CtState(states) => a.extend([
                    "-m".into(),
                    "conntrack".into(),
                    "--ctstate".into(),
                    states.join(","),
                ]),
                Match::NotCtState(states) => a.extend([
                    "-m".into(),
                    "conntrack".into(),
                    "!".into(),
                    "--ctstate".into(),
                    states.join(","),
                ]),
                Match::DestPort { proto, port } => a.extend([
                    "-p".into(),
                    proto.clone(),
                    "-m".into(),
                    proto.clone(),
                    "--dport".into(),
                    port.to_string(),
                ]),
                Match::LocalDestination => a.extend([
                    "-m".into(),
                    "addrtype".into(),
                    "--dst-type".into(),
                    "LOCAL".into(),
                ]),
                Match::Vni(vni) => {
                    a.extend(["-m".into(), "u32".into(), "--u32".into(), vni_u32(*vni)])
                }
            }
        }
        if !self.comment.is_empty() {
            a.extend([
                "-m".into(),
                "comment".into(),
                "--comment".into(),
                self.comment.clone(),
            ]);
        }
        a.push("-j".into());
        match &self.target {
            Target::Accept => a.push("ACCEPT".into()),
            Target::Drop => a.push("DROP".into()),
            Target::Masquerade => a.push("MASQUERADE".into()),
            Target::Jump(chain) => a.push(chain.clone()),
            Target::Return => a.push("RETURN".into()),
            Target::Dnat(to) => {
                a.extend(["DNAT".into(), "--to-destination".into(), to.to_string()])
            }
        }
        a
    }

    /// Whether the rule goes at the top of its chain (`-I`) rather than the end: a RETURN
    /// exempts what it matches from the drops of its chain, so it must come before all of them
    /// whenever it is added.
    pub fn goes_first(&self) -> bool {
        self.target == Target::Return
    }

    /// The command that adds the rule: `-I` for one that [`goes_first`](Self::goes_first),
    /// else `-A`.
    pub fn add_command(&self) -> &'static str {
        if self.goes_first() { "-I" } else { "-A" }
    }

    /// Full argv for `iptables` with the given command flag (`-A`, `-I`, `-D`, `-C`).
    pub fn argv(&self, command: &str) -> Vec<String> {
        let mut a = vec![
            "-t".to_string(),
            self.table.as_str().to_string(),
            command.to_string(),
            self.chain.clone(),
        ];
        a.extend(self.spec_argv());
        a
    }

    /// The shell line running `command` (`-A`, `-D`, `-C`) on the rule with its family's
    /// binary: `ip6tables -t filter -D CNET-FORWARD ...`.
    pub fn command_line(&self, command: &str) -> String {
        let words: Vec<String> = self.argv(command).iter().map(|w| shell_quote(w)).collect();
        format!("{} {}", binary(self.family), words.join(" "))
    }
}

/// Quote one argv word for display in a shell command line.
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,!@+".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

impl fmt::Display for Rule {
    /// The rule as the `iptables -A` (`-I` for one that goes first; `ip6tables` for IPv6)
    /// command that adds it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.command_line(self.add_command()))
    }
}

/// The u32 match of a VXLAN VNI as iptables-save prints it: from the IP header's length to
/// the UDP header, 12 bytes on, the top 24 bits of a 32-bit word.
pub fn vni_u32(vni: u32) -> String {
    format!("0x0>>0x16&0x3c@0xc>>0x8={vni:#x}")
}

/// Render argv words as the single string the `iptables` crate splits back into them: words
/// with spaces are wrapped in double quotes. Errors (naming the word) for a word the crate's
/// splitting cannot reproduce.
pub fn crate_rule_string(words: &[String]) -> std::result::Result<String, String> {
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    for w in words {
        if w.is_empty() || w.contains(['"', '\'', '\n']) {
            return Err(format!(
                "cannot pass {w:?} to iptables (empty words, quotes and newlines are not supported)"
            ));
        }
        if w.contains(' ') {
            out.push(format!("\"{w}\""));
        } else {
            out.push(w.clone());
        }
    }
    Ok(out.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masquerade_renders_like_iptables_save() {
        let r = Rule {
            family: Family::V4,
            table: Table::Nat,
            chain: "CNET-POSTROUTING".into(),
            matches: vec![
                Match::Source {
                    net: "10.1.0.0/24".parse().unwrap(),
                    negate: false,
                },
                Match::OutIface {
                    name: "cn-lab".into(),
                    negate: true,
                },
            ],
            target: Target::Masquerade,
            comment: "cnet:lab".into(),
        };
        assert_eq!(
            r.to_string(),
            "iptables -t nat -A CNET-POSTROUTING -s 10.1.0.0/24 ! -o cn-lab -m comment --comment cnet:lab -j MASQUERADE"
        );
    }

    #[test]
    fn an_ipv6_rule_is_an_ip6tables_command() {
        let r = Rule {
            family: Family::V6,
            table: Table::Filter,
            chain: "CNET-ISOLATION-1".into(),
            matches: vec![Match::Source {
                net: "fd00:1::/64".parse().unwrap(),
                negate: true,
            }],
            target: Target::Drop,
            comment: "cnet:lab".into(),
        };
        assert_eq!(
            r.command_line("-D"),
            "ip6tables -t filter -D CNET-ISOLATION-1 ! -s fd00:1::/64 -m comment --comment cnet:lab -j DROP"
        );
    }

    #[test]
    fn comment_with_spaces_is_quoted_for_display_but_one_argv_word() {
        let r = Rule {
            family: Family::V4,
            table: Table::Filter,
            chain: "X".into(),
            matches: vec![],
            target: Target::Accept,
            comment: "cnet net lab".into(),
        };
        assert!(r.argv("-A").contains(&"cnet net lab".to_string()));
        assert!(r.to_string().contains("'cnet net lab'"));
    }
}
