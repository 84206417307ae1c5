//! Scale: these must finish in well under a second (no timing assertions).

use super::*;

/// 10,000 bound leases packed from 10.1.0.2 up.
fn ten_thousand_bound() -> Vec<Lease> {
    (0..10_000u32)
        .map(|i| Lease {
            address: v4(num(ip("10.1.0.2")) + i),
            client: format!("c{i}"),
            ..bound("10.1.0.2", "x")
        })
        .collect()
}

#[test]
fn scale_next_free_after_ten_thousand_bound() {
    let p = pool("10.1.0.0/16", None, Some("10.1.0.1"));
    let leases = ten_thousand_bound();
    let expected = v4(num(ip("10.1.0.2")) + 10_000);
    assert_eq!(offer_ip(&p, &leases, "new"), expected);
    assert_eq!(
        static_offer(&p, &leases, "new", "10.1.200.1")
            .unwrap()
            .address,
        ip("10.1.200.1")
    );
    let o = offer(&p, &leases, "new").unwrap();
    assert!(request(&o, &leases, NOW).is_ok());
}

#[test]
fn scale_lru_among_ten_thousand_released() {
    // A /18 range (16,382 hosts) with 10,000 bound and the rest released: LRU must be found.
    let p = pool("10.1.0.0/18", None, Some("10.1.0.1"));
    let mut leases = ten_thousand_bound();
    let first_released = num(ip("10.1.0.2")) + 10_000;
    let last = num(ip("10.1.63.254"));
    leases.extend((first_released..=last).map(|a| Lease {
        address: v4(a),
        client: format!("r{a}"),
        ..released("10.1.0.2", "x", NOW - u64::from(a % 5000))
    }));
    let got = offer_ip(&p, &leases, "new");
    let oldest = leases
        .iter()
        .filter(|l| l.state == LeaseState::Released)
        .min_by_key(|l| (l.since, l.address))
        .unwrap();
    assert_eq!(got, oldest.address);
    // And a returning client still gets its own address back.
    assert_eq!(offer_ip(&p, &leases, &format!("r{last}")), v4(last));
}

#[test]
fn scale_exhausted_range_is_reported() {
    // A /18 where every host is bound: the walk covers the range once and stops.
    let p = pool("10.1.0.0/18", None, Some("10.1.0.1"));
    let leases: Vec<Lease> = (num(ip("10.1.0.2"))..=num(ip("10.1.63.254")))
        .map(|a| Lease {
            address: v4(a),
            client: format!("c{a}"),
            ..bound("10.1.0.2", "x")
        })
        .collect();
    assert_eq!(
        usage_msg(offer(&p, &leases, "new")),
        "no free address in 10.1.0.0/18"
    );
}

#[test]
fn scale_a_slash_8_range_is_walked_lazily() {
    let p = pool("10.0.0.0/8", None, Some("10.0.0.1"));
    assert_eq!(offer_ip(&p, &[], "ns1"), ip("10.0.0.2"));
    let p = pool("10.0.0.0/8", Some("10.255.255.0/24"), None);
    assert_eq!(offer_ip(&p, &[], "ns1"), ip("10.255.255.0"));
    let (addrs, _) = fill(&pool("10.0.0.0/8", Some("10.255.255.252/30"), None));
    assert_eq!(
        addrs,
        ["10.255.255.252", "10.255.255.253", "10.255.255.254"].map(ip)
    );
}

#[test]
fn leasable_leaves_out_network_broadcast_and_gateway_inside_the_range() {
    assert_eq!(lan().leasable(), 253);
    assert_eq!(pool("10.1.0.0/30", None, Some("10.1.0.1")).leasable(), 1);
    assert_eq!(pool("10.1.0.0/30", None, None).leasable(), 2);
    assert_eq!(
        pool("10.1.0.0/24", Some("10.1.0.64/26"), Some("10.1.0.1")).leasable(),
        64
    );
    assert_eq!(pool("10.1.0.4/31", None, Some("10.1.0.4")).leasable(), 1);
    // Nothing left: a range holding only the gateway, or only the network address.
    for (range, gateway) in [("10.1.0.1/32", "10.1.0.1"), ("10.1.0.0/31", "10.1.0.1")] {
        let p = pool("10.1.0.0/24", Some(range), Some(gateway));
        assert_eq!(p.leasable(), 0, "{range}");
        let e = p.check_leasable().unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string()
                .starts_with(&format!("ip-range {range} leaves no address to lease")),
            "{e}"
        );
    }
    lan().check_leasable().unwrap();
}

/// Random subnets, ranges and gateways: whenever the pool is accepted as leasable, DISCOVER
/// finds an address in it, and whenever it is refused, no address of the range is offerable.
#[test]
fn fuzzed_pools_are_leasable_exactly_when_an_address_can_be_offered() {
    let mut rng = crate::fuzz::Rng::new(24);
    let mut leasable = 0;
    for _ in 0..20_000 {
        let base = 0x0a01_0000u32;
        let prefix = 22 + rng.below(11) as u8;
        let subnet = IpNetwork::new(v4(base), prefix).unwrap();
        let range_prefix = prefix + rng.below(usize::from(33 - prefix)) as u8;
        let offset = rng.below(1 << (32 - prefix)) as u32;
        let range = IpNetwork::new(v4(base + offset), range_prefix).unwrap();
        let gateway = (rng.below(3) > 0).then(|| v4(base + rng.below(1 << (32 - prefix)) as u32));
        let Ok(p) = Pool::new(subnet, Some(range), gateway) else {
            continue;
        };
        let any_offerable =
            (num(p.range.network())..=num(p.range.broadcast())).any(|a| p.offerable(v4(a)));
        assert_eq!(p.check_leasable().is_ok(), any_offerable, "{p:?}");
        if any_offerable {
            leasable += 1;
            discover(&p, "n1", &[], "c", None, NOW, BOOT).unwrap();
        }
    }
    assert!(leasable > 1000, "{leasable}");
}
