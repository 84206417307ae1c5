//! Drivers: pure functions from (network, endpoint request) to a plan. One file per driver.

pub mod bridge;
pub mod host;
pub mod ipvlan;
pub mod macvlan;
pub mod none;
pub mod sublink;
pub mod vxlan;

use crate::error::{Error, Result};
use crate::firewall::{FirewallFacts, NftTableKind};
use crate::model::{Driver, Endpoint, Network};
use crate::plan::{NsRef, Op, Plan};
use ipnetwork::Ipv4Network;
use std::path::PathBuf;

/// The namespace an attach/detach is about, resolved from what the user typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// As the user gave it: a name or a path.
    pub given: String,
    /// Stable key for state files: the name, or `@ino-N` for namespaces given by path.
    pub key: String,
    /// The name under /run/netns, when it has one.
    pub name: Option<String>,
    pub ns: NsRef,
    pub path: PathBuf,
    /// Whether the namespace exists now (a named one is created on first attach).
    pub exists: bool,
}

/// What an attach needs beyond the network: decided by the command from state and input.
#[derive(Debug, Clone)]
pub struct AttachRequest<'a> {
    pub network: &'a Network,
    pub target: &'a Target,
    pub ifname: String,
    pub address: Option<Ipv4Network>,
    pub mac: Option<[u8; 6]>,
    /// Whether this endpoint provides the namespace's default route.
    pub default_route: bool,
}

/// Kernel objects and rules a new network needs, given what of cnet's firewall is there.
pub fn plan_create(net: &Network, fw: &FirewallFacts) -> Result<Plan> {
    match net.driver {
        Driver::Bridge => bridge::plan_create(net, fw),
        Driver::Vxlan => vxlan::plan_create(net, fw),
        Driver::Host | Driver::None => Ok(Plan::default()),
        Driver::Macvlan | Driver::Ipvlan => sublink::plan_create(net),
    }
}

/// What a network of a driver that uses cnet's firewall needs of it first: the base chains
/// and the driver's nftables table, each only when missing.
pub fn plan_firewall_base(fw: &FirewallFacts, table: NftTableKind, plan: &mut Plan) {
    if !fw.base_input.is_empty() {
        plan.push(Op::CreateBase {
            input: fw.base_input.clone(),
        });
    }
    if !fw.has_table(table) {
        plan.push(Op::CreateTable(table));
    }
}

/// Undo of `plan_create`: rules before links.
pub fn plan_remove(net: &Network) -> Plan {
    match net.driver {
        Driver::Bridge => bridge::plan_remove(net),
        Driver::Vxlan => vxlan::plan_remove(net),
        Driver::Macvlan | Driver::Ipvlan => sublink::plan_remove(net),
        _ => Plan::default(),
    }
}

/// Connect a namespace; creates a named namespace first when it does not exist yet.
pub fn plan_attach(req: &AttachRequest) -> Result<Plan> {
    let mut plan = Plan::default();
    let t = req.target;
    if !t.exists && req.network.driver != Driver::Host {
        let name = t
            .name
            .clone()
            .ok_or_else(|| Error::usage(format!("namespace {} does not exist", t.given)))?;
        plan.push(Op::CreateNetns { name });
    }
    match req.network.driver {
        Driver::Bridge => bridge::plan_attach(req, &mut plan)?,
        Driver::Vxlan => bridge::plan_attach(req, &mut plan)?,
        Driver::Host => host::plan_attach(req, &mut plan)?,
        Driver::None => none::plan_attach(req, &mut plan),
        Driver::Macvlan | Driver::Ipvlan => sublink::plan_attach(req, &mut plan)?,
    }
    Ok(plan)
}

/// Disconnect a namespace: only what `plan_attach` added to it (never the namespace itself,
/// except the `host` binding, which is all a host attachment is).
pub fn plan_detach(net: &Network, ep: &Endpoint) -> Plan {
    match net.driver {
        Driver::Bridge => bridge::plan_detach(ep),
        Driver::Vxlan => bridge::plan_detach(ep),
        Driver::Host => host::plan_detach(ep),
        Driver::Macvlan | Driver::Ipvlan => sublink::plan_detach(ep),
        _ => Plan::default(),
    }
}

/// What every endpoint with an interface gets once its link is in the namespace: loopback up,
/// its address, the link up, and (when it gives the namespace its default route) a route via
/// `via`, or through the device itself when there is no gateway (ipvlan l3).
pub fn configure_interface(
    req: &AttachRequest,
    address: Ipv4Network,
    default_via: Option<std::net::Ipv4Addr>,
    device_route: bool,
    plan: &mut Plan,
) {
    let ns = &req.target.ns;
    plan.push(Op::LinkUp {
        ns: ns.clone(),
        dev: "lo".into(),
    });
    plan.push(Op::AddAddress {
        ns: ns.clone(),
        dev: req.ifname.clone(),
        addr: address,
    });
    plan.push(Op::LinkUp {
        ns: ns.clone(),
        dev: req.ifname.clone(),
    });
    if !req.default_route {
        return;
    }
    match default_via {
        Some(gw) => plan.push(Op::AddRoute {
            ns: ns.clone(),
            dest: None,
            via: Some(gw),
            dev: None,
        }),
        None if device_route => plan.push(Op::AddRoute {
            ns: ns.clone(),
            dest: None,
            via: None,
            dev: Some(req.ifname.clone()),
        }),
        None => {}
    }
}

/// The host-side interface an endpoint adds (the veth's host end), if its driver has one.
pub fn host_ifname(net: &Network, key: &str) -> Option<String> {
    net.driver
        .uses_bridge()
        .then(|| crate::names::host_veth_name(&net.name, key))
}
