//! cnet's base chains and jumps, checked and fixed in one `iptables-save` and at most one
//! `iptables-restore --noflush`, instead of an `iptables` process per chain and per jump.
//!
//! Pure: parse what `iptables-save` printed, decide, render the restore input. Chains are
//! declared (`:CHAIN - [0:0]`) only when missing, because declaring an existing chain in a
//! `--noflush` restore flushes it (kube-proxy relies on that), and CNET-USER holds the admin's
//! rules. Jumps are deleted with the exact line `iptables-save` printed, so no rendering of ours
//! has to match the kernel's.

use super::layout::{base_chains, base_jump_inserts, base_jumps};
use super::rule::crate_rule_string;
use super::rule::{Rule, Table, Target};
use crate::error::{Error, Result};
use crate::model::family::Family;
use std::collections::{BTreeMap, BTreeSet};

/// What `iptables-save` shows of one table.
#[derive(Debug, Default, PartialEq)]
pub struct SavedTable {
    pub chains: BTreeSet<String>,
    /// `-A CHAIN ...` lines, in order.
    pub rules: Vec<String>,
}

/// `iptables-save` (or `ip6tables-save`) output, by table name.
pub type Saved = BTreeMap<String, SavedTable>;

pub fn parse_save(text: &str) -> Saved {
    let mut out = Saved::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(t) = line.strip_prefix('*') {
            current = Some(t.trim().to_string());
            out.entry(t.trim().to_string()).or_default();
        } else if let Some(t) = &current {
            let table = out.get_mut(t).expect("entered above");
            if let Some(decl) = line.strip_prefix(':') {
                if let Some(name) = decl.split_whitespace().next() {
                    table.chains.insert(name.to_string());
                }
            } else if line.starts_with("-A ") {
                table.rules.push(line.to_string());
            } else if line == "COMMIT" {
                current = None;
            }
        }
    }
    out
}

fn chain_of(line: &str) -> Option<&str> {
    line.strip_prefix("-A ")?.split_whitespace().next()
}

/// The saved line of a base jump, if it is there: a rule in its built-in chain jumping to its
/// cnet chain (whatever else the line says).
fn find_jump<'a>(saved: &'a Saved, jump: &Rule) -> Option<&'a str> {
    let Target::Jump(to) = &jump.target else {
        return None;
    };
    saved
        .get(jump.table.as_str())?
        .rules
        .iter()
        .map(String::as_str)
        .find(|l| {
            chain_of(l) == Some(jump.chain.as_str()) && {
                let w: Vec<&str> = l.split_whitespace().collect();
                w.windows(2).any(|p| p[0] == "-j" && p[1] == to.as_str())
            }
        })
}

fn has_chain(saved: &Saved, table: Table, chain: &str) -> bool {
    saved
        .get(table.as_str())
        .is_some_and(|t| t.chains.contains(chain))
}

/// Lines of restore input, grouped by table (each table one transaction), in table order.
#[derive(Default)]
struct Input(BTreeMap<&'static str, Vec<String>>);

impl Input {
    fn push(&mut self, table: Table, line: String) {
        self.0.entry(table.as_str()).or_default().push(line);
    }
    fn render(self) -> String {
        let mut out = String::new();
        // raw, nat, filter: the order restore::render adds in. The jumps name no match
        // extension, so no block waits on a revision check after a deletion (restore.rs).
        for t in ["raw", "nat", "filter"] {
            if let Some(lines) = self.0.get(t) {
                out.push_str(&format!("*{t}\n{}\nCOMMIT\n", lines.join("\n")));
            }
        }
        out
    }
}

/// The restore input that creates the missing base chains and puts the jumps in place; empty
/// when all is there. Per built-in chain: all jumps there → left alone; some missing (someone
/// flushed or edited the chain) → the survivors are deleted and all are inserted again at the
/// top, in order, so CNET-FORWARD's accepts never come before CNET-ISOLATION-1's drops.
pub fn ensure_input(saved: &Saved, family: Family) -> Result<String> {
    let mut input = Input::default();
    for (table, chain) in base_chains(family) {
        if !has_chain(saved, table, chain) {
            input.push(table, format!(":{chain} - [0:0]"));
        }
    }
    let jumps = base_jump_inserts(family);
    for group in jumps.chunk_by(|a, b| a.1.table == b.1.table && a.1.chain == b.1.chain) {
        let present: Vec<Option<&str>> = group.iter().map(|(_, r)| find_jump(saved, r)).collect();
        if present.iter().all(Option::is_some) {
            continue;
        }
        // The accepts' jump goes first (reverse order), so isolation is never bypassed.
        for ((_, rule), line) in group.iter().zip(&present).rev() {
            if let Some(line) = line {
                input.push(rule.table, format!("-D{}", &line[2..]));
            }
        }
        for (pos, rule) in group {
            let mut words = vec!["-I".to_string(), rule.chain.clone(), pos.to_string()];
            words.extend(rule.spec_argv());
            input.push(
                rule.table,
                crate_rule_string(&words).map_err(Error::Runtime)?,
            );
        }
    }
    Ok(input.render())
}

/// The restore input that removes the base jumps and chains when every cnet chain is empty
/// (CNET-USER included: an admin's rules are never deleted); `None` when something is still in
/// them. Undoes exactly what [`ensure_input`] added.
pub fn remove_input(saved: &Saved, family: Family) -> Option<String> {
    let chains = base_chains(family);
    let in_use = chains.iter().any(|(table, chain)| {
        saved
            .get(table.as_str())
            .is_some_and(|t| t.rules.iter().any(|l| chain_of(l) == Some(chain)))
    });
    if in_use {
        return None;
    }
    let mut input = Input::default();
    // Jumps first (a chain that is jumped to cannot be deleted), in reverse order.
    for rule in base_jumps(family).iter().rev() {
        if let Some(line) = find_jump(saved, rule) {
            input.push(rule.table, format!("-D{}", &line[2..]));
        }
    }
    for (table, chain) in chains.into_iter().rev() {
        if has_chain(saved, table, chain) {
            input.push(table, format!("-X {chain}"));
        }
    }
    Some(input.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str =
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";

    /// What iptables-save prints once cnet put the base in place (with an admin rule in
    /// CNET-USER).
    fn full(admin: bool) -> String {
        let mut s = String::from(
            "# Generated by iptables-save\n*raw\n:PREROUTING ACCEPT [0:0]\n:CNET-RAW-PREROUTING - [0:0]\n\
             :CNET-TUNNEL - [0:0]\n\
             -A PREROUTING -j CNET-RAW-PREROUTING\n-A PREROUTING -j CNET-TUNNEL\nCOMMIT\n\
             *nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
             :CNET-POSTROUTING - [0:0]\n:CNET-DNAT - [0:0]\n\
             -A PREROUTING -m addrtype --dst-type LOCAL -j CNET-DNAT\n\
             -A OUTPUT -m addrtype --dst-type LOCAL -j CNET-DNAT\n\
             -A POSTROUTING -j CNET-POSTROUTING\nCOMMIT\n\
             *filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             :CNET-FORWARD - [0:0]\n:CNET-INPUT - [0:0]\n:CNET-ISOLATION-1 - [0:0]\n:CNET-ISOLATION-2 - [0:0]\n:CNET-USER - [0:0]\n\
             -A INPUT -j CNET-INPUT\n\
             -A FORWARD -j CNET-USER\n\
             -A FORWARD -j CNET-ISOLATION-1\n\
             -A FORWARD -j CNET-FORWARD\n",
        );
        if admin {
            s.push_str("-A CNET-USER -s 10.9.9.9/32 -j DROP\n");
        }
        s.push_str("COMMIT\n");
        s
    }

    #[test]
    fn parses_chains_and_rules_per_table() {
        let saved = parse_save(&full(true));
        assert!(saved["filter"].chains.contains("CNET-USER"));
        assert!(saved["nat"].chains.contains("CNET-POSTROUTING"));
        assert_eq!(saved["filter"].rules.len(), 5);
        assert_eq!(saved["raw"].rules.len(), 2);
    }

    #[test]
    fn nothing_to_do_when_all_is_there() {
        assert_eq!(
            ensure_input(&parse_save(&full(false)), Family::V4).unwrap(),
            ""
        );
        // The jumps as this cnet writes them, without a comment.
        let bare = full(false).replace("-m comment --comment cnet -j", "-j");
        assert_eq!(ensure_input(&parse_save(&bare), Family::V4).unwrap(), "");
    }

    #[test]
    fn from_nothing_every_chain_is_declared_and_every_jump_inserted_in_order() {
        let input = ensure_input(&parse_save(EMPTY), Family::V4).unwrap();
        assert!(
            input.starts_with("*raw\n:CNET-RAW-PREROUTING - [0:0]\n"),
            "{input}"
        );
        let filter = input.split("*filter\n").nth(1).unwrap();
        assert!(filter.starts_with(
            ":CNET-USER - [0:0]\n:CNET-ISOLATION-1 - [0:0]\n:CNET-ISOLATION-2 - [0:0]\n:CNET-FORWARD - [0:0]\n\
             :CNET-INPUT - [0:0]\n\
             -I FORWARD 1 -j CNET-USER\n\
             -I FORWARD 2 -j CNET-ISOLATION-1\n\
             -I FORWARD 3 -j CNET-FORWARD\n\
             -I INPUT 1 -j CNET-INPUT\nCOMMIT\n"
        ), "{filter}");
        assert!(!input.contains("-D "), "{input}");
    }

    #[test]
    fn a_flushed_forward_gets_its_survivors_deleted_and_all_jumps_again() {
        // Someone deleted the USER jump: the other two are re-inserted after it, in order.
        let text = full(true).replace("-A FORWARD -j CNET-USER\n", "");
        let input = ensure_input(&parse_save(&text), Family::V4).unwrap();
        assert_eq!(
            input,
            "*filter\n\
             -D FORWARD -j CNET-FORWARD\n\
             -D FORWARD -j CNET-ISOLATION-1\n\
             -I FORWARD 1 -j CNET-USER\n\
             -I FORWARD 2 -j CNET-ISOLATION-1\n\
             -I FORWARD 3 -j CNET-FORWARD\nCOMMIT\n"
        );
    }

    #[test]
    fn the_base_goes_only_when_every_cnet_chain_is_empty() {
        assert_eq!(remove_input(&parse_save(&full(true)), Family::V4), None);
        let input = remove_input(&parse_save(&full(false)), Family::V4).unwrap();
        let filter = input.split("*filter\n").nth(1).unwrap();
        assert_eq!(
            filter,
            "-D INPUT -j CNET-INPUT\n\
             -D FORWARD -j CNET-FORWARD\n\
             -D FORWARD -j CNET-ISOLATION-1\n\
             -D FORWARD -j CNET-USER\n\
             -X CNET-INPUT\n-X CNET-FORWARD\n-X CNET-ISOLATION-2\n-X CNET-ISOLATION-1\n-X CNET-USER\nCOMMIT\n"
        );
        assert!(
            input.contains(
                "*raw\n-D PREROUTING -j CNET-TUNNEL\n-D PREROUTING -j CNET-RAW-PREROUTING\n\
                 -X CNET-TUNNEL\n-X CNET-RAW-PREROUTING\nCOMMIT\n"
            ),
            "{input}"
        );
        // Nothing of cnet's there: nothing to remove.
        assert_eq!(
            remove_input(&parse_save(EMPTY), Family::V4),
            Some(String::new())
        );
    }

    #[test]
    fn ip6tables_gets_the_same_base_without_the_raw_chain() {
        let input = ensure_input(&parse_save(EMPTY), Family::V6).unwrap();
        assert!(
            input.starts_with("*nat\n:CNET-POSTROUTING - [0:0]\n"),
            "{input}"
        );
        assert!(input.contains("-I INPUT 1 -j CNET-INPUT\n"), "{input}");
        assert!(!input.contains("raw"), "{input}");
    }

    #[test]
    fn a_base_from_before_cnet_input_gets_it_added() {
        let old = full(false)
            .replace(":CNET-INPUT - [0:0]\n", "")
            .replace("-A INPUT -j CNET-INPUT\n", "");
        assert_eq!(
            ensure_input(&parse_save(&old), Family::V4).unwrap(),
            "*filter\n:CNET-INPUT - [0:0]\n-I INPUT 1 -j CNET-INPUT\nCOMMIT\n"
        );
    }
}
