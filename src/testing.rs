//! Test doubles: a host that records the steps it is asked to carry out, keeps track of what
//! they built, and fails on demand. With the in-memory store, commands run whole without root.

use crate::error::{Error, Result};
use crate::firewall::FirewallFacts;
use crate::firewall::rule::Rule;
use crate::host::Host;
use crate::plan::{NsRef, Op};
use ipnetwork::Ipv4Network;

#[derive(Default)]
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
    pub routes: Vec<Ipv4Network>,
    pub facts: FirewallFacts,
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
    fn host_routes(&mut self) -> Result<Vec<Ipv4Network>> {
        self.0.borrow_mut().host_routes()
    }
    fn firewall_facts(&mut self) -> Result<FirewallFacts> {
        self.0.borrow_mut().firewall_facts()
    }
    fn has_rule(&mut self, rule: &Rule) -> Result<bool> {
        self.0.borrow_mut().has_rule(rule)
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
        if op.undo().is_some() {
            self.live.push(op.clone());
        } else if let Some(i) = self
            .live
            .iter()
            .rposition(|l| l.undo().as_ref() == Some(op))
        {
            self.live.remove(i);
        }
        Ok(())
    }
    fn link_exists(&mut self, ns: &NsRef, name: &str) -> Result<bool> {
        Ok(self.links.iter().any(|(n, l)| n == ns && l == name))
    }
    fn host_routes(&mut self) -> Result<Vec<Ipv4Network>> {
        Ok(self.routes.clone())
    }
    fn firewall_facts(&mut self) -> Result<FirewallFacts> {
        Ok(self.facts.clone())
    }
    fn has_rule(&mut self, _rule: &Rule) -> Result<bool> {
        Ok(false)
    }
}
