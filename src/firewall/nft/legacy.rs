//! The tables of cnet before `table inet cnet`: `table ip cnet` (published ports) and
//! `table ip cnet-vxlan` (the overlays' filter), found and deleted when a host moves on.

use super::{Nft, delete_table, refused};
use crate::error::Result;
use netlink_packet_netfilter::NetfilterProtoFamily;

/// The family-ip tables earlier cnet versions made.
pub const LEGACY_TABLES: [&str; 2] = ["cnet", "cnet-vxlan"];

impl Nft {
    /// Those of [`LEGACY_TABLES`] that are there.
    pub fn legacy_tables(&mut self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for name in LEGACY_TABLES {
            let there = self
                .lookup_table_in(NetfilterProtoFamily::IPv4, name)
                .map_err(|r| refused(format!("read table ip {name}"), &r))?;
            if there {
                out.push(name.to_string());
            }
        }
        Ok(out)
    }

    /// Delete one of them; one that is gone counts as deleted.
    pub fn drop_legacy_table(&mut self, name: &str) -> Result<()> {
        self.deleted = true;
        match self.transact_in(NetfilterProtoFamily::IPv4, vec![delete_table(name)]) {
            Ok(()) => Ok(()),
            Err(r) if r.errno == libc::ENOENT => Ok(()),
            Err(r) => Err(refused(format!("delete table ip {name}"), &r)),
        }
    }
}
