//! The firewall: rules as typed data (`rule`), the pure layout of cnet's chains and per-network
//! rules (`layout`), and the backend that installs them (`iptables`); published ports
//! (`published`) and the overlays' ingress filter (`tunnel`) as elements of nftables sets
//! (`nft`). Kept behind the small `Firewall` trait so an nftables backend for the rules can
//! sit beside it.

pub mod base;
pub mod commit_watch;
pub mod iptables;
pub mod layout;
pub mod nft;
pub mod ports;
pub mod published;
pub mod restore;
pub mod rule;
pub mod tunnel;

use crate::error::Result;
use nft::{PublishedTable, TunnelTable};
use published::PortEntry;
use rule::Rule;
use tunnel::TunnelEntry;

/// Register-aligned concatenation: every field of a set key takes a multiple of 4 bytes, as
/// nft lays it out.
pub(crate) fn push_key_field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// `nft VERB element ip TABLE SET '{ … }'` lines for a plan's printout: one line per set, in
/// the order the sets first come among `elements` (set, element text).
pub(crate) fn element_commands(
    verb: &str,
    table: &str,
    elements: impl IntoIterator<Item = (&'static str, String)>,
) -> String {
    let mut by_set: Vec<(&'static str, Vec<String>)> = Vec::new();
    for (set, text) in elements {
        match by_set.iter_mut().find(|(s, _)| *s == set) {
            Some((_, list)) => list.push(text),
            None => by_set.push((set, vec![text])),
        }
    }
    by_set
        .iter()
        .map(|(set, list)| {
            format!(
                "nft {verb} element ip {table} {set} '{{ {} }}'",
                list.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What the executor needs from a firewall backend.
pub trait Firewall {
    /// Create cnet's chains and the jumps from the built-in chains, if missing. Idempotent.
    fn ensure_chains(&mut self) -> Result<()>;
    /// Append a rule unless an identical one is already there.
    fn append(&mut self, rule: &Rule) -> Result<()>;
    /// Delete a rule; a rule that is not there counts as deleted.
    fn delete(&mut self, rule: &Rule) -> Result<()>;
    /// Append rules that are new by construction (a new network's, a new endpoint's), without
    /// checking for each: all or none of them are in place afterwards. Backends batch this.
    fn append_new(&mut self, rules: &[Rule]) -> Result<()> {
        for (i, r) in rules.iter().enumerate() {
            if let Err(e) = self.append(r) {
                let _ = self.delete_each(&rules[..i]);
                return Err(e);
            }
        }
        Ok(())
    }
    /// Delete rules; those not there count as deleted. Backends batch this.
    fn delete_each(&mut self, rules: &[Rule]) -> Result<()> {
        rules.iter().try_for_each(|r| self.delete(r))
    }
    /// Create the table of published ports, if missing. Idempotent.
    fn ensure_port_maps(&mut self) -> Result<()>;
    /// Open published ports (DNAT from the host ports): all or none.
    fn publish(&mut self, entries: &[PortEntry]) -> Result<()>;
    /// Close published ports; those not open count as closed.
    fn unpublish(&mut self, entries: &[PortEntry]) -> Result<()>;
    /// Create the overlays' ingress filter, if missing. Idempotent.
    fn ensure_tunnel_filter(&mut self) -> Result<()>;
    /// Guard tunnels and hear peers (`tunnel`): all or none.
    fn allow_tunnel(&mut self, entries: &[TunnelEntry]) -> Result<()>;
    /// Take guards and peers out of the filter; those not there count as removed.
    fn disallow_tunnel(&mut self, entries: &[TunnelEntry]) -> Result<()>;
}

/// The host's firewall as cnet uses it: iptables chains for forwarding, isolation and NAT, and
/// an nftables table for published ports (`published`), each started on first use: commands
/// whose plans hold no rule never need the iptables binary or a netfilter socket.
#[derive(Default)]
pub struct HostFirewall {
    inner: Option<iptables::IptablesFirewall>,
    nft: Option<nft::Nft>,
}

impl HostFirewall {
    fn get(&mut self) -> Result<&mut iptables::IptablesFirewall> {
        if self.inner.is_none() {
            self.inner = Some(iptables::IptablesFirewall::new()?);
        }
        Ok(self.inner.as_mut().expect("just set"))
    }

    fn nft(&mut self) -> Result<&mut nft::Nft> {
        if self.nft.is_none() {
            self.nft = Some(nft::Nft::open()?);
        }
        Ok(self.nft.as_mut().expect("just set"))
    }

    /// Remove cnet's base chains when no network uses them any more (and CNET-USER is empty).
    pub fn remove_base_if_empty(&mut self) -> Result<()> {
        iptables::remove_base_if_empty()
    }

    /// Remove the table of published ports (no bridge network is left to publish).
    pub fn remove_published(&mut self) -> Result<()> {
        self.nft()?.drop_table::<PublishedTable>()
    }

    /// Make the published ports exactly `entries` (`cnet firewall reload`).
    pub fn replace_published(&mut self, entries: &[PortEntry]) -> Result<()> {
        self.nft()?.replace::<PublishedTable>(entries)
    }

    /// Remove the overlays' ingress filter (no overlay is left).
    pub fn remove_tunnel_filter(&mut self) -> Result<()> {
        self.nft()?.drop_table::<TunnelTable>()
    }

    /// Make the ingress filter hold exactly `entries` (`cnet firewall reload`).
    pub fn replace_tunnel_filter(&mut self, entries: &[TunnelEntry]) -> Result<()> {
        self.nft()?.replace::<TunnelTable>(entries)
    }
}

impl Firewall for HostFirewall {
    fn ensure_chains(&mut self) -> Result<()> {
        iptables::ensure_base()
    }
    fn append(&mut self, rule: &Rule) -> Result<()> {
        self.get()?.append(rule)
    }
    fn delete(&mut self, rule: &Rule) -> Result<()> {
        self.get()?.delete(rule)
    }
    /// One `iptables-restore` for the lot (no `iptables --version` needed first); if it fails
    /// half way (a table committed, the next not), what went in is taken out again.
    fn append_new(&mut self, rules: &[Rule]) -> Result<()> {
        let result = iptables::restore_batch("-A", rules);
        if result.is_err()
            && let Ok(ipt) = self.get()
        {
            let _ = rules.iter().try_for_each(|r| ipt.delete(r));
        }
        result
    }
    /// One `iptables-restore` in the usual case; when some rule is already gone (the batch is
    /// refused whole), rule by rule, skipping the missing ones.
    fn delete_each(&mut self, rules: &[Rule]) -> Result<()> {
        if iptables::restore_batch("-D", rules).is_ok() {
            return Ok(());
        }
        let ipt = self.get()?;
        rules.iter().try_for_each(|r| ipt.delete(r))
    }
    fn ensure_port_maps(&mut self) -> Result<()> {
        self.nft()?.ensure_table::<PublishedTable>()
    }
    fn publish(&mut self, entries: &[PortEntry]) -> Result<()> {
        self.nft()?.add::<PublishedTable>(entries)
    }
    fn unpublish(&mut self, entries: &[PortEntry]) -> Result<()> {
        self.nft()?.remove::<PublishedTable>(entries)
    }
    fn ensure_tunnel_filter(&mut self) -> Result<()> {
        self.nft()?.ensure_table::<TunnelTable>()
    }
    fn allow_tunnel(&mut self, entries: &[TunnelEntry]) -> Result<()> {
        self.nft()?.add::<TunnelTable>(entries)
    }
    fn disallow_tunnel(&mut self, entries: &[TunnelEntry]) -> Result<()> {
        self.nft()?.remove::<TunnelTable>(entries)
    }
}
