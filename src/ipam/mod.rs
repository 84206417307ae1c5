//! The DORA allocator: pure logic over one network's lease table, with DHCP's four steps as its
//! API (DISCOVER -> OFFER, REQUEST -> ACK or NAK, RELEASE). No I/O: the caller loads the table,
//! persists what these functions return, and holds the state lock in between.

mod pool;
mod slice;
mod table;
#[cfg(test)]
mod tests;

pub use pool::{
    DEFAULT_POOLS, check_room, check_usable, choose_overlay_subnet, choose_subnet, choose_subnet6,
    first_host, overlaps,
};
pub use slice::{VtepSlice, sorted_vteps, vtep_slice};
pub use table::{LeaseTable, MemTable};

use crate::error::{Error, Result};
use crate::model::family::{self, Family};
use crate::model::{Lease, LeaseState};
use ipnetwork::IpNetwork;
use std::cmp::Reverse;
use std::collections::HashMap;
use std::net::IpAddr;

/// How long an OFFER holds an address (seconds).
pub const OFFER_HOLD_SECS: u64 = 30;

/// What may be leased in a network.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub subnet: IpNetwork,
    pub range: IpNetwork,
    pub gateway: Option<IpAddr>,
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
        subnet: IpNetwork,
        range: Option<IpNetwork>,
        gateway: Option<IpAddr>,
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

    /// How many addresses may ever be offered: the range, less the subnet's network and
    /// broadcast addresses (v6: its subnet-router anycast address) and the gateway where they
    /// fall inside it.
    pub fn leasable(&self) -> u128 {
        let excluded = reserved(self.subnet)
            .into_iter()
            .flatten()
            .chain(self.gateway)
            .filter(|a| self.range.contains(*a))
            .count();
        family::size(self.range) - excluded as u128
    }

    /// Refuse a pool with nothing to lease (an ip-range holding only the gateway, say).
    pub fn check_leasable(&self) -> Result<()> {
        if self.leasable() == 0 {
            let what = if self.range == self.subnet {
                format!("subnet {}", self.subnet)
            } else {
                format!("ip-range {}", self.range)
            };
            return Err(Error::usage(format!(
                "{what} leaves no address to lease (the network, broadcast and gateway \
                 addresses are never leased)"
            )));
        }
        Ok(())
    }

    /// Whether `addr` may ever be offered: inside the range and the subnet, not the subnet's
    /// network or broadcast address (/31 and /32 have none), not the gateway.
    pub fn offerable(&self, addr: IpAddr) -> bool {
        self.check(addr).is_ok()
    }

    fn check(&self, addr: IpAddr) -> Result<(), Unofferable> {
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
}

fn normalize(net: IpNetwork) -> IpNetwork {
    family::normalize(net)
}

/// The addresses of a subnet that are not hosts': v4 its network and broadcast addresses, v6
/// (no broadcast) its subnet-router anycast address, the prefix with zero host bits. The two
/// smallest subnets of each family have none: v4 /31 (RFC 3021) and /32, v6 /127 (RFC 6164)
/// and /128.
fn reserved(subnet: IpNetwork) -> [Option<IpAddr>; 2] {
    if subnet.prefix() + 1 >= Family::of_net(subnet).bits() {
        return [None, None];
    }
    match subnet {
        IpNetwork::V4(_) => [Some(subnet.network()), Some(subnet.broadcast())],
        IpNetwork::V6(_) => [Some(subnet.network()), None],
    }
}

fn is_network_or_broadcast(subnet: IpNetwork, addr: IpAddr) -> bool {
    reserved(subnet).contains(&Some(addr))
}

/// Whether a lease keeps its address from everyone else right now: bound in this boot (`boot`),
/// or offered and the offer not yet expired. An offer without an expiry is treated as expired.
/// A lease bound in an earlier boot holds nothing: a reboot took its namespace with it.
fn holds(lease: &Lease, now: u64, boot: &str) -> bool {
    match lease.state {
        LeaseState::Bound => !of_earlier_boot(lease, boot),
        LeaseState::Offered => lease.expires.is_some_and(|e| e > now),
        LeaseState::Released => false,
    }
}

/// Whether a lease was bound in a boot before `boot` (unknown boots count as this one).
pub fn of_earlier_boot(lease: &Lease, boot: &str) -> bool {
    !lease.boot_id.is_empty() && !boot.is_empty() && lease.boot_id != boot
}

/// DISCOVER: choose an address for `client` and return the lease in state Offered (since=now,
/// expires=now+OFFER_HOLD_SECS). `leases` is the network's whole lease table.
///
/// With `requested` (static `--ip`) that address is granted exactly or refused. Otherwise, in
/// order: the client's previous address (sticky), the next never-leased address, the least
/// recently used released (or expired-offer) address.
pub fn discover(
    pool: &Pool,
    network: &str,
    leases: &[Lease],
    client: &str,
    requested: Option<IpAddr>,
    now: u64,
    boot_id: &str,
) -> Result<Lease> {
    discover_in(
        pool,
        network,
        &MemTable::new(leases),
        client,
        requested,
        now,
        boot_id,
    )
}

/// DISCOVER against any lease table. Looks at a constant number of leases in the usual case
/// (the client's own, then addresses from the table's cursor on), and reads the whole table
/// only when no never-leased address is left and an old one must be reused.
pub fn discover_in(
    pool: &Pool,
    network: &str,
    table: &dyn LeaseTable,
    client: &str,
    requested: Option<IpAddr>,
    now: u64,
    boot_id: &str,
) -> Result<Lease> {
    let own = of_family(table.of_client(client)?, Family::of_net(pool.range));
    refuse_if_bound(&own, client, None, network, boot_id)?;
    let address = match requested {
        Some(addr) => grant_exactly(pool, network, table, client, addr, (now, boot_id))?,
        None => match sticky(pool, &own, table, client, (now, boot_id))? {
            Some(a) => a,
            None => match never_leased(pool, table)? {
                Some(a) => a,
                None => least_recently_used(pool, &table.all()?, client, (now, boot_id))
                    .ok_or_else(|| Error::usage(format!("no free address in {}", pool.range)))?,
            },
        },
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

/// The leases of one family: a dual-stack network's table holds both, and each family is
/// leased on its own.
fn of_family(leases: Vec<Lease>, family: Family) -> Vec<Lease> {
    leases
        .into_iter()
        .filter(|l| Family::of(l.address) == family)
        .collect()
}

/// A client holds at most one bound address of each family per network.
fn refuse_if_bound(
    leases: &[Lease],
    client: &str,
    except: Option<IpAddr>,
    network: &str,
    boot: &str,
) -> Result<()> {
    match leases.iter().find(|l| {
        l.client == client
            && l.state == LeaseState::Bound
            && !of_earlier_boot(l, boot)
            && Some(l.address) != except
    }) {
        Some(bound) => Err(Error::usage(format!(
            "{client} already holds address {} in network {network}",
            bound.address
        ))),
        None => Ok(()),
    }
}

/// The client other than `client` holding `addr` right now, if any.
fn other_holder(
    table: &dyn LeaseTable,
    addr: IpAddr,
    client: &str,
    (now, boot): (u64, &str),
) -> Result<Option<String>> {
    Ok(table
        .at(addr)?
        .filter(|l| l.client != client && holds(l, now, boot))
        .map(|l| l.client))
}

fn grant_exactly(
    pool: &Pool,
    network: &str,
    table: &dyn LeaseTable,
    client: &str,
    addr: IpAddr,
    now: (u64, &str),
) -> Result<IpAddr> {
    let refusal = match pool.check(addr) {
        Ok(()) => match other_holder(table, addr, client, now)? {
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

/// The client's most recent address that nobody else holds now (DHCP's "sticky" leases).
fn sticky(
    pool: &Pool,
    own: &[Lease],
    table: &dyn LeaseTable,
    client: &str,
    now: (u64, &str),
) -> Result<Option<IpAddr>> {
    let mut candidates: Vec<&Lease> = own
        .iter()
        .filter(|l| l.client == client && l.state != LeaseState::Bound)
        .filter(|l| pool.offerable(l.address))
        .collect();
    candidates.sort_by_key(|l| Reverse((l.since, Reverse(l.address))));
    for l in candidates {
        if other_holder(table, l.address, client, now)?.is_none() {
            return Ok(Some(l.address));
        }
    }
    Ok(None)
}

/// The first offerable address without any lease, walking the range from just after the
/// table's cursor (where the previous search stopped, as CNI's host-local does) and wrapping.
fn never_leased(pool: &Pool, table: &dyn LeaseTable) -> Result<Option<IpAddr>> {
    let family = Family::of_net(pool.range);
    let first = family::first(pool.range);
    let last = family::last(pool.range);
    let start = match table.cursor()? {
        Some(c) if pool.range.contains(c) && family::to_int(c) < last => family::to_int(c) + 1,
        _ => first,
    };
    for a in (start..=last)
        .chain(first..start)
        .filter_map(|n| family.addr(n))
    {
        if pool.offerable(a) && table.at(a)?.is_none() {
            return Ok(Some(a));
        }
    }
    Ok(None)
}

/// The address given back longest ago (ties: the lowest address), as DHCP servers reuse.
fn least_recently_used(
    pool: &Pool,
    leases: &[Lease],
    client: &str,
    (now, boot): (u64, &str),
) -> Option<IpAddr> {
    let holders: HashMap<IpAddr, &str> = leases
        .iter()
        .filter(|l| holds(l, now, boot))
        .map(|l| (l.address, l.client.as_str()))
        .collect();
    leases
        .iter()
        .filter(|l| !holds(l, now, boot))
        .filter(|l| pool.offerable(l.address))
        .filter(|l| holders.get(&l.address).is_none_or(|h| *h == client))
        .min_by_key(|l| (l.since, l.address))
        .map(|l| l.address)
}

/// REQUEST: ACK (the lease, bound) or NAK (an error naming who holds the address).
pub fn request(offer: &Lease, leases: &[Lease], now: u64) -> Result<Lease> {
    request_in(offer, &MemTable::new(leases), now)
}

/// REQUEST against any lease table (reads the offered address's lease and the client's).
pub fn request_in(offer: &Lease, table: &dyn LeaseTable, now: u64) -> Result<Lease> {
    if offer.state != LeaseState::Offered {
        return Err(Error::usage(format!(
            "address {} was not offered to {} (its lease is {})",
            offer.address, offer.client, offer.state
        )));
    }
    // The offer was made in this boot.
    let boot = offer.boot_id.as_str();
    if let Some(other) = other_holder(table, offer.address, &offer.client, (now, boot))? {
        return Err(Error::usage(format!(
            "address {} is already leased to {other}",
            offer.address
        )));
    }
    refuse_if_bound(
        &of_family(table.of_client(&offer.client)?, Family::of(offer.address)),
        &offer.client,
        Some(offer.address),
        &offer.network,
        boot,
    )?;
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
pub fn dora_trace(client: &str, requested: Option<IpAddr>, address: IpAddr) -> String {
    let discover = match requested {
        Some(r) => format!("DISCOVER {client} (requested {r})"),
        None => format!("DISCOVER {client}"),
    };
    format!("{discover} -> OFFER {address} -> REQUEST -> ACK")
}
