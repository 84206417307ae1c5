//! `cnet restore`: bring the kernel back in step with the state after a boot. Every persisted
//! network's links and firewall are re-created (its creation plan, less what is there), and the
//! endpoints, leases and namespace records of the earlier boot, whose namespaces went with it,
//! are released. The first command that takes the state lock after a boot does the same by
//! itself (`Ctx::lock`); `examples/cnet-restore.service` runs it at boot.

use super::{Ctx, gc};
use crate::error::Result;

pub fn run(ctx: &Ctx) -> Result<()> {
    ctx.require_root()?;
    let _lock = gc::lock_without_recovery(ctx)?;
    let repairs = after_boot(ctx)?;
    gc::report(ctx, &repairs);
    if repairs.iter().any(|r| r.failed) {
        return Err(crate::error::Error::Reported(1));
    }
    Ok(())
}

/// Repair everything a boot took away, and record this boot as the one the kernel objects were
/// brought up for.
pub fn after_boot(ctx: &Ctx) -> Result<Vec<gc::Repair>> {
    let repairs = gc::repair_all(ctx, false)?;
    if !ctx.dry_run() {
        ctx.store.record_boot(&crate::kernel::boot_id())?;
    }
    Ok(repairs)
}
