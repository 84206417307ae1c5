//! `cnet firewall reload`: put back every rule cnet should have, from its state (and take
//! away what the iptables backend left, if it ran here before);
//! `cnet firewall status`: which backend, and what of the firewall is installed.

use super::Ctx;
use crate::cli::Format;
use crate::drivers::{bridge, vxlan};
use crate::error::Result;
use crate::firewall::Backend;
use crate::model::Driver;
use crate::plan::{Op, Plan};

pub fn reload(ctx: &Ctx) -> Result<()> {
    ctx.require_root()?;
    let _lock = ctx.lock()?;
    let facts = ctx.firewall_facts()?;
    let mut plan = Plan::default();
    plan.extend(crate::drivers::plan_base(&facts));
    let (mut published, mut networks, mut tunnels, mut rules) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut users = 0;
    let iptables = facts.backend == Backend::Iptables;
    for net in ctx.store.networks()? {
        if net.driver == Driver::Bridge {
            if iptables {
                rules.extend(bridge::reload_rules(&net)?);
            } else {
                networks.extend(bridge::firewall_elements(&net)?);
            }
            for ep in ctx.store.endpoints(&net.name)? {
                published.extend(bridge::endpoint_publish_entries(&ep)?);
            }
            users += 1;
        }
        if net.driver == Driver::Vxlan {
            if iptables {
                rules.extend(vxlan::reload_rules(&net)?);
            } else {
                networks.extend(vxlan::firewall_elements(&net)?);
            }
            tunnels.extend(vxlan::tunnel_filter_entries(&net)?);
            // Its ports, published through the gateway bridge.
            for ep in ctx.store.endpoints(&net.name)? {
                published.extend(bridge::endpoint_publish_entries(&ep)?);
            }
            users += 1;
        }
    }
    // Only the rules that are missing, so a second reload changes nothing (iptables; the
    // table holds the ports and the tunnel filter only, then).
    for rule in rules {
        if !ctx.has_rule(&rule)? {
            plan.push(Op::AppendRule(rule));
        }
    }
    // The table is rebuilt whole, in one transaction.
    if users > 0 {
        plan.push(Op::ReplaceTable {
            networks,
            tunnels,
            ports: published,
        });
    } else if facts.table {
        plan.push(Op::DropTable);
    }
    // Then what the iptables backend left, if it ran here before: its rules are in the table now.
    plan.extend(plan_iptables_leftovers(ctx)?);
    ctx.apply(&plan)
}

/// What the iptables backend left on a host now on the nftables backend, as steps: its tagged
/// rules deleted, then its chains (those that are empty: the admin's CNET-USER stays while it
/// holds rules).
pub fn plan_iptables_leftovers(ctx: &Ctx) -> Result<Vec<Op>> {
    let left = ctx.host.borrow_mut().iptables_leftovers()?;
    let mut ops = Vec::new();
    if !left.rules.is_empty() {
        ops.push(Op::DeleteRules(left.rules));
    }
    if left.chains {
        ops.push(Op::RemoveBase);
    }
    Ok(ops)
}

pub fn status(ctx: &Ctx) -> Result<()> {
    ctx.require_root()?;
    let installed = ctx.host.borrow_mut().firewall_status()?;
    match ctx.global.format() {
        Format::Json => {
            crate::output::print_json(&installed);
            Ok(())
        }
        Format::Table => {
            for (key, value) in installed.lines() {
                crate::outln!("{key:<16} {value}");
            }
            Ok(())
        }
    }
}
