//! macvlan and ipvlan children through rtnetlink.
//!
//! A child is created with one RTM_NEWLINK sent in the parent's namespace (the host's): the
//! parent by index (`IFLA_LINK`) and the target namespace by file descriptor
//! (`IFLA_NET_NS_FD`), so the kernel makes the child directly inside the target; its name only
//! has to be free there. It is created under a unique temporary name and renamed inside the
//! target to its final `ethN`; if the rename fails, the child is deleted again.
//!
//! Whether the kernel has a link kind at all is asked once, with a request that can never
//! create anything: an RTM_NEWLINK of that kind without a parent. A kernel without the kind
//! answers EOPNOTSUPP ("Unknown device type"); one with it refuses the missing parent (EINVAL).

use super::netlink::{
    CREATE, Conn, Session, create_link_message, describe, errno_of, errno_text, get_link,
    link_index, open_ns,
};
use crate::error::{Error, Result};
use crate::model::{IpvlanMode, MacvlanMode, SublinkKind};
use crate::plan::{NsRef, Op};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{
    InfoData, InfoIpVlan, InfoKind, InfoMacVlan, IpVlanMode, LinkAttribute, LinkFlags,
    LinkLayerType, LinkMessage, MacVlanMode,
};
use rtnetlink::{LinkMessageBuilder, LinkUnspec};
use std::os::fd::{AsRawFd, RawFd};

pub use crate::model::ParentInfo;

/// What a link is like as a parent.
fn parent_of(m: &LinkMessage) -> ParentInfo {
    ParentInfo {
        index: m.header.index,
        up: m.header.flags.contains(LinkFlags::Up),
        mtu: m.attributes.iter().find_map(|a| match a {
            LinkAttribute::Mtu(v) => Some(*v),
            _ => None,
        }),
        ethernet: m.header.link_layer_type == LinkLayerType::Ether
            && !m.header.flags.contains(LinkFlags::Loopback),
    }
}

/// A link of the host namespace (the one cnet runs in), as a parent; `None` if there is none.
pub fn parent_info(name: &str) -> Result<Option<ParentInfo>> {
    Session::new().run(&NsRef::Host, |c| {
        get_link(c, name)
            .map(|m| m.as_ref().map(parent_of))
            .map_err(|e| Error::runtime(format!("ip link show {name}: {}", describe(&e))))
    })
}

fn macvlan_mode(m: MacvlanMode) -> MacVlanMode {
    match m {
        MacvlanMode::Bridge => MacVlanMode::Bridge,
        MacvlanMode::Private => MacVlanMode::Private,
        MacvlanMode::Vepa => MacVlanMode::Vepa,
        MacvlanMode::Passthru => MacVlanMode::Passthrough,
    }
}

fn ipvlan_mode(m: IpvlanMode) -> IpVlanMode {
    match m {
        IpvlanMode::L2 => IpVlanMode::L2,
        IpvlanMode::L3 => IpVlanMode::L3,
        IpvlanMode::L3s => IpVlanMode::L3S,
    }
}

fn info_kind(kind: SublinkKind) -> InfoKind {
    match kind {
        SublinkKind::Macvlan(_) => InfoKind::MacVlan,
        SublinkKind::Ipvlan(_) => InfoKind::IpVlan,
    }
}

/// The RTM_NEWLINK message of a child: kind and mode, parent index, name, target namespace,
/// MTU and MAC when given. Left down.
pub fn child_message(
    kind: SublinkKind,
    parent_index: u32,
    name: &str,
    ns_fd: Option<RawFd>,
    mtu: Option<u32>,
    mac: Option<[u8; 6]>,
) -> LinkMessage {
    let data = match kind {
        SublinkKind::Macvlan(m) => InfoData::MacVlan(vec![InfoMacVlan::Mode(macvlan_mode(m))]),
        SublinkKind::Ipvlan(m) => InfoData::IpVlan(vec![InfoIpVlan::Mode(ipvlan_mode(m))]),
    };
    let mut b = LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(info_kind(kind))
        .name(name)
        .link(parent_index)
        .set_info_data(data)
        .append_extra_attribute(super::netlink::cnet_group());
    if let Some(fd) = ns_fd {
        b = b.setns_by_fd(fd);
    }
    if let Some(m) = mtu {
        b = b.mtu(m);
    }
    if let Some(mac) = mac {
        b = b.address(mac.to_vec());
    }
    b.build()
}

/// The probe: a link of the kind, without a parent. Never creates anything on a kernel that
/// has the kind (the parent is mandatory), and fails with EOPNOTSUPP on one that does not.
pub fn probe_message(kind: SublinkKind, name: &str) -> LinkMessage {
    LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(info_kind(kind))
        .name(name)
        .build()
}

/// Whether the kernel supports this kind of link, asked once. Without support, the error is
/// "this kernel has no ipvlan support (CONFIG_IPVLAN)" (a runtime error: exit status 1).
pub fn probe(kind: SublinkKind) -> Result<()> {
    let name = format!(
        "cnp{:08x}",
        crate::names::stable_hash(&[
            &std::process::id().to_string(),
            &format!("{:?}", std::time::SystemTime::now())
        ]) as u32
    );
    let msg = probe_message(kind, &name);
    let k = kind.kind_name();
    Session::new().run(&NsRef::Host, |c| {
        match c.ack(RouteNetlinkMessage::NewLink(msg), CREATE) {
            // Cannot happen (no parent); should a kernel ever accept it, take it back.
            Ok(()) => {
                let del = LinkUnspec::new_with_name(&name).build();
                let _ = c.ack(RouteNetlinkMessage::DelLink(del), 0);
                Ok(())
            }
            Err(e) => match errno_of(&e) {
                Some(n @ (libc::EOPNOTSUPP | libc::EPERM)) => {
                    Err(Error::Runtime(create_link_message(k, &name, Some(n), "")))
                }
                // EINVAL (no parent) and the like: the kernel knows the kind.
                _ => Ok(()),
            },
        }
    })
}

fn ns_label(ns: &NsRef) -> String {
    match ns {
        NsRef::Host => "host".into(),
        NsRef::Named(n) => n.clone(),
        NsRef::Path(p) => p.display().to_string(),
    }
}

/// `Error::Kernel` naming line `i` of the op's equivalent commands.
fn kernel_error_line(op: &Op, i: usize, msg: impl Into<String>) -> Error {
    let text = op.to_string();
    Error::Kernel {
        op: text.lines().nth(i).unwrap_or_default().to_string(),
        msg: msg.into(),
    }
}

/// A child to create: what `Op::CreateSublink` says, with the name it is created under.
pub struct Child {
    pub kind: SublinkKind,
    pub parent: String,
    pub first: String,
    pub ns: NsRef,
    pub mtu: Option<u32>,
    pub mac: Option<[u8; 6]>,
}

fn create_in_host(
    c: &Conn,
    child: Child,
    ns_file: Option<std::fs::File>,
) -> std::result::Result<(), String> {
    let Child {
        kind,
        parent,
        first,
        ns,
        mtu,
        mac,
    } = child;
    let p = match get_link(c, &parent) {
        Ok(Some(m)) => parent_of(&m),
        Ok(None) => return Err(format!("parent interface {parent} does not exist")),
        Err(e) => return Err(format!("parent interface {parent}: {}", describe(&e))),
    };
    if !p.up {
        return Err(format!(
            "parent interface {parent} is down (bring it up: ip link set {parent} up)"
        ));
    }
    let msg = child_message(
        kind,
        p.index,
        &first,
        ns_file.as_ref().map(|f| f.as_raw_fd()),
        mtu,
        mac,
    );
    let res = c.ack(RouteNetlinkMessage::NewLink(msg), CREATE);
    // The namespace file stays open until the kernel has answered.
    drop(ns_file);
    let Err(e) = res else { return Ok(()) };
    let k = kind.kind_name();
    Err(match errno_of(&e) {
        Some(libc::EEXIST) if ns != NsRef::Host => {
            format!("link {first} already exists in namespace {}", ns_label(&ns))
        }
        Some(libc::EBUSY) => format!(
            "parent interface {parent} cannot take this {k} link: it already carries links of \
             another kind, or a passthru macvlan ({})",
            errno_text(libc::EBUSY)
        ),
        Some(libc::EINVAL) if !p.ethernet => format!(
            "parent interface {parent} cannot carry {k} links: it is not an Ethernet interface"
        ),
        Some(libc::EINVAL) if mtu.is_some_and(|m| p.mtu.is_some_and(|pm| m > pm)) => format!(
            "mtu {} is larger than the mtu of parent interface {parent} ({})",
            mtu.unwrap_or_default(),
            p.mtu.unwrap_or_default()
        ),
        n => create_link_message(k, &first, n, &describe(&e)),
    })
}

fn rename_in_ns(c: &Conn, from: &str, to: &str) -> std::result::Result<(), String> {
    let idx = match link_index(c, from) {
        Ok(Some(i)) => i,
        Ok(None) => return Err(format!("no such link: {from}")),
        Err(e) => return Err(describe(&e)),
    };
    let res = c.ack(
        RouteNetlinkMessage::SetLink(LinkUnspec::new_with_index(idx).name(to).build()),
        0,
    );
    let Err(e) = res else { return Ok(()) };
    // Take the child back before reporting.
    let del = LinkUnspec::new_with_index(idx).build();
    let _ = c.ack(RouteNetlinkMessage::DelLink(del), 0);
    Err(match errno_of(&e) {
        Some(libc::EEXIST) => format!("link {to} already exists"),
        _ => describe(&e),
    })
}

/// Carry out `op` (an `Op::CreateSublink`): create the child from the host, then, when it was
/// created under a temporary name, rename it inside its namespace (`rename`: from, to).
pub fn create(s: &mut Session, op: &Op, child: Child, rename: Option<(&str, &str)>) -> Result<()> {
    let ns_file = match child.ns.path() {
        None => None,
        Some(p) => Some(open_ns(&p).map_err(|e| kernel_error_line(op, 0, e.to_string()))?),
    };
    let ns = child.ns.clone();
    let created = child.first.clone();
    s.run(&NsRef::Host, |c| {
        create_in_host(c, child, ns_file).map_err(Error::Runtime)
    })
    .map_err(|e| match e {
        Error::Runtime(msg) => kernel_error_line(op, 0, msg),
        e => e,
    })?;
    if ns == NsRef::Host {
        // Only the host's links need the mark: deletion checks it there.
        s.run(&NsRef::Host, |c| {
            super::netlink::mark_link(c, &created)
                .map_err(|e| Error::runtime(super::netlink::describe(&e)))
        })
        .map_err(|e| match e {
            Error::Runtime(msg) => kernel_error_line(op, 0, msg),
            e => e,
        })?;
    }
    let Some((temp, name)) = rename else {
        return Ok(());
    };
    s.run(&ns, |c| rename_in_ns(c, temp, name).map_err(Error::Runtime))
        .map_err(|e| match e {
            Error::Runtime(msg) => kernel_error_line(op, 1, msg),
            e => e,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::{Emitable, Parseable};
    use netlink_packet_route::link::LinkInfo;

    /// The message as the kernel receives it, parsed back.
    fn wire_roundtrip(m: &LinkMessage) -> (Vec<u8>, LinkMessage) {
        let mut buf = vec![0u8; m.buffer_len()];
        m.emit(&mut buf);
        let back = LinkMessage::parse(&buf[..]).expect("parses");
        (buf, back)
    }

    fn link_info(m: &LinkMessage) -> Vec<LinkInfo> {
        m.attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::LinkInfo(i) => Some(i.clone()),
                _ => None,
            })
            .expect("IFLA_LINKINFO")
    }

    /// Whether `needle` occurs in `hay`.
    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    /// A netlink attribute as bytes: length (header included), type, value (unpadded).
    fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut v = ((4 + value.len()) as u16).to_ne_bytes().to_vec();
        v.extend(kind.to_ne_bytes());
        v.extend(value);
        v
    }

    #[test]
    fn ipvlan_child_message_has_kind_mode_parent_name_namespace_and_mtu() {
        let m = child_message(
            SublinkKind::Ipvlan(IpvlanMode::L3s),
            7,
            "cnt0000abcd",
            Some(42),
            Some(1400),
            None,
        );
        let (buf, back) = wire_roundtrip(&m);
        assert_eq!(back, m);
        for a in [
            LinkAttribute::IfName("cnt0000abcd".into()),
            LinkAttribute::Link(7),
            LinkAttribute::NetNsFd(42),
            LinkAttribute::Mtu(1400),
        ] {
            assert!(back.attributes.contains(&a), "{a:?} missing: {back:?}");
        }
        assert!(
            !back
                .attributes
                .iter()
                .any(|a| matches!(a, LinkAttribute::Address(_)))
        );
        assert_eq!(
            link_info(&back),
            vec![
                LinkInfo::Kind(InfoKind::IpVlan),
                LinkInfo::Data(InfoData::IpVlan(vec![InfoIpVlan::Mode(IpVlanMode::L3S)])),
            ]
        );
        // The bytes themselves: IFLA_LINK (5) = 7, IFLA_NET_NS_FD (28) = 42, IFLA_INFO_KIND
        // (1) = "ipvlan\0", IFLA_IPVLAN_MODE (1) = IPVLAN_MODE_L3S (2), a u16.
        assert!(contains(&buf, &nla(5, &7u32.to_ne_bytes())));
        assert!(contains(&buf, &nla(28, &42u32.to_ne_bytes())));
        assert!(contains(&buf, &nla(1, b"ipvlan\0")));
        assert!(contains(&buf, &nla(1, &2u16.to_ne_bytes())));
        // Created down: nothing asks for IFF_UP.
        assert!(!back.header.change_mask.contains(LinkFlags::Up));
    }

    #[test]
    fn ipvlan_modes_map_to_the_kernel_values() {
        for (mode, value) in [
            (IpvlanMode::L2, 0u16),
            (IpvlanMode::L3, 1),
            (IpvlanMode::L3s, 2),
        ] {
            let m = child_message(SublinkKind::Ipvlan(mode), 3, "x", None, None, None);
            let (buf, _) = wire_roundtrip(&m);
            assert!(contains(&buf, &nla(1, &value.to_ne_bytes())), "{mode}");
            assert!(
                !m.attributes
                    .iter()
                    .any(|a| matches!(a, LinkAttribute::NetNsFd(_)))
            );
        }
    }

    #[test]
    fn macvlan_child_message_has_mode_and_mac() {
        let mac = [2, 0x42, 192, 168, 50, 2];
        let m = child_message(
            SublinkKind::Macvlan(MacvlanMode::Private),
            9,
            "cnt1",
            Some(5),
            None,
            Some(mac),
        );
        let (buf, back) = wire_roundtrip(&m);
        assert!(
            back.attributes
                .contains(&LinkAttribute::Address(mac.to_vec()))
        );
        assert!(
            !back
                .attributes
                .iter()
                .any(|a| matches!(a, LinkAttribute::Mtu(_)))
        );
        assert_eq!(
            link_info(&back),
            vec![
                LinkInfo::Kind(InfoKind::MacVlan),
                LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
                    MacVlanMode::Private
                )])),
            ]
        );
        assert!(contains(&buf, &nla(1, b"macvlan\0")));
        // IFLA_MACVLAN_MODE (1) = MACVLAN_MODE_PRIVATE (1), a u32.
        assert!(contains(&buf, &nla(1, &1u32.to_ne_bytes())));
        for (mode, value) in [
            (MacvlanMode::Vepa, 2u32),
            (MacvlanMode::Bridge, 4),
            (MacvlanMode::Passthru, 8),
        ] {
            let m = child_message(SublinkKind::Macvlan(mode), 3, "x", None, None, None);
            let (buf, _) = wire_roundtrip(&m);
            assert!(contains(&buf, &nla(1, &value.to_ne_bytes())), "{mode}");
        }
    }

    #[test]
    fn probe_message_names_the_kind_and_no_parent() {
        let m = probe_message(SublinkKind::Ipvlan(IpvlanMode::L2), "cnp1");
        let (buf, back) = wire_roundtrip(&m);
        assert!(contains(&buf, &nla(1, b"ipvlan\0")));
        assert!(
            !back
                .attributes
                .iter()
                .any(|a| matches!(a, LinkAttribute::Link(_) | LinkAttribute::NetNsFd(_)))
        );
        assert_eq!(link_info(&back), vec![LinkInfo::Kind(InfoKind::IpVlan)]);
    }

    #[test]
    fn a_missing_kind_is_named_with_its_config_option() {
        assert_eq!(
            create_link_message("ipvlan", "cnp1", Some(libc::EOPNOTSUPP), ""),
            "this kernel has no ipvlan support (CONFIG_IPVLAN)"
        );
    }
}
