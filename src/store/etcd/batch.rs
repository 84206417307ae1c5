//! A run of records as one etcd `Txn`: a shared overlay's lease and endpoint writes (the
//! claims of both families' offers, or the ACKs with the endpoint) go together, each with its
//! compare, all or none — a NAK on either address refuses both. Other records (the local
//! files', a network joined or left) are applied one by one between such transactions.

use super::{EtcdStore, keys, remote::json};
use crate::error::{Error, Result};
use crate::model::Lease;
use crate::plan::Record;
use etcd_client::{Compare, CompareOp, Txn, TxnOp};
use std::net::IpAddr;

/// One record's share of a `Txn`: what it compares, what it writes, and how the lease cache
/// follows once it went in.
pub(super) struct Part {
    compares: Vec<Compare>,
    op: TxnOp,
    /// The lease written (Some) or removed (None) at an address of a network.
    cached: Option<(String, IpAddr, Option<Lease>)>,
}

impl Part {
    /// The same write with no compare.
    pub(super) fn unconditional(self) -> Part {
        Part {
            compares: Vec::new(),
            ..self
        }
    }
}

impl EtcdStore {
    /// The part a record plays in a shared overlay's `Txn`; None for a record that is not a
    /// lease or endpoint write of a shared overlay.
    pub(super) fn part(&self, r: &Record) -> Result<Option<Part>> {
        let host = self.host()?.to_string();
        Ok(Some(match r {
            Record::PutLease { lease, previous } if self.is_shared(&lease.network)? => {
                match previous {
                    None => self.claim_part(lease)?,
                    Some(p) => self.replace_part(lease, p)?,
                }
            }
            Record::DropLease { lease } if self.is_shared(&lease.network)? => Part {
                compares: Vec::new(),
                op: TxnOp::delete(keys::lease(&lease.network, lease.address), None),
                cached: Some((lease.network.clone(), lease.address, None)),
            },
            Record::PutEndpoint { endpoint, .. } if self.is_shared(&endpoint.network)? => Part {
                compares: Vec::new(),
                op: TxnOp::put(
                    keys::endpoint(&endpoint.network, &host, &endpoint.key),
                    json(endpoint.as_ref()),
                    None,
                ),
                cached: None,
            },
            Record::DropEndpoint { endpoint } if self.is_shared(&endpoint.network)? => Part {
                compares: Vec::new(),
                op: TxnOp::delete(
                    keys::endpoint(&endpoint.network, &host, &endpoint.key),
                    None,
                ),
                cached: None,
            },
            _ => return Ok(None),
        }))
    }

    /// A claim: only if nobody holds the address's key.
    pub(super) fn claim_part(&self, lease: &Lease) -> Result<Part> {
        let key = keys::lease(&lease.network, lease.address);
        Ok(Part {
            compares: vec![Compare::create_revision(key.clone(), CompareOp::Equal, 0)],
            op: TxnOp::put(key, json(&self.stored_lease(lease)?), None),
            cached: Some((lease.network.clone(), lease.address, Some(lease.clone()))),
        })
    }

    /// A replacement, only if the stored lease is still `previous`: its mod revision as read,
    /// or (not read by this command) its stored value.
    pub(super) fn replace_part(&self, lease: &Lease, previous: &Lease) -> Result<Part> {
        let key = keys::lease(&lease.network, lease.address);
        let seen = self
            .cached_leases(&lease.network)?
            .into_iter()
            .find(|(l, _)| l == previous)
            .map(|(_, rev)| rev);
        let unchanged = match seen {
            Some(rev) => Compare::mod_revision(key.clone(), CompareOp::Equal, rev),
            None => Compare::value(
                key.clone(),
                CompareOp::Equal,
                json(&self.stored_lease(previous)?),
            ),
        };
        Ok(Part {
            compares: vec![unchanged],
            op: TxnOp::put(key, json(&self.stored_lease(lease)?), None),
            cached: Some((lease.network.clone(), lease.address, Some(lease.clone()))),
        })
    }

    /// Parts as one `Txn`; a compare that fails is a NAK (`Error::Conflict`) and nothing is
    /// written.
    pub(super) fn run_parts(&self, parts: Vec<Part>) -> Result<()> {
        if parts.is_empty() {
            return Ok(());
        }
        let mut compares = Vec::new();
        let mut ops = Vec::new();
        let mut cached = Vec::new();
        for p in parts {
            compares.extend(p.compares);
            ops.push(p.op);
            cached.extend(p.cached);
        }
        let resp = self.etcd.txn(Txn::new().when(compares).and_then(ops))?;
        if !resp.succeeded() {
            let addrs: Vec<String> = cached.iter().map(|(_, a, _)| a.to_string()).collect();
            let network = cached
                .first()
                .map(|(n, _, _)| n.clone())
                .unwrap_or_default();
            self.leases.borrow_mut().remove(&network);
            return Err(Error::Conflict(format!(
                "NAK: the lease of {} on network {network} was taken or changed by another \
                 host meanwhile",
                addrs.join(" or ")
            )));
        }
        let rev = resp.header().map(|h| h.revision()).unwrap_or_default();
        for (network, address, lease) in cached {
            self.cache_lease(&network, address, lease.as_ref().map(|l| (l, rev)));
        }
        Ok(())
    }

    /// Records in order, all or none: runs of a shared overlay's lease and endpoint writes
    /// as one `Txn` each, the rest one by one; a refusal takes back what went before.
    pub(super) fn commit_batched(&self, records: &[Record]) -> Result<()> {
        let mut applied: Vec<&Record> = Vec::new();
        let mut pending: Vec<(&Record, Part)> = Vec::new();
        let result = (|| {
            for r in records {
                match self.part(r)? {
                    Some(p) => pending.push((r, p)),
                    None => {
                        self.flush(&mut pending, &mut applied)?;
                        self.apply(r)?;
                        applied.push(r);
                    }
                }
            }
            self.flush(&mut pending, &mut applied)
        })();
        if result.is_err() {
            for done in applied.iter().rev() {
                if let Some(undo) = done.undo() {
                    let _ = self.apply(&undo);
                }
            }
        }
        result
    }

    fn flush<'a>(
        &self,
        pending: &mut Vec<(&'a Record, Part)>,
        applied: &mut Vec<&'a Record>,
    ) -> Result<()> {
        let (records, parts): (Vec<&Record>, Vec<Part>) =
            std::mem::take(pending).into_iter().unzip();
        self.run_parts(parts)?;
        applied.extend(records);
        Ok(())
    }
}
