//! The store's transactions: a batch of records, each with its precondition — a claim only if
//! absent, a replacement only if unchanged — applied all or none. The file and in-memory stores
//! apply them one record at a time under the state lock (each file write or `link(2)` claim is
//! atomic on its own) and undo the applied ones when a later record is refused; a distributed
//! store overrides `Store::commit` with one compare-and-swap transaction (etcd's `Txn`).

use super::Store;
use crate::error::{Error, Result};
use crate::plan::Record;

/// Apply `records` in order, all or none.
pub fn commit_each(store: &dyn Store, records: &[Record]) -> Result<()> {
    commit_each_with(records, |r| apply(store, r))
}

/// Apply `records` in order with `apply`, all or none: a refused record takes back the ones
/// applied before it.
pub fn commit_each_with(records: &[Record], apply: impl Fn(&Record) -> Result<()>) -> Result<()> {
    for (i, r) in records.iter().enumerate() {
        if let Err(e) = apply(r) {
            for done in records[..i].iter().rev() {
                if let Some(undo) = done.undo() {
                    let _ = apply(&undo);
                }
            }
            return Err(e);
        }
    }
    Ok(())
}

/// One record, with its precondition checked.
pub fn apply(store: &dyn Store, r: &Record) -> Result<()> {
    match r {
        Record::PutNetwork { net, .. } => store.put_network(net),
        Record::DropNetwork { net } => store.remove_network(&net.name),
        Record::PutLease { lease, previous } => match previous {
            None => store.put_lease(lease, true),
            Some(p) => {
                // Only if unchanged: a lease that moved on since planning is a NAK.
                let now = store.lease(&lease.network, lease.address)?;
                if now.as_ref() != Some(p) {
                    return Err(Error::runtime(format!(
                        "NAK: the lease of {} on network {} changed meanwhile",
                        lease.address, lease.network
                    )));
                }
                store.put_lease(lease, false)
            }
        },
        Record::DropLease { lease } => store.remove_lease(&lease.network, lease.address),
        Record::PutEndpoint { endpoint, .. } => store.put_endpoint(&endpoint.key, endpoint),
        Record::DropEndpoint { endpoint } => {
            store.remove_endpoint(&endpoint.network, &endpoint.key)
        }
        Record::ClaimPorts(c) => store.claim_ports(c),
        Record::ReleasePorts(c) => store.release_ports(c),
        Record::PutNamespace(n) => store.put_namespace(n),
        Record::DropNamespace(n) => store.remove_namespace(&n.name),
        Record::ClaimUla(p) => store.claim_ula(*p),
        Record::DropUla(_) => store.drop_ula(),
        Record::ForgetHost { network, host } => store.forget_host(network, host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Lease, LeaseState, NamespaceRecord};
    use crate::store::MemStore;

    fn lease(client: &str) -> Lease {
        Lease {
            network: "lab".into(),
            address: "10.1.0.2".parse().unwrap(),
            client: client.into(),
            state: LeaseState::Bound,
            since: 1,
            expires: None,
            boot_id: "b".into(),
        }
    }

    #[test]
    fn a_refused_record_takes_the_whole_batch_back() {
        let store = MemStore::default();
        store.put_lease(&lease("ns9"), true).unwrap();
        let before = store.snapshot();
        let batch = [
            Record::PutNamespace(NamespaceRecord {
                name: "ns1".into(),
                created: 1,
                host: false,
            }),
            Record::PutLease {
                lease: lease("ns1"),
                previous: None,
            },
        ];
        let e = store.commit(&batch).unwrap_err();
        assert!(e.to_string().contains("claimed by another process"), "{e}");
        assert_eq!(store.snapshot(), before);
    }
}
