//! Side effects on the kernel: netlink, namespaces, sysctls; applying plans with rollback.

pub mod exec;
pub mod netlink;
pub mod netns;
pub mod reclaim;
pub mod rtnl;
pub mod sublink;
pub mod sysctl;
pub mod vxlan;

use crate::error::{Error, Result};
use crate::firewall::Firewall;
use crate::plan::{NsRef, Op, Plan};
pub use netlink::Session;

/// A plan that failed: the error of the op that failed, and the errors met while undoing the
/// ops applied before it (empty when the rollback was complete).
#[derive(Debug)]
pub struct ApplyFailure {
    pub error: Error,
    pub rollback_errors: Vec<Error>,
}

/// Execute one op. All netlink work of a namespace goes through the session's connection.
fn exec_op(s: &mut Session, op: &Op, fw: &mut dyn Firewall) -> Result<()> {
    match op {
        Op::CreateNetns { name } => netns::create_named(s, name),
        Op::BindHostNetns { name } => {
            s.forget(&NsRef::Named(name.clone()));
            netns::bind_host(name)
        }
        Op::DeleteNetns { name } => {
            s.forget(&NsRef::Named(name.clone()));
            netns::delete_named(name)
        }
        Op::Sysctl { ns, key, value } => match ns {
            NsRef::Host => sysctl::set(ns, key, value),
            _ => {
                // Inside the namespace while the session runs the job there.
                let (k, v) = (key.clone(), value.clone());
                s.run(ns, move |_| {
                    sysctl::write_here(&k, &v).map_err(Error::Runtime)
                })
                .map_err(|e| match e {
                    Error::Runtime(msg) => netlink::kernel_error(op, msg),
                    e => e,
                })
            }
        },
        Op::DisableIpv6 { dev } => {
            sysctl::disable_ipv6_here(dev).map_err(|msg| netlink::kernel_error(op, msg))
        }
        Op::EnsureChains => fw.ensure_chains(),
        Op::AppendRule(r) => fw.append(r),
        Op::DeleteRule(r) => fw.delete(r),
        Op::AppendRules(rs) => fw.append_new(rs),
        Op::DeleteRules(rs) => fw.delete_each(rs),
        Op::EnsurePortMaps => fw.ensure_port_maps(),
        Op::PublishPorts(es) => fw.publish(es),
        Op::UnpublishPorts(es) => fw.unpublish(es),
        Op::EnsureTunnelFilter => fw.ensure_tunnel_filter(),
        Op::AllowTunnel(es) => fw.allow_tunnel(es),
        Op::DisallowTunnel(es) => fw.disallow_tunnel(es),
        Op::CreateVxlan { .. } | Op::AppendFdb { .. } | Op::DelFdb { .. } => vxlan::exec(s, op),
        Op::CreateSublink { .. } => sublink::exec_create(s, op),
        Op::RetireVeth {
            host,
            peer_ns,
            peer,
        } => reclaim::retire_veth(s, host, peer_ns, peer),
        Op::CreateBridge { .. }
        | Op::CreateVeth { .. }
        | Op::LinkUp { .. }
        | Op::NoIpv6Autoconf { .. }
        | Op::DeleteLink { .. }
        | Op::AddAddress { .. }
        | Op::DelAddress { .. }
        | Op::AddRoute { .. }
        | Op::DelRoute { .. } => s.exec(op),
    }
}

/// The namespace an op works in, when that is not the host's.
fn op_netns(op: &Op) -> Option<&NsRef> {
    match op {
        Op::LinkUp { ns, .. }
        | Op::DeleteLink { ns, .. }
        | Op::AddAddress { ns, .. }
        | Op::DelAddress { ns, .. }
        | Op::AddRoute { ns, .. }
        | Op::DelRoute { ns, .. }
        | Op::Sysctl { ns, .. }
        | Op::NoIpv6Autoconf { ns, .. } => match ns {
            NsRef::Host => None,
            other => Some(other),
        },
        _ => None,
    }
}

/// Whether an op is one `Session::exec_pipelined` may batch: a netlink request of an attach
/// inside a namespace other than cnet's own.
fn pipelined(op: &Op) -> Option<&NsRef> {
    match op {
        Op::LinkUp { .. }
        | Op::NoIpv6Autoconf { .. }
        | Op::AddAddress { .. }
        | Op::AddRoute { .. } => op_netns(op),
        _ => None,
    }
}

/// Execute a removal op: whatever it removes being already gone counts as success, including
/// when the namespace it lived in is gone.
fn exec_removal(s: &mut Session, op: &Op, fw: &mut dyn Firewall) -> Result<()> {
    if let Some(ns) = op_netns(op)
        && let Some(path) = ns.path()
        && path.symlink_metadata().is_err()
    {
        return Ok(());
    }
    exec_op(s, op, fw)
}

/// Apply a plan in order. On the first failure, apply the undo of each op already applied, in
/// reverse order, and return the original error with the errors of the rollback (if any).
pub fn apply_detailed(
    plan: &Plan,
    s: &mut Session,
    fw: &mut dyn Firewall,
) -> std::result::Result<(), ApplyFailure> {
    // What went in, in order: what a rollback undoes.
    let mut applied: Vec<&Op> = Vec::with_capacity(plan.ops.len());
    let mut i = 0;
    while i < plan.ops.len() {
        let op = &plan.ops[i];
        // A run of requests inside one namespace goes as one pipelined batch.
        let run = match pipelined(op) {
            Some(ns) => plan.ops[i..]
                .iter()
                .take_while(|o| pipelined(o) == Some(ns))
                .count(),
            None => 1,
        };
        let batch = &plan.ops[i..i + run];
        let mut first_error = None;
        if run > 1 {
            let ns = pipelined(op).expect("a run starts with a pipelined op");
            let results =
                crate::timing::time(|| describe_batch(batch), || s.exec_pipelined(ns, batch));
            for (o, r) in batch.iter().zip(results) {
                match r {
                    Ok(()) => applied.push(o),
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
        } else {
            match crate::timing::time(|| op.to_string(), || exec_op(s, op, fw)) {
                Ok(()) => applied.push(op),
                Err(e) => first_error = Some(e),
            }
        }
        if let Some(error) = first_error {
            let mut rollback_errors = Vec::new();
            for done in applied.iter().rev() {
                if let Some(undo) = done.undo()
                    && let Err(e) = exec_removal(s, &undo, fw)
                {
                    rollback_errors.push(e);
                }
            }
            return Err(ApplyFailure {
                error,
                rollback_errors,
            });
        }
        i += run;
    }
    Ok(())
}

fn describe_batch(ops: &[Op]) -> String {
    let lines: Vec<String> = ops.iter().map(|o| o.to_string()).collect();
    format!("(pipelined) {}", lines.join("; "))
}

/// Apply a plan in order. On the first failure, apply the undo (`Op::undo`) of each op already
/// applied, in reverse order, ignoring errors during rollback (see [`apply_detailed`] to get
/// them), and return the original error. Firewall ops go to `fw`.
pub fn apply(plan: &Plan, s: &mut Session, fw: &mut dyn Firewall) -> Result<()> {
    apply_detailed(plan, s, fw).map_err(|f| f.error)
}

/// Apply teardown ops best-effort: every op is attempted even if an earlier one failed; "not
/// found" counts as success; returns the first error (if any) after trying them all.
pub fn apply_teardown(plan: &Plan, s: &mut Session, fw: &mut dyn Firewall) -> Result<()> {
    let mut first = None;
    for op in &plan.ops {
        let done = crate::timing::time(|| op.to_string(), || exec_removal(s, op, fw));
        if let Err(e) = done {
            first.get_or_insert(e);
        }
    }
    match first {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// IPv4 destination prefixes of the routes in the host namespace's main table (for choosing
/// free subnets). Default routes (0.0.0.0/0) are left out: they overlap everything.
pub fn host_routes_v4() -> Result<Vec<ipnetwork::Ipv4Network>> {
    Session::new().run(&NsRef::Host, netlink::main_routes_v4)
}

/// Whether a link exists in a namespace (false when the namespace itself does not exist). The
/// session's connection to the namespace stays open for the plan that usually follows.
pub fn link_exists(s: &mut Session, ns: &NsRef, name: &str) -> Result<bool> {
    if let Some(p) = ns.path()
        && p.symlink_metadata().is_err()
    {
        return Ok(false);
    }
    s.run(ns, |c| {
        netlink::link_index(c, name)
            .map(|i| i.is_some())
            .map_err(|e| Error::runtime(format!("ip link show {name}: {}", netlink::describe(&e))))
    })
}

/// The boot id (/proc/sys/kernel/random/boot_id), trimmed; empty string if unreadable.
pub fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::rule::Rule;

    /// A firewall that records calls and fails on demand.
    #[derive(Default)]
    struct FakeFw {
        calls: Vec<String>,
        /// Fail the append of this comment.
        fail_comment: Option<String>,
    }

    impl Firewall for FakeFw {
        fn ensure_chains(&mut self) -> Result<()> {
            self.calls.push("ensure".into());
            Ok(())
        }
        fn append(&mut self, r: &Rule) -> Result<()> {
            self.calls.push(format!("append {}", r.comment));
            if self.fail_comment.as_deref() == Some(r.comment.as_str()) {
                Err(Error::runtime("append failed"))
            } else {
                Ok(())
            }
        }
        fn delete(&mut self, r: &Rule) -> Result<()> {
            self.calls.push(format!("delete {}", r.comment));
            Ok(())
        }
        fn ensure_port_maps(&mut self) -> Result<()> {
            self.calls.push("ensure port maps".into());
            Ok(())
        }
        fn publish(&mut self, es: &[crate::firewall::published::PortEntry]) -> Result<()> {
            self.calls.push(format!("publish {}", es.len()));
            Ok(())
        }
        fn unpublish(&mut self, es: &[crate::firewall::published::PortEntry]) -> Result<()> {
            self.calls.push(format!("unpublish {}", es.len()));
            Ok(())
        }
        fn ensure_tunnel_filter(&mut self) -> Result<()> {
            self.calls.push("ensure tunnel filter".into());
            Ok(())
        }
        fn allow_tunnel(&mut self, es: &[crate::firewall::tunnel::TunnelEntry]) -> Result<()> {
            self.calls.push(format!("allow tunnel {}", es.len()));
            Ok(())
        }
        fn disallow_tunnel(&mut self, es: &[crate::firewall::tunnel::TunnelEntry]) -> Result<()> {
            self.calls.push(format!("disallow tunnel {}", es.len()));
            Ok(())
        }
    }

    fn rule(comment: &str) -> Rule {
        Rule {
            table: crate::firewall::rule::Table::Filter,
            chain: "CNET-FORWARD".into(),
            matches: vec![],
            target: crate::firewall::rule::Target::Accept,
            comment: comment.into(),
        }
    }

    #[test]
    fn failure_undoes_applied_ops_in_reverse_and_keeps_the_first_error() {
        let plan = Plan {
            ops: vec![
                Op::EnsureChains,
                Op::AppendRule(rule("a")),
                Op::AppendRule(rule("b")),
                Op::AppendRule(rule("c")),
                Op::AppendRule(rule("d")),
            ],
        };
        let mut fw = FakeFw {
            fail_comment: Some("c".into()),
            ..Default::default()
        };
        let e = apply(&plan, &mut Session::new(), &mut fw).unwrap_err();
        assert_eq!(e.to_string(), "append failed");
        assert_eq!(
            fw.calls,
            [
                "ensure", "append a", "append b", "append c", "delete b", "delete a"
            ]
        );
    }

    #[test]
    fn boot_id_is_trimmed() {
        let b = boot_id();
        assert!(!b.ends_with('\n'));
    }

    #[test]
    fn removal_in_a_missing_namespace_counts_as_done() {
        let plan = Plan {
            ops: vec![
                Op::DeleteLink {
                    ns: NsRef::Path("/nonexistent/netns/x".into()),
                    dev: "eth0".into(),
                },
                Op::DelRoute {
                    ns: NsRef::Named("cnet-test-does-not-exist".into()),
                    dest: None,
                    via: Some("10.9.0.1".parse().unwrap()),
                    dev: None,
                },
                Op::EnsureChains,
            ],
        };
        let mut fw = FakeFw::default();
        apply_teardown(&plan, &mut Session::new(), &mut fw).unwrap();
        assert_eq!(fw.calls, vec!["ensure".to_string()]);
    }

    #[test]
    fn failing_op_in_a_missing_namespace_is_a_kernel_error_naming_the_command() {
        let plan = Plan {
            ops: vec![
                Op::EnsureChains,
                Op::LinkUp {
                    ns: NsRef::Path("/nonexistent/netns/x".into()),
                    dev: "eth0".into(),
                },
            ],
        };
        let mut fw = FakeFw::default();
        let f = apply_detailed(&plan, &mut Session::new(), &mut fw).unwrap_err();
        let msg = f.error.to_string();
        assert!(
            msg.starts_with("nsenter --net=/nonexistent/netns/x ip link set eth0 up: "),
            "{msg}"
        );
        assert!(msg.contains("does not exist"), "{msg}");
        assert!(f.rollback_errors.is_empty());
    }
}
