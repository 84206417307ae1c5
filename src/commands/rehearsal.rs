//! A dry run of several steps (`lab up|down`, `ns rm`, `net rm`, `reset`, `gc`): each step is
//! planned on what the steps before it made, so such a command cannot be dry-run one plan at a
//! time against this machine. It is rehearsed instead: the same commands run on a copy of cnet's records in memory and on a
//! host that reads this machine but only remembers the steps it is given (links, namespaces,
//! files, cnet's firewall base). Every plan is printed as a dry run prints it; nothing on the
//! machine or in the state directory changes.

use super::Ctx;
use crate::error::Result;
use crate::files::{Disk, FileSource, Node};
use crate::firewall::inet::NetElement;
use crate::firewall::published::PortEntry;
use crate::firewall::rule::Rule;
use crate::firewall::status::Installed;
use crate::firewall::tunnel::TunnelEntry;
use crate::firewall::{FirewallFacts, IptablesLeftovers};
use crate::host::{FirewallElements, Host, LinkFacts, RealHost};
use crate::model::PortClaim;
use crate::model::family::Family;
use crate::plan::{NsRef, Op};
use crate::store::{MemStore, Store};
use ipnetwork::IpNetwork;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// A context that rehearses: `ctx`'s options (a dry run), a copy of its records, a host that
/// remembers instead of doing.
pub fn context(ctx: &Ctx) -> Result<Ctx> {
    Ok(Ctx::rehearsing(
        ctx.global.clone(),
        Box::new(copy_of(&*ctx.store)?),
        Box::new(Rehearsal::default()),
    ))
}

/// Run `f` on a rehearsing context when `ctx` is a dry run (and not one already), else on
/// `ctx`: the plans of a command of several steps are then each made on what the earlier ones
/// did, as the real run makes them.
pub fn rehearsed<T>(ctx: &Ctx, f: impl FnOnce(&Ctx) -> Result<T>) -> Result<T> {
    if ctx.dry_run() && !ctx.rehearsing {
        return f(&context(ctx)?);
    }
    f(ctx)
}

/// cnet's records, in memory: networks, leases and lease cursors, endpoints and the host ports
/// they hold, namespaces.
fn copy_of(store: &dyn Store) -> Result<MemStore> {
    let copy = MemStore::default();
    for net in store.networks()? {
        copy.put_network(&net)?;
        for lease in store.leases(&net.name)? {
            copy.put_lease(&lease, false)?;
        }
        for family in [Family::V4, Family::V6] {
            if let Some(at) = store.lease_cursor(&net.name, family)? {
                copy.contents
                    .borrow_mut()
                    .cursors
                    .insert((net.name.clone(), family), at);
            }
        }
        for ep in store.endpoints(&net.name)? {
            copy.put_endpoint(&ep.key, &ep)?;
            for mapping in &ep.ports {
                copy.claim_ports(&PortClaim {
                    network: ep.network.clone(),
                    key: ep.key.clone(),
                    netns: ep.netns.clone(),
                    mapping: mapping.clone(),
                })?;
            }
        }
    }
    for ns in store.namespaces()? {
        copy.put_namespace(&ns)?;
    }
    Ok(copy)
}

/// This machine as the steps rehearsed so far would leave it: what they made or removed,
/// else what is there.
#[derive(Default)]
struct Rehearsal {
    real: RealHost,
    /// Links made (true) or removed (false), by namespace and name.
    links: HashMap<(NsRef, String), bool>,
    /// Named namespaces made (true) or deleted (false).
    netns: BTreeMap<String, bool>,
    files: BTreeMap<PathBuf, Node>,
    /// cnet's iptables base made (true) or removed (false) by the rehearsal.
    base: Option<bool>,
    /// `table inet cnet` made (true) or dropped (false) by the rehearsal.
    table: Option<bool>,
    /// iptables and ip6tables rules appended (true) or deleted (false) by the rehearsal.
    rules: HashMap<Rule, bool>,
    /// Elements of `table inet cnet` added (true) or deleted (false) by the rehearsal.
    ports: HashMap<PortEntry, bool>,
    tunnel: HashMap<TunnelEntry, bool>,
    elements: HashMap<NetElement, bool>,
}

/// `real` as the rehearsal left it: what it deleted out, what it added in.
fn as_rehearsed<T: Clone + Eq + std::hash::Hash>(
    mut real: Vec<T>,
    done: &HashMap<T, bool>,
) -> Vec<T> {
    real.retain(|e| done.get(e) != Some(&false));
    for (e, there) in done {
        if *there && !real.contains(e) {
            real.push(e.clone());
        }
    }
    real
}

fn mark<T: Clone + Eq + std::hash::Hash>(done: &mut HashMap<T, bool>, items: &[T], there: bool) {
    for e in items {
        done.insert(e.clone(), there);
    }
}

impl Rehearsal {
    fn link(&mut self, ns: &NsRef, dev: &str, there: bool) {
        self.links.insert((ns.clone(), dev.to_string()), there);
    }
}

impl Host for Rehearsal {
    fn exec(&mut self, op: &Op) -> Result<()> {
        match op {
            Op::File(f) => {
                let before = match self.node(f.path())? {
                    Node::File(t) => Some(t),
                    _ => None,
                };
                self.files
                    .insert(f.path().clone(), crate::files::after(f, before));
            }
            Op::CreateNetns { name }
            | Op::AttachNetns { name, .. }
            | Op::BindHostNetns { name } => {
                self.netns.insert(name.clone(), true);
            }
            Op::DeleteNetns { name } => {
                self.netns.insert(name.clone(), false);
            }
            Op::CreateBridge { name, .. } | Op::CreateVxlan { name, .. } => {
                self.link(&NsRef::Host, name, true)
            }
            Op::CreateVeth {
                host,
                peer,
                peer_ns,
                ..
            } => {
                self.link(&NsRef::Host, host, true);
                self.link(peer_ns, peer, true);
            }
            Op::CreateSublink { ns, name, .. } => self.link(ns, name, true),
            Op::DeleteLink { ns, dev } => self.link(ns, dev, false),
            Op::RetireVeth {
                host,
                peer_ns,
                peer,
            } => {
                self.link(&NsRef::Host, host, false);
                self.link(peer_ns, peer, false);
            }
            Op::AppendRule(r) => mark(&mut self.rules, std::slice::from_ref(r), true),
            Op::AppendRules(rs) => mark(&mut self.rules, rs, true),
            Op::DeleteRule(r) => mark(&mut self.rules, std::slice::from_ref(r), false),
            Op::DeleteRules(rs) => mark(&mut self.rules, rs, false),
            Op::CreateBase { .. } => self.base = Some(true),
            Op::RemoveBase => self.base = Some(false),
            Op::PublishPorts(es) => mark(&mut self.ports, es, true),
            Op::UnpublishPorts(es) => mark(&mut self.ports, es, false),
            Op::AllowTunnel(es) => mark(&mut self.tunnel, es, true),
            Op::DisallowTunnel(es) => mark(&mut self.tunnel, es, false),
            Op::AddNetwork {
                create_table,
                elements,
            } => {
                mark(&mut self.elements, elements, true);
                if *create_table {
                    self.table = Some(true);
                }
            }
            Op::RemoveNetwork {
                drop_table,
                elements,
            } => {
                mark(&mut self.elements, elements, false);
                if *drop_table {
                    self.table = Some(false);
                }
            }
            Op::ReplaceTable { .. } => self.table = Some(true),
            Op::DropTable => self.table = Some(false),
            _ => {}
        }
        Ok(())
    }
    fn link_exists(&mut self, ns: &NsRef, name: &str) -> Result<bool> {
        if let Some(there) = self.links.get(&(ns.clone(), name.to_string())) {
            return Ok(*there);
        }
        if let NsRef::Named(n) = ns
            && self.netns.contains_key(n)
        {
            // Made or deleted by the rehearsal: none of what this machine holds is in it.
            return Ok(false);
        }
        self.real.link_exists(ns, name)
    }
    fn host_routes(&mut self) -> Result<Vec<IpNetwork>> {
        self.real.host_routes()
    }
    fn firewall_facts(&mut self) -> Result<FirewallFacts> {
        let mut facts = self.real.firewall_facts()?;
        match self.base {
            Some(true) => {
                facts.base_input.clear();
                facts.base_input6.clear();
            }
            Some(false) if facts.backend == crate::firewall::Backend::Iptables => {
                [facts.base_input, facts.base_input6] = FirewallFacts::absent_base()?;
            }
            _ => {}
        }
        if let Some(table) = self.table {
            facts.table = table;
        }
        Ok(facts)
    }
    fn has_rule(&mut self, rule: &Rule) -> Result<bool> {
        match self.rules.get(rule) {
            Some(there) => Ok(*there),
            None => self.real.has_rule(rule),
        }
    }
    fn files(&self) -> &dyn FileSource {
        self
    }
    fn cnet_rules(&mut self) -> Result<Vec<Rule>> {
        Ok(as_rehearsed(self.real.cnet_rules()?, &self.rules))
    }
    fn links_in(&mut self, ns: &NsRef) -> Result<Vec<LinkFacts>> {
        let mut links = self.real.links_in(ns)?;
        links.retain(|l| self.links.get(&(ns.clone(), l.name.clone())) != Some(&false));
        Ok(links)
    }
    fn firewall_elements(&mut self) -> Result<FirewallElements> {
        if self.table == Some(false) {
            return Ok(FirewallElements::default());
        }
        let real = self.real.firewall_elements()?;
        Ok(FirewallElements {
            ports: as_rehearsed(real.ports, &self.ports),
            tunnel: as_rehearsed(real.tunnel, &self.tunnel),
        })
    }
    fn cnet_elements(&mut self) -> Result<Vec<NetElement>> {
        if self.table == Some(false) {
            return Ok(Vec::new());
        }
        Ok(as_rehearsed(self.real.cnet_elements()?, &self.elements))
    }
    fn firewall_status(&mut self) -> Result<Installed> {
        self.real.firewall_status()
    }
    fn iptables_leftovers(&mut self) -> Result<IptablesLeftovers> {
        self.real.iptables_leftovers()
    }
    fn netns_exists(&mut self, ns: &NsRef) -> bool {
        match ns {
            NsRef::Named(n) if self.netns.contains_key(n) => self.netns[n],
            _ => self.real.netns_exists(ns),
        }
    }
}

impl FileSource for Rehearsal {
    fn node(&self, path: &Path) -> Result<Node> {
        match self.files.get(path) {
            Some(node) => Ok(node.clone()),
            None => Disk.node(path),
        }
    }
    fn list(&self, dir: &Path) -> Vec<String> {
        let mut names = Disk.list(dir);
        for (path, node) in &self.files {
            let Some(name) = path
                .parent()
                .filter(|p| *p == dir)
                .and(path.file_name())
                .map(|n| n.to_string_lossy().into_owned())
            else {
                continue;
            };
            names.retain(|n| *n != name);
            if *node != Node::Absent {
                names.push(name);
            }
        }
        names.sort();
        names
    }
}
