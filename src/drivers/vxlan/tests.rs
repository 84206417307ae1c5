use super::*;
use crate::drivers::{AttachRequest, Target, plan_attach, plan_create as create_any};
use crate::firewall::rule::Rule;
use crate::firewall::tunnel::TunnelEntry;
use crate::model::Driver;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn ov() -> Network {
    Network {
        name: "ov".into(),
        id: "0123456789ab".into(),
        driver: Driver::Vxlan,
        subnet: Some("10.20.0.0/24".parse().unwrap()),
        ip_range: Some("10.20.0.0/26".parse().unwrap()),
        internal: true,
        mtu: Some(1450),
        bridge: Some("cn-ov".into()),
        parent: Some("up0".into()),
        vni: Some(5000),
        local: Some(ip("192.0.2.1")),
        peers: vec![ip("192.0.2.2"), ip("192.0.2.3")],
        dstport: Some(4789),
        ..Default::default()
    }
}

#[test]
fn create_builds_an_isolated_bridge_then_the_tunnel_then_one_flood_entry_per_peer() {
    let plan = create_any(&ov(), &FirewallFacts::iptables()).unwrap();
    let text = plan.to_string();
    assert!(
        text.contains(
            "ip link add cn-ov mtu 1449 group 1668179316 type bridge mcast_snooping 0\nip link set cn-ov mtu 1450"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "ip link add cnvx5000 mtu 1450 group 1668179316 type vxlan id 5000 local 192.0.2.1 dev up0 \
             dstport 4789 learning\nip link set cnvx5000 master cn-ov\nip link set cnvx5000 up"
        ),
        "{text}"
    );
    assert!(text.ends_with(
        "bridge fdb append 00:00:00:00:00:00 dev cnvx5000 dst 192.0.2.2\n\
         bridge fdb append 00:00:00:00:00:00 dev cnvx5000 dst 192.0.2.3\n"
    ));
    // No gateway, no NAT, no forwarding.
    assert!(!plan.ops.iter().any(|o| matches!(o, Op::AddAddress { .. })));
    assert!(
        !text.contains("MASQUERADE") && !text.contains("ip_forward"),
        "{text}"
    );
    // The isolation rules are in before the tunnel connects the bridge to other hosts.
    let tunnel = plan
        .ops
        .iter()
        .position(|o| matches!(o, Op::CreateVxlan { .. }))
        .unwrap();
    let last_rule = plan
        .ops
        .iter()
        .rposition(|o| matches!(o, Op::AppendRule(_)))
        .unwrap();
    assert!(last_rule < tunnel);
    assert!(text.contains("! -d 10.20.0.0/24 -i cn-ov"), "{text}");
}

#[test]
fn every_create_step_has_an_undo_that_removes_it() {
    let facts = [FirewallFacts::default(), FirewallFacts::iptables()];
    let ops = facts.iter().flat_map(|f| create_any(&ov(), f).unwrap().ops);
    for op in ops {
        match &op {
            // Made by the first network: taken out again by a rollback.
            Op::CreateBase { .. } => assert_eq!(op.undo(), Some(Op::RemoveBase)),
            Op::AddNetwork {
                create_table,
                elements,
            } => assert_eq!(
                op.undo(),
                Some(Op::RemoveNetwork {
                    drop_table: *create_table,
                    elements: elements.clone()
                })
            ),
            Op::AllowTunnel(es) => {
                assert_eq!(op.undo(), Some(Op::DisallowTunnel(es.clone())))
            }
            Op::CreateVxlan { name, .. } => assert_eq!(
                op.undo(),
                Some(Op::DeleteLink {
                    ns: NsRef::Host,
                    dev: name.clone()
                })
            ),
            Op::AppendFdb { dev, dst } => assert_eq!(
                op.undo(),
                Some(Op::DelFdb {
                    dev: dev.clone(),
                    dst: *dst
                })
            ),
            // A setting of a device the rollback deletes.
            Op::DisableIpv6 { .. } => assert_eq!(op.undo(), None),
            other => assert!(other.undo().is_some(), "{other}"),
        }
    }
}

#[test]
fn remove_cuts_the_tunnel_first_and_deletes_exactly_the_rules_create_added() {
    let plan = plan_remove(&ov(), &FirewallFacts::iptables());
    assert!(matches!(&plan.ops[0], Op::DeleteLink { dev, .. } if dev == "cnvx5000"));
    assert!(matches!(plan.ops.last(), Some(Op::DeleteLink { dev, .. }) if dev == "cn-ov"));
    let mut created: Vec<Rule> = create_any(&ov(), &FirewallFacts::iptables())
        .unwrap()
        .ops
        .into_iter()
        .filter_map(|o| match o {
            Op::AppendRule(r) => Some(r),
            _ => None,
        })
        .collect();
    created.reverse();
    let removed: Vec<Rule> = plan
        .ops
        .iter()
        .filter_map(|o| match o {
            Op::DeleteRule(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(created, removed);
}

fn peer(addr: &str) -> TunnelEntry {
    TunnelEntry::Peer {
        dstport: 4789,
        vni: 5000,
        addr: addr.parse().unwrap(),
    }
}

#[test]
fn create_guards_the_vni_with_its_peers_before_the_tunnel_exists() {
    let tunnels = [
        TunnelEntry::Guarded {
            dstport: 4789,
            vni: 5000,
        },
        peer("192.0.2.2"),
        peer("192.0.2.3"),
    ];
    // One transaction: the bridge isolated, the table made with it, the VNI guarded.
    let plan = create_any(&ov(), &FirewallFacts::default()).unwrap();
    let added = plan
        .ops
        .iter()
        .position(|o| matches!(o, Op::AddNetwork { .. }))
        .unwrap();
    let mut want = firewall_elements(&ov()).unwrap();
    want.extend(tunnels.iter().copied().map(NetElement::Tunnel));
    assert_eq!(
        plan.ops[added],
        Op::AddNetwork {
            create_table: true,
            elements: want.clone()
        }
    );
    let tunnel = plan
        .ops
        .iter()
        .position(|o| matches!(o, Op::CreateVxlan { .. }))
        .unwrap();
    assert!(added < tunnel);
    assert!(!plan.ops.iter().any(|o| matches!(o, Op::AllowTunnel(_))));
    let text = plan.to_string();
    assert!(
        text.contains(
            "add element inet cnet guarded { 4789 . 5000 }\n\
             add element inet cnet peers { 4789 . 5000 . 192.0.2.2, 4789 . 5000 . 192.0.2.3 }\nEOF"
        ),
        "{text}"
    );
    // Removal takes out exactly what create put in, after the tunnel is gone.
    let rm = plan_remove(&ov(), &FirewallFacts::default());
    assert!(matches!(
        &rm.ops[0],
        Op::CreateVxlan { .. } | Op::DeleteLink { .. }
    ));
    assert_eq!(
        rm.ops[1],
        Op::RemoveNetwork {
            drop_table: false,
            elements: want
        }
    );

    // With iptables, the filter is its own step, after the rules and the table it lives in
    // (made by the plan when missing, so a dry run shows it).
    let plan = create_any(&ov(), &FirewallFacts::iptables()).unwrap();
    let allowed = plan
        .ops
        .iter()
        .position(|o| matches!(o, Op::AllowTunnel(es) if es == &tunnels))
        .unwrap();
    assert_eq!(
        plan.ops[allowed - 1],
        Op::AddNetwork {
            create_table: true,
            elements: Vec::new()
        }
    );
    assert!(matches!(plan.ops[allowed - 2], Op::AppendRule(_)));
    let with_table = FirewallFacts {
        table: true,
        ..FirewallFacts::iptables()
    };
    let plan = create_any(&ov(), &with_table).unwrap();
    let allowed = plan
        .ops
        .iter()
        .position(|o| matches!(o, Op::AllowTunnel(_)))
        .unwrap();
    assert!(matches!(plan.ops[allowed - 1], Op::AppendRule(_)));
    // No iptables rule looks at the tunnel's packets any more.
    assert!(
        !plan.ops.iter().any(
            |o| matches!(o, Op::AppendRule(r) if r.table == crate::firewall::rule::Table::Raw)
        )
    );
    let rm = plan_remove(&ov(), &FirewallFacts::iptables());
    assert!(matches!(&rm.ops[1], Op::DisallowTunnel(gone) if gone == &tunnels));
}

#[test]
fn peer_add_hears_then_floods_and_peer_rm_drops_then_forgets() {
    let add = plan_peer_add(&ov(), ip("192.0.2.9")).unwrap();
    assert!(matches!(&add.ops[0], Op::AllowTunnel(es) if es == &[peer("192.0.2.9")]));
    let text = add.to_string();
    assert!(
        text.contains("bridge fdb append 00:00:00:00:00:00 dev cnvx5000 dst 192.0.2.9"),
        "{text}"
    );
    assert!(
        !add.ops
            .iter()
            .any(|o| matches!(o, Op::AppendRule(_) | Op::DeleteRule(_)))
    );

    let rm = plan_peer_rm(&ov(), ip("192.0.2.3")).unwrap();
    // Its packets are dropped before the flood entry goes.
    assert!(matches!(&rm.ops[0], Op::DisallowTunnel(es) if es == &[peer("192.0.2.3")]));
    let text = rm.to_string();
    assert!(
        text.starts_with("nft 'delete element inet cnet peers { 4789 . 5000 . 192.0.2.3 }'\n"),
        "{text}"
    );
    assert!(
        text.contains("bridge fdb del 00:00:00:00:00:00 dev cnvx5000 dst 192.0.2.3\n"),
        "{text}"
    );
    assert!(
        text.contains("bridge fdb show dev cnvx5000 | awk '$2 == \"dst\" && $3 == \"192.0.2.3\""),
        "{text}"
    );
}

#[test]
fn attach_is_a_veth_on_the_bridge_with_the_overlay_mtu_and_no_default_route() {
    let n = ov();
    let t = Target {
        given: "ns1".into(),
        key: "ns1".into(),
        name: Some("ns1".into()),
        ns: NsRef::Named("ns1".into()),
        path: "/run/netns/ns1".into(),
        exists: true,
    };
    let plan = plan_attach(&AttachRequest {
        address6: None,
        default_route6: false,
        network: &n,
        target: &t,
        ifname: "eth0".into(),
        address: Some("10.20.0.1/24".parse().unwrap()),
        mac: None,
        default_route: true,
    })
    .unwrap();
    let text = plan.to_string();
    assert!(
        text.contains("mtu 1450 numtxqueues 1 numrxqueues 1 group 1668179316 type veth peer name eth0 mtu 1450"),
        "{text}"
    );
    assert!(text.contains("master cn-ov"), "{text}");
    assert!(
        !plan.ops.iter().any(|o| matches!(o, Op::AddRoute { .. })),
        "{text}"
    );
}

#[test]
fn default_port_is_iana_4789_and_names_fit_ifnamsiz() {
    let mut n = ov();
    n.dstport = None;
    assert!(
        create_any(&n, &FirewallFacts::default())
            .unwrap()
            .to_string()
            .contains("dstport 4789")
    );
    assert!(vxlan_ifname(MAX_VNI).len() <= crate::names::IFNAMSIZ_MAX);
}
