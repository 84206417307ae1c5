//! Typed kernel operations. A plan is an ordered list of `Op`s computed by pure code; the
//! `kernel` module applies it and, on the first failure, applies the undo of every step already
//! done, in reverse. Each op prints itself as the equivalent `ip`/`bridge`/`iptables` command.

pub mod file_op;
mod mark;
pub mod record;
mod scope;
mod shell;

pub use file_op::FileOp;
pub use record::Record;

use crate::firewall::inet::NetElement;
use crate::firewall::published::PortEntry;
use crate::firewall::rule::{Rule, shell_quote};
use crate::firewall::tunnel::TunnelEntry;
use crate::model::Forward;
use crate::model::family::Family;
use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

/// What every link cnet creates in the host's namespace carries as its ifalias, followed by
/// its network's name: cnet deletes no link there without it.
pub const MARK_PREFIX: &str = "cnet:";

/// The link group (IFLA_GROUP) of every link cnet creates, in any namespace: set by the very
/// request that creates the link (the kernel ignores an ifalias there), so no kill can leave a
/// link of cnet's without a mark. `0x636e6574` is "cnet" in ASCII.
pub const LINK_GROUP: u32 = 0x636e_6574;

/// Which network namespace an operation runs in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NsRef {
    /// The namespace cnet itself runs in ("the host").
    Host,
    /// A named namespace: `/run/netns/NAME`.
    Named(String),
    /// Any other namespace file, e.g. `/proc/PID/ns/net`.
    Path(PathBuf),
}

impl NsRef {
    /// The file to open to enter this namespace (`None` for the host's own).
    pub fn path(&self) -> Option<PathBuf> {
        match self {
            NsRef::Host => None,
            NsRef::Named(n) => Some(crate::names::netns_dir().join(n)),
            NsRef::Path(p) => Some(p.clone()),
        }
    }

    /// Command prefix that runs `ip` in this namespace.
    fn ip(&self) -> String {
        match self {
            NsRef::Host => "ip".into(),
            NsRef::Named(n) => format!("ip -n {}", shell_quote(n)),
            NsRef::Path(p) => format!("nsenter --net={} ip", shell_quote(&p.display().to_string())),
        }
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// `ip netns add NAME`
    CreateNetns { name: String },
    /// Bind `/run/netns/NAME` to the host's own namespace (the `host` network).
    BindHostNetns { name: String },
    /// `ip netns attach NAME PID`: a name under /run/netns for a namespace another tool made
    /// (`path`, e.g. /proc/PID/ns/net), so it can be reached and resolved by name.
    AttachNetns { name: String, path: PathBuf },
    /// `ip netns del NAME` (also undoes `BindHostNetns`)
    DeleteNetns { name: String },
    /// `ip link add NAME type bridge` with a pinned MAC, optional MTU; brought up.
    CreateBridge {
        name: String,
        mac: [u8; 6],
        mtu: Option<u32>,
    },
    /// A veth pair: `host` end in the host namespace, enslaved to `master` and up; `peer` end
    /// created directly inside `peer_ns` (IFLA_NET_NS_FD) with an optional MAC.
    CreateVeth {
        host: String,
        peer: String,
        peer_ns: NsRef,
        mtu: Option<u32>,
        peer_mac: Option<[u8; 6]>,
        master: Option<String>,
    },
    /// `ip link set DEV up`
    LinkUp { ns: NsRef, dev: String },
    /// `ip link set DEV type bridge_slave isolated on`: a bridge port that forwards only to
    /// ports that are not isolated (the bridge itself), never to another isolated one. Goes
    /// with the port.
    IsolatePort { dev: String },
    /// `ip link del DEV`; a link that is already gone counts as deleted.
    DeleteLink { ns: NsRef, dev: String },
    /// `ip link del HOST` for a veth pair, the fast way: both ends go down and get names out of
    /// the way at once (the namespace is cut off and its interface name is free), and the
    /// deletion itself, ~25 ms of kernel freeing, finishes in the background (kernel::reclaim).
    /// Ends that are gone count as done.
    RetireVeth {
        host: String,
        peer_ns: NsRef,
        peer: String,
    },
    /// `ip addr add ADDR/PREFIX dev DEV`
    AddAddress {
        ns: NsRef,
        dev: String,
        addr: IpNetwork,
    },
    /// `ip addr del ADDR/PREFIX dev DEV`
    DelAddress {
        ns: NsRef,
        dev: String,
        addr: IpNetwork,
    },
    /// `ip route add DEST|default [via GW] [dev DEV]`
    AddRoute {
        ns: NsRef,
        dest: Option<IpNetwork>,
        via: Option<IpAddr>,
        dev: Option<String>,
    },
    /// `ip route del ...`
    DelRoute {
        ns: NsRef,
        dest: Option<IpNetwork>,
        via: Option<IpAddr>,
        dev: Option<String>,
    },
    /// `sysctl -w KEY=VALUE` in a namespace (e.g. `net.ipv4.ip_forward=1`). Not undone: other
    /// networks may rely on it, as Docker and the CNI plugins do.
    Sysctl {
        ns: NsRef,
        key: String,
        value: String,
    },
    /// `ip link set DEV addrgenmode none` on a new link of an IPv4-only network, before it goes
    /// up: no link-local address, so no DAD, router solicitation or MLD packets flooded to
    /// every port of the bridge (a cost that grows with the network). IPv6 itself stays on: an
    /// address added by hand works. Through netlink, not /proc/sys: every namespace that opens
    /// /proc/sys/net/ipv6 slows every later sysctl lookup on the machine. Nothing to do on a
    /// kernel without IPv6.
    NoIpv6Autoconf { ns: NsRef, dev: String },
    /// `sysctl -w net.ipv6.conf.DEV.disable_ipv6=1` on the host end of a veth pair, for the same
    /// reason: in the host's own namespace this lookup stays cheap, where `addrgenmode` grows
    /// with the number of bridge ports. Nothing to do on a kernel without IPv6.
    DisableIpv6 { dev: String },
    /// cnet's missing base chains and jumps of a family, as planned against `iptables-save`
    /// (`ip6tables-save`): `iptables-restore --noflush` (`ip6tables-restore`) of exactly this
    /// input.
    CreateBase {
        #[serde(default = "Family::v4")]
        family: Family,
        input: String,
    },
    /// cnet's base chains and jumps out, in both families, once no rule is left in them (the
    /// last network).
    RemoveBase,
    /// `nft delete table inet cnet` (a table that is gone counts as deleted).
    DropTable,
    /// A network's elements into `table inet cnet` (`firewall::inet`), the whole table made
    /// first when `create_table` (it was not there): one transaction, all or none.
    AddNetwork {
        create_table: bool,
        elements: Vec<NetElement>,
    },
    /// A network's elements out (those gone count as removed); with `drop_table` (the last
    /// network) the table goes instead, elements and all.
    RemoveNetwork {
        drop_table: bool,
        elements: Vec<NetElement>,
    },
    /// `table inet cnet` made to hold exactly these (`firewall reload`), in one transaction.
    ReplaceTable {
        networks: Vec<NetElement>,
        tunnels: Vec<TunnelEntry>,
        ports: Vec<PortEntry>,
    },
    /// `iptables -A` (skipped when the rule is already there).
    AppendRule(Rule),
    /// `iptables -D` (a rule that is already gone counts as deleted).
    DeleteRule(Rule),
    /// Rules new by construction (a new network's, a new endpoint's), appended in one batch
    /// (`iptables-restore --noflush`): all or none.
    AppendRules(Vec<Rule>),
    /// Rules deleted in one batch; those already gone count as deleted.
    DeleteRules(Vec<Rule>),
    /// Published ports into cnet's nftables maps (`firewall::published`), the table created if
    /// missing: one transaction, all or none.
    PublishPorts(Vec<PortEntry>),
    /// Published ports out of the maps; those already gone count as removed.
    UnpublishPorts(Vec<PortEntry>),
    /// Tunnels guarded and peers heard (`firewall::tunnel`): one transaction, all or none.
    AllowTunnel(Vec<TunnelEntry>),
    /// Guards and peers out of the filter; those already gone count as removed.
    DisallowTunnel(Vec<TunnelEntry>),
    /// A VXLAN device (source-address learning on) in the host namespace, enslaved to `master`
    /// and brought up: `ip link add NAME type vxlan id VNI local IP dev UNDERLAY dstport PORT`.
    CreateVxlan {
        name: String,
        vni: u32,
        local: IpAddr,
        underlay: Option<String>,
        dstport: u16,
        mtu: Option<u32>,
        master: Option<String>,
        /// The device's MAC address (a shared overlay's members publish theirs).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mac: Option<[u8; 6]>,
    },
    /// Head-end replication to one more VTEP: an all-zero FDB entry appended to a VXLAN device
    /// (`bridge fdb append 00:00:00:00:00:00 dev DEV dst DST`).
    AppendFdb { dev: String, dst: IpAddr },
    /// Stop sending to a VTEP: delete the all-zero entry to `dst` and every MAC address the
    /// device learned behind it. What is already gone counts as deleted.
    DelFdb { dev: String, dst: IpAddr },
    /// A remote endpoint of a shared overlay: a permanent FDB entry (`mac` behind `vtep`) and
    /// a neighbour entry (`ip` at `mac`) on a VXLAN device.
    AddForward(Forward),
    /// Both entries of a remote endpoint gone (what is gone already counts as deleted).
    DelForward(Forward),
    /// A macvlan/ipvlan child of `parent` (a link of the host namespace), created directly
    /// inside `ns` (IFLA_NET_NS_FD) under the name `temp` and renamed there to `name` (with no
    /// `temp`, created as `name`); left down. `mtu: None` inherits the parent's.
    CreateSublink {
        kind: crate::model::SublinkKind,
        parent: String,
        temp: Option<String>,
        name: String,
        ns: NsRef,
        mtu: Option<u32>,
        mac: Option<[u8; 6]>,
    },
    /// A change to cnet's state records (printed as a comment).
    Record(Record),
    /// A file written, appended to or removed (hosts files, resolv.conf).
    File(FileOp),
}

impl Op {
    /// The op that undoes this one, for rollback.
    pub fn undo(&self) -> Option<Op> {
        Some(match self {
            Op::CreateNetns { name }
            | Op::BindHostNetns { name }
            | Op::AttachNetns { name, .. } => Op::DeleteNetns { name: name.clone() },
            Op::CreateBridge { name, .. } => Op::DeleteLink {
                ns: NsRef::Host,
                dev: name.clone(),
            },
            Op::CreateVeth { host, .. } => Op::DeleteLink {
                ns: NsRef::Host,
                dev: host.clone(),
            },
            Op::AddAddress { ns, dev, addr } => Op::DelAddress {
                ns: ns.clone(),
                dev: dev.clone(),
                addr: *addr,
            },
            Op::AddRoute { ns, dest, via, dev } => Op::DelRoute {
                ns: ns.clone(),
                dest: *dest,
                via: *via,
                dev: dev.clone(),
            },
            // A route taken away in an apply (a default route taken over) comes back.
            Op::DelRoute { ns, dest, via, dev } => Op::AddRoute {
                ns: ns.clone(),
                dest: *dest,
                via: *via,
                dev: dev.clone(),
            },
            Op::AppendRule(r) => Op::DeleteRule(r.clone()),
            Op::CreateBase { .. } => Op::RemoveBase,
            Op::AddNetwork {
                create_table,
                elements,
            } => Op::RemoveNetwork {
                drop_table: *create_table,
                elements: elements.clone(),
            },
            Op::AppendRules(rs) => Op::DeleteRules(rs.iter().rev().cloned().collect()),
            Op::PublishPorts(es) => Op::UnpublishPorts(es.clone()),
            Op::AllowTunnel(es) => Op::DisallowTunnel(es.clone()),
            Op::CreateVxlan { name, .. } => Op::DeleteLink {
                ns: NsRef::Host,
                dev: name.clone(),
            },
            Op::AppendFdb { dev, dst } => Op::DelFdb {
                dev: dev.clone(),
                dst: *dst,
            },
            Op::DelFdb { .. } => return None,
            Op::AddForward(f) => Op::DelForward(f.clone()),
            // Taken back by the next re-sync if it was wrong to take it away.
            Op::DelForward(f) => Op::AddForward(f.clone()),
            Op::Record(r) => Op::Record(r.undo()?),
            Op::File(f) => Op::File(f.undo()?),
            Op::CreateSublink { ns, name, .. } => Op::DeleteLink {
                ns: ns.clone(),
                dev: name.clone(),
            },
            Op::LinkUp { .. }
            | Op::IsolatePort { .. }
            | Op::DeleteLink { .. }
            | Op::RetireVeth { .. }
            | Op::DelAddress { .. }
            | Op::DeleteNetns { .. }
            | Op::Sysctl { .. }
            | Op::NoIpv6Autoconf { .. }
            | Op::DisableIpv6 { .. }
            | Op::RemoveBase
            | Op::DropTable
            | Op::RemoveNetwork { .. }
            | Op::ReplaceTable { .. }
            | Op::DeleteRule(_)
            | Op::DeleteRules(_)
            | Op::UnpublishPorts(_)
            | Op::DisallowTunnel(_) => return None,
        })
    }
}

pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A plan: the ops to apply, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub ops: Vec<Op>,
}

impl Plan {
    pub fn push(&mut self, op: Op) {
        self.ops.push(op);
    }
    pub fn extend(&mut self, ops: impl IntoIterator<Item = Op>) {
        self.ops.extend(ops);
    }
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A plan that names its network (a command's, with its records) shows the marks.
        let named = self.link_mark().starts_with(MARK_PREFIX);
        for (i, op) in self.ops.iter().enumerate() {
            writeln!(f, "{op}")?;
            let mark = named.then(|| self.link_mark_at(i));
            if let (Some(dev), Some(m)) = (op.marked_link(), &mark) {
                writeln!(
                    f,
                    "ip link set {} alias {}",
                    shell_quote(dev),
                    shell_quote(m)
                )?;
            }
        }
        Ok(())
    }
}

impl Op {
    /// The host link an op creates, which the executor marks as cnet's.
    pub fn marked_link(&self) -> Option<&str> {
        match self {
            Op::CreateBridge { name, .. } | Op::CreateVxlan { name, .. } => Some(name),
            Op::CreateVeth { host, .. } => Some(host),
            Op::CreateSublink {
                ns: NsRef::Host,
                temp,
                name,
                ..
            } => Some(temp.as_deref().unwrap_or(name)),
            _ => None,
        }
    }
}

/// The MTU a bridge is created with, one off the one it is meant to have: the kernel only
/// marks a bridge's MTU as the user's when a later request changes it, and a request that
/// sets the MTU it already has changes nothing.
pub fn provisional_bridge_mtu(mtu: u32) -> u32 {
    const MIN_MTU: u32 = 68;
    if mtu > MIN_MTU { mtu - 1 } else { mtu + 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veth_into_named_namespace_prints_like_iproute2() {
        let op = Op::CreateVeth {
            host: "cnv1a2b3c4d".into(),
            peer: "eth0".into(),
            peer_ns: NsRef::Named("ns1".into()),
            mtu: Some(1400),
            peer_mac: Some([2, 0x42, 10, 1, 0, 2]),
            master: Some("cn-lab".into()),
        };
        assert_eq!(
            op.to_string(),
            "ip link add cnv1a2b3c4d mtu 1400 numtxqueues 1 numrxqueues 1 group 1668179316 type veth \
             peer name eth0 mtu 1400 numtxqueues 1 numrxqueues 1 group 1668179316 netns ns1 address 02:42:0a:01:00:02\n\
             ip link set cnv1a2b3c4d master cn-lab"
        );
    }

    #[test]
    fn undo_of_creation_deletes_and_of_deletion_is_none() {
        let add = Op::AddAddress {
            ns: NsRef::Named("ns1".into()),
            dev: "eth0".into(),
            addr: "10.1.0.2/24".parse().unwrap(),
        };
        assert!(matches!(add.undo(), Some(Op::DelAddress { .. })));
        assert_eq!(
            Op::DeleteLink {
                ns: NsRef::Host,
                dev: "x".into()
            }
            .undo(),
            None
        );
    }

    #[test]
    fn an_address_prints_the_broadcast_cnet_gives_it_and_none_on_a_31_or_32() {
        let add = |addr: &str| Op::AddAddress {
            ns: NsRef::Host,
            dev: "cn-lab".into(),
            addr: addr.parse().unwrap(),
        };
        assert_eq!(
            add("10.1.0.1/24").to_string(),
            "ip addr add 10.1.0.1/24 broadcast 10.1.0.255 dev cn-lab"
        );
        assert_eq!(
            add("10.1.0.1/31").to_string(),
            "ip addr add 10.1.0.1/31 dev cn-lab"
        );
        // IPv6 has no broadcast address, and cnet adds it without DAD.
        assert_eq!(
            add("fd00::2/64").to_string(),
            "ip -6 addr add fd00::2/64 dev cn-lab nodad"
        );
    }

    #[test]
    fn default_route_in_path_namespace() {
        let op = Op::AddRoute {
            ns: NsRef::Path("/proc/42/ns/net".into()),
            dest: None,
            via: Some("10.1.0.1".parse().unwrap()),
            dev: None,
        };
        assert_eq!(
            op.to_string(),
            "nsenter --net=/proc/42/ns/net ip route add default via 10.1.0.1"
        );
    }
}
