//! Which of a namespace's networks carries its default route (Docker 28's gateway priority):
//! the highest `--gw-priority` among the networks that can, ties going to the earliest attach.
//! An attach that outranks the carrier takes the route over; a detach of the carrier hands it
//! to the next in rank. Each family is chosen on its own: a namespace on a dual-stack network
//! and an IPv4-only one of higher priority routes IPv4 through the second and IPv6 through the
//! first. Pure: the caller plans the route changes and the records.

use crate::drivers::sublink::device_default_route;
use crate::model::family::Family;
use crate::model::{Endpoint, Network};
use crate::plan::{NsRef, Op};
use ipnetwork::IpNetwork;
use std::cmp::Reverse;
use std::net::{IpAddr, Ipv6Addr};

/// How a network's endpoint routes IPv4 by default (see [`default_route_in`]).
pub fn default_route(net: &Network) -> Option<Route> {
    default_route_in(net, Family::V4)
}

/// How a network's endpoint routes one family by default: via its gateway, or through its own
/// device (ipvlan l3, which has no gateway). `None` when the network cannot carry a default
/// route of that family (internal, or IPv6 on an IPv4-only network).
pub fn default_route_in(net: &Network, family: Family) -> Option<Route> {
    if net.internal || !net.driver.leases_addresses() {
        return None;
    }
    let gateway = match family {
        Family::V4 => net.gateway,
        Family::V6 if net.dual_stack() => net.gateway6,
        Family::V6 => return None,
    };
    match gateway {
        Some(gw) => Some(Route::Via(gw)),
        None if device_default_route(net) => Some(Route::Device(family)),
        None => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Via(IpAddr),
    Device(Family),
}

impl Route {
    fn op(self, ns: NsRef, ifname: &str, adding: bool) -> Op {
        let (dest, via, dev) = match self {
            Route::Via(gw) => (None, Some(gw), None),
            Route::Device(Family::V4) => (None, None, Some(ifname.to_string())),
            // `default` alone is IPv4's: IPv6's is `::/0`.
            Route::Device(Family::V6) => (
                Some(IpNetwork::new(Ipv6Addr::UNSPECIFIED.into(), 0).expect("a /0")),
                None,
                Some(ifname.to_string()),
            ),
        };
        if adding {
            Op::AddRoute { ns, dest, via, dev }
        } else {
            Op::DelRoute { ns, dest, via, dev }
        }
    }

    /// The step that gives a namespace this default route through its interface `ifname`.
    pub fn adding_in(self, ns: NsRef, ifname: &str) -> Op {
        self.op(ns, ifname, true)
    }

    /// The step that gives an endpoint's namespace this default route.
    pub fn adding(self, ep: &Endpoint) -> Op {
        self.op(ep.ns_ref(), &ep.ifname, true)
    }

    /// The step that takes it away.
    pub fn deleting(self, ep: &Endpoint) -> Op {
        self.op(ep.ns_ref(), &ep.ifname, false)
    }
}

/// Whether an endpoint may carry its namespace's default route of a family.
fn eligible(net: &Network, ep: &Endpoint, family: Family) -> Option<Route> {
    default_route_in(net, family).filter(|_| !ep.no_default_route)
}

/// Whether an endpoint carries its namespace's default route of a family now.
pub fn carries(ep: &Endpoint, family: Family) -> bool {
    match family {
        Family::V4 => ep.default_route,
        Family::V6 => ep.default_route6,
    }
}

/// The endpoint with its flag for carrying the default route of a family set to `on`.
pub fn with_carrier(ep: &Endpoint, family: Family, on: bool) -> Endpoint {
    let mut ep = ep.clone();
    match family {
        Family::V4 => ep.default_route = on,
        Family::V6 => ep.default_route6 = on,
    }
    ep
}

/// The rank among a namespace's endpoints: higher priority first, then the earlier attach.
fn rank(ep: &Endpoint) -> (i32, Reverse<u64>) {
    (ep.gw_priority, Reverse(ep.since))
}

/// Whether a new endpoint (eligible, with its priority) outranks the current carrier: only a
/// strictly higher priority takes the route from an earlier attach.
pub fn takes_over(new_priority: i32, carrier: Option<&Endpoint>) -> bool {
    carrier.is_none_or(|c| new_priority > c.gw_priority)
}

/// The endpoint that should carry the IPv4 route once `leaving` is gone, among the
/// namespace's other endpoints (with their networks), and how it routes.
pub fn next_carrier(others: &[(Network, Endpoint)]) -> Option<(&Endpoint, Route)> {
    next_carrier_in(others, Family::V4)
}

/// As [`next_carrier`], for the route of one family.
pub fn next_carrier_in(
    others: &[(Network, Endpoint)],
    family: Family,
) -> Option<(&Endpoint, Route)> {
    others
        .iter()
        .filter_map(|(net, ep)| eligible(net, ep, family).map(|r| (ep, r)))
        .max_by_key(|(ep, _)| rank(ep))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Driver;

    fn net(name: &str, gw: Option<&str>, internal: bool) -> Network {
        Network {
            name: name.into(),
            driver: Driver::Bridge,
            gateway: gw.map(|g| g.parse().unwrap()),
            internal,
            ..Default::default()
        }
    }

    fn ep(network: &str, priority: i32, since: u64) -> Endpoint {
        Endpoint {
            gw_priority: priority,
            since,
            ..crate::testing::endpoint(network, "ns1", None)
        }
    }

    #[test]
    fn the_highest_priority_carries_the_route_and_ties_go_to_the_earliest() {
        let others = vec![
            (net("a", Some("10.1.0.1"), false), ep("a", 0, 1)),
            (net("b", Some("10.2.0.1"), false), ep("b", 5, 3)),
            (net("c", Some("10.3.0.1"), false), ep("c", 5, 2)),
            (net("i", Some("10.4.0.1"), true), ep("i", 9, 0)),
        ];
        let (carrier, route) = next_carrier(&others).unwrap();
        assert_eq!(carrier.network, "c");
        assert_eq!(route, Route::Via("10.3.0.1".parse().unwrap()));
    }

    #[test]
    fn an_endpoint_that_asked_for_no_default_route_never_carries_it() {
        let mut quiet = ep("a", 10, 1);
        quiet.no_default_route = true;
        let others = vec![(net("a", Some("10.1.0.1"), false), quiet)];
        assert!(next_carrier(&others).is_none());
    }

    #[test]
    fn each_family_has_its_own_carrier() {
        let dual = Network {
            subnet6: Some("fd00:2::/64".parse().unwrap()),
            gateway6: Some("fd00:2::1".parse().unwrap()),
            ..net("d", Some("10.2.0.1"), false)
        };
        let others = vec![
            (net("a", Some("10.1.0.1"), false), ep("a", 5, 1)),
            (dual, ep("d", 0, 2)),
        ];
        let (v4, _) = next_carrier_in(&others, Family::V4).unwrap();
        assert_eq!(v4.network, "a");
        let (v6, route) = next_carrier_in(&others, Family::V6).unwrap();
        assert_eq!(v6.network, "d");
        assert_eq!(route, Route::Via("fd00:2::1".parse().unwrap()));
        // An IPv4-only network never carries an IPv6 route.
        assert_eq!(default_route_in(&others[0].0, Family::V6), None);
        let op = Route::Via("fd00:2::1".parse().unwrap()).adding(&others[1].1);
        assert_eq!(
            op.to_string(),
            "ip -n ns1 -6 route add default via fd00:2::1"
        );
        let dev = Route::Device(Family::V6).adding(&others[1].1);
        assert_eq!(dev.to_string(), "ip -n ns1 -6 route add default dev eth0");
    }

    #[test]
    fn only_a_strictly_higher_priority_takes_over() {
        let carrier = ep("a", 3, 1);
        assert!(takes_over(4, Some(&carrier)));
        assert!(!takes_over(3, Some(&carrier)));
        assert!(takes_over(-1, None));
    }
}
