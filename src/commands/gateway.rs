//! Which of a namespace's networks carries its default route (Docker 28's gateway priority):
//! the highest `--gw-priority` among the networks that can, ties going to the earliest attach.
//! An attach that outranks the carrier takes the route over; a detach of the carrier hands it
//! to the next in rank. Pure: the caller plans the route changes and the records.

use crate::drivers::sublink::device_default_route;
use crate::model::{Endpoint, Network};
use crate::plan::{NsRef, Op};
use std::cmp::Reverse;
use std::net::IpAddr;

/// How a network's endpoint routes by default: via its gateway, or through its own device
/// (ipvlan l3, which has no gateway). `None` when the network cannot carry a default route.
pub fn default_route(net: &Network) -> Option<Route> {
    if net.internal || !net.driver.leases_addresses() {
        return None;
    }
    match net.gateway {
        Some(gw) => Some(Route::Via(gw)),
        None if device_default_route(net) => Some(Route::Device),
        None => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Via(IpAddr),
    Device,
}

impl Route {
    fn op(self, ns: NsRef, ifname: &str, adding: bool) -> Op {
        let (via, dev) = match self {
            Route::Via(gw) => (Some(gw), None),
            Route::Device => (None, Some(ifname.to_string())),
        };
        if adding {
            Op::AddRoute {
                ns,
                dest: None,
                via,
                dev,
            }
        } else {
            Op::DelRoute {
                ns,
                dest: None,
                via,
                dev,
            }
        }
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

/// Whether an endpoint may carry its namespace's default route.
fn eligible(net: &Network, ep: &Endpoint) -> Option<Route> {
    default_route(net).filter(|_| !ep.no_default_route)
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

/// The endpoint that should carry the route once `leaving` is gone, among the namespace's
/// other endpoints (with their networks), and how it routes.
pub fn next_carrier(others: &[(Network, Endpoint)]) -> Option<(&Endpoint, Route)> {
    others
        .iter()
        .filter_map(|(net, ep)| eligible(net, ep).map(|r| (ep, r)))
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
    fn only_a_strictly_higher_priority_takes_over() {
        let carrier = ep("a", 3, 1);
        assert!(takes_over(4, Some(&carrier)));
        assert!(!takes_over(3, Some(&carrier)));
        assert!(takes_over(-1, None));
    }
}
