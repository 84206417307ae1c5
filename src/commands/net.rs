//! `cnet net create|rm|ls|inspect`, and the predefined networks.

use super::{Ctx, for_each_reporting};
use crate::cli::{CreateArgs, Format};
use crate::drivers::{self, Definition};
use crate::error::{Error, Result};
use crate::firewall::FirewallFacts;
use crate::ipam;
use crate::model::{Driver, Network};
use crate::names;
use crate::output::{self, print_list};
use crate::plan::{Op, Plan, Record};
use ipnetwork::IpNetwork;
use serde::Serialize;
use std::net::IpAddr;

mod inspect;
pub use inspect::{Inspect, inspect, inspect_one};

// Which network a user means lives in `networks` (detach needs it, and net rm --force
// detaches): re-exported here, where the rest of `net` finds it.
pub(crate) use super::networks::is_predefined;
use super::networks::predefined;
pub use super::networks::{PREDEFINED, all, name_of, resolve};

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

/// A network to attach to. A predefined network not used yet, or an overlay defined in etcd
/// that this host has not joined, is returned with the plan that makes it real (the default
/// `bridge` gets its bridge, subnet and rules then; the overlay its bridge and VTEP): the caller
/// applies it together with its own plan, so a refused or failed attach leaves nothing, and
/// records the network after success. Call with the lock held.
pub fn for_use(ctx: &Ctx, given: &str) -> Result<(Network, Option<Plan>)> {
    names::validate_network_name(given)?;
    // Given by its name (the usual case), the network is read once; else by its ID.
    if let Some(n) = ctx.store.network(given)? {
        return Ok((n, None));
    }
    let name = &match name_of(ctx, given) {
        Ok(n) => n,
        // Not known here by name or ID: an overlay in etcd is known by its name.
        Err(_) if ctx.store.shared() => given.to_string(),
        Err(e) => return Err(e),
    };
    if let Some(n) = ctx.store.network(name)? {
        return Ok((n, None));
    }
    let Some((_, driver)) = PREDEFINED.iter().find(|(n, _)| *n == name) else {
        return joined_on_attach(ctx, name);
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

/// An overlay this host does not know yet but etcd does: joined as `net create NAME -d
/// overlay` would join it, with the plan that does so.
fn joined_on_attach(ctx: &Ctx, name: &str) -> Result<(Network, Option<Plan>)> {
    let Some((net, records)) = drivers::vxlan::shared::join_on_attach(ctx, name)? else {
        return Err(Error::usage(format!("network {name} does not exist")));
    };
    let mut setup = drivers::plan_create(&net, &ctx.firewall_facts()?)?;
    setup.push(Op::Record(Record::PutNetwork {
        net: Box::new(net.clone()),
        previous: None,
    }));
    setup.extend(records.into_iter().map(Op::Record));
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

/// The first free default subnet for a network the user creates: as [`free_subnet`], but
/// never the one the default `bridge` network will take on first use (172.17.0.0/16 when it is
/// free), as Docker keeps 172.17 for its default bridge: what `net ls` shows for `bridge`
/// before its first use stays true.
pub(crate) fn free_user_subnet(ctx: &Ctx) -> Result<IpNetwork> {
    let mut in_use = ctx.host_routes()?;
    let nets = ctx.store.networks()?;
    in_use.extend(nets.iter().filter_map(|n| n.subnet));
    let default_made = nets
        .iter()
        .any(|n| n.predefined && n.driver == Driver::Bridge);
    if !default_made && let Some(default) = ipam::choose_subnet(&in_use) {
        in_use.push(default);
    }
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
    if ctx.dry_run() {
        return Ok(());
    }
    match ctx.global.format() {
        Format::Json => super::print_json(&inspect_one(ctx, net)?),
        Format::Table => crate::outln!("{}", net.name),
    }
    Ok(())
}

pub fn create(ctx: &Ctx, a: &CreateArgs) -> Result<()> {
    names::validate_network_name(&a.name)?;
    super::gwbridge::refuse_by_hand(&a.name, "create")?;
    let driver: Driver = a.driver.parse().map_err(Error::Usage)?;
    // A shared overlay defined (or its VNI or subnet taken) by another host meanwhile: define
    // again against what etcd holds now, which joins it or chooses anew.
    let mut lost = 0;
    loop {
        let Definition {
            net,
            records,
            lock: _lock,
        } = drivers::of(driver).define(ctx, a)?;
        match apply_and_record(ctx, &net, records) {
            Err(Error::Conflict(msg)) if lost < 3 => {
                lost += 1;
                ctx.say(format!("{msg}: defining again"));
            }
            other => return other,
        }
    }
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
    // Each network's detaches and removal planned on what the ones before did.
    super::rehearsal::rehearsed(ctx, |ctx| rm_steps(ctx, names_, force))
}

fn rm_steps(ctx: &Ctx, names_: &[String], force: bool) -> Result<()> {
    ctx.require_root()?;
    let _lock = ctx.lock()?;
    let removed = std::cell::RefCell::new(Vec::new());
    // Removed by this command already: a dry run still finds them in the store.
    let gone = std::cell::RefCell::new(Vec::new());
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
        let r = remove(ctx, &net, force, &gone.borrow())?;
        gone.borrow_mut().push(name.clone());
        if let Some(r) = r {
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
/// `gone`: networks this command removed before (a dry run still finds them in the store).
pub fn remove(ctx: &Ctx, net: &Network, force: bool, gone: &[String]) -> Result<Option<Removed>> {
    let name = &net.name;
    let eps = ctx.store.endpoints(name)?;
    // An endpoint file that cannot be read is still an attached namespace.
    let unreadable = ctx.store.endpoint_count(name)?.saturating_sub(eps.len());
    // Its legs go with their overlays' endpoints, never alone.
    if name == super::gwbridge::NAME && !eps.is_empty() && !force {
        return Err(Error::usage(format!(
            "network {name} carries the overlays' namespaces out ({}): detach them from their \
             overlays first",
            eps.iter()
                .map(|e| e.netns.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
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
    let facts = ctx.firewall_facts()?;
    let mut plan = drivers::plan_remove(net, &facts);
    plan_unused_firewall(ctx, net, gone, &facts, &mut plan)?;
    plan.push(Op::Record(Record::DropNetwork {
        net: Box::new(net.clone()),
    }));
    plan.extend(ctx.plan_files(|hosts| hosts.network_removed(name))?);
    ctx.teardown(&plan)?;
    Ok((!ctx.dry_run()).then(|| Removed {
        name: name.clone(),
        id: net.id.clone(),
        detached: eps.into_iter().map(|e| e.netns).collect(),
    }))
}

/// What of cnet's firewall goes with the last network that uses it
/// ([`drivers::plan_firewall_unused`]), when no other bridge or overlay network is left.
fn plan_unused_firewall(
    ctx: &Ctx,
    removed: &Network,
    gone: &[String],
    facts: &FirewallFacts,
    plan: &mut Plan,
) -> Result<()> {
    if !removed.driver.uses_bridge() {
        return Ok(());
    }
    let all = ctx.store.networks()?;
    let listed = all.len();
    // A definition that cannot be read may be of any driver: what it may use stays.
    if ctx.store.network_names()?.len() > listed {
        return Ok(());
    }
    let others = all
        .iter()
        .any(|n| n.name != removed.name && !gone.contains(&n.name) && n.driver.uses_bridge());
    if !others {
        drivers::plan_firewall_unused(facts, plan);
    }
    Ok(())
}

#[derive(Serialize)]
struct NetRow {
    id: String,
    name: String,
    driver: Driver,
    subnet: Option<IpNetwork>,
    gateway: Option<IpAddr>,
    /// IPv6, on a dual-stack network.
    #[serde(skip_serializing_if = "Option::is_none")]
    subnet6: Option<IpNetwork>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gateway6: Option<IpAddr>,
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
            subnet6: n.subnet6,
            gateway6: n.gateway6,
            internal: n.internal,
            predefined: n.predefined,
        });
    }
    let dash = |o: Option<String>| o.unwrap_or_else(|| "-".into());
    // A dual-stack network shows both families in one cell: `10.6.0.0/24 fd00:6::/64`.
    let both = |v4: Option<String>, v6: Option<String>| match v6 {
        Some(v6) => format!("{} {v6}", dash(v4)),
        None => dash(v4),
    };
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
                both(
                    r.subnet.map(|s| s.to_string()),
                    r.subnet6.map(|s| s.to_string()),
                ),
                both(
                    r.gateway.map(|g| g.to_string()),
                    r.gateway6.map(|g| g.to_string()),
                ),
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
