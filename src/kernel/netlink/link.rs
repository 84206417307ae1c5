//! Creating bridges and veth pairs from the host's namespace.

use super::marks::{cnet_group, link_mark};
use super::*;

/// One queue pair, in cnet's link group (its mark from the request that creates the link).
fn one_queue<T>(b: LinkMessageBuilder<T>) -> LinkMessageBuilder<T> {
    b.append_extra_attribute(LinkAttribute::NumTxQueues(1))
        .append_extra_attribute(LinkAttribute::NumRxQueues(1))
        .append_extra_attribute(cnet_group())
}

/// A link the host namespace's connection creates, with the fields of its op.
pub enum NewLink<'a> {
    Bridge {
        name: &'a String,
        mac: &'a [u8; 6],
        mtu: &'a Option<u32>,
    },
    Veth {
        host: &'a String,
        peer: &'a String,
        peer_ns: &'a NsRef,
        mtu: &'a Option<u32>,
        peer_mac: &'a Option<[u8; 6]>,
        master: &'a Option<String>,
    },
}

/// Create a link on a connection in the host namespace; errors name `op`'s command.
pub fn create_link(c: &Conn, op: &Op, link: NewLink) -> Result<()> {
    let err = |msg: String| kernel_error(op, msg);
    match link {
        NewLink::Bridge { name, mac, mtu } => {
            // Without multicast snooping: with it, every port joining or leaving re-arms query
            // timers on every port (a cost that grows with the network), and with no querier on
            // the bridge most multicast is flooded anyway.
            let mtu = mtu.unwrap_or(DEFAULT_MTU);
            let b = LinkBridge::new(name)
                .address(mac.to_vec())
                .mtu(crate::plan::provisional_bridge_mtu(mtu))
                .mcast_snooping(false)
                .append_extra_attribute(cnet_group());
            c.ack(RouteNetlinkMessage::NewLink(b.build()), CREATE)
                .map_err(|e| {
                    err(create_link_message(
                        "bridge",
                        name,
                        errno_of(&e),
                        &describe(&e),
                    ))
                })?;
            // Changed after creation, the MTU counts as chosen by the user: the bridge then
            // keeps it instead of recomputing it from every port each time one joins (a cost
            // that grows, and a drop whenever a smaller port joins).
            // The same request marks it as cnet's.
            let set = LinkUnspec::new_with_name(name)
                .mtu(mtu)
                .append_extra_attribute(LinkAttribute::IfAlias(link_mark()));
            c.ack(RouteNetlinkMessage::NewLink(set.build()), 0)
                .map_err(|e| err(format!("setting mtu {mtu} on {name}: {}", describe(&e))))
        }
        NewLink::Veth {
            host,
            peer,
            peer_ns,
            mtu,
            peer_mac,
            master,
        } => {
            let master_index = match master {
                None => None,
                Some(m) => match link_index(c, m) {
                    Ok(Some(i)) => Some(i),
                    Ok(None) => return Err(err(format!("master {m}: no such link"))),
                    Err(e) => return Err(err(format!("master {m}: {}", describe(&e)))),
                },
            };
            // Kept open until the request has completed.
            let ns_file = match peer_ns.path() {
                None => None,
                Some(p) => Some(open_ns(&p).map_err(|e| err(e.to_string()))?),
            };
            let mut pb = one_queue(LinkMessageBuilder::<LinkUnspec>::new().name(peer.clone()));
            if let Some(f) = &ns_file {
                pb = pb.setns_by_fd(f.as_raw_fd());
            }
            if let Some(m) = mtu {
                pb = pb.mtu(*m);
            }
            if let Some(mac) = peer_mac {
                pb = pb.address(mac.to_vec());
            }
            let mut b = one_queue(LinkMessageBuilder::<LinkVeth>::new_with_info_kind(
                InfoKind::Veth,
            ))
            .name(host.clone())
            .set_info_data(InfoData::Veth(InfoVeth::Peer(pb.build())));
            if let Some(m) = mtu {
                b = b.mtu(*m);
            }
            if let Some(i) = master_index {
                b = b.controller(i);
            }
            let res = c.ack(RouteNetlinkMessage::NewLink(b.build()), CREATE);
            drop(ns_file);
            match res {
                // The kernel ignores an alias in a create request: it is set right after (the
                // group, set with the link, marks it meanwhile).
                Ok(()) => {
                    mark_link(c, host).map_err(|e| err(format!("marking {host}: {}", describe(&e))))
                }
                Err(e) if errno_of(&e) == Some(libc::EEXIST) => {
                    // Say which end clashed.
                    let host_exists = matches!(link_index(c, host), Ok(Some(_)));
                    if host_exists || matches!(peer_ns, NsRef::Host) {
                        let name = if host_exists { host } else { peer };
                        Err(err(format!("link {name} already exists")))
                    } else {
                        Err(err(format!(
                            "link {peer} already exists in namespace {}",
                            ns_label(peer_ns)
                        )))
                    }
                }
                // The bridge's port numbers are 10 bits: port 1024 cannot be.
                Err(e) if errno_of(&e) == Some(libc::EXFULL) && master.is_some() => {
                    Err(err(format!(
                        "bridge {} is full: a Linux bridge takes at most 1023 ports \
                         (spread the namespaces over several networks)",
                        master.as_deref().unwrap_or_default()
                    )))
                }
                Err(e) => Err(err(create_link_message(
                    "veth",
                    host,
                    errno_of(&e),
                    &describe(&e),
                ))),
            }
        }
    }
}

fn ns_label(ns: &NsRef) -> String {
    match ns {
        NsRef::Host => "host".into(),
        NsRef::Named(n) => n.clone(),
        NsRef::Path(p) => p.display().to_string(),
    }
}
