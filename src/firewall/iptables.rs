//! The iptables backend: runs the `iptables` binary (`ip6tables` for IPv6 rules) through the
//! `iptables` crate, and `iptables-restore`/`ip6tables-restore` for batches.
//!
//! The crate takes a rule as one string and splits it on spaces, keeping `"..."` or `'...'`
//! together and trimming quote characters from the ends of every word. [`crate_rule_string`]
//! renders a rule's argv so that this splitting gives the argv back, and refuses words it
//! could not carry (quotes, newlines, empty words) rather than letting them be mangled.

use super::layout::{FAMILIES, command_line};
use super::rule::{Rule, binary, crate_rule_string};
use super::{base, restore};
use crate::error::{Error, Result};
use crate::model::family::Family;
use std::error::Error as StdError;

/// cnet's firewall in iptables or ip6tables (whichever of the nft or legacy variants they are).
pub struct IptablesFirewall {
    ipt: iptables::IPTables,
    family: Family,
}

/// The whole ruleset of a family as `iptables-save` (`ip6tables-save`) prints it.
pub fn save(family: Family) -> Result<String> {
    let cmd = format!("{}-save", binary(family));
    let out = std::process::Command::new(&cmd)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                Error::runtime(format!("{cmd} not found: install the iptables package"))
            }
            _ => Error::runtime(format!("cannot run {cmd}: {e}")),
        })?;
    if !out.status.success() {
        return Err(Error::Kernel {
            op: cmd,
            msg: one_line(&String::from_utf8_lossy(&out.stderr)),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether the kernel speaks IPv6 at all: without it there is no ip6tables to write to.
pub fn has_ipv6() -> bool {
    std::path::Path::new("/proc/net/if_inet6").exists()
}

/// The families cnet writes rules of on this machine: IPv4, and IPv6 unless the kernel lacks it.
pub fn families() -> Vec<Family> {
    FAMILIES
        .into_iter()
        .filter(|f| *f == Family::V4 || has_ipv6())
        .collect()
}

/// `iptables-save`'s (`ip6tables-save`'s) output, or `None` when iptables is not installed
/// (or, for IPv6, the kernel has no IPv6).
pub fn save_if_installed(family: Family) -> Result<Option<String>> {
    let cmd = format!("{}-save", binary(family));
    let installed = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(&cmd).is_file()));
    if !installed || !families().contains(&family) {
        return Ok(None);
    }
    save(family).map(Some)
}

/// `command` (`-A` or `-D`) for every rule: one `iptables-restore --noflush` for the IPv4 ones,
/// then one `ip6tables-restore` for the IPv6 ones; one transaction per table, all or nothing
/// within it. Nothing to do for no rules.
pub fn restore_batch(command: &str, rules: &[Rule]) -> Result<()> {
    for family in FAMILIES {
        let of_family: Vec<Rule> = rules
            .iter()
            .filter(|r| r.family == family)
            .cloned()
            .collect();
        let Some(first) = of_family.first() else {
            continue;
        };
        let what = format!(
            "{}-restore --noflush ({command} of {} rules, the first: {first})",
            binary(family),
            of_family.len()
        );
        restore::run(family, &restore::render(command, &of_family)?, &what)?;
    }
    Ok(())
}

/// Remove cnet's base chains and jumps of both families when no network uses them any more
/// (every cnet chain, CNET-USER included, is empty): undoes exactly what `base::ensure_input`
/// added.
pub fn remove_base_if_empty() -> Result<()> {
    for family in families() {
        if let Some(input) = base::remove_input(&base::parse_save(&save(family)?), family)
            && !input.is_empty()
        {
            let what = format!("{}-restore --noflush (cnet's base chains)", binary(family));
            restore::run(family, &input, &what)?;
        }
    }
    Ok(())
}

/// iptables' stderr as one line: without the "Try `iptables -h' ..." hint, lines joined by "; ".
fn one_line(stderr: &str) -> String {
    stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Try `iptables -h'"))
        .filter(|l| !l.starts_with("Try `ip6tables -h'"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The message of an error from the `iptables` crate: iptables' own stderr when it ran and
/// failed, else what went wrong running it.
fn crate_msg(e: &(dyn StdError + 'static)) -> String {
    match e.downcast_ref::<iptables::error::IptablesError>() {
        Some(ie) if !one_line(&ie.msg).is_empty() => one_line(&ie.msg),
        Some(ie) => format!("iptables exited with status {}", ie.code),
        None => e.to_string(),
    }
}

fn kernel(op: impl Into<String>, e: Box<dyn StdError>) -> Error {
    Error::Kernel {
        op: op.into(),
        msg: crate_msg(e.as_ref()),
    }
}

impl IptablesFirewall {
    /// Find `iptables` (`ip6tables`) and its capabilities (`--version`).
    pub fn new(family: Family) -> Result<Self> {
        let cmd = binary(family);
        match iptables::new(family == Family::V6) {
            Ok(mut ipt) => {
                // Never resolve addresses to names when listing (a DNS timeout per rule).
                ipt.set_numeric(true);
                // The legacy command where chosen (`variant`); same version, same options.
                ipt.cmd = cmd;
                Ok(IptablesFirewall { ipt, family })
            }
            Err(e) => match e.downcast_ref::<std::io::Error>() {
                Some(io) if io.kind() == std::io::ErrorKind::NotFound => Err(Error::runtime(
                    format!("{cmd} not found: install the iptables package"),
                )),
                _ => Err(Error::runtime(format!(
                    "{cmd} --version: {}",
                    crate_msg(e.as_ref())
                ))),
            },
        }
    }

    fn spec(rule: &Rule) -> Result<String> {
        crate_rule_string(&rule.spec_argv()).map_err(|msg| Error::Kernel {
            op: rule.to_string(),
            msg,
        })
    }

    /// Whether the rule is in its chain (`iptables -C`). A missing chain, or a jump to a missing
    /// chain, counts as "not there".
    pub fn has(&self, rule: &Rule) -> Result<bool> {
        self.exists(rule)
    }

    fn exists(&self, rule: &Rule) -> Result<bool> {
        let spec = Self::spec(rule)?;
        self.ipt
            .exists(rule.table.as_str(), &rule.chain, &spec)
            .map_err(|e| kernel(command_line(self.family, &rule.argv("-C")), e))
    }
}

/// The rule-at-a-time operations `HostFirewall` falls back on.
impl IptablesFirewall {
    pub fn append(&mut self, rule: &Rule) -> Result<()> {
        if self.exists(rule)? {
            return Ok(());
        }
        let spec = Self::spec(rule)?;
        let table = rule.table.as_str();
        if rule.goes_first() {
            self.ipt.insert(table, &rule.chain, &spec, 1)
        } else {
            self.ipt.append(table, &rule.chain, &spec)
        }
        .map_err(|e| kernel(rule.to_string(), e))
    }

    pub fn delete(&mut self, rule: &Rule) -> Result<()> {
        if !self.exists(rule)? {
            return Ok(());
        }
        let spec = Self::spec(rule)?;
        self.ipt
            .delete(rule.table.as_str(), &rule.chain, &spec)
            .map_err(|e| kernel(rule.command_line("-D"), e))
    }
}

#[cfg(test)]
mod tests {
    //! The backend itself is exercised by the sandboxed integration tests (the cnet binary run
    //! inside `unshare`); running iptables from the test process would touch the host's own
    //! namespace. Here: the pure rendering, and the `iptables` crate's splitting of what we
    //! render, through a stand-in "iptables" that prints its argv (no iptables is run).
    use super::*;
    use crate::firewall::layout::{BridgeFw, base_jumps, bridge_network_rules};
    use crate::firewall::rule::{Match, Table, Target};

    fn words(ws: &[&str]) -> Vec<String> {
        ws.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn rule_string_quotes_words_with_spaces_only() {
        assert_eq!(
            crate_rule_string(&words(&[
                "-m",
                "comment",
                "--comment",
                "cnet net lab",
                "-j",
                "ACCEPT"
            ]))
            .unwrap(),
            r#"-m comment --comment "cnet net lab" -j ACCEPT"#
        );
        assert_eq!(
            crate_rule_string(&words(&["!", "-o", "cn-lab"])).unwrap(),
            "! -o cn-lab"
        );
        for bad in ["", "it's", "say \"hi\"", "a\nb"] {
            let err = crate_rule_string(&words(&["--comment", bad])).unwrap_err();
            assert!(err.contains("cannot pass"), "{err}");
        }
    }

    #[test]
    fn stderr_becomes_one_line_without_the_help_hint() {
        assert_eq!(
            one_line(
                "iptables v1.8.9 (nf_tables): interface name `x' must be shorter than IFNAMSIZ (15)\n\
                 Try `iptables -h' or 'iptables --help' for more information.\n"
            ),
            "iptables v1.8.9 (nf_tables): interface name `x' must be shorter than IFNAMSIZ (15)"
        );
        assert_eq!(one_line("a\n\nb\n"), "a; b");
    }

    #[test]
    fn crate_error_message_is_iptables_stderr() {
        let e: Box<dyn StdError> = Box::new(iptables::error::IptablesError {
            code: 1,
            msg: "iptables: Bad rule (does a matching rule exist in that chain?).\n".into(),
        });
        let err = kernel("iptables -t filter -D X -j ACCEPT", e);
        assert_eq!(
            err.to_string(),
            "iptables -t filter -D X -j ACCEPT: iptables: Bad rule (does a matching rule exist in that chain?)."
        );
    }

    /// Feed rendered rules to the real `iptables` crate with a stand-in command that prints its
    /// arguments NUL-separated, and check the crate hands iptables exactly our argv.
    #[test]
    fn the_crate_splits_our_rendering_back_into_our_argv() {
        let dir = std::env::temp_dir().join(format!("cnet-ipt-argv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("print-argv");
        std::fs::write(
            &script,
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cmd: &'static str = Box::leak(script.display().to_string().into_boxed_str());
        let ipt = iptables::IPTables {
            cmd,
            has_check: true,
            has_wait: false,
            is_numeric: true,
        };

        let mut rules = bridge_network_rules(&BridgeFw {
            network: "lab",
            bridge: "cn-lab",
            subnet: "10.1.0.0/24".parse().unwrap(),
            internal: false,
        });
        rules.extend(base_jumps(Family::V4));
        rules.push(Rule {
            family: Family::V4,
            table: Table::Filter,
            chain: "CNET-FORWARD".into(),
            matches: vec![
                Match::InIface {
                    name: "cn-lab".into(),
                    negate: true,
                },
                Match::CtState(vec!["RELATED".into(), "ESTABLISHED".into()]),
            ],
            target: Target::Accept,
            comment: "cnet lab with spaces".into(),
        });
        for rule in &rules {
            let out = ipt
                .execute(
                    rule.table.as_str(),
                    &format!(
                        "-A {} {}",
                        rule.chain,
                        crate_rule_string(&rule.spec_argv()).unwrap()
                    ),
                )
                .unwrap();
            assert!(out.status.success());
            let got: Vec<String> = String::from_utf8(out.stdout)
                .unwrap()
                .split_terminator('\0')
                .map(String::from)
                .collect();
            assert_eq!(got, rule.argv("-A"), "{rule}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
