//! `cnet exec-in-ns NETNS [--] CMD...`: like `ip netns exec`, for names and paths.

use super::{Ctx, target};
use crate::error::{Error, Result};
use crate::kernel;

pub fn run(ctx: &Ctx, netns: &str, argv: &[String]) -> Result<()> {
    // A dry run changes nothing, and the command could change anything.
    if ctx.dry_run() {
        return Err(Error::usage(
            "--dry-run does not apply to exec-in-ns: it would run the command",
        ));
    }
    let t = target::resolve(netns)?;
    if !t.exists {
        return Err(Error::usage(format!("namespace {netns} does not exist")));
    }
    // Only returns on failure.
    Err(kernel::exec::exec_in_netns(
        &t.path,
        t.name.as_deref(),
        argv,
    ))
}
