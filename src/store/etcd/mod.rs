//! The etcd store: overlays shared by several hosts keep their definition, leases, endpoints
//! and members in etcd (`keys` has the layout); everything of this host alone — bridge and
//! other local networks, namespace records, port claims, intents, the lock — stays in the file
//! store it wraps. A network is routed by its local definition's `shared` flag: each host keeps
//! its own view of a shared overlay (its VTEP, the peers it programmed) in its files.
//!
//! Transactions map to etcd's: a claim is a `Txn` that puts only if the key's create revision
//! is 0 (absent), a replacement one that puts only if its mod revision is the one read, so
//! hosts never collide; a loss is `Error::Conflict` and the caller asks again (DHCP's NAK).

mod batch;
mod conn;
mod keys;
mod liveness;
mod remote;

use super::{BadFile, FileStore, Guard, Intent, SharedClaims, Store};
use crate::error::Result;
use crate::model::family::Family;
use crate::model::{Endpoint, Lease, Member, NamespaceRecord, Network, PortClaim};
use crate::plan::Record;
use conn::Etcd;
use ipnetwork::IpNetwork;
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::HashMap;
use std::net::IpAddr;

/// A network's leases as last read, by address, each with its mod revision.
type LeaseCache = HashMap<String, Vec<(Lease, i64)>>;

pub struct EtcdStore {
    local: FileStore,
    etcd: Etcd,
    host: OnceCell<String>,
    /// Whether a network is shared, from its local definition.
    shared: RefCell<HashMap<String, bool>>,
    leases: RefCell<LeaseCache>,
    /// The members watch `cnet agent` waits on.
    watching: RefCell<Option<conn::Watch>>,
    /// The etcd lease this host's agent keeps alive, with its TTL.
    liveness: Cell<Option<(i64, std::time::Duration)>>,
    /// Down hosts and since when (Unix seconds), as `down_hosts` last read them.
    down_since: RefCell<HashMap<String, u64>>,
}

impl EtcdStore {
    pub fn new(local: FileStore, endpoints: Vec<String>) -> Self {
        EtcdStore {
            local,
            etcd: Etcd::new(endpoints),
            host: OnceCell::new(),
            shared: RefCell::new(HashMap::new()),
            leases: RefCell::new(HashMap::new()),
            watching: RefCell::new(None),
            liveness: Cell::new(None),
            down_since: RefCell::new(HashMap::new()),
        }
    }

    /// Whether a network's state is in etcd.
    fn is_shared(&self, network: &str) -> Result<bool> {
        if let Some(s) = self.shared.borrow().get(network) {
            return Ok(*s);
        }
        // One this host has not joined yet is shared if etcd defines it: an attach that joins
        // it leases from etcd's leases.
        let shared = match self.local.network(network)? {
            Some(n) => n.shared,
            None => self.definition(network)?.is_some(),
        };
        self.shared.borrow_mut().insert(network.to_string(), shared);
        Ok(shared)
    }

    fn host(&self) -> Result<&str> {
        if let Some(h) = self.host.get() {
            return Ok(h);
        }
        let id = remote::host_id(self.local.root())?;
        let _ = self.host.set(id);
        Ok(self.host.get().expect("just set"))
    }

    /// A record, with the compare a shared store needs for it.
    fn apply(&self, r: &Record) -> Result<()> {
        match r {
            Record::PutLease {
                lease,
                previous: Some(p),
            } if self.is_shared(&lease.network)? => self.replace_lease(lease, p),
            other => super::txn::apply(self, other),
        }
    }
}

impl Store for EtcdStore {
    fn commit(&self, records: &[Record]) -> Result<()> {
        self.commit_batched(records)
    }
    fn lock(&self) -> Result<Guard> {
        self.local.lock()
    }
    fn networks(&self) -> Result<Vec<Network>> {
        self.local.networks()
    }
    fn network_names(&self) -> Result<Vec<String>> {
        self.local.network_names()
    }
    fn network(&self, name: &str) -> Result<Option<Network>> {
        self.local.network(name)
    }
    fn put_network(&self, net: &Network) -> Result<()> {
        if net.shared {
            self.join(net)?;
        }
        self.shared.borrow_mut().remove(&net.name);
        self.local.put_network(net)
    }
    fn remove_network(&self, name: &str) -> Result<()> {
        if self.is_shared(name)? {
            self.leave(name)?;
        }
        self.shared.borrow_mut().remove(name);
        self.local.remove_network(name)
    }
    fn leases(&self, network: &str) -> Result<Vec<Lease>> {
        if !self.is_shared(network)? {
            return self.local.leases(network);
        }
        Ok(self
            .cached_leases(network)?
            .into_iter()
            .map(|(l, _)| l)
            .collect())
    }
    fn put_lease(&self, lease: &Lease, claim: bool) -> Result<()> {
        if !self.is_shared(&lease.network)? {
            return self.local.put_lease(lease, claim);
        }
        self.write_lease(lease, claim)
    }
    fn remove_lease(&self, network: &str, address: IpAddr) -> Result<()> {
        if !self.is_shared(network)? {
            return self.local.remove_lease(network, address);
        }
        self.drop_lease(network, address)
    }
    fn lease(&self, network: &str, address: IpAddr) -> Result<Option<Lease>> {
        if !self.is_shared(network)? {
            return self.local.lease(network, address);
        }
        Ok(self
            .cached_leases(network)?
            .into_iter()
            .find(|(l, _)| l.address == address)
            .map(|(l, _)| l))
    }
    fn client_lease(&self, network: &str, client: &str, family: Family) -> Result<Option<Lease>> {
        if !self.is_shared(network)? {
            return self.local.client_lease(network, client, family);
        }
        Ok(self
            .cached_leases(network)?
            .into_iter()
            .map(|(l, _)| l)
            .filter(|l| l.client == client && Family::of(l.address) == family)
            .max_by_key(|l| l.since))
    }
    fn lease_cursor(&self, network: &str, family: Family) -> Result<Option<IpAddr>> {
        if !self.is_shared(network)? {
            return self.local.lease_cursor(network, family);
        }
        // This host's place in a shared overlay's leases of that family.
        self.own_cursor(network, family)
    }
    fn ula(&self) -> Result<Option<IpNetwork>> {
        self.local.ula()
    }
    fn claim_ula(&self, prefix: IpNetwork) -> Result<()> {
        self.local.claim_ula(prefix)
    }
    fn drop_ula(&self) -> Result<()> {
        self.local.drop_ula()
    }
    fn endpoints(&self, network: &str) -> Result<Vec<Endpoint>> {
        if !self.is_shared(network)? {
            return self.local.endpoints(network);
        }
        self.own_endpoints(network)
    }
    fn endpoint(&self, network: &str, key: &str) -> Result<Option<Endpoint>> {
        if !self.is_shared(network)? {
            return self.local.endpoint(network, key);
        }
        self.own_endpoint(network, key)
    }
    fn put_endpoint(&self, key: &str, endpoint: &Endpoint) -> Result<()> {
        if !self.is_shared(&endpoint.network)? {
            return self.local.put_endpoint(key, endpoint);
        }
        self.write_endpoint(key, endpoint)
    }
    fn remove_endpoint(&self, network: &str, key: &str) -> Result<()> {
        if !self.is_shared(network)? {
            return self.local.remove_endpoint(network, key);
        }
        self.drop_endpoint(network, key)
    }
    fn endpoint_count(&self, network: &str) -> Result<usize> {
        if !self.is_shared(network)? {
            return self.local.endpoint_count(network);
        }
        Ok(self.own_endpoints(network)?.len())
    }
    fn namespaces(&self) -> Result<Vec<NamespaceRecord>> {
        self.local.namespaces()
    }
    fn namespace(&self, name: &str) -> Result<Option<NamespaceRecord>> {
        self.local.namespace(name)
    }
    fn put_namespace(&self, record: &NamespaceRecord) -> Result<()> {
        self.local.put_namespace(record)
    }
    fn remove_namespace(&self, name: &str) -> Result<()> {
        self.local.remove_namespace(name)
    }
    fn port_claims(&self, protocol: &str, port: u16) -> Result<Vec<PortClaim>> {
        self.local.port_claims(protocol, port)
    }
    fn claim_ports(&self, claim: &PortClaim) -> Result<()> {
        self.local.claim_ports(claim)
    }
    fn release_ports(&self, claim: &PortClaim) -> Result<()> {
        self.local.release_ports(claim)
    }
    fn put_intent(&self, intent: &Intent) -> Result<()> {
        self.local.put_intent(intent)
    }
    fn intents(&self) -> Result<Vec<Intent>> {
        self.local.intents()
    }
    fn drop_intent(&self, intent: &Intent) -> Result<()> {
        self.local.drop_intent(intent)
    }
    fn recorded_boot(&self) -> Result<Option<String>> {
        self.local.recorded_boot()
    }
    fn record_boot(&self, boot_id: &str) -> Result<()> {
        self.local.record_boot(boot_id)
    }
    fn bad_files(&self) -> Vec<BadFile> {
        self.local.bad_files()
    }
    fn shared(&self) -> bool {
        true
    }
    fn host_id(&self) -> Result<String> {
        self.host().map(str::to_string)
    }
    fn shared_network(&self, name: &str) -> Result<Option<Network>> {
        self.definition(name).map(|d| d.map(|(net, _)| net))
    }
    fn shared_claims(&self) -> Result<SharedClaims> {
        self.claims()
    }
    fn members(&self, network: &str) -> Result<Vec<Member>> {
        self.read_members(network)
    }
    fn watch_overlays(&self) -> Result<()> {
        if self.watching.borrow().is_some() {
            return Ok(());
        }
        let w = self.etcd.watch(&keys::root())?;
        *self.watching.borrow_mut() = Some(w);
        Ok(())
    }
    fn wait_for_change(&self, timeout: std::time::Duration) -> Result<()> {
        let Some(mut w) = self.watching.borrow_mut().take() else {
            std::thread::sleep(timeout);
            return Ok(());
        };
        self.etcd.wait(&mut w, timeout, keys::is_watched)?;
        *self.watching.borrow_mut() = Some(w);
        Ok(())
    }
    fn register_host(&self, ttl: std::time::Duration) -> Result<()> {
        self.register(ttl)
    }
    fn keep_alive(&self) -> Result<()> {
        self.renew()
    }
    fn down_hosts(&self) -> Result<Vec<String>> {
        self.hosts_down()
    }
    fn down_since(&self, host: &str) -> Result<Option<u64>> {
        Ok(self.host_down_since(host))
    }
    fn forget_host(&self, network: &str, host: &str) -> Result<()> {
        self.forget_endpoints(network, host)
    }
    fn remote_endpoints(&self, network: &str) -> Result<Vec<(String, Endpoint)>> {
        if !self.is_shared(network)? {
            return Ok(Vec::new());
        }
        self.others_endpoints(network)
    }
}
