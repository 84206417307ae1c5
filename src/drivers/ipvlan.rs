//! The ipvlan driver: like macvlan, each namespace gets a child of a host interface, but every
//! child shares the parent's MAC address. In l2 mode the children are on the parent's LAN; in
//! l3 and l3s mode the parent routes for them, so they have no gateway: their default route is
//! a device route. The planning is shared with macvlan (see [`super::sublink`]).

pub use crate::model::IpvlanMode;

/// The ipvlan driver, as [`super::of`] hands it out.
pub static DRIVER: super::sublink::Sublink = super::sublink::Sublink(crate::model::Driver::Ipvlan);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::sublink::SublinkKind;
    use crate::drivers::sublink::tests::{net, target};
    use crate::drivers::{AttachRequest, plan_attach, plan_create};
    use crate::model::Driver;
    use crate::plan::{NsRef, Op};

    #[test]
    fn modes_parse_and_print() {
        for m in IpvlanMode::ALL {
            assert_eq!(IpvlanMode::parse(m.as_str()).unwrap(), m);
        }
        assert!(IpvlanMode::parse("bridge").is_err());
        assert_eq!(IpvlanMode::default(), IpvlanMode::L2);
        assert!(IpvlanMode::L2.has_gateway());
        assert!(!IpvlanMode::L3s.has_gateway());
        assert_eq!(
            SublinkKind::Ipvlan(IpvlanMode::L3s).to_string(),
            "type ipvlan mode l3s"
        );
    }

    fn request<'a>(
        n: &'a crate::model::Network,
        t: &'a crate::drivers::Target,
        mac: Option<[u8; 6]>,
    ) -> AttachRequest<'a> {
        AttachRequest {
            address6: None,
            default_route6: false,
            network: n,
            target: t,
            ifname: "eth0".into(),
            address: Some("192.168.50.130/24".parse().unwrap()),
            mac,
            default_route: true,
        }
    }

    #[test]
    fn l2_attach_is_a_child_sharing_the_parent_mac_with_a_gateway_route() {
        let n = net(Driver::Ipvlan, None);
        let t = target(true);
        let plan = plan_attach(&request(&n, &t, None)).unwrap();
        let Op::CreateSublink { kind, mac, .. } = &plan.ops[0] else {
            panic!("{plan:?}");
        };
        assert_eq!(*kind, SublinkKind::Ipvlan(IpvlanMode::L2));
        assert_eq!(*mac, None);
        let text = plan.to_string();
        assert!(
            text.contains("netns ns1 group 1668179316 type ipvlan mode l2\n"),
            "{text}"
        );
        assert!(
            text.ends_with("ip -n ns1 route add default via 192.168.50.1\n"),
            "{text}"
        );
        assert!(
            plan_create(&n, &crate::firewall::FirewallFacts::default())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn l3_attach_routes_default_through_the_device() {
        let mut n = net(Driver::Ipvlan, Some("l3"));
        n.gateway = None;
        let t = target(true);
        let plan = plan_attach(&request(&n, &t, None)).unwrap();
        assert_eq!(
            plan.ops.last(),
            Some(&Op::AddRoute {
                ns: NsRef::Named("ns1".into()),
                dest: None,
                via: None,
                dev: Some("eth0".into()),
            })
        );
        assert!(
            plan.to_string()
                .ends_with("ip -n ns1 route add default dev eth0\n")
        );
    }

    #[test]
    fn a_mac_address_is_refused() {
        let n = net(Driver::Ipvlan, None);
        let t = target(true);
        let e = plan_attach(&request(&n, &t, Some([2, 0, 0, 0, 0, 1]))).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--mac"), "{e}");
    }
}
