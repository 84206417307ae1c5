//! The firewall: every rule of cnet's in one nftables table for both address families
//! (`inet` has its layout, `nft` speaks it over netlink): networks, published ports
//! (`published`) and the overlays' ingress filter (`tunnel`), all as elements of its sets.
//! Where nf_tables is missing, the iptables backend (`layout`, `rule`, `base`, `iptables`,
//! `restore`) installs rules instead, and no table: the networks', and published ports and
//! tunnel filters as rules too (`entry_rules`), run by the legacy commands where the nf_tables
//! variant cannot work (`variant`); the choice is made once per command ([`Backend`]), and
//! plans are made for the backend chosen.

pub mod base;
pub mod commit_watch;
pub mod entry_rules;
pub mod inet;
pub mod iptables;
pub mod layout;
pub mod listing;
pub mod nft;
pub mod ports;
pub mod published;
pub mod restore;
pub mod rule;
pub mod status;
pub mod tunnel;
pub mod variant;

use crate::error::Result;
use crate::model::family::Family;
use inet::NetElement;
use nft::{NetSets, PublishedTable, TunnelTable};
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

/// `nft VERB element inet cnet SET { … }` for a plan's printout: one transaction, one line per
/// set, in the order the sets first come among `elements` (set, element text).
pub(crate) fn element_commands(
    verb: &str,
    elements: impl IntoIterator<Item = (&'static str, String)>,
) -> String {
    let lines = inet::element_lines(verb, elements);
    inet::Script {
        table: inet::TableChange::None,
        lines: &lines,
    }
    .to_string()
}

/// Which firewall cnet writes its networks' rules to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// `table inet cnet` over netlink.
    #[default]
    Nftables,
    /// iptables-restore, where nf_tables is missing.
    Iptables,
}

/// Forces a backend: `iptables`, `iptables-legacy` (the legacy commands, `firewall::variant`)
/// or `nftables` (else: nftables when the kernel has it).
pub const BACKEND_ENV: &str = "CNET_FIREWALL";

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Nftables => "nftables",
            Backend::Iptables => "iptables",
        }
    }

    /// `CNET_FIREWALL` when set, else nftables when the kernel answers nf_tables requests.
    pub fn choose() -> Result<Backend> {
        match std::env::var(BACKEND_ENV).as_deref() {
            Ok("iptables" | variant::FORCE_LEGACY) => Ok(Backend::Iptables),
            Ok("nftables") => Ok(Backend::Nftables),
            Ok(other) => Err(crate::error::Error::usage(format!(
                "{BACKEND_ENV}={other}: expected iptables or nftables (or {})",
                variant::FORCE_LEGACY
            ))),
            Err(_) if nft::Nft::available() => Ok(Backend::Nftables),
            Err(_) => Ok(Backend::Iptables),
        }
    }
}

/// What the iptables backend left on a host now on the nftables backend (one that had no
/// nf_tables then, or ran with `CNET_FIREWALL=iptables`): `firewall reload` and `reset` take it
/// away.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IptablesLeftovers {
    /// iptables and ip6tables rules tagged `cnet:NETWORK`.
    pub rules: Vec<Rule>,
    /// Some of cnet's iptables chains are there.
    pub chains: bool,
}

/// What of cnet's firewall is there before a plan, so the plan holds only what is missing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FirewallFacts {
    pub backend: Backend,
    /// `table inet cnet` is there.
    pub table: bool,
    /// The admin's chain (`user`) holds rules: the table stays when the last network goes.
    pub admin_rules: bool,
    /// iptables backend: the `iptables-restore --noflush` input that adds the missing base
    /// chains and jumps (empty: all there, or the nftables backend).
    pub base_input: String,
    /// The same for ip6tables (empty too on a kernel without IPv6).
    pub base_input6: String,
}

impl FirewallFacts {
    /// The table there (nftables).
    pub fn complete() -> Self {
        FirewallFacts {
            table: true,
            ..Default::default()
        }
    }
    /// Nothing there yet, iptables backend.
    pub fn iptables() -> Self {
        FirewallFacts {
            backend: Backend::Iptables,
            ..Default::default()
        }
    }
    /// The restore input of each family as it is with none of cnet's base there.
    pub fn absent_base() -> Result<[String; 2]> {
        let mut inputs = [String::new(), String::new()];
        for family in iptables::families() {
            inputs[slot(family)] = base::ensure_input(&base::parse_save(""), family)?;
        }
        Ok(inputs)
    }
    /// Whether none of cnet's iptables base is there (a `RemoveBase` would find nothing).
    pub fn base_absent(&self) -> Result<bool> {
        let [v4, v6] = Self::absent_base()?;
        Ok(self.base_input == v4 && self.base_input6 == v6)
    }
    /// The restore input of each family whose base chains are (partly) missing.
    pub fn missing_base(&self) -> Vec<(Family, String)> {
        [
            (Family::V4, &self.base_input),
            (Family::V6, &self.base_input6),
        ]
        .into_iter()
        .filter(|(_, input)| !input.is_empty())
        .map(|(family, input)| (family, input.clone()))
        .collect()
    }
}

/// What the executor needs from a firewall backend.
pub trait Firewall {
    /// Run the restore input that adds cnet's base chains and jumps of a family.
    fn create_base(&mut self, family: Family, input: &str) -> Result<()>;
    /// Remove the base chains and jumps (both families) if no cnet rule (and no admin rule)
    /// is left in them.
    fn remove_base(&mut self) -> Result<()>;
    fn drop_table(&mut self) -> Result<()>;
    /// A network's elements in (the table made first when `create_table`): one transaction.
    fn add_network(&mut self, create_table: bool, elements: &[NetElement]) -> Result<()>;
    /// A network's elements out (the whole table when `drop_table`); what is gone counts as
    /// removed.
    fn remove_network(&mut self, drop_table: bool, elements: &[NetElement]) -> Result<()>;
    /// Make the table hold exactly these, in one transaction.
    fn replace_table(
        &mut self,
        networks: &[NetElement],
        tunnels: &[TunnelEntry],
        ports: &[PortEntry],
    ) -> Result<()>;
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
    /// Open published ports (DNAT from the host ports): all or none.
    fn publish(&mut self, entries: &[PortEntry]) -> Result<()>;
    /// Close published ports; those not open count as closed.
    fn unpublish(&mut self, entries: &[PortEntry]) -> Result<()>;
    /// Guard tunnels and hear peers (`tunnel`): all or none.
    fn allow_tunnel(&mut self, entries: &[TunnelEntry]) -> Result<()>;
    /// Take guards and peers out of the filter; those not there count as removed.
    fn disallow_tunnel(&mut self, entries: &[TunnelEntry]) -> Result<()>;
}

/// Where a family's half sits in a pair: IPv4 first.
fn slot(family: Family) -> usize {
    usize::from(family == Family::V6)
}

/// The host's firewall as cnet uses it: the nftables table over netlink, and iptables and
/// ip6tables when that is the backend, each started on first use: commands whose plans hold no
/// firewall step never need the iptables binary or a netfilter socket.
#[derive(Default)]
pub struct HostFirewall {
    /// iptables, ip6tables.
    inner: [Option<iptables::IptablesFirewall>; 2],
    nft: Option<nft::Nft>,
    backend: Option<Backend>,
}

impl HostFirewall {
    fn get(&mut self, family: Family) -> Result<&mut iptables::IptablesFirewall> {
        let slot = &mut self.inner[slot(family)];
        if slot.is_none() {
            *slot = Some(iptables::IptablesFirewall::new(family)?);
        }
        Ok(slot.as_mut().expect("just set"))
    }

    fn nft(&mut self) -> Result<&mut nft::Nft> {
        if self.nft.is_none() {
            self.nft = Some(nft::Nft::open()?);
        }
        Ok(self.nft.as_mut().expect("just set"))
    }

    /// The backend, chosen once per command.
    pub fn backend(&mut self) -> Result<Backend> {
        if let Some(b) = self.backend {
            return Ok(b);
        }
        let b = Backend::choose()?;
        if b == Backend::Iptables {
            let forced = std::env::var(BACKEND_ENV).as_deref() == Ok(variant::FORCE_LEGACY);
            variant::set_legacy(variant::wants_legacy(
                forced,
                nft::Nft::available(),
                variant::installed("iptables-legacy-restore"),
            ));
        }
        self.backend = Some(b);
        Ok(b)
    }

    /// What is there of cnet's firewall now.
    pub fn facts(&mut self) -> Result<FirewallFacts> {
        let backend = self.backend()?;
        Ok(match backend {
            Backend::Nftables => {
                let nft = self.nft()?;
                let table = nft.table_exists()?;
                let admin_rules = table && nft.rule_count(Some(inet::CHAIN_USER))? > 0;
                FirewallFacts {
                    backend,
                    table,
                    admin_rules,
                    ..Default::default()
                }
            }
            Backend::Iptables => {
                let mut inputs = [String::new(), String::new()];
                for family in iptables::families() {
                    let saved = base::parse_save(&iptables::save(family)?);
                    inputs[slot(family)] = base::ensure_input(&saved, family)?;
                }
                let [base_input, base_input6] = inputs;
                // No table of cnet's on this backend: one there is left from a time on
                // nftables (`firewall reload` takes it away).
                let table = nft::Nft::available() && self.nft()?.table_exists()?;
                FirewallFacts {
                    backend,
                    table,
                    admin_rules: false,
                    base_input,
                    base_input6,
                }
            }
        })
    }

    /// What `cnet firewall status` shows.
    pub fn status(&mut self) -> Result<status::Installed> {
        let backend = self.backend()?;
        let mut out = status::Installed {
            backend,
            ..Default::default()
        };
        if nft::Nft::available() && self.nft()?.table_exists()? {
            let nft = self.nft()?;
            out.table = true;
            out.networks = nft.set_keys(inet::SET_WITHIN)?.len();
            let mut keys = Vec::new();
            for map in published::MAPS {
                keys.extend(nft.set_keys(map)?.into_iter().map(|(key, _)| key));
            }
            out.published_ports = published::count_ports(keys.iter().map(Vec::as_slice));
            out.rules = nft.rule_count(None)?;
        }
        if backend == Backend::Iptables {
            let mut all = Vec::new();
            for family in iptables::families() {
                let rules = listing::cnet_rules(&iptables::save(family)?, family);
                let n = rules.len();
                all.extend(rules);
                match family {
                    Family::V4 => out.iptables_rules = Some(n),
                    Family::V6 => out.ip6tables_rules = Some(n),
                }
                out.rules += n;
            }
            out.published_ports += entry_rules::count_ports(&all);
            out.iptables = variant::version();
        }
        Ok(out)
    }

    /// The network elements in the table (none when it is not there).
    pub fn network_elements(&mut self) -> Result<Vec<NetElement>> {
        if !self.nft()?.table_exists()? {
            return Ok(Vec::new());
        }
        let nft = self.nft()?;
        let mut out = Vec::new();
        for set in [
            inet::SET_INTERNAL,
            inet::SET_BRIDGES,
            inet::SET_WITHIN,
            inet::SET_SUBNETS4,
            inet::SET_SUBNETS6,
        ] {
            for key in nft.set_keys(set)? {
                out.extend(inet::element_from_key(set, &key));
            }
        }
        Ok(out)
    }

    /// What the iptables backend left (nothing when it is the backend: that is its layout).
    pub fn iptables_leftovers(&mut self) -> Result<IptablesLeftovers> {
        if self.backend()? == Backend::Iptables {
            return Ok(IptablesLeftovers::default());
        }
        let mut left = IptablesLeftovers::default();
        for family in layout::FAMILIES {
            let Some(text) = iptables::save_if_installed(family)? else {
                continue;
            };
            let saved = base::parse_save(&text);
            left.chains |= layout::base_chains(family)
                .iter()
                .any(|(t, c)| saved.get(t.as_str()).is_some_and(|s| s.chains.contains(*c)));
            left.rules.extend(listing::cnet_rules(&text, family));
        }
        Ok(left)
    }

    /// Whether a rule is in its chain (`iptables -C`, `ip6tables -C`).
    pub fn has_rule(&mut self, rule: &Rule) -> Result<bool> {
        self.get(rule.family)?.has(rule)
    }
}

impl Firewall for HostFirewall {
    fn create_base(&mut self, family: Family, input: &str) -> Result<()> {
        let what = format!(
            "{}-restore --noflush (cnet's base chains)",
            rule::binary(family)
        );
        restore::run(family, input, &what)
    }
    fn remove_base(&mut self) -> Result<()> {
        iptables::remove_base_if_empty()
    }
    fn drop_table(&mut self) -> Result<()> {
        self.nft()?.drop_table()
    }
    fn add_network(&mut self, create_table: bool, elements: &[NetElement]) -> Result<()> {
        self.nft()?.add_network(create_table, elements)
    }
    fn remove_network(&mut self, drop_table: bool, elements: &[NetElement]) -> Result<()> {
        if drop_table {
            self.nft()?.drop_table()
        } else {
            self.nft()?.remove::<NetSets>(elements)
        }
    }
    fn replace_table(
        &mut self,
        networks: &[NetElement],
        tunnels: &[TunnelEntry],
        ports: &[PortEntry],
    ) -> Result<()> {
        self.nft()?.replace(networks, tunnels, ports)
    }
    fn append(&mut self, rule: &Rule) -> Result<()> {
        self.get(rule.family)?.append(rule)
    }
    fn delete(&mut self, rule: &Rule) -> Result<()> {
        self.get(rule.family)?.delete(rule)
    }
    /// One `iptables-restore` (and one `ip6tables-restore`) for the lot (no `iptables
    /// --version` needed first); if it fails half way (a table or a family committed, the next
    /// not), what went in is taken out again.
    fn append_new(&mut self, rules: &[Rule]) -> Result<()> {
        let result = iptables::restore_batch("-A", rules);
        if result.is_err() {
            let _ = rules.iter().try_for_each(|r| self.delete(r));
        }
        result
    }
    /// One restore per family in the usual case; when some rule is already gone (the batch is
    /// refused whole), rule by rule, skipping the missing ones.
    fn delete_each(&mut self, rules: &[Rule]) -> Result<()> {
        if iptables::restore_batch("-D", rules).is_ok() {
            return Ok(());
        }
        rules.iter().try_for_each(|r| self.delete(r))
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
