//! `cnet attach NETWORK NETNS`: lease an address (DORA), plan, apply with rollback, then record.

use super::{Ctx, hostsfile, net, target};
use crate::cli::{AttachArgs, Format};
use crate::drivers::{self, AttachRequest, Target};
use crate::error::{Error, Result};
use crate::ipam::{self, Pool};
use crate::kernel;
use crate::model::{Driver, Endpoint, Lease, NamespaceRecord, Network};
use crate::names;
use crate::output;
use crate::plan::{Op, format_mac};
use crate::store::StoreLeases;
use ipnetwork::Ipv4Network;
use std::net::Ipv4Addr;

pub fn run(ctx: &Ctx, a: &AttachArgs) -> Result<()> {
    names::validate_network_name(&a.network)?;
    if let Some(i) = &a.ifname {
        names::validate_ifname(i)?;
    }
    let mac = a.mac.as_deref().map(names::parse_mac).transpose()?;
    let ip: Option<Ipv4Addr> =
        a.ip.as_deref()
            .map(|s| {
                s.parse()
                    .map_err(|_| Error::usage(format!("--ip '{s}' is not an IPv4 address")))
            })
            .transpose()?;
    for alias in &a.aliases {
        names::validate_alias(alias)?;
    }
    let published = crate::ports::parse_all(&a.publish)?;
    ctx.require_root()?;
    let _lock = ctx.lock()?;
    crate::timing::mark("locked");
    let target = target::resolve(&a.netns)?;
    let (net, setup) = net::for_use(ctx, &a.network)?;
    if ctx.store.endpoint(&net.name, &target.key)?.is_some() {
        return Err(Error::usage(format!(
            "{} is already attached to network {}",
            target.given, net.name
        )));
    }
    let others = other_endpoints(ctx, &net.name, &target.key)?;
    check_exclusive(&net, &target, &others)?;
    super::publish::check_network(&net, &published)?;
    super::publish::check(ctx, &published)?;
    if !net.driver.leases_addresses() && (ip.is_some() || mac.is_some() || a.ifname.is_some()) {
        return Err(Error::usage(format!(
            "--ip, --mac and --ifname do not apply to the {} network",
            net.driver
        )));
    }

    crate::timing::mark("checked");
    let ifname = if net.driver.leases_addresses() {
        choose_ifname(ctx, &target, a.ifname.as_deref())?
    } else {
        String::new()
    };
    let default_route = !net.internal && !others.iter().any(|(_, e)| e.default_route);

    // DISCOVER -> OFFER: the address is held (claimed on disk) while the kernel work runs.
    let now = output::now();
    let leases = StoreLeases {
        store: &*ctx.store,
        network: &net.name,
    };
    let offer = if net.driver.leases_addresses() {
        Some(discover(&net, &leases, &target, ip, now)?)
    } else {
        None
    };
    crate::timing::mark("offered");
    let address = offer
        .as_ref()
        .map(|o| {
            Ipv4Network::new(
                o.address,
                net.subnet.expect("leasing networks have a subnet").prefix(),
            )
        })
        .transpose()
        .map_err(|e| Error::runtime(e.to_string()))?;
    let mut plan = setup.clone().unwrap_or_default();
    plan.extend(
        drivers::plan_attach(&AttachRequest {
            network: &net,
            target: &target,
            ifname: ifname.clone(),
            address,
            mac,
            default_route,
        })?
        .ops,
    );
    plan.extend(drivers::bridge::plan_publish(address, &published)?);
    if ctx.dry_run() {
        if let Some(o) = &offer {
            crate::outln!("# {}", ipam::dora_trace(&target.given, ip, o.address));
        }
        return ctx.apply(&plan);
    }
    let previous = match &offer {
        Some(o) => ctx.store.lease(&net.name, o.address)?,
        None => None,
    };
    if let Some(o) = &offer {
        ctx.store.put_lease(o, previous.is_none())?;
    }
    let restore_lease = || -> Result<()> {
        match (&offer, &previous) {
            (Some(o), None) => ctx.store.remove_lease(&net.name, o.address),
            (Some(_), Some(p)) => ctx.store.put_lease(p, false),
            _ => Ok(()),
        }
    };
    // REQUEST -> ACK (or NAK, if the address went to someone else meanwhile).
    let ack = match &offer {
        Some(o) => match ipam::request_in(o, &leases, now) {
            Ok(a) => Some(a),
            Err(e) => {
                restore_lease()?;
                return Err(e);
            }
        },
        None => None,
    };
    crate::timing::mark("acked");
    let claimed = match super::publish::claim(ctx, &net, &target, &published) {
        Ok(c) => c,
        Err(e) => {
            restore_lease()?;
            return Err(e);
        }
    };
    crate::timing::mark("claimed");
    if let Err(e) = ctx.apply(&plan) {
        super::publish::release(ctx, &claimed)?;
        restore_lease()?;
        return Err(e);
    }
    crate::timing::mark("applied");
    if setup.is_some() {
        ctx.store.put_network(&net)?;
    }
    if let Some(ack) = &ack {
        ctx.say(ipam::dora_trace(&target.given, ip, ack.address));
        ctx.store.put_lease(ack, false)?;
    }
    let endpoint = Endpoint {
        network: net.name.clone(),
        key: target.key.clone(),
        netns: target.given.clone(),
        netns_path: target.path.clone(),
        ifname: ifname.clone(),
        host_ifname: drivers::host_ifname(&net, &target.key),
        // ipvlan children have no MAC of their own (they share the parent's).
        mac: address
            .filter(|_| net.driver != Driver::Ipvlan)
            .map(|addr| format_mac(&mac.unwrap_or_else(|| names::mac_from_ip(addr.ip())))),
        address,
        aliases: a.aliases.clone(),
        ports: published,
        default_route: default_route
            && (net.gateway.is_some() || drivers::sublink::device_default_route(&net)),
        since: now,
    };
    ctx.store.put_endpoint(&target.key, &endpoint)?;
    if let Some(name) = created_namespace(&plan) {
        ctx.store.put_namespace(&NamespaceRecord {
            name,
            created: now,
            host: net.driver == Driver::Host,
        })?;
    }
    crate::timing::mark("recorded");
    hostsfile::joined(ctx, &endpoint, &others)?;
    report(ctx, &endpoint);
    Ok(())
}

fn discover(
    net: &Network,
    leases: &StoreLeases,
    target: &Target,
    ip: Option<Ipv4Addr>,
    now: u64,
) -> Result<Lease> {
    let subnet = net
        .subnet
        .ok_or_else(|| Error::runtime(format!("network {} has no subnet", net.name)))?;
    let pool = Pool::new(subnet, net.ip_range, net.gateway)?;
    ipam::discover_in(
        &pool,
        &net.name,
        leases,
        &target.given,
        ip,
        now,
        &kernel::boot_id(),
    )
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

/// `host` and `none` take a namespace alone, as in Docker.
fn check_exclusive(net: &Network, t: &Target, others: &[(String, Endpoint)]) -> Result<()> {
    let exclusive = |d: Driver| matches!(d, Driver::Host | Driver::None);
    if exclusive(net.driver) && !others.is_empty() {
        return Err(Error::usage(format!(
            "{} is attached to network {}: the {} network takes a namespace on no other network",
            t.given, others[0].0, net.driver
        )));
    }
    if let Some((other, _)) = others.iter().find(|(n, _)| n == "host" || n == "none") {
        return Err(Error::usage(format!(
            "{} is on the {other} network, which it cannot share with another network",
            t.given
        )));
    }
    Ok(())
}

/// `--ifname`, or the first free ethN in the namespace.
fn choose_ifname(ctx: &Ctx, t: &Target, wanted: Option<&str>) -> Result<String> {
    let exists = |name: &str| -> Result<bool> {
        Ok(t.exists && !ctx.dry_run() && ctx.link_exists(&t.ns, name)?)
    };
    if let Some(w) = wanted {
        if exists(w)? {
            return Err(Error::usage(format!(
                "interface {w} already exists in namespace {}",
                t.given
            )));
        }
        return Ok(w.to_string());
    }
    for n in 0..1000 {
        let name = format!("eth{n}");
        if !exists(&name)? {
            return Ok(name);
        }
    }
    Err(Error::runtime(format!(
        "no free ethN name in namespace {}",
        t.given
    )))
}

fn created_namespace(plan: &crate::plan::Plan) -> Option<String> {
    plan.ops.iter().find_map(|op| match op {
        Op::CreateNetns { name } | Op::BindHostNetns { name } => Some(name.clone()),
        _ => None,
    })
}

fn report(ctx: &Ctx, ep: &Endpoint) {
    match ctx.global.format {
        Format::Json => crate::outln!("{}", serde_json::to_string_pretty(ep).expect("serializes")),
        Format::Table => match &ep.address {
            Some(addr) => crate::outln!("{} {} {} {}", ep.network, ep.netns, ep.ifname, addr),
            None => crate::outln!("{} {}", ep.network, ep.netns),
        },
    }
}
