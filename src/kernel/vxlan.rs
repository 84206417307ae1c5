//! VXLAN devices and their forwarding database (head-end replication), through netlink.
//!
//! rtnetlink's builder makes the VXLAN device. The FDB entries are RTM_NEWNEIGH messages built
//! here and sent with NLM_F_CREATE | NLM_F_APPEND, so that several all-zero entries can sit on
//! one device (`bridge fdb append`).

use super::netlink::{
    CREATE, Conn, NlError, NlResult, Session, create_link_message, describe, errno_of, link_index,
    links,
};
use crate::error::{Error, Result};
use crate::model::family;
use crate::plan::NsRef;
use netlink_packet_core::{NLM_F_APPEND, NLM_F_CREATE};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::LinkAttribute;
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::RouteType;
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::LinkVxlan;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

/// The all-zero MAC address: the FDB entry used for broadcast, unknown unicast and multicast.
pub const ALL_ZERO_MAC: [u8; 6] = [0; 6];

fn index_of(c: &Conn, what: &str, name: &str) -> Result<u32> {
    match link_index(c, name) {
        Ok(Some(i)) => Ok(i),
        Ok(None) => Err(Error::runtime(format!("{what} {name}: no such link"))),
        Err(e) => Err(Error::runtime(format!("{what} {name}: {}", describe(&e)))),
    }
}

/// `Op::CreateVxlan`, on a connection in the host namespace; `device` is its port, MTU and
/// MAC address.
pub fn create(
    c: &Conn,
    name: &str,
    vni: u32,
    local: Ipv4Addr,
    underlay: Option<&str>,
    device: (u16, Option<u32>, Option<[u8; 6]>),
    master: Option<&str>,
) -> Result<()> {
    let (dstport, mtu, mac) = device;
    let mut b = LinkVxlan::new(name, vni)
        .local(local)
        .port(dstport)
        .learning(true);
    if let Some(u) = underlay {
        b = b.dev(index_of(c, "underlay", u)?);
    }
    if let Some(m) = mtu {
        b = b.mtu(m);
    }
    if let Some(m) = mac {
        b = b.address(m.to_vec());
    }
    if let Some(m) = master {
        b = b.controller(index_of(c, "master", m)?);
    }
    let b = b.append_extra_attribute(super::netlink::cnet_group());
    match c.ack(RouteNetlinkMessage::NewLink(b.up().build()), CREATE) {
        // The kernel ignores an alias in a create request: it is set right after (the group,
        // set with the link, marks it meanwhile).
        Ok(()) => super::netlink::mark_link(c, name)
            .map_err(|e| Error::runtime(format!("marking {name}: {}", describe(&e)))),
        // EEXIST also means "a VXLAN device with this VNI and port already exists".
        Err(e) if errno_of(&e) == Some(libc::EEXIST) => {
            if matches!(link_index(c, name), Ok(Some(_))) {
                Err(Error::runtime(format!("link {name} already exists")))
            } else {
                Err(Error::runtime(format!(
                    "another VXLAN device on this host already uses VNI {vni} on port {dstport}"
                )))
            }
        }
        Err(e) => Err(Error::runtime(create_link_message(
            "vxlan",
            name,
            errno_of(&e),
            &describe(&e),
        ))),
    }
}

/// The FDB entry `MAC dev IFINDEX dst DST self permanent` of a VXLAN device, as RTM_NEWNEIGH
/// and RTM_DELNEIGH carry it.
pub fn fdb_message(ifindex: u32, mac: [u8; 6], dst: Ipv4Addr) -> NeighbourMessage {
    let mut m = NeighbourMessage::default();
    m.header.family = AddressFamily::Bridge;
    m.header.ifindex = ifindex;
    m.header.state = NeighbourState::Permanent;
    m.header.flags = NeighbourFlags::Own; // NTF_SELF: the VXLAN device's own table
    m.header.kind = RouteType::Unspec;
    m.attributes
        .push(NeighbourAttribute::LinkLayerAddress(mac.to_vec()));
    m.attributes
        .push(NeighbourAttribute::Destination(NeighbourAddress::Inet(dst)));
    m
}

/// `bridge fdb append 00:00:00:00:00:00 dev DEV dst DST`: RTM_NEWNEIGH, sent with
/// NLM_F_CREATE | NLM_F_APPEND ([`FDB_APPEND`]), so that each peer adds one more remote to the
/// all-zero entry.
pub fn fdb_append_request(ifindex: u32, dst: Ipv4Addr) -> RouteNetlinkMessage {
    RouteNetlinkMessage::NewNeighbour(fdb_message(ifindex, ALL_ZERO_MAC, dst))
}

/// The flags [`fdb_append_request`] is sent with.
pub const FDB_APPEND: u16 = NLM_F_CREATE | NLM_F_APPEND;

/// `bridge fdb del MAC dev DEV dst DST`.
pub fn fdb_del_request(ifindex: u32, mac: [u8; 6], dst: Ipv4Addr) -> RouteNetlinkMessage {
    RouteNetlinkMessage::DelNeighbour(fdb_message(ifindex, mac, dst))
}

pub fn append_fdb(c: &Conn, dev: &str, dst: Ipv4Addr) -> Result<()> {
    let idx = index_of(c, "vxlan device", dev)?;
    match c.ack(fdb_append_request(idx, dst), FDB_APPEND) {
        Ok(()) => Ok(()),
        // The same remote twice: it is there, which is what was asked.
        Err(e) if errno_of(&e) == Some(libc::EEXIST) => Ok(()),
        Err(e) => Err(Error::runtime(describe(&e))),
    }
}

/// The IPv4 destination of a dumped bridge FDB entry (AF_BRIDGE messages carry it raw).
fn fdb_dst(m: &NeighbourMessage) -> Option<Ipv4Addr> {
    m.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::Destination(NeighbourAddress::Inet(ip)) => Some(*ip),
        NeighbourAttribute::Destination(NeighbourAddress::Other(b)) if b.len() == 4 => {
            Some(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
        }
        _ => None,
    })
}

fn fdb_mac(m: &NeighbourMessage) -> Option<[u8; 6]> {
    m.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::LinkLayerAddress(b) => <[u8; 6]>::try_from(b.as_slice()).ok(),
        _ => None,
    })
}

/// The MACs of a device's own FDB entries pointing at `dst` (the all-zero one and learned ones).
pub fn fdb_macs_to(c: &Conn, ifindex: u32, dst: Ipv4Addr) -> NlResult<Vec<[u8; 6]>> {
    let mut q = NeighbourMessage::default();
    q.header.family = AddressFamily::Bridge;
    let mut out = Vec::new();
    for m in c.dump(RouteNetlinkMessage::GetNeighbour(q))? {
        if let RouteNetlinkMessage::NewNeighbour(m) = m
            && m.header.ifindex == ifindex
            && fdb_dst(&m) == Some(dst)
            && let Some(mac) = fdb_mac(&m)
        {
            out.push(mac);
        }
    }
    Ok(out)
}

pub fn del_fdb(c: &Conn, dev: &str, dst: Ipv4Addr) -> Result<()> {
    let idx = match link_index(c, dev) {
        Ok(Some(i)) => i,
        // The device is gone, and its entries with it.
        Ok(None) => return Ok(()),
        Err(e) => return Err(Error::runtime(describe(&e))),
    };
    let gone = |e: &NlError| matches!(errno_of(e), Some(libc::ENOENT | libc::ENODEV));
    match c.ack(fdb_del_request(idx, ALL_ZERO_MAC, dst), 0) {
        Ok(()) => {}
        Err(e) if gone(&e) => {}
        Err(e) => return Err(Error::runtime(describe(&e))),
    }
    // And what the device learned behind that VTEP, or it would keep sending there.
    let macs = fdb_macs_to(c, idx, dst)
        .map_err(|e| Error::runtime(format!("bridge fdb show dev {dev}: {}", describe(&e))))?;
    for mac in macs {
        match c.ack(fdb_del_request(idx, mac, dst), 0) {
            Ok(()) => {}
            Err(e) if gone(&e) => {}
            Err(e) => return Err(Error::runtime(describe(&e))),
        }
    }
    Ok(())
}

pub use crate::model::Vtep;

/// Find the local VTEP from `--local` and/or `--underlay`, in the host namespace. A wrong value
/// is a usage error naming it. The underlay speaks IPv4 only for now.
pub fn find_vtep(local: Option<IpAddr>, underlay: Option<String>) -> Result<Vtep> {
    let local = local.map(family::v4).transpose()?;
    if local.is_none() && underlay.is_none() {
        return Err(Error::usage(
            "a vxlan network needs --local IP or --underlay IFACE (this host's underlay address)",
        ));
    }
    let (addrs, links) = Session::new().run(&NsRef::Host, host_addrs)?;
    let name_of = |idx: u32| links.get(&idx).cloned();
    let (local, idx) = match (local, &underlay) {
        (Some(l), _) => {
            let Some((idx, _)) = addrs.iter().find(|(_, a)| *a == l) else {
                return Err(Error::usage(format!(
                    "--local {l} is not an address of this host"
                )));
            };
            if let Some(u) = &underlay {
                let on = name_of(*idx).map(|(n, _)| n).unwrap_or_default();
                if &on != u {
                    return Err(Error::usage(format!(
                        "--local {l} is on {on}, not on --underlay {u}"
                    )));
                }
            }
            (l, *idx)
        }
        (None, Some(u)) => {
            let Some((&idx, _)) = links.iter().find(|(_, (n, _))| n == u) else {
                return Err(Error::usage(format!(
                    "--underlay {u}: no such interface on this host"
                )));
            };
            let Some((_, a)) = addrs.iter().find(|(i, _)| *i == idx) else {
                return Err(Error::usage(format!(
                    "--underlay {u} has no IPv4 address: give one, or --local"
                )));
            };
            (*a, idx)
        }
        (None, None) => unreachable!("checked above"),
    };
    let (underlay, mtu) = name_of(idx)
        .ok_or_else(|| Error::runtime(format!("no link with index {idx} on this host")))?;
    Ok(Vtep {
        local: IpAddr::V4(local),
        underlay,
        mtu,
    })
}

/// The interface of the host's default route: where the underlay is unless told otherwise.
pub fn default_route_link() -> Result<Option<String>> {
    Session::new().run(&NsRef::Host, |c| {
        let Some(idx) = super::netlink::default_route_oif(c)? else {
            return Ok(None);
        };
        let (_, links) = host_addrs(c)?;
        Ok(links.get(&idx).map(|(name, _)| name.clone()))
    })
}

type HostAddrs = (Vec<(u32, Ipv4Addr)>, HashMap<u32, (String, u32)>);

/// The host's IPv4 addresses (link index, address), and its links (index -> name, MTU).
fn host_addrs(c: &Conn) -> Result<HostAddrs> {
    let mut addrs = Vec::new();
    let dumped = c
        .dump(RouteNetlinkMessage::GetAddress(AddressMessage::default()))
        .map_err(|e| Error::runtime(format!("ip addr show: {}", describe(&e))))?;
    for m in dumped {
        let RouteNetlinkMessage::NewAddress(m) = m else {
            continue;
        };
        let local = m.attributes.iter().find_map(|a| match a {
            AddressAttribute::Local(IpAddr::V4(ip)) => Some(*ip),
            _ => None,
        });
        let addr = m.attributes.iter().find_map(|a| match a {
            AddressAttribute::Address(IpAddr::V4(ip)) => Some(*ip),
            _ => None,
        });
        if let Some(ip) = local.or(addr) {
            addrs.push((m.header.index, ip));
        }
    }
    let mut by_index = HashMap::new();
    let dumped = links(c).map_err(|e| Error::runtime(format!("ip link show: {}", describe(&e))))?;
    for m in dumped {
        let name = m.attributes.iter().find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        });
        let mtu = m.attributes.iter().find_map(|a| match a {
            LinkAttribute::Mtu(v) => Some(*v),
            _ => None,
        });
        if let (Some(n), Some(mtu)) = (name, mtu) {
            by_index.insert(m.header.index, (n, mtu));
        }
    }
    Ok((addrs, by_index))
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::{Emitable, NLM_F_EXCL, NLM_F_REPLACE};

    #[test]
    fn append_request_is_an_all_zero_permanent_self_entry_with_append_flags() {
        let dst: Ipv4Addr = "192.0.2.2".parse().unwrap();
        let req = fdb_append_request(7, dst);
        let f = FDB_APPEND;
        assert_eq!(f, NLM_F_CREATE | NLM_F_APPEND, "flags {f:#x}");
        assert_eq!(f & (NLM_F_EXCL | NLM_F_REPLACE), 0);
        let RouteNetlinkMessage::NewNeighbour(m) = &req else {
            panic!("not RTM_NEWNEIGH: {req:?}")
        };
        assert_eq!(m.header.family, AddressFamily::Bridge);
        assert_eq!(m.header.ifindex, 7);
        assert_eq!(m.header.state, NeighbourState::Permanent);
        assert_eq!(m.header.flags, NeighbourFlags::Own);
        assert_eq!(
            m.attributes,
            vec![
                NeighbourAttribute::LinkLayerAddress(vec![0; 6]),
                NeighbourAttribute::Destination(NeighbourAddress::Inet(dst)),
            ]
        );
    }

    #[test]
    fn the_message_on_the_wire_matches_the_kernel_layout() {
        let m = fdb_message(7, ALL_ZERO_MAC, "192.0.2.3".parse().unwrap());
        let mut buf = vec![0u8; m.buffer_len()];
        m.emit(&mut buf);
        // struct ndmsg: family AF_BRIDGE (7), pad, ifindex 7, state NUD_PERMANENT (0x80),
        // flags NTF_SELF (0x02), type 0.
        assert_eq!(&buf[..12], &[7, 0, 0, 0, 7, 0, 0, 0, 0x80, 0, 0x02, 0]);
        // NDA_LLADDR (2): 6 zero bytes, padded to 4; then NDA_DST (1): 192.0.2.3.
        assert_eq!(&buf[12..16], &[10, 0, 2, 0]);
        assert_eq!(&buf[16..22], &[0; 6]);
        assert_eq!(&buf[24..28], &[8, 0, 1, 0]);
        assert_eq!(&buf[28..32], &[192, 0, 2, 3]);
        assert_eq!(buf.len(), 32);
    }

    #[test]
    fn delete_request_names_the_mac_and_the_remote() {
        let mac = [2, 0x42, 10, 20, 0, 65];
        let req = fdb_del_request(9, mac, "192.0.2.3".parse().unwrap());
        let RouteNetlinkMessage::DelNeighbour(m) = &req else {
            panic!("not RTM_DELNEIGH: {req:?}")
        };
        assert_eq!(fdb_mac(m), Some(mac));
        assert_eq!(fdb_dst(m), Some("192.0.2.3".parse().unwrap()));
    }

    #[test]
    fn dumped_bridge_entries_carry_the_remote_raw() {
        let mut m = NeighbourMessage::default();
        m.attributes
            .push(NeighbourAttribute::Destination(NeighbourAddress::Other(
                vec![192, 0, 2, 9],
            )));
        assert_eq!(fdb_dst(&m), Some("192.0.2.9".parse().unwrap()));
    }
}
