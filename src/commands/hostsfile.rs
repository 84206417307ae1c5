//! Planning the hosts files of the namespaces a command changes (the layout is described in
//! `hosts`): the file steps that keep every member's /etc/netns/NAME/hosts in step with the
//! networks it is on. An attach or detach touches a constant number of files for a namespace
//! on one network, however many members the network has. Planning only reads; the steps are
//! carried out by the executor with the rest of the plan.

use crate::error::Result;
use crate::files::{FileSource, FileView, Node, make_dirs};
use crate::hosts::{self, HostEntry, Removal};
use crate::model::Endpoint;
use crate::names::etc_netns_dir;
use crate::plan::FileOp;
use crate::store::Store;
use std::path::{Path, PathBuf};

/// The lines other members resolve an endpoint by, one per address (IPv4 first, then IPv6 on
/// a dual-stack network): its namespace name (when it has one) and its aliases. None for
/// endpoints without an address or a name.
fn entries_of(ep: &Endpoint) -> Vec<HostEntry> {
    let mut names = Vec::new();
    if is_named(ep) {
        names.push(ep.netns.clone());
    }
    names.extend(ep.aliases.iter().cloned());
    if names.is_empty() {
        return Vec::new();
    }
    ep.addresses()
        .map(|addr| HostEntry {
            address: addr.ip(),
            names: names.clone(),
        })
        .collect()
}

fn is_named(ep: &Endpoint) -> bool {
    !ep.netns.contains('/')
}

fn own_hosts(netns: &str) -> PathBuf {
    etc_netns_dir().join(netns).join("hosts")
}

/// Where an admin's own hosts file of a namespace waits while cnet's is in its place.
fn saved_hosts(netns: &str) -> PathBuf {
    etc_netns_dir().join(netns).join("hosts.before-cnet")
}

/// Whether a file is one cnet wrote (its first line says so).
fn written_by_cnet(text: &str) -> bool {
    text.starts_with("# written by cnet")
}

/// The file steps of one command, planned against the disk as the earlier steps leave it.
pub struct HostsPlan<'a> {
    store: &'a dyn Store,
    view: FileView<'a>,
    ops: Vec<FileOp>,
    /// An endpoint the same plan records (an attach) or forgets (a detach), which the store
    /// does not show yet.
    joining: Option<Endpoint>,
    leaving: Option<Endpoint>,
}

impl<'a> HostsPlan<'a> {
    pub fn new(store: &'a dyn Store, files: &'a dyn FileSource) -> Self {
        HostsPlan {
            store,
            view: FileView::new(files),
            ops: Vec::new(),
            joining: None,
            leaving: None,
        }
    }

    pub fn into_ops(self) -> Vec<FileOp> {
        self.ops
    }

    fn push(&mut self, op: FileOp) -> Result<()> {
        self.view.record(&op)?;
        self.ops.push(op);
        Ok(())
    }

    fn make_dir(&mut self, dir: &Path) -> Result<()> {
        for op in make_dirs(&self.view, dir)? {
            self.push(op)?;
        }
        Ok(())
    }

    /// A file with this text (nothing planned when it has it already).
    fn write(&mut self, path: &Path, text: &str) -> Result<()> {
        let now = self.view.node(path)?;
        if now == Node::File(text.to_string()) {
            return Ok(());
        }
        self.make_dir(path.parent().expect("files live in a directory"))?;
        self.push(FileOp::Write {
            path: path.to_path_buf(),
            text: text.to_string(),
            previous: now.previous(),
        })
    }

    fn symlink(&mut self, path: &Path, target: &Path) -> Result<()> {
        let now = self.view.node(path)?;
        if now == Node::Link(target.to_path_buf()) {
            return Ok(());
        }
        self.make_dir(path.parent().expect("files live in a directory"))?;
        self.push(FileOp::Symlink {
            path: path.to_path_buf(),
            target: target.to_path_buf(),
            previous: now.previous(),
        })
    }

    fn remove(&mut self, path: &Path) -> Result<()> {
        if let Some(previous) = self.view.node(path)?.previous() {
            self.push(FileOp::Remove {
                path: path.to_path_buf(),
                previous,
            })?;
        }
        Ok(())
    }

    fn remove_dir(&mut self, path: &Path) -> Result<()> {
        if self.view.node(path)? == Node::Dir {
            self.push(FileOp::RemoveDir {
                path: path.to_path_buf(),
            })?;
        }
        Ok(())
    }

    /// A network's endpoints as they will be once this plan has run.
    fn endpoints(&self, network: &str) -> Result<Vec<Endpoint>> {
        let mut eps = self.store.endpoints(network)?;
        if let Some(l) = self.leaving.as_ref().filter(|l| l.network == network) {
            eps.retain(|e| e.key != l.key);
        }
        if let Some(j) = self.joining.as_ref().filter(|j| j.network == network) {
            eps.retain(|e| e.key != j.key);
            eps.push(j.clone());
        }
        // A shared overlay's endpoints on other hosts resolve here too.
        eps.extend(
            self.store
                .remote_endpoints(network)?
                .into_iter()
                .map(|(_, e)| e),
        );
        Ok(eps)
    }

    fn is_shared(&self, network: &str) -> Result<bool> {
        Ok(self.store.shared() && self.store.network(network)?.is_some_and(|n| n.shared))
    }

    /// A shared overlay's file, written whole from every host's endpoints: other hosts'
    /// changes arrive in any order, so there is no line to append or blank in place.
    fn rewrite_shared(&mut self, network: &str) -> Result<()> {
        let entries: Vec<HostEntry> = self
            .endpoints(network)?
            .iter()
            .flat_map(entries_of)
            .collect();
        self.write(
            &hosts::network_file(network),
            &hosts::render_hosts(&entries),
        )
    }

    /// After endpoints of a shared overlay came or went on other hosts: its file lists them
    /// as etcd does now (nothing planned when it does already).
    pub fn refresh(&mut self, network: &str) -> Result<()> {
        self.rewrite_shared(network)?;
        for m in self.multi_members(network)? {
            self.sync_namespace(&m, None)?;
        }
        Ok(())
    }

    /// The networks with addresses a namespace is on once this plan has run, in name order.
    fn networks_of(&self, key: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for name in self.store.network_names()? {
            // The gateway bridge names nobody: its members are on different overlays.
            if name == super::gwbridge::NAME {
                continue;
            }
            let this = |e: &Option<Endpoint>| {
                e.as_ref()
                    .is_some_and(|e| e.network == name && e.key == key)
            };
            let ep = if this(&self.joining) {
                self.joining.clone()
            } else if this(&self.leaving) {
                None
            } else {
                self.store.endpoint(&name, key)?
            };
            if ep.is_some_and(|e| e.address.is_some()) {
                out.push(name);
            }
        }
        if let Some(j) = self
            .joining
            .as_ref()
            .filter(|j| j.key == key && j.address.is_some())
            .filter(|j| j.network != super::gwbridge::NAME)
            && !out.contains(&j.network)
        {
            out.push(j.network.clone());
            out.sort_by_key(|n| format!("{n}.toml"));
        }
        Ok(out)
    }

    /// A network's shared hosts file, built from state when it is missing (e.g. after a
    /// reboot).
    fn network_text(&mut self, network: &str) -> Result<String> {
        let path = hosts::network_file(network);
        if let Some(text) = self.view.text(&path)? {
            return Ok(text);
        }
        let entries: Vec<HostEntry> = self
            .endpoints(network)?
            .iter()
            .flat_map(entries_of)
            .collect();
        let text = hosts::render_hosts(&entries);
        self.write(&path, &text)?;
        Ok(text)
    }

    /// Record whether `netns` is on several networks, one of which is `network`.
    fn set_multi(&mut self, network: &str, netns: &str, multi: bool) -> Result<()> {
        let path = hosts::multi_dir(network).join(netns);
        if multi {
            self.write(&path, "")
        } else {
            self.remove(&path)
        }
    }

    /// The members of `network` that are on other networks too.
    fn multi_members(&self, network: &str) -> Result<Vec<String>> {
        Ok(self.view.list(&hosts::multi_dir(network)))
    }

    /// Bring one named namespace's hosts file in line with the networks it is on: a link to
    /// the shared file of its one network, or a merge of several.
    fn sync_namespace(&mut self, netns: &str, left: Option<&str>) -> Result<()> {
        let nets = self.networks_of(netns)?;
        if let Some(l) = left {
            self.set_multi(l, netns, false)?;
        }
        let path = own_hosts(netns);
        if !nets.is_empty() {
            self.save_admin_hosts(netns)?;
        }
        match nets.as_slice() {
            [] => self.restore_admin_hosts(netns)?,
            [one] => {
                self.network_text(one)?;
                self.set_multi(one, netns, false)?;
                self.symlink(&path, &hosts::network_file(one))?
            }
            several => {
                let mut texts = Vec::with_capacity(several.len());
                for n in several {
                    texts.push(self.network_text(n)?);
                    self.set_multi(n, netns, true)?;
                }
                self.write(&path, &hosts::merge(&texts))?
            }
        }
        self.resolv_conf(netns)
    }

    /// Before cnet puts its hosts file in place: an admin's own file is kept aside, to come
    /// back when the namespace leaves its last network.
    fn save_admin_hosts(&mut self, netns: &str) -> Result<()> {
        let saved = saved_hosts(netns);
        if let Node::File(text) = self.view.node(&own_hosts(netns))?
            && !written_by_cnet(&text)
            && self.view.node(&saved)? == Node::Absent
        {
            self.write(&saved, &text)?;
        }
        Ok(())
    }

    /// On no network any more: the admin's own hosts file back, or a file of cnet's naming
    /// no member.
    fn restore_admin_hosts(&mut self, netns: &str) -> Result<()> {
        let saved = saved_hosts(netns);
        match self.view.node(&saved)? {
            Node::File(text) => {
                self.write(&own_hosts(netns), &text)?;
                self.remove(&saved)
            }
            _ => self.write(&own_hosts(netns), &hosts::render_hosts(&[])),
        }
    }

    /// A resolv.conf for a namespace, unless it has one (an admin's is kept).
    fn resolv_conf(&mut self, netns: &str) -> Result<()> {
        let path = etc_netns_dir().join(netns).join("resolv.conf");
        if self.view.node(&path)? != Node::Absent {
            return Ok(());
        }
        let host = self
            .view
            .text(Path::new("/etc/resolv.conf"))
            .ok()
            .flatten()
            .unwrap_or_default();
        self.write(&path, &hosts::render_resolv_conf(&host))
    }

    /// After `ep` joins its network (recorded by the same plan).
    pub fn joined(&mut self, ep: &Endpoint) -> Result<()> {
        if ep.address.is_none() || ep.network == super::gwbridge::NAME {
            return Ok(());
        }
        self.joining = Some(ep.clone());
        let path = hosts::network_file(&ep.network);
        match self.view.text(&path)? {
            _ if self.is_shared(&ep.network)? => self.rewrite_shared(&ep.network)?,
            Some(text) => {
                let lines: String = entries_of(ep).iter().map(hosts::render_entry).collect();
                if !lines.is_empty() {
                    self.push(FileOp::Append {
                        path,
                        text: lines,
                        at: text.len() as u64,
                    })?;
                }
            }
            None => {
                self.network_text(&ep.network)?;
            }
        }
        if is_named(ep) {
            self.sync_namespace(&ep.netns, None)?;
        }
        for m in self.multi_members(&ep.network)? {
            if m != ep.netns {
                self.sync_namespace(&m, None)?;
            }
        }
        Ok(())
    }

    /// After `ep` leaves its network (forgotten by the same plan).
    pub fn left(&mut self, ep: &Endpoint) -> Result<()> {
        if ep.address.is_none() || ep.network == super::gwbridge::NAME {
            return Ok(());
        }
        self.leaving = Some(ep.clone());
        let path = hosts::network_file(&ep.network);
        if self.is_shared(&ep.network)? {
            self.rewrite_shared(&ep.network)?;
        }
        // One line per address; each removal is planned against the file as the previous one
        // leaves it.
        for addr in ep.addresses() {
            let Some(text) = self.view.text(&path)? else {
                break;
            };
            match hosts::plan_removal(&text, addr.ip()) {
                Removal::Absent => {}
                Removal::Blank { offset, len } => {
                    let old = text[offset..offset + len].to_string();
                    self.push(FileOp::Overwrite {
                        path: path.clone(),
                        offset: offset as u64,
                        text: hosts::blank(len),
                        old,
                    })?
                }
                Removal::Compact(new) => self.write(&path, &new)?,
            }
        }
        if is_named(ep) {
            self.sync_namespace(&ep.netns, Some(&ep.network))?;
        }
        for m in self.multi_members(&ep.network)? {
            self.sync_namespace(&m, None)?;
        }
        Ok(())
    }

    /// After a network is removed (its members were detached by earlier steps).
    pub fn network_removed(&mut self, network: &str) -> Result<()> {
        self.remove(&hosts::network_file(network))?;
        let dir = hosts::multi_dir(network);
        for m in self.view.list(&dir) {
            self.remove(&dir.join(m))?;
        }
        self.remove_dir(&dir)
    }

    /// After a namespace cnet created is deleted: the files cnet wrote for it go (an admin's
    /// own hosts file comes back), and the directory when nothing else is in it.
    pub fn namespace_removed(&mut self, netns: &str) -> Result<()> {
        let dir = etc_netns_dir().join(netns);
        if self.view.node(&saved_hosts(netns))? != Node::Absent {
            self.restore_admin_hosts(netns)?;
        }
        for f in ["hosts", "resolv.conf"] {
            let path = dir.join(f);
            let ours = match self.view.node(&path)? {
                Node::File(text) => written_by_cnet(&text),
                Node::Link(target) => target.starts_with(hosts::network_hosts_dir()),
                Node::Absent | Node::Dir => false,
            };
            if ours {
                self.remove(&path)?;
            }
        }
        self.remove_dir(&dir)
    }
}
