//! The file store: TOML files under the state directory.
//!
//! ```text
//! STATE/lock                          flock(2) taken by every mutation; holds the intents
//!                                     of plans under way (see `journal`)
//! STATE/networks/NAME.toml            network definitions
//! STATE/leases/NETWORK/ADDR.toml      one file per address, claimed with link(2) (exclusive)
//! STATE/leases/NETWORK/clients/KEY    hint: the client's most recent address
//! STATE/leases/NETWORK/.cursor        hint: the address most recently bound
//! STATE/endpoints/NETWORK/KEY.toml    one file per attached namespace
//! STATE/namespaces/NAME.toml          namespaces cnet created (and so may delete)
//! STATE/ports/PROTO/PORT/HOSTIP.toml  host ports held by published ports, claimed with link(2)
//! STATE/leases/NETWORK/clients6/KEY   the same two hints for IPv6 addresses
//! STATE/leases/NETWORK/.cursor6
//! STATE/boot_id                       the boot the kernel objects were last brought up for
//! STATE/ula_prefix                    the host's IPv6 ULA /48, chosen at random on first use
//! ```
//! An attach writes a constant number of small files however many endpoints the network has.
//! Every write is write-temp + rename (or link), so a reader sees the old file or the new one.
//!
//! Only network definitions are fsynced. Everything else describes this boot's kernel objects
//! (endpoints, leases, port claims, created namespaces): a crash takes those objects with it,
//! and leases carry the boot id, so records of an earlier boot are stale anyway. Waiting for the
//! disk on every attach (six fsyncs, ~4 ms on an ext4 virtual disk) would buy nothing. What a
//! crash can leave of an unsynced new file is an empty file: read as absent.
//!
//! Intents are not fsynced either: one written into the lock file and truncated away per
//! command is all they cost. A power loss that drops an intent also drops the kernel objects
//! its plan made (they live in memory), and the boot check (`commands::restore`) rebuilds from
//! the records then; a torn intent was cut short before its plan started, and is dropped.
//!
//! Nothing under the state directory is trusted to be what it should: every file is opened
//! without following a symbolic link and without waiting (a FIFO), and must be a regular file;
//! a write refuses a directory on its way that is a symbolic link. Files are made 0644 and
//! directories 0755 whatever the umask. A listing skips a file it cannot read or parse (and a
//! name cnet could not have written), remembers it for [`Store::bad_files`], and goes on: one
//! bad file hides only its own object.

use super::{BadFile, Guard, Intent, Store};
use crate::error::{Error, Result};
use crate::model::family::Family;
use crate::model::{Endpoint, Lease, LeaseState, NamespaceRecord, Network, PortClaim};
use ipnetwork::IpNetwork;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::collections::HashSet;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

const FILE_MODE: u32 = 0o644;
const DIR_MODE: u32 = 0o755;
/// Every state file is opened with these: a planted link is not followed, a FIFO not waited on.
const SAFE_FLAGS: i32 = libc::O_NOFOLLOW | libc::O_NONBLOCK;

mod journal;
mod kind;
mod safe_io;
mod writes;

use kind::Kind;
use safe_io::*;

pub struct FileStore {
    root: PathBuf,
    bad: RefCell<Vec<BadFile>>,
    journal: journal::Journal,
    /// Directories of the state tree seen to be directories, not links (`refuse_linked_dirs`).
    real_dirs: RefCell<HashSet<PathBuf>>,
}

impl FileStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        FileStore {
            journal: journal::Journal::new(root.join("lock")),
            root,
            bad: RefCell::new(Vec::new()),
            real_dirs: RefCell::default(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn network_file(&self, name: &str) -> PathBuf {
        self.root.join("networks").join(format!("{name}.toml"))
    }
    fn lease_dir(&self, network: &str) -> PathBuf {
        self.root.join("leases").join(network)
    }
    fn endpoint_dir(&self, network: &str) -> PathBuf {
        self.root.join("endpoints").join(network)
    }
    fn namespace_file(&self, name: &str) -> PathBuf {
        self.root.join("namespaces").join(format!("{name}.toml"))
    }

    fn note_bad(&self, bad: BadFile) {
        let mut list = self.bad.borrow_mut();
        if !list.iter().any(|b| b.path == bad.path) {
            list.push(bad);
        }
    }

    /// Every `*.toml` of a directory, parsed, in name order (missing directory: empty). A file
    /// that cannot be read or parsed, or whose name cnet could not have written, is skipped
    /// and noted.
    fn list<T: DeserializeOwned>(&self, dir: &Path, kind: Kind) -> Result<Vec<T>> {
        let paths = self.state_files(dir, kind)?;
        let mut out = Vec::with_capacity(paths.len());
        for p in paths {
            match load(&p) {
                Ok(Some(v)) => out.push(v),
                Ok(None) => {}
                Err(bad) => self.note_bad(bad),
            }
        }
        Ok(out)
    }

    /// The state files of a directory with valid names, in name order (missing directory:
    /// none); a `*.toml` with an invalid name is noted as bad.
    fn state_files(&self, dir: &Path, kind: Kind) -> Result<Vec<PathBuf>> {
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(dir, e)),
        };
        let mut paths = Vec::new();
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if path.extension().is_none_or(|x| x != "toml") {
                continue; // temporary files, hints, `clients/`
            }
            let stem = path.file_stem().unwrap_or_default().to_string_lossy();
            if kind.valid(&stem) {
                paths.push(path);
            } else {
                self.note_bad(BadFile {
                    reason: format!("'{stem}' is not a valid {} name", kind.noun()),
                    line: None,
                    path,
                });
            }
        }
        paths.sort();
        Ok(paths)
    }
}

impl Store for FileStore {
    fn commit(&self, records: &[crate::plan::Record]) -> Result<()> {
        super::txn::commit_each(self, records)
    }
    fn lock(&self) -> Result<Guard> {
        self.journal.lock()
    }

    fn networks(&self) -> Result<Vec<Network>> {
        self.list(&self.root.join("networks"), Kind::Network)
    }

    fn network_names(&self) -> Result<Vec<String>> {
        Ok(self
            .state_files(&self.root.join("networks"), Kind::Network)?
            .iter()
            .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .collect())
    }

    fn network(&self, name: &str) -> Result<Option<Network>> {
        read_toml(&self.network_file(name))
    }

    fn put_network(&self, net: &Network) -> Result<()> {
        self.write_atomic(&self.network_file(&net.name), net, Durability::Disk)
    }

    fn remove_network(&self, name: &str) -> Result<()> {
        self.remove_dir_all(&self.endpoint_dir(name))?;
        self.remove_dir_all(&self.lease_dir(name))?;
        self.remove_file(&self.network_file(name))
    }

    fn leases(&self, network: &str) -> Result<Vec<Lease>> {
        self.list(&self.lease_dir(network), Kind::Lease)
    }

    fn put_lease(&self, lease: &Lease, claim: bool) -> Result<()> {
        let dir = self.lease_dir(&lease.network);
        let path = dir.join(format!("{}.toml", lease.address));
        if lease.state == LeaseState::Bound {
            // A bind (ACK) is where an address changes hands: keep the hints in step. Written
            // only then, so an attach that fails and rolls back leaves no trace.
            let addr = lease.address.to_string();
            let (clients, cursor) = hint_names(Family::of(lease.address));
            self.write_hint(&dir.join(clients).join(client_file(&lease.client)), &addr)?;
            self.write_hint(&dir.join(cursor), &addr)?;
        }
        if !claim {
            return self.write_atomic(&path, lease, Durability::Boot);
        }
        if self.write_exclusive(&path, lease)? {
            Ok(())
        } else {
            Err(Error::runtime(format!(
                "address {} of network {} was claimed by another process",
                lease.address, lease.network
            )))
        }
    }

    fn remove_lease(&self, network: &str, address: IpAddr) -> Result<()> {
        self.remove_file(&self.lease_dir(network).join(format!("{address}.toml")))
    }

    fn lease(&self, network: &str, address: IpAddr) -> Result<Option<Lease>> {
        read_toml(&self.lease_dir(network).join(format!("{address}.toml")))
    }

    fn client_lease(&self, network: &str, client: &str, family: Family) -> Result<Option<Lease>> {
        let hint = self
            .lease_dir(network)
            .join(hint_names(family).0)
            .join(client_file(client));
        let Some(addr) = read_hint(&hint)?.and_then(|a| a.parse().ok()) else {
            return Ok(None);
        };
        // The address may have gone to someone else since: then the hint is stale.
        Ok(self.lease(network, addr)?.filter(|l| l.client == client))
    }

    fn lease_cursor(&self, network: &str, family: Family) -> Result<Option<IpAddr>> {
        let hint = self.lease_dir(network).join(hint_names(family).1);
        Ok(read_hint(&hint)?.and_then(|a| a.parse().ok()))
    }

    fn ula(&self) -> Result<Option<IpNetwork>> {
        Ok(read_hint(&self.ula_file())?.and_then(|p| p.trim().parse().ok()))
    }

    fn claim_ula(&self, prefix: IpNetwork) -> Result<()> {
        match self.ula()? {
            Some(p) if p == prefix => Ok(()),
            Some(p) => Err(Error::runtime(format!(
                "this host's IPv6 prefix is already {p} (another process chose it meanwhile)"
            ))),
            None => {
                self.write_atomic_text(&self.ula_file(), &format!("{prefix}\n"), Durability::Disk)
            }
        }
    }

    fn drop_ula(&self) -> Result<()> {
        self.remove_file(&self.ula_file())
    }

    fn endpoints(&self, network: &str) -> Result<Vec<Endpoint>> {
        self.list(&self.endpoint_dir(network), Kind::Endpoint)
    }

    fn endpoint(&self, network: &str, key: &str) -> Result<Option<Endpoint>> {
        read_toml(&self.endpoint_dir(network).join(format!("{key}.toml")))
    }

    fn put_endpoint(&self, key: &str, endpoint: &Endpoint) -> Result<()> {
        let path = self
            .endpoint_dir(&endpoint.network)
            .join(format!("{key}.toml"));
        self.write_atomic(&path, endpoint, Durability::Boot)
    }

    fn remove_endpoint(&self, network: &str, key: &str) -> Result<()> {
        self.remove_file(&self.endpoint_dir(network).join(format!("{key}.toml")))
    }

    fn endpoint_count(&self, network: &str) -> Result<usize> {
        Ok(self
            .state_files(&self.endpoint_dir(network), Kind::Endpoint)?
            .len())
    }

    fn namespaces(&self) -> Result<Vec<NamespaceRecord>> {
        self.list(&self.root.join("namespaces"), Kind::Namespace)
    }

    fn namespace(&self, name: &str) -> Result<Option<NamespaceRecord>> {
        read_toml(&self.namespace_file(name))
    }

    fn put_namespace(&self, record: &NamespaceRecord) -> Result<()> {
        self.write_atomic(&self.namespace_file(&record.name), record, Durability::Boot)
    }

    fn remove_namespace(&self, name: &str) -> Result<()> {
        self.remove_file(&self.namespace_file(name))
    }

    fn port_claims(&self, protocol: &str, port: u16) -> Result<Vec<PortClaim>> {
        self.list(&self.port_dir(protocol, port), Kind::PortClaim)
    }

    fn claim_ports(&self, claim: &PortClaim) -> Result<()> {
        let m = &claim.mapping;
        self.refuse_linked_dirs(&self.port_file(claim, m.host_port))?;
        // One complete file, hard-linked once per host port: each link is atomic and
        // exclusive, and a range costs one write however many ports it has.
        let tmp = write_temp(
            &self.root.join("ports").join("claim"),
            &to_toml(claim, &self.port_file(claim, m.host_port))?,
            Durability::Boot,
        )?;
        let mut made: Vec<PathBuf> = Vec::new();
        let mut failed = None;
        for port in m.host_port..=m.host_port_end {
            let path = self.port_file(claim, port);
            let linked = create_dir(path.parent().expect("in a port directory"))
                .and_then(|_| fs::hard_link(&tmp, &path).map_err(|e| io_err(&path, e)));
            match linked {
                Ok(()) => made.push(path),
                Err(e) => {
                    failed = Some(match e {
                        Error::Io { source, .. } if source.kind() == ErrorKind::AlreadyExists => {
                            Error::runtime(format!(
                                "host port {}:{port}/{} was claimed by another process",
                                m.host_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                                m.protocol
                            ))
                        }
                        e => e,
                    });
                    break;
                }
            }
        }
        let _ = fs::remove_file(&tmp);
        if let Some(e) = failed {
            for path in &made {
                let _ = fs::remove_file(path);
                let _ = fs::remove_dir(path.parent().expect("in a port directory"));
            }
            return Err(e);
        }
        Ok(())
    }

    fn release_ports(&self, claim: &PortClaim) -> Result<()> {
        let m = &claim.mapping;
        for port in m.host_port..=m.host_port_end {
            let path = self.port_file(claim, port);
            match read_toml::<PortClaim>(&path)? {
                Some(c) if c.network == claim.network && c.key == claim.key => {
                    self.remove_file(&path)?;
                    // The port's directory goes when it is empty (another address may hold it).
                    let _ = fs::remove_dir(path.parent().expect("in a port directory"));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn put_intent(&self, intent: &Intent) -> Result<()> {
        self.journal.put(intent)
    }

    fn intents(&self) -> Result<Vec<Intent>> {
        self.journal.intents()
    }

    fn drop_intent(&self, intent: &Intent) -> Result<()> {
        self.journal.drop_intent(intent)
    }

    fn recorded_boot(&self) -> Result<Option<String>> {
        read_hint(&self.root.join("boot_id"))
    }

    fn record_boot(&self, boot_id: &str) -> Result<()> {
        self.write_hint(&self.root.join("boot_id"), &format!("{boot_id}\n"))
    }

    fn bad_files(&self) -> Vec<BadFile> {
        self.bad.borrow().clone()
    }
}

/// The hints of one family's leases: the clients' directory and the cursor file. IPv4 keeps
/// the names it always had, so older state directories read as they were.
fn hint_names(family: Family) -> (&'static str, &'static str) {
    match family {
        Family::V4 => ("clients", ".cursor"),
        Family::V6 => ("clients6", ".cursor6"),
    }
}

impl FileStore {
    fn ula_file(&self) -> PathBuf {
        self.root.join("ula_prefix")
    }

    /// `ports/PROTOCOL/PORT/`: who holds a host port, one file per host address.
    fn port_dir(&self, protocol: &str, port: u16) -> PathBuf {
        self.root
            .join("ports")
            .join(protocol)
            .join(port.to_string())
    }

    fn port_file(&self, claim: &PortClaim, port: u16) -> PathBuf {
        let ip = claim
            .mapping
            .host_ip
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        self.port_dir(&claim.mapping.protocol, port)
            .join(format!("{ip}.toml"))
    }
}

#[cfg(test)]
mod tests;
