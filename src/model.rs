//! The serde types kept in the state directory: networks, endpoints, leases, namespaces.

use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

pub mod family;
mod host;
mod sublink;
#[cfg(test)]
mod tests;
pub use host::{ParentInfo, Vtep};
pub use sublink::{IpvlanMode, MacvlanMode, SublinkKind};

/// The network drivers, named as `docker network create -d` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, Default)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    #[default]
    Bridge,
    Host,
    None,
    Macvlan,
    Ipvlan,
    Vxlan,
}

impl Driver {
    pub fn as_str(self) -> &'static str {
        match self {
            Driver::Bridge => "bridge",
            Driver::Host => "host",
            Driver::None => "none",
            Driver::Macvlan => "macvlan",
            Driver::Ipvlan => "ipvlan",
            Driver::Vxlan => "vxlan",
        }
    }
    /// Whether endpoints on this driver get an interface and an address from the allocator.
    pub fn leases_addresses(self) -> bool {
        !matches!(self, Driver::Host | Driver::None)
    }
    /// Whether namespaces join through a veth to a Linux bridge on the host.
    pub fn uses_bridge(self) -> bool {
        matches!(self, Driver::Bridge | Driver::Vxlan)
    }
}

impl fmt::Display for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Driver {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "bridge" => Driver::Bridge,
            "host" => Driver::Host,
            "none" | "null" => Driver::None,
            "macvlan" => Driver::Macvlan,
            "ipvlan" => Driver::Ipvlan,
            "vxlan" | "overlay" => Driver::Vxlan,
            other => {
                return Err(format!(
                    "unknown driver '{other}' (expected bridge, host, none, macvlan, ipvlan or vxlan)"
                ));
            }
        })
    }
}

/// A network definition: `networks/NAME.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Network {
    pub name: String,
    /// 12 hex digits, shown like Docker's network ID.
    pub id: String,
    pub driver: Driver,
    /// Unix seconds.
    pub created: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<IpNetwork>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<IpNetwork>,
    /// The IPv6 subnet of a dual-stack network (`--ipv6`); `None`: IPv4 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet6: Option<IpNetwork>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway6: Option<IpAddr>,
    /// The part of `subnet6` this host leases from (vxlan: its slice of the subnet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_range6: Option<IpNetwork>,
    #[serde(default)]
    pub internal: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// The Linux bridge carrying the network (bridge and vxlan drivers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<String>,
    /// The bridge's pinned MAC address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge_mac: Option<String>,
    /// Parent interface (macvlan, ipvlan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Driver mode (macvlan: bridge|private|vepa|passthru; ipvlan: l2|l3|l3s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// VXLAN network identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vni: Option<u32>,
    /// Local VTEP (underlay) address (vxlan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<IpAddr>,
    /// Remote VTEP addresses (vxlan head-end replication).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<IpAddr>,
    /// A shared overlay's endpoints on other hosts, as this host programmed them on its
    /// VXLAN device (so a re-sync adds and removes only what changed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forwards: Vec<Forward>,
    /// VXLAN UDP destination port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dstport: Option<u16>,
    /// `-o KEY=VALUE` options as given.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// `bridge`, `host` and `none`: exist without `net create`, cannot be removed.
    #[serde(default)]
    pub predefined: bool,
    /// vxlan without `--ip-range`: the VTEPs (local and peers, sorted) the subnet was split
    /// over when the network was created; this host leases only from its part (`ip_range`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slice_vteps: Vec<IpAddr>,
    /// Kept in the shared store (etcd) as well: its definition, leases, endpoints and member
    /// hosts live there, and this file is this host's view (its VTEP, the peers it programmed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shared: bool,
    /// The MAC address of this host's VXLAN device, when pinned (shared overlays: the other
    /// hosts find it in etcd).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vtep_mac: Option<String>,
    /// Its bridge's ports are isolated from each other (`bridge link set ... isolated on`): the
    /// gateway bridge of overlays, as Docker's docker_gwbridge has `enable_icc=false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub isolated_ports: bool,
}

impl Network {
    /// The range leases are taken from: `--ip-range` if given, else the subnet.
    pub fn lease_range(&self) -> Option<IpNetwork> {
        self.ip_range.or(self.subnet)
    }

    /// Whether the network carries IPv6 too (`net create --ipv6`).
    pub fn dual_stack(&self) -> bool {
        self.subnet6.is_some()
    }

    /// The subnets of the network, IPv4 first.
    pub fn subnets(&self) -> impl Iterator<Item = IpNetwork> {
        self.subnet.into_iter().chain(self.subnet6)
    }

    /// What every host shares of an overlay's definition: this host's view without its own
    /// parts (its VTEP, MACs and peers).
    pub fn shared_form(&self) -> Network {
        Network {
            local: None,
            parent: None,
            peers: Vec::new(),
            forwards: Vec::new(),
            bridge_mac: None,
            vtep_mac: None,
            slice_vteps: Vec::new(),
            ..self.clone()
        }
    }
}

/// A remote endpoint on a VXLAN device `dev`: its MAC behind its host's VTEP, its IPv4
/// address (and on a dual-stack overlay its IPv6 address) at its MAC.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Forward {
    pub dev: String,
    pub mac: String,
    pub ip: IpAddr,
    pub vtep: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip6: Option<IpAddr>,
}

impl Forward {
    /// The addresses it answers for at its MAC, IPv4 first.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> {
        std::iter::once(self.ip).chain(self.ip6)
    }
}

/// A published port (filled in by the port-publishing work; stored with the endpoint).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub host_port_end: u16,
    pub container_port: u16,
    pub container_port_end: u16,
    pub protocol: String,
}

/// One host port held by a published port: `ports/PROTOCOL/PORT/HOSTIP.toml` (HOSTIP 0.0.0.0
/// for every address), one file per host port of the mapping, claimed with link(2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortClaim {
    pub network: String,
    /// The holder's namespace key (its endpoint is `endpoints/NETWORK/KEY.toml`).
    pub key: String,
    /// The namespace as the user named it.
    pub netns: String,
    pub mapping: PortMapping,
}

/// One namespace attached to one network: `attachments/NETWORK/KEY.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub network: String,
    /// The state key of the namespace (its name, or `@ino-N` for one given by path).
    pub key: String,
    /// The namespace as the user named it: a name under /run/netns or a path.
    pub netns: String,
    /// The path the namespace is opened by.
    pub netns_path: PathBuf,
    /// Interface name inside the namespace (empty for host/none).
    #[serde(default)]
    pub ifname: String,
    /// The host side of the veth pair, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ifname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<IpNetwork>,
    /// The IPv6 address on a dual-stack network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address6: Option<IpNetwork>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortMapping>,
    /// Whether this endpoint gives the namespace its default route now.
    #[serde(default)]
    pub default_route: bool,
    /// Whether it gives the namespace its IPv6 default route now (dual-stack networks).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default_route6: bool,
    /// `--gw-priority`: among a namespace's networks, the highest carries the default route.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gw_priority: i32,
    /// `--no-default-route`: this endpoint never carries the namespace's default route.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_default_route: bool,
    /// Where its published ports forward to when that is not its own address: an overlay's
    /// go to the namespace's address on the gateway bridge (`cnet_gwbridge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_to: Option<IpAddr>,
    /// The same in IPv6, when the overlay and the gateway bridge are dual-stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_to6: Option<IpAddr>,
    /// Unix seconds.
    pub since: u64,
}

impl Endpoint {
    /// The endpoint's addresses, IPv4 first.
    pub fn addresses(&self) -> impl Iterator<Item = IpNetwork> {
        self.address.into_iter().chain(self.address6)
    }
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeaseState {
    /// Held for a client between OFFER and REQUEST.
    Offered,
    /// ACKed: the address is in use.
    Bound,
    /// Given back; kept so the same client gets it again (sticky).
    Released,
}

impl fmt::Display for LeaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LeaseState::Offered => "offered",
            LeaseState::Bound => "bound",
            LeaseState::Released => "released",
        })
    }
}

/// One address of one network: `leases/NETWORK/ADDRESS.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub network: String,
    pub address: IpAddr,
    /// The client id: the namespace's name or path.
    pub client: String,
    pub state: LeaseState,
    /// Unix seconds of the last state change.
    pub since: u64,
    /// For offers: until when the address is held (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
    /// `/proc/sys/kernel/random/boot_id` when the lease was bound.
    #[serde(default)]
    pub boot_id: String,
}

/// A host on a shared overlay, as the shared store records it: the others flood to its VTEP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The host's id (`STATE/host_id`).
    pub host: String,
    /// Its underlay (VTEP) address.
    pub underlay: IpAddr,
    /// The MAC of its VXLAN device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vtep_mac: Option<String>,
    /// Unix seconds.
    pub since: u64,
}

/// A namespace cnet created (so it may delete it): `namespaces/NAME.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceRecord {
    pub name: String,
    pub created: u64,
    /// True when the name is bound to the host's own namespace (the `host` network).
    #[serde(default)]
    pub host: bool,
}
