//! The macvlan driver: each namespace gets a child of a host interface (the parent) with a MAC
//! address of its own, so it appears on the parent's LAN as a machine of its own. No bridge, no
//! NAT, no firewall rules: traffic goes straight to the segment. The planning itself is shared
//! with ipvlan (see [`super::sublink`]); this file holds what is macvlan's own.

pub use crate::model::MacvlanMode;

/// The macvlan driver, as [`super::of`] hands it out.
pub static DRIVER: super::sublink::Sublink = super::sublink::Sublink(crate::model::Driver::Macvlan);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::sublink::SublinkKind;
    use crate::drivers::sublink::tests::{net, target};
    use crate::drivers::{AttachRequest, plan_attach, plan_create, plan_detach, plan_remove};
    use crate::model::{Driver, Endpoint};
    use crate::plan::{NsRef, Op};

    #[test]
    fn modes_parse_and_print() {
        for m in MacvlanMode::ALL {
            assert_eq!(MacvlanMode::parse(m.as_str()).unwrap(), m);
        }
        let e = MacvlanMode::parse("l2").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("'l2'"), "{e}");
        assert_eq!(MacvlanMode::default(), MacvlanMode::Bridge);
        assert_eq!(
            SublinkKind::Macvlan(MacvlanMode::Passthru).to_string(),
            "type macvlan mode passthru"
        );
    }

    #[test]
    fn attach_creates_a_child_under_a_temporary_name_then_renames_it() {
        let n = net(Driver::Macvlan, Some("private"));
        let t = target(false);
        let req = AttachRequest {
            address6: None,
            default_route6: false,
            network: &n,
            target: &t,
            ifname: "eth0".into(),
            address: Some("192.168.50.130/24".parse().unwrap()),
            mac: None,
            default_route: true,
        };
        let plan = plan_attach(&req).unwrap();
        assert!(matches!(&plan.ops[0], Op::CreateNetns { name } if name == "ns1"));
        let Op::CreateSublink {
            kind,
            parent,
            temp,
            name,
            ns,
            mtu,
            mac,
        } = &plan.ops[1]
        else {
            panic!("{plan:?}");
        };
        assert_eq!(*kind, SublinkKind::Macvlan(MacvlanMode::Private));
        assert_eq!(parent, "lan0");
        assert_eq!(name, "eth0");
        assert_eq!(*ns, NsRef::Named("ns1".into()));
        // MTU: the kernel takes the parent's unless the network has one.
        assert_eq!(*mtu, None);
        // Docker's MAC scheme, 02:42 + the address.
        assert_eq!(*mac, Some([2, 0x42, 192, 168, 50, 130]));
        let temp = temp.clone().expect("a temporary name");
        assert!(temp.starts_with("cnt") && temp.len() <= 15, "{temp}");
        assert_ne!(temp, "eth0");
        let text = plan.to_string();
        assert!(
            text.contains(&format!(
                "ip link add link lan0 name {temp} netns ns1 address 02:42:c0:a8:32:82 \
                 group 1668179316 type macvlan mode private\nip -n ns1 link set {temp} name eth0\n"
            )),
            "{text}"
        );
        assert!(
            text.contains("ip -n ns1 addr add 192.168.50.130/24 broadcast 192.168.50.255 dev eth0"),
            "{text}"
        );
        assert!(
            text.ends_with("ip -n ns1 route add default via 192.168.50.1\n"),
            "{text}"
        );
        // Undoing the creation deletes the child by its final name, inside the namespace.
        assert_eq!(
            plan.ops[1].undo(),
            Some(Op::DeleteLink {
                ns: NsRef::Named("ns1".into()),
                dev: "eth0".into()
            })
        );
        // No firewall rules at all.
        assert!(!plan.ops.iter().any(|o| matches!(
            o,
            Op::AppendRule(_) | Op::AppendRules(_) | Op::CreateBase { .. }
        )));
    }

    #[test]
    fn static_mac_and_network_mtu_are_used_and_internal_has_no_route() {
        let mut n = net(Driver::Macvlan, None);
        n.mtu = Some(1400);
        n.internal = true;
        let t = target(true);
        let req = AttachRequest {
            address6: None,
            default_route6: false,
            network: &n,
            target: &t,
            ifname: "eth1".into(),
            address: Some("192.168.50.200/24".parse().unwrap()),
            mac: Some([2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]),
            default_route: false,
        };
        let plan = plan_attach(&req).unwrap();
        let text = plan.to_string();
        assert!(
            text.contains("netns ns1 mtu 1400 address 02:aa:bb:cc:dd:ee group 1668179316 type macvlan mode bridge"),
            "{text}"
        );
        assert!(!plan.ops.iter().any(|o| matches!(o, Op::AddRoute { .. })));
        assert!(!plan.ops.iter().any(|o| matches!(o, Op::CreateNetns { .. })));
    }

    #[test]
    fn plain_network_needs_nothing_in_the_kernel_and_detach_deletes_the_child() {
        let n = net(Driver::Macvlan, None);
        assert!(
            plan_create(&n, &crate::firewall::FirewallFacts::default())
                .unwrap()
                .is_empty()
        );
        assert!(plan_remove(&n, &Default::default()).is_empty());
        let ep = Endpoint {
            address6: None,
            default_route6: false,
            network: "lan".into(),
            key: "ns1".into(),
            netns: "ns1".into(),
            netns_path: "/run/netns/ns1".into(),
            ifname: "eth0".into(),
            host_ifname: None,
            mac: None,
            address: Some("192.168.50.130/24".parse().unwrap()),
            aliases: vec![],
            ports: vec![],
            default_route: true,
            gw_priority: 0,
            no_default_route: false,
            publish_to: None,
            publish_to6: None,
            since: 0,
        };
        let plan = plan_detach(&n, &ep);
        assert_eq!(
            plan.ops,
            vec![Op::DeleteLink {
                ns: NsRef::Named("ns1".into()),
                dev: "eth0".into()
            }]
        );
        let by_path = Endpoint {
            netns: "/proc/42/ns/net".into(),
            netns_path: "/proc/42/ns/net".into(),
            ..ep
        };
        assert_eq!(
            plan_detach(&n, &by_path).to_string(),
            "nsenter --net=/proc/42/ns/net ip link del eth0\n"
        );
    }

    #[test]
    fn host_shim_is_a_bridge_mode_child_on_the_host_with_a_route_to_the_range() {
        let mut n = net(Driver::Macvlan, None);
        n.ip_range = Some("192.168.50.128/25".parse().unwrap());
        n.options.insert("host_shim".into(), "true".into());
        let plan = plan_create(&n, &crate::firewall::FirewallFacts::default()).unwrap();
        let shim = crate::drivers::sublink::shim_name("lan");
        assert_eq!(shim, "cns-lan");
        assert_eq!(
            plan.to_string(),
            format!(
                "ip link add link lan0 name {shim} address {} group 1668179316 type macvlan mode bridge\n\
                 ip addr add 192.168.50.254/32 dev {shim}\n\
                 ip link set {shim} up\n\
                 ip route add 192.168.50.128/25 dev {shim}\n",
                crate::plan::format_mac(&crate::drivers::sublink::shim_mac(&n))
            )
        );
        assert_eq!(
            plan_remove(&n, &Default::default()).ops,
            vec![Op::DeleteLink {
                ns: NsRef::Host,
                dev: shim
            }]
        );
    }
}
