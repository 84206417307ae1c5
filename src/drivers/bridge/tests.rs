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

fn dual(internal: bool) -> Network {
    Network {
        subnet6: Some("fd00:1::/64".parse().unwrap()),
        gateway6: Some("fd00:1::1".parse().unwrap()),
        ..net(internal)
    }
}

#[test]
fn a_dual_stack_network_forwards_ipv6_on_either_backend_unless_internal() {
    let on = "sysctl -w net.ipv6.conf.all.forwarding=1";
    for fw in [FirewallFacts::default(), FirewallFacts::iptables()] {
        let text = plan_create(&dual(false), &fw).unwrap().to_string();
        assert!(text.contains(on), "{text}");
        for n in [dual(true), net(false)] {
            let text = plan_create(&n, &fw).unwrap().to_string();
            assert!(!text.contains("ipv6.conf.all.forwarding"), "{text}");
        }
    }
}

/// With the iptables backend, a dual-stack network's IPv6 subnet gets the IPv4 subnet's rules
/// in ip6tables (no loopback ones); they go again with the network.
#[test]
fn the_iptables_backend_writes_the_ipv6_half_to_ip6tables() {
    let plan = plan_create(&dual(false), &FirewallFacts::iptables()).unwrap();
    let text = plan.to_string();
    for line in [
        "ip6tables -t filter -A CNET-ISOLATION-2 -o cn-lab -m comment --comment cnet:lab -j DROP",
        "ip6tables -t nat -A CNET-POSTROUTING -s fd00:1::/64 ! -o cn-lab -m comment --comment cnet:lab -j MASQUERADE",
        "ip6tables -t filter -A CNET-FORWARD -o cn-lab -m conntrack --ctstate DNAT -m comment --comment cnet:lab -j ACCEPT",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    assert!(!text.contains("ip6tables -t raw"), "{text}");
    let internal = plan_create(&dual(true), &FirewallFacts::iptables())
        .unwrap()
        .to_string();
    for line in [
        "ip6tables -t filter -A CNET-INPUT -i cn-lab -m comment --comment cnet:lab -j DROP",
        "ip6tables -t filter -A CNET-ISOLATION-1 -i cn-lab ! -o cn-lab -m comment --comment cnet:lab -j DROP",
    ] {
        assert!(internal.contains(line), "{line}\n{internal}");
    }
    assert!(!internal.contains("MASQUERADE"), "{internal}");
    let removal = plan_remove(&dual(false), &FirewallFacts::iptables()).to_string();
    assert!(
        removal.contains("ip6tables -t nat -D CNET-POSTROUTING -s fd00:1::/64"),
        "{removal}"
    );
    // An IPv4-only network writes nothing to ip6tables.
    let v4 = plan_create(&net(false), &FirewallFacts::iptables()).unwrap();
    assert!(!v4.to_string().contains("ip6tables -t"), "{v4}");
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
        publish_to: None,
        publish_to6: None,
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
