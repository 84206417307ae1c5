//! `cnet net create|rm|ls|inspect`, and the predefined networks.

use super::hostsfile::HostsPlan;
use super::{Ctx, for_each_reporting};
use crate::cli::CreateArgs;
use crate::drivers;
use crate::error::{Error, Result};
use crate::firewall::NftTableKind;
use crate::ipam::{self, Pool};
use crate::model::{Driver, Network};
use crate::names;
use crate::output::{self, print_list};
use crate::plan::{NsRef, Op, Plan, Record};
use ipnetwork::Ipv4Network;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Docker's predefined networks.
pub const PREDEFINED: [(&str, Driver); 3] = [
    ("bridge", Driver::Bridge),
    ("host", Driver::Host),
    ("none", Driver::None),
];

fn is_predefined(name: &str) -> bool {
    PREDEFINED.iter().any(|(n, _)| *n == name)
}

fn new_id() -> String {
    let mut buf = [0u8; 6];
    if getrandom(&mut buf).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        buf.copy_from_slice(&t.to_le_bytes()[..6]);
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn getrandom(buf: &mut [u8]) -> std::io::Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")?.read_exact(buf)
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
pub(crate) fn free_subnet(ctx: &Ctx) -> Result<Ipv4Network> {
    let mut in_use = ctx.host_routes()?;
    in_use.extend(ctx.store.networks()?.iter().filter_map(|n| n.subnet));
    ipam::choose_subnet(&in_use).ok_or_else(|| {
        Error::runtime("no free subnet left in the default pools: give one with --subnet")
    })
}

pub(crate) fn parse_cidr(what: &str, s: &str) -> Result<Ipv4Network> {
    let net: Ipv4Network = s
        .parse()
        .map_err(|_| Error::usage(format!("{what} '{s}' is not an IPv4 CIDR like 10.1.0.0/24")))?;
    if net.network() != net.ip() {
        return Err(Error::usage(format!(
            "{what} {s} has host bits set (did you mean {}/{}?)",
            net.network(),
            net.prefix()
        )));
    }
    Ok(net)
}

pub(crate) fn parse_ip(what: &str, s: &str) -> Result<Ipv4Addr> {
    s.parse()
        .map_err(|_| Error::usage(format!("{what} '{s}' is not an IPv4 address")))
}

/// `-o` options of a bridge network, parsed.
#[derive(Default)]
struct BridgeOptions {
    /// As given, for `inspect`.
    given: BTreeMap<String, String>,
    bridge_name: Option<String>,
    mtu: Option<u32>,
}

/// Bridge options: our names and Docker's.
fn bridge_options(opts: &[String]) -> Result<BridgeOptions> {
    let mut parsed = BridgeOptions::default();
    for (k, v) in super::options::split(opts)? {
        match k {
            "bridge_name" | "com.docker.network.bridge.name" => {
                parsed.bridge_name = Some(v.to_string())
            }
            k if super::options::is_mtu(k) => parsed.mtu = Some(super::options::number(k, v)?),
            _ => {
                return Err(super::options::unknown(
                    k,
                    Driver::Bridge,
                    "bridge_name, mtu",
                ));
            }
        }
        parsed.given.insert(k.to_string(), v.to_string());
    }
    Ok(parsed)
}

pub fn create(ctx: &Ctx, a: &CreateArgs) -> Result<()> {
    names::validate_network_name(&a.name)?;
    let driver: Driver = a.driver.parse().map_err(Error::Usage)?;
    match driver {
        Driver::Bridge => create_bridge(ctx, a),
        Driver::Vxlan => super::create_vxlan::create(ctx, a),
        Driver::Macvlan | Driver::Ipvlan => super::create_sublink::create(ctx, a, driver),
        Driver::Host | Driver::None => Err(Error::usage(format!(
            "only one {driver} network may exist: use the predefined '{driver}' network"
        ))),
    }
}

/// The options every driver with addresses shares, parsed and checked (no I/O).
pub(crate) struct CommonArgs {
    pub subnet: Option<Ipv4Network>,
    pub ip_range: Option<Ipv4Network>,
    pub gateway: Option<Ipv4Addr>,
    pub mtu: Option<u32>,
}

pub(crate) fn parse_common(a: &CreateArgs, mtu_opt: Option<u32>) -> Result<CommonArgs> {
    let mtu = a.mtu.or(mtu_opt);
    if let Some(m) = mtu
        && !(68..=65535).contains(&m)
    {
        return Err(Error::usage(format!("mtu {m} is out of range (68-65535)")));
    }
    let cidr = |what, v: &Option<String>| v.as_deref().map(|s| parse_cidr(what, s)).transpose();
    let c = CommonArgs {
        subnet: cidr("subnet", &a.subnet)?,
        ip_range: cidr("ip-range", &a.ip_range)?,
        gateway: a
            .gateway
            .as_deref()
            .map(|s| parse_ip("gateway", s))
            .transpose()?,
        mtu,
    };
    if c.subnet.is_none() && (c.gateway.is_some() || c.ip_range.is_some()) {
        return Err(Error::usage("--gateway and --ip-range need --subnet"));
    }
    Ok(c)
}

/// Refuse driver-specific flags given to a driver they do not apply to.
pub(crate) fn reject_flags(a: &CreateArgs, driver: Driver, allowed: &[&str]) -> Result<()> {
    for (flag, given) in [
        ("--parent", a.parent.is_some()),
        ("--mode", a.mode.is_some()),
        ("--vni", a.vni.is_some()),
        ("--local", a.local.is_some()),
        ("--peer", !a.peer.is_empty()),
        ("--dstport", a.dstport.is_some()),
        ("--underlay", a.underlay.is_some()),
    ] {
        if given && !allowed.contains(&flag) {
            return Err(Error::usage(format!(
                "{flag} does not apply to {driver} networks"
            )));
        }
    }
    Ok(())
}

/// Refuse a name that is taken. Call with the lock held.
pub(crate) fn check_name_free(ctx: &Ctx, name: &str) -> Result<()> {
    if is_predefined(name) || ctx.store.network(name)?.is_some() {
        return Err(Error::usage(format!("network {name} already exists")));
    }
    Ok(())
}

/// Refuse a subnet that overlaps another network's.
pub(crate) fn check_subnet_free(others: &[Network], subnet: Ipv4Network) -> Result<()> {
    for o in others {
        if let Some(os) = o.subnet
            && ipam::overlaps(os, subnet)
        {
            return Err(Error::usage(format!(
                "subnet {subnet} overlaps network {} ({os})",
                o.name
            )));
        }
    }
    Ok(())
}

/// A fresh definition with the common fields filled in.
pub(crate) fn new_network(name: &str, driver: Driver) -> Network {
    Network {
        name: name.to_string(),
        id: new_id(),
        driver,
        created: output::now(),
        ..Default::default()
    }
}

/// Apply a new network's plan, then record it (the common tail of every create).
pub(crate) fn apply_and_record(ctx: &Ctx, net: &Network) -> Result<()> {
    let mut plan = drivers::plan_create(net, &ctx.firewall_facts()?)?;
    plan.push(Op::Record(Record::PutNetwork {
        net: Box::new(net.clone()),
        previous: None,
    }));
    ctx.apply(&plan)?;
    if !ctx.dry_run() {
        crate::outln!("{}", net.name);
    }
    Ok(())
}

fn create_bridge(ctx: &Ctx, a: &CreateArgs) -> Result<()> {
    reject_flags(a, Driver::Bridge, &[])?;
    let opts = bridge_options(&a.opts)?;
    let common = parse_common(a, opts.mtu)?;
    let bridge = opts
        .bridge_name
        .unwrap_or_else(|| names::bridge_name(&a.name));
    names::validate_ifname(&bridge)?;
    ctx.require_root()?;

    let _lock = ctx.lock()?;
    check_name_free(ctx, &a.name)?;
    let others = ctx.store.networks()?;
    let subnet = match common.subnet {
        Some(s) => s,
        None => free_subnet(ctx)?,
    };
    check_subnet_free(&others, subnet)?;
    if let Some(o) = others.iter().find(|o| o.bridge.as_deref() == Some(&bridge)) {
        return Err(Error::usage(format!(
            "bridge {bridge} is already used by network {}",
            o.name
        )));
    }
    let gateway = common.gateway.unwrap_or_else(|| ipam::first_host(subnet));
    Pool::new(subnet, common.ip_range, Some(gateway))?;
    if !ctx.dry_run() && ctx.link_exists(&NsRef::Host, &bridge)? {
        return Err(Error::usage(format!(
            "link {bridge} already exists on this host"
        )));
    }
    let mut net = Network {
        subnet: Some(subnet),
        gateway: Some(gateway),
        ip_range: common.ip_range,
        internal: a.internal,
        mtu: common.mtu,
        bridge: Some(bridge),
        options: opts.given,
        ..new_network(&a.name, Driver::Bridge)
    };
    net.bridge_mac = Some(crate::plan::format_mac(&drivers::bridge::bridge_mac(&net)));
    apply_and_record(ctx, &net)
}

pub fn rm(ctx: &Ctx, names_: &[String], force: bool) -> Result<()> {
    for n in names_ {
        names::validate_network_name(n)?;
    }
    ctx.require_root()?;
    let _lock = ctx.lock()?;
    // Removed by this command already: a dry run still finds them in the store.
    let mut removed: Vec<String> = Vec::new();
    for_each_reporting(names_, |name| {
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
        let mut hosts = HostsPlan::new(&*ctx.store);
        hosts.network_removed(name)?;
        plan.extend(hosts.into_ops().into_iter().map(Op::File));
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
    subnet: Option<Ipv4Network>,
    gateway: Option<Ipv4Addr>,
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
    vxlan: Option<super::create_vxlan::InspectVxlan>,
    /// What the definition does not say (e.g. that the host cannot reach macvlan children).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InspectIpam {
    subnet: Option<Ipv4Network>,
    gateway: Option<Ipv4Addr>,
    #[serde(rename = "IPRange")]
    ip_range: Option<Ipv4Network>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InspectEndpoint {
    interface: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_interface: Option<String>,
    mac_address: Option<String>,
    #[serde(rename = "IPv4Address")]
    ipv4_address: Option<Ipv4Network>,
    aliases: Vec<String>,
    /// Published ports, as `docker ps` shows them (`0.0.0.0:8080->80/tcp`).
    ports: Vec<String>,
    /// False when the namespace no longer exists (a stale endpoint).
    alive: bool,
}

pub fn inspect(ctx: &Ctx, names_: &[String]) -> Result<()> {
    let nets = all(ctx)?;
    let mut out = Vec::new();
    for name in names_ {
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
            vxlan: super::create_vxlan::inspect(n),
            notes: drivers::sublink::notes(n),
        });
    }
    // Inspect is JSON whatever --format says, as with `docker network inspect`.
    crate::outln!(
        "{}",
        serde_json::to_string_pretty(&out).expect("serializes")
    );
    Ok(())
}
