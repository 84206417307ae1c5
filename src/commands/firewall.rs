//! `cnet firewall reload`: put back every rule cnet should have, from its state.

use super::Ctx;
use crate::drivers::bridge;
use crate::error::Result;
use crate::model::Driver;
use crate::plan::{Op, Plan};

pub fn reload(ctx: &Ctx) -> Result<()> {
    ctx.require_root()?;
    let _lock = ctx.lock()?;
    let mut plan = Plan::default();
    plan.push(Op::EnsureChains);
    for net in ctx.store.networks()? {
        if net.driver == Driver::Bridge {
            plan.extend(bridge::reload_rules(&net)?.into_iter().map(Op::AppendRule));
            for ep in ctx.store.endpoints(&net.name)? {
                let rules = bridge::publish_rules(&net, &ep.key, ep.address, &ep.ports)?;
                plan.extend(rules.into_iter().map(Op::AppendRule));
            }
        }
        if net.driver == Driver::Vxlan {
            let rules = crate::drivers::vxlan::reload_rules(&net)?;
            plan.extend(rules.into_iter().map(Op::AppendRule));
        }
    }
    // Rules already present are skipped, so a second reload changes nothing.
    ctx.apply(&plan)
}
