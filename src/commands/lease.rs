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
    note: Option<String>,
}

pub fn ls(ctx: &Ctx, network: Option<&str>) -> Result<()> {
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
            let note = stale_note(&lease, &boot);
            rows.push(LeaseRow { lease, note });
        }
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
                r.note.clone().unwrap_or_default(),
            ]
        },
    );
    super::listed_everything(ctx)
}

fn stale_note(l: &Lease, boot: &str) -> Option<String> {
    if l.state != LeaseState::Bound || crate::drivers::sublink::is_shim_client(&l.client) {
        return None;
    }
    let path = if l.client.contains('/') {
        l.client.clone().into()
    } else {
        netns_dir().join(&l.client)
    };
    if !target::alive(&path) {
        return Some("namespace gone".into());
    }
    if !l.boot_id.is_empty() && !boot.is_empty() && l.boot_id != boot {
        return Some("from an earlier boot".into());
    }
    None
}
