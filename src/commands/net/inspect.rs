//! `cnet net inspect`: a network in detail, as `docker network inspect` shows it (in cnet's
//! one key style, snake_case), with its namespaces.

use super::{all_prospective, created, resolve};
use crate::cli::Format;
use crate::commands::Ctx;
use crate::drivers;
use crate::error::Result;
use crate::model::{Driver, Network};
use crate::names;
use ipnetwork::IpNetwork;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// `docker network inspect`'s content, in cnet's one key style (snake_case).
#[derive(Serialize)]
pub struct Inspect {
    name: String,
    id: String,
    /// RFC 3339; null for a predefined network not used yet.
    created: Option<String>,
    driver: Driver,
    internal: bool,
    predefined: bool,
    ipam: InspectIpam,
    #[serde(skip_serializing_if = "Option::is_none")]
    bridge: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mtu: Option<u32>,
    options: BTreeMap<String, String>,
    namespaces: BTreeMap<String, InspectEndpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vxlan: Option<drivers::vxlan::InspectVxlan>,
    /// A shared overlay's hosts, as etcd lists them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    members: Vec<crate::model::Member>,
    /// What the definition does not say (e.g. that the host cannot reach macvlan children).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
}

#[derive(Serialize)]
struct InspectIpam {
    subnet: Option<IpNetwork>,
    gateway: Option<IpAddr>,
    ip_range: Option<IpNetwork>,
    /// IPv6, on a dual-stack network (`--ipv6`).
    #[serde(skip_serializing_if = "Option::is_none")]
    subnet6: Option<IpNetwork>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gateway6: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_range6: Option<IpNetwork>,
}

#[derive(Serialize)]
struct InspectEndpoint {
    interface: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_interface: Option<String>,
    mac_address: Option<String>,
    ipv4_address: Option<IpNetwork>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv6_address: Option<IpNetwork>,
    aliases: Vec<String>,
    /// Published ports, as `docker ps` shows them (`0.0.0.0:8080->80/tcp`).
    ports: Vec<String>,
    /// Where they forward to when not to this address: an overlay's go to the namespace's
    /// address on the gateway bridge.
    #[serde(skip_serializing_if = "Option::is_none")]
    ports_to: Option<std::net::IpAddr>,
    /// The same in IPv6 (a dual-stack overlay's leg on a dual-stack gateway bridge).
    #[serde(skip_serializing_if = "Option::is_none")]
    ports_to6: Option<std::net::IpAddr>,
    /// False when the namespace no longer exists (a stale endpoint).
    alive: bool,
    /// Whether this network carries the namespace's default route.
    default_route: bool,
    /// Whether it carries the namespace's IPv6 default route (dual-stack networks).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    default_route6: bool,
    /// Its rank for the default route (`attach --gw-priority`).
    gw_priority: i32,
}

/// One network as `net inspect` shows it.
pub fn inspect_one(ctx: &Ctx, n: &Network) -> Result<Inspect> {
    let mut namespaces = BTreeMap::new();
    for ep in ctx.store.endpoints(&n.name)? {
        namespaces.insert(
            ep.netns.clone(),
            InspectEndpoint {
                alive: crate::commands::target::alive(&ep.netns_path),
                default_route: ep.default_route,
                default_route6: ep.default_route6,
                gw_priority: ep.gw_priority,
                interface: ep.ifname,
                host_interface: ep.host_ifname,
                mac_address: ep.mac,
                ipv4_address: ep.address,
                ipv6_address: ep.address6,
                aliases: ep.aliases,
                ports: ep.ports.iter().map(|p| p.to_string()).collect(),
                ports_to: ep.publish_to,
                ports_to6: ep.publish_to6,
            },
        );
    }
    Ok(Inspect {
        name: n.name.clone(),
        id: n.id.clone(),
        created: created(n),
        driver: n.driver,
        internal: n.internal,
        predefined: n.predefined,
        ipam: InspectIpam {
            subnet: n.subnet,
            gateway: n.gateway,
            ip_range: n.ip_range,
            subnet6: n.subnet6,
            gateway6: n.gateway6,
            ip_range6: n.ip_range6,
        },
        bridge: n.bridge.clone(),
        mtu: n.mtu,
        options: n.options.clone(),
        namespaces,
        vxlan: drivers::of(n.driver).inspect_vxlan(n),
        members: match n.shared {
            true => ctx.store.members(&n.name)?,
            false => Vec::new(),
        },
        notes: drivers::of(n.driver).inspect_notes(n),
    })
}

/// JSON unless `--format table` is given, as `docker network inspect` prints JSON; the table
/// is the wide endpoint table of `ns ls -o wide`, for these networks.
pub fn inspect(ctx: &Ctx, names_: &[String]) -> Result<()> {
    let nets = all_prospective(ctx)?;
    let mut chosen: Vec<&Network> = Vec::new();
    for given in &names::unique(names_) {
        let n = match resolve(&nets, given) {
            Ok(n) => n,
            Err(e) => {
                // A definition the listing skipped: say what is wrong with it.
                if names::validate_network_name(given).is_ok() {
                    ctx.store.network(given)?;
                }
                return Err(e);
            }
        };
        if !chosen.iter().any(|c| c.name == n.name) {
            chosen.push(n);
        }
    }
    if ctx.global.format == Some(Format::Table) {
        let names: Vec<&str> = chosen.iter().map(|n| n.name.as_str()).collect();
        return crate::commands::ns::print_wide(ctx, Format::Table, Some(&names));
    }
    let mut out = Vec::with_capacity(chosen.len());
    for n in chosen {
        out.push(inspect_one(ctx, n)?);
    }
    crate::commands::print_json(&out);
    Ok(())
}
