//! `cnet net create|rm|ls|inspect`, and the predefined networks.

use super::{Ctx, for_each_reporting};
use crate::cli::CreateArgs;
use crate::drivers::{self, Definition};
use crate::error::{Error, Result};
use crate::firewall::NftTableKind;
use crate::ipam;
use crate::model::{Driver, Network};
use crate::names;
use crate::output::{self, print_list};
use crate::plan::{Op, Plan, Record};
use ipnetwork::IpNetwork;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

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
fn predefined(name: &str, driver: Driver) -> Network {
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

/// A network to attach to. A predefined network not used yet is returned with the plan that
/// makes it real (the default `bridge` gets its bridge, subnet and rules then): the caller
/// applies it together with its own plan, so a refused or failed attach leaves nothing, and
/// records the network after success. Call with the lock held.
pub fn for_use(ctx: &Ctx, name: &str) -> Result<(Network, Option<Plan>)> {
    names::validate_network_name(name)?;
    if let Some(n) = ctx.store.network(name)? {
        return Ok((n, None));
    }
    let Some((_, driver)) = PREDEFINED.iter().find(|(n, _)| *n == name) else {
        return Err(Error::usage(format!("network {name} does not exist")));
    };
    let mut net = predefined(name, *driver);
    net.created = output::now();
    if *driver == Driver::Bridge {
        let subnet = free_subnet(ctx)?;
        net.subnet = Some(subnet);
        net.gateway = Some(ipam::first_host(subnet));
        net.bridge_mac = Some(crate::plan::format_mac(&drivers::bridge::bridge_mac(&net)));
        ctx.say(format!("creating the default bridge network on {subnet}"));
    }
    let mut setup = drivers::plan_create(&net, &ctx.firewall_facts()?)?;
    setup.push(Op::Record(Record::PutNetwork {
        net: Box::new(net.clone()),
        previous: None,
    }));
    Ok((net, Some(setup)))
}

/// The first free default subnet: not routed on the host, not used by another network.
pub(crate) fn free_subnet(ctx: &Ctx) -> Result<IpNetwork> {
    let mut in_use = ctx.host_routes()?;
    in_use.extend(ctx.store.networks()?.iter().filter_map(|n| n.subnet));
    ipam::choose_subnet(&in_use).ok_or_else(|| {
        Error::runtime("no free subnet left in the default pools: give one with --subnet")
    })
}

/// Apply a new network's plan, then record it (the common tail of every create).
/// `records`: what else the new network holds from the start (e.g. the lease of a shim).
pub(crate) fn apply_and_record(ctx: &Ctx, net: &Network, records: Vec<Record>) -> Result<()> {
    let mut plan = drivers::plan_create(net, &ctx.firewall_facts()?)?;
    plan.push(Op::Record(Record::PutNetwork {
        net: Box::new(net.clone()),
        previous: None,
    }));
    plan.extend(records.into_iter().map(Op::Record));
    ctx.apply(&plan)?;
    if !ctx.dry_run() {
        crate::outln!("{}", net.name);
    }
    Ok(())
}

pub fn create(ctx: &Ctx, a: &CreateArgs) -> Result<()> {
    names::validate_network_name(&a.name)?;
    let driver: Driver = a.driver.parse().map_err(Error::Usage)?;
    let Definition {
        net,
        records,
        lock: _lock,
    } = drivers::of(driver).define(ctx, a)?;
    apply_and_record(ctx, &net, records)
}

pub fn rm(ctx: &Ctx, names_: &[String], force: bool) -> Result<()> {
    for n in names_ {
        names::validate_network_name(n)?;
    }
    ctx.require_root()?;
    let _lock = ctx.lock()?;
    // Removed by this command already: a dry run still finds them in the store.
    let mut removed: Vec<String> = Vec::new();
    for_each_reporting(&names::unique(names_), |name| {
        if is_predefined(name) {
            return Err(Error::usage(format!(
                "network {name} is predefined and cannot be removed"
            )));
        }
        let net = ctx
            .store
            .network(name)?
            .ok_or_else(|| Error::usage(format!("network {name} does not exist")))?;
        let eps = ctx.store.endpoints(name)?;
        // An endpoint file that cannot be read is still an attached namespace.
        let unreadable = ctx.store.endpoint_count(name)?.saturating_sub(eps.len());
        if (!eps.is_empty() || unreadable > 0) && !force {
            let mut list: Vec<String> = eps.iter().map(|e| e.netns.clone()).collect();
            if unreadable > 0 {
                list.push(format!("{unreadable} whose state file cannot be read"));
            }
            return Err(Error::usage(format!(
                "network {name} has attached namespaces ({}): detach them or use --force",
                list.join(", ")
            )));
        }
        for ep in &eps {
            super::detach::detach_endpoint(ctx, &net, ep)?;
        }
        let mut plan = drivers::plan_remove(&net);
        plan.extend(plan_unused_firewall(ctx, &net, &removed)?.ops);
        plan.push(Op::Record(Record::DropNetwork { name: name.clone() }));
        plan.extend(ctx.plan_files(|hosts| hosts.network_removed(name))?);
        ctx.teardown(&plan)?;
        removed.push(name.clone());
        if !ctx.dry_run() {
            crate::outln!("{name}");
        }
        Ok(())
    })
}

/// What of cnet's firewall goes with the last network that uses it: the nftables table of its
/// driver (published ports for bridges, the ingress filter for overlays), and the base chains
/// with the last bridge or overlay network.
fn plan_unused_firewall(ctx: &Ctx, removed: &Network, gone: &[String]) -> Result<Plan> {
    let mut plan = Plan::default();
    let table = match removed.driver {
        Driver::Bridge => NftTableKind::Published,
        Driver::Vxlan => NftTableKind::Tunnel,
        _ => return Ok(plan),
    };
    let all = ctx.store.networks()?;
    let listed = all.len();
    let others: Vec<Network> = all
        .into_iter()
        .filter(|n| n.name != removed.name && !gone.contains(&n.name))
        .collect();
    // A definition that cannot be read may be of any driver: what it may use stays.
    let unreadable = ctx.store.network_names()?.len() > listed;
    if unreadable {
        return Ok(plan);
    }
    if !others.iter().any(|n| n.driver.uses_bridge()) {
        plan.push(Op::RemoveBase);
    }
    if !others.iter().any(|n| n.driver == removed.driver) {
        plan.push(Op::DropTable(table));
    }
    Ok(plan)
}

#[derive(Serialize)]
struct NetRow {
    id: String,
    name: String,
    driver: Driver,
    subnet: Option<IpNetwork>,
    gateway: Option<IpAddr>,
    internal: bool,
    endpoints: usize,
}

pub fn ls(ctx: &Ctx, quiet: bool) -> Result<()> {
    let nets = all(ctx)?;
    if quiet {
        for n in &nets {
            crate::outln!("{}", n.name);
        }
        return super::listed_everything(ctx);
    }
    let mut rows = Vec::with_capacity(nets.len());
    for n in nets {
        rows.push(NetRow {
            endpoints: ctx.store.endpoint_count(&n.name)?,
            id: n.id,
            name: n.name,
            driver: n.driver,
            subnet: n.subnet,
            gateway: n.gateway,
            internal: n.internal,
        });
    }
    let dash = |o: Option<String>| o.unwrap_or_else(|| "-".into());
    print_list(
        ctx.global.format,
        &[
            "NETWORK ID",
            "NAME",
            "DRIVER",
            "INTERNAL",
            "SUBNET",
            "GATEWAY",
            "ENDPOINTS",
        ],
        &rows,
        |r| {
            vec![
                r.id.clone(),
                r.name.clone(),
                r.driver.to_string(),
                if r.internal { "yes" } else { "no" }.into(),
                dash(r.subnet.map(|s| s.to_string())),
                dash(r.gateway.map(|g| g.to_string())),
                r.endpoints.to_string(),
            ]
        },
    );
    super::listed_everything(ctx)
}

/// `docker network inspect`'s shape, with cnet's names.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Inspect {
    name: String,
    id: String,
    created: String,
    driver: Driver,
    internal: bool,
    predefined: bool,
    #[serde(rename = "IPAM")]
    ipam: InspectIpam,
    #[serde(skip_serializing_if = "Option::is_none")]
    bridge: Option<String>,
    #[serde(rename = "MTU", skip_serializing_if = "Option::is_none")]
    mtu: Option<u32>,
    options: BTreeMap<String, String>,
    namespaces: BTreeMap<String, InspectEndpoint>,
    #[serde(rename = "VXLAN", skip_serializing_if = "Option::is_none")]
    vxlan: Option<drivers::vxlan::InspectVxlan>,
    /// What the definition does not say (e.g. that the host cannot reach macvlan children).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InspectIpam {
    subnet: Option<IpNetwork>,
    gateway: Option<IpAddr>,
    #[serde(rename = "IPRange")]
    ip_range: Option<IpNetwork>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InspectEndpoint {
    interface: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_interface: Option<String>,
    mac_address: Option<String>,
    #[serde(rename = "IPv4Address")]
    ipv4_address: Option<IpNetwork>,
    aliases: Vec<String>,
    /// Published ports, as `docker ps` shows them (`0.0.0.0:8080->80/tcp`).
    ports: Vec<String>,
    /// False when the namespace no longer exists (a stale endpoint).
    alive: bool,
    /// Whether this network carries the namespace's default route.
    default_route: bool,
    /// Its rank for the default route (`attach --gw-priority`).
    gw_priority: i32,
}

pub fn inspect(ctx: &Ctx, names_: &[String]) -> Result<()> {
    let nets = all(ctx)?;
    let mut out = Vec::new();
    for name in &names::unique(names_) {
        let Some(n) = nets.iter().find(|n| &n.name == name) else {
            // A definition the listing skipped: say what is wrong with it.
            if names::validate_network_name(name).is_ok() {
                ctx.store.network(name)?;
            }
            return Err(Error::usage(format!("network {name} does not exist")));
        };
        let mut namespaces = BTreeMap::new();
        for ep in ctx.store.endpoints(name)? {
            namespaces.insert(
                ep.netns.clone(),
                InspectEndpoint {
                    alive: super::target::alive(&ep.netns_path),
                    default_route: ep.default_route,
                    gw_priority: ep.gw_priority,
                    interface: ep.ifname,
                    host_interface: ep.host_ifname,
                    mac_address: ep.mac,
                    ipv4_address: ep.address,
                    aliases: ep.aliases,
                    ports: ep.ports.iter().map(|p| p.to_string()).collect(),
                },
            );
        }
        out.push(Inspect {
            name: n.name.clone(),
            id: n.id.clone(),
            created: if n.created == 0 {
                "-".into()
            } else {
                output::rfc3339(n.created)
            },
            driver: n.driver,
            internal: n.internal,
            predefined: n.predefined,
            ipam: InspectIpam {
                subnet: n.subnet,
                gateway: n.gateway,
                ip_range: n.ip_range,
            },
            bridge: n.bridge.clone(),
            mtu: n.mtu,
            options: n.options.clone(),
            namespaces,
            vxlan: drivers::of(n.driver).inspect_vxlan(n),
            notes: drivers::of(n.driver).inspect_notes(n),
        });
    }
    // Inspect is JSON whatever --format says, as with `docker network inspect`.
    crate::outln!(
        "{}",
        serde_json::to_string_pretty(&out).expect("serializes")
    );
    Ok(())
}
