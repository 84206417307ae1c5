//! The etcd side of the store: each change one `Txn`, with the compare that makes it safe
//! against every other host.

use super::conn::Kv;
use super::{EtcdStore, keys};
use crate::error::{Error, Result};
use crate::model::family::Family;
use crate::model::{Endpoint, Lease, LeaseState, Member, Network};
use crate::store::SharedClaims;
use etcd_client::{Compare, CompareOp, DeleteOptions, Txn, TxnOp, TxnOpResponse};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::{Read, Write};
use std::net::IpAddr;
use std::path::Path;

/// This host's id: `STATE/host_id`, made once from random bytes. Not the machine id: hosts
/// simulated in one machine (tests, labs) share /etc but not their state directories.
pub(super) fn host_id(root: &Path) -> Result<String> {
    let path = root.join("host_id");
    match std::fs::read_to_string(&path) {
        Ok(t) if crate::store::is_host_id(t.trim()) => return Ok(t.trim().to_string()),
        Ok(_) => {
            return Err(Error::State {
                path: path.display().to_string(),
                msg: "not a host id (12 hex digits)".into(),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(path.display().to_string(), e)),
    }
    let mut bytes = [0u8; 6];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| Error::io("/dev/urandom", e))?;
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::create_dir_all(root).map_err(|e| Error::io(root.display().to_string(), e))?;
    // Exclusive: two first commands at once agree on the one written first.
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(mut f) => {
            f.write_all(format!("{id}\n").as_bytes())
                .map_err(|e| Error::io(path.display().to_string(), e))?;
            Ok(id)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => host_id(root),
        Err(e) => Err(Error::io(path.display().to_string(), e)),
    }
}

pub(super) fn json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("state records serialize")
}

pub(super) fn parse<T: DeserializeOwned>(kv: &Kv) -> Result<T> {
    serde_json::from_slice(&kv.value).map_err(|e| Error::State {
        path: format!("etcd key {}", kv.key),
        msg: e.to_string(),
    })
}

impl EtcdStore {
    pub(super) fn stored_lease(&self, lease: &Lease) -> Result<Lease> {
        Ok(Lease {
            client: keys::qualified(&lease.client, self.host()?),
            ..lease.clone()
        })
    }

    /// A network's leases, read once per command (and again after a lost claim).
    pub(super) fn cached_leases(&self, network: &str) -> Result<Vec<(Lease, i64)>> {
        if let Some(c) = self.leases.borrow().get(network) {
            return Ok(c.clone());
        }
        let host = self.host()?.to_string();
        let mut out = Vec::new();
        for kv in self.etcd.prefix(&keys::leases(network))? {
            let mut l: Lease = parse(&kv)?;
            l.client = keys::local_client(&l.client, &host);
            if keys::held_elsewhere(&l.client, &host) {
                // Another machine's boot: not one before this host's, so its bound leases
                // hold (whether that host rebooted is for it, or `gc` there, to say).
                l.boot_id.clear();
            }
            out.push((l, kv.mod_revision));
        }
        self.leases
            .borrow_mut()
            .insert(network.to_string(), out.clone());
        Ok(out)
    }

    /// Keep the cache in step with a lease written at `revision` (None: removed).
    pub(super) fn cache_lease(&self, network: &str, address: IpAddr, now: Option<(&Lease, i64)>) {
        if let Some(c) = self.leases.borrow_mut().get_mut(network) {
            c.retain(|(l, _)| l.address != address);
            if let Some((l, rev)) = now {
                c.push((l.clone(), rev));
            }
        }
    }

    /// A claim (only if nobody holds the address's key) or a plain write.
    pub(super) fn write_lease(&self, lease: &Lease, claim: bool) -> Result<()> {
        let mut part = self.claim_part(lease)?;
        if !claim {
            part = part.unconditional();
        }
        self.run_parts(vec![part])
    }

    /// A replacement, only if the stored lease is still `previous`.
    pub(super) fn replace_lease(&self, lease: &Lease, previous: &Lease) -> Result<()> {
        self.run_parts(vec![self.replace_part(lease, previous)?])
    }

    pub(super) fn drop_lease(&self, network: &str, address: IpAddr) -> Result<()> {
        self.etcd
            .txn(Txn::new().and_then([TxnOp::delete(keys::lease(network, address), None)]))?;
        self.cache_lease(network, address, None);
        Ok(())
    }

    /// Where this host's next search starts: the address it bound last. Each host starting
    /// from its own makes concurrent attaches on several hosts collide less.
    pub(super) fn own_cursor(&self, network: &str, family: Family) -> Result<Option<IpAddr>> {
        let host = self.host()?.to_string();
        Ok(self
            .cached_leases(network)?
            .into_iter()
            .map(|(l, _)| l)
            .filter(|l| Family::of(l.address) == family)
            .filter(|l| l.state == LeaseState::Bound && !keys::held_elsewhere(&l.client, &host))
            .max_by_key(|l| (l.since, l.address))
            .map(|l| l.address))
    }

    pub(super) fn own_endpoints(&self, network: &str) -> Result<Vec<Endpoint>> {
        let prefix = keys::endpoints(network, self.host()?);
        self.etcd.prefix(&prefix)?.iter().map(parse).collect()
    }

    pub(super) fn own_endpoint(&self, network: &str, key: &str) -> Result<Option<Endpoint>> {
        let k = keys::endpoint(network, self.host()?, key);
        self.etcd.get(&k)?.as_ref().map(parse).transpose()
    }

    pub(super) fn write_endpoint(&self, key: &str, ep: &Endpoint) -> Result<()> {
        let k = keys::endpoint(&ep.network, self.host()?, key);
        self.etcd
            .txn(Txn::new().and_then([TxnOp::put(k, json(ep), None)]))
            .map(|_| ())
    }

    pub(super) fn drop_endpoint(&self, network: &str, key: &str) -> Result<()> {
        let k = keys::endpoint(network, self.host()?, key);
        self.etcd
            .txn(Txn::new().and_then([TxnOp::delete(k, None)]))
            .map(|_| ())
    }

    pub(super) fn definition(&self, name: &str) -> Result<Option<(Network, i64)>> {
        match self.etcd.get(&keys::definition(name))? {
            Some(kv) => Ok(Some((parse(&kv)?, kv.mod_revision))),
            None => Ok(None),
        }
    }

    pub(super) fn read_members(&self, network: &str) -> Result<Vec<Member>> {
        self.etcd
            .prefix(&keys::members(network))?
            .iter()
            .map(parse)
            .collect()
    }

    pub(super) fn claims(&self) -> Result<SharedClaims> {
        let vnis = self
            .etcd
            .prefix(&keys::vnis())?
            .iter()
            .filter_map(|kv| kv.key.strip_prefix(&keys::vnis())?.parse().ok())
            .collect();
        let subnets = self
            .etcd
            .prefix(&keys::subnets())?
            .iter()
            .filter_map(|kv| keys::subnet_of(&kv.key))
            .collect();
        Ok(SharedClaims { vnis, subnets })
    }

    /// Define the overlay (with its VNI and subnet, each only if nobody holds it) and register
    /// this host, or join the definition there already if it is the same one.
    pub(super) fn join(&self, net: &Network) -> Result<()> {
        let name = &net.name;
        let def = net.shared_form();
        let (Some(vni), Some(subnet), Some(local)) = (net.vni, net.subnet, net.local) else {
            return Err(Error::runtime(format!(
                "network {name} has no VNI, subnet or local address to share"
            )));
        };
        let member = Member {
            host: self.host()?.to_string(),
            underlay: local,
            vtep_mac: net.vtep_mac.clone(),
            since: crate::output::now(),
        };
        let member_put = TxnOp::put(keys::member(name, &member.host), json(&member), None);
        // The definition, its VNI and its subnets (IPv6 too on a dual-stack overlay), each
        // only if nobody holds it.
        let mut absent = vec![
            Compare::create_revision(keys::definition(name), CompareOp::Equal, 0),
            Compare::create_revision(keys::vni(vni), CompareOp::Equal, 0),
        ];
        let mut puts = vec![
            TxnOp::put(keys::definition(name), json(&def), None),
            TxnOp::put(keys::vni(vni), name.as_bytes(), None),
            member_put.clone(),
        ];
        for s in net.subnets() {
            absent.push(Compare::create_revision(
                keys::subnet(s),
                CompareOp::Equal,
                0,
            ));
            puts.push(TxnOp::put(keys::subnet(s), name.as_bytes(), None));
        }
        let create = Txn::new()
            .when(absent)
            .and_then(puts)
            .or_else([TxnOp::get(keys::definition(name), None)]);
        let resp = self.etcd.txn(create)?;
        if resp.succeeded() {
            return Ok(());
        }
        let existing = resp.op_responses().into_iter().find_map(|r| match r {
            TxnOpResponse::Get(g) => g.kvs().first().map(Kv::from),
            _ => None,
        });
        let Some(kv) = existing else {
            return Err(Error::Conflict(format!(
                "VNI {vni} or a subnet ({subnet}) of network {name} was taken meanwhile by another \
                 network: run the command again"
            )));
        };
        // A joiner copies the definition it read: one that differs now was made meanwhile by
        // a host that created the same network at the same time.
        let theirs: Network = parse(&kv)?;
        if theirs != def {
            return Err(Error::Conflict(format!(
                "network {name} was defined meanwhile by another host (VNI {}, subnet {})",
                theirs.vni.unwrap_or_default(),
                theirs.subnet.map(|s| s.to_string()).unwrap_or_default()
            )));
        }
        // Join only while the definition is the one read: not removed by its last host.
        let join = Txn::new()
            .when([Compare::mod_revision(
                keys::definition(name),
                CompareOp::Equal,
                kv.mod_revision,
            )])
            .and_then([member_put]);
        if !self.etcd.txn(join)?.succeeded() {
            return Err(Error::Conflict(format!(
                "network {name} was removed from etcd meanwhile"
            )));
        }
        Ok(())
    }

    /// This host leaves the overlay: its endpoints, leases and membership go; the last host
    /// to leave takes the definition and its VNI and subnet with it.
    pub(super) fn leave(&self, name: &str) -> Result<()> {
        let host = self.host()?.to_string();
        let mut ops = vec![
            TxnOp::delete(
                keys::endpoints(name, &host),
                Some(DeleteOptions::new().with_prefix()),
            ),
            TxnOp::delete(keys::member(name, &host), None),
        ];
        for (l, _) in self.cached_leases(name)? {
            if !keys::held_elsewhere(&l.client, &host) {
                ops.push(TxnOp::delete(keys::lease(name, l.address), None));
            }
        }
        self.etcd.txn(Txn::new().and_then(ops))?;
        self.leases.borrow_mut().remove(name);
        let Some((def, _)) = self.definition(name)? else {
            return Ok(());
        };
        let mut gone = vec![TxnOp::delete(
            keys::network(name),
            Some(DeleteOptions::new().with_prefix()),
        )];
        if let Some(vni) = def.vni {
            gone.push(TxnOp::delete(keys::vni(vni), None));
        }
        for subnet in def.subnets() {
            gone.push(TxnOp::delete(keys::subnet(subnet), None));
        }
        // Over a range, "create revision 0" holds only when no key is there: no member left.
        let last = Txn::new()
            .when([
                Compare::create_revision(keys::members(name), CompareOp::Equal, 0).with_prefix(),
            ])
            .and_then(gone);
        self.etcd.txn(last)?;
        Ok(())
    }
}
