//! `cnet firewall reload`: put back every rule cnet should have, from its state.

use super::Ctx;
use crate::drivers::bridge;
use crate::error::Result;
use crate::firewall::published::TABLE;
use crate::firewall::tunnel;
use crate::model::Driver;
use crate::plan::{Op, Plan};

pub fn reload(ctx: &Ctx) -> Result<()> {
    ctx.require_root()?;
    let _lock = ctx.lock()?;
    let mut plan = Plan::default();
    plan.push(Op::EnsureChains);
    let mut published = Vec::new();
    let mut bridges = 0;
    let mut tunnels = Vec::new();
    let mut overlays = 0;
    for net in ctx.store.networks()? {
        if net.driver == Driver::Bridge {
            plan.extend(bridge::reload_rules(&net)?.into_iter().map(Op::AppendRule));
            bridges += 1;
            for ep in ctx.store.endpoints(&net.name)? {
                published.extend(bridge::publish_entries(ep.address, &ep.ports)?);
            }
        }
        if net.driver == Driver::Vxlan {
            let rules = crate::drivers::vxlan::reload_rules(&net)?;
            plan.extend(rules.into_iter().map(Op::AppendRule));
            tunnels.extend(crate::drivers::vxlan::tunnel_filter_entries(&net)?);
            overlays += 1;
        }
    }
    // Rules already present are skipped, so a second reload changes nothing.
    ctx.apply(&plan)?;
    // The published ports and the overlays' filter are put back whole, each in one
    // transaction: the tables are replaced.
    if ctx.dry_run() {
        if bridges > 0 {
            crate::outln!("nft delete table ip {TABLE}  # if there; then, anew:");
            crate::outln!("{}", crate::firewall::published::describe_table());
            if !published.is_empty() {
                crate::outln!("{}", Op::PublishPorts(published));
            }
        }
        if overlays > 0 {
            crate::outln!(
                "nft delete table ip {}  # if there; then, anew:",
                tunnel::TABLE
            );
            crate::outln!("{}", tunnel::describe_table());
            crate::outln!("{}", Op::AllowTunnel(tunnels));
        }
        return Ok(());
    }
    let mut fw = ctx.firewall.borrow_mut();
    if bridges > 0 {
        fw.replace_published(&published)?;
    } else {
        fw.remove_published()?;
    }
    if overlays > 0 {
        fw.replace_tunnel_filter(&tunnels)?;
    } else {
        fw.remove_tunnel_filter()?;
    }
    Ok(())
}
