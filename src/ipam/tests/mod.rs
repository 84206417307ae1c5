use super::*;

const NOW: u64 = 1_000_000;
const BOOT: &str = "boot-1";

fn net(s: &str) -> IpNetwork {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The IPv4 address numbered `n`.
fn v4(n: u32) -> IpAddr {
    IpAddr::V4(std::net::Ipv4Addr::from(n))
}

/// The number of an IPv4 address.
fn num(a: IpAddr) -> u32 {
    u32::try_from(family::to_int(a)).expect("an IPv4 address")
}

fn pool(subnet: &str, range: Option<&str>, gateway: Option<&str>) -> Pool {
    Pool::new(net(subnet), range.map(net), gateway.map(ip)).unwrap()
}

/// 10.1.0.0/24 with gateway 10.1.0.1: the usual bridge network.
fn lan() -> Pool {
    pool("10.1.0.0/24", None, Some("10.1.0.1"))
}

fn lease(address: &str, client: &str, state: LeaseState, since: u64) -> Lease {
    Lease {
        network: "n1".into(),
        address: ip(address),
        client: client.into(),
        state,
        since,
        expires: None,
        boot_id: BOOT.into(),
    }
}

fn bound(address: &str, client: &str) -> Lease {
    lease(address, client, LeaseState::Bound, NOW - 100)
}

fn released(address: &str, client: &str, since: u64) -> Lease {
    lease(address, client, LeaseState::Released, since)
}

fn offered(address: &str, client: &str, expires: u64) -> Lease {
    Lease {
        expires: Some(expires),
        ..lease(
            address,
            client,
            LeaseState::Offered,
            expires - OFFER_HOLD_SECS,
        )
    }
}

fn offer(pool: &Pool, leases: &[Lease], client: &str) -> Result<Lease> {
    discover(pool, "n1", leases, client, None, NOW, BOOT)
}

fn offer_ip(pool: &Pool, leases: &[Lease], client: &str) -> IpAddr {
    offer(pool, leases, client).unwrap().address
}

fn static_offer(pool: &Pool, leases: &[Lease], client: &str, addr: &str) -> Result<Lease> {
    discover(pool, "n1", leases, client, Some(ip(addr)), NOW, BOOT)
}

/// The message of a usage error (and that it is one: exit status 2).
fn usage_msg<T: std::fmt::Debug>(r: Result<T>) -> String {
    match r {
        Err(e @ Error::Usage(_)) => {
            assert_eq!(e.exit_code(), 2);
            e.to_string()
        }
        other => panic!("expected a usage error, got {other:?}"),
    }
}

/// Runs DISCOVER + REQUEST for clients c0, c1, ... until the pool refuses; returns the
/// addresses in order and the refusal.
fn fill(pool: &Pool) -> (Vec<IpAddr>, String) {
    let mut leases = Vec::new();
    for i in 0.. {
        match offer(pool, &leases, &format!("c{i}")) {
            Ok(o) => leases.push(request(&o, &leases, NOW).unwrap()),
            Err(e) => return (leases.iter().map(|l| l.address).collect(), e.to_string()),
        }
    }
    unreachable!()
}

// --- Pool ---

#[test]
fn pool_defaults_range_to_subnet_and_normalises() {
    let p = pool("10.1.0.77/24", None, Some("10.1.0.1"));
    assert_eq!(p.subnet, net("10.1.0.0/24"));
    assert_eq!(p.range, net("10.1.0.0/24"));
    assert_eq!(p.gateway, Some(ip("10.1.0.1")));
    let p = pool("10.1.0.0/16", Some("10.1.5.9/24"), None);
    assert_eq!(p.range, net("10.1.5.0/24"));
}

#[test]
fn pool_rejects_range_outside_subnet() {
    let r = Pool::new(net("10.1.0.0/16"), Some(net("10.9.0.0/24")), None);
    assert_eq!(
        usage_msg(r),
        "ip-range 10.9.0.0/24 is not inside subnet 10.1.0.0/16"
    );
    // Larger than the subnet although it starts inside it.
    let r = Pool::new(net("10.1.0.0/24"), Some(net("10.1.0.0/23")), None);
    assert_eq!(
        usage_msg(r),
        "ip-range 10.1.0.0/23 is not inside subnet 10.1.0.0/24"
    );
    assert!(Pool::new(net("10.1.0.0/24"), Some(net("10.1.0.0/24")), None).is_ok());
}

#[test]
fn pool_rejects_bad_gateways() {
    let r = Pool::new(net("10.1.0.0/24"), None, Some(ip("10.2.0.1")));
    assert_eq!(
        usage_msg(r),
        "gateway 10.2.0.1 is outside subnet 10.1.0.0/24"
    );
    let r = Pool::new(net("10.1.0.0/24"), None, Some(ip("10.1.0.0")));
    assert_eq!(
        usage_msg(r),
        "gateway 10.1.0.0 is the network or broadcast address of 10.1.0.0/24"
    );
    let r = Pool::new(net("10.1.0.0/24"), None, Some(ip("10.1.0.255")));
    assert_eq!(
        usage_msg(r),
        "gateway 10.1.0.255 is the network or broadcast address of 10.1.0.0/24"
    );
    // The gateway may lie outside the ip-range, and either address of a /31 is a host.
    assert!(
        Pool::new(
            net("10.1.0.0/24"),
            Some(net("10.1.0.128/25")),
            Some(ip("10.1.0.1"))
        )
        .is_ok()
    );
    assert!(Pool::new(net("10.1.0.0/31"), None, Some(ip("10.1.0.0"))).is_ok());
}

#[test]
fn offerable_excludes_reserved_addresses() {
    let p = pool("10.1.0.0/24", Some("10.1.0.0/25"), Some("10.1.0.1"));
    assert!(!p.offerable(ip("10.1.0.0")), "network");
    assert!(!p.offerable(ip("10.1.0.1")), "gateway");
    assert!(p.offerable(ip("10.1.0.2")));
    assert!(
        p.offerable(ip("10.1.0.127")),
        "range end is not the subnet broadcast"
    );
    assert!(!p.offerable(ip("10.1.0.128")), "outside range");
    assert!(!p.offerable(ip("10.1.0.255")), "broadcast, outside range");
    assert!(!p.offerable(ip("10.2.0.5")), "outside subnet");
    let whole = pool("10.1.0.0/24", None, None);
    assert!(!whole.offerable(ip("10.1.0.255")), "broadcast");
    assert!(whole.offerable(ip("10.1.0.1")), "no gateway configured");
}

#[test]
fn offerable_on_31_and_32() {
    let p31 = pool("10.1.0.4/31", None, None);
    assert!(p31.offerable(ip("10.1.0.4")));
    assert!(p31.offerable(ip("10.1.0.5")));
    assert!(!p31.offerable(ip("10.1.0.6")));
    let p32 = pool("10.1.0.9/32", None, None);
    assert!(p32.offerable(ip("10.1.0.9")));
    assert!(!p32.offerable(ip("10.1.0.8")));
    let p30 = pool("10.1.0.4/30", None, None);
    assert!(!p30.offerable(ip("10.1.0.4")));
    assert!(!p30.offerable(ip("10.1.0.7")));
}

// --- DISCOVER ---

#[test]
fn offer_fields() {
    let o = offer(&lan(), &[], "ns1").unwrap();
    assert_eq!(
        o,
        Lease {
            network: "n1".into(),
            address: ip("10.1.0.2"),
            client: "ns1".into(),
            state: LeaseState::Offered,
            since: NOW,
            expires: Some(NOW + OFFER_HOLD_SECS),
            boot_id: BOOT.into(),
        }
    );
}

#[test]
fn never_offers_gateway_network_or_broadcast() {
    let (addrs, err) = fill(&pool("10.1.0.0/29", None, Some("10.1.0.1")));
    let expected: Vec<IpAddr> = (2..=6).map(|i| IpAddr::from([10, 1, 0, i])).collect();
    assert_eq!(addrs, expected);
    assert_eq!(err, "no free address in 10.1.0.0/29");
    // A gateway in the middle is skipped too.
    let (addrs, _) = fill(&pool("10.1.0.0/29", None, Some("10.1.0.3")));
    assert_eq!(
        addrs,
        ["10.1.0.1", "10.1.0.2", "10.1.0.4", "10.1.0.5", "10.1.0.6"].map(ip)
    );
}

#[test]
fn respects_ip_range() {
    let p = pool("10.1.0.0/16", Some("10.1.5.0/30"), Some("10.1.0.1"));
    let (addrs, err) = fill(&p);
    // The range's own first and last addresses are hosts of the /16.
    assert_eq!(
        addrs,
        ["10.1.5.0", "10.1.5.1", "10.1.5.2", "10.1.5.3"].map(ip)
    );
    assert_eq!(err, "no free address in 10.1.5.0/30");
}

#[test]
fn range_at_the_subnet_edges_skips_network_and_broadcast() {
    let (addrs, _) = fill(&pool("10.1.0.0/24", Some("10.1.0.252/30"), None));
    assert_eq!(addrs, ["10.1.0.252", "10.1.0.253", "10.1.0.254"].map(ip));
    let (addrs, _) = fill(&pool("10.1.0.0/24", Some("10.1.0.0/30"), Some("10.1.0.1")));
    assert_eq!(addrs, ["10.1.0.2", "10.1.0.3"].map(ip));
}

#[test]
fn exhaustion_of_a_30_with_gateway() {
    // .0 network, .1 gateway, .3 broadcast: only .2 is leasable.
    let p = pool("10.1.0.0/30", None, Some("10.1.0.1"));
    let first = offer(&p, &[], "ns1").unwrap();
    assert_eq!(first.address, ip("10.1.0.2"));
    let leases = [request(&first, &[], NOW).unwrap()];
    assert_eq!(
        usage_msg(offer(&p, &leases, "ns2")),
        "no free address in 10.1.0.0/30"
    );
    let (addrs, err) = fill(&p);
    assert_eq!(addrs, [ip("10.1.0.2")]);
    assert_eq!(err, "no free address in 10.1.0.0/30");
}

#[test]
fn skips_bound_addresses() {
    let leases = [
        bound("10.1.0.2", "a"),
        bound("10.1.0.3", "b"),
        bound("10.1.0.5", "c"),
    ];
    assert_eq!(offer_ip(&lan(), &leases, "d"), ip("10.1.0.4"));
}

#[test]
fn static_address_is_granted_exactly() {
    let o = static_offer(&lan(), &[bound("10.1.0.2", "a")], "ns1", "10.1.0.7").unwrap();
    assert_eq!(o.address, ip("10.1.0.7"));
    assert_eq!(o.state, LeaseState::Offered);
    // Someone's released address or expired offer may be taken statically.
    let leases = [
        released("10.1.0.7", "ns2", NOW - 5),
        offered("10.1.0.8", "ns2", NOW),
    ];
    assert!(static_offer(&lan(), &leases, "ns1", "10.1.0.7").is_ok());
    assert!(static_offer(&lan(), &leases, "ns1", "10.1.0.8").is_ok());
    // And the client's own pending offer may be asked for again.
    let leases = [offered("10.1.0.9", "ns1", NOW + 10)];
    assert!(static_offer(&lan(), &leases, "ns1", "10.1.0.9").is_ok());
}

#[test]
fn static_conflict() {
    let leases = [bound("10.1.0.7", "ns3")];
    assert_eq!(
        usage_msg(static_offer(&lan(), &leases, "ns1", "10.1.0.7")),
        "address 10.1.0.7 is already leased to ns3"
    );
    let leases = [offered("10.1.0.7", "ns3", NOW + 1)];
    assert_eq!(
        usage_msg(static_offer(&lan(), &leases, "ns1", "10.1.0.7")),
        "address 10.1.0.7 is already leased to ns3"
    );
}

#[test]
fn static_refusals_name_the_reason() {
    let p = pool("10.1.0.0/24", Some("10.1.0.0/25"), Some("10.1.0.1"));
    assert_eq!(
        usage_msg(static_offer(&p, &[], "ns1", "10.1.0.200")),
        "address 10.1.0.200 is not in ip-range 10.1.0.0/25 of network n1"
    );
    assert_eq!(
        usage_msg(static_offer(&p, &[], "ns1", "10.9.0.2")),
        "address 10.9.0.2 is not in ip-range 10.1.0.0/25 of network n1"
    );
    assert_eq!(
        usage_msg(static_offer(&p, &[], "ns1", "10.1.0.1")),
        "address 10.1.0.1 is the gateway of network n1"
    );
    assert_eq!(
        usage_msg(static_offer(&p, &[], "ns1", "10.1.0.0")),
        "address 10.1.0.0 is the network or broadcast address of 10.1.0.0/24"
    );
    assert_eq!(
        usage_msg(static_offer(&lan(), &[], "ns1", "10.1.0.255")),
        "address 10.1.0.255 is the network or broadcast address of 10.1.0.0/24"
    );
}

#[test]
fn client_already_bound_is_refused() {
    let leases = [bound("10.1.0.5", "ns1")];
    let msg = "ns1 already holds address 10.1.0.5 in network n1";
    assert_eq!(usage_msg(offer(&lan(), &leases, "ns1")), msg);
    assert_eq!(
        usage_msg(static_offer(&lan(), &leases, "ns1", "10.1.0.9")),
        msg
    );
    assert_eq!(
        usage_msg(static_offer(&lan(), &leases, "ns1", "10.1.0.5")),
        msg
    );
    // A released or offered lease of the same client is no obstacle.
    let leases = [released("10.1.0.5", "ns1", NOW - 9)];
    assert!(offer(&lan(), &leases, "ns1").is_ok());
}

#[test]
fn sticky_after_release_even_when_lower_addresses_are_free() {
    let p = lan();
    let mut leases = Vec::new();
    for client in ["a", "b", "c"] {
        let o = offer(&p, &leases, client).unwrap();
        leases.push(request(&o, &leases, NOW).unwrap());
    }
    assert_eq!(leases[2].address, ip("10.1.0.4"));
    // a and c leave; c comes back and gets .4 although .2 is lower and free.
    leases[0] = release(&leases[0], NOW + 1);
    leases[2] = release(&leases[2], NOW + 2);
    assert_eq!(offer_ip(&p, &leases, "c"), ip("10.1.0.4"));
    assert_eq!(offer_ip(&p, &leases, "a"), ip("10.1.0.2"));
    // A newcomer gets a never-used address, not a remembered one.
    assert_eq!(offer_ip(&p, &leases, "d"), ip("10.1.0.5"));
}

#[test]
fn sticky_prefers_the_most_recent_address() {
    let leases = [
        released("10.1.0.9", "ns1", NOW - 50),
        released("10.1.0.6", "ns1", NOW - 10),
        released("10.1.0.8", "ns1", NOW - 30),
    ];
    assert_eq!(offer_ip(&lan(), &leases, "ns1"), ip("10.1.0.6"));
}

#[test]
fn sticky_skips_addresses_no_longer_offerable() {
    // The network was narrowed to a range that excludes the old address.
    let p = pool("10.1.0.0/24", Some("10.1.0.128/25"), Some("10.1.0.1"));
    let leases = [released("10.1.0.9", "ns1", NOW - 5)];
    assert_eq!(offer_ip(&p, &leases, "ns1"), ip("10.1.0.128"));
}

#[test]
fn sticky_returns_the_clients_own_pending_offer() {
    let leases = [bound("10.1.0.2", "a"), offered("10.1.0.7", "ns1", NOW + 20)];
    assert_eq!(offer_ip(&lan(), &leases, "ns1"), ip("10.1.0.7"));
}

#[test]
fn unexpired_offers_are_held_and_expired_ones_reusable() {
    let p = pool("10.1.0.0/30", None, Some("10.1.0.1"));
    let held = [offered("10.1.0.2", "ns1", NOW + 1)];
    assert_eq!(
        usage_msg(offer(&p, &held, "ns2")),
        "no free address in 10.1.0.0/30"
    );
    // expires == now: the hold is over.
    let expired = [offered("10.1.0.2", "ns1", NOW)];
    assert_eq!(offer_ip(&p, &expired, "ns2"), ip("10.1.0.2"));
    let older = [offered("10.1.0.2", "ns1", NOW - 100)];
    assert_eq!(offer_ip(&p, &older, "ns2"), ip("10.1.0.2"));
    // An offer without an expiry does not hold anything.
    let no_expiry = [lease("10.1.0.2", "ns1", LeaseState::Offered, NOW - 1)];
    assert_eq!(offer_ip(&p, &no_expiry, "ns2"), ip("10.1.0.2"));
}

#[test]
fn offers_expire_after_the_hold_time() {
    let p = pool("10.1.0.0/30", None, Some("10.1.0.1"));
    let o = offer(&p, &[], "ns1").unwrap();
    let later = |t| discover(&p, "n1", std::slice::from_ref(&o), "ns2", None, t, BOOT);
    assert!(later(NOW + OFFER_HOLD_SECS - 1).is_err());
    assert_eq!(
        later(NOW + OFFER_HOLD_SECS).unwrap().address,
        ip("10.1.0.2")
    );
}

#[test]
fn lru_reuse_when_no_never_used_address_is_left() {
    let p = pool("10.1.0.0/29", None, Some("10.1.0.1"));
    let leases = [
        bound("10.1.0.2", "a"),
        released("10.1.0.3", "b", NOW - 10),
        released("10.1.0.4", "c", NOW - 300),
        offered("10.1.0.5", "d", NOW - 400), // expired long ago: since NOW-430
        released("10.1.0.6", "e", NOW - 100),
    ];
    assert_eq!(offer_ip(&p, &leases, "new"), ip("10.1.0.5"));
    // Once d binds .5, the oldest released one is next.
    let mut leases = leases;
    leases[3] = bound("10.1.0.5", "d");
    assert_eq!(offer_ip(&p, &leases, "new"), ip("10.1.0.4"));
    // And with everything bound, the range is exhausted.
    let all_bound = leases.map(|l| Lease {
        state: LeaseState::Bound,
        ..l
    });
    assert_eq!(
        usage_msg(offer(&p, &all_bound, "new")),
        "no free address in 10.1.0.0/29"
    );
}

#[test]
fn lru_ties_break_on_the_lowest_address() {
    let p = pool("10.1.0.0/30", None, None);
    let leases = [released("10.1.0.2", "a", 5), released("10.1.0.1", "b", 5)];
    assert_eq!(offer_ip(&p, &leases, "new"), ip("10.1.0.1"));
}

#[test]
fn never_used_addresses_come_before_released_ones() {
    let leases = [released("10.1.0.2", "a", 1)];
    assert_eq!(offer_ip(&lan(), &leases, "new"), ip("10.1.0.3"));
}

#[test]
fn leases_outside_the_pool_are_ignored() {
    let p = pool("10.1.0.0/30", None, Some("10.1.0.1"));
    // Stale leases from before the network was changed.
    let leases = [released("10.9.0.2", "a", 1), bound("10.1.0.1", "b")];
    assert_eq!(offer_ip(&p, &leases, "a"), ip("10.1.0.2"));
}

#[test]
fn subnet_31_leases_both_addresses() {
    let (addrs, err) = fill(&pool("10.1.0.4/31", None, None));
    assert_eq!(addrs, ["10.1.0.4", "10.1.0.5"].map(ip));
    assert_eq!(err, "no free address in 10.1.0.4/31");
    let (addrs, _) = fill(&pool("10.1.0.4/31", None, Some("10.1.0.4")));
    assert_eq!(addrs, [ip("10.1.0.5")]);
}

#[test]
fn subnet_32_leases_its_one_address() {
    let (addrs, err) = fill(&pool("10.1.0.9/32", None, None));
    assert_eq!(addrs, [ip("10.1.0.9")]);
    assert_eq!(err, "no free address in 10.1.0.9/32");
    let (addrs, _) = fill(&pool("10.1.0.9/32", None, Some("10.1.0.9")));
    assert!(addrs.is_empty());
}

mod request;
mod scale;
mod v6;
