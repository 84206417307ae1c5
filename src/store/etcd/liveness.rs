//! Hosts' liveness: `cnet agent` marks its host as one that runs an agent (a kept key) and
//! keeps a second key alive under an etcd lease. When the agent stops, etcd lets the lease
//! expire and deletes the key: the other agents see the host as down and stop sending to it.
//! A host that never ran an agent has neither key and is never taken for down.

use super::{EtcdStore, keys};
use crate::error::Result;
use crate::model::Endpoint;
use etcd_client::{Compare, CompareOp, Txn, TxnOp};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

impl EtcdStore {
    pub(super) fn register(&self, ttl: Duration) -> Result<()> {
        let host = self.host()?.to_string();
        let seconds = ttl.as_secs().max(1) as i64;
        let id = self.etcd.grant(seconds)?;
        // One Txn: a host seen with its agent key but no alive key is down, and would be
        // recorded down (since now) by whoever looked between two separate writes.
        let leased = etcd_client::PutOptions::new().with_lease(id);
        self.etcd.txn(Txn::new().and_then([
            TxnOp::put(keys::agent(&host), b"1".to_vec(), None),
            TxnOp::put(keys::alive(&host), host.as_bytes().to_vec(), Some(leased)),
            TxnOp::delete(keys::down(&host), None),
        ]))?;
        self.liveness.set(Some((id, ttl)));
        Ok(())
    }

    pub(super) fn renew(&self) -> Result<()> {
        let Some((id, ttl)) = self.liveness.get() else {
            return Ok(());
        };
        // Expired (etcd was away longer than the TTL): registered afresh, and the others
        // take this host back.
        if !self.etcd.keep_alive(id)? {
            self.register(ttl)?;
        }
        Ok(())
    }

    /// The hosts down now; each one not yet recorded as down is recorded as down since now
    /// (only while it is still down and nobody recorded it first).
    pub(super) fn hosts_down(&self) -> Result<Vec<String>> {
        let (mut agents, mut alive) = (BTreeSet::new(), BTreeSet::new());
        let mut marked = BTreeMap::new();
        for kv in self.etcd.prefix(&keys::hosts())? {
            match keys::host_of(&kv.key) {
                Some((h, "agent")) => {
                    agents.insert(h.to_string());
                }
                Some((h, "alive")) => {
                    alive.insert(h.to_string());
                }
                Some((h, "down")) => {
                    let since = String::from_utf8_lossy(&kv.value).parse().unwrap_or(0);
                    marked.insert(h.to_string(), since);
                }
                _ => {}
            };
        }
        let down: Vec<String> = agents.difference(&alive).cloned().collect();
        let now = crate::output::now();
        let unmarked: Vec<&String> = down.iter().filter(|h| !marked.contains_key(*h)).collect();
        for h in unmarked {
            let absent = |k: String| Compare::create_revision(k, CompareOp::Equal, 0);
            let resp = self.etcd.txn(
                Txn::new()
                    .when([absent(keys::down(h)), absent(keys::alive(h))])
                    .and_then([TxnOp::put(keys::down(h), now.to_string(), None)]),
            )?;
            if resp.succeeded() {
                marked.insert(h.clone(), now);
            }
        }
        *self.down_since.borrow_mut() = marked.into_iter().collect();
        Ok(down)
    }

    /// When a host was first seen down (as the last `hosts_down` read or recorded it).
    pub(super) fn host_down_since(&self, host: &str) -> Option<u64> {
        self.down_since.borrow().get(host).copied()
    }

    pub(super) fn forget_endpoints(&self, network: &str, host: &str) -> Result<()> {
        let all = etcd_client::DeleteOptions::new().with_prefix();
        self.etcd
            .txn(Txn::new().and_then([TxnOp::delete(keys::endpoints(network, host), Some(all))]))?;
        Ok(())
    }

    pub(super) fn others_endpoints(&self, network: &str) -> Result<Vec<(String, Endpoint)>> {
        let me = self.host()?.to_string();
        let mut out = Vec::new();
        for kv in self.etcd.prefix(&keys::all_endpoints(network))? {
            let Some((host, _)) = keys::endpoint_of(network, &kv.key) else {
                continue;
            };
            if host != me {
                out.push((host.to_string(), super::remote::parse(&kv)?));
            }
        }
        Ok(out)
    }
}
