//! `cnet exec-in-ns NETNS -- CMD...`: like `ip netns exec`, for names and paths.

use super::{Ctx, target};
use crate::error::{Error, Result};
use crate::kernel;

pub fn run(_ctx: &Ctx, netns: &str, argv: &[String]) -> Result<()> {
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
