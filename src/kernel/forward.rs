//! A remote endpoint on a VXLAN device, as flannel and Docker program it: a permanent FDB
//! entry (its MAC behind its host's VTEP, `bridge fdb replace MAC dev DEV dst VTEP self
//! permanent`) and a permanent neighbour entry per address (IPv4, and IPv6 on a dual-stack
//! overlay, at that MAC: `ip neigh replace IP lladdr MAC dev DEV nud permanent`). Both are sent with NLM_F_REPLACE: writing
//! them again (a re-sync) changes nothing and never adds a second entry.

use super::netlink::{Conn, NlError, describe, errno_of, link_index};
use super::vxlan::fdb_message;
use crate::error::{Error, Result};
use netlink_packet_core::{NLM_F_CREATE, NLM_F_REPLACE};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::RouteType;
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use std::net::{IpAddr, Ipv4Addr};

const REPLACE: u16 = NLM_F_CREATE | NLM_F_REPLACE;

/// The neighbour entry `IP lladdr MAC dev IFINDEX nud permanent`.
pub fn neigh_message(ifindex: u32, ip: IpAddr, mac: [u8; 6]) -> NeighbourMessage {
    let mut m = NeighbourMessage::default();
    m.header.family = match ip {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    m.header.ifindex = ifindex;
    m.header.state = NeighbourState::Permanent;
    m.header.flags = NeighbourFlags::empty();
    m.header.kind = RouteType::Unspec;
    m.attributes.push(NeighbourAttribute::Destination(match ip {
        IpAddr::V4(v4) => NeighbourAddress::Inet(v4),
        IpAddr::V6(v6) => NeighbourAddress::Inet6(v6),
    }));
    m.attributes
        .push(NeighbourAttribute::LinkLayerAddress(mac.to_vec()));
    m
}

pub fn add(
    c: &Conn,
    dev: &str,
    mac: [u8; 6],
    ips: impl Iterator<Item = IpAddr>,
    vtep: Ipv4Addr,
) -> Result<()> {
    let idx = match link_index(c, dev) {
        Ok(Some(i)) => i,
        Ok(None) => return Err(Error::runtime(format!("vxlan device {dev}: no such link"))),
        Err(e) => {
            return Err(Error::runtime(format!(
                "vxlan device {dev}: {}",
                describe(&e)
            )));
        }
    };
    let fdb = RouteNetlinkMessage::NewNeighbour(fdb_message(idx, mac, vtep));
    c.ack(fdb, REPLACE)
        .map_err(|e| Error::runtime(format!("bridge fdb replace on {dev}: {}", describe(&e))))?;
    for ip in ips {
        let neigh = RouteNetlinkMessage::NewNeighbour(neigh_message(idx, ip, mac));
        c.ack(neigh, REPLACE).map_err(|e| {
            Error::runtime(format!("ip neigh replace {ip} on {dev}: {}", describe(&e)))
        })?;
    }
    Ok(())
}

/// Both entries gone; what is gone already (or went with its device) counts as deleted.
pub fn del(
    c: &Conn,
    dev: &str,
    mac: [u8; 6],
    ips: impl Iterator<Item = IpAddr>,
    vtep: Ipv4Addr,
) -> Result<()> {
    let idx = match link_index(c, dev) {
        Ok(Some(i)) => i,
        Ok(None) => return Ok(()),
        Err(e) => return Err(Error::runtime(describe(&e))),
    };
    let gone = |e: &NlError| matches!(errno_of(e), Some(libc::ENOENT | libc::ENODEV));
    let mut requests: Vec<RouteNetlinkMessage> = ips
        .map(|ip| RouteNetlinkMessage::DelNeighbour(neigh_message(idx, ip, mac)))
        .collect();
    requests.push(RouteNetlinkMessage::DelNeighbour(fdb_message(
        idx, mac, vtep,
    )));
    for r in requests {
        match c.ack(r, 0) {
            Ok(()) => {}
            Err(e) if gone(&e) => {}
            Err(e) => return Err(Error::runtime(describe(&e))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_neighbour_entry_is_permanent_with_its_address_and_mac() {
        let m = neigh_message(7, Ipv4Addr::new(10, 0, 0, 5).into(), [2, 0x42, 10, 0, 0, 5]);
        assert_eq!(m.header.ifindex, 7);
        assert_eq!(m.header.family, AddressFamily::Inet);
        assert_eq!(m.header.state, NeighbourState::Permanent);
        assert!(
            m.attributes
                .contains(&NeighbourAttribute::Destination(NeighbourAddress::Inet(
                    Ipv4Addr::new(10, 0, 0, 5)
                )))
        );
        assert!(
            m.attributes
                .contains(&NeighbourAttribute::LinkLayerAddress(vec![
                    2, 0x42, 10, 0, 0, 5
                ]))
        );
    }

    #[test]
    fn an_ipv6_address_has_its_own_neighbour_entry_at_the_same_mac() {
        let ip: IpAddr = "fd00:1::5".parse().unwrap();
        let m = neigh_message(7, ip, [2, 0x42, 10, 0, 0, 5]);
        assert_eq!(m.header.family, AddressFamily::Inet6);
        assert_eq!(m.header.state, NeighbourState::Permanent);
        assert!(
            m.attributes
                .contains(&NeighbourAttribute::Destination(NeighbourAddress::Inet6(
                    "fd00:1::5".parse().unwrap()
                )))
        );
        let f = crate::model::Forward {
            dev: "cnvx4096".into(),
            mac: "02:42:0a:00:00:05".into(),
            ip: "10.0.0.5".parse().unwrap(),
            vtep: "192.0.2.2".parse().unwrap(),
            ip6: Some(ip),
        };
        let add = crate::plan::Op::AddForward(f.clone()).to_string();
        assert_eq!(
            add,
            "bridge fdb replace 02:42:0a:00:00:05 dev cnvx4096 dst 192.0.2.2 self permanent\n\
             ip neigh replace 10.0.0.5 lladdr 02:42:0a:00:00:05 dev cnvx4096 nud permanent\n\
             ip neigh replace fd00:1::5 lladdr 02:42:0a:00:00:05 dev cnvx4096 nud permanent"
        );
        let del = crate::plan::Op::DelForward(f).to_string();
        assert!(del.starts_with("ip neigh del 10.0.0.5 dev cnvx4096\nip neigh del fd00:1::5"));
    }
}
