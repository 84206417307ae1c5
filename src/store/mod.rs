//! Where cnet keeps what it did. A small trait, so a second backend (etcd, for overlays that
//! span hosts) can sit beside the file store.

pub mod choice;
#[cfg(feature = "etcd")]
pub mod etcd;
pub mod files;
pub mod memory;
pub mod txn;

use crate::error::Result;
use crate::model::family::Family;
use crate::model::{Endpoint, Lease, Member, NamespaceRecord, Network, PortClaim};
use ipnetwork::IpNetwork;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

pub use files::FileStore;
pub use memory::MemStore;

use crate::ipam::LeaseTable;

/// A network's leases as the allocator sees them, answered a file at a time: an allocation
/// reads a constant number of files however many leases the network has.
pub struct StoreLeases<'a> {
    pub store: &'a dyn Store,
    pub network: &'a str,
    /// The family being leased: each keeps its own hints.
    pub family: Family,
}

impl LeaseTable for StoreLeases<'_> {
    fn at(&self, addr: IpAddr) -> Result<Option<Lease>> {
        self.store.lease(self.network, addr)
    }
    fn of_client(&self, client: &str) -> Result<Vec<Lease>> {
        Ok(self
            .store
            .client_lease(self.network, client, self.family)?
            .into_iter()
            .collect())
    }
    fn all(&self) -> Result<Vec<Lease>> {
        self.store.leases(self.network)
    }
    fn cursor(&self) -> Result<Option<IpAddr>> {
        self.store.lease_cursor(self.network, self.family)
    }
}

/// A state file a listing skipped because it could not be read, parsed or trusted: it hides
/// only its own object, and commands report it on stderr.
#[derive(Clone, Debug, PartialEq)]
pub struct BadFile {
    pub path: PathBuf,
    /// Where a parse error is, when the parser says.
    pub line: Option<usize>,
    pub reason: String,
}

impl BadFile {
    /// What is wrong, without the path: `line 3: ...`.
    pub fn detail(&self) -> String {
        match self.line {
            Some(line) => format!("line {line}: {}", self.reason),
            None => self.reason.clone(),
        }
    }
}

impl fmt::Display for BadFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.detail())
    }
}

impl From<BadFile> for crate::error::Error {
    fn from(b: BadFile) -> Self {
        crate::error::Error::State {
            path: b.path.display().to_string(),
            msg: b.detail(),
        }
    }
}

/// A plan a command is carrying out, written before its first change and removed when it
/// completed or was rolled back: one left behind names a command that was killed mid-way, and
/// the next command (or `cnet gc`) undoes or completes it (`apply::recover`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Intent {
    /// The process carrying it out, with its start time (clock ticks after boot, from
    /// /proc/PID/stat) and the boot: a pid alone may be reused.
    pub pid: u32,
    pub start: u64,
    pub boot_id: String,
    /// A teardown is completed on recovery (its removals are idempotent); anything else is
    /// undone.
    pub teardown: bool,
    pub plan: crate::plan::Plan,
}

impl Intent {
    /// The intent's name in the store: `PID-START`.
    pub fn id(&self) -> String {
        format!("{}-{}", self.pid, self.start)
    }
}

/// The store a command asked for (`--store`, `CNET_STORE`, the configuration file).
pub fn open(global: &crate::cli::Global) -> Result<Box<dyn Store>> {
    let files = FileStore::new(global.state_dir.clone());
    match choice::choose(global.store.as_deref())? {
        choice::StoreChoice::Files => Ok(Box::new(files)),
        #[cfg(feature = "etcd")]
        choice::StoreChoice::Etcd(endpoints) => {
            Ok(Box::new(etcd::EtcdStore::new(files, endpoints)))
        }
        #[cfg(not(feature = "etcd"))]
        choice::StoreChoice::Etcd(_) => Err(crate::error::Error::usage(
            "this cnet was built without the etcd store (cargo feature etcd)",
        )),
    }
}

/// A host's id in a shared store: 12 lowercase hex digits (`STATE/host_id`).
pub fn is_host_id(s: &str) -> bool {
    s.len() == 12
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether a lease's client is a namespace of another host (`NAMESPACE@HOST`, as the shared
/// store shows them): this host can neither see nor free it.
pub fn held_by_another_host(client: &str) -> bool {
    client.rsplit_once('@').is_some_and(|(_, h)| is_host_id(h))
}

/// The VNIs and subnets the overlays of a shared store hold, whichever hosts made them.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SharedClaims {
    pub vnis: Vec<u32>,
    pub subnets: Vec<ipnetwork::IpNetwork>,
}

/// Held while a command mutates state; dropping it releases the lock.
pub type Guard = Box<dyn std::any::Any>;

pub trait Store {
    /// Apply a batch of records, each with its precondition, all or none (see `txn`).
    fn commit(&self, records: &[crate::plan::Record]) -> Result<()>;

    /// Take the exclusive lock every mutation runs under.
    fn lock(&self) -> Result<Guard>;

    fn networks(&self) -> Result<Vec<Network>>;
    /// The networks' names in the order `networks` gives, without reading their definitions.
    fn network_names(&self) -> Result<Vec<String>>;
    fn network(&self, name: &str) -> Result<Option<Network>>;
    fn put_network(&self, net: &Network) -> Result<()>;
    /// Remove a network's definition together with its leases and endpoints.
    fn remove_network(&self, name: &str) -> Result<()>;

    fn leases(&self, network: &str) -> Result<Vec<Lease>>;
    /// Write a lease. With `claim`, the address must not have a lease file yet: two processes
    /// can never both claim one address, even without the lock.
    fn put_lease(&self, lease: &Lease, claim: bool) -> Result<()>;
    fn remove_lease(&self, network: &str, address: IpAddr) -> Result<()>;
    /// The lease of one address.
    fn lease(&self, network: &str, address: IpAddr) -> Result<Option<Lease>>;
    /// The client's most recent lease of one family (from an index kept by `put_lease`).
    fn client_lease(&self, network: &str, client: &str, family: Family) -> Result<Option<Lease>>;
    /// The address of one family most recently bound in the network (where the next search
    /// starts).
    fn lease_cursor(&self, network: &str, family: Family) -> Result<Option<IpAddr>>;
    /// The host's IPv6 unique local /48 (RFC 4193): chosen at random on first use, kept so
    /// `--ipv6` networks without `--subnet6` take /64s of one prefix.
    fn ula(&self) -> Result<Option<IpNetwork>>;
    /// Record the host's ULA prefix, only if none is recorded (or the same one is).
    fn claim_ula(&self, prefix: IpNetwork) -> Result<()>;
    /// Forget it (the undo of its claim).
    fn drop_ula(&self) -> Result<()>;

    /// Endpoints are keyed by the namespace key (`names` of endpoints: see `commands::target`).
    fn endpoints(&self, network: &str) -> Result<Vec<Endpoint>>;
    fn endpoint(&self, network: &str, key: &str) -> Result<Option<Endpoint>>;
    fn put_endpoint(&self, key: &str, endpoint: &Endpoint) -> Result<()>;
    fn remove_endpoint(&self, network: &str, key: &str) -> Result<()>;
    /// How many endpoints a network has, without reading them.
    fn endpoint_count(&self, network: &str) -> Result<usize>;

    fn namespaces(&self) -> Result<Vec<NamespaceRecord>>;
    fn namespace(&self, name: &str) -> Result<Option<NamespaceRecord>>;
    fn put_namespace(&self, record: &NamespaceRecord) -> Result<()>;
    fn remove_namespace(&self, name: &str) -> Result<()>;

    /// The published ports holding one host port of one protocol, on any host address: an
    /// index, so the duplicate check reads one small directory however many endpoints exist.
    fn port_claims(&self, protocol: &str, port: u16) -> Result<Vec<PortClaim>>;
    /// Claim every host port of `claim.mapping` on its host address, each exclusively (like a
    /// lease): if one is held already, nothing is claimed and the error names it.
    fn claim_ports(&self, claim: &PortClaim) -> Result<()>;
    /// Give back the host ports `claim` holds; claims of other holders are left alone.
    fn release_ports(&self, claim: &PortClaim) -> Result<()>;

    /// Record a plan before it runs (replacing an intent of the same process).
    fn put_intent(&self, intent: &Intent) -> Result<()>;
    /// Every intent recorded and not yet dropped (unreadable ones are dropped: a torn intent
    /// was written before its plan started).
    fn intents(&self) -> Result<Vec<Intent>>;
    fn drop_intent(&self, intent: &Intent) -> Result<()>;

    /// The boot the kernel objects were last brought up for (`None`: never recorded).
    fn recorded_boot(&self) -> Result<Option<String>>;
    fn record_boot(&self, boot_id: &str) -> Result<()>;

    /// Whether overlays are shared with other hosts through this store (etcd): then their
    /// definitions, leases, endpoints and members live there, everything else in local files.
    fn shared(&self) -> bool {
        false
    }
    /// This host's id in the shared store.
    fn host_id(&self) -> Result<String> {
        Err(crate::error::Error::runtime("no shared store in use"))
    }
    /// An overlay's definition as the shared store holds it (made by any host).
    fn shared_network(&self, _name: &str) -> Result<Option<Network>> {
        Ok(None)
    }
    /// What the shared overlays of every host hold.
    fn shared_claims(&self) -> Result<SharedClaims> {
        Ok(SharedClaims::default())
    }
    /// The hosts on a shared overlay (this one included once it joined).
    fn members(&self, _network: &str) -> Result<Vec<Member>> {
        Ok(Vec::new())
    }

    /// Start watching the shared overlays (members, endpoints, hosts' liveness), so that
    /// `wait_for_change` sees what changes from then on. Nothing if a watch is open; a watch
    /// that failed is closed, and the next call opens another.
    fn watch_overlays(&self) -> Result<()> {
        Ok(())
    }
    /// Wait until something another host programs changes (since `watch_overlays`), or
    /// `timeout`.
    fn wait_for_change(&self, timeout: std::time::Duration) -> Result<()> {
        std::thread::sleep(timeout);
        Ok(())
    }
    /// Register this host as running an agent, alive for `ttl` unless renewed.
    fn register_host(&self, _ttl: std::time::Duration) -> Result<()> {
        Ok(())
    }
    /// Renew this host's liveness (registering it again if it had expired).
    fn keep_alive(&self) -> Result<()> {
        Ok(())
    }
    /// The hosts whose agent stopped renewing their liveness: down, for the others.
    fn down_hosts(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
    /// When a host `down_hosts` listed was first seen down (Unix seconds), if recorded.
    fn down_since(&self, _host: &str) -> Result<Option<u64>> {
        Ok(None)
    }
    /// Forget another host's endpoints on a shared overlay.
    fn forget_host(&self, _network: &str, _host: &str) -> Result<()> {
        Ok(())
    }
    /// A shared overlay's endpoints on the other hosts, each with its host's id.
    fn remote_endpoints(&self, _network: &str) -> Result<Vec<(String, Endpoint)>> {
        Ok(Vec::new())
    }

    /// The files the listings of this process skipped so far, each once, in the order met.
    fn bad_files(&self) -> Vec<BadFile> {
        Vec::new()
    }
}
