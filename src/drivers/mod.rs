//! Drivers: one module per driver, each implementing [`NetworkDriver`]: its options (parsed
//! and checked from `net create`'s arguments), the network it defines, and its plans for
//! create, remove, attach and detach. Pure: what a driver reads of the host and the state
//! comes through [`Facts`], and what it changes goes into a plan.
//!
//! Adding a driver: a module implementing [`NetworkDriver`], and its line in [`of`].

pub mod bridge;
pub mod create;
pub mod dual_stack;
pub mod gateway;
pub mod host;
pub mod ipvlan;
pub mod macvlan;
pub mod none;
pub mod options;
pub mod sublink;
pub mod vxlan;

use crate::cli::CreateArgs;
use crate::error::{Error, Result};
use crate::firewall::inet::NetElement;
use crate::firewall::rule::Rule;
use crate::firewall::{Backend, FirewallFacts};
use crate::model::{Driver, Endpoint, Network, SublinkKind};
use crate::plan::{NsRef, Op, Plan, Record};
use crate::store::Guard;
use ipnetwork::IpNetwork;
use std::net::IpAddr;
use std::path::PathBuf;

pub use sublink::ParentInfo;
pub use vxlan::Vtep;

/// One network driver.
pub trait NetworkDriver: Sync {
    /// A new network from `net create`'s arguments: options parsed (Docker's spellings too)
    /// and checked against what exists. Refusals are usage errors and change nothing.
    fn define(&self, facts: &dyn Facts, args: &CreateArgs) -> Result<Definition>;
    /// Kernel objects and rules a new network needs, given what of cnet's firewall is there.
    fn plan_create(&self, net: &Network, fw: &FirewallFacts) -> Result<Plan>;
    /// Undo of `plan_create`: rules before links, on the firewall backend of `fw`.
    fn plan_remove(&self, net: &Network, fw: &FirewallFacts) -> Plan;
    /// Connect a namespace that exists (or is created earlier in `plan`).
    fn plan_attach(&self, req: &AttachRequest, plan: &mut Plan) -> Result<()>;
    /// Disconnect a namespace: only what `plan_attach` added to it.
    fn plan_detach(&self, ep: &Endpoint) -> Plan;
    /// What `net inspect` says that the definition does not (e.g. that the host cannot reach
    /// macvlan children).
    fn inspect_notes(&self, net: &Network) -> Vec<String> {
        let _ = net;
        Vec::new()
    }
    /// The VXLAN section of `net inspect`, for the drivers that have one.
    fn inspect_vxlan(&self, net: &Network) -> Option<vxlan::InspectVxlan> {
        let _ = net;
        None
    }
}

/// The driver of a network: the one place drivers are registered.
pub fn of(driver: Driver) -> &'static dyn NetworkDriver {
    match driver {
        Driver::Bridge => &bridge::DRIVER,
        Driver::Vxlan => &vxlan::DRIVER,
        Driver::Macvlan => &macvlan::DRIVER,
        Driver::Ipvlan => &ipvlan::DRIVER,
        Driver::Host => &host::DRIVER,
        Driver::None => &none::DRIVER,
    }
}

/// A network a driver defined, with what it holds from the start.
pub struct Definition {
    pub net: Network,
    /// State records created with the network (e.g. the lease of a macvlan host shim).
    pub records: Vec<Record>,
    /// The state lock the checks were made under: keep it until the network is recorded.
    pub lock: Option<Guard>,
}

/// What drivers read of the state and the host to define a network (`commands::Ctx` is the
/// real one).
pub trait Facts {
    fn dry_run(&self) -> bool;
    /// A -v line on stderr.
    fn say(&self, msg: &str);
    /// Changing the host needs root (a dry run does not).
    fn require_root(&self) -> Result<()>;
    /// The state lock, unless this is a dry run.
    fn lock(&self) -> Result<Option<Guard>>;
    /// The stored networks.
    fn networks(&self) -> Result<Vec<Network>>;
    /// Whether a network of this name exists, the predefined ones included.
    fn network_exists(&self, name: &str) -> Result<bool>;
    /// The network whose bridge this is, predefined networks not used yet included.
    fn bridge_user(&self, bridge: &str) -> Result<Option<String>>;
    /// The destinations the host routes.
    fn host_routes(&self) -> Result<Vec<IpNetwork>>;
    fn link_exists(&self, ns: &NsRef, name: &str) -> Result<bool>;
    /// A host interface, as a parent of macvlan/ipvlan children; `None` if there is none.
    fn parent_info(&self, name: &str) -> Result<Option<ParentInfo>>;
    /// This host's end of a tunnel, from `--local` and/or `--underlay`.
    fn find_vtep(&self, local: Option<IpAddr>, underlay: Option<String>) -> Result<Vtep>;
    /// Whether the kernel can make children of this kind (ipvlan is a module of its own).
    fn probe_sublink(&self, kind: SublinkKind) -> Result<()>;
    /// The first free default subnet.
    fn free_subnet(&self) -> Result<IpNetwork>;
    /// The kernel's boot id (leases record it).
    fn boot_id(&self) -> String;
    /// The host's IPv6 ULA /48, if one was chosen already.
    fn ula(&self) -> Result<Option<IpNetwork>>;
    /// The store (a shared one holds overlays other hosts define and join too).
    fn store(&self) -> &dyn crate::store::Store;
    /// The interface of the host's default route, if it has one.
    fn default_route_link(&self) -> Result<Option<String>>;
}

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
    pub address: Option<IpNetwork>,
    /// The IPv6 address, on a dual-stack network.
    pub address6: Option<IpNetwork>,
    pub mac: Option<[u8; 6]>,
    /// Whether this endpoint provides the namespace's default route.
    pub default_route: bool,
    /// Whether it provides the namespace's IPv6 default route.
    pub default_route6: bool,
}

/// Kernel objects and rules a new network needs, given what of cnet's firewall is there.
pub fn plan_create(net: &Network, fw: &FirewallFacts) -> Result<Plan> {
    of(net.driver).plan_create(net, fw)
}

/// A network's firewall on the backend the facts name: its elements in `table inet cnet`
/// (the table made in the same transaction when missing), or, with iptables, the missing base
/// chains and then its rules.
pub fn plan_network_firewall(
    fw: &FirewallFacts,
    elements: impl FnOnce() -> Result<Vec<NetElement>>,
    rules: impl FnOnce() -> Result<Vec<Rule>>,
) -> Result<Vec<Op>> {
    Ok(match fw.backend {
        Backend::Nftables => vec![Op::AddNetwork {
            create_table: !fw.table,
            elements: elements()?,
        }],
        Backend::Iptables => {
            let mut ops = plan_base(fw);
            ops.push(Op::AppendRules(rules()?));
            ops
        }
    })
}

/// With the iptables backend, the missing base chains and jumps of each family (iptables, then
/// ip6tables): nothing when all are there, or with the nftables backend.
pub fn plan_base(fw: &FirewallFacts) -> Vec<Op> {
    if fw.backend != Backend::Iptables {
        return Vec::new();
    }
    fw.missing_base()
        .into_iter()
        .map(|(family, input)| Op::CreateBase { family, input })
        .collect()
}

/// The undo of [`plan_network_firewall`]'s elements or rules (the rules in reverse: openings
/// before the drops that isolate). The table or base chains stay: `net rm` decides.
pub fn plan_network_firewall_removal(
    fw: &FirewallFacts,
    elements: impl FnOnce() -> Result<Vec<NetElement>>,
    rules: impl FnOnce() -> Result<Vec<Rule>>,
) -> Result<Op> {
    Ok(match fw.backend {
        Backend::Nftables => Op::RemoveNetwork {
            drop_table: false,
            elements: elements()?,
        },
        Backend::Iptables => Op::DeleteRules(rules()?.into_iter().rev().collect()),
    })
}

/// What goes of cnet's firewall once no network uses it, added to the removal plan of the last
/// one: `table inet cnet`, with that network's elements in the same transaction (its
/// `RemoveNetwork` takes the table), unless the admin's chain holds rules; with iptables, the
/// base chains (kept while any, CNET-USER included, holds a rule).
pub fn plan_firewall_unused(fw: &FirewallFacts, plan: &mut Plan) {
    if fw.backend == Backend::Iptables {
        plan.push(Op::RemoveBase);
    }
    if fw.admin_rules {
        return;
    }
    let mut dropped = false;
    for op in plan.ops.iter_mut() {
        if let Op::RemoveNetwork { drop_table, .. } = op {
            *drop_table = true;
            dropped = true;
        }
    }
    if !dropped && fw.table {
        plan.push(Op::DropTable);
    }
}

/// Undo of `plan_create`: rules before links.
pub fn plan_remove(net: &Network, fw: &FirewallFacts) -> Plan {
    of(net.driver).plan_remove(net, fw)
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
    of(req.network.driver).plan_attach(req, &mut plan)?;
    Ok(plan)
}

/// Disconnect a namespace: only what `plan_attach` added to it (never the namespace itself,
/// except the `host` binding, which is all a host attachment is).
pub fn plan_detach(net: &Network, ep: &Endpoint) -> Plan {
    of(net.driver).plan_detach(ep)
}

/// What every endpoint with an interface gets once its link is in the namespace: loopback up,
/// its address (on a dual-stack network its IPv6 one too, router advertisements ignored), the
/// link up, and the default route of each family it carries: via the network's gateway, or
/// through the device itself when there is none (ipvlan l3).
pub fn configure_interface(req: &AttachRequest, address: IpNetwork, plan: &mut Plan) {
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
    if let Some(address6) = req.address6 {
        dual_stack::configure_interface(ns, &req.ifname, address6, plan);
    }
    plan.push(Op::LinkUp {
        ns: ns.clone(),
        dev: req.ifname.clone(),
    });
    use crate::model::family::Family;
    for (family, carries) in [
        (Family::V4, req.default_route),
        (Family::V6, req.default_route6),
    ] {
        if carries && let Some(route) = gateway::default_route_in(req.network, family) {
            plan.push(route.adding_in(ns.clone(), &req.ifname));
        }
    }
}

/// The host-side interface an endpoint adds (the veth's host end), if its driver has one.
pub fn host_ifname(net: &Network, key: &str) -> Option<String> {
    net.driver
        .uses_bridge()
        .then(|| crate::names::host_veth_name(&net.name, key))
}
