//! The bridge driver: a Linux bridge holding the gateway address, one veth pair per namespace,
//! NAT and isolation rules.

mod define;
mod firewall;

use firewall::firewall_rules;
pub use firewall::{firewall_elements, reload_rules};

use super::{AttachRequest, Definition, Facts, NetworkDriver};
use crate::cli::CreateArgs;
use crate::error::{Error, Result};
use crate::firewall::FirewallFacts;
use crate::firewall::ports as fwports;
use crate::firewall::published::{self, PortEntry};
use crate::model::{Endpoint, Network, PortMapping};
use crate::names;
use crate::plan::{NsRef, Op, Plan};
use ipnetwork::IpNetwork;

/// The bridge driver, as [`super::of`] hands it out.
pub struct Bridge;
pub static DRIVER: Bridge = Bridge;

impl NetworkDriver for Bridge {
    fn define(&self, facts: &dyn Facts, args: &CreateArgs) -> Result<Definition> {
        define::define(facts, args)
    }
    fn plan_create(&self, net: &Network, fw: &FirewallFacts) -> Result<Plan> {
        plan_create(net, fw)
    }
    fn plan_remove(&self, net: &Network, fw: &FirewallFacts) -> Plan {
        plan_remove(net, fw)
    }
    fn plan_attach(&self, req: &AttachRequest, plan: &mut Plan) -> Result<()> {
        plan_attach(req, plan)
    }
    fn plan_detach(&self, ep: &Endpoint) -> Plan {
        plan_detach(ep)
    }
}

fn bridge_of(net: &Network) -> Result<&str> {
    net.bridge
        .as_deref()
        .ok_or_else(|| Error::runtime(format!("network {} has no bridge recorded", net.name)))
}

/// The bridge's MAC: pinned at creation, so it does not follow its ports as they come and go.
pub fn bridge_mac(net: &Network) -> [u8; 6] {
    net.bridge_mac
        .as_deref()
        .and_then(|m| names::parse_mac(m).ok())
        .unwrap_or_else(|| names::derived_mac(&["cnet-bridge", &net.name, &net.id]))
}

pub fn plan_create(net: &Network, fw: &FirewallFacts) -> Result<Plan> {
    let bridge = bridge_of(net)?.to_string();
    let (subnet, gateway) = match (net.subnet, net.gateway) {
        (Some(s), Some(g)) => (s, g),
        _ => {
            return Err(Error::runtime(format!(
                "network {} has no subnet",
                net.name
            )));
        }
    };
    let mut plan = Plan::default();
    plan.push(Op::CreateBridge {
        name: bridge.clone(),
        mac: bridge_mac(net),
        mtu: net.mtu,
    });
    plan.push(Op::AddAddress {
        ns: NsRef::Host,
        dev: bridge.clone(),
        addr: IpNetwork::new(gateway, subnet.prefix()).expect("prefix from a subnet"),
    });
    plan_ip_families(net, &bridge, fw, &mut plan);
    plan.extend(super::plan_network_firewall(
        fw,
        || firewall_elements(net),
        || firewall_rules(net),
    )?);
    if !net.internal {
        // For published ports on 127.0.0.1; after the rule that drops what it would let in.
        plan.push(Op::Sysctl {
            ns: NsRef::Host,
            key: fwports::route_localnet_key(bridge_of(net)?),
            value: "1".into(),
        });
    }
    Ok(plan)
}

/// What a bridge carrying the network needs of each family: an IPv4-only network's has no
/// IPv6 at all (no link-local address, so the host sends no router or neighbour solicitations
/// and MLD reports into it); a dual-stack network's holds the IPv6 gateway (no DAD: cnet chose
/// it) and ignores router advertisements. Forwarding on, unless the network is internal: IPv4
/// always, IPv6 for a dual-stack network whose firewall is `table inet cnet` (its isolation
/// and internal rules match interfaces, so they hold for IPv6 too, and `subnets6` masquerades).
/// The iptables fallback writes IPv4 rules only, so there IPv6 forwarding is left as it is:
/// without ip6tables rules it would route every dual-stack network into every other.
/// Like the IPv4 one, the sysctl is not undone (other networks may rely on it).
pub fn plan_ip_families(net: &Network, bridge: &str, fw: &FirewallFacts, plan: &mut Plan) {
    match super::dual_stack::gateway_address(net) {
        None if !net.dual_stack() => plan.push(Op::DisableIpv6 {
            dev: bridge.to_string(),
        }),
        gateway6 => {
            // Its link-local address (the source of the host's neighbour solicitations for
            // forwarded traffic) without DAD: set before the first port brings carrier, so the
            // host answers for the network at once, not a second or two later.
            plan.push(super::dual_stack::no_dad(NsRef::Host, bridge));
            plan.push(super::dual_stack::ignore_router_advertisements(
                NsRef::Host,
                bridge,
            ));
            if let Some(addr) = gateway6 {
                plan.push(Op::AddAddress {
                    ns: NsRef::Host,
                    dev: bridge.to_string(),
                    addr,
                });
            }
        }
    }
    if !net.internal {
        plan.push(Op::Sysctl {
            ns: NsRef::Host,
            key: "net.ipv4.ip_forward".into(),
            value: "1".into(),
        });
        if net.dual_stack() && fw.backend == crate::firewall::Backend::Nftables {
            plan.push(Op::Sysctl {
                ns: NsRef::Host,
                key: IPV6_FORWARDING.into(),
                value: "1".into(),
            });
        }
    }
}

/// IPv6 forwarding for every interface. With it on, interfaces whose `accept_ra` is 1 ignore
/// router advertisements (the kernel treats the host as a router); `accept_ra=2` keeps them.
pub const IPV6_FORWARDING: &str = "net.ipv6.conf.all.forwarding";

pub fn plan_remove(net: &Network, fw: &FirewallFacts) -> Plan {
    let mut plan = Plan::default();
    if let Ok(op) =
        super::plan_network_firewall_removal(fw, || firewall_elements(net), || firewall_rules(net))
    {
        plan.push(op);
    }
    if let Some(b) = &net.bridge {
        plan.push(Op::DeleteLink {
            ns: NsRef::Host,
            dev: b.clone(),
        });
    }
    plan
}

pub fn plan_attach(req: &AttachRequest, plan: &mut Plan) -> Result<()> {
    let net = req.network;
    let t = req.target;
    let address = req
        .address
        .ok_or_else(|| Error::runtime("bridge endpoints need an address"))?;
    let host = names::host_veth_name(&net.name, &t.key);
    plan.push(Op::CreateVeth {
        host: host.clone(),
        peer: req.ifname.clone(),
        peer_ns: t.ns.clone(),
        mtu: net.mtu,
        peer_mac: Some(req.mac.unwrap_or_else(|| names::mac_from_ip(address.ip()))),
        master: Some(bridge_of(net)?.to_string()),
    });
    // Both ends without IPv6 autoconfiguration. The host end is a bridge port, which bridges
    // IPv6 frames without IPv6 of its own, on dual-stack networks too: it goes up only once
    // IPv6 is off on it, so the kernel never configures IPv6 there (a link-local address, DAD,
    // multicast joins) only to undo it. The namespace end of a dual-stack network gets its
    // IPv6 address from cnet (`configure_interface`).
    plan.push(Op::DisableIpv6 { dev: host.clone() });
    plan.push(Op::LinkUp {
        ns: NsRef::Host,
        dev: host,
    });
    plan.push(Op::NoIpv6Autoconf {
        ns: t.ns.clone(),
        dev: req.ifname.clone(),
    });
    super::configure_interface(req, address, plan);
    Ok(())
}

/// The map entries of a namespace's published ports on a bridge network: to its IPv4
/// address, and to its IPv6 address too on a dual-stack network.
pub fn publish_entries(
    address: Option<IpNetwork>,
    address6: Option<IpNetwork>,
    ports: &[PortMapping],
) -> Result<Vec<PortEntry>> {
    if ports.is_empty() {
        return Ok(Vec::new());
    }
    let addrs: Vec<_> = address.iter().chain(&address6).map(|a| a.ip()).collect();
    if addrs.is_empty() {
        return Err(Error::runtime("published ports need an address"));
    }
    published::entries(&addrs, ports)
}

/// Open published ports: appended to the attach plan, after the namespace's links (so rollback
/// closes the ports first).
pub fn plan_publish(
    address: Option<IpNetwork>,
    address6: Option<IpNetwork>,
    ports: &[PortMapping],
) -> Result<Vec<Op>> {
    let entries = publish_entries(address, address6, ports)?;
    Ok(if entries.is_empty() {
        Vec::new()
    } else {
        vec![Op::PublishPorts(entries)]
    })
}

/// Close an endpoint's published ports: exactly the entries `plan_publish` added.
pub fn plan_unpublish(ep: &Endpoint) -> Plan {
    let mut plan = Plan::default();
    if let Ok(entries) = publish_entries(ep.address, ep.address6, &ep.ports)
        && !entries.is_empty()
    {
        plan.push(Op::UnpublishPorts(entries));
    }
    plan
}

pub fn plan_detach(ep: &Endpoint) -> Plan {
    let mut plan = Plan::default();
    // Deleting the host end takes the namespace end with it, and works even when the namespace
    // is already gone (then the pair is gone too, and the delete finds nothing: fine).
    if let Some(h) = &ep.host_ifname {
        plan.push(Op::RetireVeth {
            host: h.clone(),
            peer_ns: ep.ns_ref(),
            peer: ep.ifname.clone(),
        });
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::{Target, plan_attach as attach};
    use crate::model::Driver;

    fn net(internal: bool) -> Network {
        Network {
            name: "lab".into(),
            id: "0123456789ab".into(),
            driver: Driver::Bridge,
            created: 0,
            subnet: Some("10.1.0.0/24".parse().unwrap()),
            gateway: Some("10.1.0.1".parse().unwrap()),
            ip_range: None,
            internal,
            mtu: Some(1400),
            bridge: Some("cn-lab".into()),
            bridge_mac: None,
            options: Default::default(),
            predefined: false,
            ..Default::default()
        }
    }

    fn target(exists: bool) -> Target {
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
    fn create_plan_builds_bridge_gateway_forwarding_and_nat() {
        let text = plan_create(&net(false), &FirewallFacts::default())
            .unwrap()
            .to_string();
        // The table made and the network's elements put in, in one nft transaction.
        assert!(
            text.contains("nft -f - <<'EOF'\ntable inet cnet {"),
            "{text}"
        );
        assert!(
            text.contains(
                "add element inet cnet bridges { \"cn-lab\" }\n\
                 add element inet cnet within { \"cn-lab\" . \"cn-lab\" }\n\
                 add element inet cnet subnets4 { 10.1.0.0/24 . \"cn-lab\" }\nEOF"
            ),
            "{text}"
        );
        // With the table there, only the elements.
        let again = plan_create(&net(false), &FirewallFacts::complete())
            .unwrap()
            .to_string();
        assert!(!again.contains("table inet cnet {"), "{again}");
        let text = plan_create(&net(false), &FirewallFacts::iptables())
            .unwrap()
            .to_string();
        assert!(
            text.contains(
                "ip link add cn-lab mtu 1399 group 1668179316 type bridge mcast_snooping 0\nip link set cn-lab mtu 1400"
            ),
            "{text}"
        );
        assert!(
            text.contains("ip addr add 10.1.0.1/24 broadcast 10.1.0.255 dev cn-lab"),
            "{text}"
        );
        assert!(text.contains("sysctl -w net.ipv4.ip_forward=1"), "{text}");
        assert!(text.contains("MASQUERADE"), "{text}");
    }

    #[test]
    fn a_dual_stack_network_forwards_ipv6_only_with_the_inet_table_and_not_internal() {
        let dual = |internal| Network {
            subnet6: Some("fd00:1::/64".parse().unwrap()),
            gateway6: Some("fd00:1::1".parse().unwrap()),
            ..net(internal)
        };
        let on = "sysctl -w net.ipv6.conf.all.forwarding=1";
        let text = plan_create(&dual(false), &FirewallFacts::default())
            .unwrap()
            .to_string();
        assert!(text.contains(on), "{text}");
        for (n, fw) in [
            (dual(true), FirewallFacts::default()),
            (net(false), FirewallFacts::default()),
            (dual(false), FirewallFacts::iptables()),
        ] {
            let text = plan_create(&n, &fw).unwrap().to_string();
            assert!(!text.contains("ipv6.conf.all.forwarding"), "{text}");
        }
    }

    #[test]
    fn internal_network_has_no_nat_and_no_forwarding_sysctl() {
        let text = plan_create(&net(true), &FirewallFacts::default())
            .unwrap()
            .to_string();
        assert!(!text.contains("add element inet cnet subnets4"), "{text}");
        assert!(
            text.contains("add element inet cnet internal { \"cn-lab\" }"),
            "{text}"
        );
        assert!(!text.contains("ip_forward"), "{text}");
        let text = plan_create(&net(true), &FirewallFacts::iptables())
            .unwrap()
            .to_string();
        assert!(!text.contains("MASQUERADE"), "{text}");
        assert!(!text.contains("ip_forward"), "{text}");
    }

    #[test]
    fn remove_deletes_the_elements_create_added_before_the_bridge() {
        let facts = FirewallFacts::default();
        let plan = plan_remove(&net(false), &facts);
        assert!(matches!(plan.ops.last().unwrap(), Op::DeleteLink { dev, .. } if dev == "cn-lab"));
        let created = plan_create(&net(false), &facts).unwrap();
        let added = created
            .ops
            .iter()
            .find(|o| matches!(o, Op::AddNetwork { .. }))
            .unwrap();
        assert_eq!(
            added.undo().unwrap(),
            Op::RemoveNetwork {
                drop_table: true,
                elements: firewall_elements(&net(false)).unwrap()
            },
            "a rollback of the first network takes the table"
        );
        assert_eq!(
            plan.ops[0],
            Op::RemoveNetwork {
                drop_table: false,
                elements: firewall_elements(&net(false)).unwrap()
            }
        );
    }

    #[test]
    fn remove_deletes_rules_before_the_bridge() {
        let plan = plan_remove(&net(false), &FirewallFacts::iptables());
        let last = plan.ops.last().unwrap();
        assert!(matches!(last, Op::DeleteLink { dev, .. } if dev == "cn-lab"));
        assert_eq!(plan.ops.len(), 2, "{plan}");
        // Exactly the rules create added, in reverse.
        let created: Vec<_> = plan_create(&net(false), &FirewallFacts::iptables())
            .unwrap()
            .ops
            .into_iter()
            .filter_map(|o| match o {
                Op::AppendRules(rs) => Some(rs),
                _ => None,
            })
            .flatten()
            .collect();
        let mut removed: Vec<_> = match &plan.ops[0] {
            Op::DeleteRules(rs) => rs.clone(),
            other => panic!("{other}"),
        };
        removed.reverse();
        assert_eq!(created, removed);
    }

    #[test]
    fn attach_into_new_namespace_creates_it_then_veth_address_route() {
        let n = net(false);
        let t = target(false);
        let req = AttachRequest {
            address6: None,
            default_route6: false,
            network: &n,
            target: &t,
            ifname: "eth0".into(),
            address: Some("10.1.0.2/24".parse().unwrap()),
            mac: None,
            default_route: true,
        };
        let plan = attach(&req).unwrap();
        assert!(matches!(&plan.ops[0], Op::CreateNetns { name } if name == "ns1"));
        let text = plan.to_string();
        assert!(
            text.contains("peer name eth0 mtu 1400 numtxqueues 1 numrxqueues 1 group 1668179316 netns ns1 address 02:42:0a:01:00:02"),
            "{text}"
        );
        assert!(
            text.contains("ip -n ns1 addr add 10.1.0.2/24 broadcast 10.1.0.255 dev eth0"),
            "{text}"
        );
        assert!(
            text.ends_with("ip -n ns1 route add default via 10.1.0.1\n"),
            "{text}"
        );
        // No IPv6 autoconfiguration on either end, set before the namespace end goes up.
        let no_v6 = text
            .find("ip -n ns1 link set eth0 addrgenmode none")
            .expect(&text);
        let host_v6 = text.find(".disable_ipv6=1").expect(&text);
        let up = text.find("ip -n ns1 link set eth0 up").expect(&text);
        assert!(host_v6 < up && no_v6 < up, "{text}");
    }

    #[test]
    fn attach_without_default_route_adds_no_route() {
        let n = net(true);
        let t = target(true);
        let req = AttachRequest {
            address6: None,
            default_route6: false,
            network: &n,
            target: &t,
            ifname: "eth1".into(),
            address: Some("10.1.0.2/24".parse().unwrap()),
            mac: Some([2, 0, 0, 0, 0, 9]),
            default_route: false,
        };
        let plan = attach(&req).unwrap();
        assert!(!plan.ops.iter().any(|o| matches!(o, Op::AddRoute { .. })));
        assert!(!plan.ops.iter().any(|o| matches!(o, Op::CreateNetns { .. })));
        assert!(plan.to_string().contains("address 02:00:00:00:00:09"));
    }

    #[test]
    fn unpublish_removes_exactly_what_publish_added() {
        let ports = vec![
            crate::ports::parse("8080:80").unwrap(),
            crate::ports::parse("127.0.0.1:9090:80").unwrap(),
        ];
        let addr = Some("10.1.0.2/24".parse().unwrap());
        let added = match plan_publish(addr, None, &ports).unwrap().as_slice() {
            [Op::PublishPorts(es)] => es.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(added.len(), 2);
        let ep = Endpoint {
            address6: None,
            default_route6: false,
            network: "lab".into(),
            key: "ns1".into(),
            netns: "ns1".into(),
            netns_path: "/run/netns/ns1".into(),
            ifname: "eth0".into(),
            host_ifname: None,
            mac: None,
            address: addr,
            aliases: vec![],
            ports,
            default_route: true,
            gw_priority: 0,
            no_default_route: false,
            since: 0,
        };
        match plan_unpublish(&ep).ops.as_slice() {
            [Op::UnpublishPorts(es)] => assert_eq!(*es, added),
            other => panic!("{other:?}"),
        }
        assert!(plan_publish(addr, None, &[]).unwrap().is_empty());
    }

    #[test]
    fn create_sets_route_localnet_after_the_rules_that_guard_it() {
        let plan = plan_create(&net(false), &FirewallFacts::iptables()).unwrap();
        let last = plan.ops.last().unwrap();
        assert_eq!(
            last.to_string(),
            "sysctl -w net.ipv4.conf.cn-lab.route_localnet=1"
        );
        assert!(
            plan.to_string()
                .contains("-A CNET-RAW-PREROUTING -d 127.0.0.0/8 -i cn-lab")
        );
        let internal = plan_create(&net(true), &FirewallFacts::iptables())
            .unwrap()
            .to_string();
        assert!(!internal.contains("route_localnet"), "{internal}");
        assert!(!internal.contains("127.0.0.0/8"), "{internal}");
    }

    /// The nftables table masquerades an IPv6 subnet by its own set; the iptables fallback
    /// speaks IPv4 only: there an IPv6 network in the state is a runtime error, not a panic or
    /// a rule for the wrong family.
    #[test]
    fn ipv6_subnets_are_masqueraded_by_the_table_and_refused_by_iptables() {
        let v6 = Network {
            subnet: Some("fd00:1::/64".parse().unwrap()),
            gateway: Some("fd00:1::1".parse().unwrap()),
            ..net(false)
        };
        let text = plan_create(&v6, &FirewallFacts::default())
            .unwrap()
            .to_string();
        assert!(
            text.contains("add element inet cnet subnets6 { fd00:1::/64 . \"cn-lab\" }"),
            "{text}"
        );
        let e = plan_create(&v6, &FirewallFacts::iptables()).unwrap_err();
        assert_eq!(
            (e.exit_code(), e.to_string()),
            (1, "IPv6 is not supported yet".into())
        );
    }

    /// On a dual-stack network a port is published in both families, each to the namespace's
    /// address of that family; one bound to a host address only in its family; an IPv6 host
    /// address where the namespace has no IPv6 address is a usage error.
    #[test]
    fn ports_are_published_to_the_address_of_each_family() {
        let v4 = Some("10.1.0.2/24".parse().unwrap());
        let v6 = Some("fd00:1::2/64".parse().unwrap());
        let ports: Vec<_> = ["8080:80", "127.0.0.1:9090:90", "[fd00::1]:7070:70"]
            .iter()
            .map(|s| crate::ports::parse(s).unwrap())
            .collect();
        let text: Vec<_> = publish_entries(v4, v6, &ports)
            .unwrap()
            .iter()
            .map(|e| format!("{} {}", e.map(), e.element_text()))
            .collect();
        assert_eq!(
            text,
            [
                "published tcp . 8080 : 10.1.0.2 . 80",
                "published6 tcp . 8080 : fd00:1::2 . 80",
                "published-ip 127.0.0.1 . tcp . 9090 : 10.1.0.2 . 90",
                "published6-ip fd00::1 . tcp . 7070 : fd00:1::2 . 70",
            ]
        );
        let e = plan_publish(v4, None, &ports).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("no IPv6 address"), "{e}");
        assert_eq!(plan_publish(v4, None, &ports[..2]).unwrap().len(), 1);
    }
}
