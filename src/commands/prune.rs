//! `cnet net prune`: remove every network no namespace is attached to.

use super::{Ctx, net};
use crate::cli::Format;
use crate::error::Result;

pub fn run(ctx: &Ctx, force: bool) -> Result<()> {
    if !ctx.dry_run()
        && !super::confirm(
            "This removes every cnet network no namespace is attached to. Go on?",
            force,
            "--force",
        )?
    {
        return Ok(());
    }
    ctx.require_root()?;
    let _lock = ctx.lock()?;
    let mut removed = Vec::new();
    let mut gone = Vec::new();
    for n in ctx.store.networks()? {
        // An endpoint file that cannot be read still counts as a user.
        if n.predefined || ctx.store.endpoint_count(&n.name)? > 0 {
            continue;
        }
        let r = net::remove(ctx, &n, false, &gone)?;
        gone.push(n.name.clone());
        removed.extend(r);
    }
    if ctx.dry_run() {
        return Ok(());
    }
    match ctx.global.format() {
        Format::Json => super::print_json(&removed),
        Format::Table => {
            for r in &removed {
                crate::outln!("{}", r.name);
            }
        }
    }
    Ok(())
}
