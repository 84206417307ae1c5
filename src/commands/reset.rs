//! `cnet reset`: remove everything cnet made, so the host is as it was before cnet's first use.

use super::{Ctx, net, ns};
use crate::cli::Format;
use crate::error::Result;
use crate::files::Node;
use crate::firewall::Backend;
use crate::plan::{FileOp, Op, Plan};
use serde::Serialize;

/// What a reset removed, for --format json.
#[derive(Serialize, Default)]
struct ResetDone {
    networks: Vec<net::Removed>,
    namespaces: Vec<String>,
    /// Firewall pieces left over with no network to own them.
    firewall: Vec<String>,
}

pub fn run(ctx: &Ctx, yes: bool) -> Result<()> {
    if !ctx.dry_run()
        && !super::confirm(
            "This detaches every namespace, removes every cnet network (the default bridge \
             network's too), its rules and tables, and deletes the namespaces cnet created. Go on?",
            yes,
            "--yes",
        )?
    {
        return Ok(());
    }
    // Each removal planned on what the ones before did: a dry run prints what the run does.
    super::rehearsal::rehearsed(ctx, reset)
}

fn reset(ctx: &Ctx) -> Result<()> {
    ctx.require_root()?;
    let _lock = ctx.lock()?;
    let mut done = ResetDone::default();
    let foreign = foreign_namespaces(ctx)?;
    // Every network, with its endpoints; the predefined ones go back to unused.
    let mut gone = Vec::new();
    let worst = super::for_each_reporting(&ctx.store.networks()?, |n| {
        let r = net::remove(ctx, n, true, &gone)?;
        gone.push(n.name.clone());
        done.networks.extend(r);
        Ok(())
    });
    let namespaces = ctx.store.namespaces()?;
    let worst = worst.and(super::for_each_reporting(&namespaces, |rec| {
        if !rec.host {
            ns::remove(ctx, &rec.name)?;
            done.namespaces.push(rec.name.clone());
        }
        Ok(())
    }));
    let worst = worst.and(super::for_each_reporting(&foreign, |name| {
        let plan = Plan {
            ops: ctx.plan_files(|hosts| hosts.namespace_removed(name))?,
        };
        ctx.teardown(&plan)
    }));
    let leftovers = leftover_firewall(ctx)?;
    done.firewall = leftovers.ops.iter().map(|op| op.to_string()).collect();
    ctx.teardown(&leftovers)?;
    worst?;
    if ctx.dry_run() {
        return Ok(());
    }
    match ctx.global.format() {
        Format::Json => super::print_json(&done),
        Format::Table => {
            for r in &done.networks {
                crate::outln!("removed network {}", r.name);
            }
            for name in &done.namespaces {
                crate::outln!("deleted namespace {name}");
            }
        }
    }
    Ok(())
}

/// The named namespaces on cnet's networks that cnet did not create, and whose /etc/netns
/// files are all cnet's: they stay, their files go.
fn foreign_namespaces(ctx: &Ctx) -> Result<Vec<String>> {
    let created: Vec<String> = ctx
        .store
        .namespaces()?
        .into_iter()
        .map(|r| r.name)
        .collect();
    let mut out = Vec::new();
    for n in ctx.store.network_names()? {
        for ep in ctx.store.endpoints(&n)? {
            let named = !ep.netns.contains('/');
            if named && !created.contains(&ep.netns) && !out.contains(&ep.netns) {
                out.push(ep.netns);
            }
        }
    }
    let host = ctx.host.borrow();
    let files = host.files();
    let dir = crate::names::etc_netns_dir();
    out.retain(|name| {
        ["hosts", "resolv.conf"]
            .iter()
            .all(|f| match files.node(&dir.join(name).join(f)) {
                Ok(Node::Absent) => true,
                Ok(Node::File(text)) => text.starts_with("# written by cnet"),
                Ok(Node::Link(to)) => to.starts_with(crate::hosts::network_hosts_dir()),
                _ => false,
            })
    });
    Ok(out)
}

/// cnet's base chains and nftables tables, if any are still there once no network uses them
/// (e.g. after `iptables -F` or a state directory removed by hand), with the iptables and
/// ip6tables rules of networks no record names.
fn leftover_firewall(ctx: &Ctx) -> Result<Plan> {
    let mut plan = Plan::default();
    if !ctx.store.network_names()?.is_empty() {
        return Ok(plan);
    }
    let facts = ctx.firewall_facts()?;
    // The admin's rules keep the table (as they kept iptables' CNET-USER).
    if facts.table && !facts.admin_rules {
        plan.push(Op::DropTable);
    }
    if facts.backend == Backend::Iptables {
        // Rules tagged with a network no record names any more (iptables and ip6tables),
        // then what of the base is there; nothing while a chain still holds rules.
        let orphans = ctx.host.borrow_mut().cnet_rules()?;
        if !orphans.is_empty() {
            plan.push(Op::DeleteRules(orphans));
        }
        // Not when the last network's removal took it already (a dry run prints it once).
        if !facts.base_absent()? {
            plan.push(Op::RemoveBase);
        }
    }
    plan.extend(super::firewall::plan_iptables_leftovers(ctx)?);
    // The directories of the shared hosts files, once empty.
    let hosts_dir = crate::hosts::network_hosts_dir();
    let host = ctx.host.borrow();
    let files = host.files();
    if files.node(&hosts_dir)? == Node::Dir && files.list(&hosts_dir).is_empty() {
        plan.push(Op::File(FileOp::RemoveDir {
            path: hosts_dir.clone(),
        }));
        if let Some(run_cnet) = hosts_dir.parent()
            && files.list(run_cnet).len() == 1
        {
            plan.push(Op::File(FileOp::RemoveDir {
                path: run_cnet.to_path_buf(),
            }));
        }
    }
    Ok(plan)
}
