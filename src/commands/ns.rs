//! `cnet ns ls` and `cnet ns rm`.

use super::{Ctx, for_each_reporting, target};
use crate::cli::Format;
use crate::error::{Error, Result};
use crate::kernel::netns;
use crate::model::Endpoint;
use crate::output::print_list;
use crate::plan::{Op, Plan, Record};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
struct NsRow {
    name: String,
    networks: Vec<NsNet>,
    created_by_cnet: bool,
    alive: bool,
    /// The host the namespace is on (with the etcd store).
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<String>,
}

fn ns_net(e: Endpoint) -> NsNet {
    NsNet {
        ports: e.ports.iter().map(|p| p.to_string()).collect(),
        network: e.network,
        interface: e.ifname,
        address: e.address.map(|a| a.to_string()),
        address6: e.address6.map(|a| a.to_string()),
    }
}

/// The namespaces other hosts attached to shared overlays, each with its host (alive while
/// that host is).
fn remote_rows(ctx: &Ctx) -> Result<Vec<NsRow>> {
    let down = ctx.store.down_hosts()?;
    let mut by: BTreeMap<(String, String), Vec<Endpoint>> = BTreeMap::new();
    for net in ctx.store.networks()?.into_iter().filter(|n| n.shared) {
        for (host, ep) in ctx.store.remote_endpoints(&net.name)? {
            by.entry((ep.netns.clone(), host)).or_default().push(ep);
        }
    }
    Ok(by
        .into_iter()
        .map(|((name, host), eps)| NsRow {
            name,
            networks: eps.into_iter().map(ns_net).collect(),
            created_by_cnet: false,
            alive: !down.contains(&host),
            host: Some(host),
        })
        .collect())
}

#[derive(Serialize)]
struct NsNet {
    network: String,
    interface: String,
    address: Option<String>,
    /// The IPv6 address on a dual-stack network.
    #[serde(skip_serializing_if = "Option::is_none")]
    address6: Option<String>,
    /// Published ports, as `docker ps` shows them (`0.0.0.0:8080->80/tcp`).
    ports: Vec<String>,
}

/// One endpoint, as the wide table shows it (`ns ls -o wide`, `net inspect --format table`).
#[derive(Serialize)]
struct WideRow {
    namespace: String,
    network: String,
    interface: String,
    address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address6: Option<String>,
    mac: Option<String>,
    host_veth: Option<String>,
    bridge: Option<String>,
    /// Whether the namespace's default route goes through this endpoint.
    default_route: bool,
    ports: Vec<String>,
    alive: bool,
}

/// The wide endpoint table: every endpoint, or those of the networks named.
pub fn print_wide(ctx: &Ctx, format: Format, networks: Option<&[&str]>) -> Result<()> {
    let mut rows = Vec::new();
    for net in ctx.store.networks()? {
        if networks.is_some_and(|only| !only.contains(&net.name.as_str())) {
            continue;
        }
        for ep in ctx.store.endpoints(&net.name)? {
            rows.push(WideRow {
                alive: target::alive(&ep.netns_path),
                namespace: ep.netns,
                network: ep.network,
                interface: ep.ifname,
                address: ep.address.map(|a| a.to_string()),
                address6: ep.address6.map(|a| a.to_string()),
                mac: ep.mac,
                host_veth: ep.host_ifname,
                bridge: net.bridge.clone(),
                default_route: ep.default_route,
                ports: ep.ports.iter().map(|p| p.to_string()).collect(),
            });
        }
    }
    rows.sort_by(|a, b| (&a.namespace, &a.network).cmp(&(&b.namespace, &b.network)));
    let cell = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    let both = |a: &Option<String>, a6: &Option<String>| match a6 {
        Some(a6) => format!("{} {a6}", cell(a)),
        None => cell(a),
    };
    print_list(
        format,
        &[
            "NAMESPACE",
            "NETWORK",
            "INTERFACE",
            "ADDRESS",
            "MAC",
            "HOST-VETH",
            "BRIDGE",
            "DEFAULT-ROUTE",
            "PORTS",
        ],
        &rows,
        |r| {
            vec![
                r.namespace.clone(),
                r.network.clone(),
                if r.interface.is_empty() {
                    "-".into()
                } else {
                    r.interface.clone()
                },
                both(&r.address, &r.address6),
                cell(&r.mac),
                cell(&r.host_veth),
                cell(&r.bridge),
                if r.default_route { "yes" } else { "no" }.into(),
                if r.ports.is_empty() {
                    "-".into()
                } else {
                    r.ports.join(",")
                },
            ]
        },
    );
    super::listed_everything(ctx)
}

pub fn ls(ctx: &Ctx, quiet: bool, wide: bool) -> Result<()> {
    if wide {
        return print_wide(ctx, ctx.global.format(), None);
    }
    let mut by_ns: BTreeMap<String, Vec<Endpoint>> = BTreeMap::new();
    for name in netns::list()? {
        by_ns.entry(name).or_default();
    }
    for net in ctx.store.networks()? {
        for ep in ctx.store.endpoints(&net.name)? {
            by_ns.entry(ep.netns.clone()).or_default().push(ep);
        }
    }
    let created: Vec<String> = ctx
        .store
        .namespaces()?
        .into_iter()
        .map(|r| r.name)
        .collect();
    let me = match ctx.store.shared() {
        true => Some(ctx.store.host_id()?),
        false => None,
    };
    let mut rows: Vec<NsRow> = by_ns
        .into_iter()
        .map(|(name, eps)| NsRow {
            alive: eps
                .first()
                .map(|e| target::alive(&e.netns_path))
                .unwrap_or(true),
            created_by_cnet: created.contains(&name),
            networks: eps.into_iter().map(ns_net).collect(),
            name,
            host: me.clone(),
        })
        .collect();
    // -q lists what this host can act on: its own namespaces only.
    if quiet {
        for r in &rows {
            crate::outln!("{}", r.name);
        }
        return Ok(());
    }
    let mut headers = vec!["NAMESPACE", "STATE", "NETWORKS", "CREATED BY", "PORTS"];
    if me.is_some() {
        rows.extend(remote_rows(ctx)?);
        headers.push("HOST");
    }
    print_list(ctx.global.format(), &headers, &rows, |r| {
        let mut cells = {
            let nets: Vec<String> = r
                .networks
                .iter()
                .map(|n| match (&n.address, &n.address6) {
                    (Some(a), Some(a6)) => format!("{}:{}={a} {a6}", n.network, n.interface),
                    (Some(a), None) => format!("{}:{}={a}", n.network, n.interface),
                    _ => n.network.clone(),
                })
                .collect();
            vec![
                r.name.clone(),
                if r.alive { "alive" } else { "gone" }.into(),
                if nets.is_empty() {
                    "-".into()
                } else {
                    nets.join(",")
                },
                if r.created_by_cnet { "cnet" } else { "-" }.into(),
                {
                    let ports: Vec<&str> = r
                        .networks
                        .iter()
                        .flat_map(|n| n.ports.iter().map(String::as_str))
                        .collect();
                    if ports.is_empty() {
                        "-".into()
                    } else {
                        ports.join(",")
                    }
                },
            ]
        };
        cells.extend(r.host.clone());
        cells
    });
    super::listed_everything(ctx)
}

/// Detach a namespace from every network, then delete it if cnet created it.
pub fn rm(ctx: &Ctx, names_: &[String]) -> Result<()> {
    // Each detach planned on what the ones before did (an overlay's takes the leg or not).
    super::rehearsal::rehearsed(ctx, |ctx| rm_steps(ctx, names_))
}

fn rm_steps(ctx: &Ctx, names_: &[String]) -> Result<()> {
    ctx.require_root()?;
    let _lock = ctx.lock()?;
    let done = std::cell::RefCell::new(Vec::new());
    let result = for_each_reporting(&crate::names::unique(names_), |given| {
        let removed = remove(ctx, given)?;
        if !ctx.dry_run() {
            done.borrow_mut().push(removed);
        }
        Ok(())
    });
    if ctx.global.format() == Format::Json && !ctx.dry_run() {
        super::print_json(&done.into_inner());
    }
    result
}

/// What `ns rm` did to one namespace, for --format json.
#[derive(Serialize)]
pub struct NsRemoved {
    pub name: String,
    /// The networks it was detached from.
    pub detached_from: Vec<String>,
    /// Whether the namespace itself was deleted (only one cnet created is).
    pub deleted: bool,
}

/// Detach a namespace from every network, then delete it if cnet created it. Call with the
/// lock held.
pub fn remove(ctx: &Ctx, given: &str) -> Result<NsRemoved> {
    let mut out = NsRemoved {
        name: given.to_string(),
        detached_from: Vec::new(),
        deleted: false,
    };
    let mut found = false;
    // The gateway bridge last: an overlay's detach takes the leg with it, and a leg left
    // alone goes then.
    let (legs, mut nets): (Vec<_>, Vec<_>) = ctx
        .store
        .networks()?
        .into_iter()
        .partition(|n| n.name == super::gwbridge::NAME);
    nets.extend(legs);
    for net in nets {
        if let Some(ep) = super::detach::find_endpoint(ctx, &net.name, given)? {
            super::detach::detach_endpoint(ctx, &net, &ep)?;
            out.detached_from.push(net.name.clone());
            found = true;
        }
    }
    let t = target::resolve(given).ok();
    let name = t.as_ref().and_then(|t| t.name.clone());
    let Some(name) = name else {
        return if found {
            Ok(out)
        } else {
            Err(Error::usage(format!(
                "namespace {given} is not known to cnet"
            )))
        };
    };
    match ctx.store.namespace(&name)? {
        Some(rec) if !rec.host => {
            let mut plan = Plan::default();
            plan.push(Op::DeleteNetns { name: name.clone() });
            plan.push(Op::Record(Record::DropNamespace(rec)));
            plan.extend(ctx.plan_files(|hosts| hosts.namespace_removed(&name))?);
            ctx.teardown(&plan)?;
            out.deleted = true;
        }
        Some(_) => {} // a host binding: detaching removed it
        None if found => {
            eprintln!(
                "cnet: namespace {name} was not created by cnet: detached it, left it in place"
            );
        }
        None if netns::exists(&name) => {
            return Err(Error::usage(format!(
                "namespace {name} was not created by cnet and is on no cnet network: left in place"
            )));
        }
        None => return Err(Error::usage(format!("namespace {name} does not exist"))),
    }
    Ok(out)
}
