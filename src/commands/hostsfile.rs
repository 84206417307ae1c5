//! Keeping every member's /etc/netns/NAME/hosts in step with the networks it is on.

use super::Ctx;
use crate::error::Result;
use crate::hosts::{self, HostEntry};
use crate::model::Endpoint;
use std::collections::{BTreeMap, BTreeSet};

/// The names an endpoint answers to: its namespace name (when it has one) and its aliases.
fn names_of(ep: &Endpoint) -> Vec<String> {
    let mut names = Vec::new();
    if !ep.netns.contains('/') {
        names.push(ep.netns.clone());
    }
    names.extend(ep.aliases.iter().cloned());
    names
}

/// Rewrite the hosts file of every named member of `networks`, plus of `also` (namespaces that
/// just left them). Each file lists the members of every network its namespace is on.
pub fn refresh(ctx: &Ctx, networks: &[&str], also: &[&str]) -> Result<()> {
    if ctx.dry_run() {
        return Ok(());
    }
    // Which networks each named namespace is on, and who is on each network.
    let mut members: BTreeMap<String, Vec<Endpoint>> = BTreeMap::new();
    let mut on: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for net in ctx.store.networks()? {
        let eps = ctx.store.endpoints(&net.name)?;
        for ep in &eps {
            if !ep.netns.contains('/') {
                on.entry(ep.netns.clone())
                    .or_default()
                    .insert(net.name.clone());
            }
        }
        members.insert(net.name.clone(), eps);
    }
    let mut targets: BTreeSet<String> = BTreeSet::new();
    for n in networks {
        for ep in members.get(*n).into_iter().flatten() {
            if !ep.netns.contains('/') {
                targets.insert(ep.netns.clone());
            }
        }
    }
    targets.extend(also.iter().map(|a| a.to_string()));
    for ns in targets {
        let mut entries: Vec<HostEntry> = Vec::new();
        for net in on.get(&ns).into_iter().flatten() {
            for ep in members.get(net).into_iter().flatten() {
                let names = names_of(ep);
                if let (Some(addr), false) = (ep.address, names.is_empty()) {
                    entries.push(HostEntry {
                        address: addr.ip(),
                        names,
                    });
                }
            }
        }
        hosts::write_hosts(&ns, &entries)?;
        hosts::ensure_resolv_conf(&ns)?;
    }
    Ok(())
}
