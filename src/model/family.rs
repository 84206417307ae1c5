//! Addresses of either family as integers, for the arithmetic the allocator and the drivers do
//! (offsets into a subnet, aligned blocks), and the boundary checks of the parts that speak
//! IPv4 only (the firewall's rules, which act on a network's IPv4 subnet).

use crate::error::{Error, Result};
use ipnetwork::{IpNetwork, Ipv4Network};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address family: how wide its addresses are, and how to turn integers back into them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    V4,
    V6,
}

impl Family {
    /// IPv4: what records written before they named a family meant.
    pub fn v4() -> Family {
        Family::V4
    }

    pub fn of(addr: IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    pub fn of_net(net: IpNetwork) -> Family {
        Family::of(net.ip())
    }

    /// Bits in an address: 32 or 128.
    pub fn bits(self) -> u8 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }

    /// The address numbered `n`, if the family has one (a v4 address is at most `u32::MAX`).
    pub fn addr(self, n: u128) -> Option<IpAddr> {
        match self {
            Family::V4 => u32::try_from(n).ok().map(|n| IpAddr::V4(Ipv4Addr::from(n))),
            Family::V6 => Some(IpAddr::V6(Ipv6Addr::from(n))),
        }
    }

    /// How many addresses a `/prefix` holds, if that fits in a u128 (all but a v6 /0 do).
    pub fn block_size(self, prefix: u8) -> Option<u128> {
        1u128.checked_shl(u32::from(self.bits().checked_sub(prefix)?))
    }
}

/// The address as an integer of its family (a v4 address widened to u128).
pub fn to_int(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// The network's first address as an integer.
pub fn first(net: IpNetwork) -> u128 {
    to_int(net.network())
}

/// The network's last address as an integer.
pub fn last(net: IpNetwork) -> u128 {
    to_int(net.broadcast())
}

/// The address `n` after `addr`, if still in its family.
pub fn offset(addr: IpAddr, n: u128) -> Option<IpAddr> {
    Family::of(addr).addr(to_int(addr).checked_add(n)?)
}

/// How many addresses a network holds, saturated at u128::MAX (a v6 /0).
pub fn size(net: IpNetwork) -> u128 {
    u128::from(net.size())
}

/// The network with its host bits cleared (`10.1.0.5/24` -> `10.1.0.0/24`).
pub fn normalize(net: IpNetwork) -> IpNetwork {
    IpNetwork::new(net.network(), net.prefix()).unwrap_or(net)
}

fn not_yet() -> Error {
    Error::runtime("IPv6 is not supported yet")
}

/// The IPv4 address, for the code that speaks IPv4 only; an IPv6 one is a runtime error.
pub fn v4(addr: IpAddr) -> Result<Ipv4Addr> {
    match addr {
        IpAddr::V4(a) => Ok(a),
        IpAddr::V6(_) => Err(not_yet()),
    }
}

/// The IPv4 network, for the code that speaks IPv4 only; an IPv6 one is a runtime error.
pub fn v4_net(net: IpNetwork) -> Result<Ipv4Network> {
    match net {
        IpNetwork::V4(n) => Ok(n),
        IpNetwork::V6(_) => Err(not_yet()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNetwork {
        s.parse().unwrap()
    }

    #[test]
    fn integers_round_trip_in_each_family() {
        let a: IpAddr = "10.1.0.255".parse().unwrap();
        assert_eq!(offset(a, 1), Some("10.1.1.0".parse().unwrap()));
        assert_eq!(offset("255.255.255.255".parse().unwrap(), 1), None);
        let b: IpAddr = "fd00::ffff".parse().unwrap();
        assert_eq!(offset(b, 1), Some("fd00::1:0".parse().unwrap()));
        assert_eq!(Family::V4.addr(1 << 32), None);
        assert_eq!(Family::V6.addr(1 << 32), Some("::1:0:0".parse().unwrap()));
    }

    #[test]
    fn blocks_and_bounds() {
        assert_eq!(Family::V4.block_size(24), Some(256));
        assert_eq!(Family::V4.block_size(0), Some(1 << 32));
        assert_eq!(Family::V6.block_size(64), Some(1 << 64));
        assert_eq!(Family::V6.block_size(0), None);
        assert_eq!(Family::V4.block_size(33), None);
        assert_eq!(
            first(net("10.1.0.5/24")),
            to_int("10.1.0.0".parse().unwrap())
        );
        assert_eq!(last(net("fd00::/120")), to_int("fd00::ff".parse().unwrap()));
        assert_eq!(normalize(net("fd00::5/64")), net("fd00::/64"));
    }

    #[test]
    fn v4_only_code_refuses_v6_with_a_runtime_error() {
        assert!(v4("10.0.0.1".parse().unwrap()).is_ok());
        let e = v4_net(net("fd00::/64")).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert_eq!(e.to_string(), "IPv6 is not supported yet");
    }
}
