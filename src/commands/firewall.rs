//! `cnet firewall reload`: put back every rule cnet should have, from its state (and take
//! away what the iptables backend left, if it ran here before);
//! `cnet firewall status`: which backend, and what of the firewall is installed.

use super::Ctx;
use crate::cli::Format;
use crate::drivers::{bridge, vxlan};
use crate::error::Result;
use crate::firewall::{Backend, entry_rules};
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
        }
        if net.driver == Driver::Vxlan {
            if iptables {
                rules.extend(vxlan::reload_rules(&net)?);
            } else {
                networks.extend(vxlan::firewall_elements(&net)?);
            }
            let filter = vxlan::tunnel_filter_entries(&net)?;
            if iptables {
                rules.extend(entry_rules::tunnel_rules(&net.name, &filter));
            } else {
                tunnels.extend(filter);
            }
        }
        if matches!(net.driver, Driver::Bridge | Driver::Vxlan) {
            // Published ports (an overlay's go through the gateway bridge).
            for ep in ctx.store.endpoints(&net.name)? {
                let ports = bridge::endpoint_publish_entries(&ep)?;
                if iptables {
                    rules.extend(entry_rules::port_rules(&net.name, &ports));
                } else {
                    published.extend(ports);
                }
            }
            users += 1;
        }
    }
    // Only the rules that are missing, so a second reload changes nothing (iptables: the
    // networks, their published ports and the overlays' tunnel filters).
    for rule in rules {
        if !ctx.has_rule(&rule)? {
            plan.push(Op::AppendRule(rule));
        }
    }
    // The table is rebuilt whole, in one transaction; the iptables backend has none (one
    // left from a time on nftables goes).
    if iptables {
        if facts.table {
            plan.push(Op::DropTable);
        }
    } else if users > 0 {
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
