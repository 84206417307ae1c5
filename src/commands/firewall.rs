//! `cnet firewall reload`: put back every rule cnet should have, from its state.

use super::Ctx;
use crate::drivers::{bridge, vxlan};
use crate::error::Result;
use crate::firewall::NftTableKind;
use crate::model::Driver;
use crate::plan::{Op, Plan};

pub fn reload(ctx: &Ctx) -> Result<()> {
    ctx.require_root()?;
    let _lock = ctx.lock()?;
    let facts = ctx.firewall_facts()?;
    let mut plan = Plan::default();
    if !facts.base_input.is_empty() {
        plan.push(Op::CreateBase {
            input: facts.base_input.clone(),
        });
    }
    let mut published = Vec::new();
    let mut bridges = 0;
    let mut tunnels = Vec::new();
    let mut overlays = 0;
    let mut rules = Vec::new();
    for net in ctx.store.networks()? {
        if net.driver == Driver::Bridge {
            rules.extend(bridge::reload_rules(&net)?);
            bridges += 1;
            for ep in ctx.store.endpoints(&net.name)? {
                published.extend(bridge::publish_entries(ep.address, &ep.ports)?);
            }
        }
        if net.driver == Driver::Vxlan {
            rules.extend(vxlan::reload_rules(&net)?);
            tunnels.extend(vxlan::tunnel_filter_entries(&net)?);
            overlays += 1;
        }
    }
    // Only the rules that are missing, so a second reload changes nothing.
    for rule in rules {
        if !ctx.has_rule(&rule)? {
            plan.push(Op::AppendRule(rule));
        }
    }
    // The published ports and the overlays' filter are put back whole, each in one
    // transaction: the tables are replaced.
    if bridges > 0 {
        plan.push(Op::ReplacePublished(published));
    } else if facts.published_table {
        plan.push(Op::DropTable(NftTableKind::Published));
    }
    if overlays > 0 {
        plan.push(Op::ReplaceTunnelFilter(tunnels));
    } else if facts.tunnel_table {
        plan.push(Op::DropTable(NftTableKind::Tunnel));
    }
    ctx.apply(&plan)
}
