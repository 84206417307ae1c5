//! The ops that are one netlink request each (links up and down, addresses, routes): the
//! message each sends, and what the kernel's answer means for it.

use super::{CREATE, Conn, NlResult};
use super::{describe, errno_of, kernel_error, link_index};
use crate::error::Result;
use crate::model::family;
use crate::plan::{NsRef, Op};
use ipnetwork::IpNetwork;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{AddressHeaderFlags, AddressMessage};
use netlink_packet_route::link::{
    AfSpecInet6, AfSpecUnspec, In6AddrGenMode, InfoBridgePort, InfoPortData, InfoPortKind,
    LinkAttribute, LinkInfo,
};
use netlink_packet_route::route::{
    RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use rtnetlink::{AddressMessageBuilder, LinkUnspec, RouteMessageBuilder};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What an op of one request sends.
pub(super) enum Request {
    /// This message, with these flags on top of NLM_F_REQUEST | NLM_F_ACK.
    Send(RouteNetlinkMessage, u16),
    /// Nothing: what the op removes is gone already.
    Nothing,
}

/// An op that is one netlink request, with its fields.
pub enum OneRequest<'a> {
    LinkUp {
        dev: &'a String,
    },
    IsolatePort {
        dev: &'a String,
    },
    NoIpv6Autoconf {
        dev: &'a String,
    },
    DeleteLink {
        dev: &'a String,
    },
    AddAddress {
        dev: &'a String,
        addr: &'a IpNetwork,
    },
    DelAddress {
        dev: &'a String,
        addr: &'a IpNetwork,
    },
    AddRoute {
        dest: &'a Option<IpNetwork>,
        via: &'a Option<IpAddr>,
        dev: &'a Option<String>,
    },
    DelRoute {
        dest: &'a Option<IpNetwork>,
        via: &'a Option<IpAddr>,
        dev: &'a Option<String>,
    },
}

impl<'a> OneRequest<'a> {
    /// The request an op is, with the namespace it goes to; `None` for every other op.
    pub fn of(op: &'a Op) -> Option<(&'a NsRef, OneRequest<'a>)> {
        let r = match op {
            Op::LinkUp { ns, dev } => (ns, OneRequest::LinkUp { dev }),
            Op::IsolatePort { dev } => (&NsRef::Host, OneRequest::IsolatePort { dev }),
            Op::NoIpv6Autoconf { ns, dev } => (ns, OneRequest::NoIpv6Autoconf { dev }),
            Op::DeleteLink { ns, dev } => (ns, OneRequest::DeleteLink { dev }),
            Op::AddAddress { ns, dev, addr } => (ns, OneRequest::AddAddress { dev, addr }),
            Op::DelAddress { ns, dev, addr } => (ns, OneRequest::DelAddress { dev, addr }),
            Op::AddRoute { ns, dest, via, dev } => (ns, OneRequest::AddRoute { dest, via, dev }),
            Op::DelRoute { ns, dest, via, dev } => (ns, OneRequest::DelRoute { dest, via, dev }),
            Op::CreateNetns { .. }
            | Op::BindHostNetns { .. }
            | Op::AttachNetns { .. }
            | Op::DeleteNetns { .. }
            | Op::CreateBridge { .. }
            | Op::CreateVeth { .. }
            | Op::RetireVeth { .. }
            | Op::Sysctl { .. }
            | Op::DisableIpv6 { .. }
            | Op::CreateBase { .. }
            | Op::RemoveBase
            | Op::DropTable
            | Op::AddNetwork { .. }
            | Op::RemoveNetwork { .. }
            | Op::ReplaceTable { .. }
            | Op::AppendRule(_)
            | Op::DeleteRule(_)
            | Op::AppendRules(_)
            | Op::DeleteRules(_)
            | Op::PublishPorts(_)
            | Op::UnpublishPorts(_)
            | Op::AllowTunnel(_)
            | Op::DisallowTunnel(_)
            | Op::CreateVxlan { .. }
            | Op::AppendFdb { .. }
            | Op::DelFdb { .. }
            | Op::AddForward(_)
            | Op::DelForward(_)
            | Op::CreateSublink { .. }
            | Op::Record(_)
            | Op::File(_) => return None,
        };
        Some(r)
    }
}

/// The one request `op` is, with its link names looked up.
pub(super) fn request(c: &Conn, op: &Op, r: &OneRequest) -> Result<Request> {
    let err = |msg: String| kernel_error(op, msg);
    // The index of a link an op names. A missing link fails an op that adds, and leaves
    // nothing to do for one that removes (what it removes went with the link).
    let index = |dev: &str, removing: bool| match link_index(c, dev) {
        Ok(Some(i)) => Ok(i),
        Ok(None) if removing => Err(Ok(Request::Nothing)),
        Ok(None) => Err(Err(err(format!("no such link: {dev}")))),
        Err(e) => Err(Err(err(describe(&e)))),
    };
    let send = |msg, flags| Ok(Request::Send(msg, flags));
    match r {
        OneRequest::LinkUp { dev } => send(
            RouteNetlinkMessage::NewLink(LinkUnspec::new_with_name(dev).up().build()),
            0,
        ),
        // As `ip link set DEV type bridge_slave isolated on`: the port's attributes as the
        // slave data of a NEWLINK.
        OneRequest::IsolatePort { dev } => {
            let info = LinkAttribute::LinkInfo(vec![
                LinkInfo::PortKind(InfoPortKind::Bridge),
                LinkInfo::PortData(InfoPortData::BridgePort(vec![InfoBridgePort::Isolated(
                    true,
                )])),
            ]);
            let msg = LinkUnspec::new_with_name(dev)
                .append_extra_attribute(info)
                .build();
            send(RouteNetlinkMessage::NewLink(msg), 0)
        }
        OneRequest::NoIpv6Autoconf { dev } => {
            let spec = AfSpecUnspec::Inet6(vec![AfSpecInet6::AddrGenMode(In6AddrGenMode::None)]);
            let msg = LinkUnspec::new_with_name(dev)
                .append_extra_attribute(LinkAttribute::AfSpecUnspec(vec![spec]))
                .build();
            send(RouteNetlinkMessage::SetLink(msg), 0)
        }
        // In the host's namespace only what carries cnet's mark goes, whatever the state
        // files name: the host's own interfaces live there.
        OneRequest::DeleteLink { dev }
            if matches!(
                op,
                Op::DeleteLink {
                    ns: NsRef::Host,
                    ..
                }
            ) =>
        {
            match super::owned_link(c, dev) {
                Ok(None) => Ok(Request::Nothing),
                Ok(Some((_, false))) => {
                    super::warn_unmarked(dev);
                    Ok(Request::Nothing)
                }
                Ok(Some((_, true))) => send(
                    RouteNetlinkMessage::DelLink(LinkUnspec::new_with_name(dev).build()),
                    0,
                ),
                Err(e) => Err(err(describe(&e))),
            }
        }
        OneRequest::DeleteLink { dev } => send(
            RouteNetlinkMessage::DelLink(LinkUnspec::new_with_name(dev).build()),
            0,
        ),
        OneRequest::AddAddress { dev, addr } | OneRequest::DelAddress { dev, addr } => {
            let adding = matches!(r, OneRequest::AddAddress { .. });
            let idx = match index(dev, !adding) {
                Ok(i) => i,
                Err(answer) => return answer,
            };
            let msg = address_message(idx, addr);
            if adding {
                send(RouteNetlinkMessage::NewAddress(msg), CREATE)
            } else {
                send(RouteNetlinkMessage::DelAddress(msg), 0)
            }
        }
        OneRequest::AddRoute { dest, via, dev } | OneRequest::DelRoute { dest, via, dev } => {
            let adding = matches!(r, OneRequest::AddRoute { .. });
            let oif = match dev.as_deref().map(|d| index(d, !adding)).transpose() {
                Ok(i) => i,
                Err(answer) => return answer,
            };
            let msg = route_message(adding, dest, via, oif).map_err(|e| err(e.to_string()))?;
            if adding {
                send(RouteNetlinkMessage::NewRoute(msg), CREATE)
            } else {
                send(RouteNetlinkMessage::DelRoute(msg), 0)
            }
        }
    }
}

/// What the kernel's answer to an op's one request means for the op.
pub(super) fn outcome(op: &Op, r: &OneRequest, answer: NlResult<()>) -> Result<()> {
    let Err(e) = answer else {
        return Ok(());
    };
    let err = |msg: String| Err(kernel_error(op, msg));
    let errno = errno_of(&e);
    match (r, errno) {
        (OneRequest::LinkUp { dev }, Some(libc::ENODEV)) => err(format!("no such link: {dev}")),
        // A kernel without IPv6 has nothing to configure.
        (OneRequest::NoIpv6Autoconf { .. }, Some(libc::EAFNOSUPPORT)) => Ok(()),
        (OneRequest::NoIpv6Autoconf { dev }, Some(libc::ENODEV)) => {
            err(format!("no such link: {dev}"))
        }
        (OneRequest::DeleteLink { .. }, Some(libc::ENODEV)) => Ok(()),
        (OneRequest::AddAddress { dev, addr }, Some(libc::EEXIST)) => {
            err(format!("address {addr} is already on {dev}"))
        }
        (OneRequest::DelAddress { .. }, Some(libc::EADDRNOTAVAIL | libc::ENODEV | libc::ESRCH)) => {
            Ok(())
        }
        (OneRequest::AddRoute { .. }, Some(libc::EEXIST)) => {
            err("the route already exists (File exists)".into())
        }
        (OneRequest::AddRoute { via: Some(gw), .. }, Some(libc::ENETUNREACH)) => err(format!(
            "gateway {gw} is not on a directly connected network (Network is unreachable)"
        )),
        (OneRequest::DelRoute { .. }, Some(libc::ESRCH | libc::ENODEV)) => Ok(()),
        _ => err(describe(&e)),
    }
}

/// Send the one request of `op` on a connection in its namespace and wait for the answer.
pub(super) fn send_one(c: &Conn, op: &Op, r: &OneRequest) -> Result<()> {
    match request(c, op, r)? {
        Request::Send(msg, flags) => outcome(op, r, c.ack(msg, flags)),
        Request::Nothing => Ok(()),
    }
}

/// The address message of the address's family. An IPv6 address goes without duplicate
/// address detection (IFA_F_NODAD): cnet leased it, so nobody else has it, and it is usable at
/// once instead of after the second or so DAD takes.
pub(super) fn address_message(idx: u32, addr: &IpNetwork) -> AddressMessage {
    match addr.ip() {
        IpAddr::V4(ip) => AddressMessageBuilder::<Ipv4Addr>::new()
            .index(idx)
            .address(ip, addr.prefix())
            .build(),
        IpAddr::V6(ip) => {
            let mut m = AddressMessageBuilder::<Ipv6Addr>::new()
                .index(idx)
                .address(ip, addr.prefix())
                .build();
            m.header.flags = AddressHeaderFlags::Nodad;
            m
        }
    }
}

/// A route's message, of the family of its destination (a v6 default route is `::/0`) or
/// else of its gateway; a route with neither is IPv4's.
pub(super) fn route_message(
    add: bool,
    dest: &Option<IpNetwork>,
    via: &Option<IpAddr>,
    oif: Option<u32>,
) -> Result<RouteMessage> {
    let v6 = match (dest, via) {
        (Some(d), _) => d.is_ipv6(),
        (None, Some(v)) => v.is_ipv6(),
        (None, None) => false,
    };
    if via.is_some_and(|v| v.is_ipv6() != v6) {
        return Err(crate::error::Error::runtime(
            "a route's gateway and destination are of two families",
        ));
    }
    let mut msg = if v6 {
        let mut b = RouteMessageBuilder::<Ipv6Addr>::new();
        if let Some(IpNetwork::V6(d)) = dest {
            b = b.destination_prefix(d.network(), d.prefix());
        }
        if let Some(IpAddr::V6(gw)) = via {
            b = b.gateway(*gw);
        }
        b.build()
    } else {
        let dest = dest.map(family::v4_net).transpose()?;
        let mut b = RouteMessageBuilder::<Ipv4Addr>::new();
        if let Some(d) = dest {
            b = b.destination_prefix(d.network(), d.prefix());
        }
        if let Some(IpAddr::V4(gw)) = via {
            b = b.gateway(*gw);
        }
        b.build()
    };
    if let Some(i) = oif {
        msg.attributes.push(RouteAttribute::Oif(i));
    }
    let h = &mut msg.header;
    if add {
        // Like iproute2: an IPv4 route with no gateway is on-link; IPv6 routes are universe.
        if via.is_none() && !v6 {
            h.scope = RouteScope::Link;
        }
        h.protocol = RouteProtocol::Boot;
    } else {
        // Like `ip route del`: match whatever protocol, scope and type the route has.
        h.protocol = RouteProtocol::Unspec;
        h.scope = RouteScope::NoWhere;
        h.kind = RouteType::Unspec;
    }
    Ok(msg)
}
