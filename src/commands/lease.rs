//! `cnet lease ls [NETWORK]`.

use super::{Ctx, net, target};
use crate::error::Result;
use crate::kernel;
use crate::model::{Lease, LeaseState};
use crate::names::netns_dir;
use crate::output::{print_list, rfc3339};
use serde::Serialize;

#[derive(Serialize)]
struct LeaseRow {
    network: String,
    address: std::net::IpAddr,
    client: String,
    state: LeaseState,
    /// RFC 3339: when the lease entered its state.
    since: String,
    /// RFC 3339, for an offer.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<String>,
    /// Why the lease may be stale: its namespace is gone, or it predates this boot.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'static str>,
    /// The note as one word, for the table.
    #[serde(skip)]
    tag: &'static str,
    /// The host holding the lease (with the etcd store).
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<String>,
}

impl LeaseRow {
    fn new(lease: Lease, stale: Option<Stale>, me: Option<&str>) -> Self {
        LeaseRow {
            // Another host's client is `CLIENT@HOST`; a bare one is this host's.
            host: me.map(|me| match lease.client.rsplit_once('@') {
                Some((_, h)) if crate::store::is_host_id(h) => h.to_string(),
                _ => me.to_string(),
            }),
            since: rfc3339(lease.since),
            expires: lease.expires.map(rfc3339),
            network: lease.network,
            address: lease.address,
            client: lease.client,
            state: lease.state,
            note: stale.map(Stale::note),
            tag: stale.map_or("-", Stale::tag),
        }
    }
}

pub fn ls(ctx: &Ctx, network: Option<&str>, quiet: bool) -> Result<()> {
    let networks: Vec<String> = match network {
        Some(n) => {
            // Only this network's definition is read: another's bad file does not matter here.
            let predefined = net::PREDEFINED.iter().any(|(p, _)| *p == n);
            if predefined || ctx.store.network(n)?.is_some() {
                vec![n.to_string()]
            } else {
                vec![net::resolve(&net::all(ctx)?, n)?.name.clone()]
            }
        }
        None => ctx.store.network_names()?,
    };
    let boot = kernel::boot_id();
    let me = match ctx.store.shared() {
        true => Some(ctx.store.host_id()?),
        false => None,
    };
    let mut rows = Vec::new();
    for n in networks {
        let mut leases = ctx.store.leases(&n)?;
        leases.sort_by_key(|l| l.address);
        for lease in leases {
            let stale = staleness(&lease, &boot);
            rows.push(LeaseRow::new(lease, stale, me.as_deref()));
        }
    }
    if quiet {
        for r in &rows {
            crate::outln!("{}", r.address);
        }
        return Ok(());
    }
    let mut headers = vec!["NETWORK", "ADDRESS", "CLIENT", "STATE", "SINCE", "NOTE"];
    if me.is_some() {
        headers.push("HOST");
    }
    print_list(ctx.global.format(), &headers, &rows, |r| {
        let mut cells = vec![
            r.network.clone(),
            r.address.to_string(),
            r.client.clone(),
            r.state.to_string(),
            r.since.clone(),
            r.tag.into(),
        ];
        cells.extend(r.host.clone());
        cells
    });
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
