//! Which network a user means: the stored ones and Docker's predefined ones (`bridge`,
//! `host`, `none`), by name, ID or unique ID prefix.

use super::Ctx;
use crate::error::{Error, Result};
use crate::model::{Driver, Endpoint, Network};
use crate::names;
use std::collections::BTreeMap;

/// Docker's predefined networks.
pub const PREDEFINED: [(&str, Driver); 3] = [
    ("bridge", Driver::Bridge),
    ("host", Driver::Host),
    ("none", Driver::None),
];

pub(crate) fn is_predefined(name: &str) -> bool {
    PREDEFINED.iter().any(|(n, _)| *n == name)
}

/// A predefined network as it is before first use.
pub(super) fn predefined(name: &str, driver: Driver) -> Network {
    Network {
        name: name.to_string(),
        id: format!(
            "{:012x}",
            names::stable_hash(&["predefined", name]) & 0xffff_ffff_ffff
        ),
        driver,
        created: 0,
        subnet: None,
        gateway: None,
        ip_range: None,
        internal: false,
        mtu: None,
        bridge: (driver == Driver::Bridge).then(|| names::bridge_name(name)),
        bridge_mac: None,
        options: BTreeMap::new(),
        predefined: true,
        ..Default::default()
    }
}

/// Every network: the stored ones, plus predefined ones not used yet.
pub fn all(ctx: &Ctx) -> Result<Vec<Network>> {
    let mut nets = ctx.store.networks()?;
    for (name, driver) in PREDEFINED {
        if !nets.iter().any(|n| n.name == name) {
            nets.push(predefined(name, driver));
        }
    }
    nets.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(nets)
}

/// The network a user means by NAME, an ID or a unique ID prefix (as `docker network` takes
/// them). A name wins over an ID prefix.
pub fn resolve<'a>(nets: &'a [Network], given: &str) -> Result<&'a Network> {
    if let Some(n) = nets.iter().find(|n| n.name == given) {
        return Ok(n);
    }
    let hex = !given.is_empty() && given.chars().all(|c| c.is_ascii_hexdigit());
    let mut by_id = nets.iter().filter(|n| hex && n.id.starts_with(given));
    match (by_id.next(), by_id.next()) {
        (Some(n), None) => Ok(n),
        (Some(a), Some(b)) => Err(Error::usage(format!(
            "network ID prefix {given} is ambiguous: {} and {} (at least)",
            a.name, b.name
        ))),
        _ => Err(Error::usage(format!("network {given} does not exist"))),
    }
}

/// The name of the network a user means (see [`resolve`]), for commands that read one network.
pub fn name_of(ctx: &Ctx, given: &str) -> Result<String> {
    names::validate_network_name(given)?;
    if ctx.store.network(given)?.is_some() || is_predefined(given) {
        return Ok(given.to_string());
    }
    Ok(resolve(&all(ctx)?, given)?.name.clone())
}

/// The namespace's endpoints on other networks, with the network name.
pub fn other_endpoints(ctx: &Ctx, network: &str, key: &str) -> Result<Vec<(String, Endpoint)>> {
    let mut out = Vec::new();
    for name in ctx.store.network_names()? {
        if name != network
            && let Some(ep) = ctx.store.endpoint(&name, key)?
        {
            out.push((name, ep));
        }
    }
    Ok(out)
}
