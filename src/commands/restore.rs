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

/// Said by the listings, which change nothing: whether the kernel was brought up to date since
/// this boot. Until then the networks they list have no links or rules, and their leases are
/// of an earlier boot.
pub fn note_if_not_restored(ctx: &Ctx) {
    let boot = crate::kernel::boot_id();
    if let Ok(Some(recorded)) = ctx.store.recorded_boot()
        && !boot.is_empty()
        && recorded.trim() != boot
    {
        eprintln!(
            "cnet: the state is of an earlier boot: its networks are not in the kernel until \
             `cnet restore` (or any command that changes something) re-creates them"
        );
    }
}
