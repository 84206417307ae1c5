//! `cnet net create|rm|ls|inspect`, and the predefined networks.

use super::{Ctx, for_each_reporting};
use crate::cli::{CreateArgs, Format};
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

/// Every network, with the subnet and gateway the default `bridge` network will get on first
/// use when it has none yet (computed as first use does; nothing is recorded).
pub fn all_prospective(ctx: &Ctx) -> Result<Vec<Network>> {
    let mut nets = all(ctx)?;
    for n in nets.iter_mut() {
        if n.predefined && n.driver == Driver::Bridge && n.subnet.is_none() {
            // A host whose routes cannot be read (e.g. not root) shows none.
            if let Ok(subnet) = free_subnet(ctx) {
                n.subnet = Some(subnet);
                n.gateway = Some(ipam::first_host(subnet));
            }
        }
    }
    Ok(nets)
}

/// A network to attach to. A predefined network not used yet is returned with the plan that
/// makes it real (the default `bridge` gets its bridge, subnet and rules then): the caller
/// applies it together with its own plan, so a refused or failed attach leaves nothing, and
/// records the network after success. Call with the lock held.
pub fn for_use(ctx: &Ctx, given: &str) -> Result<(Network, Option<Plan>)> {
    let name = &name_of(ctx, given)?;
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
    // ipnetwork would read a bare address as a /32, which is never what was meant.
    if !s.contains('/')
        && let Ok(ip) = s.parse::<Ipv4Addr>()
    {
        let example = Ipv4Network::new(ip, 24).map_or(ip, |n| n.network());
        return Err(Error::usage(format!(
            "{what} {s} has no prefix: give one, e.g. {example}/24"
        )));
    }
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

/// `mtu_opt` is the MTU given as an option, with the key it was given under.
pub(crate) fn parse_common(a: &CreateArgs, mtu_opt: Option<(&str, u32)>) -> Result<CommonArgs> {
    let mtu = super::options::flag_or_option("--mtu", a.mtu, mtu_opt)?;
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
    if let Some(subnet) = c.subnet {
        ipam::check_usable("subnet", subnet)?;
        ipam::check_room(subnet)?;
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

/// Refuse a bridge name another network has, the predefined `bridge` network's `cnet0`
/// included before that network is first used. Call with the lock held.
pub(crate) fn check_bridge_free(ctx: &Ctx, bridge: &str) -> Result<()> {
    match all(ctx)?
        .into_iter()
        .find(|o| o.bridge.as_deref() == Some(bridge))
    {
        Some(o) => Err(Error::usage(format!(
            "bridge {bridge} is already used by network {}",
            o.name
        ))),
        None => Ok(()),
    }
}

/// Refuse a subnet the host already routes somewhere (a LAN, a VPN): a bridge or overlay
/// routed on the host on top of it would take that traffic.
pub(crate) fn check_not_routed(ctx: &Ctx, subnet: Ipv4Network) -> Result<()> {
    refuse_routed(subnet, &ctx.host_routes()?)
}

fn refuse_routed(subnet: Ipv4Network, routes: &[Ipv4Network]) -> Result<()> {
    match routes.iter().find(|r| ipam::overlaps(**r, subnet)) {
        Some(r) => Err(Error::usage(format!(
            "subnet {subnet} overlaps the host's route {}/{}",
            r.network(),
            r.prefix()
        ))),
        None => Ok(()),
    }
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
/// `records`: what else the new network holds from the start (e.g. the lease of a shim).
pub(crate) fn apply_and_record(ctx: &Ctx, net: &Network, records: Vec<Record>) -> Result<()> {
    let mut plan = drivers::plan_create(net, &ctx.firewall_facts()?)?;
    plan.push(Op::Record(Record::PutNetwork {
        net: Box::new(net.clone()),
        previous: None,
    }));
    plan.extend(records.into_iter().map(Op::Record));
    ctx.apply(&plan)?;
    if ctx.dry_run() {
        return Ok(());
    }
    match ctx.global.format() {
        Format::Json => super::print_json(&inspect_one(ctx, net)?),
        Format::Table => crate::outln!("{}", net.name),
    }
    Ok(())
}

fn create_bridge(ctx: &Ctx, a: &CreateArgs) -> Result<()> {
    reject_flags(a, Driver::Bridge, &[])?;
    let opts = bridge_options(&a.opts)?;
    let mtu_opt = opts
        .mtu
        .map(|m| (super::options::key_of(&opts.given, "mtu"), m));
    let common = parse_common(a, mtu_opt)?;
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
    check_bridge_free(ctx, &bridge)?;
    let gateway = common.gateway.unwrap_or_else(|| ipam::first_host(subnet));
    Pool::new(subnet, common.ip_range, Some(gateway))?.check_leasable()?;
    if common.subnet.is_some() {
        check_not_routed(ctx, subnet)?;
    }
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
    apply_and_record(ctx, &net, Vec::new())
}

/// What `net rm`/`net prune` removed, for --format json.
#[derive(Serialize)]
pub struct Removed {
    pub name: String,
    pub id: String,
    /// The namespaces detached first (--force).
    pub detached: Vec<String>,
}

pub fn rm(ctx: &Ctx, names_: &[String], force: bool) -> Result<()> {
    for n in names_ {
        names::validate_network_name(n)?;
    }
    ctx.require_root()?;
    let _lock = ctx.lock()?;
    let removed = std::cell::RefCell::new(Vec::new());
    let result = for_each_reporting(&names::unique(names_), |given| {
        let name = &name_of(ctx, given)?;
        let stored = ctx.store.network(name)?;
        if is_predefined(name) {
            match (&stored, force) {
                (_, false) => {
                    return Err(Error::usage(format!(
                        "network {name} is predefined and cannot be removed (--force removes \
                         what the default bridge network made; it is made again on next use)"
                    )));
                }
                (None, true) => {
                    eprintln!("cnet: network {name} is predefined and holds nothing: left alone");
                    return Ok(());
                }
                // The default network's bridge, rules and record go; it stays predefined.
                (Some(_), true) => {}
            }
        }
        let net = stored.ok_or_else(|| Error::usage(format!("network {name} does not exist")))?;
        if let Some(r) = remove(ctx, &net, force)? {
            match ctx.global.format() {
                Format::Json => removed.borrow_mut().push(r),
                Format::Table => crate::outln!("{name}"),
            }
        }
        Ok(())
    });
    if ctx.global.format() == Format::Json && !ctx.dry_run() {
        super::print_json(&removed.into_inner());
    }
    result
}

/// Remove one network (detaching its namespaces first when `force`). Call with the lock held.
/// None on a dry run, which only prints the plan.
pub fn remove(ctx: &Ctx, net: &Network, force: bool) -> Result<Option<Removed>> {
    let name = &net.name;
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
        super::detach::detach_endpoint(ctx, net, ep)?;
    }
    let mut plan = drivers::plan_remove(net);
    plan.extend(plan_unused_firewall(ctx, net)?.ops);
    plan.push(Op::Record(Record::DropNetwork { name: name.clone() }));
    plan.extend(ctx.plan_files(|hosts| hosts.network_removed(name))?);
    ctx.teardown(&plan)?;
    Ok((!ctx.dry_run()).then(|| Removed {
        name: name.clone(),
        id: net.id.clone(),
        detached: eps.into_iter().map(|e| e.netns).collect(),
    }))
}

/// What of cnet's firewall goes with the last network that uses it: the nftables table of its
/// driver (published ports for bridges, the ingress filter for overlays), and the base chains
/// with the last bridge or overlay network.
fn plan_unused_firewall(ctx: &Ctx, removed: &Network) -> Result<Plan> {
    let mut plan = Plan::default();
    let table = match removed.driver {
        Driver::Bridge => NftTableKind::Published,
        Driver::Vxlan => NftTableKind::Tunnel,
        _ => return Ok(plan),
    };
    let others: Vec<Network> = ctx
        .store
        .networks()?
        .into_iter()
        .filter(|n| n.name != removed.name)
        .collect();
    // A definition that cannot be read may be of any driver: what it may use stays.
    let unreadable = ctx.store.network_names()?.len() > others.len() + 1;
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
    predefined: bool,
    /// RFC 3339; null for a predefined network not used yet.
    created: Option<String>,
    endpoints: usize,
}

pub fn ls(ctx: &Ctx, quiet: bool) -> Result<()> {
    if quiet {
        for n in &all(ctx)? {
            crate::outln!("{}", n.name);
        }
        return super::listed_everything(ctx);
    }
    let nets = all_prospective(ctx)?;
    let mut rows = Vec::with_capacity(nets.len());
    for n in nets {
        rows.push(NetRow {
            endpoints: ctx.store.endpoint_count(&n.name)?,
            created: created(&n),
            id: n.id,
            name: n.name,
            driver: n.driver,
            subnet: n.subnet,
            gateway: n.gateway,
            internal: n.internal,
            predefined: n.predefined,
        });
    }
    let dash = |o: Option<String>| o.unwrap_or_else(|| "-".into());
    print_list(
        ctx.global.format(),
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

/// When a network was made (RFC 3339), if it was.
fn created(n: &Network) -> Option<String> {
    (n.created != 0).then(|| output::rfc3339(n.created))
}

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
    vxlan: Option<super::create_vxlan::InspectVxlan>,
    /// What the definition does not say (e.g. that the host cannot reach macvlan children).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
}

#[derive(Serialize)]
struct InspectIpam {
    subnet: Option<Ipv4Network>,
    gateway: Option<Ipv4Addr>,
    ip_range: Option<Ipv4Network>,
}

#[derive(Serialize)]
struct InspectEndpoint {
    interface: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_interface: Option<String>,
    mac_address: Option<String>,
    ipv4_address: Option<Ipv4Network>,
    aliases: Vec<String>,
    /// Published ports, as `docker ps` shows them (`0.0.0.0:8080->80/tcp`).
    ports: Vec<String>,
    /// False when the namespace no longer exists (a stale endpoint).
    alive: bool,
}

/// One network as `net inspect` shows it.
pub fn inspect_one(ctx: &Ctx, n: &Network) -> Result<Inspect> {
    let mut namespaces = BTreeMap::new();
    for ep in ctx.store.endpoints(&n.name)? {
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
        },
        bridge: n.bridge.clone(),
        mtu: n.mtu,
        options: n.options.clone(),
        namespaces,
        vxlan: super::create_vxlan::inspect(n),
        notes: drivers::sublink::notes(n),
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
        return super::ns::print_wide(ctx, Format::Table, Some(&names));
    }
    let mut out = Vec::with_capacity(chosen.len());
    for n in chosen {
        out.push(inspect_one(ctx, n)?);
    }
    super::print_json(&out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> CreateArgs {
        let mut argv = vec!["cnet", "net", "create", "n1"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::try_parse_from(argv).unwrap().command {
            crate::cli::Command::Net(crate::cli::NetCommand::Create(a)) => *a,
            other => panic!("{other:?}"),
        }
    }

    /// The usage error of `net create n1 EXTRA...` as far as the shared parsing goes.
    fn refused(extra: &[&str], mtu_opt: Option<(&str, u32)>) -> String {
        let e = parse_common(&args(extra), mtu_opt).err().expect("refused");
        assert_eq!(e.exit_code(), 2, "{e}");
        e.to_string()
    }

    #[test]
    fn a_cidr_needs_a_prefix() {
        assert_eq!(
            refused(&["--subnet", "10.2.0.0"], None),
            "subnet 10.2.0.0 has no prefix: give one, e.g. 10.2.0.0/24"
        );
        let e = refused(&["--subnet", "10.2.0.0/16", "--ip-range", "10.2.1.9"], None);
        assert_eq!(
            e,
            "ip-range 10.2.1.9 has no prefix: give one, e.g. 10.2.1.0/24"
        );
        assert!(refused(&["--subnet", "banana"], None).contains("not an IPv4 CIDR"));
        let c = parse_common(&args(&["--subnet", "10.2.0.0/16"]), None).unwrap();
        assert_eq!(c.subnet, Some("10.2.0.0/16".parse().unwrap()));
    }

    #[test]
    fn unusable_and_tiny_subnets_are_refused() {
        for (subnet, needle) in [
            ("0.0.0.0/0", "default route"),
            ("127.0.0.0/8", "loopback"),
            ("169.254.0.0/16", "link-local"),
            ("224.0.0.0/4", "multicast"),
            ("10.1.0.0/31", "too small"),
            ("10.1.0.7/32", "too small"),
        ] {
            let e = refused(&["--subnet", subnet], None);
            assert!(e.contains(needle), "{subnet}: {e}");
        }
    }

    #[test]
    fn the_mtu_flag_and_option_must_agree() {
        let e = refused(&["--mtu", "9000"], Some(("mtu", 1500)));
        assert_eq!(e, "--mtu 9000 and -o mtu=1500 disagree: give one of them");
        let c = parse_common(&args(&["--mtu", "1500"]), Some(("mtu", 1500))).unwrap();
        assert_eq!(c.mtu, Some(1500));
        let opts = bridge_options(&["com.docker.network.driver.mtu=1400".into()]).unwrap();
        assert_eq!(
            super::super::options::key_of(&opts.given, "mtu"),
            "com.docker.network.driver.mtu"
        );
        let e = bridge_options(&[
            "bridge_name=br0".into(),
            "com.docker.network.bridge.name=br1".into(),
        ])
        .err()
        .unwrap();
        assert!(e.to_string().contains("disagree"), "{e}");
    }

    #[test]
    fn a_subnet_over_a_host_route_is_refused_naming_the_route() {
        let routes: Vec<Ipv4Network> = ["192.168.1.0/24", "10.0.0.0/8"]
            .iter()
            .map(|r| r.parse().unwrap())
            .collect();
        let e = refuse_routed("192.168.1.128/25".parse().unwrap(), &routes).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            "subnet 192.168.1.128/25 overlaps the host's route 192.168.1.0/24"
        );
        assert!(refuse_routed("10.7.0.0/16".parse().unwrap(), &routes).is_err());
        refuse_routed("172.20.0.0/16".parse().unwrap(), &routes).unwrap();
    }

    /// Random text never panics the CIDR and address parsers; an accepted subnet is aligned
    /// and usable or refused with a usage error, never anything else.
    #[test]
    fn fuzzed_cidrs_never_panic() {
        use crate::fuzz::Rng;
        let alphabet = [
            "1", "0", "2", "5", "9", "255", "256", "10", "127", "169", "224", ".", ".", "/", "/",
            "8", "24", "31", "32", "33", "-", " ", "x", "é", ":",
        ];
        let valid = ["10.1.0.0/24", "192.168.0.0/16", "10.2.0.0", "255.255.0.0"];
        let mut rng = Rng::new(16);
        let mut accepted = 0;
        for i in 0..20_000 {
            let s = if i % 2 == 0 {
                rng.string(&alphabet, 10)
            } else {
                let v = *rng.pick(&valid);
                rng.mutate(v, &alphabet)
            };
            let _ = parse_ip("gateway", &s);
            let Ok(net) = parse_cidr("subnet", &s) else {
                continue;
            };
            accepted += 1;
            assert!(s.contains('/'), "{s}");
            assert_eq!(net.ip(), net.network(), "{s}");
            for check in [ipam::check_usable("subnet", net), ipam::check_room(net)] {
                if let Err(e) = check {
                    assert_eq!(e.exit_code(), 2, "{s}: {e}");
                }
            }
        }
        assert!(accepted > 200, "{accepted}");
    }
}
