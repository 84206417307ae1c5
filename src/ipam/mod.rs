//! The DORA allocator: pure logic over one network's lease table, with DHCP's four steps as its
//! API (DISCOVER -> OFFER, REQUEST -> ACK or NAK, RELEASE). No I/O: the caller loads the table,
//! persists what these functions return, and holds the state lock in between.

mod pool;
#[cfg(test)]
mod tests;

pub use pool::{DEFAULT_POOLS, choose_subnet, first_host, overlaps};

use crate::error::{Error, Result};
use crate::model::{Lease, LeaseState};
use ipnetwork::Ipv4Network;
use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

/// How long an OFFER holds an address (seconds).
pub const OFFER_HOLD_SECS: u64 = 30;

/// What may be leased in a network.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub subnet: Ipv4Network,
    pub range: Ipv4Network,
    pub gateway: Option<Ipv4Addr>,
}

/// Why an address may never be offered.
enum Unofferable {
    OutsideRange,
    NetworkOrBroadcast,
    Gateway,
}

impl Pool {
    /// Validates: the range inside the subnet, the gateway inside the subnet and not its network
    /// or broadcast address. Subnet and range are normalised (`10.1.0.5/24` -> `10.1.0.0/24`);
    /// a missing range is the whole subnet.
    pub fn new(
        subnet: Ipv4Network,
        range: Option<Ipv4Network>,
        gateway: Option<Ipv4Addr>,
    ) -> Result<Pool> {
        let subnet = normalize(subnet);
        let range = range.map_or(subnet, normalize);
        if range.prefix() < subnet.prefix() || !subnet.contains(range.network()) {
            return Err(Error::usage(format!(
                "ip-range {range} is not inside subnet {subnet}"
            )));
        }
        if let Some(gateway) = gateway {
            if !subnet.contains(gateway) {
                return Err(Error::usage(format!(
                    "gateway {gateway} is outside subnet {subnet}"
                )));
            }
            if is_network_or_broadcast(subnet, gateway) {
                return Err(Error::usage(format!(
                    "gateway {gateway} is the network or broadcast address of {subnet}"
                )));
            }
        }
        Ok(Pool {
            subnet,
            range,
            gateway,
        })
    }

    /// Whether `addr` may ever be offered: inside the range and the subnet, not the subnet's
    /// network or broadcast address (/31 and /32 have none), not the gateway.
    pub fn offerable(&self, addr: Ipv4Addr) -> bool {
        self.check(addr).is_ok()
    }

    fn check(&self, addr: Ipv4Addr) -> Result<(), Unofferable> {
        if !self.range.contains(addr) || !self.subnet.contains(addr) {
            Err(Unofferable::OutsideRange)
        } else if is_network_or_broadcast(self.subnet, addr) {
            Err(Unofferable::NetworkOrBroadcast)
        } else if self.gateway == Some(addr) {
            Err(Unofferable::Gateway)
        } else {
            Ok(())
        }
    }

    /// The range's addresses in order, produced lazily (a /8 range is 16M addresses).
    fn walk(&self) -> impl Iterator<Item = Ipv4Addr> {
        (u32::from(self.range.network())..=u32::from(self.range.broadcast())).map(Ipv4Addr::from)
    }
}

fn normalize(net: Ipv4Network) -> Ipv4Network {
    Ipv4Network::new(net.network(), net.prefix()).unwrap_or(net)
}

/// /31 (RFC 3021) and /32 subnets have no network or broadcast address: all are hosts.
fn is_network_or_broadcast(subnet: Ipv4Network, addr: Ipv4Addr) -> bool {
    subnet.prefix() <= 30 && (addr == subnet.network() || addr == subnet.broadcast())
}

/// Whether a lease keeps its address from everyone else right now: bound, or offered and the
/// offer not yet expired. An offer without an expiry is treated as expired.
fn holds(lease: &Lease, now: u64) -> bool {
    match lease.state {
        LeaseState::Bound => true,
        LeaseState::Offered => lease.expires.is_some_and(|e| e > now),
        LeaseState::Released => false,
    }
}

/// The lease table indexed once, so that each address costs O(1) to check.
struct Table<'a> {
    /// Every address that has a lease, in whatever state.
    leased: HashSet<Ipv4Addr>,
    /// Address -> the client holding it (see `holds`).
    holders: HashMap<Ipv4Addr, &'a str>,
}

impl<'a> Table<'a> {
    fn new(leases: &'a [Lease], now: u64) -> Self {
        let leased = leases.iter().map(|l| l.address).collect();
        let holders = leases
            .iter()
            .filter(|l| holds(l, now))
            .map(|l| (l.address, l.client.as_str()))
            .collect();
        Table { leased, holders }
    }

    /// The client other than `client` holding `addr`, if any.
    fn other_holder(&self, addr: Ipv4Addr, client: &str) -> Option<&'a str> {
        self.holders.get(&addr).copied().filter(|h| *h != client)
    }

    fn free_for(&self, addr: Ipv4Addr, client: &str) -> bool {
        self.other_holder(addr, client).is_none()
    }
}

/// DISCOVER: choose an address for `client` and return the lease in state Offered (since=now,
/// expires=now+OFFER_HOLD_SECS). `leases` is the network's whole lease table.
///
/// With `requested` (static `--ip`) that address is granted exactly or refused. Otherwise, in
/// order: the client's previous address (sticky), the lowest never-leased address, the least
/// recently used released (or expired-offer) address.
pub fn discover(
    pool: &Pool,
    network: &str,
    leases: &[Lease],
    client: &str,
    requested: Option<Ipv4Addr>,
    now: u64,
    boot_id: &str,
) -> Result<Lease> {
    refuse_if_bound(leases, client, None, network)?;
    let table = Table::new(leases, now);
    let address = match requested {
        Some(addr) => grant_exactly(pool, network, &table, client, addr)?,
        None => sticky(pool, leases, &table, client)
            .or_else(|| never_leased(pool, &table))
            .or_else(|| least_recently_used(pool, leases, &table, client, now))
            .ok_or_else(|| Error::usage(format!("no free address in {}", pool.range)))?,
    };
    Ok(Lease {
        network: network.to_string(),
        address,
        client: client.to_string(),
        state: LeaseState::Offered,
        since: now,
        expires: Some(now + OFFER_HOLD_SECS),
        boot_id: boot_id.to_string(),
    })
}

/// One client, one address per network: refuse a client already bound (to an address other
/// than `except`).
fn refuse_if_bound(
    leases: &[Lease],
    client: &str,
    except: Option<Ipv4Addr>,
    network: &str,
) -> Result<()> {
    match leases
        .iter()
        .find(|l| l.client == client && l.state == LeaseState::Bound && Some(l.address) != except)
    {
        Some(bound) => Err(Error::usage(format!(
            "{client} already holds address {} in network {network}",
            bound.address
        ))),
        None => Ok(()),
    }
}

/// A static address: granted exactly, or a refusal saying why.
fn grant_exactly(
    pool: &Pool,
    network: &str,
    table: &Table,
    client: &str,
    addr: Ipv4Addr,
) -> Result<Ipv4Addr> {
    let refusal = match pool.check(addr) {
        Ok(()) => match table.other_holder(addr, client) {
            None => return Ok(addr),
            Some(holder) => format!("address {addr} is already leased to {holder}"),
        },
        Err(Unofferable::OutsideRange) => format!(
            "address {addr} is not in ip-range {} of network {network}",
            pool.range
        ),
        Err(Unofferable::NetworkOrBroadcast) => format!(
            "address {addr} is the network or broadcast address of {}",
            pool.subnet
        ),
        Err(Unofferable::Gateway) => format!("address {addr} is the gateway of network {network}"),
    };
    Err(Error::usage(refusal))
}

/// The address this client had last (released, or offered and not taken), like a DHCP server
/// that remembers its clients.
fn sticky(pool: &Pool, leases: &[Lease], table: &Table, client: &str) -> Option<Ipv4Addr> {
    leases
        .iter()
        .filter(|l| l.client == client && l.state != LeaseState::Bound)
        .filter(|l| pool.offerable(l.address) && table.free_for(l.address, client))
        .max_by_key(|l| (l.since, Reverse(l.address)))
        .map(|l| l.address)
}

/// The lowest offerable address nobody ever had. The walk stops at the first hit, so it costs
/// at most (leases in the range + reserved addresses + 1) steps.
fn never_leased(pool: &Pool, table: &Table) -> Option<Ipv4Addr> {
    pool.walk()
        .find(|a| !table.leased.contains(a) && pool.offerable(*a))
}

/// The released (or expired-offer) address given back longest ago: reusing it last keeps
/// stickiness working for the clients that left most recently.
fn least_recently_used(
    pool: &Pool,
    leases: &[Lease],
    table: &Table,
    client: &str,
    now: u64,
) -> Option<Ipv4Addr> {
    leases
        .iter()
        .filter(|l| !holds(l, now))
        .filter(|l| pool.offerable(l.address) && table.free_for(l.address, client))
        .min_by_key(|l| (l.since, l.address))
        .map(|l| l.address)
}

/// REQUEST: the client asks for the offered address. ACK returns the lease Bound (since=now,
/// expires=None). NAK when the address is meanwhile bound or held by an unexpired offer to
/// another client, when the client got bound elsewhere, or when `offer` is not an offer.
pub fn request(offer: &Lease, leases: &[Lease], now: u64) -> Result<Lease> {
    if offer.state != LeaseState::Offered {
        return Err(Error::usage(format!(
            "address {} was not offered to {} (its lease is {})",
            offer.address, offer.client, offer.state
        )));
    }
    if let Some(other) = leases
        .iter()
        .find(|l| l.address == offer.address && l.client != offer.client && holds(l, now))
    {
        return Err(Error::usage(format!(
            "address {} is already leased to {}",
            offer.address, other.client
        )));
    }
    refuse_if_bound(leases, &offer.client, Some(offer.address), &offer.network)?;
    Ok(Lease {
        state: LeaseState::Bound,
        since: now,
        expires: None,
        ..offer.clone()
    })
}

/// RELEASE: the lease goes to Released (since=now), keeping client and address so the client
/// gets the same address when it comes back.
pub fn release(lease: &Lease, now: u64) -> Lease {
    Lease {
        state: LeaseState::Released,
        since: now,
        expires: None,
        ..lease.clone()
    }
}

/// One line for `-v`: `DISCOVER ns1 -> OFFER 10.88.0.2 -> REQUEST -> ACK`, or with a requested
/// address `DISCOVER ns1 (requested 10.88.0.9) -> OFFER 10.88.0.9 -> REQUEST -> ACK`.
pub fn dora_trace(client: &str, requested: Option<Ipv4Addr>, address: Ipv4Addr) -> String {
    let discover = match requested {
        Some(r) => format!("DISCOVER {client} (requested {r})"),
        None => format!("DISCOVER {client}"),
    };
    format!("{discover} -> OFFER {address} -> REQUEST -> ACK")
}
