//! `cnet lease ls [NETWORK]`.

use super::{Ctx, net, target};
use crate::error::{Error, Result};
use crate::kernel;
use crate::model::{Lease, LeaseState};
use crate::names::netns_dir;
use crate::output::{print_list, rfc3339};
use serde::Serialize;

#[derive(Serialize)]
struct LeaseRow {
    #[serde(flatten)]
    lease: Lease,
    /// Why the lease may be stale: its namespace is gone, or it predates this boot.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'static str>,
    /// The note as one word, for the table.
    #[serde(skip)]
    tag: &'static str,
}

pub fn ls(ctx: &Ctx, network: Option<&str>, quiet: bool) -> Result<()> {
    let networks: Vec<String> = match network {
        Some(n) => {
            // Only this network's definition is read: another's bad file does not matter here.
            let predefined = net::PREDEFINED.iter().any(|(p, _)| *p == n);
            if !predefined && ctx.store.network(n)?.is_none() {
                return Err(Error::usage(format!("network {n} does not exist")));
            }
            vec![n.to_string()]
        }
        None => ctx.store.network_names()?,
    };
    let boot = kernel::boot_id();
    let mut rows = Vec::new();
    for n in networks {
        let mut leases = ctx.store.leases(&n)?;
        leases.sort_by_key(|l| l.address);
        for lease in leases {
            let stale = staleness(&lease, &boot);
            rows.push(LeaseRow {
                lease,
                note: stale.map(Stale::note),
                tag: stale.map_or("-", Stale::tag),
            });
        }
    }
    if quiet {
        for r in &rows {
            crate::outln!("{}", r.lease.address);
        }
        return Ok(());
    }
    print_list(
        ctx.global.format,
        &["NETWORK", "ADDRESS", "CLIENT", "STATE", "SINCE", "NOTE"],
        &rows,
        |r| {
            vec![
                r.lease.network.clone(),
                r.lease.address.to_string(),
                r.lease.client.clone(),
                r.lease.state.to_string(),
                rfc3339(r.lease.since),
                r.tag.into(),
            ]
        },
    );
    super::listed_everything(ctx)
}

/// Why a bound lease may no longer be in use.
#[derive(Clone, Copy)]
enum Stale {
    NamespaceGone,
    EarlierBoot,
}

impl Stale {
    /// As the JSON listing words it.
    fn note(self) -> &'static str {
        match self {
            Stale::NamespaceGone => "namespace gone",
            Stale::EarlierBoot => "from an earlier boot",
        }
    }

    /// As one word: a table cell has no spaces, so `awk` can split the line.
    fn tag(self) -> &'static str {
        match self {
            Stale::NamespaceGone => "namespace-gone",
            Stale::EarlierBoot => "earlier-boot",
        }
    }
}

fn staleness(l: &Lease, boot: &str) -> Option<Stale> {
    if l.state != LeaseState::Bound || crate::drivers::sublink::is_shim_client(&l.client) {
        return None;
    }
    // An earlier boot's lease is named so first: the allocator reclaims it once its
    // namespace is gone, which after a boot it usually is.
    if !l.boot_id.is_empty() && !boot.is_empty() && l.boot_id != boot {
        return Some(Stale::EarlierBoot);
    }
    let path = if l.client.contains('/') {
        l.client.clone().into()
    } else {
        netns_dir().join(&l.client)
    };
    (!target::alive(&path)).then_some(Stale::NamespaceGone)
}
