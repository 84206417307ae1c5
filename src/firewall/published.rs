//! Published ports as entries of four nftables maps (two per address family). Pure: what the entries are, how they are
//! encoded for the kernel and how they read as `nft` commands; `firewall::nft` installs them.
//!
//! ```text
//! table inet cnet {                       (firewall::inet has the whole table)
//!   map published    { type inet_proto . inet_service : ipv4_addr . inet_service }
//!   map published-ip { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service }
//!   map published6, published6-ip  (the same with ipv6_addr)
//!   chain prerouting { type nat hook prerouting priority dstnat
//!     fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @published-ip
//!     fib daddr type local dnat ip to meta l4proto . th dport map @published
//!     (the same two with ip6, dnat ip6 to, @published6-ip and @published6) }
//!   chain output { type nat hook output priority -100  (the same two rules) }
//! }
//! ```
//!
//! One element per host port: `tcp . 8080 : 10.1.0.2 . 80`, in `published-ip` when the port
//! is bound to one host address (`127.0.0.1:8080:80`). On a dual-stack network a port is
//! also an element of `published6` (`tcp . 8080 : fd00:1::2 . 80`): IPv6 connections to
//! the host's addresses go to the namespace's IPv6 address; `[ADDR]:8080:80` goes in
//! `published6-ip` only. A lookup costs the same whatever the
//! number of published ports, and adding or removing a namespace's ports touches only its own
//! elements, found by key: no rule is listed, matched or rewritten as the network grows (with
//! iptables, deleting a rule means fetching and comparing its whole chain). The maps are
//! hashes, so a port range is one element per port: ranges stay short in practice.

use super::push_key_field;
use crate::error::{Error, Result};
use crate::model::PortMapping;
use std::fmt;
use std::net::IpAddr;

/// The map of ports published on every host address (IPv4 connections).
pub const MAP_ANY: &str = "published";
/// The map of ports published on one host address (IPv4).
pub const MAP_IP: &str = "published-ip";
/// The same two maps for IPv6 connections, to the namespace's IPv6 address.
pub const MAP6_ANY: &str = "published6";
pub const MAP6_IP: &str = "published6-ip";
/// Every map of published ports.
pub const MAPS: [&str; 4] = [MAP_ANY, MAP_IP, MAP6_ANY, MAP6_IP];

/// One published host port: where it is reached, where it leads. Both addresses are of one
/// family, which chooses the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PortEntry {
    /// The host address it is bound to; `None` for every local address.
    pub host_ip: Option<IpAddr>,
    /// IP protocol number (6 tcp, 17 udp, 132 sctp).
    pub proto: u8,
    pub host_port: u16,
    /// The namespace's address and port.
    pub addr: IpAddr,
    pub port: u16,
}

/// The IP protocol number of a protocol name `ports::parse` accepts.
pub fn proto_number(name: &str) -> Option<u8> {
    match name {
        "tcp" => Some(libc::IPPROTO_TCP as u8),
        "udp" => Some(libc::IPPROTO_UDP as u8),
        "sctp" => Some(libc::IPPROTO_SCTP as u8),
        _ => None,
    }
}

pub(crate) fn proto_name(n: u8) -> String {
    match n as i32 {
        libc::IPPROTO_TCP => "tcp".into(),
        libc::IPPROTO_UDP => "udp".into(),
        libc::IPPROTO_SCTP => "sctp".into(),
        _ => n.to_string(),
    }
}

fn octets(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// The entries of a namespace's published ports at its addresses (`addrs`: one per family,
/// IPv4 first), one per host port and family; a range keeps each port's offset in the
/// container's range. A port bound to a host address goes to the namespace's address of that
/// family only, and one of a family the namespace has no address of is refused (exit 2). Two
/// mappings that give the same entry yield it once.
pub fn entries(addrs: &[IpAddr], ports: &[PortMapping]) -> Result<Vec<PortEntry>> {
    let mut out: Vec<PortEntry> = Vec::new();
    for m in ports {
        // `ports::parse` accepts only protocols that have a number.
        let Some(proto) = proto_number(&m.protocol) else {
            continue;
        };
        let targets: Vec<IpAddr> = addrs
            .iter()
            .copied()
            .filter(|a| m.host_ip.is_none_or(|h| h.is_ipv6() == a.is_ipv6()))
            .collect();
        if targets.is_empty() {
            return Err(Error::usage(format!(
                "port {}: the namespace has no {} address on this network to publish it to",
                crate::ports::host_ip_text(m),
                if m.host_ip.is_some_and(|h| h.is_ipv6()) {
                    "IPv6"
                } else {
                    "IPv4"
                }
            )));
        }
        for addr in targets {
            for host_port in m.host_port..=m.host_port_end {
                // `ports::parse` makes both ranges the same length.
                let port = m.container_port + (host_port - m.host_port);
                let e = PortEntry {
                    host_ip: m.host_ip,
                    proto,
                    host_port,
                    addr,
                    port,
                };
                if !out.contains(&e) {
                    out.push(e);
                }
            }
        }
    }
    Ok(out)
}

/// How many host ports are published, from the keys of every map's elements: a port of a
/// dual-stack namespace is an element of `published` and of `published6` under the same key
/// (`tcp . 8080`), and is one port. Keys of the other maps differ by length (an address of
/// one family first), so no two ports share one.
pub fn count_ports<'a>(keys: impl IntoIterator<Item = &'a [u8]>) -> usize {
    keys.into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

impl PortEntry {
    /// The map this entry belongs in.
    pub fn map(&self) -> &'static str {
        match (self.addr.is_ipv6(), self.host_ip.is_some()) {
            (false, false) => MAP_ANY,
            (false, true) => MAP_IP,
            (true, false) => MAP6_ANY,
            (true, true) => MAP6_IP,
        }
    }

    /// The element key: `[host address .] protocol . host port` (network byte order).
    pub fn key(&self) -> Vec<u8> {
        let mut k = Vec::with_capacity(24);
        if let Some(ip) = self.host_ip {
            push_key_field(&mut k, &octets(ip));
        }
        push_key_field(&mut k, &[self.proto]);
        push_key_field(&mut k, &self.host_port.to_be_bytes());
        k
    }

    /// The element data: `address . port`, what the DNAT rewrites the destination to.
    pub fn data(&self) -> Vec<u8> {
        let mut d = Vec::with_capacity(20);
        push_key_field(&mut d, &octets(self.addr));
        push_key_field(&mut d, &self.port.to_be_bytes());
        d
    }

    /// The entry an element of map `map` is, read back from the kernel (its key and data as
    /// [`key`](Self::key) and [`data`](Self::data) make them); `None` for one cnet cannot
    /// have made.
    pub fn from_element(map: &str, key: &[u8], data: &[u8]) -> Option<PortEntry> {
        let (alen, with_ip) = match map {
            MAP_ANY => (4, false),
            MAP_IP => (4, true),
            MAP6_ANY => (16, false),
            MAP6_IP => (16, true),
            _ => return None,
        };
        let ip = |b: &[u8]| -> Option<IpAddr> {
            Some(if alen == 4 {
                IpAddr::from(<[u8; 4]>::try_from(b).ok()?)
            } else {
                IpAddr::from(<[u8; 16]>::try_from(b).ok()?)
            })
        };
        let iplen = if with_ip { alen } else { 0 };
        if key.len() != iplen + 8 || data.len() != alen + 4 {
            return None;
        }
        let host_ip = if with_ip {
            Some(ip(&key[..alen])?)
        } else {
            None
        };
        let rest = &key[iplen..];
        Some(PortEntry {
            host_ip,
            proto: rest[0],
            host_port: u16::from_be_bytes([rest[4], rest[5]]),
            addr: ip(&data[..alen])?,
            port: u16::from_be_bytes([data[alen], data[alen + 1]]),
        })
    }

    /// The element as `nft` writes it: `[127.0.0.1 . ]tcp . 8080 : 10.1.0.2 . 80`.
    pub fn element_text(&self) -> String {
        let ip = self
            .host_ip
            .map(|ip| format!("{ip} . "))
            .unwrap_or_default();
        format!(
            "{ip}{} . {} : {} . {}",
            proto_name(self.proto),
            self.host_port,
            self.addr,
            self.port
        )
    }
}

/// `nft add element …` / `nft delete element …` lines for a plan's printout.
pub struct ElementCommands<'a> {
    pub verb: &'a str,
    pub entries: &'a [PortEntry],
}

impl fmt::Display for ElementCommands<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let elements = self.entries.iter().map(|e| (e.map(), e.element_text()));
        f.write_str(&super::element_commands(self.verb, elements))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str) -> PortMapping {
        crate::ports::parse(s).unwrap()
    }

    fn addr() -> IpAddr {
        "10.1.0.2".parse().unwrap()
    }

    #[test]
    fn a_dual_stack_port_counts_once() {
        let v6: IpAddr = "fd00:1::2".parse().unwrap();
        let e = entries(
            &[addr(), v6],
            &[
                spec("8080:80"),
                spec("[2001:db8::1]:8081:80"),
                spec("127.0.0.1:8082:80"),
            ],
        )
        .unwrap();
        assert_eq!(e.len(), 4, "8080 in published and published6");
        let keys: Vec<Vec<u8>> = e.iter().map(PortEntry::key).collect();
        assert_eq!(count_ports(keys.iter().map(Vec::as_slice)), 3);
    }

    #[test]
    fn one_port_is_one_element_in_the_any_address_map() {
        let e = entries(&[addr()], &[spec("8080:80")]).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].map(), MAP_ANY);
        assert_eq!(e[0].element_text(), "tcp . 8080 : 10.1.0.2 . 80");
        // As `nft --debug=netlink` shows it: 00000006 00001f90, data 0201010a 00005000.
        assert_eq!(e[0].key(), vec![6, 0, 0, 0, 0x1f, 0x90, 0, 0]);
        assert_eq!(e[0].data(), vec![10, 1, 0, 2, 0, 80, 0, 0]);
    }

    #[test]
    fn a_port_bound_to_one_address_goes_in_the_address_map() {
        let e = entries(&[addr()], &[spec("127.0.0.1:9090:80/udp")]).unwrap();
        assert_eq!(e[0].map(), MAP_IP);
        assert_eq!(
            e[0].element_text(),
            "127.0.0.1 . udp . 9090 : 10.1.0.2 . 80"
        );
        assert_eq!(
            e[0].key(),
            vec![127, 0, 0, 1, 17, 0, 0, 0, 0x23, 0x82, 0, 0]
        );
    }

    #[test]
    fn ranges_are_one_element_per_port_keeping_or_shifting_the_offset() {
        let same = entries(&[addr()], &[spec("8000-8002:8000-8002")]).unwrap();
        let ports: Vec<(u16, u16)> = same.iter().map(|e| (e.host_port, e.port)).collect();
        assert_eq!(ports, vec![(8000, 8000), (8001, 8001), (8002, 8002)]);
        let shifted = entries(&[addr()], &[spec("8000-8002:9000-9002/sctp")]).unwrap();
        let ports: Vec<(u16, u16)> = shifted.iter().map(|e| (e.host_port, e.port)).collect();
        assert_eq!(ports, vec![(8000, 9000), (8001, 9001), (8002, 9002)]);
        assert!(shifted.iter().all(|e| e.proto == 132));
    }

    #[test]
    fn the_same_entry_twice_is_kept_once() {
        assert_eq!(
            entries(&[addr()], &[spec("8080:80"), spec("8080:80")])
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn commands_read_like_nft_one_line_per_map() {
        let e = entries(
            &[addr()],
            &[
                spec("8080:80"),
                spec("127.0.0.1:9090:90"),
                spec("53:53/udp"),
            ],
        )
        .unwrap();
        assert_eq!(
            ElementCommands {
                verb: "add",
                entries: &e
            }
            .to_string(),
            "nft -f - <<'EOF'\n\
             add element inet cnet published { tcp . 8080 : 10.1.0.2 . 80, udp . 53 : 10.1.0.2 . 53 }\n\
             add element inet cnet published-ip { 127.0.0.1 . tcp . 9090 : 10.1.0.2 . 90 }\nEOF"
        );
    }
}
