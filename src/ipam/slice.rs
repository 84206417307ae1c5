//! The lease slice of one host of a VXLAN overlay. Hosts keep their own state, so two of them
//! must never lease the same address: each leases only from its own part of the subnet. Every
//! host computes the same partition from the same inputs (the subnet and the VTEP addresses),
//! without talking to the others.
//!
//! The subnet is split into the smallest power of two of equal parts that is at least the number
//! of VTEPs, so that each part is a CIDR block (usable as an ip-range); the local VTEP's position
//! in the sorted list of VTEP addresses picks its part. Parts past the last VTEP stay unused:
//! hosts whose addresses sort after the others can join later without renumbering anyone.

use super::Pool;
use crate::error::{Error, Result};
use crate::model::family::{self, Family};
use ipnetwork::IpNetwork;
use std::net::IpAddr;

/// One host's part of an overlay's subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VtepSlice {
    /// The part this host leases from.
    pub range: IpNetwork,
    /// Its position (0-based) in `vteps`, which is also the index of the part.
    pub index: usize,
    /// How many parts the subnet is split into (a power of two, >= `vteps.len()`).
    pub parts: usize,
    /// Every VTEP address (local and peers), sorted, without duplicates.
    pub vteps: Vec<IpAddr>,
}

/// The sorted, de-duplicated VTEP list: the local address and the peers.
pub fn sorted_vteps(local: IpAddr, peers: &[IpAddr]) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = peers.to_vec();
    v.push(local);
    v.sort();
    v.dedup();
    v
}

/// The part of `subnet` that the VTEP `local` leases from, among `local` and `peers`.
/// Fails (as bad input) when the subnet is too small to give every VTEP an address.
pub fn vtep_slice(subnet: IpNetwork, local: IpAddr, peers: &[IpAddr]) -> Result<VtepSlice> {
    let subnet = family::normalize(subnet);
    let family = Family::of_net(subnet);
    let vteps = sorted_vteps(local, peers);
    let index = vteps
        .iter()
        .position(|v| *v == local)
        .expect("local is in the list");
    let parts = vteps.len().next_power_of_two();
    let bits = parts.trailing_zeros() as u8;
    let too_small = || {
        Error::usage(format!(
            "subnet {subnet} is too small to give each of {} VTEPs its own addresses: \
             give a larger subnet, or --ip-range",
            vteps.len()
        ))
    };
    let prefix = subnet.prefix() + bits;
    let size = family.block_size(prefix).ok_or_else(too_small)?;
    let part_start = |i: usize| family::first(subnet) + size * i as u128;
    let start = family.addr(part_start(index)).ok_or_else(too_small)?;
    let range = IpNetwork::new(start, prefix).map_err(|_| too_small())?;
    // Every part must hold at least one address that can be leased (the subnet's network and
    // broadcast addresses never are).
    let pool = Pool::new(subnet, None, None)?;
    for i in 0..vteps.len() {
        let first = part_start(i);
        let mut part = (first..=first + (size - 1)).filter_map(|a| family.addr(a));
        if !part.any(|a| pool.offerable(a)) {
            return Err(too_small());
        }
    }
    Ok(VtepSlice {
        range,
        index,
        parts,
        vteps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipam::overlaps;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
    fn net(s: &str) -> IpNetwork {
        s.parse().unwrap()
    }
    fn hosts() -> [IpAddr; 3] {
        [ip("192.0.2.1"), ip("192.0.2.2"), ip("192.0.2.3")]
    }

    /// The slice of each of `vteps`, computed as that host would (itself local, others peers).
    fn slices(subnet: &str, vteps: &[IpAddr]) -> Vec<VtepSlice> {
        vteps
            .iter()
            .map(|l| {
                let peers: Vec<IpAddr> = vteps.iter().copied().filter(|p| p != l).collect();
                vtep_slice(net(subnet), *l, &peers).unwrap()
            })
            .collect()
    }

    #[test]
    fn a_slash_24_over_three_vteps_gives_three_disjoint_slash_26() {
        let s = slices("10.20.0.0/24", &hosts());
        let ranges: Vec<String> = s.iter().map(|s| s.range.to_string()).collect();
        assert_eq!(ranges, ["10.20.0.0/26", "10.20.0.64/26", "10.20.0.128/26"]);
        for (i, sl) in s.iter().enumerate() {
            assert_eq!(sl.index, i);
            assert_eq!(sl.parts, 4);
            assert_eq!(sl.vteps, hosts());
        }
        for a in 0..3 {
            for b in 0..3 {
                if a != b {
                    assert!(!overlaps(s[a].range, s[b].range), "{a} {b}");
                }
            }
        }
    }

    #[test]
    fn the_sorted_position_of_the_local_address_picks_the_part_whatever_the_peer_order() {
        let [a, b, c] = hosts();
        // The peers in any order, and the local address anywhere: same answer.
        let one = vtep_slice(net("10.20.0.0/24"), b, &[c, a]).unwrap();
        let two = vtep_slice(net("10.20.0.0/24"), b, &[a, c]).unwrap();
        assert_eq!(one, two);
        assert_eq!(one.range, net("10.20.0.64/26"));
        // Sorting is numeric, not textual: 192.0.2.10 comes after 192.0.2.9.
        let s = vtep_slice(net("10.20.0.0/24"), ip("192.0.2.10"), &[ip("192.0.2.9")]).unwrap();
        assert_eq!(s.index, 1);
        assert_eq!(s.range, net("10.20.0.128/25"));
    }

    #[test]
    fn slices_never_offer_network_or_broadcast_and_together_cover_only_the_subnet() {
        let s = slices("10.20.0.0/24", &hosts());
        let subnet = net("10.20.0.0/24");
        for sl in &s {
            let pool = Pool::new(subnet, Some(sl.range), None).unwrap();
            assert!(!pool.offerable(ip("10.20.0.0")));
            assert!(!pool.offerable(ip("10.20.0.255")));
            assert!(subnet.contains(sl.range.network()) && subnet.contains(sl.range.broadcast()));
        }
        // The first slice starts after the network address; the second at its own start.
        let p0 = Pool::new(subnet, Some(s[0].range), None).unwrap();
        assert!(p0.offerable(ip("10.20.0.1")) && !p0.offerable(ip("10.20.0.64")));
        let p1 = Pool::new(subnet, Some(s[1].range), None).unwrap();
        assert!(p1.offerable(ip("10.20.0.64")) && p1.offerable(ip("10.20.0.127")));
        assert!(!p1.offerable(ip("10.20.0.63")) && !p1.offerable(ip("10.20.0.128")));
    }

    #[test]
    fn one_vtep_has_the_whole_subnet_and_duplicates_count_once() {
        let s = vtep_slice(net("10.20.0.0/24"), ip("192.0.2.1"), &[]).unwrap();
        assert_eq!(s.range, net("10.20.0.0/24"));
        assert_eq!((s.index, s.parts), (0, 1));
        let d = vtep_slice(
            net("10.20.0.0/24"),
            ip("192.0.2.1"),
            &[ip("192.0.2.2"), ip("192.0.2.2"), ip("192.0.2.1")],
        )
        .unwrap();
        assert_eq!(d.vteps.len(), 2);
        assert_eq!(d.range, net("10.20.0.0/25"));
    }

    #[test]
    fn five_vteps_split_into_eight_parts_and_hosts_sorting_last_can_join_later() {
        let five: Vec<IpAddr> = (1..=5).map(|i| ip(&format!("192.0.2.{i}"))).collect();
        let s = slices("10.20.0.0/16", &five);
        assert!(s.iter().all(|x| x.parts == 8 && x.range.prefix() == 19));
        // A sixth host sorting last takes the sixth part; the first five keep theirs.
        let mut six = five.clone();
        six.push(ip("192.0.2.6"));
        let t = slices("10.20.0.0/16", &six);
        for i in 0..5 {
            assert_eq!(s[i].range, t[i].range);
        }
        assert!(s.iter().all(|x| !overlaps(x.range, t[5].range)));
    }

    #[test]
    fn a_subnet_too_small_for_the_vteps_is_refused() {
        let e = vtep_slice(
            net("10.20.0.0/31"),
            ip("192.0.2.1"),
            &[ip("192.0.2.2"), ip("192.0.2.3")],
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("too small"), "{e}");
        // A /30 over 4 VTEPs gives /32s: the first is the network address, the last the
        // broadcast address, so two hosts would have nothing to lease.
        let four: Vec<IpAddr> = (2..=4).map(|i| ip(&format!("192.0.2.{i}"))).collect();
        assert!(vtep_slice(net("10.20.0.0/30"), ip("192.0.2.1"), &four).is_err());
        // A /29 over 4 VTEPs: /31 parts, each with at least one leasable address.
        assert!(vtep_slice(net("10.20.0.0/29"), ip("192.0.2.1"), &four).is_ok());
    }
}
