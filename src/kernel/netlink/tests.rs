//! Errors as users read them, and the messages built for the kernel.

use super::*;
use ipnetwork::IpNetwork;
use netlink_packet_route::route::{RouteProtocol, RouteScope};

#[test]
fn errno_text_has_no_rust_suffix() {
    assert_eq!(errno_text(libc::EEXIST), "File exists");
    assert_eq!(errno_text(libc::ENODEV), "No such device");
    assert_eq!(errno_text(libc::EPERM), "Operation not permitted");
}

#[test]
fn link_creation_messages() {
    assert_eq!(
        create_link_message("bridge", "cn-lab", Some(libc::EEXIST), "x"),
        "link cn-lab already exists"
    );
    assert_eq!(
        create_link_message("ipvlan", "x", Some(libc::EOPNOTSUPP), "x"),
        "this kernel has no ipvlan support (CONFIG_IPVLAN)"
    );
    assert_eq!(
        create_link_message("bridge", "b", Some(libc::EOPNOTSUPP), "x"),
        "this kernel has no bridge support (CONFIG_BRIDGE)"
    );
    assert_eq!(create_link_message("veth", "v", None, "boom"), "boom");
}

#[test]
fn kernel_error_uses_first_line_of_the_command() {
    let op = Op::CreateBridge {
        name: "cn-lab".into(),
        mac: [2, 0, 0, 0, 0, 1],
        mtu: None,
    };
    let e = kernel_error(&op, "link cn-lab already exists");
    assert_eq!(
        e.to_string(),
        "ip link add cn-lab mtu 1499 group 1668179316 type bridge mcast_snooping 0: link cn-lab already exists"
    );
}

#[test]
fn route_messages_match_iproute2() {
    let dest: Option<IpNetwork> = Some("10.1.0.5/24".parse().unwrap());
    let add = route_message(true, &dest, &None, Some(3)).unwrap();
    assert_eq!(add.header.scope, RouteScope::Link);
    assert_eq!(add.header.destination_prefix_length, 24);
    assert!(
        add.attributes
            .contains(&RouteAttribute::Destination(RouteAddress::Inet(
                "10.1.0.0".parse().unwrap()
            )))
    );
    assert!(add.attributes.contains(&RouteAttribute::Oif(3)));
    let via = Some("10.1.0.1".parse().unwrap());
    let add = route_message(true, &None, &via, None).unwrap();
    assert_eq!(add.header.scope, RouteScope::Universe);
    assert_eq!(add.header.destination_prefix_length, 0);
    let del = route_message(false, &None, &via, None).unwrap();
    assert_eq!(del.header.scope, RouteScope::NoWhere);
    assert_eq!(del.header.protocol, RouteProtocol::Unspec);
}

#[test]
fn v6_routes_and_addresses_get_v6_messages_and_addresses_skip_dad() {
    let via = Some("fd00::1".parse().unwrap());
    let add = route_message(true, &None, &via, None).unwrap();
    assert_eq!(
        add.header.address_family,
        netlink_packet_route::AddressFamily::Inet6
    );
    assert_eq!(add.header.scope, RouteScope::Universe);
    assert_eq!(add.header.destination_prefix_length, 0);
    let dest: Option<IpNetwork> = Some("::/0".parse().unwrap());
    let dev = route_message(true, &dest, &None, Some(3)).unwrap();
    assert_eq!(
        dev.header.address_family,
        netlink_packet_route::AddressFamily::Inet6
    );
    assert_eq!(dev.header.scope, RouteScope::Universe);
    assert!(dev.attributes.contains(&RouteAttribute::Oif(3)));
    let mixed = Some("10.1.0.1".parse().unwrap());
    assert!(route_message(true, &dest, &mixed, None).is_err());
    let m = request::address_message(3, &"fd00::2/64".parse().unwrap());
    assert_eq!(m.header.family, netlink_packet_route::AddressFamily::Inet6);
    assert_eq!(m.header.prefix_len, 64);
    assert_eq!(
        m.header.flags,
        netlink_packet_route::address::AddressHeaderFlags::Nodad
    );
    let m = request::address_message(3, &"10.1.0.2/24".parse().unwrap());
    assert_eq!(m.header.family, netlink_packet_route::AddressFamily::Inet);
    assert!(m.header.flags.is_empty());
}
