//! The one executor: runs a plan's steps in order — kernel requests, firewall changes, file
//! writes and state records alike — and on the first failure undoes every step already done,
//! in reverse. No command changes the host beside it.

use crate::error::{Error, Result};
use crate::firewall::Firewall;
use crate::kernel::{Session, netlink, netns, reclaim, sublink, sysctl, vxlan};
use crate::plan::{NsRef, Op, Plan, Record};
use crate::store::Store;

/// What a plan acts on: the netlink connections, the firewall and the store.
pub struct Effects<'a> {
    pub session: &'a mut Session,
    pub firewall: &'a mut dyn Firewall,
    pub store: &'a dyn Store,
}

/// A plan that failed: the error of the op that failed, and the errors met while undoing the
/// ops applied before it (empty when the rollback was complete).
#[derive(Debug)]
pub struct ApplyFailure {
    pub error: Error,
    pub rollback_errors: Vec<Error>,
}

/// Execute one op. All netlink work of a namespace goes through the session's connection.
fn exec_op(fx: &mut Effects, op: &Op) -> Result<()> {
    let (s, fw) = (&mut *fx.session, &mut *fx.firewall);
    match op {
        Op::Record(r) => record(fx.store, r),
        Op::File(f) => crate::files::exec(f),
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
        Op::CreateBase { input } => fw.create_base(input),
        Op::RemoveBase => fw.remove_base(),
        Op::CreateTable(kind) => fw.create_table(*kind),
        Op::DropTable(kind) => fw.drop_table(*kind),
        Op::ReplacePublished(es) => fw.replace_published(es),
        Op::ReplaceTunnelFilter(es) => fw.replace_tunnel_filter(es),
        Op::AppendRule(r) => fw.append(r),
        Op::DeleteRule(r) => fw.delete(r),
        Op::AppendRules(rs) => fw.append_new(rs),
        Op::DeleteRules(rs) => fw.delete_each(rs),
        Op::PublishPorts(es) => fw.publish(es),
        Op::UnpublishPorts(es) => fw.unpublish(es),
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
fn exec_removal(fx: &mut Effects, op: &Op) -> Result<()> {
    if let Some(ns) = op_netns(op)
        && let Some(path) = ns.path()
        && path.symlink_metadata().is_err()
    {
        return Ok(());
    }
    exec_op(fx, op)
}

/// Apply a plan in order. On the first failure, apply the undo of each op already applied, in
/// reverse order, and return the original error with the errors of the rollback (if any).
pub fn apply_detailed(plan: &Plan, fx: &mut Effects) -> std::result::Result<(), ApplyFailure> {
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
            let results = crate::timing::time(
                || describe_batch(batch),
                || fx.session.exec_pipelined(ns, batch),
            );
            for (o, r) in batch.iter().zip(results) {
                match r {
                    Ok(()) => applied.push(o),
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
        } else {
            match crate::timing::time(|| op.to_string(), || exec_op(fx, op)) {
                Ok(()) => applied.push(op),
                Err(e) => first_error = Some(e),
            }
        }
        if let Some(error) = first_error {
            let mut rollback_errors = Vec::new();
            for done in applied.iter().rev() {
                if let Some(undo) = done.undo()
                    && let Err(e) = exec_removal(fx, &undo)
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
pub fn apply(plan: &Plan, fx: &mut Effects) -> Result<()> {
    apply_detailed(plan, fx).map_err(|f| f.error)
}

/// Apply a teardown: every kernel and firewall removal is attempted even if an earlier one
/// failed, and what is gone already counts as removed. State records and files, which come
/// after, are written only when every removal succeeded, so that a failed teardown is still
/// recorded (and can simply be run again); they stop at the first failure.
pub fn apply_teardown(plan: &Plan, fx: &mut Effects) -> Result<()> {
    let mut first = None;
    for op in &plan.ops {
        let bookkeeping = matches!(op, Op::Record(_) | Op::File(_));
        if bookkeeping && first.is_some() {
            break;
        }
        let done = crate::timing::time(|| op.to_string(), || exec_removal(fx, op));
        if let Err(e) = done {
            if bookkeeping {
                return Err(e);
            }
            first.get_or_insert(e);
        }
    }
    match first {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Carry out one state record, with its precondition.
fn record(store: &dyn Store, r: &Record) -> Result<()> {
    match r {
        Record::PutNetwork { net, .. } => store.put_network(net),
        Record::DropNetwork { name } => store.remove_network(name),
        Record::PutLease { lease, previous } => match previous {
            None => store.put_lease(lease, true),
            Some(p) => {
                // Only if unchanged: a lease that moved on since planning is a NAK.
                let now = store.lease(&lease.network, lease.address)?;
                if now.as_ref() != Some(p) {
                    return Err(Error::runtime(format!(
                        "NAK: the lease of {} on network {} changed meanwhile",
                        lease.address, lease.network
                    )));
                }
                store.put_lease(lease, false)
            }
        },
        Record::DropLease { lease } => store.remove_lease(&lease.network, lease.address),
        Record::PutEndpoint { endpoint, .. } => store.put_endpoint(&endpoint.key, endpoint),
        Record::DropEndpoint { endpoint } => {
            store.remove_endpoint(&endpoint.network, &endpoint.key)
        }
        Record::ClaimPorts(c) => store.claim_ports(c),
        Record::ReleasePorts(c) => store.release_ports(c),
        Record::PutNamespace(n) => store.put_namespace(n),
        Record::DropNamespace(n) => store.remove_namespace(&n.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::NftTableKind;
    use crate::firewall::rule::Rule;
    use crate::store::MemStore;

    fn effects<'a>(
        session: &'a mut Session,
        firewall: &'a mut dyn Firewall,
        store: &'a dyn Store,
    ) -> Effects<'a> {
        Effects {
            session,
            firewall,
            store,
        }
    }

    fn run(plan: &Plan, fw: &mut FakeFw, store: &MemStore) -> Result<()> {
        apply(plan, &mut effects(&mut Session::new(), fw, store))
    }

    /// A firewall that records calls and fails on demand.
    #[derive(Default)]
    struct FakeFw {
        calls: Vec<String>,
        /// Fail the append of this comment.
        fail_comment: Option<String>,
    }

    impl Firewall for FakeFw {
        fn create_base(&mut self, _input: &str) -> Result<()> {
            self.calls.push("ensure".into());
            Ok(())
        }
        fn remove_base(&mut self) -> Result<()> {
            self.calls.push("remove base".into());
            Ok(())
        }
        fn create_table(&mut self, kind: NftTableKind) -> Result<()> {
            self.calls.push(format!("create table {}", kind.name()));
            Ok(())
        }
        fn drop_table(&mut self, kind: NftTableKind) -> Result<()> {
            self.calls.push(format!("drop table {}", kind.name()));
            Ok(())
        }
        fn replace_published(
            &mut self,
            es: &[crate::firewall::published::PortEntry],
        ) -> Result<()> {
            self.calls.push(format!("replace published {}", es.len()));
            Ok(())
        }
        fn replace_tunnel_filter(
            &mut self,
            es: &[crate::firewall::tunnel::TunnelEntry],
        ) -> Result<()> {
            self.calls
                .push(format!("replace tunnel filter {}", es.len()));
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
        fn publish(&mut self, es: &[crate::firewall::published::PortEntry]) -> Result<()> {
            self.calls.push(format!("publish {}", es.len()));
            Ok(())
        }
        fn unpublish(&mut self, es: &[crate::firewall::published::PortEntry]) -> Result<()> {
            self.calls.push(format!("unpublish {}", es.len()));
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
                Op::CreateBase {
                    input: String::new(),
                },
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
        let e = run(&plan, &mut fw, &MemStore::default()).unwrap_err();
        assert_eq!(e.to_string(), "append failed");
        assert_eq!(
            fw.calls,
            [
                "ensure",
                "append a",
                "append b",
                "append c",
                "delete b",
                "delete a",
                "remove base"
            ]
        );
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
                Op::CreateBase {
                    input: String::new(),
                },
            ],
        };
        let mut fw = FakeFw::default();
        apply_teardown(
            &plan,
            &mut effects(&mut Session::new(), &mut fw, &MemStore::default()),
        )
        .unwrap();
        assert_eq!(fw.calls, vec!["ensure".to_string()]);
    }

    #[test]
    fn failing_op_in_a_missing_namespace_is_a_kernel_error_naming_the_command() {
        let plan = Plan {
            ops: vec![
                Op::CreateBase {
                    input: String::new(),
                },
                Op::LinkUp {
                    ns: NsRef::Path("/nonexistent/netns/x".into()),
                    dev: "eth0".into(),
                },
            ],
        };
        let mut fw = FakeFw::default();
        let f = apply_detailed(
            &plan,
            &mut effects(&mut Session::new(), &mut fw, &MemStore::default()),
        )
        .unwrap_err();
        let msg = f.error.to_string();
        assert!(
            msg.starts_with("nsenter --net=/nonexistent/netns/x ip link set eth0 up: "),
            "{msg}"
        );
        assert!(msg.contains("does not exist"), "{msg}");
        assert!(f.rollback_errors.is_empty());
    }
}
