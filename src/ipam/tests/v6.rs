//! IPv6 pools, and dual-stack networks whose lease table holds both families.

use super::*;

#[test]
fn v6_pool_offers_all_but_the_subnet_router_anycast_address_and_the_gateway() {
    let p = pool("fd00:1::/120", None, Some("fd00:1::1"));
    assert!(!p.offerable(ip("fd00:1::")), "subnet-router anycast");
    assert!(!p.offerable(ip("fd00:1::1")), "gateway");
    assert!(p.offerable(ip("fd00:1::2")));
    // No broadcast in IPv6: the last address is a host's.
    assert!(p.offerable(ip("fd00:1::ff")));
    assert!(!p.offerable(ip("fd00:1::100")));
    assert!(!p.offerable(ip("10.1.0.2")), "another family");
    assert_eq!(p.leasable(), 256 - 2);
    // /127 and /128 have no anycast address to leave out (RFC 6164).
    assert_eq!(pool("fd00:1::/127", None, None).leasable(), 2);
    let e = Pool::new(net("fd00:1::/64"), None, Some(ip("fd00:1::"))).unwrap_err();
    assert_eq!(
        e.to_string(),
        "gateway fd00:1:: is the network or broadcast address of fd00:1::/64"
    );
}

#[test]
fn v6_dora_walks_a_slash_64_lazily_and_keeps_addresses_sticky() {
    let p = pool("fd00:1::/64", None, Some("fd00:1::1"));
    assert_eq!(p.leasable(), (1u128 << 64) - 2);
    let (addrs, err) = fill(&pool(
        "fd00:1::/64",
        Some("fd00:1::fc/126"),
        Some("fd00:1::fd"),
    ));
    assert_eq!(addrs, ["fd00:1::fc", "fd00:1::fe", "fd00:1::ff"].map(ip));
    assert_eq!(err, "no free address in fd00:1::fc/126");
    let o = offer(&p, &[], "ns1").unwrap();
    assert_eq!(o.address, ip("fd00:1::2"));
    let ack = request(&o, &[], NOW).unwrap();
    let rel = release(&ack, NOW + 1);
    assert_eq!(offer_ip(&p, &[rel], "ns1"), ip("fd00:1::2"));
}

#[test]
fn v6_subnets_have_a_first_host_room_and_vtep_slices() {
    assert_eq!(first_host(net("fd00:1::/64")), ip("fd00:1::1"));
    assert_eq!(first_host(net("fd00:1::4/127")), ip("fd00:1::4"));
    check_room(net("fd00:1::/126")).unwrap();
    assert_eq!(
        check_room(net("fd00:1::/127")).unwrap_err().to_string(),
        "subnet fd00:1::/127 is too small: a network needs at least a /126"
    );
    let s = vtep_slice(net("fd00:1::/64"), ip("2001:db8::2"), &[ip("2001:db8::1")]).unwrap();
    assert_eq!(s.range, net("fd00:1::8000:0:0:0/65"));
    assert!(!overlaps(net("fd00::/8"), net("10.0.0.0/8")));
}

#[test]
fn a_dual_stack_client_holds_one_bound_address_of_each_family() {
    let v4 = pool("10.1.0.0/24", None, Some("10.1.0.1"));
    let v6 = pool("fd00:1::/64", None, Some("fd00:1::1"));
    // ns1 holds a v4 address, and gets a v6 one beside it from the same table.
    let mut table = vec![bound("10.1.0.2", "ns1")];
    let o6 = offer(&v6, &table, "ns1").unwrap();
    assert_eq!(o6.address, ip("fd00:1::2"));
    let ack6 = request(&o6, &table, NOW).unwrap();
    table.push(ack6.clone());
    // A second address of either family is refused, each naming its own.
    assert_eq!(
        usage_msg(offer(&v6, &table, "ns1")),
        "ns1 already holds address fd00:1::2 in network n1"
    );
    assert_eq!(
        usage_msg(offer(&v4, &table, "ns1")),
        "ns1 already holds address 10.1.0.2 in network n1"
    );
    // Released, each family comes back sticky to its own address.
    let table: Vec<Lease> = table.iter().map(|l| release(l, NOW + 1)).collect();
    assert_eq!(offer_ip(&v4, &table, "ns1"), ip("10.1.0.2"));
    assert_eq!(offer_ip(&v6, &table, "ns1"), ip("fd00:1::2"));
    assert_eq!(offer_ip(&v6, &table, "ns2"), ip("fd00:1::3"));
}

#[test]
fn v6_default_subnets_are_the_free_slash_64s_of_the_host_prefix() {
    let ula = net("fd12:3456:789a::/48");
    assert_eq!(choose_subnet6(ula, &[]), Some(net("fd12:3456:789a::/64")));
    let used = [net("fd12:3456:789a::/64"), net("10.0.0.0/8")];
    assert_eq!(
        choose_subnet6(ula, &used),
        Some(net("fd12:3456:789a:1::/64"))
    );
    assert_eq!(choose_subnet6(ula, &[ula]), None);
    for (subnet, why) in [("fe80::/64", "link-local"), ("ff02::/64", "multicast")] {
        let e = check_usable("subnet6", net(subnet)).unwrap_err();
        assert!(e.to_string().contains(why), "{e}");
    }
}
