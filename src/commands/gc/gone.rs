//! The detach of an endpoint whose namespace is gone: only what is left to do. The kernel took
//! the namespace's links with it (a veth's host end too), and the namespace's /etc/netns
//! directory is removed by the same gc (`leftovers`): a plan naming them would print steps that
//! fail when pasted (`ip link del` of a link that is gone) or that the run undoes at once.

use super::Ctx;
use crate::error::Result;
use crate::model::{Endpoint, Network};
use crate::plan::{NsRef, Op, Plan};
use std::path::Path;

/// `detach::plan_detach_endpoint` without the steps the executor would find nothing to do for
/// (what a teardown skips: steps inside a namespace that is gone, a veth pair that is gone)
/// and without rewriting the hosts file of a namespace this gc forgets.
pub fn plan_detach(ctx: &Ctx, net: &Network, ep: &Endpoint) -> Result<Plan> {
    let full = super::super::detach::plan_detach_endpoint(ctx, net, ep)?;
    let mut ops = Vec::new();
    for op in full.ops {
        let keep = match &op {
            // A retired leftover of its host end (a detach killed after renaming it) is a
            // marked link no record names: the orphan-link repair deletes it.
            Op::RetireVeth { host, .. } => ctx.link_exists(&NsRef::Host, host)?,
            Op::File(f) => !in_forgotten_dir(ctx, f.path()),
            other => match other.inside() {
                Some(ns) => ctx.host.borrow_mut().netns_exists(ns),
                None => true,
            },
        };
        if keep {
            ops.push(op);
        }
    }
    Ok(Plan { ops })
}

/// Whether `path` is in the /etc/netns directory of a namespace this gc forgets: a named
/// namespace that is gone with its /run/netns entry (its record, if any, is forgotten, and its
/// endpoints detached), while every state file reads (else `leftovers` touches nothing). The
/// endpoint's own namespace, and others of its networks' members that are gone too.
fn in_forgotten_dir(ctx: &Ctx, path: &Path) -> bool {
    let Some(name) = path
        .strip_prefix(crate::names::etc_netns_dir())
        .ok()
        .and_then(|rest| rest.iter().next())
        .and_then(|n| n.to_str())
    else {
        return false;
    };
    !ctx.host
        .borrow_mut()
        .netns_exists(&NsRef::Named(name.to_string()))
        && crate::names::netns_dir()
            .join(name)
            .symlink_metadata()
            .is_err()
        && ctx.store.bad_files().is_empty()
}
