//! Batches of rules in one `iptables-restore --noflush` run: one process and one transaction
//! per table for a whole plan step, instead of an `iptables` process (and a check) per rule.

use super::commit_watch::CommitWatch;
use super::rule::{Rule, Table, binary, crate_rule_string};
use crate::error::{Error, Result};
use crate::model::family::Family;
use std::io::Write;
use std::os::fd::AsFd;
use std::process::{Command, Stdio};

/// The `iptables-restore` input that applies `command` (`-A` or `-D`) to every rule, grouped
/// by table (each table is one transaction, in [`table_order`]), keeping the rules' order
/// within a table.
pub fn render(command: &str, rules: &[Rule]) -> Result<String> {
    let mut out = String::new();
    for table in table_order(command) {
        let mut lines = Vec::new();
        for r in rules.iter().filter(|r| r.table == table) {
            // Adding, a rule that goes first is inserted at the top of its chain.
            let command = if command == "-A" {
                r.add_command()
            } else {
                command
            };
            let mut words = vec![command.to_string(), r.chain.clone()];
            words.extend(r.spec_argv());
            lines.push(crate_rule_string(&words).map_err(Error::Runtime)?);
        }
        if !lines.is_empty() {
            out.push_str(&format!(
                "*{}\n{}\nCOMMIT\n",
                table.as_str(),
                lines.join("\n")
            ));
        }
    }
    Ok(out)
}

/// The order of the tables' transactions. Adding: raw first, so that the drop guarding
/// 127.0.0.0/8 is in before nat's openings. Deleting: the reverse, nat first, whose rules name
/// every match extension the others do (conntrack, comment), so that every revision check
/// comes before any deletion: iptables-nft checks an extension's revision the first time a
/// rule names it, on a netfilter socket of its own, and closing that socket waits for the
/// freeing of what the transactions before it deleted (NETLINK_URELEASE, an RCU grace period).
fn table_order(command: &str) -> [Table; 3] {
    if command == "-D" {
        [Table::Nat, Table::Filter, Table::Raw]
    } else {
        [Table::Raw, Table::Nat, Table::Filter]
    }
}

/// Feed `input` to `iptables-restore --noflush` (`ip6tables-restore` for IPv6). `what` names
/// the batch in errors.
///
/// Returns once the kernel has committed every block (`commit_watch`), not when the process
/// exits: after deleting rules its exit waits for their freeing. Without that notice (no
/// nf_tables, a failure, lost notifications) it waits for the exit and reads the error.
pub fn run(family: Family, input: &str, what: &str) -> Result<()> {
    let restore = format!("{}-restore", binary(family));
    let fail = |msg: String| Error::Kernel {
        op: what.to_string(),
        msg,
    };
    // One transaction, one NEWGEN, per block at most; counting every block never undercounts
    // (an empty block commits nothing: the count is not reached and the exit decides).
    let commits = input.lines().filter(|l| l.trim() == "COMMIT").count();
    // Subscribed before the spawn, so that none of the child's commits is missed.
    let watch = (commits > 0).then(CommitWatch::open).flatten();
    let mut child = Command::new(&restore)
        .arg("--noflush")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run {restore}: {e}")))?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .map_err(|e| fail(format!("writing to {restore}: {e}")))?;
    if let Some(mut watch) = watch {
        let stderr = child.stderr.as_ref().expect("stderr is piped");
        let committed = watch.wait_for(child.id(), commits, stderr.as_fd());
        // Closing the watch waits for the kernel's freeing, like the child's exit does.
        crate::deferred::defer_fd(watch.into_fd());
        if let Ok(true) = committed {
            // Done: every transaction is committed. The child only has the freeing left (and
            // writes stderr only on failure): dropping `Child` neither waits nor kills it; it
            // is reaped after cnet exits.
            drop(child);
            return Ok(());
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| fail(format!("{restore}: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    if let Some((command, msg)) = failed_line(family, input, &stderr) {
        return Err(Error::Kernel { op: command, msg });
    }
    let msg = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    Err(fail(if msg.is_empty() {
        format!("{restore} exited with {}", out.status)
    } else {
        msg
    }))
}

/// From "iptables-restore: line N failed: WHY", the failing input line as the `iptables`
/// command it stands for, and WHY: so the error names the rule, not a line number.
fn failed_line(family: Family, input: &str, stderr: &str) -> Option<(String, String)> {
    let rest = stderr.split("line ").nth(1)?;
    let (n, why) = rest.split_once(" failed")?;
    let n: usize = n.trim().parse().ok()?;
    let lines: Vec<&str> = input.lines().collect();
    let line = lines.get(n.checked_sub(1)?)?;
    let table = lines[..n - 1]
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix('*'))?;
    let why = why.trim_start_matches(':').trim();
    Some((
        format!("{} -t {table} {line}", binary(family)),
        if why.is_empty() {
            "failed".into()
        } else {
            why.to_string()
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::rule::{Match, Target};

    fn rule(table: Table, chain: &str, target: Target) -> Rule {
        Rule {
            family: Family::V4,
            table,
            chain: chain.into(),
            matches: vec![Match::OutIface {
                name: "cn-lab".into(),
                negate: true,
            }],
            target,
            comment: "cnet:lab".into(),
        }
    }

    #[test]
    fn one_transaction_per_table_in_rule_order() {
        let rules = [
            rule(Table::Filter, "CNET-FORWARD", Target::Accept),
            rule(Table::Nat, "CNET-POSTROUTING", Target::Masquerade),
            rule(Table::Filter, "CNET-ISOLATION-2", Target::Drop),
        ];
        assert_eq!(
            render("-A", &rules).unwrap(),
            "*nat\n-A CNET-POSTROUTING ! -o cn-lab -m comment --comment cnet:lab -j MASQUERADE\nCOMMIT\n\
             *filter\n-A CNET-FORWARD ! -o cn-lab -m comment --comment cnet:lab -j ACCEPT\n\
             -A CNET-ISOLATION-2 ! -o cn-lab -m comment --comment cnet:lab -j DROP\nCOMMIT\n"
        );
        assert_eq!(render("-D", &[]).unwrap(), "");
    }

    #[test]
    fn deleting_goes_nat_filter_raw_and_adding_raw_nat_filter() {
        let rules = [
            rule(Table::Filter, "CNET-FORWARD", Target::Accept),
            rule(Table::Raw, "CNET-RAW-PREROUTING", Target::Drop),
            rule(Table::Nat, "CNET-POSTROUTING", Target::Masquerade),
        ];
        let tables = |input: String| -> Vec<String> {
            input
                .lines()
                .filter_map(|l| l.strip_prefix('*').map(str::to_string))
                .collect()
        };
        assert_eq!(
            tables(render("-A", &rules).unwrap()),
            ["raw", "nat", "filter"]
        );
        assert_eq!(
            tables(render("-D", &rules).unwrap()),
            ["nat", "filter", "raw"]
        );
    }

    #[test]
    fn a_failed_line_is_named_as_its_iptables_command() {
        let input = "*nat\n-A CNET-OUTPUT -j DNAT\nCOMMIT\n*filter\n-A X -j ACCEPT\nCOMMIT\n";
        assert_eq!(
            failed_line(
                Family::V4,
                input,
                "iptables-restore: line 2 failed: No chain/target/match by that name."
            ),
            Some((
                "iptables -t nat -A CNET-OUTPUT -j DNAT".into(),
                "No chain/target/match by that name.".into()
            ))
        );
        assert_eq!(failed_line(Family::V4, input, "something else"), None);
        assert_eq!(
            failed_line(Family::V6, input, "ip6tables-restore: line 5 failed")
                .unwrap()
                .0,
            "ip6tables -t filter -A X -j ACCEPT"
        );
    }
}
