//! Keeping every member's /etc/netns/NAME/hosts in step with the networks it is on (the file
//! layout is described in `hosts`). An attach or detach touches a constant number of files for
//! a namespace on one network, however many members the network has.

use super::Ctx;
use crate::error::Result;
use crate::hosts::{self, HostEntry};
use crate::model::Endpoint;

/// The line other members resolve an endpoint by: its namespace name (when it has one) and
/// its aliases. `None` for endpoints without an address or a name.
fn entry_of(ep: &Endpoint) -> Option<HostEntry> {
    let mut names = Vec::new();
    if is_named(ep) {
        names.push(ep.netns.clone());
    }
    names.extend(ep.aliases.iter().cloned());
    match ep.address {
        Some(addr) if !names.is_empty() => Some(HostEntry {
            address: addr.ip(),
            names,
        }),
        _ => None,
    }
}

fn is_named(ep: &Endpoint) -> bool {
    !ep.netns.contains('/')
}

/// The networks with addresses a namespace is on, from state.
fn networks_of(ctx: &Ctx, key: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for name in ctx.store.network_names()? {
        if let Some(ep) = ctx.store.endpoint(&name, key)?
            && ep.address.is_some()
        {
            out.push(name);
        }
    }
    Ok(out)
}

/// The networks of these endpoints that gave an address, in the order `networks_of` gives
/// (that of the state files' names).
fn networks_with_addresses<'a>(endpoints: impl Iterator<Item = &'a Endpoint>) -> Vec<String> {
    let mut nets: Vec<String> = endpoints
        .filter(|e| e.address.is_some())
        .map(|e| e.network.clone())
        .collect();
    nets.sort_by_key(|n| format!("{n}.toml"));
    nets
}

/// A network's shared hosts file, built from state when it is missing (e.g. after a reboot).
fn ensure_network_file(ctx: &Ctx, network: &str) -> Result<String> {
    if let Some(text) = hosts::read_network(network)? {
        return Ok(text);
    }
    let entries: Vec<HostEntry> = ctx
        .store
        .endpoints(network)?
        .iter()
        .filter_map(entry_of)
        .collect();
    let text = hosts::render_hosts(&entries);
    hosts::write_network(network, &text)?;
    Ok(text)
}

/// Bring one named namespace's hosts file in line with the networks it is on now: a link to
/// the shared file of its one network, or a merge of several.
fn sync_namespace(ctx: &Ctx, netns: &str, left: Option<&str>) -> Result<()> {
    let nets = networks_of(ctx, netns)?;
    sync_namespace_on(ctx, netns, left, &nets)
}

/// [`sync_namespace`], given the networks with addresses the namespace is on, in name order.
fn sync_namespace_on(ctx: &Ctx, netns: &str, left: Option<&str>, nets: &[String]) -> Result<()> {
    if let Some(l) = left {
        hosts::set_multi(l, netns, false)?;
    }
    match nets {
        [] => hosts::write_own_hosts(netns, &hosts::render_hosts(&[]))?,
        [one] => {
            // The usual case: no file is read, whatever the network's size.
            if !hosts::network_exists(one) {
                ensure_network_file(ctx, one)?;
            }
            hosts::set_multi(one, netns, false)?;
            hosts::link_hosts(netns, one)?
        }
        several => {
            let mut texts = Vec::with_capacity(several.len());
            for n in several {
                texts.push(ensure_network_file(ctx, n)?);
                hosts::set_multi(n, netns, true)?;
            }
            hosts::write_own_hosts(netns, &hosts::merge(&texts))?
        }
    }
    hosts::ensure_resolv_conf(netns)
}

/// After `ep` joined its network (and was recorded). `others`: the namespace's endpoints on
/// its other networks, as the attach found them (so they are not looked up again).
pub fn joined(ctx: &Ctx, ep: &Endpoint, others: &[(String, Endpoint)]) -> Result<()> {
    if ctx.dry_run() || ep.address.is_none() {
        return Ok(());
    }
    if hosts::network_exists(&ep.network) {
        if let Some(entry) = entry_of(ep) {
            hosts::append_network(&ep.network, &entry)?;
        }
    } else {
        ensure_network_file(ctx, &ep.network)?;
    }
    if is_named(ep) {
        let nets = networks_with_addresses(others.iter().map(|(_, e)| e).chain([ep]));
        sync_namespace_on(ctx, &ep.netns, None, &nets)?;
    }
    for m in hosts::multi_members(&ep.network) {
        if m != ep.netns {
            sync_namespace(ctx, &m, None)?;
        }
    }
    Ok(())
}

/// After `ep` left `network` (and was forgotten). `others`: the namespace's endpoints on its
/// other networks, as the detach found them.
pub fn left(ctx: &Ctx, ep: &Endpoint, others: &[(String, Endpoint)]) -> Result<()> {
    let Some(addr) = ep.address.filter(|_| !ctx.dry_run()) else {
        return Ok(());
    };
    hosts::remove_from_network(&ep.network, addr.ip())?;
    if is_named(ep) {
        let nets = networks_with_addresses(others.iter().map(|(_, e)| e));
        sync_namespace_on(ctx, &ep.netns, Some(&ep.network), &nets)?;
    }
    for m in hosts::multi_members(&ep.network) {
        sync_namespace(ctx, &m, None)?;
    }
    Ok(())
}

/// After a network was removed (its members were detached one by one before).
pub fn network_removed(ctx: &Ctx, network: &str) -> Result<()> {
    if ctx.dry_run() {
        return Ok(());
    }
    hosts::remove_network(network)
}
