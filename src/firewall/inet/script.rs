//! `table inet cnet` as nft reads it: the rules of its chains as text, the table as an
//! `nft -f` script, and a change to it as one `nft -f` transaction, for plans' printouts
//! (`firewall::nft::cnet_table` sends the same as netlink messages).

use super::{CHAIN_USER, SET_BRIDGES, SET_INTERNAL, SET_SUBNETS4, SET_SUBNETS6, SET_WITHIN, TABLE};
use crate::firewall::rule::shell_quote;
use std::fmt;

/// The rules of the table, by chain, as nft lists them (`describe_table`; the messages in
/// `firewall::nft::cnet_table` say the same).
pub const FORWARD_RULES: &[&str] = &[
    "jump user",
    "iifname . oifname @within accept",
    "oifname @internal drop",
    "iifname @internal drop",
    "oifname @bridges ct status dnat accept",
    "iifname @bridges oifname @bridges drop",
    "oifname @bridges ct state established,related accept",
    "iifname @bridges accept",
];
/// cnet's base chains, in the order they are made (the admin's `user` chain is not one of them).
pub const CNET_CHAINS: [&str; 6] = [
    "forward",
    "input",
    "raw",
    "prerouting",
    "output",
    "postrouting",
];
pub const INPUT_RULES: &[&str] = &["iifname @internal drop"];
pub const RAW_RULES: &[&str] = &[
    "iifname @bridges ip daddr 127.0.0.0/8 drop",
    crate::firewall::tunnel::RULE_TEXT,
];
pub const DNAT_RULES: &[&str] = &[
    "fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @published-ip",
    "fib daddr type local dnat ip to meta l4proto . th dport map @published",
    "fib daddr type local dnat ip6 to ip6 daddr . meta l4proto . th dport map @published6-ip",
    "fib daddr type local dnat ip6 to meta l4proto . th dport map @published6",
];
pub const POSTROUTING_RULES: &[&str] = &[
    "ip saddr 127.0.0.0/8 oifname @bridges masquerade",
    "ip saddr . oifname @subnets4 ct status dnat masquerade",
    "ip saddr . oifname @subnets4 return",
    "ip saddr . iifname @subnets4 masquerade",
    "ip6 saddr . oifname @subnets6 ct status dnat masquerade",
    "ip6 saddr . oifname @subnets6 return",
    "ip6 saddr . iifname @subnets6 masquerade",
];

/// The table as nft reads it (the body of an `nft -f` script).
pub fn table_script() -> String {
    table_text(true)
}

/// What `firewall reload` does, as lines of an `nft -f` script: the table declared (what is
/// missing made), cnet's chains and sets emptied, the rules put back. The admin's chain keeps
/// its rules.
pub fn rebuild_script() -> String {
    let mut s = table_text(false);
    for chain in CNET_CHAINS {
        s.push_str(&format!("\nflush chain inet {TABLE} {chain}"));
    }
    for set in [
        SET_BRIDGES,
        SET_INTERNAL,
        SET_WITHIN,
        SET_SUBNETS4,
        SET_SUBNETS6,
        crate::firewall::published::MAP_ANY,
        crate::firewall::published::MAP_IP,
        crate::firewall::published::MAP6_ANY,
        crate::firewall::published::MAP6_IP,
        crate::firewall::tunnel::SET_GUARDED,
        crate::firewall::tunnel::SET_PEERS,
    ] {
        let kind = if set.starts_with("published") {
            "map"
        } else {
            "set"
        };
        s.push_str(&format!("\nflush {kind} inet {TABLE} {set}"));
    }
    s.push('\n');
    s.push_str(&rules_text());
    s
}

/// The chains' rules alone, as a `table` block that adds them.
fn rules_text() -> String {
    let mut s = format!("table inet {TABLE} {{\n");
    for (chain, rules) in [
        ("forward", FORWARD_RULES),
        ("input", INPUT_RULES),
        ("raw", RAW_RULES),
        ("prerouting", DNAT_RULES),
        ("output", DNAT_RULES),
        ("postrouting", POSTROUTING_RULES),
    ] {
        s.push_str(&format!("  chain {chain} {{"));
        for r in rules {
            s.push_str(&format!("\n    {r}"));
        }
        s.push_str("\n  }\n");
    }
    s.push('}');
    s
}

/// The table's sets and chains, with the chains' rules or without.
fn table_text(with_rules: bool) -> String {
    use crate::firewall::published::{MAP_ANY, MAP_IP, MAP6_ANY, MAP6_IP};
    use crate::firewall::tunnel::{SET_GUARDED, SET_PEERS};
    let chain = |name: &str, hook: &str, rules: &[&str]| {
        let mut s = format!("  chain {name} {{ {hook};");
        let rules = if with_rules { rules } else { &[] };
        for r in rules {
            s.push_str(&format!("\n    {r}"));
        }
        s.push_str("\n  }\n");
        s
    };
    let mut s = format!("table inet {TABLE} {{\n");
    s.push_str(&format!("  set {SET_BRIDGES} {{ type ifname; }}\n"));
    s.push_str(&format!("  set {SET_INTERNAL} {{ type ifname; }}\n"));
    s.push_str(&format!("  set {SET_WITHIN} {{ type ifname . ifname; }}\n"));
    s.push_str(&format!(
        "  set {SET_SUBNETS4} {{ type ipv4_addr . ifname; flags interval; }}\n"
    ));
    s.push_str(&format!(
        "  set {SET_SUBNETS6} {{ type ipv6_addr . ifname; flags interval; }}\n"
    ));
    s.push_str(&format!(
        "  map {MAP_ANY} {{ type inet_proto . inet_service : ipv4_addr . inet_service; }}\n"
    ));
    s.push_str(&format!(
        "  map {MAP_IP} {{ type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }}\n"
    ));
    s.push_str(&format!(
        "  map {MAP6_ANY} {{ type inet_proto . inet_service : ipv6_addr . inet_service; }}\n"
    ));
    s.push_str(&format!(
        "  map {MAP6_IP} {{ type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; }}\n"
    ));
    s.push_str(&format!(
        "  set {SET_GUARDED} {{ typeof udp dport . @th,96,24; }}\n"
    ));
    s.push_str(&format!(
        "  set {SET_PEERS} {{ typeof udp dport . @th,96,24 . ip saddr; }}\n"
    ));
    s.push_str(&format!("  chain {CHAIN_USER} {{ }}\n"));
    s.push_str(&chain(
        "forward",
        "type filter hook forward priority filter; policy accept",
        FORWARD_RULES,
    ));
    s.push_str(&chain(
        "input",
        "type filter hook input priority filter; policy accept",
        INPUT_RULES,
    ));
    s.push_str(&chain(
        "raw",
        "type filter hook prerouting priority raw; policy accept",
        RAW_RULES,
    ));
    s.push_str(&chain(
        "prerouting",
        "type nat hook prerouting priority dstnat; policy accept",
        DNAT_RULES,
    ));
    s.push_str(&chain(
        "output",
        "type nat hook output priority -100; policy accept",
        DNAT_RULES,
    ));
    s.push_str(&chain(
        "postrouting",
        "type nat hook postrouting priority srcnat; policy accept",
        POSTROUTING_RULES,
    ));
    s.push('}');
    s
}

/// `add element inet cnet SET { … }` lines (no `nft` in front: lines of an `nft -f` script),
/// one per set, in the order the sets first come.
pub fn element_lines(
    verb: &str,
    elements: impl IntoIterator<Item = (&'static str, String)>,
) -> Vec<String> {
    let mut by_set: Vec<(&'static str, Vec<String>)> = Vec::new();
    for (set, text) in elements {
        match by_set.iter_mut().find(|(s, _)| *s == set) {
            Some((_, list)) => list.push(text),
            None => by_set.push((set, vec![text])),
        }
    }
    by_set
        .iter()
        .map(|(set, list)| {
            format!(
                "{verb} element inet {TABLE} {set} {{ {} }}",
                list.join(", ")
            )
        })
        .collect()
}

/// A change to the table as one `nft -f` script: one transaction, as cnet sends it.
pub struct Script<'a> {
    /// `table …` (the whole table made first), or `delete table inet cnet`, or nothing.
    pub table: TableChange,
    /// `add element …` / `delete element …` lines.
    pub lines: &'a [String],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableChange {
    None,
    Create,
    /// Made again whole, the admin's chain kept (a reload).
    Replace,
    Delete,
}

impl fmt::Display for Script<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut body: Vec<String> = Vec::new();
        match self.table {
            TableChange::None => {}
            TableChange::Create => body.push(table_script()),
            TableChange::Replace => body.push(rebuild_script()),
            TableChange::Delete => body.push(format!("delete table inet {TABLE}")),
        }
        body.extend(self.lines.iter().cloned());
        if body.len() == 1 && !body[0].contains('\n') {
            return write!(f, "nft {}", shell_quote(&body[0]));
        }
        write!(f, "nft -f - <<'EOF'\n{}\nEOF", body.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{NetworkFw, network_elements};
    use super::*;

    fn lab() -> Vec<super::super::NetElement> {
        network_elements(&NetworkFw {
            bridge: "cn-lab",
            subnets: &["10.1.0.0/24".parse().unwrap()],
            internal: false,
        })
    }

    #[test]
    fn a_change_prints_as_one_nft_transaction() {
        let lines = element_lines("add", lab().iter().map(|e| (e.set(), e.text())));
        let created = Script {
            table: TableChange::Create,
            lines: &lines,
        }
        .to_string();
        assert!(created.starts_with("nft -f - <<'EOF'\ntable inet cnet {\n"));
        assert!(
            created.ends_with("add element inet cnet subnets4 { 10.1.0.0/24 . \"cn-lab\" }\nEOF")
        );
        let one = Script {
            table: TableChange::None,
            lines: &lines[..1],
        }
        .to_string();
        assert_eq!(one, "nft 'add element inet cnet bridges { \"cn-lab\" }'");
        let gone = Script {
            table: TableChange::Delete,
            lines: &[],
        };
        assert_eq!(gone.to_string(), "nft 'delete table inet cnet'");
    }
}
