//! Lab files: a TOML topology of networks and namespaces, checked, and compared with what
//! cnet has recorded to decide what `lab up` creates and what `lab down` removes. Pure: the
//! caller answers the questions about the store (`Existing`).

use crate::error::{Error, Result};
use crate::model::{Driver, Endpoint, Network};
use crate::names;
use ipnetwork::IpNetwork;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// A lab file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    #[serde(default)]
    pub networks: BTreeMap<String, NetworkSpec>,
    #[serde(default)]
    pub namespaces: BTreeMap<String, NamespaceSpec>,
}

/// `[networks.NAME]`: the options of `cnet net create`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    #[serde(default = "default_driver")]
    pub driver: String,
    pub subnet: Option<IpNetwork>,
    pub gateway: Option<IpAddr>,
    pub ip_range: Option<IpNetwork>,
    /// Dual stack (`--ipv6`), with `subnet6`/`gateway6` when given.
    pub ipv6: Option<bool>,
    pub subnet6: Option<IpNetwork>,
    pub gateway6: Option<IpAddr>,
    pub internal: Option<bool>,
    pub mtu: Option<u32>,
    pub parent: Option<String>,
    pub mode: Option<String>,
    pub vni: Option<u32>,
    pub local: Option<std::net::Ipv4Addr>,
    pub underlay: Option<String>,
    #[serde(default)]
    pub peers: Vec<std::net::Ipv4Addr>,
    pub dstport: Option<u16>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

fn default_driver() -> String {
    "bridge".into()
}

/// `[namespaces.NAME]`: its attachments, in order, and commands to run once the lab is up.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NamespaceSpec {
    #[serde(default)]
    pub attach: Vec<AttachSpec>,
    #[serde(default)]
    pub exec: Vec<Vec<String>>,
}

/// One `attach = [{ network = "lan", ... }]` entry: the options of `cnet attach`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AttachSpec {
    pub network: String,
    pub ip: Option<IpAddr>,
    pub ip6: Option<IpAddr>,
    pub ifname: Option<String>,
    pub mac: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub ports: Vec<String>,
    #[serde(default)]
    pub gw_priority: i32,
    #[serde(default)]
    pub no_default_route: bool,
}

impl Topology {
    /// Parse and check a lab file's text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Topology> {
        let topo: Topology = toml::from_str(text).map_err(|e| parse_error(file, text, &e))?;
        topo.validate()?;
        Ok(topo)
    }

    /// Everything that can be checked without the host: names, drivers, ports, aliases.
    pub fn validate(&self) -> Result<()> {
        for (name, net) in &self.networks {
            names::validate_network_name(name)?;
            net.driver
                .parse::<Driver>()
                .map_err(|e| Error::usage(format!("network {name}: {e}")))?;
        }
        for (ns, spec) in &self.namespaces {
            names::validate_netns_name(ns)?;
            let mut seen = BTreeSet::new();
            for a in &spec.attach {
                names::validate_network_name(&a.network)?;
                if !seen.insert(a.network.as_str()) {
                    return Err(Error::usage(format!(
                        "namespace {ns}: attached to network {} twice",
                        a.network
                    )));
                }
                for alias in &a.aliases {
                    names::validate_alias(alias)?;
                }
                crate::ports::parse_all(&a.ports)
                    .map_err(|e| Error::usage(format!("namespace {ns}: {e}")))?;
            }
            if spec.exec.iter().any(|argv| argv.is_empty()) {
                return Err(Error::usage(format!(
                    "namespace {ns}: an exec entry is an empty command"
                )));
            }
        }
        Ok(())
    }
}

/// `FILE: line N: message`, when the parser says where.
fn parse_error(file: &str, text: &str, e: &toml::de::Error) -> Error {
    let msg = e.message().trim_end();
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            Error::usage(format!("{file}: line {line}: {msg}"))
        }
        None => Error::usage(format!("{file}: {msg}")),
    }
}

/// What cnet has recorded, as the decisions need it.
pub trait Existing {
    fn network(&self, name: &str) -> Option<Network>;
    fn endpoint(&self, network: &str, netns: &str) -> Option<Endpoint>;
    /// The networks a namespace is attached to now.
    fn networks_of(&self, netns: &str) -> Vec<String>;
    /// Whether cnet created the namespace (and so may delete it).
    fn created_by_cnet(&self, netns: &str) -> bool;
}

/// What cnet has recorded, as plain data (read from the store by `lab`, made up by tests).
#[derive(Debug, Default)]
pub struct Recorded {
    pub networks: Vec<Network>,
    pub endpoints: Vec<Endpoint>,
    /// The namespaces cnet created.
    pub created: std::collections::BTreeSet<String>,
}

impl Existing for Recorded {
    fn network(&self, name: &str) -> Option<Network> {
        self.networks.iter().find(|n| n.name == name).cloned()
    }
    fn endpoint(&self, network: &str, netns: &str) -> Option<Endpoint> {
        self.endpoints
            .iter()
            .find(|e| e.network == network && e.netns == netns)
            .cloned()
    }
    fn networks_of(&self, netns: &str) -> Vec<String> {
        self.endpoints
            .iter()
            .filter(|e| e.netns == netns)
            .map(|e| e.network.clone())
            .collect()
    }
    fn created_by_cnet(&self, netns: &str) -> bool {
        self.created.contains(netns)
    }
}

/// One step of `lab up`, in order: networks, then attachments, then the commands.
#[derive(Debug, Clone, PartialEq)]
pub enum UpStep {
    CreateNetwork(String),
    KeepNetwork(String),
    /// The `index`th attachment of namespace `ns`.
    Attach {
        ns: String,
        index: usize,
    },
    KeepAttachment {
        ns: String,
        index: usize,
    },
    /// The `index`th command of namespace `ns`.
    Exec {
        ns: String,
        index: usize,
    },
}

/// One step of `lab down`, in order: detaches, network removals, namespace deletions.
#[derive(Debug, Clone, PartialEq)]
pub enum DownStep {
    Detach { ns: String, network: String },
    RemoveNetwork(String),
    DeleteNamespace(String),
}

/// The steps that bring the lab up from what exists. An object that exists with another
/// definition than the file's is an error naming it, found before any step runs. The commands
/// of a namespace run only when this `up` attaches it somewhere (a second `up` changes nothing).
pub fn plan_up(topo: &Topology, existing: &dyn Existing) -> Result<Vec<UpStep>> {
    let mut steps = Vec::new();
    for (name, spec) in &topo.networks {
        match existing.network(name) {
            None => steps.push(UpStep::CreateNetwork(name.clone())),
            Some(net) => match network_difference(spec, &net) {
                None => steps.push(UpStep::KeepNetwork(name.clone())),
                Some(diff) => {
                    return Err(Error::usage(format!("lab up: network {name}: {diff}")));
                }
            },
        }
    }
    let mut execs = Vec::new();
    for (ns, spec) in &topo.namespaces {
        let mut attached = false;
        for (index, a) in spec.attach.iter().enumerate() {
            let step = match existing.endpoint(&a.network, ns) {
                None => {
                    attached = true;
                    UpStep::Attach {
                        ns: ns.clone(),
                        index,
                    }
                }
                Some(ep) => match attachment_difference(a, &ep)? {
                    None => UpStep::KeepAttachment {
                        ns: ns.clone(),
                        index,
                    },
                    Some(diff) => {
                        return Err(Error::usage(format!(
                            "lab up: namespace {ns} on {}: {diff}",
                            a.network
                        )));
                    }
                },
            };
            steps.push(step);
        }
        if attached {
            execs.extend((0..spec.exec.len()).map(|index| UpStep::Exec {
                ns: ns.clone(),
                index,
            }));
        }
    }
    steps.extend(execs);
    Ok(steps)
}

/// The steps that remove what the file made: its namespaces' attachments that exist as the
/// file defines them (last first), its networks likewise, and the namespaces cnet created that
/// are then on no network. What exists with another definition was not made by the file: it
/// stays.
pub fn plan_down(topo: &Topology, existing: &dyn Existing) -> Vec<DownStep> {
    let mut steps = Vec::new();
    let mut deletable = Vec::new();
    for (ns, spec) in &topo.namespaces {
        let mut detached = BTreeSet::new();
        for a in spec.attach.iter().rev() {
            let made = existing.endpoint(&a.network, ns);
            if made.is_some_and(|ep| matches!(attachment_difference(a, &ep), Ok(None))) {
                steps.push(DownStep::Detach {
                    ns: ns.clone(),
                    network: a.network.clone(),
                });
                detached.insert(a.network.clone());
            }
        }
        let left_on_others = existing
            .networks_of(ns)
            .iter()
            .any(|n| !detached.contains(n));
        if existing.created_by_cnet(ns) && !left_on_others {
            deletable.push(DownStep::DeleteNamespace(ns.clone()));
        }
    }
    for (name, spec) in topo.networks.iter().rev() {
        let made = existing.network(name);
        if made.is_some_and(|net| network_difference(spec, &net).is_none()) {
            steps.push(DownStep::RemoveNetwork(name.clone()));
        }
    }
    steps.extend(deletable);
    steps
}

/// How a recorded network differs from its definition in the file, if it does. Options the
/// file leaves out are cnet's to choose, so only what the file says is compared.
pub fn network_difference(spec: &NetworkSpec, net: &Network) -> Option<String> {
    let driver: Option<Driver> = spec.driver.parse().ok();
    if driver != Some(net.driver) {
        return Some(differs("driver", net.driver, &spec.driver));
    }
    let internal = Some(net.internal);
    let given = [
        compare("internal", &spec.internal, &internal),
        compare("subnet", &spec.subnet, &net.subnet),
        compare("gateway", &spec.gateway, &net.gateway),
        compare("ip_range", &spec.ip_range, &net.ip_range),
        compare("ipv6", &spec.ipv6, &Some(net.dual_stack())),
        compare("subnet6", &spec.subnet6, &net.subnet6),
        compare("gateway6", &spec.gateway6, &net.gateway6),
        compare("mtu", &spec.mtu, &net.mtu),
        compare("parent", &spec.parent, &net.parent),
        compare("mode", &spec.mode, &net.mode),
        compare("vni", &spec.vni, &net.vni),
        compare("local", &spec.local.map(IpAddr::V4), &net.local),
        compare("dstport", &spec.dstport, &net.dstport),
    ];
    if let Some(diff) = given.into_iter().flatten().next() {
        return Some(diff);
    }
    let wanted: Vec<IpAddr> = spec.peers.iter().map(|p| IpAddr::V4(*p)).collect();
    let peers: BTreeSet<_> = wanted.iter().collect();
    if !wanted.is_empty() && peers != net.peers.iter().collect() {
        return Some(differs("peers", list(&net.peers), list(&wanted)));
    }
    spec.options
        .iter()
        .find(|(k, v)| net.options.get(*k) != Some(*v))
        .map(|(k, v)| {
            let now = net.options.get(k).map_or("unset", String::as_str);
            differs(&format!("option {k}"), now, v)
        })
}

/// How a recorded attachment differs from its definition in the file, if it does.
pub fn attachment_difference(spec: &AttachSpec, ep: &Endpoint) -> Result<Option<String>> {
    let address = ep.address.map(|a| a.ip());
    if let Some(diff) = compare("address", &spec.ip, &address) {
        return Ok(Some(diff));
    }
    let address6 = ep.address6.map(|a| a.ip());
    if let Some(diff) = compare("address6", &spec.ip6, &address6) {
        return Ok(Some(diff));
    }
    if spec.ifname.is_some() && spec.ifname.as_deref() != Some(ep.ifname.as_str()) {
        return Ok(Some(differs(
            "interface",
            &ep.ifname,
            spec.ifname.as_deref().unwrap_or_default(),
        )));
    }
    if let Some(mac) = &spec.mac {
        let wanted = crate::plan::format_mac(&names::parse_mac(mac)?);
        if ep.mac.as_deref() != Some(wanted.as_str()) {
            let now = ep.mac.as_deref().unwrap_or("none");
            return Ok(Some(differs("MAC", now, wanted)));
        }
    }
    let aliases = |v: &[String]| v.iter().cloned().collect::<BTreeSet<_>>();
    if aliases(&spec.aliases) != aliases(&ep.aliases) {
        return Ok(Some(differs(
            "aliases",
            ep.aliases.join(","),
            spec.aliases.join(","),
        )));
    }
    let ports = crate::ports::parse_all(&spec.ports)?;
    if ports != ep.ports {
        let text = |p: &[crate::model::PortMapping]| list(p);
        return Ok(Some(differs("ports", text(&ep.ports), text(&ports))));
    }
    if spec.gw_priority != ep.gw_priority {
        return Ok(Some(differs(
            "gw_priority",
            ep.gw_priority,
            spec.gw_priority,
        )));
    }
    if spec.no_default_route != ep.no_default_route {
        return Ok(Some(differs(
            "no_default_route",
            ep.no_default_route,
            spec.no_default_route,
        )));
    }
    Ok(None)
}

fn compare<T: PartialEq + std::fmt::Display>(
    what: &str,
    given: &Option<T>,
    recorded: &Option<T>,
) -> Option<String> {
    let wanted = given.as_ref()?;
    if recorded.as_ref() == Some(wanted) {
        return None;
    }
    let now = recorded
        .as_ref()
        .map_or_else(|| "none".to_string(), T::to_string);
    Some(differs(what, now, wanted))
}

fn differs(what: &str, now: impl std::fmt::Display, file: impl std::fmt::Display) -> String {
    format!("exists with {what} {now}, the file says {file}")
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    items.iter().map(T::to_string).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests;
