//! Test doubles: a host that records the steps it is asked to carry out, keeps track of what
//! they built, and fails on demand. With the in-memory store, commands run whole without root.

use crate::error::{Error, Result};
use crate::files::{FileSource, Node};
use crate::firewall::FirewallFacts;
use crate::firewall::IptablesLeftovers;
use crate::firewall::inet::NetElement;
use crate::firewall::rule::Rule;
use crate::firewall::status::Installed;
use crate::host::{FirewallElements, Host, LinkFacts};
use crate::plan::{FileOp, NsRef, Op};
use ipnetwork::IpNetwork;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub struct FakeHost {
    /// Every step carried out, as its shell line.
    pub log: Vec<String>,
    /// Fail the step with this index (0-based, counting every step asked for).
    pub fail_at: Option<usize>,
    /// How many steps were asked for.
    pub asked: usize,
    /// Steps that built something and have not been undone yet.
    pub live: Vec<Op>,
    /// Links `link_exists` finds, as (namespace, name).
    pub links: Vec<(NsRef, String)>,
    /// Those of `links` in cnet's link group (created by cnet, recorded or not).
    pub in_cnet_group: std::collections::BTreeSet<String>,
    pub routes: Vec<IpNetwork>,
    pub facts: FirewallFacts,
    /// The files the host has, as file steps left them.
    pub files: BTreeMap<PathBuf, Node>,
    /// The named namespaces the host has.
    pub netns: std::collections::BTreeSet<String>,
    /// Rules carrying cnet's comment that `cnet_rules` finds (besides none built by steps).
    pub rules: Vec<Rule>,
    /// What `firewall_elements` finds (removal steps take theirs out).
    pub elements: FirewallElements,
    /// Network elements of the table that `cnet_elements` finds.
    pub net_elements: Vec<NetElement>,
    /// What the iptables backend left (`iptables_leftovers` finds it).
    pub iptables_leftovers: IptablesLeftovers,
}

impl Default for FakeHost {
    /// A host with the directories every machine has, and no cnet object.
    fn default() -> Self {
        let files = ["/", "/etc", "/run"]
            .into_iter()
            .map(|d| (PathBuf::from(d), Node::Dir))
            .chain([(
                PathBuf::from("/etc/resolv.conf"),
                Node::File("nameserver 192.0.2.53\n".into()),
            )])
            .collect();
        FakeHost {
            log: Vec::new(),
            fail_at: None,
            asked: 0,
            live: Vec::new(),
            links: Vec::new(),
            in_cnet_group: Default::default(),
            routes: Vec::new(),
            facts: FirewallFacts::default(),
            files,
            netns: Default::default(),
            rules: Vec::new(),
            elements: Default::default(),
            net_elements: Vec::new(),
            iptables_leftovers: IptablesLeftovers::default(),
        }
    }
}

impl FakeHost {
    pub fn failing_at(step: usize) -> Self {
        FakeHost {
            fail_at: Some(step),
            ..Default::default()
        }
    }
}

/// A handle on a fake host shared with the context that owns it.
#[derive(Clone, Default)]
pub struct SharedHost(pub std::rc::Rc<std::cell::RefCell<FakeHost>>);

impl SharedHost {
    pub fn new(host: FakeHost) -> Self {
        SharedHost(std::rc::Rc::new(std::cell::RefCell::new(host)))
    }
}

impl Host for SharedHost {
    fn exec(&mut self, op: &Op) -> Result<()> {
        self.0.borrow_mut().exec(op)
    }
    fn link_exists(&mut self, ns: &NsRef, name: &str) -> Result<bool> {
        self.0.borrow_mut().link_exists(ns, name)
    }
    fn host_routes(&mut self) -> Result<Vec<IpNetwork>> {
        self.0.borrow_mut().host_routes()
    }
    fn firewall_facts(&mut self) -> Result<FirewallFacts> {
        self.0.borrow_mut().firewall_facts()
    }
    fn has_rule(&mut self, rule: &Rule) -> Result<bool> {
        self.0.borrow_mut().has_rule(rule)
    }
    fn files(&self) -> &dyn FileSource {
        self
    }
    fn netns_exists(&mut self, ns: &NsRef) -> bool {
        self.0.borrow_mut().netns_exists(ns)
    }
    fn cnet_rules(&mut self) -> Result<Vec<Rule>> {
        self.0.borrow_mut().cnet_rules()
    }
    fn cnet_elements(&mut self) -> Result<Vec<NetElement>> {
        self.0.borrow_mut().cnet_elements()
    }
    fn firewall_status(&mut self) -> Result<Installed> {
        self.0.borrow_mut().firewall_status()
    }
    fn iptables_leftovers(&mut self) -> Result<IptablesLeftovers> {
        Ok(self.0.borrow().iptables_leftovers.clone())
    }
    fn links_in(&mut self, ns: &NsRef) -> Result<Vec<LinkFacts>> {
        self.0.borrow_mut().links_in(ns)
    }
    fn firewall_elements(&mut self) -> Result<FirewallElements> {
        self.0.borrow_mut().firewall_elements()
    }
}

impl FileSource for SharedHost {
    fn node(&self, path: &Path) -> Result<Node> {
        self.0.borrow().node(path)
    }
    fn list(&self, dir: &Path) -> Vec<String> {
        self.0.borrow().list(dir)
    }
}

impl FileSource for FakeHost {
    fn node(&self, path: &Path) -> Result<Node> {
        Ok(self.files.get(path).cloned().unwrap_or(Node::Absent))
    }
    fn list(&self, dir: &Path) -> Vec<String> {
        self.files
            .iter()
            .filter(|(p, n)| p.parent() == Some(dir) && **n != Node::Absent)
            .filter_map(|(p, _)| p.file_name().map(|f| f.to_string_lossy().into_owned()))
            .collect()
    }
}

impl FakeHost {
    /// Carry out a file step on the fake's files.
    fn write_file(&mut self, op: &FileOp) {
        let before = match self.files.get(op.path()) {
            Some(Node::File(t)) => Some(t.clone()),
            _ => None,
        };
        self.files
            .insert(op.path().clone(), crate::files::after(op, before));
    }

    fn netns_exists(&self, ns: &NsRef) -> bool {
        match ns {
            NsRef::Named(n) => self.netns.contains(n),
            NsRef::Path(p) => p.symlink_metadata().is_ok(),
            NsRef::Host => true,
        }
    }
}

impl Host for FakeHost {
    fn exec(&mut self, op: &Op) -> Result<()> {
        let index = self.asked;
        self.asked += 1;
        if self.fail_at == Some(index) {
            return Err(Error::runtime(format!(
                "injected failure at step {index}: {op}"
            )));
        }
        self.log.push(op.to_string());
        match op {
            Op::File(f) => self.write_file(f),
            Op::CreateNetns { name } => {
                self.netns.insert(name.clone());
            }
            Op::DeleteNetns { name } => {
                self.netns.remove(name);
            }
            Op::DeleteRules(rs) => self.rules.retain(|r| !rs.contains(r)),
            Op::RemoveNetwork {
                drop_table,
                elements,
            } => self
                .net_elements
                .retain(|e| !*drop_table && !elements.contains(e)),
            Op::DeleteRule(r) => self.rules.retain(|held| held != r),
            Op::UnpublishPorts(es) => self.elements.ports.retain(|e| !es.contains(e)),
            Op::DisallowTunnel(es) => self.elements.tunnel.retain(|e| !es.contains(e)),
            Op::DeleteLink { ns, dev } => self.links.retain(|(n, l)| (n, l) != (ns, dev)),
            _ => {}
        }
        // An undo takes back what it undoes; anything else that can be undone built something.
        match self
            .live
            .iter()
            .rposition(|l| l.undo().as_ref() == Some(op))
        {
            Some(i) => {
                self.live.remove(i);
            }
            None if op.undo().is_some() => self.live.push(op.clone()),
            None => {}
        }
        Ok(())
    }
    fn link_exists(&mut self, ns: &NsRef, name: &str) -> Result<bool> {
        let built = *ns == NsRef::Host && self.live.iter().any(|o| o.marked_link() == Some(name));
        Ok(built || self.links.iter().any(|(n, l)| n == ns && l == name))
    }
    fn host_routes(&mut self) -> Result<Vec<IpNetwork>> {
        Ok(self.routes.clone())
    }
    fn firewall_facts(&mut self) -> Result<FirewallFacts> {
        Ok(self.facts.clone())
    }
    fn has_rule(&mut self, _rule: &Rule) -> Result<bool> {
        Ok(false)
    }
    fn files(&self) -> &dyn FileSource {
        self
    }
    fn netns_exists(&mut self, ns: &NsRef) -> bool {
        FakeHost::netns_exists(self, ns)
    }
    fn cnet_rules(&mut self) -> Result<Vec<Rule>> {
        Ok(self.rules.clone())
    }
    fn firewall_elements(&mut self) -> Result<FirewallElements> {
        Ok(self.elements.clone())
    }
    fn cnet_elements(&mut self) -> Result<Vec<NetElement>> {
        Ok(self.net_elements.clone())
    }
    fn iptables_leftovers(&mut self) -> Result<IptablesLeftovers> {
        Ok(self.iptables_leftovers.clone())
    }
    fn firewall_status(&mut self) -> Result<Installed> {
        Ok(Installed {
            backend: self.facts.backend,
            table: self.facts.table,
            networks: self
                .net_elements
                .iter()
                .filter(|e| e.set() == "within")
                .count(),
            ..Default::default()
        })
    }
    /// The links steps built in the host's namespace (marked, as the executor marks them),
    /// then `links` of that namespace (in cnet's group when `in_cnet_group` names them).
    fn links_in(&mut self, ns: &NsRef) -> Result<Vec<LinkFacts>> {
        let built = self
            .live
            .iter()
            .filter(|_| *ns == NsRef::Host)
            .filter_map(|op| op.marked_link())
            .map(|l| LinkFacts {
                name: l.to_string(),
                alias: Some("cnet:?".to_string()),
                cnet_group: true,
            });
        let own = self
            .links
            .iter()
            .filter(|(n, _)| n == ns)
            .map(|(_, l)| LinkFacts {
                name: l.clone(),
                alias: None,
                cnet_group: self.in_cnet_group.contains(l),
            });
        Ok(built.chain(own).collect())
    }
}

/// A named namespace's endpoint on a network, `eth0` with `address` (None: no address), as an
/// attach records it; tests set what else they need.
pub fn endpoint(network: &str, netns: &str, address: Option<&str>) -> crate::model::Endpoint {
    crate::model::Endpoint {
        address6: None,
        default_route6: false,
        network: network.into(),
        key: netns.into(),
        netns: netns.into(),
        netns_path: format!("/run/netns/{netns}").into(),
        ifname: "eth0".into(),
        host_ifname: None,
        mac: None,
        address: address.map(|a| a.parse().expect("a CIDR")),
        aliases: vec![],
        ports: vec![],
        default_route: false,
        gw_priority: 0,
        no_default_route: false,
        publish_to: None,
        publish_to6: None,
        since: 0,
    }
}
