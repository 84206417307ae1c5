//! Choosing a subnet for a network created without `--subnet`.

use crate::error::{Error, Result};
use crate::model::family::{self, Family};
use ipnetwork::IpNetwork;
use std::net::IpAddr;

/// Address pools default subnets are carved from, in order of preference (Docker's order):
/// 172.17.0.0/16 .. 172.31.0.0/16 as aligned blocks, then 192.168.0.0/16, then 10.0.0.0/8.
pub const DEFAULT_POOLS: &[&str] = &[
    "172.17.0.0/16",
    "172.18.0.0/15",
    "172.20.0.0/14",
    "172.24.0.0/13",
    "192.168.0.0/16",
    "10.0.0.0/8",
];

/// Subnet sizes tried in turn: a roomy /16 first, smaller ones when the pools are crowded.
const PREFIXES: [u8; 3] = [16, 20, 24];

/// The first free /16 in the pools (pools in order, subnets in address order), then if none the
/// first free /20, then /24. Free means overlapping nothing in `in_use`; a default route
/// (`0.0.0.0/0`) is ignored because it overlaps everything. `None` when nothing is free.
pub fn choose_subnet(in_use: &[IpNetwork]) -> Option<IpNetwork> {
    let in_use: Vec<IpNetwork> = in_use.iter().copied().filter(|n| n.prefix() > 0).collect();
    let pools: Vec<IpNetwork> = DEFAULT_POOLS
        .iter()
        .filter_map(|p| p.parse().ok())
        .collect();
    PREFIXES.iter().find_map(|&prefix| {
        pools
            .iter()
            .find_map(|&pool| first_free_in(pool, prefix, &in_use))
    })
}

/// Where overlays shared through etcd get their subnets when none is given: /24s of
/// 10.0.0.0/8, as Docker's swarm does.
pub const OVERLAY_POOL: &str = "10.0.0.0/8";

/// The first free /24 of [`OVERLAY_POOL`].
pub fn choose_overlay_subnet(in_use: &[IpNetwork]) -> Option<IpNetwork> {
    let in_use: Vec<IpNetwork> = in_use.iter().copied().filter(|n| n.prefix() > 0).collect();
    first_free_in(OVERLAY_POOL.parse().ok()?, 24, &in_use)
}

/// The first `/prefix` of `pool` overlapping nothing in `in_use`. Instead of testing every
/// candidate (65,536 /24s in 10.0.0.0/8), jump past whatever network blocks the current one.
fn first_free_in(pool: IpNetwork, prefix: u8, in_use: &[IpNetwork]) -> Option<IpNetwork> {
    let family = Family::of_net(pool);
    if prefix < pool.prefix() {
        return None;
    }
    let size = family.block_size(prefix)?;
    let end = family::last(pool);
    let mut start = family::first(pool);
    while start.checked_add(size - 1)? <= end {
        let candidate = IpNetwork::new(family.addr(start)?, prefix).ok()?;
        let blocker = in_use
            .iter()
            .filter(|n| overlaps(candidate, **n))
            .map(|n| family::last(*n))
            .max();
        match blocker {
            None => return Some(candidate),
            // The next aligned candidate after the blocking network's last address.
            Some(last) => start = last.checked_add(1)?.div_ceil(size).checked_mul(size)?,
        }
    }
    None
}

/// The first `/64` of `ula` (the host's ULA /48) overlapping nothing in `in_use`: the subnet
/// of an `--ipv6` network created without `--subnet6`.
pub fn choose_subnet6(ula: IpNetwork, in_use: &[IpNetwork]) -> Option<IpNetwork> {
    first_free_in(ula, 64, in_use)
}

/// Blocks that can never be a network's subnet, with why (RFC 6890's special-purpose blocks
/// a host cannot route to a LAN of its own).
const UNUSABLE: [(&str, &str); 9] = [
    ("0.0.0.0/8", "\"this network\""),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved (and broadcast)"),
    ("::/96", "unspecified and loopback"),
    ("::ffff:0:0/96", "IPv4-mapped"),
    ("fe80::/10", "link-local"),
    ("ff00::/8", "multicast"),
];

/// The largest subnet a network may have: anything shorter spans several of the address
/// space's blocks (and /0 is the default route).
pub const MIN_PREFIX: u8 = 8;
/// The smallest subnet with room for a namespace beside its network, broadcast and gateway.
pub const MAX_PREFIX: u8 = 30;

/// Refuse a subnet no network can use: the default route or another too large block, a
/// special-purpose block (loopback, link-local, multicast, ...), or one too small to lease
/// from. `what` is how the user gave it (`subnet`, `ip-range`).
pub fn check_usable(what: &str, net: IpNetwork) -> Result<()> {
    if net.prefix() == 0 {
        return Err(Error::usage(format!(
            "{what} {net} is the default route, not a subnet"
        )));
    }
    for (block, why) in UNUSABLE {
        let block: IpNetwork = block.parse().expect("a valid block");
        if overlaps(block, net) {
            return Err(Error::usage(format!(
                "{what} {net} overlaps {block}, the {why} block"
            )));
        }
    }
    if net.prefix() < MIN_PREFIX {
        return Err(Error::usage(format!(
            "{what} {net} is too large (at most a /{MIN_PREFIX})"
        )));
    }
    Ok(())
}

/// Refuse a subnet too small to hold a namespace (v4 /31 and /32, v6 /127 and /128).
pub fn check_room(net: IpNetwork) -> Result<()> {
    // As many host bits as a v4 /MAX_PREFIX, whatever the family.
    let max_prefix = Family::of_net(net).bits() - (32 - MAX_PREFIX);
    if net.prefix() > max_prefix {
        return Err(Error::usage(format!(
            "subnet {net} is too small: a network needs at least a /{max_prefix}"
        )));
    }
    Ok(())
}

/// The first host address of a subnet (the default gateway): network+1, or for /31 and /32
/// (no network/broadcast addresses there) the network address itself.
pub fn first_host(subnet: IpNetwork) -> IpAddr {
    let network = subnet.network();
    if subnet.prefix() + 1 >= Family::of_net(subnet).bits() {
        network
    } else {
        family::offset(network, 1).expect("a subnet with host bits has a second address")
    }
}

/// Whether two networks share at least one address. Host bits are ignored (`10.1.0.5/24` is
/// `10.1.0.0/24`), unlike `Ipv4Network::overlaps` which looks at `ip()`. Networks of two
/// families never overlap.
pub fn overlaps(a: IpNetwork, b: IpNetwork) -> bool {
    a.is_ipv4() == b.is_ipv4() && a.network() <= b.broadcast() && b.network() <= a.broadcast()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNetwork {
        s.parse().unwrap()
    }

    /// Networks covering `outer` except `hole` (the buddy blocks on the way down to `hole`).
    fn cover_except(outer: IpNetwork, hole: IpNetwork) -> Vec<IpNetwork> {
        let hole_start = family::first(hole) as u32;
        (outer.prefix() + 1..=hole.prefix())
            .map(|prefix| {
                // The block of this size containing the hole, with its last bit flipped.
                let size_bit = 1u32 << (32 - prefix);
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                IpNetwork::new(
                    IpAddr::from(((hole_start & mask) ^ size_bit).to_be_bytes()),
                    prefix,
                )
                .unwrap()
            })
            .collect()
    }

    #[test]
    fn default_pools_parse_and_are_aligned() {
        for p in DEFAULT_POOLS {
            let n = net(p);
            assert_eq!(n.ip(), n.network(), "{p} is not aligned");
        }
        // The 172 blocks cover exactly 172.17.0.0 .. 172.31.255.255 without gaps.
        let blocks: Vec<IpNetwork> = DEFAULT_POOLS[..4].iter().map(|p| net(p)).collect();
        assert_eq!(blocks[0].network(), IpAddr::from([172, 17, 0, 0]));
        for pair in blocks.windows(2) {
            assert_eq!(family::last(pair[0]) + 1, family::first(pair[1]));
        }
        assert_eq!(blocks[3].broadcast(), IpAddr::from([172, 31, 255, 255]));
    }

    #[test]
    fn cover_except_helper_leaves_only_the_hole() {
        let cover = cover_except(net("10.0.0.0/8"), net("10.0.0.0/20"));
        assert_eq!(cover.len(), 12);
        assert!(cover.iter().all(|c| !overlaps(*c, net("10.0.0.0/20"))));
        let covered: u128 = cover.iter().map(|c| family::size(*c)).sum();
        assert_eq!(covered + 4096, 1 << 24);
    }

    #[test]
    fn nothing_in_use_gives_172_17() {
        assert_eq!(choose_subnet(&[]), Some(net("172.17.0.0/16")));
    }

    #[test]
    fn default_route_is_ignored() {
        assert_eq!(
            choose_subnet(&[net("0.0.0.0/0")]),
            Some(net("172.17.0.0/16"))
        );
    }

    #[test]
    fn skips_subnets_and_routes_in_use() {
        let in_use = [
            net("0.0.0.0/0"),
            net("172.17.5.0/24"), // a route inside the first /16
            net("172.18.0.1/16"), // an interface address: host bits set
            net("172.19.255.255/32"),
        ];
        assert_eq!(choose_subnet(&in_use), Some(net("172.20.0.0/16")));
    }

    #[test]
    fn a_supernet_in_use_blocks_all_its_subnets() {
        assert_eq!(
            choose_subnet(&[net("172.16.0.0/12")]),
            Some(net("192.168.0.0/16"))
        );
        assert_eq!(
            choose_subnet(&[net("172.16.0.0/12"), net("192.168.0.0/16")]),
            Some(net("10.0.0.0/16"))
        );
    }

    #[test]
    fn walks_the_ten_pool_in_address_order() {
        let in_use = [
            net("172.16.0.0/12"),
            net("192.168.0.0/16"),
            net("10.0.0.0/16"),
            net("10.1.200.0/24"),
            net("10.2.0.0/15"),
        ];
        assert_eq!(choose_subnet(&in_use), Some(net("10.4.0.0/16")));
    }

    #[test]
    fn falls_back_to_a_20_when_every_16_is_used() {
        // Half of 192.168.0.0/16 is used, so no /16 is free anywhere.
        let in_use = [
            net("172.16.0.0/12"),
            net("192.168.0.0/17"),
            net("10.0.0.0/8"),
        ];
        assert_eq!(choose_subnet(&in_use), Some(net("192.168.128.0/20")));
    }

    #[test]
    fn a_20_in_an_earlier_pool_beats_one_in_a_later_pool() {
        let mut in_use = vec![net("192.168.0.0/17"), net("10.0.0.0/8")];
        in_use.extend(cover_except(net("172.16.0.0/12"), net("172.31.240.0/20")));
        assert_eq!(choose_subnet(&in_use), Some(net("172.31.240.0/20")));
    }

    #[test]
    fn falls_back_to_a_24_when_every_20_is_used() {
        // Only 10.0.0.0/20 is left, and its first /24 is taken.
        let mut in_use = vec![
            net("172.16.0.0/12"),
            net("192.168.0.0/16"),
            net("10.0.0.0/24"),
        ];
        in_use.extend(cover_except(net("10.0.0.0/8"), net("10.0.0.0/20")));
        assert_eq!(choose_subnet(&in_use), Some(net("10.0.1.0/24")));
    }

    #[test]
    fn none_when_everything_is_used() {
        let in_use = [
            net("172.16.0.0/12"),
            net("192.168.0.0/16"),
            net("10.0.0.0/8"),
        ];
        assert_eq!(choose_subnet(&in_use), None);
    }

    #[test]
    fn many_small_networks_in_use_is_fast() {
        // Every /24 of 10.0.0.0/8 but the last one: the walk must jump, not crawl.
        let mut in_use = vec![net("172.16.0.0/12"), net("192.168.0.0/16")];
        in_use.extend(cover_except(net("10.0.0.0/8"), net("10.255.255.0/24")));
        assert_eq!(choose_subnet(&in_use), Some(net("10.255.255.0/24")));
    }

    #[test]
    fn unusable_subnets_are_refused_naming_why() {
        for (s, needle) in [
            ("0.0.0.0/0", "subnet 0.0.0.0/0 is the default route"),
            ("10.0.0.0/7", "too large (at most a /8)"),
            (
                "0.0.0.0/8",
                "overlaps 0.0.0.0/8, the \"this network\" block",
            ),
            ("127.0.0.0/24", "overlaps 127.0.0.0/8, the loopback block"),
            ("169.254.1.0/24", "the link-local block"),
            ("224.0.0.0/24", "the multicast block"),
            ("239.255.0.0/16", "the multicast block"),
            ("240.0.0.0/8", "reserved"),
            ("255.255.255.0/24", "reserved (and broadcast)"),
        ] {
            let e = check_usable("subnet", net(s)).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().contains(needle), "{s}: {e}");
        }
        for s in [
            "10.0.0.0/8",
            "172.17.0.0/16",
            "192.168.1.0/24",
            "223.255.255.0/24",
        ] {
            check_usable("subnet", net(s)).unwrap();
        }
        let e = check_room(net("10.1.0.0/31")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "subnet 10.1.0.0/31 is too small: a network needs at least a /30"
        );
        assert!(check_room(net("10.1.0.1/32")).is_err());
        check_room(net("10.1.0.0/30")).unwrap();
    }

    #[test]
    fn first_host_of_subnets() {
        assert_eq!(first_host(net("10.1.0.0/24")), IpAddr::from([10, 1, 0, 1]));
        assert_eq!(first_host(net("10.1.0.77/24")), IpAddr::from([10, 1, 0, 1]));
        assert_eq!(first_host(net("10.1.0.0/30")), IpAddr::from([10, 1, 0, 1]));
        assert_eq!(first_host(net("10.1.0.4/31")), IpAddr::from([10, 1, 0, 4]));
        assert_eq!(first_host(net("10.1.0.9/32")), IpAddr::from([10, 1, 0, 9]));
    }

    #[test]
    fn overlap_cases() {
        assert!(overlaps(net("10.0.0.0/8"), net("10.1.2.0/24")));
        assert!(overlaps(net("10.1.2.0/24"), net("10.0.0.0/8")));
        assert!(overlaps(net("10.1.2.3/32"), net("10.1.2.3/32")));
        assert!(overlaps(net("0.0.0.0/0"), net("192.168.1.0/24")));
        assert!(!overlaps(net("10.1.0.0/24"), net("10.1.1.0/24")));
        assert!(!overlaps(net("10.1.0.0/25"), net("10.1.0.128/25")));
        assert!(overlaps(net("10.1.0.0/24"), net("10.1.0.255/32")));
        // Host bits do not matter.
        assert!(overlaps(net("10.1.0.200/24"), net("10.1.0.0/30")));
        assert!(!overlaps(net("10.1.0.200/24"), net("10.1.1.0/30")));
    }
}
