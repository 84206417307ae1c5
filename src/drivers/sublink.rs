//! What the macvlan and ipvlan drivers share: a namespace joins the network through a child
//! link of a host interface (the parent). The child is created directly inside the namespace
//! (`IFLA_NET_NS_FD`), under a unique temporary name that is then renamed to `ethN` there, so a
//! name clash in the parent's namespace can never break an attach. No bridge, no NAT, no
//! firewall rules.
//!
//! The host cannot reach its own macvlan/ipvlan children through the parent (the kernel hands
//! a parent's own traffic to the wire, never to its children). A macvlan network created with
//! `-o host_shim=true` gets the usual fix: one more macvlan child, in bridge mode, on the host
//! side ("the shim"), with an address of the network and a route to the namespaces' range.

mod define;
mod options;

use super::{AttachRequest, Definition, Facts, NetworkDriver};
use crate::cli::CreateArgs;
use crate::error::{Error, Result};
use crate::firewall::FirewallFacts;
use crate::ipam::Pool;
pub use crate::model::SublinkKind;
use crate::model::family::{self, Family};
use crate::model::{Driver, Endpoint, MacvlanMode, Network};
use crate::names;
use crate::plan::{NsRef, Op, Plan};
use ipnetwork::IpNetwork;
use std::net::IpAddr;

/// The macvlan or ipvlan driver (the driver says which), as [`super::of`] hands it out.
pub struct Sublink(pub Driver);

impl NetworkDriver for Sublink {
    fn define(&self, facts: &dyn Facts, args: &CreateArgs) -> Result<Definition> {
        define::define(facts, args, self.0)
    }
    fn plan_create(&self, net: &Network, _: &FirewallFacts) -> Result<Plan> {
        plan_create(net)
    }
    fn plan_remove(&self, net: &Network, _: &FirewallFacts) -> Plan {
        plan_remove(net)
    }
    fn plan_attach(&self, req: &AttachRequest, plan: &mut Plan) -> Result<()> {
        plan_attach(req, plan)
    }
    fn plan_detach(&self, ep: &Endpoint) -> Plan {
        plan_detach(ep)
    }
    fn inspect_notes(&self, net: &Network) -> Vec<String> {
        notes(net)
    }
}

pub use crate::model::ParentInfo;

/// The `-o` key that asks for a host shim.
pub const SHIM_OPTION: &str = "host_shim";

/// Whether a network has a host shim.
pub fn has_shim(net: &Network) -> bool {
    net.driver == Driver::Macvlan && net.options.get(SHIM_OPTION).is_some_and(|v| v == "true")
}

/// The host shim's interface: `cns-NAME` when it fits in 15 characters, else a stable
/// abbreviation `cns-PREFIX-HASH`.
pub fn shim_name(network: &str) -> String {
    let full = format!("cns-{network}");
    if full.len() <= names::IFNAMSIZ_MAX {
        return full;
    }
    let h = names::stable_hash(&["cnet-shim", network]) as u32;
    let prefix: String = network.chars().take(4).collect();
    format!("cns-{prefix}-{:06x}", h & 0xff_ffff)
}

/// The shim's MAC: stable for the network, locally administered.
pub fn shim_mac(net: &Network) -> [u8; 6] {
    names::derived_mac(&["cnet-shim", &net.name, &net.id])
}

/// The lease client that holds the shim's address (no namespace name contains ':').
pub fn shim_client(net: &Network) -> String {
    format!("host-shim:{}", shim_name(&net.name))
}

/// Whether a lease client is a host shim rather than a namespace.
pub fn is_shim_client(client: &str) -> bool {
    client.starts_with("host-shim:")
}

/// The range the namespaces get their addresses from, which the shim routes.
pub fn shim_route(net: &Network) -> Result<IpNetwork> {
    net.lease_range()
        .ok_or_else(|| Error::runtime(format!("network {} has no subnet recorded", net.name)))
}

/// The shim's address: the highest address of the network's range that may be leased (it is
/// leased to the shim when the network is created, so no namespace ever gets it).
pub fn shim_address(net: &Network) -> Result<IpAddr> {
    let subnet = net
        .subnet
        .ok_or_else(|| Error::runtime(format!("network {} has no subnet recorded", net.name)))?;
    let pool = Pool::new(subnet, net.ip_range, net.gateway)?;
    let family = Family::of_net(pool.range);
    let (lo, hi) = (family::first(pool.range), family::last(pool.range));
    (lo..=hi)
        .rev()
        .filter_map(|n| family.addr(n))
        .find(|a| pool.offerable(*a))
        .ok_or_else(|| {
            Error::usage(format!(
                "no free address in {} for the host shim",
                pool.range
            ))
        })
}

fn parent_of(net: &Network) -> Result<String> {
    net.parent
        .clone()
        .ok_or_else(|| Error::runtime(format!("network {} has no parent recorded", net.name)))
}

/// The temporary name a child is created under, inside the target namespace, before it is
/// renamed: `cnt` + 8 hex digits, stable for (network, namespace, interface).
pub fn temp_name(net: &Network, key: &str, ifname: &str) -> String {
    format!(
        "cnt{:08x}",
        names::stable_hash(&["cnet-sublink", &net.id, key, ifname]) as u32
    )
}

/// Kernel objects a new network needs: nothing, or the host shim.
pub fn plan_create(net: &Network) -> Result<Plan> {
    let mut plan = Plan::default();
    SublinkKind::of(net)?;
    if !has_shim(net) {
        return Ok(plan);
    }
    let shim = shim_name(&net.name);
    plan.push(Op::CreateSublink {
        kind: SublinkKind::Macvlan(MacvlanMode::Bridge),
        parent: parent_of(net)?,
        temp: None,
        name: shim.clone(),
        ns: NsRef::Host,
        mtu: net.mtu,
        mac: Some(shim_mac(net)),
    });
    plan.push(Op::AddAddress {
        ns: NsRef::Host,
        dev: shim.clone(),
        addr: IpNetwork::new(shim_address(net)?, 32).expect("/32 is a valid prefix"),
    });
    plan.push(Op::LinkUp {
        ns: NsRef::Host,
        dev: shim.clone(),
    });
    plan.push(Op::AddRoute {
        ns: NsRef::Host,
        dest: Some(shim_route(net)?),
        via: None,
        dev: Some(shim),
    });
    Ok(plan)
}

/// Undo of `plan_create`: the shim goes, and its address and route with it.
pub fn plan_remove(net: &Network) -> Plan {
    let mut plan = Plan::default();
    if has_shim(net) {
        plan.push(Op::DeleteLink {
            ns: NsRef::Host,
            dev: shim_name(&net.name),
        });
    }
    plan
}

pub fn plan_attach(req: &AttachRequest, plan: &mut Plan) -> Result<()> {
    let net = req.network;
    let t = req.target;
    let kind = SublinkKind::of(net)?;
    let address = req
        .address
        .ok_or_else(|| Error::runtime(format!("{} endpoints need an address", net.driver)))?;
    let mac = match kind {
        SublinkKind::Ipvlan(_) => {
            if req.mac.is_some() {
                return Err(Error::usage(
                    "--mac does not apply to ipvlan networks: ipvlan children share their \
                     parent's MAC address",
                ));
            }
            None
        }
        SublinkKind::Macvlan(_) => {
            Some(req.mac.unwrap_or_else(|| names::mac_from_ip(address.ip())))
        }
    };
    plan.push(Op::CreateSublink {
        kind,
        parent: parent_of(net)?,
        temp: Some(temp_name(net, &t.key, &req.ifname)),
        name: req.ifname.clone(),
        ns: t.ns.clone(),
        mtu: net.mtu,
        mac,
    });
    super::configure_interface(req, address, plan);
    Ok(())
}

/// Deleting the child inside the namespace; a namespace that is gone took the child with it,
/// and a parent that is gone took its children too: both count as done.
pub fn plan_detach(ep: &Endpoint) -> Plan {
    let mut plan = Plan::default();
    if !ep.ifname.is_empty() {
        plan.push(Op::DeleteLink {
            ns: ep.ns_ref(),
            dev: ep.ifname.clone(),
        });
    }
    plan
}

/// Whether a network's endpoints get a default route although it has no gateway.
pub fn device_default_route(net: &Network) -> bool {
    matches!(net.driver, Driver::Macvlan | Driver::Ipvlan)
        && SublinkKind::of(net).is_ok_and(|k| k.device_default_route())
}

/// What `net inspect` says about a network, beyond its definition.
pub fn notes(net: &Network) -> Vec<String> {
    let Ok(kind) = SublinkKind::of(net) else {
        return Vec::new();
    };
    let parent = net.parent.as_deref().unwrap_or("?");
    let k = kind.kind_name();
    let mut notes = Vec::new();
    if has_shim(net) {
        notes.push(format!(
            "the host reaches this network's namespaces through its shim {} (a macvlan child \
             of {parent} in bridge mode, routing {})",
            shim_name(&net.name),
            shim_route(net).map(|r| r.to_string()).unwrap_or_default()
        ));
    } else {
        let fix = match kind {
            SublinkKind::Macvlan(MacvlanMode::Bridge) => {
                "; create the network with -o host_shim=true for a shim interface that can"
            }
            _ => "",
        };
        notes.push(format!(
            "the host cannot reach this network's namespaces through {parent}: the kernel \
             hands a {k} parent's own traffic to the wire, never to its children{fix}"
        ));
    }
    match kind {
        SublinkKind::Macvlan(MacvlanMode::Private) => {
            notes.push("private mode: the namespaces cannot reach each other".into())
        }
        SublinkKind::Macvlan(MacvlanMode::Vepa) => notes.push(
            "vepa mode: the namespaces reach each other only through an external switch that \
             sends frames back out the port they came in on (hairpin)"
                .into(),
        ),
        SublinkKind::Macvlan(MacvlanMode::Passthru) => notes.push(
            "passthru mode: one namespace takes the parent over; a second attach fails".into(),
        ),
        SublinkKind::Ipvlan(m) if !m.has_gateway() => notes.push(format!(
            "{m} mode: no gateway; a namespace's default route goes through its device \
             (default dev ethN), and the LAN reaches the namespaces through routes to the host"
        )),
        _ => {}
    }
    notes
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::drivers::Target;
    use crate::model::IpvlanMode;

    /// A network on parent lan0, 192.168.50.0/24, gateway .1.
    pub(crate) fn net(driver: Driver, mode: Option<&str>) -> Network {
        Network {
            name: "lan".into(),
            id: "0123456789ab".into(),
            driver,
            created: 0,
            subnet: Some("192.168.50.0/24".parse().unwrap()),
            gateway: Some("192.168.50.1".parse().unwrap()),
            parent: Some("lan0".into()),
            mode: mode.map(String::from),
            ..Default::default()
        }
    }

    pub(crate) fn target(exists: bool) -> Target {
        Target {
            given: "ns1".into(),
            key: "ns1".into(),
            name: Some("ns1".into()),
            ns: NsRef::Named("ns1".into()),
            path: "/run/netns/ns1".into(),
            exists,
        }
    }

    #[test]
    fn kind_of_a_network_follows_driver_and_mode() {
        assert_eq!(
            SublinkKind::of(&net(Driver::Macvlan, None)).unwrap(),
            SublinkKind::Macvlan(MacvlanMode::Bridge)
        );
        assert_eq!(
            SublinkKind::of(&net(Driver::Ipvlan, Some("l3"))).unwrap(),
            SublinkKind::Ipvlan(IpvlanMode::L3)
        );
        assert!(SublinkKind::of(&net(Driver::Bridge, None)).is_err());
        assert!(device_default_route(&net(Driver::Ipvlan, Some("l3s"))));
        assert!(!device_default_route(&net(Driver::Ipvlan, Some("l2"))));
        assert!(!device_default_route(&net(Driver::Macvlan, None)));
        assert!(!device_default_route(&net(Driver::Bridge, None)));
    }

    #[test]
    fn create_op_prints_like_iproute2_for_every_kind_of_namespace() {
        let op = |ns: NsRef, temp: Option<&str>| Op::CreateSublink {
            kind: SublinkKind::Ipvlan(IpvlanMode::L2),
            parent: "eth0".into(),
            temp: temp.map(String::from),
            name: "eth1".into(),
            ns,
            mtu: Some(1400),
            mac: None,
        };
        assert_eq!(
            op(NsRef::Path("/proc/42/ns/net".into()), Some("cnt00000001")).to_string(),
            "ip link add link eth0 name cnt00000001 netns /proc/42/ns/net mtu 1400 group 1668179316 type ipvlan \
             mode l2\nnsenter --net=/proc/42/ns/net ip link set cnt00000001 name eth1"
        );
        assert_eq!(
            op(NsRef::Host, None).to_string(),
            "ip link add link eth0 name eth1 mtu 1400 group 1668179316 type ipvlan mode l2"
        );
    }

    #[test]
    fn temporary_names_fit_and_differ_per_namespace_and_interface() {
        let n = net(Driver::Macvlan, None);
        let a = temp_name(&n, "ns1", "eth0");
        assert!(a.len() <= names::IFNAMSIZ_MAX, "{a}");
        assert_ne!(a, temp_name(&n, "ns2", "eth0"));
        assert_ne!(a, temp_name(&n, "ns1", "eth1"));
    }

    #[test]
    fn shim_names_fit_and_shim_clients_are_not_namespaces() {
        assert_eq!(shim_name("lan"), "cns-lan");
        let long = shim_name("a-really-long-network-name");
        assert!(long.len() <= names::IFNAMSIZ_MAX, "{long}");
        assert_ne!(long, shim_name("a-really-long-network-other"));
        let n = net(Driver::Macvlan, None);
        let c = shim_client(&n);
        assert!(is_shim_client(&c));
        assert!(names::validate_netns_name(&c).is_err());
        assert!(!is_shim_client("ns1"));
    }

    #[test]
    fn shim_takes_the_highest_leasable_address_of_the_range() {
        let mut n = net(Driver::Macvlan, None);
        assert_eq!(shim_address(&n).unwrap(), IpAddr::from([192, 168, 50, 254]));
        n.ip_range = Some("192.168.50.0/25".parse().unwrap());
        assert_eq!(shim_address(&n).unwrap(), IpAddr::from([192, 168, 50, 127]));
        // Never the gateway.
        n.gateway = Some("192.168.50.127".parse().unwrap());
        assert_eq!(shim_address(&n).unwrap(), IpAddr::from([192, 168, 50, 126]));
    }

    #[test]
    fn notes_say_the_host_cannot_reach_the_namespaces_unless_there_is_a_shim() {
        let n = net(Driver::Macvlan, None);
        let text = notes(&n).join("\n");
        assert!(text.contains("the host cannot reach"), "{text}");
        assert!(text.contains("host_shim=true"), "{text}");
        let mut n = net(Driver::Macvlan, None);
        n.options.insert(SHIM_OPTION.into(), "true".into());
        let text = notes(&n).join("\n");
        assert!(text.contains("through its shim cns-lan"), "{text}");
        let text = notes(&net(Driver::Ipvlan, Some("l3"))).join("\n");
        assert!(text.contains("no gateway"), "{text}");
        assert!(!text.contains("host_shim"), "{text}");
        assert!(notes(&net(Driver::Bridge, None)).is_empty());
    }
}
