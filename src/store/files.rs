//! The file store: TOML files under the state directory.
//!
//! ```text
//! STATE/lock                          flock(2) taken by every mutation
//! STATE/networks/NAME.toml            network definitions
//! STATE/leases/NETWORK/ADDR.toml      one file per address, claimed with link(2) (exclusive)
//! STATE/leases/NETWORK/clients/KEY    hint: the client's most recent address
//! STATE/leases/NETWORK/.cursor        hint: the address most recently bound
//! STATE/endpoints/NETWORK/KEY.toml    one file per attached namespace
//! STATE/namespaces/NAME.toml          namespaces cnet created (and so may delete)
//! STATE/ports/PROTO/PORT/HOSTIP.toml  host ports held by published ports, claimed with link(2)
//! ```
//! An attach writes a constant number of small files however many endpoints the network has.
//! Every write is write-temp + rename (or link), so a reader sees the old file or the new one.
//!
//! Only network definitions are fsynced. Everything else describes this boot's kernel objects
//! (endpoints, leases, port claims, created namespaces): a crash takes those objects with it,
//! and leases carry the boot id, so records of an earlier boot are stale anyway. Waiting for the
//! disk on every attach (six fsyncs, ~4 ms on an ext4 virtual disk) would buy nothing. What a
//! crash can leave of an unsynced new file is an empty file: read as absent.

use super::{Guard, Store};
use crate::error::{Error, Result};
use crate::model::{Endpoint, Lease, LeaseState, NamespaceRecord, Network, PortClaim};
use nix::fcntl::{Flock, FlockArg};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

pub struct FileStore {
    root: PathBuf,
}

impl FileStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FileStore { root: root.into() }
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
}

fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::io(path.display().to_string(), e)
}

fn create_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| io_err(dir, e))
}

fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dir, e))
}

/// Whether a write must reach the disk before cnet goes on (see the module comment).
#[derive(Clone, Copy, PartialEq)]
enum Durability {
    /// fsync the file and its directory.
    Disk,
    /// Describes this boot's kernel state: no fsync.
    Boot,
}

/// Open `path` for writing from the start, creating it (and its directory, if missing).
fn create_truncate(path: &Path) -> Result<File> {
    let dir = path.parent().expect("state files live in a directory");
    crate::fsutil::making_dir(dir, || {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
    })
    .map_err(|e| io_err(path, e))
}

/// Write `text` to a temporary file beside `path` (fsynced if `durable`); returns its path.
fn write_temp(path: &Path, text: &str, durable: Durability) -> Result<PathBuf> {
    let dir = path.parent().expect("state files live in a directory");
    let name = path.file_name().unwrap().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = create_truncate(&tmp)?;
    f.write_all(text.as_bytes())
        .and_then(|_| {
            if durable == Durability::Disk {
                f.sync_all()
            } else {
                Ok(())
            }
        })
        .map_err(|e| io_err(&tmp, e))?;
    Ok(tmp)
}

fn to_toml<T: Serialize>(value: &T, path: &Path) -> Result<String> {
    toml::to_string(value).map_err(|e| Error::State {
        path: path.display().to_string(),
        msg: e.to_string(),
    })
}

/// Replace `path` atomically with the TOML of `value`.
fn write_atomic<T: Serialize>(path: &Path, value: &T, durable: Durability) -> Result<()> {
    let tmp = write_temp(path, &to_toml(value, path)?, durable)?;
    fs::rename(&tmp, path).map_err(|e| io_err(path, e))?;
    if durable == Durability::Disk {
        fsync_dir(path.parent().unwrap())?;
    }
    Ok(())
}

/// Create `path` with the TOML of `value`, failing with `AlreadyExists` if it is there:
/// link(2) of a complete temporary file is both atomic and exclusive.
fn write_exclusive<T: Serialize>(path: &Path, value: &T) -> Result<bool> {
    let tmp = write_temp(path, &to_toml(value, path)?, Durability::Boot)?;
    let mut linked = fs::hard_link(&tmp, path);
    if matches!(&linked, Err(e) if e.kind() == ErrorKind::AlreadyExists)
        && fs::metadata(path).is_ok_and(|m| m.len() == 0)
    {
        // An empty file left by a crash holds nothing (read_toml): take its place.
        let _ = fs::remove_file(path);
        linked = fs::hard_link(&tmp, path);
    }
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io_err(path, e)),
    }
}

/// Read and parse one TOML file; `None` if it does not exist. A file that does not parse is an
/// error naming the file and line, never silently replaced.
fn read_toml<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path, e)),
    };
    if text.is_empty() {
        // What a crash leaves of a file written without fsync (see the module comment).
        return Ok(None);
    }
    toml::from_str(&text).map(Some).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let msg = e.message().replace('\n', " ");
        Error::State {
            path: match line {
                Some(l) => format!("{}:{l}", path.display()),
                None => path.display().to_string(),
            },
            msg: format!("cannot parse state file: {}", msg.trim()),
        }
    })
}

/// Every `*.toml` of a directory, parsed, in name order (missing directory: empty).
fn read_dir_toml<T: DeserializeOwned>(dir: &Path) -> Result<Vec<T>> {
    let paths = state_files(dir)?;
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        if let Some(v) = read_toml(&p)? {
            out.push(v);
        }
    }
    Ok(out)
}

/// The state files of a directory, in name order (missing directory: none).
fn state_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir, e)),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_state_file(p))
        .collect();
    paths.sort();
    Ok(paths)
}

fn is_state_file(p: &Path) -> bool {
    p.extension().is_some_and(|x| x == "toml")
        && !p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// Rewrite a hint file in place. A hint is an index checked on every read (under the lock),
/// so it needs neither fsync nor an atomic replace: a torn one reads as no hint.
fn write_hint(path: &Path, text: &str) -> Result<()> {
    create_truncate(path)?
        .write_all(text.as_bytes())
        .map_err(|e| io_err(path, e))
}

fn read_hint(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

/// A file name for a client id (names are safe as they are; paths are hashed).
fn client_file(client: &str) -> String {
    if client.contains('/') || client.starts_with('.') {
        format!("@{:016x}", crate::names::stable_hash(&[client]))
    } else {
        client.to_string()
    }
}

fn remove_file(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path, e)),
    }
}

fn remove_dir_all(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path, e)),
    }
}

impl Store for FileStore {
    fn lock(&self) -> Result<Guard> {
        let path = self.root.join("lock");
        let file = crate::fsutil::making_dir(&self.root, || {
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
        })
        .map_err(|e| io_err(&path, e))?;
        let lock = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| io_err(&path, errno.into()))?;
        Ok(Box::new(lock))
    }

    fn networks(&self) -> Result<Vec<Network>> {
        read_dir_toml(&self.root.join("networks"))
    }

    fn network_names(&self) -> Result<Vec<String>> {
        Ok(state_files(&self.root.join("networks"))?
            .iter()
            .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .collect())
    }

    fn network(&self, name: &str) -> Result<Option<Network>> {
        read_toml(&self.network_file(name))
    }

    fn put_network(&self, net: &Network) -> Result<()> {
        write_atomic(&self.network_file(&net.name), net, Durability::Disk)
    }

    fn remove_network(&self, name: &str) -> Result<()> {
        remove_dir_all(&self.endpoint_dir(name))?;
        remove_dir_all(&self.lease_dir(name))?;
        remove_file(&self.network_file(name))
    }

    fn leases(&self, network: &str) -> Result<Vec<Lease>> {
        read_dir_toml(&self.lease_dir(network))
    }

    fn put_lease(&self, lease: &Lease, claim: bool) -> Result<()> {
        let dir = self.lease_dir(&lease.network);
        let path = dir.join(format!("{}.toml", lease.address));
        if lease.state == LeaseState::Bound {
            // A bind (ACK) is where an address changes hands: keep the hints in step. Written
            // only then, so an attach that fails and rolls back leaves no trace.
            let addr = lease.address.to_string();
            write_hint(&dir.join("clients").join(client_file(&lease.client)), &addr)?;
            write_hint(&dir.join(".cursor"), &addr)?;
        }
        if !claim {
            return write_atomic(&path, lease, Durability::Boot);
        }
        if write_exclusive(&path, lease)? {
            Ok(())
        } else {
            Err(Error::runtime(format!(
                "address {} of network {} was claimed by another process",
                lease.address, lease.network
            )))
        }
    }

    fn remove_lease(&self, network: &str, address: Ipv4Addr) -> Result<()> {
        remove_file(&self.lease_dir(network).join(format!("{address}.toml")))
    }

    fn lease(&self, network: &str, address: Ipv4Addr) -> Result<Option<Lease>> {
        read_toml(&self.lease_dir(network).join(format!("{address}.toml")))
    }

    fn client_lease(&self, network: &str, client: &str) -> Result<Option<Lease>> {
        let hint = self
            .lease_dir(network)
            .join("clients")
            .join(client_file(client));
        let Some(addr) = read_hint(&hint).and_then(|a| a.parse().ok()) else {
            return Ok(None);
        };
        // The address may have gone to someone else since: then the hint is stale.
        Ok(self.lease(network, addr)?.filter(|l| l.client == client))
    }

    fn lease_cursor(&self, network: &str) -> Result<Option<Ipv4Addr>> {
        Ok(read_hint(&self.lease_dir(network).join(".cursor")).and_then(|a| a.parse().ok()))
    }

    fn endpoints(&self, network: &str) -> Result<Vec<Endpoint>> {
        read_dir_toml(&self.endpoint_dir(network))
    }

    fn endpoint(&self, network: &str, key: &str) -> Result<Option<Endpoint>> {
        read_toml(&self.endpoint_dir(network).join(format!("{key}.toml")))
    }

    fn put_endpoint(&self, key: &str, endpoint: &Endpoint) -> Result<()> {
        let path = self
            .endpoint_dir(&endpoint.network)
            .join(format!("{key}.toml"));
        write_atomic(&path, endpoint, Durability::Boot)
    }

    fn remove_endpoint(&self, network: &str, key: &str) -> Result<()> {
        remove_file(&self.endpoint_dir(network).join(format!("{key}.toml")))
    }

    fn endpoint_count(&self, network: &str) -> Result<usize> {
        let dir = self.endpoint_dir(network);
        match fs::read_dir(&dir) {
            Ok(entries) => Ok(entries
                .filter_map(|e| e.ok())
                .filter(|e| is_state_file(&e.path()))
                .count()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(0),
            Err(e) => Err(io_err(&dir, e)),
        }
    }

    fn namespaces(&self) -> Result<Vec<NamespaceRecord>> {
        read_dir_toml(&self.root.join("namespaces"))
    }

    fn namespace(&self, name: &str) -> Result<Option<NamespaceRecord>> {
        read_toml(&self.namespace_file(name))
    }

    fn put_namespace(&self, record: &NamespaceRecord) -> Result<()> {
        write_atomic(&self.namespace_file(&record.name), record, Durability::Boot)
    }

    fn remove_namespace(&self, name: &str) -> Result<()> {
        remove_file(&self.namespace_file(name))
    }

    fn port_claims(&self, protocol: &str, port: u16) -> Result<Vec<PortClaim>> {
        read_dir_toml(&self.port_dir(protocol, port))
    }

    fn claim_ports(&self, claim: &PortClaim) -> Result<()> {
        let m = &claim.mapping;
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
                                m.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
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
                    remove_file(&path)?;
                    // The port's directory goes when it is empty (another address may hold it).
                    let _ = fs::remove_dir(path.parent().expect("in a port directory"));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl FileStore {
    /// `ports/PROTOCOL/PORT/`: who holds a host port, one file per host address.
    fn port_dir(&self, protocol: &str, port: u16) -> PathBuf {
        self.root
            .join("ports")
            .join(protocol)
            .join(port.to_string())
    }

    fn port_file(&self, claim: &PortClaim, port: u16) -> PathBuf {
        let ip = claim.mapping.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        self.port_dir(&claim.mapping.protocol, port)
            .join(format!("{ip}.toml"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Driver, LeaseState};

    fn tmp_store(tag: &str) -> FileStore {
        let dir = std::env::temp_dir().join(format!("cnet-store-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        FileStore::new(dir)
    }

    fn lease(addr: &str) -> Lease {
        Lease {
            network: "lab".into(),
            address: addr.parse().unwrap(),
            client: "ns1".into(),
            state: LeaseState::Bound,
            since: 1,
            expires: None,
            boot_id: "b".into(),
        }
    }

    #[test]
    fn network_round_trip_and_removal() {
        let s = tmp_store("net");
        let net = Network {
            name: "lab".into(),
            id: "0123456789ab".into(),
            driver: Driver::Bridge,
            created: 5,
            subnet: Some("10.1.0.0/24".parse().unwrap()),
            gateway: Some("10.1.0.1".parse().unwrap()),
            ip_range: None,
            internal: false,
            mtu: None,
            bridge: Some("cn-lab".into()),
            bridge_mac: None,
            options: Default::default(),
            predefined: false,
            ..Default::default()
        };
        s.put_network(&net).unwrap();
        assert_eq!(s.network_names().unwrap(), vec!["lab".to_string()]);
        assert_eq!(s.network("lab").unwrap(), Some(net.clone()));
        assert_eq!(s.networks().unwrap(), vec![net]);
        s.put_lease(&lease("10.1.0.2"), true).unwrap();
        s.remove_network("lab").unwrap();
        assert!(s.networks().unwrap().is_empty());
        assert!(s.network_names().unwrap().is_empty());
        assert!(s.leases("lab").unwrap().is_empty());
        let _ = fs::remove_dir_all(s.root());
    }

    #[test]
    fn a_claimed_address_cannot_be_claimed_again() {
        let s = tmp_store("claim");
        s.put_lease(&lease("10.1.0.2"), true).unwrap();
        let err = s.put_lease(&lease("10.1.0.2"), true).unwrap_err();
        assert!(err.to_string().contains("10.1.0.2"), "{err}");
        s.put_lease(&lease("10.1.0.2"), false).unwrap();
        assert_eq!(s.leases("lab").unwrap().len(), 1);
        let _ = fs::remove_dir_all(s.root());
    }

    #[test]
    fn a_broken_state_file_is_an_error_naming_file_and_line() {
        let s = tmp_store("broken");
        let dir = s.root().join("networks");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("bad.toml"), "name = \"bad\"\nid = = 3\n").unwrap();
        let err = s.network("bad").unwrap_err().to_string();
        assert!(err.contains("bad.toml:2"), "{err}");
        let _ = fs::remove_dir_all(s.root());
    }

    #[test]
    fn an_empty_record_left_by_a_crash_reads_as_absent_and_can_be_claimed_again() {
        let s = tmp_store("crash");
        let dir = s.root().join("leases").join("lab");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("10.1.0.2.toml"), "").unwrap();
        assert_eq!(s.lease("lab", "10.1.0.2".parse().unwrap()).unwrap(), None);
        assert!(s.leases("lab").unwrap().is_empty());
        s.put_lease(&lease("10.1.0.2"), true).unwrap();
        assert_eq!(s.leases("lab").unwrap().len(), 1);
        let _ = fs::remove_dir_all(s.root());
    }
}

#[cfg(test)]
mod port_claim_tests {
    use super::*;

    fn claim(key: &str, spec: &str) -> PortClaim {
        PortClaim {
            network: "lab".into(),
            key: key.into(),
            netns: key.into(),
            mapping: crate::ports::parse(spec).unwrap(),
        }
    }

    fn store(tag: &str) -> FileStore {
        let dir = std::env::temp_dir().join(format!("cnet-ports-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        FileStore::new(dir)
    }

    #[test]
    fn a_range_is_claimed_per_port_and_released_by_its_holder_only() {
        let s = store("range");
        let a = claim("ns1", "8000-8002:7000-7002");
        s.claim_ports(&a).unwrap();
        for p in 8000..=8002 {
            assert_eq!(s.port_claims("tcp", p).unwrap(), vec![a.clone()]);
        }
        assert!(s.port_claims("tcp", 8003).unwrap().is_empty());
        assert!(s.port_claims("udp", 8000).unwrap().is_empty());
        // Overlapping claim: refused, and nothing of it is left behind.
        let b = claim("ns2", "8002-8004:80-82");
        let e = s.claim_ports(&b).unwrap_err();
        assert!(e.to_string().contains("0.0.0.0:8002/tcp"), "{e}");
        assert!(s.port_claims("tcp", 8003).unwrap().is_empty());
        // Another address of the same port is another file.
        let c = claim("ns2", "127.0.0.1:8001:80");
        s.claim_ports(&c).unwrap();
        assert_eq!(s.port_claims("tcp", 8001).unwrap().len(), 2);
        // A release by someone else changes nothing; the holder's frees its ports.
        s.release_ports(&PortClaim {
            key: "ns9".into(),
            ..a.clone()
        })
        .unwrap();
        assert_eq!(s.port_claims("tcp", 8000).unwrap().len(), 1);
        s.release_ports(&a).unwrap();
        assert!(s.port_claims("tcp", 8000).unwrap().is_empty());
        assert_eq!(s.port_claims("tcp", 8001).unwrap(), vec![c.clone()]);
        s.release_ports(&c).unwrap();
        assert!(!s.root().join("ports/tcp/8001").exists());
        let _ = fs::remove_dir_all(s.root());
    }
}
