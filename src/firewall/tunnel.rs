//! Which hosts a VXLAN overlay hears, as elements of two nftables sets. Pure: what the
//! elements are, how they are encoded and how they read as `nft` commands; `firewall::nft`
//! installs them.
//!
//! ```text
//! table inet cnet {                                        (firewall::inet has the whole table)
//!   set guarded { typeof udp dport . @th,96,24 }           # port . VNI of each overlay
//!   set peers   { typeof udp dport . @th,96,24 . ip saddr } # ... and each of its peers
//!   chain raw { type filter hook prerouting priority raw
//!     udp dport . @th,96,24 @guarded udp dport . @th,96,24 . ip saddr != @peers counter drop }
//! }
//! ```
//!
//! A packet for an overlay's port and VNI from any host but its peers is dropped before the
//! VXLAN device sees it (and learns a MAC behind it). One rule and two hash lookups whatever
//! the number of overlays and peers: the packets that pass are the tunnel's own traffic, every
//! frame of it, so the filter's cost is the overlay's cost (with one iptables rule per gap
//! between the peers, each `-m iprange` evaluated for every packet, it grew with the peers).
//! Adding or removing a peer is one element. With no overlay the sets are empty and the rule
//! stops at its first lookup.

use super::push_key_field;
use std::fmt;
use std::net::Ipv4Addr;

/// The set of guarded tunnels: `udp dport . VNI`.
pub const SET_GUARDED: &str = "guarded";
/// The set of accepted sources: `udp dport . VNI . peer address`.
pub const SET_PEERS: &str = "peers";

/// One element of the filter's sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TunnelEntry {
    /// This port and VNI are filtered: only their peers are heard.
    Guarded { dstport: u16, vni: u32 },
    /// A peer VTEP heard on this port and VNI.
    Peer {
        dstport: u16,
        vni: u32,
        addr: Ipv4Addr,
    },
}

/// The elements of an overlay: its tunnel guarded, each peer heard.
pub fn entries(dstport: u16, vni: u32, peers: &[Ipv4Addr]) -> Vec<TunnelEntry> {
    let mut out = vec![TunnelEntry::Guarded { dstport, vni }];
    for &addr in peers {
        let e = TunnelEntry::Peer { dstport, vni, addr };
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

impl TunnelEntry {
    /// The set this element belongs in.
    pub fn set(&self) -> &'static str {
        match self {
            TunnelEntry::Guarded { .. } => SET_GUARDED,
            TunnelEntry::Peer { .. } => SET_PEERS,
        }
    }

    /// The element key, as the rule loads it: the UDP destination port, the VNI's 3 bytes,
    /// the source address (network byte order, each in its own 32-bit register).
    pub fn key(&self) -> Vec<u8> {
        let (dstport, vni, addr) = match *self {
            TunnelEntry::Guarded { dstport, vni } => (dstport, vni, None),
            TunnelEntry::Peer { dstport, vni, addr } => (dstport, vni, Some(addr)),
        };
        let mut k = Vec::with_capacity(12);
        push_key_field(&mut k, &dstport.to_be_bytes());
        push_key_field(&mut k, &vni.to_be_bytes()[1..]);
        if let Some(a) = addr {
            push_key_field(&mut k, &a.octets());
        }
        k
    }

    /// The element of set `set` a key read back from the kernel is (as [`key`](Self::key)
    /// makes it); `None` for one cnet cannot have made.
    pub fn from_element(set: &str, key: &[u8]) -> Option<TunnelEntry> {
        let field = |i: usize| key.get(i * 4..i * 4 + 4).map(|f| [f[0], f[1], f[2], f[3]]);
        let (port, vni) = (field(0)?, field(1)?);
        let dstport = u16::from_be_bytes([port[0], port[1]]);
        let vni = u32::from_be_bytes([0, vni[0], vni[1], vni[2]]);
        match (set, key.len()) {
            (SET_GUARDED, 8) => Some(TunnelEntry::Guarded { dstport, vni }),
            (SET_PEERS, 12) => Some(TunnelEntry::Peer {
                dstport,
                vni,
                addr: Ipv4Addr::from(field(2)?),
            }),
            _ => None,
        }
    }

    /// The element as `nft` reads it: `4789 . 5000 . 192.0.2.2` (nft lists the VNI in hex).
    pub fn element_text(&self) -> String {
        match self {
            TunnelEntry::Guarded { dstport, vni } => format!("{dstport} . {vni}"),
            TunnelEntry::Peer { dstport, vni, addr } => format!("{dstport} . {vni} . {addr}"),
        }
    }
}

/// The rule, as nft writes it.
pub const RULE_TEXT: &str =
    "udp dport . @th,96,24 @guarded udp dport . @th,96,24 . ip saddr != @peers counter drop";

/// `nft add element …` / `nft delete element …` lines for a plan's printout, one per set.
pub struct ElementCommands<'a> {
    pub verb: &'a str,
    pub entries: &'a [TunnelEntry],
}

impl fmt::Display for ElementCommands<'_> {
    /// Peers first, as they go to the kernel (`nft::TunnelTable`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let peers = self.entries.iter().filter(|e| e.set() == SET_PEERS);
        let guards = self.entries.iter().filter(|e| e.set() == SET_GUARDED);
        let elements = peers.chain(guards).map(|e| (e.set(), e.element_text()));
        f.write_str(&super::element_commands(self.verb, elements))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn an_overlay_is_its_guard_and_one_element_per_distinct_peer() {
        let es = entries(
            4789,
            5000,
            &[ip("192.0.2.2"), ip("192.0.2.3"), ip("192.0.2.2")],
        );
        assert_eq!(
            es,
            [
                TunnelEntry::Guarded {
                    dstport: 4789,
                    vni: 5000
                },
                TunnelEntry::Peer {
                    dstport: 4789,
                    vni: 5000,
                    addr: ip("192.0.2.2")
                },
                TunnelEntry::Peer {
                    dstport: 4789,
                    vni: 5000,
                    addr: ip("192.0.2.3")
                },
            ]
        );
        assert_eq!(entries(4789, 7, &[]).len(), 1, "no peer: the VNI is shut");
    }

    #[test]
    fn keys_are_laid_out_as_the_rule_loads_them() {
        // What nft 1.0.6 stores for `4789 . 5000 . 192.0.2.2`: port, 2 bytes of padding,
        // the VNI's 3 bytes, 1 of padding, the address.
        let [g, p] = [
            TunnelEntry::Guarded {
                dstport: 4789,
                vni: 5000,
            },
            TunnelEntry::Peer {
                dstport: 4789,
                vni: 5000,
                addr: ip("192.0.2.2"),
            },
        ];
        assert_eq!(g.key(), [0x12, 0xb5, 0, 0, 0x00, 0x13, 0x88, 0]);
        assert_eq!(
            p.key(),
            [0x12, 0xb5, 0, 0, 0x00, 0x13, 0x88, 0, 192, 0, 2, 2]
        );
        assert_eq!((g.set(), p.set()), (SET_GUARDED, SET_PEERS));
    }

    #[test]
    fn commands_name_each_set_once_peers_first() {
        let es = entries(4789, 5000, &[ip("192.0.2.2"), ip("192.0.2.3")]);
        let text = ElementCommands {
            verb: "add",
            entries: &es,
        }
        .to_string();
        assert_eq!(
            text,
            "nft -f - <<'EOF'\n\
             add element inet cnet peers { 4789 . 5000 . 192.0.2.2, 4789 . 5000 . 192.0.2.3 }\n\
             add element inet cnet guarded { 4789 . 5000 }\nEOF"
        );
    }
}
