//! The allocator's view of a lease table. The file store answers each question with a file or
//! two, so an allocation costs the same however many leases a network has; `MemTable` answers
//! from a slice (tests, and callers that already hold every lease).

use crate::error::Result;
use crate::model::Lease;
use std::collections::HashMap;
use std::net::IpAddr;

pub trait LeaseTable {
    /// The lease of one address, if it has one.
    fn at(&self, addr: IpAddr) -> Result<Option<Lease>>;
    /// The client's leases (at least its most recent one, which is all stickiness needs).
    fn of_client(&self, client: &str) -> Result<Vec<Lease>>;
    /// Every lease: read only when the range has no never-leased address left.
    fn all(&self) -> Result<Vec<Lease>>;
    /// The last address handed out, where the next search starts; `None`: from the start.
    fn cursor(&self) -> Result<Option<IpAddr>>;
}

/// A lease table held in memory, indexed once.
pub struct MemTable<'a> {
    leases: &'a [Lease],
    by_addr: HashMap<IpAddr, &'a Lease>,
}

impl<'a> MemTable<'a> {
    pub fn new(leases: &'a [Lease]) -> Self {
        MemTable {
            leases,
            by_addr: leases.iter().map(|l| (l.address, l)).collect(),
        }
    }
}

impl LeaseTable for MemTable<'_> {
    fn at(&self, addr: IpAddr) -> Result<Option<Lease>> {
        Ok(self.by_addr.get(&addr).map(|l| (*l).clone()))
    }
    fn of_client(&self, client: &str) -> Result<Vec<Lease>> {
        Ok(self
            .leases
            .iter()
            .filter(|l| l.client == client)
            .cloned()
            .collect())
    }
    fn all(&self) -> Result<Vec<Lease>> {
        Ok(self.leases.to_vec())
    }
    /// No cursor: the lowest never-leased address comes first.
    fn cursor(&self) -> Result<Option<IpAddr>> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipam::{Pool, discover_in};
    use crate::model::LeaseState;

    /// A MemTable with a cursor, as the file store keeps one.
    struct WithCursor<'a>(MemTable<'a>, IpAddr);

    impl LeaseTable for WithCursor<'_> {
        fn at(&self, addr: IpAddr) -> Result<Option<Lease>> {
            self.0.at(addr)
        }
        fn of_client(&self, client: &str) -> Result<Vec<Lease>> {
            self.0.of_client(client)
        }
        fn all(&self) -> Result<Vec<Lease>> {
            self.0.all()
        }
        fn cursor(&self) -> Result<Option<IpAddr>> {
            Ok(Some(self.1))
        }
    }

    fn bound(addr: &str, client: &str) -> Lease {
        Lease {
            network: "n".into(),
            address: addr.parse().unwrap(),
            client: client.into(),
            state: LeaseState::Bound,
            since: 1,
            expires: None,
            boot_id: String::new(),
        }
    }

    #[test]
    fn the_search_starts_after_the_cursor_and_wraps() {
        let pool = Pool::new(
            "10.0.0.0/29".parse().unwrap(),
            None,
            Some("10.0.0.1".parse().unwrap()),
        )
        .unwrap();
        let leases = vec![bound("10.0.0.5", "a")];
        let t = WithCursor(MemTable::new(&leases), "10.0.0.4".parse().unwrap());
        let offer = discover_in(&pool, "n", &t, "b", None, 10, "").unwrap();
        assert_eq!(offer.address.to_string(), "10.0.0.6");
        // At the end of the range the walk wraps to the start (skipping the gateway).
        let t = WithCursor(MemTable::new(&leases), "10.0.0.6".parse().unwrap());
        let offer = discover_in(&pool, "n", &t, "b", None, 10, "").unwrap();
        assert_eq!(offer.address.to_string(), "10.0.0.2");
    }
}
