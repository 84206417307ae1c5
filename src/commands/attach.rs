//! `cnet attach NETWORK NETNS`: lease an address (DORA), plan, apply with rollback, then record.

use super::{Ctx, gwbridge, net, target};
use crate::cli::{AttachArgs, Format};
use crate::drivers::gateway;
use crate::drivers::{self, AttachRequest, Target};
use crate::error::{Error, Result};
use crate::ipam::{self, Pool};
use crate::kernel;
use crate::model::family::Family;
use crate::model::{Driver, Endpoint, Lease, NamespaceRecord, Network};
use crate::names;
use crate::output;
use crate::plan::{Op, Plan, Record, format_mac};
use crate::store::StoreLeases;
use ipnetwork::IpNetwork;
use std::net::IpAddr;

pub fn run(ctx: &Ctx, a: &AttachArgs) -> Result<()> {
    names::validate_network_name(&a.network)?;
    super::gwbridge::refuse_by_hand(&a.network, "attach")?;
    if let Some(i) = &a.ifname {
        names::validate_ifname(i)?;
    }
    let mac = a.mac.as_deref().map(names::parse_mac).transpose()?;
    let ip: Option<IpAddr> =
        a.ip.as_deref()
            .map(|s| crate::drivers::create::parse_ip("--ip", s))
            .transpose()?;
    let ip6: Option<IpAddr> = a
        .ip6
        .as_deref()
        .map(|s| crate::drivers::create::parse_ip_of(Family::V6, "--ip6", s))
        .transpose()?;
    for alias in &a.aliases {
        names::validate_alias(alias)?;
    }
    let published = crate::ports::parse_all(&a.publish)?;
    ctx.require_root()?;
    let _lock = ctx.lock()?;
    crate::timing::mark("locked");
    // On a shared overlay another host may take the offered address first: that is a NAK,
    // and the exchange starts again from what the store holds now.
    let mut lost = 0;
    loop {
        match attach_locked(ctx, a, mac, ip, ip6, &published) {
            Err(Error::Conflict(msg)) if lost < MAX_NAKS => {
                lost += 1;
                ctx.say(format!("{msg}: DISCOVER again"));
                std::thread::sleep(backoff(lost));
            }
            other => return other,
        }
    }
}

/// How many NAKs an attach takes before it gives up.
const MAX_NAKS: u32 = 16;

/// A short random wait, longer after each NAK, so hosts that collided spread out.
fn backoff(lost: u32) -> std::time::Duration {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    std::time::Duration::from_micros(u64::from(jitter % (2000 * lost)))
}

fn attach_locked(
    ctx: &Ctx,
    a: &AttachArgs,
    mac: Option<[u8; 6]>,
    ip: Option<IpAddr>,
    ip6: Option<IpAddr>,
    published: &[crate::model::PortMapping],
) -> Result<()> {
    let mut target = target::resolve(&a.netns)?;
    target.exists = ctx.host.borrow_mut().netns_exists(&target.ns);
    // What the kernel is asked about the namespace (its free ethN) goes to it as it is now.
    let probe = target.clone();
    // `--name`: the namespace given by path gets a name first, and is that name from then on.
    let naming = match &a.name {
        Some(name) => {
            let (named, source) = target::naming(target, name)?;
            target = named;
            Some(Op::AttachNetns {
                name: name.clone(),
                path: source,
            })
        }
        None => None,
    };
    let (net, setup) = net::for_use(ctx, &a.network)?;
    // A shared overlay's new (or gone) hosts are programmed first.
    let (net, peer_ops) = super::peer::sync_shared(ctx, &net)?;
    if ctx.store.endpoint(&net.name, &target.key)?.is_some() {
        return Err(Error::usage(format!(
            "{} is already attached to network {}",
            target.given, net.name
        )));
    }
    let others = super::networks::other_endpoints(ctx, &net.name, &target.key)?;
    check_exclusive(&net, &target, &others)?;
    super::publish::check_network(&net, published)?;
    let stale_claims = super::publish::check(ctx, published)?;
    if !net.driver.leases_addresses()
        && (ip.is_some() || ip6.is_some() || mac.is_some() || a.ifname.is_some())
    {
        return Err(Error::usage(format!(
            "--ip, --ip6, --mac and --ifname do not apply to the {} network",
            net.driver
        )));
    }
    if let Some(ip6) = ip6
        && !net.dual_stack()
    {
        return Err(Error::usage(format!(
            "--ip6 {ip6}: network {} is IPv4-only (created without --ipv6)",
            net.name
        )));
    }

    crate::timing::mark("checked");
    let ifname = if net.driver.leases_addresses() {
        choose_ifname(ctx, &probe, a.ifname.as_deref())?
    } else {
        String::new()
    };
    // The default route of each family: this network's if it outranks the current carrier.
    let [default_route, default_route6] =
        [Family::V4, Family::V6].map(|f| takes_route(&net, &others, a, f));
    let displaced = displaced_carriers(ctx, &others, [default_route, default_route6])?;

    let now = output::now();
    // DISCOVER -> OFFER, and the REQUEST it will make once the kernel work is done: one
    // exchange for both families of a dual-stack network.
    let dora = match net.driver.leases_addresses() {
        true => Some(exchange(ctx, &net, &target, Family::V4, ip, now)?),
        false => None,
    };
    let dora6 = match net.driver.leases_addresses() && net.dual_stack() {
        true => Some(exchange(ctx, &net, &target, Family::V6, ip6, now)?),
        false => None,
    };
    crate::timing::mark("offered");
    let address = dora.as_ref().map(|d| d.address);
    let address6 = dora6.as_ref().map(|d| d.address);
    let mut endpoint = Endpoint {
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
        address6,
        aliases: a.aliases.clone(),
        ports: published.to_vec(),
        default_route,
        default_route6,
        gw_priority: a.gw_priority,
        no_default_route: a.no_default_route,
        publish_to: None,
        publish_to6: None,
        since: now,
    };

    let mut plan = Plan::default();
    plan.extend(naming);
    // The network made real first (its setup records it): a shared overlay's peer steps
    // program its VXLAN device.
    if let Some(setup) = setup {
        plan.extend(setup.ops);
    }
    plan.extend(peer_ops);
    // The offered addresses are held (claimed) while the kernel work runs.
    for d in dora.iter().chain(&dora6) {
        plan.push(Op::Record(Record::PutLease {
            lease: d.offer.clone(),
            previous: d.previous.clone(),
        }));
    }
    for claim in stale_claims {
        plan.push(Op::Record(Record::ReleasePorts(claim)));
    }
    for claim in super::publish::claims(&net, &target.given, &target.key, published) {
        plan.push(Op::Record(Record::ClaimPorts(claim)));
    }
    // The routes this attach takes over go first: a namespace has one default route of each
    // family.
    for (previous, routes) in &displaced {
        let mut now_ep = previous.clone();
        for (family, route) in routes {
            plan.push(route.deleting(previous));
            now_ep = gateway::with_carrier(&now_ep, *family, false);
        }
        plan.push(Op::Record(Record::PutEndpoint {
            endpoint: Box::new(now_ep),
            previous: Some(Box::new(previous.clone())),
        }));
    }
    plan.extend(
        drivers::plan_attach(&AttachRequest {
            network: &net,
            target: &target,
            ifname: ifname.clone(),
            address,
            address6,
            mac,
            default_route,
            default_route6,
        })?
        .ops,
    );
    // An overlay's way out, and where its published ports go: the gateway bridge.
    let leg = gwbridge::plan_leg(
        ctx,
        &gwbridge::LegRequest {
            overlay: &net,
            target: &target,
            overlay_ifname: &ifname,
            others: &others,
            no_default_route: a.no_default_route,
            now,
        },
    )?;
    // The leg and the ports it carries come once the overlay's endpoint is recorded: each
    // link is marked with the network recorded next (the overlay's, then the gateway bridge's).
    let after_endpoint = match leg {
        Some(leg) => {
            endpoint.publish_to = Some(leg.address);
            endpoint.publish_to6 = leg.address6;
            let to = Some(leg.address.into());
            let mut ops = leg.ops;
            ops.extend(ctx.on_backend(
                &net.name,
                drivers::bridge::plan_publish(to, leg.address6.map(Into::into), published)?,
            )?);
            ops
        }
        None => {
            plan.extend(ctx.on_backend(
                &net.name,
                drivers::bridge::plan_publish(address, address6, published)?,
            )?);
            Vec::new()
        }
    };
    if let Some(name) = created_namespace(&plan) {
        plan.push(Op::Record(Record::PutNamespace(NamespaceRecord {
            name,
            created: now,
            host: net.driver == Driver::Host,
        })));
    }
    // The REQUEST's ACKs and the endpoint last, together: on a shared overlay, one etcd Txn.
    for d in dora.iter().chain(&dora6) {
        plan.push(Op::Record(Record::PutLease {
            lease: d.ack.clone(),
            previous: Some(d.offer.clone()),
        }));
    }
    plan.push(Op::Record(Record::PutEndpoint {
        endpoint: Box::new(endpoint.clone()),
        previous: None,
    }));
    plan.extend(after_endpoint);
    plan.extend(ctx.plan_files(|hosts| hosts.joined(&endpoint))?);
    crate::timing::mark("planned");
    ctx.apply(&plan)?;
    if ctx.dry_run() {
        return Ok(());
    }
    crate::timing::mark("applied");
    if let Some(d) = &dora {
        ctx.say(ipam::dora_trace(&target.given, ip, d.ack.address));
    }
    if let Some(d) = &dora6 {
        ctx.say(ipam::dora_trace(&target.given, ip6, d.ack.address));
    }
    report(ctx, &endpoint);
    Ok(())
}

/// One family's DORA exchange, up to the REQUEST the attach makes once its kernel work is done.
pub(super) struct Dora {
    pub offer: Lease,
    pub ack: Lease,
    /// The address's lease before (a released one, or none: then the offer claims it).
    pub previous: Option<Lease>,
    /// The address with the subnet's prefix.
    pub address: IpNetwork,
}

pub(super) fn exchange(
    ctx: &Ctx,
    net: &Network,
    target: &Target,
    family: Family,
    requested: Option<IpAddr>,
    now: u64,
) -> Result<Dora> {
    let (subnet, range, gateway) = match family {
        Family::V4 => (net.subnet, net.ip_range, net.gateway),
        Family::V6 => (net.subnet6, net.ip_range6, net.gateway6),
    };
    let subnet =
        subnet.ok_or_else(|| Error::runtime(format!("network {} has no subnet", net.name)))?;
    let pool = Pool::new(subnet, range, gateway)?;
    let leases = StoreLeases {
        store: &*ctx.store,
        network: &net.name,
        family,
    };
    let offer = ipam::discover_in(
        &pool,
        &net.name,
        &leases,
        &target.given,
        requested,
        now,
        &kernel::boot_id(),
    )?;
    let ack = ipam::request_in(&offer, &leases, now)?;
    let previous = ctx.store.lease(&net.name, offer.address)?;
    let address = IpNetwork::new(offer.address, subnet.prefix())
        .map_err(|e| Error::runtime(e.to_string()))?;
    Ok(Dora {
        offer,
        ack,
        previous,
        address,
    })
}

/// Whether this attach gives the namespace its default route of `family`: the network has one
/// to give, the user did not refuse it, and it outranks the current carrier.
fn takes_route(net: &Network, others: &[(String, Endpoint)], a: &AttachArgs, f: Family) -> bool {
    let carrier = others
        .iter()
        .map(|(_, e)| e)
        .find(|e| gateway::carries(e, f));
    let route = gateway::default_route_in(net, f).filter(|_| !a.no_default_route);
    route.is_some() && gateway::takes_over(a.gw_priority, carrier)
}

/// The endpoints whose default routes this attach takes over, each with the routes (by
/// family) it loses.
type Displaced = Vec<(Endpoint, Vec<(Family, gateway::Route)>)>;

fn displaced_carriers(
    ctx: &Ctx,
    others: &[(String, Endpoint)],
    taking: [bool; 2],
) -> Result<Displaced> {
    let mut out: Displaced = Vec::new();
    for (family, taken) in [Family::V4, Family::V6].into_iter().zip(taking) {
        let Some((_, c)) = others.iter().find(|(_, e)| gateway::carries(e, family)) else {
            continue;
        };
        if !taken {
            continue;
        }
        let Some(route) = ctx
            .store
            .network(&c.network)?
            .and_then(|n| gateway::default_route_in(&n, family))
        else {
            continue;
        };
        match out.iter_mut().find(|(e, _)| e.network == c.network) {
            Some((_, routes)) => routes.push((family, route)),
            None => out.push((c.clone(), vec![(family, route)])),
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
    free_ifname(ctx, t, wanted, None)
}

/// `wanted`, or the first free ethN in the namespace that is not `taken` (a name the same
/// plan gives another interface).
pub(super) fn free_ifname(
    ctx: &Ctx,
    t: &Target,
    wanted: Option<&str>,
    taken: Option<&str>,
) -> Result<String> {
    let exists = |name: &str| -> Result<bool> {
        Ok(taken == Some(name) || (t.exists && ctx.link_exists(&t.ns, name)?))
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

fn created_namespace(plan: &Plan) -> Option<String> {
    plan.ops.iter().find_map(|op| match op {
        Op::CreateNetns { name } | Op::BindHostNetns { name } => Some(name.clone()),
        _ => None,
    })
}

fn report(ctx: &Ctx, ep: &Endpoint) {
    match ctx.global.format() {
        Format::Json => output::print_json(&output::EndpointJson::from(ep)),
        Format::Table => match (&ep.address, &ep.address6) {
            (Some(addr), Some(addr6)) => crate::outln!(
                "{} {} {} {} {}",
                ep.network,
                ep.netns,
                ep.ifname,
                addr,
                addr6
            ),
            (Some(addr), None) => {
                crate::outln!("{} {} {} {}", ep.network, ep.netns, ep.ifname, addr)
            }
            _ => crate::outln!("{} {}", ep.network, ep.netns),
        },
    }
}
