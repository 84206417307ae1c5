//! The machine a plan acts on — the kernel (netlink, namespaces, sysctls), the firewall and the
//! files — and the facts planning reads from it, behind one trait: commands run against the
//! real one, and their tests against a fake that records what it was asked.

use crate::error::{Error, Result};
use crate::files::{Disk, FileSource};
use crate::firewall::IptablesLeftovers;
use crate::firewall::inet::NetElement;
use crate::firewall::published::{self, PortEntry};
use crate::firewall::rule::Rule;
use crate::firewall::status::Installed;
use crate::firewall::tunnel::{self, TunnelEntry};
use crate::firewall::{Firewall, FirewallFacts, HostFirewall};
use crate::kernel::netlink::{NewLink, OneRequest};
use crate::kernel::{Session, netlink, netns, reclaim, sublink, sysctl, vxlan};
use crate::model::family;
use crate::plan::{NsRef, Op};
use ipnetwork::IpNetwork;

pub trait Host {
    /// Carry out one step that is not a state record.
    fn exec(&mut self, op: &Op) -> Result<()>;
    /// Netlink requests inside one namespace, sent as one pipelined batch: a result per op.
    fn exec_batch(&mut self, ns: &NsRef, ops: &[Op]) -> Vec<Result<()>> {
        let _ = ns;
        ops.iter().map(|op| self.exec(op)).collect()
    }
    /// Whether a link exists in a namespace (false when the namespace does not).
    fn link_exists(&mut self, ns: &NsRef, name: &str) -> Result<bool>;
    /// IPv4 destinations routed in the host namespace's main table (default routes left out).
    fn host_routes(&mut self) -> Result<Vec<IpNetwork>>;
    /// What of cnet's firewall is there.
    fn firewall_facts(&mut self) -> Result<FirewallFacts>;
    /// Which backend cnet's firewall is on (cheaper than all the facts).
    fn firewall_backend(&mut self) -> Result<crate::firewall::Backend> {
        Ok(self.firewall_facts()?.backend)
    }
    /// Whether a rule is in its chain.
    fn has_rule(&mut self, rule: &Rule) -> Result<bool>;
    /// Where planning reads files (hosts files, resolv.conf).
    fn files(&self) -> &dyn FileSource;
    /// The links of the host's namespace, with their marks.
    fn host_links(&mut self) -> Result<Vec<LinkFacts>> {
        self.links_in(&NsRef::Host)
    }
    /// The rules of the firewall that carry cnet's comment (`cnet:NETWORK`).
    fn cnet_rules(&mut self) -> Result<Vec<Rule>>;
    /// The links inside a namespace, with their marks (none when it is gone).
    fn links_in(&mut self, ns: &NsRef) -> Result<Vec<LinkFacts>>;
    /// The elements of cnet's nftables maps and sets: published ports, tunnel filter.
    fn firewall_elements(&mut self) -> Result<FirewallElements>;
    /// The network elements of `table inet cnet`.
    fn cnet_elements(&mut self) -> Result<Vec<NetElement>>;
    /// What `firewall status` shows.
    fn firewall_status(&mut self) -> Result<Installed>;
    /// What the iptables backend left on a host now on nftables (`firewall::IptablesLeftovers`).
    fn iptables_leftovers(&mut self) -> Result<IptablesLeftovers>;
    /// Whether a namespace is there (a removal inside one that is gone has nothing to do).
    fn netns_exists(&mut self, ns: &NsRef) -> bool {
        ns.path().is_none_or(|p| p.symlink_metadata().is_ok())
    }
}

/// What cnet's nftables tables hold, read back from the kernel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FirewallElements {
    pub ports: Vec<PortEntry>,
    pub tunnel: Vec<TunnelEntry>,
}

/// A link as gc sees it: its name and cnet's marks on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkFacts {
    pub name: String,
    /// Its ifalias (`cnet:NETWORK` on the host links cnet made, or the admin's own).
    pub alias: Option<String>,
    /// Whether it is in cnet's link group (`plan::LINK_GROUP`).
    pub cnet_group: bool,
}

impl LinkFacts {
    /// Whether it carries either of cnet's marks.
    pub fn is_cnet(&self) -> bool {
        self.cnet_group || netlink::is_cnet_mark(self.alias.as_deref())
    }
}

/// This machine: one netlink connection per namespace, kept for the whole command, so a check
/// before the plan and the plan itself share one thread and socket per namespace.
#[derive(Default)]
pub struct RealHost {
    pub session: Session,
    pub firewall: HostFirewall,
}

impl Host for RealHost {
    fn exec(&mut self, op: &Op) -> Result<()> {
        exec_on(&mut self.session, &mut self.firewall, op)
    }
    fn exec_batch(&mut self, ns: &NsRef, ops: &[Op]) -> Vec<Result<()>> {
        self.session.exec_pipelined(ns, ops)
    }
    fn link_exists(&mut self, ns: &NsRef, name: &str) -> Result<bool> {
        crate::kernel::link_exists(&mut self.session, ns, name)
    }
    fn host_routes(&mut self) -> Result<Vec<IpNetwork>> {
        let routes = crate::kernel::host_routes_v4()?;
        Ok(routes.into_iter().map(IpNetwork::V4).collect())
    }
    fn firewall_facts(&mut self) -> Result<FirewallFacts> {
        self.firewall.facts()
    }
    fn firewall_backend(&mut self) -> Result<crate::firewall::Backend> {
        self.firewall.backend()
    }
    fn has_rule(&mut self, rule: &Rule) -> Result<bool> {
        self.firewall.has_rule(rule)
    }
    fn files(&self) -> &dyn FileSource {
        &Disk
    }
    /// With the iptables backend only (iptables' and ip6tables'): the nftables backend writes
    /// no iptables rule.
    fn cnet_rules(&mut self) -> Result<Vec<Rule>> {
        if self.firewall.backend()? != crate::firewall::Backend::Iptables {
            return Ok(Vec::new());
        }
        let mut rules = Vec::new();
        for family in crate::firewall::iptables::families() {
            let save = crate::firewall::iptables::save(family)?;
            rules.extend(crate::firewall::listing::cnet_rules(&save, family));
        }
        Ok(rules)
    }
    fn firewall_elements(&mut self) -> Result<FirewallElements> {
        let mut out = FirewallElements::default();
        if !crate::firewall::nft::Nft::available() {
            return Ok(out);
        }
        let mut nft = crate::firewall::nft::Nft::open()?;
        for map in published::MAPS {
            for e in nft.set_elements(map)? {
                let data = e.data.unwrap_or_default();
                out.ports
                    .extend(PortEntry::from_element(map, &e.key, &data));
            }
        }
        for set in [tunnel::SET_GUARDED, tunnel::SET_PEERS] {
            for e in nft.set_elements(set)? {
                out.tunnel.extend(TunnelEntry::from_element(set, &e.key));
            }
        }
        Ok(out)
    }
    fn cnet_elements(&mut self) -> Result<Vec<NetElement>> {
        if !crate::firewall::nft::Nft::available() {
            return Ok(Vec::new());
        }
        self.firewall.network_elements()
    }
    fn firewall_status(&mut self) -> Result<Installed> {
        self.firewall.status()
    }
    fn iptables_leftovers(&mut self) -> Result<IptablesLeftovers> {
        self.firewall.iptables_leftovers()
    }
    fn links_in(&mut self, ns: &NsRef) -> Result<Vec<LinkFacts>> {
        if !self.netns_exists(ns) {
            return Ok(Vec::new());
        }
        self.session.run(ns, |c| {
            let links = netlink::links(c)
                .map_err(|e| Error::runtime(format!("ip link show: {}", netlink::describe(&e))))?;
            Ok(links
                .iter()
                .filter_map(|m| {
                    Some(LinkFacts {
                        name: netlink::name_of(m)?.to_string(),
                        alias: netlink::alias_of(m).map(str::to_string),
                        cnet_group: netlink::group_of(m) == crate::plan::LINK_GROUP,
                    })
                })
                .collect())
        })
    }
}

/// Carry out one step. All netlink work of a namespace goes through the session's
/// connection.
fn exec_on(s: &mut Session, fw: &mut HostFirewall, op: &Op) -> Result<()> {
    match op {
        Op::Record(_) => Err(Error::runtime(format!(
            "{op}: a state record, not a host step"
        ))),
        Op::File(f) => crate::files::exec(f),
        Op::CreateNetns { name } => netns::create_named(s, name),
        Op::AttachNetns { name, path } => {
            s.forget(&NsRef::Named(name.clone()));
            netns::bind_path(name, path)
        }
        Op::BindHostNetns { name } => {
            s.forget(&NsRef::Named(name.clone()));
            netns::bind_host(name)
        }
        Op::DeleteNetns { name } => {
            s.forget(&NsRef::Named(name.clone()));
            netns::delete_named(name)
        }
        Op::Sysctl { ns, key, value } => match ns {
            NsRef::Host => sysctl::set(ns, key, value),
            _ => {
                // Inside the namespace while the session runs the job there.
                let (k, v) = (key.clone(), value.clone());
                s.run(ns, move |_| {
                    sysctl::write_here(&k, &v).map_err(Error::Runtime)
                })
                .map_err(|e| match e {
                    Error::Runtime(msg) => netlink::kernel_error(op, msg),
                    e => e,
                })
            }
        },
        Op::DisableIpv6 { dev } => {
            sysctl::disable_ipv6_here(dev).map_err(|msg| netlink::kernel_error(op, msg))
        }
        Op::CreateBase { family, input } => fw.create_base(*family, input),
        Op::RemoveBase => fw.remove_base(),
        Op::DropTable => fw.drop_table(),
        Op::AddNetwork {
            create_table,
            elements,
        } => fw.add_network(*create_table, elements),
        Op::RemoveNetwork {
            drop_table,
            elements,
        } => fw.remove_network(*drop_table, elements),
        Op::ReplaceTable {
            networks,
            tunnels,
            ports,
        } => fw.replace_table(networks, tunnels, ports),
        Op::AppendRule(r) => fw.append(r),
        Op::DeleteRule(r) => fw.delete(r),
        Op::AppendRules(rs) => fw.append_new(rs),
        Op::DeleteRules(rs) => fw.delete_each(rs),
        Op::PublishPorts(es) => fw.publish(es),
        Op::UnpublishPorts(es) => fw.unpublish(es),
        Op::AllowTunnel(es) => fw.allow_tunnel(es),
        Op::DisallowTunnel(es) => fw.disallow_tunnel(es),
        Op::CreateVxlan {
            name,
            vni,
            local,
            underlay,
            dstport,
            mtu,
            master,
            mac,
        } => s.run_op(op, &NsRef::Host, |c| {
            vxlan::create(
                c,
                name,
                *vni,
                family::v4(*local)?,
                underlay.as_deref(),
                (*dstport, *mtu, *mac),
                master.as_deref(),
            )
        }),
        Op::AppendFdb { dev, dst } => s.run_op(op, &NsRef::Host, |c| {
            vxlan::append_fdb(c, dev, family::v4(*dst)?)
        }),
        Op::DelFdb { dev, dst } => s.run_op(op, &NsRef::Host, |c| {
            vxlan::del_fdb(c, dev, family::v4(*dst)?)
        }),
        Op::AddForward(f) => s.run_op(op, &NsRef::Host, |c| {
            let (mac, vtep) = forward_parts(f)?;
            crate::kernel::forward::add(c, &f.dev, mac, f.addresses(), vtep)
        }),
        Op::DelForward(f) => s.run_op(op, &NsRef::Host, |c| {
            let (mac, vtep) = forward_parts(f)?;
            crate::kernel::forward::del(c, &f.dev, mac, f.addresses(), vtep)
        }),
        Op::CreateSublink {
            kind,
            parent,
            temp,
            name,
            ns,
            mtu,
            mac,
        } => sublink::create(
            s,
            op,
            sublink::Child {
                kind: *kind,
                parent: parent.clone(),
                first: temp.clone().unwrap_or_else(|| name.clone()),
                ns: ns.clone(),
                mtu: *mtu,
                mac: *mac,
            },
            temp.as_ref().map(|t| (t.as_str(), name.as_str())),
        ),
        Op::RetireVeth {
            host,
            peer_ns,
            peer,
        } => reclaim::retire_veth(s, host, peer_ns, peer),
        Op::CreateBridge { name, mac, mtu } => {
            s.create_link(op, NewLink::Bridge { name, mac, mtu })
        }
        Op::CreateVeth {
            host,
            peer,
            peer_ns,
            mtu,
            peer_mac,
            master,
        } => s.create_link(
            op,
            NewLink::Veth {
                host,
                peer,
                peer_ns,
                mtu,
                peer_mac,
                master,
            },
        ),
        Op::LinkUp { ns, dev } => s.request(op, ns, OneRequest::LinkUp { dev }),
        Op::IsolatePort { dev } => s.request(op, &NsRef::Host, OneRequest::IsolatePort { dev }),
        Op::NoIpv6Autoconf { ns, dev } => s.request(op, ns, OneRequest::NoIpv6Autoconf { dev }),
        Op::DeleteLink {
            ns: NsRef::Host,
            dev,
        } => reclaim::retire_link(s, dev),
        Op::DeleteLink { ns, dev } => s.request(op, ns, OneRequest::DeleteLink { dev }),
        Op::AddAddress { ns, dev, addr } => s.request(op, ns, OneRequest::AddAddress { dev, addr }),
        Op::DelAddress { ns, dev, addr } => s.request(op, ns, OneRequest::DelAddress { dev, addr }),
        Op::AddRoute { ns, dest, via, dev } => {
            s.request(op, ns, OneRequest::AddRoute { dest, via, dev })
        }
        Op::DelRoute { ns, dest, via, dev } => {
            s.request(op, ns, OneRequest::DelRoute { dest, via, dev })
        }
    }
}

/// A remote endpoint's MAC and VTEP, as the kernel takes them.
fn forward_parts(f: &crate::model::Forward) -> Result<([u8; 6], std::net::Ipv4Addr)> {
    Ok((crate::names::parse_mac(&f.mac)?, family::v4(f.vtep)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_in_a_missing_namespace_is_a_kernel_error_naming_the_command() {
        let e = RealHost::default()
            .exec(&Op::LinkUp {
                ns: NsRef::Path("/nonexistent/netns/x".into()),
                dev: "eth0".into(),
            })
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("nsenter --net=/nonexistent/netns/x ip link set eth0 up: "),
            "{e}"
        );
        assert!(e.contains("does not exist"), "{e}");
    }
}
