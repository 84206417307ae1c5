//! `cnet gc [--dry-run]`: find where state and kernel disagree and repair it. Interrupted plans
//! are finished first (`apply::recover`); then, network by network, missing kernel objects and
//! firewall entries are re-created, endpoints and leases whose namespace is gone are released,
//! records of namespaces that are gone forgotten, and links carrying cnet's mark that no record
//! names deleted; then firewall rules, hosts files and namespace interfaces no record accounts
//! for (`leftovers`). Each repair is a plan that goes through the executor; a dry run prints them.

mod elements;
mod gone;
mod hosts;
mod leftovers;

use super::{Ctx, target};
use crate::cli::Format;
use crate::drivers;
use crate::error::Result;
use crate::ipam;
use crate::model::{Endpoint, LeaseState, Network};
use crate::plan::{NsRef, Op, Plan, Record};
use serde::Serialize;
use std::collections::BTreeSet;

/// The problem of an endpoint whose namespace is gone.
const NS_GONE: &str = "namespace gone";

/// One disagreement and what repairs it.
#[derive(Serialize)]
pub struct Repair {
    /// What disagrees: `network lab`, `endpoint ns1 on lab`, `link cnv1234`...
    pub object: String,
    pub problem: String,
    pub action: String,
    #[serde(skip)]
    plan: Plan,
    /// Whether the plan builds (applied with rollback) rather than removes.
    #[serde(skip)]
    builds: bool,
    /// An endpoint to detach: its plan is made when its turn comes, against the hosts files
    /// as the repairs before it left them.
    #[serde(skip)]
    detach: Option<(Network, Endpoint)>,
    pub failed: bool,
}

impl Repair {
    fn line(&self) -> String {
        format!("{}: {}: {}", self.object, self.problem, self.action)
    }
}

pub fn run(ctx: &Ctx, a: &crate::cli::GcArgs) -> Result<()> {
    // Each repair planned on what the ones before did (a leg taken by its overlay's detach
    // is not detached again).
    super::rehearsal::rehearsed(ctx, |ctx| repair_and_report(ctx, a))
}

fn repair_and_report(ctx: &Ctx, a: &crate::cli::GcArgs) -> Result<()> {
    ctx.require_root()?;
    let _lock = lock_without_recovery(ctx)?;
    let mut repairs = repair_all(ctx, true)?;
    for repair in hosts::repairs(ctx, a.grace)? {
        repairs.push(carry_out(ctx, repair)?);
    }
    report(ctx, &repairs);
    if repairs.iter().any(|r| r.failed) {
        return Err(crate::error::Error::Reported(1));
    }
    Ok(())
}

/// The state lock, without the recovery `Ctx::lock` does: gc reports what it recovers.
pub fn lock_without_recovery(ctx: &Ctx) -> Result<Option<crate::store::Guard>> {
    if ctx.dry_run() {
        Ok(None)
    } else {
        ctx.store.lock().map(Some)
    }
}

/// Print the repairs: one line each (shell comments on a dry run, after their plans), or a
/// JSON list.
pub fn report(ctx: &Ctx, repairs: &[Repair]) {
    if ctx.global.format() == Format::Json {
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(repairs).unwrap_or_default()
        );
        return;
    }
    // A dry run's output is a script to paste: its report lines are comments in it.
    let prefix = if ctx.dry_run() { "# " } else { "" };
    for r in repairs {
        crate::outln!("{prefix}{}", r.line());
    }
}

/// Find every disagreement and repair it (or, on a dry run, print the plans). `orphans`: also
/// delete marked links no record names.
pub fn repair_all(ctx: &Ctx, orphans: bool) -> Result<Vec<Repair>> {
    let mut done = recover_intents(ctx)?;
    let networks = ctx.store.networks()?;
    for net in &networks {
        for repair in network_repairs(ctx, net)? {
            done.push(carry_out(ctx, repair)?);
        }
    }
    for repair in namespace_repairs(ctx)? {
        done.push(carry_out(ctx, repair)?);
    }
    if orphans {
        for repair in orphan_links(ctx, &networks)? {
            done.push(carry_out(ctx, repair)?);
        }
    }
    // After a boot too: /etc/netns outlives the namespaces it was written for.
    for repair in leftovers::repairs(ctx)? {
        done.push(carry_out(ctx, repair)?);
    }
    Ok(done)
}

/// Apply a repair's plan (a dry run prints it); a failed repair is reported, not fatal.
fn carry_out(ctx: &Ctx, mut repair: Repair) -> Result<Repair> {
    if let Some((net, ep)) = &repair.detach {
        // A leg on the gateway bridge goes with its overlay's endpoint: an earlier repair
        // may have taken it already.
        if ctx.store.endpoint(&net.name, &ep.key)?.is_none() {
            return Ok(repair);
        }
        repair.plan = if repair.problem == NS_GONE {
            gone::plan_detach(ctx, net, ep)?
        } else {
            super::detach::plan_detach_endpoint(ctx, net, ep)?
        };
    }
    let result = if repair.builds {
        ctx.apply(&repair.plan)
    } else {
        ctx.teardown(&repair.plan)
    };
    if let Err(e) = result {
        repair.action = format!("not {}: {e}", repair.action);
        repair.failed = true;
    }
    Ok(repair)
}

/// Plans whose process is gone: undone, or (a teardown) completed.
fn recover_intents(ctx: &Ctx) -> Result<Vec<Repair>> {
    let mut out = Vec::new();
    for intent in crate::apply::interrupted(&*ctx.store)? {
        let plan = crate::apply::recovery_plan(&intent, &*ctx.store)?;
        let action = if intent.teardown {
            "completed"
        } else {
            "undone"
        };
        let mut repair = Repair {
            object: format!("plan of process {}", intent.pid),
            problem: "interrupted".into(),
            action: format!("{action} ({} steps)", plan.ops.len()),
            plan,
            builds: false,
            detach: None,
            failed: false,
        };
        if ctx.dry_run() {
            crate::out!("{}", repair.plan);
        } else {
            let errors = ctx.with_effects(|fx| crate::apply::run_recovery(&repair.plan, fx));
            ctx.store.drop_intent(&intent)?;
            if !errors.is_empty() {
                repair.action = format!("{}, {} of them failed", repair.action, errors.len());
                for e in errors {
                    ctx.say(format!("  {e}"));
                }
            }
        }
        out.push(repair);
    }
    Ok(out)
}

/// A network's disagreements: its kernel objects and firewall, its endpoints and leases.
pub fn network_repairs(ctx: &Ctx, net: &Network) -> Result<Vec<Repair>> {
    let mut out = Vec::new();
    let restore = restore_plan(ctx, net)?;
    if !restore.is_empty() {
        let mut plan = restore;
        // Names the network, so the links it makes carry its mark; the definition is unchanged.
        plan.push(Op::Record(Record::PutNetwork {
            net: Box::new(net.clone()),
            previous: Some(Box::new(net.clone())),
        }));
        out.push(Repair {
            object: format!("network {}", net.name),
            problem: "kernel objects or firewall entries missing".into(),
            action: "re-created".into(),
            plan,
            builds: true,
            detach: None,
            failed: false,
        });
    }
    let endpoints = ctx.store.endpoints(&net.name)?;
    let mut released = BTreeSet::new();
    for ep in &endpoints {
        if target::alive(&ep.netns_path) {
            continue;
        }
        released.extend(ep.addresses().map(|a| a.ip()));
        out.push(Repair {
            object: format!("endpoint {} on {}", ep.netns, net.name),
            problem: NS_GONE.into(),
            action: "detached".into(),
            plan: Plan::default(),
            builds: false,
            detach: Some((net.clone(), ep.clone())),
            failed: false,
        });
    }
    // A leg left with no overlay that needs it (a crash between two commands' records).
    for ep in super::gwbridge::orphan_legs(ctx, net, &endpoints)? {
        out.push(Repair {
            object: format!("endpoint {} on {}", ep.netns, net.name),
            problem: "no overlay of the namespace needs it".into(),
            action: "detached".into(),
            plan: Plan::default(),
            builds: false,
            detach: Some((net.clone(), ep)),
            failed: false,
        });
    }
    let now = crate::output::now();
    for lease in ctx.store.leases(&net.name)? {
        let stale = lease.state == LeaseState::Bound
            && !drivers::sublink::is_shim_client(&lease.client)
            && !crate::store::held_by_another_host(&lease.client)
            && !released.contains(&lease.address)
            && !endpoints.iter().any(|e| e.netns == lease.client)
            && !target::alive(&client_path(&lease.client));
        if stale {
            out.push(Repair {
                object: format!("lease {} on {}", lease.address, net.name),
                problem: format!("namespace {} gone", lease.client),
                action: "released".into(),
                plan: Plan {
                    ops: vec![Op::Record(Record::PutLease {
                        lease: ipam::release(&lease, now),
                        previous: Some(lease),
                    })],
                },
                builds: false,
                detach: None,
                failed: false,
            });
        }
    }
    Ok(out)
}

fn client_path(client: &str) -> std::path::PathBuf {
    if client.contains('/') {
        client.into()
    } else {
        crate::names::netns_dir().join(client)
    }
}

/// What of a network's creation plan is missing now: its links (with what is set up on them),
/// its firewall rules, tables and base chains. Empty when everything is there.
pub fn restore_plan(ctx: &Ctx, net: &Network) -> Result<Plan> {
    let full = drivers::plan_create(net, &ctx.firewall_facts()?)?;
    let mut missing_links = BTreeSet::new();
    for dev in full.ops.iter().filter_map(Op::marked_link) {
        if !ctx.link_exists(&NsRef::Host, dev)? {
            missing_links.insert(dev.to_string());
        }
    }
    let rebuilt = !missing_links.is_empty();
    let on_missing = |dev: &str| missing_links.contains(dev);
    let mut plan = Plan::default();
    let mut firewall_missing = false;
    for op in &full.ops {
        let keep = match op {
            Op::CreateBase { .. } => {
                firewall_missing = true;
                true
            }
            // The table missing: made again with the network's elements. Its elements alone
            // missing (someone deleted them) are put back by `firewall reload`.
            Op::AddNetwork { create_table, .. } => {
                firewall_missing |= *create_table;
                *create_table || rebuilt
            }
            Op::AppendRules(rules) => {
                let mut absent = Vec::new();
                for r in rules {
                    if !ctx.has_rule(r)? {
                        absent.push(r.clone());
                    }
                }
                if !absent.is_empty() {
                    firewall_missing = true;
                    plan.push(Op::AppendRules(absent));
                }
                false
            }
            Op::AppendRule(r) => {
                let absent = !ctx.has_rule(r)?;
                firewall_missing |= absent;
                absent
            }
            Op::AllowTunnel(_) | Op::PublishPorts(_) => rebuilt || firewall_missing,
            other => match other.marked_link() {
                Some(dev) => on_missing(dev),
                None => match link_of(other) {
                    Some(dev) if full.ops.iter().any(|o| o.marked_link() == Some(dev)) => {
                        on_missing(dev)
                    }
                    _ => rebuilt,
                },
            },
        };
        if keep {
            plan.push(op.clone());
        }
    }
    // Sysctls alone (they are not checked) are no repair.
    if plan.ops.iter().all(|o| matches!(o, Op::Sysctl { .. })) {
        return Ok(Plan::default());
    }
    Ok(plan)
}

/// The link an op configures, if it names one.
fn link_of(op: &Op) -> Option<&str> {
    match op {
        Op::LinkUp { dev, .. }
        | Op::AddAddress { dev, .. }
        | Op::NoIpv6Autoconf { dev, .. }
        | Op::AppendFdb { dev, .. } => Some(dev),
        Op::AddForward(f) => Some(&f.dev),
        Op::AddRoute { dev, .. } => dev.as_deref(),
        _ => None,
    }
}

/// Records of namespaces cnet created that are gone.
fn namespace_repairs(ctx: &Ctx) -> Result<Vec<Repair>> {
    let mut out = Vec::new();
    for record in ctx.store.namespaces()? {
        if crate::names::netns_dir()
            .join(&record.name)
            .symlink_metadata()
            .is_ok()
        {
            continue;
        }
        out.push(Repair {
            object: format!("namespace {}", record.name),
            problem: "gone".into(),
            action: "forgotten".into(),
            plan: Plan {
                ops: vec![Op::Record(Record::DropNamespace(record))],
            },
            builds: false,
            detach: None,
            failed: false,
        });
    }
    Ok(out)
}

/// Links of the host's namespace that carry cnet's mark but that no record names.
fn orphan_links(ctx: &Ctx, networks: &[Network]) -> Result<Vec<Repair>> {
    let mut known = BTreeSet::new();
    let facts = crate::firewall::FirewallFacts::default();
    for net in networks {
        if let Ok(plan) = drivers::plan_create(net, &facts) {
            known.extend(
                plan.ops
                    .iter()
                    .filter_map(|o| o.marked_link().map(String::from)),
            );
        }
        for ep in ctx.store.endpoints(&net.name)? {
            known.extend(ep.host_ifname);
        }
    }
    let links = ctx.host.borrow_mut().host_links()?;
    let mut out = Vec::new();
    for link in links {
        // Retired veths (kernel::reclaim) are deleted too: a killed detach left them, and one
        // being deleted in the background is gone the same either way. Those this gc retired
        // itself (its detaches of endpoints whose namespace is gone) are deleted when it ends,
        // all in one batch: one wait for the kernel, not one each.
        if !link.is_cnet()
            || known.contains(&link.name)
            || crate::deferred::link_pending(&link.name)
        {
            continue;
        }
        let mark = match link.alias {
            Some(a) if crate::kernel::netlink::is_cnet_mark(Some(&a)) => a,
            _ => format!("group {}", crate::plan::LINK_GROUP),
        };
        let name = link.name;
        out.push(Repair {
            object: format!("link {name}"),
            problem: format!("marked {mark} but recorded nowhere"),
            action: "deleted".into(),
            plan: Plan {
                ops: vec![Op::DeleteLink {
                    ns: NsRef::Host,
                    dev: name,
                }],
            },
            builds: false,
            detach: None,
            failed: false,
        });
    }
    Ok(out)
}
