//! The firewall: rules as typed data (`rule`), the pure layout of cnet's chains and per-network
//! rules (`layout`), and the backend that installs them (`iptables`); published ports
//! (`published`) and the overlays' ingress filter (`tunnel`) as elements of nftables sets
//! (`nft`). Kept behind the small `Firewall` trait so an nftables backend for the rules can
//! sit beside it.

pub mod base;
pub mod commit_watch;
pub mod iptables;
pub mod layout;
pub mod listing;
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

/// cnet's own nftables tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum NftTableKind {
    /// `ip cnet`: published ports.
    Published,
    /// `ip cnet-vxlan`: the overlays' ingress filter.
    Tunnel,
}

impl NftTableKind {
    pub fn name(self) -> &'static str {
        match self {
            NftTableKind::Published => published::TABLE,
            NftTableKind::Tunnel => tunnel::TABLE,
        }
    }
    /// The table as an `nft -f` script.
    pub fn describe(self) -> String {
        match self {
            NftTableKind::Published => published::describe_table(),
            NftTableKind::Tunnel => tunnel::describe_table(),
        }
    }
}

/// What of cnet's firewall is there before a plan, so the plan holds only what is missing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FirewallFacts {
    /// The `iptables-restore --noflush` input that adds the missing base chains and jumps
    /// (empty: all there).
    pub base_input: String,
    pub published_table: bool,
    pub tunnel_table: bool,
}

impl FirewallFacts {
    /// The base and both tables present.
    pub fn complete() -> Self {
        FirewallFacts {
            base_input: String::new(),
            published_table: true,
            tunnel_table: true,
        }
    }
    pub fn has_table(&self, kind: NftTableKind) -> bool {
        match kind {
            NftTableKind::Published => self.published_table,
            NftTableKind::Tunnel => self.tunnel_table,
        }
    }
}

/// What the executor needs from a firewall backend.
pub trait Firewall {
    /// Run the restore input that adds cnet's base chains and jumps.
    fn create_base(&mut self, input: &str) -> Result<()>;
    /// Remove the base chains and jumps if no cnet rule (and no admin rule) is left in them.
    fn remove_base(&mut self) -> Result<()>;
    fn create_table(&mut self, kind: NftTableKind) -> Result<()>;
    fn drop_table(&mut self, kind: NftTableKind) -> Result<()>;
    /// Make the table hold exactly these entries, in one transaction.
    fn replace_published(&mut self, entries: &[PortEntry]) -> Result<()>;
    fn replace_tunnel_filter(&mut self, entries: &[TunnelEntry]) -> Result<()>;
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
    /// Open published ports (DNAT from the host ports): all or none.
    fn publish(&mut self, entries: &[PortEntry]) -> Result<()>;
    /// Close published ports; those not open count as closed.
    fn unpublish(&mut self, entries: &[PortEntry]) -> Result<()>;
    /// Create the overlays' ingress filter, if missing. Idempotent.
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
    /// What is there of cnet's firewall now.
    pub fn facts(&mut self) -> Result<FirewallFacts> {
        let saved = base::parse_save(&iptables::save()?);
        let nft = self.nft()?;
        Ok(FirewallFacts {
            base_input: base::ensure_input(&saved)?,
            published_table: nft.table_exists::<PublishedTable>()?,
            tunnel_table: nft.table_exists::<TunnelTable>()?,
        })
    }

    /// Whether a rule is in its chain (`iptables -C`).
    pub fn has_rule(&mut self, rule: &Rule) -> Result<bool> {
        self.get()?.has(rule)
    }
}

impl Firewall for HostFirewall {
    fn create_base(&mut self, input: &str) -> Result<()> {
        restore::run(input, "iptables-restore --noflush (cnet's base chains)")
    }
    fn remove_base(&mut self) -> Result<()> {
        iptables::remove_base_if_empty()
    }
    fn create_table(&mut self, kind: NftTableKind) -> Result<()> {
        match kind {
            NftTableKind::Published => self.nft()?.ensure_table::<PublishedTable>(),
            NftTableKind::Tunnel => self.nft()?.ensure_table::<TunnelTable>(),
        }
    }
    fn drop_table(&mut self, kind: NftTableKind) -> Result<()> {
        match kind {
            NftTableKind::Published => self.nft()?.drop_table::<PublishedTable>(),
            NftTableKind::Tunnel => self.nft()?.drop_table::<TunnelTable>(),
        }
    }
    fn replace_published(&mut self, entries: &[PortEntry]) -> Result<()> {
        self.nft()?.replace::<PublishedTable>(entries)
    }
    fn replace_tunnel_filter(&mut self, entries: &[TunnelEntry]) -> Result<()> {
        self.nft()?.replace::<TunnelTable>(entries)
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
    fn publish(&mut self, entries: &[PortEntry]) -> Result<()> {
        self.nft()?.add::<PublishedTable>(entries)
    }
    fn unpublish(&mut self, entries: &[PortEntry]) -> Result<()> {
        self.nft()?.remove::<PublishedTable>(entries)
    }
    fn allow_tunnel(&mut self, entries: &[TunnelEntry]) -> Result<()> {
        self.nft()?.add::<TunnelTable>(entries)
    }
    fn disallow_tunnel(&mut self, entries: &[TunnelEntry]) -> Result<()> {
        self.nft()?.remove::<TunnelTable>(entries)
    }
}
