//! A store in memory, with the file store's semantics (exclusive claims of addresses and host
//! ports): for tests of commands and of the executor, without root or a state directory.

use super::{Guard, Intent, SharedClaims, Store};
use crate::error::{Error, Result};
use crate::model::family::Family;
use crate::model::{Endpoint, Lease, LeaseState, Member, NamespaceRecord, Network, PortClaim};
use ipnetwork::IpNetwork;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::rc::Rc;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Contents {
    pub networks: BTreeMap<String, Network>,
    pub leases: BTreeMap<(String, IpAddr), Lease>,
    pub endpoints: BTreeMap<(String, String), Endpoint>,
    pub namespaces: BTreeMap<String, NamespaceRecord>,
    /// (protocol, host port, host address) -> holder.
    pub ports: BTreeMap<(String, u16, Option<IpAddr>), PortClaim>,
    pub cursors: BTreeMap<(String, Family), IpAddr>,
    /// The host's IPv6 ULA prefix.
    pub ula: Option<IpNetwork>,
    /// Plans under way, by intent id.
    pub intents: BTreeMap<String, Intent>,
}

/// Clones share one store: a test keeps a handle to look into what a command wrote.
#[derive(Default, Clone)]
pub struct MemStore {
    pub contents: Rc<RefCell<Contents>>,
    /// Fail the write with this index (0-based, counting every change asked for).
    pub fail_write_at: Rc<Cell<Option<usize>>>,
    /// How many changes were asked for.
    pub writes: Rc<Cell<usize>>,
    /// The boot recorded; `None` stands for this one (tests start from a store in step).
    pub boot: Rc<RefCell<Option<String>>>,
    /// Lose this many address claims to another host, as a shared store can: the address is
    /// taken by [`RIVAL`] and the claim is a NAK (`Error::Conflict`).
    pub lose_claims: Rc<Cell<usize>>,
    /// What a shared store holds of other hosts, for tests of shared overlays (`None`: this
    /// store shares nothing, as the file store).
    pub shared: Rc<RefCell<Option<SharedView>>>,
}

/// A shared store's contents as a host sees them: its own id, the overlays' definitions and
/// their members.
#[derive(Debug, Default, Clone)]
pub struct SharedView {
    pub host: String,
    pub definitions: BTreeMap<String, Network>,
    pub members: BTreeMap<String, Vec<Member>>,
}

/// The client that wins the claims a [`MemStore`] is told to lose: a namespace of another host.
pub const RIVAL: &str = "rival@0123456789ab";

impl MemStore {
    pub fn holding(contents: Contents) -> Self {
        MemStore {
            contents: Rc::new(RefCell::new(contents)),
            ..Default::default()
        }
    }

    /// Everything the store holds now (to compare before and after a command).
    pub fn snapshot(&self) -> Contents {
        self.contents.borrow().clone()
    }

    /// Count a change, failing it when it is the one to fail.
    fn write(&self) -> Result<()> {
        let index = self.writes.get();
        self.writes.set(index + 1);
        if self.fail_write_at.get() == Some(index) {
            return Err(Error::runtime(format!(
                "injected failure at state write {index}"
            )));
        }
        Ok(())
    }
}

impl Store for MemStore {
    fn commit(&self, records: &[crate::plan::Record]) -> Result<()> {
        super::txn::commit_each(self, records)
    }
    fn lock(&self) -> Result<Guard> {
        Ok(Box::new(()))
    }
    fn networks(&self) -> Result<Vec<Network>> {
        Ok(self.contents.borrow().networks.values().cloned().collect())
    }
    fn network_names(&self) -> Result<Vec<String>> {
        Ok(self.contents.borrow().networks.keys().cloned().collect())
    }
    fn network(&self, name: &str) -> Result<Option<Network>> {
        Ok(self.contents.borrow().networks.get(name).cloned())
    }
    fn put_network(&self, net: &Network) -> Result<()> {
        self.write()?;
        let mut c = self.contents.borrow_mut();
        c.networks.insert(net.name.clone(), net.clone());
        Ok(())
    }
    fn remove_network(&self, name: &str) -> Result<()> {
        self.write()?;
        let mut c = self.contents.borrow_mut();
        c.networks.remove(name);
        c.leases.retain(|(n, _), _| n != name);
        c.endpoints.retain(|(n, _), _| n != name);
        c.cursors.retain(|(n, _), _| n != name);
        Ok(())
    }
    fn leases(&self, network: &str) -> Result<Vec<Lease>> {
        let c = self.contents.borrow();
        Ok(c.leases
            .iter()
            .filter(|((n, _), _)| n == network)
            .map(|(_, l)| l.clone())
            .collect())
    }
    fn put_lease(&self, lease: &Lease, claim: bool) -> Result<()> {
        self.write()?;
        let mut c = self.contents.borrow_mut();
        let key = (lease.network.clone(), lease.address);
        if claim && !c.leases.contains_key(&key) && self.lose_claims.get() > 0 {
            self.lose_claims.set(self.lose_claims.get() - 1);
            let taken = Lease {
                client: RIVAL.into(),
                state: LeaseState::Bound,
                ..lease.clone()
            };
            c.leases.insert(key, taken);
            return Err(Error::Conflict(format!(
                "address {} of network {} was claimed by another host",
                lease.address, lease.network
            )));
        }
        if claim && c.leases.contains_key(&key) {
            return Err(Error::runtime(format!(
                "address {} of network {} was claimed by another process",
                lease.address, lease.network
            )));
        }
        if lease.state == LeaseState::Bound {
            c.cursors.insert(
                (lease.network.clone(), Family::of(lease.address)),
                lease.address,
            );
        }
        c.leases.insert(key, lease.clone());
        Ok(())
    }
    fn remove_lease(&self, network: &str, address: IpAddr) -> Result<()> {
        self.write()?;
        self.contents
            .borrow_mut()
            .leases
            .remove(&(network.to_string(), address));
        Ok(())
    }
    fn lease(&self, network: &str, address: IpAddr) -> Result<Option<Lease>> {
        let c = self.contents.borrow();
        Ok(c.leases.get(&(network.to_string(), address)).cloned())
    }
    fn client_lease(&self, network: &str, client: &str, family: Family) -> Result<Option<Lease>> {
        Ok(self
            .leases(network)?
            .into_iter()
            .filter(|l| l.client == client && Family::of(l.address) == family)
            .max_by_key(|l| l.since))
    }
    fn lease_cursor(&self, network: &str, family: Family) -> Result<Option<IpAddr>> {
        let key = (network.to_string(), family);
        Ok(self.contents.borrow().cursors.get(&key).copied())
    }
    fn ula(&self) -> Result<Option<IpNetwork>> {
        Ok(self.contents.borrow().ula)
    }
    fn claim_ula(&self, prefix: IpNetwork) -> Result<()> {
        self.write()?;
        let mut c = self.contents.borrow_mut();
        match c.ula {
            Some(p) if p != prefix => Err(Error::runtime(format!(
                "this host's IPv6 prefix is already {p}"
            ))),
            _ => {
                c.ula = Some(prefix);
                Ok(())
            }
        }
    }
    fn drop_ula(&self) -> Result<()> {
        self.write()?;
        self.contents.borrow_mut().ula = None;
        Ok(())
    }
    fn endpoints(&self, network: &str) -> Result<Vec<Endpoint>> {
        let c = self.contents.borrow();
        Ok(c.endpoints
            .iter()
            .filter(|((n, _), _)| n == network)
            .map(|(_, e)| e.clone())
            .collect())
    }
    fn endpoint(&self, network: &str, key: &str) -> Result<Option<Endpoint>> {
        let c = self.contents.borrow();
        Ok(c.endpoints
            .get(&(network.to_string(), key.to_string()))
            .cloned())
    }
    fn put_endpoint(&self, key: &str, endpoint: &Endpoint) -> Result<()> {
        self.write()?;
        self.contents.borrow_mut().endpoints.insert(
            (endpoint.network.clone(), key.to_string()),
            endpoint.clone(),
        );
        Ok(())
    }
    fn remove_endpoint(&self, network: &str, key: &str) -> Result<()> {
        self.write()?;
        self.contents
            .borrow_mut()
            .endpoints
            .remove(&(network.to_string(), key.to_string()));
        Ok(())
    }
    fn endpoint_count(&self, network: &str) -> Result<usize> {
        Ok(self.endpoints(network)?.len())
    }
    fn namespaces(&self) -> Result<Vec<NamespaceRecord>> {
        Ok(self
            .contents
            .borrow()
            .namespaces
            .values()
            .cloned()
            .collect())
    }
    fn namespace(&self, name: &str) -> Result<Option<NamespaceRecord>> {
        Ok(self.contents.borrow().namespaces.get(name).cloned())
    }
    fn put_namespace(&self, record: &NamespaceRecord) -> Result<()> {
        self.write()?;
        self.contents
            .borrow_mut()
            .namespaces
            .insert(record.name.clone(), record.clone());
        Ok(())
    }
    fn remove_namespace(&self, name: &str) -> Result<()> {
        self.write()?;
        self.contents.borrow_mut().namespaces.remove(name);
        Ok(())
    }
    fn port_claims(&self, protocol: &str, port: u16) -> Result<Vec<PortClaim>> {
        let c = self.contents.borrow();
        Ok(c.ports
            .iter()
            .filter(|((p, n, _), _)| p == protocol && *n == port)
            .map(|(_, c)| c.clone())
            .collect())
    }
    fn claim_ports(&self, claim: &PortClaim) -> Result<()> {
        self.write()?;
        let mut c = self.contents.borrow_mut();
        let m = &claim.mapping;
        let keys: Vec<_> = (m.host_port..=m.host_port_end)
            .map(|p| (m.protocol.clone(), p, m.host_ip))
            .collect();
        if let Some(k) = keys.iter().find(|k| c.ports.contains_key(*k)) {
            return Err(Error::runtime(format!(
                "host port {}/{} was claimed by another process",
                k.1, k.0
            )));
        }
        for k in keys {
            c.ports.insert(k, claim.clone());
        }
        Ok(())
    }
    fn release_ports(&self, claim: &PortClaim) -> Result<()> {
        self.write()?;
        let m = &claim.mapping;
        self.contents.borrow_mut().ports.retain(|(p, n, ip), c| {
            !(*p == m.protocol
                && (m.host_port..=m.host_port_end).contains(n)
                && *ip == m.host_ip
                && c.network == claim.network
                && c.key == claim.key)
        });
        Ok(())
    }
    // Not counted as writes: a test failing each state write in turn fails the records a
    // plan makes, not the bookkeeping around it.
    fn put_intent(&self, intent: &Intent) -> Result<()> {
        self.contents
            .borrow_mut()
            .intents
            .insert(intent.id(), intent.clone());
        Ok(())
    }
    fn intents(&self) -> Result<Vec<Intent>> {
        Ok(self.contents.borrow().intents.values().cloned().collect())
    }
    fn drop_intent(&self, intent: &Intent) -> Result<()> {
        self.contents.borrow_mut().intents.remove(&intent.id());
        Ok(())
    }
    fn recorded_boot(&self) -> Result<Option<String>> {
        Ok(Some(
            self.boot
                .borrow()
                .clone()
                .unwrap_or_else(crate::kernel::boot_id),
        ))
    }
    fn record_boot(&self, boot_id: &str) -> Result<()> {
        *self.boot.borrow_mut() = Some(boot_id.to_string());
        Ok(())
    }
    fn shared(&self) -> bool {
        self.shared.borrow().is_some()
    }
    fn host_id(&self) -> Result<String> {
        let view = self.shared.borrow();
        let view = view
            .as_ref()
            .ok_or_else(|| Error::runtime("no shared store"))?;
        Ok(view.host.clone())
    }
    fn shared_network(&self, name: &str) -> Result<Option<Network>> {
        let view = self.shared.borrow();
        Ok(view.as_ref().and_then(|v| v.definitions.get(name).cloned()))
    }
    fn shared_claims(&self) -> Result<SharedClaims> {
        let view = self.shared.borrow();
        let defs = view.iter().flat_map(|v| v.definitions.values());
        Ok(SharedClaims {
            vnis: defs.clone().filter_map(|n| n.vni).collect(),
            subnets: defs.flat_map(|n| n.subnets()).collect(),
        })
    }
    fn members(&self, network: &str) -> Result<Vec<Member>> {
        let view = self.shared.borrow();
        Ok(view
            .as_ref()
            .and_then(|v| v.members.get(network).cloned())
            .unwrap_or_default())
    }
}
