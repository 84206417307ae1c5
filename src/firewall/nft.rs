//! The nftables table of published ports (`published` has the layout), spoken over
//! NETLINK_NETFILTER from this process: an attach or detach with ports is one transaction of
//! a few hundred bytes, with no `nft`/`iptables` process and no listing of what is there.

use super::published::{MAP_ANY, MAP_IP, PortEntry, TABLE};
use crate::error::{Error, Result};
use crate::kernel::reclaim;
use netlink_packet_core::{
    DefaultNla, Emitable, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NetlinkBuffer,
    NetlinkMessage,
};
use netlink_packet_netfilter::nftables::ChainMessage;
use netlink_packet_netfilter::nftables::{
    ChainAttribute, Cmp, DataAttribute, ExpressionAttribute, Expressions, Hook, HookNumber,
    InetHookNumber, ListAttribute, Lookup, Meta, MetaKey, NfTablesMessage, Operator, Payload,
    Register, RuleAttribute, RuleMessage, SetAttribute, SetElementAttribute, SetElementList,
    SetElementMessage, SetFlags, SetMessage, TableAttribute, TableMessage,
};
use netlink_packet_netfilter::none::ControlMessage;
use netlink_packet_netfilter::{NetfilterHeader, NetfilterMessage, NetfilterProtoFamily};
use netlink_sys::{Socket, protocols::NETLINK_NETFILTER};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const NFNL_SUBSYS_NFTABLES: u16 = 10;
/// `NFT_MSG_NEWTABLE` as a reply's nlmsg_type (subsystem << 8 | message).
const NEWTABLE_REPLY: u16 = NFNL_SUBSYS_NFTABLES << 8;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;

/// nft data types, for `nft list` only (the kernel does not read them): concatenations are
/// the members' ids, 6 bits each.
const TYPE_IPV4_ADDR: u32 = 7;
const TYPE_INET_PROTO: u32 = 12;
const TYPE_INET_SERVICE: u32 = 13;
const fn concat(a: u32, b: u32) -> u32 {
    (a << 6) | b
}

/// What nft 1.0.6 attaches to a `type …` map (byte orders, merge hint), read only by nft when
/// it prints the map.
const SET_USERDATA: [u8; 38] = [
    0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x03, 0x08, 0x00, 0x04,
    0x0d, 0x00, 0x00, 0x00, 0x01, 0x00, 0x04, 0x08, 0x00, 0x04, 0x0d, 0x00, 0x00, 0x00, 0x01, 0x00,
    0x06, 0x04, 0x00, 0x00, 0x00, 0x00,
];

/// Transaction ids of the two maps inside the batch that creates them (rules refer to them).
const SET_ID_ANY: u32 = 1;
const SET_ID_IP: u32 = 2;

fn be32(v: u32) -> Vec<u8> {
    v.to_be_bytes().to_vec()
}

fn other_expr(name: &str, attrs: &[(u16, u32)]) -> ListAttribute<ExpressionAttribute> {
    Expressions::Other {
        expression_type: name.into(),
        attributes: attrs
            .iter()
            .map(|(k, v)| DefaultNla::new(*k, be32(*v)))
            .collect(),
    }
    .into()
}

/// `fib daddr type local`: the packet is for one of this host's addresses.
fn is_local_destination() -> [ListAttribute<ExpressionAttribute>; 2] {
    const NFTA_FIB_DREG: u16 = 1;
    const NFTA_FIB_RESULT: u16 = 2;
    const NFTA_FIB_FLAGS: u16 = 3;
    const NFT_FIB_RESULT_ADDRTYPE: u32 = 3;
    const NFTA_FIB_F_DADDR: u32 = 1 << 1;
    const RTN_LOCAL: u32 = 2;
    [
        other_expr(
            "fib",
            &[
                (NFTA_FIB_DREG, u32::from(Register::Reg1)),
                (NFTA_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE),
                (NFTA_FIB_FLAGS, NFTA_FIB_F_DADDR),
            ],
        ),
        Expressions::Cmp(vec![
            Cmp::SourceRegister(Register::Reg1),
            Cmp::Op(Operator::Equal),
            // The fib expression stores the route type in host byte order.
            Cmp::Data(DataAttribute::Value(RTN_LOCAL.to_ne_bytes().to_vec())),
        ])
        .into(),
    ]
}

fn payload(base: u32, offset: u32, len: u32, dreg: Register) -> ListAttribute<ExpressionAttribute> {
    Expressions::Payload(vec![
        Payload::DestinationRegister(dreg),
        Payload::Base(base),
        Payload::Offset(offset),
        Payload::Len(len),
    ])
    .into()
}

/// `[ip daddr .] meta l4proto . th dport` into registers 1.., then the lookup, then
/// `dnat ip to` what the map gives (address in register 1, port in the next 32-bit one).
fn dnat_by_map(with_address: bool) -> Vec<ListAttribute<ExpressionAttribute>> {
    const NETWORK_HEADER: u32 = 1;
    const TRANSPORT_HEADER: u32 = 2;
    const NFTA_NAT_TYPE: u16 = 1;
    const NFTA_NAT_FAMILY: u16 = 2;
    const NFTA_NAT_REG_ADDR_MIN: u16 = 3;
    const NFTA_NAT_REG_PROTO_MIN: u16 = 5;
    const NFT_NAT_DNAT: u32 = 1;
    let mut e: Vec<ListAttribute<ExpressionAttribute>> = is_local_destination().into();
    let (proto_reg, port_reg) = if with_address {
        e.push(payload(NETWORK_HEADER, 16, 4, Register::Reg1));
        (Register::Reg32_01, Register::Reg32_02)
    } else {
        (Register::Reg1, Register::Reg32_01)
    };
    e.push(
        Expressions::Meta(vec![
            Meta::Key(MetaKey::L4Proto),
            Meta::DestinationRegister(proto_reg),
        ])
        .into(),
    );
    e.push(payload(TRANSPORT_HEADER, 2, 2, port_reg));
    let (set, id) = if with_address {
        (MAP_IP, SET_ID_IP)
    } else {
        (MAP_ANY, SET_ID_ANY)
    };
    e.push(
        Expressions::Lookup(vec![
            Lookup::SourceRegister(Register::Reg1),
            Lookup::Set(set.into()),
            Lookup::SetId(id),
            Lookup::DestinationRegister(Register::Reg1),
        ])
        .into(),
    );
    e.push(other_expr(
        "nat",
        &[
            (NFTA_NAT_TYPE, NFT_NAT_DNAT),
            (NFTA_NAT_FAMILY, libc::NFPROTO_IPV4 as u32),
            (NFTA_NAT_REG_ADDR_MIN, u32::from(Register::Reg1)),
            (NFTA_NAT_REG_PROTO_MIN, u32::from(Register::Reg32_01)),
        ],
    ));
    e
}

type Request = (NfTablesMessage, u16);

fn new_map(name: &str, id: u32, with_address: bool) -> Request {
    let (key_type, key_len) = if with_address {
        (
            concat(concat(TYPE_IPV4_ADDR, TYPE_INET_PROTO), TYPE_INET_SERVICE),
            12,
        )
    } else {
        (concat(TYPE_INET_PROTO, TYPE_INET_SERVICE), 8)
    };
    (
        NfTablesMessage::NewSet(SetMessage {
            attributes: vec![
                SetAttribute::Table(TABLE.into()),
                SetAttribute::Name(name.into()),
                SetAttribute::Flags(SetFlags::Map),
                SetAttribute::KeyType(key_type),
                SetAttribute::KeyLen(key_len),
                SetAttribute::DataType(concat(TYPE_IPV4_ADDR, TYPE_INET_SERVICE)),
                SetAttribute::DataLen(8),
                SetAttribute::Id(id),
                SetAttribute::UserData(SET_USERDATA.to_vec()),
            ],
        }),
        NLM_F_CREATE,
    )
}

fn new_nat_chain(name: &str, hook: InetHookNumber) -> Request {
    const NF_IP_PRI_NAT_DST: i32 = -100;
    (
        NfTablesMessage::NewChain(ChainMessage {
            attributes: vec![
                ChainAttribute::Table(TABLE.into()),
                ChainAttribute::Name(name.into()),
                ChainAttribute::Hook(vec![
                    Hook::Number(HookNumber::Inet(hook)),
                    Hook::Priority(NF_IP_PRI_NAT_DST as u32),
                ]),
                ChainAttribute::Type("nat".into()),
            ],
        }),
        NLM_F_CREATE,
    )
}

fn new_rule(chain: &str, exprs: Vec<ListAttribute<ExpressionAttribute>>) -> Request {
    (
        NfTablesMessage::NewRule(RuleMessage {
            attributes: vec![
                RuleAttribute::Table(TABLE.into()),
                RuleAttribute::Chain(chain.into()),
                RuleAttribute::Expressions(exprs),
            ],
        }),
        NLM_F_CREATE | netlink_packet_core::NLM_F_APPEND,
    )
}

/// The whole table, empty maps included, as one transaction's messages. NLM_F_EXCL on the
/// table: a table already there fails the batch rather than getting its rules twice.
pub fn create_table() -> Vec<Request> {
    let mut out = vec![(
        NfTablesMessage::NewTable(TableMessage {
            attributes: vec![TableAttribute::Name(TABLE.into())],
        }),
        NLM_F_CREATE | NLM_F_EXCL,
    )];
    out.push(new_map(MAP_ANY, SET_ID_ANY, false));
    out.push(new_map(MAP_IP, SET_ID_IP, true));
    for (chain, hook) in [
        ("prerouting", InetHookNumber::PreRouting),
        ("output", InetHookNumber::LocalOut),
    ] {
        out.push(new_nat_chain(chain, hook));
        out.push(new_rule(chain, dnat_by_map(true)));
        out.push(new_rule(chain, dnat_by_map(false)));
    }
    out
}

fn delete_table() -> Request {
    (
        NfTablesMessage::DeleteTable(TableMessage {
            attributes: vec![TableAttribute::Name(TABLE.into())],
        }),
        0,
    )
}

/// One message per map that has entries: add (`NewSetElement`) or delete them.
pub fn elements(add: bool, entries: &[PortEntry]) -> Vec<Request> {
    let mut out = Vec::new();
    for map in [MAP_ANY, MAP_IP] {
        let list: Vec<ListAttribute<SetElementAttribute>> = entries
            .iter()
            .filter(|e| e.map() == map)
            .map(|e| {
                let mut attrs = vec![SetElementAttribute::Key(DataAttribute::Value(e.key()))];
                if add {
                    attrs.push(SetElementAttribute::Data(DataAttribute::Value(e.data())));
                }
                ListAttribute::Element(attrs)
            })
            .collect();
        if list.is_empty() {
            continue;
        }
        let msg = SetElementMessage {
            attributes: vec![
                SetElementList::Table(TABLE.into()),
                SetElementList::Set(map.into()),
                SetElementList::Elements(list),
            ],
        };
        out.push(if add {
            (NfTablesMessage::NewSetElement(msg), NLM_F_CREATE)
        } else {
            (NfTablesMessage::DeleteSetElement(msg), 0)
        });
    }
    out
}

/// A kernel refusal (its errno): the whole batch was refused.
#[derive(Debug)]
struct Refused {
    errno: i32,
}

impl Refused {
    fn text(&self) -> String {
        std::io::Error::from_raw_os_error(self.errno).to_string()
    }
}

/// A NETLINK_NETFILTER socket in cnet's namespace.
pub struct Nft {
    socket: Socket,
    seq: u32,
    /// Whether a transaction deleted anything (elements or the table): its close then waits
    /// for the kernel to free it (`Drop`).
    deleted: bool,
}

impl Nft {
    pub fn open() -> Result<Nft> {
        let mut socket = Socket::new(NETLINK_NETFILTER)
            .map_err(|e| Error::runtime(format!("nftables: cannot open a netlink socket: {e}")))?;
        socket
            .bind_auto()
            .map_err(|e| Error::runtime(format!("nftables: cannot bind a netlink socket: {e}")))?;
        // The kernel answers at once; a missing answer is an error, never a hang.
        let timeout = libc::timeval {
            tv_sec: 10,
            tv_usec: 0,
        };
        // SAFETY: setsockopt on a socket we own, with a pointer to a live timeval of its size.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&timeout as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(Error::runtime(format!(
                "nftables: cannot set a receive timeout: {}",
                std::io::Error::last_os_error()
            )));
        }
        Ok(Nft {
            socket,
            seq: 0,
            deleted: false,
        })
    }

    fn next_seq(&mut self) -> u32 {
        self.seq += 1;
        self.seq
    }

    fn message(
        &mut self,
        inner: impl Into<netlink_packet_netfilter::NetfilterMessageInner>,
        family: NetfilterProtoFamily,
        res_id: u16,
        flags: u16,
    ) -> (u32, Vec<u8>) {
        let mut msg = NetlinkMessage::from(NetfilterMessage::new(
            NetfilterHeader::new(family, 0, res_id),
            inner,
        ));
        let seq = self.next_seq();
        msg.header.flags = flags;
        msg.header.sequence_number = seq;
        msg.finalize();
        let mut buf = vec![0; msg.buffer_len()];
        msg.emit(&mut buf);
        (seq, buf)
    }

    /// Send `requests` as one transaction; every one is acknowledged (or refused: then the
    /// kernel applies none of them).
    fn transact(&mut self, requests: Vec<Request>) -> std::result::Result<(), Refused> {
        let (begin, mut batch) = self.message(
            ControlMessage::BatchBegin,
            NetfilterProtoFamily::Unspec,
            NFNL_SUBSYS_NFTABLES,
            NLM_F_REQUEST,
        );
        let mut waiting = Vec::new();
        for (msg, flags) in requests {
            let (seq, bytes) = self.message(
                msg,
                NetfilterProtoFamily::IPv4,
                0,
                NLM_F_REQUEST | NLM_F_ACK | flags,
            );
            waiting.push(seq);
            batch.extend(bytes);
        }
        let (end_seq, end) = self.message(
            ControlMessage::BatchEnd,
            NetfilterProtoFamily::Unspec,
            NFNL_SUBSYS_NFTABLES,
            NLM_F_REQUEST,
        );
        batch.extend(end);
        self.send(&batch)?;
        let mut refused = None;
        self.receive(|seq, kind, payload| {
            // Answers left over from an earlier transaction (sequence numbers only grow).
            if seq < begin {
                return true;
            }
            if kind == NLMSG_ERROR {
                let errno = error_code(payload);
                if errno != 0 && refused.is_none() {
                    refused = Some(Refused { errno });
                }
                // A refused batch as a whole (no nf_tables, no permission) is answered on its
                // begin or end message alone: nothing else will come.
                if errno != 0 && (seq == begin || seq == end_seq) {
                    return false;
                }
                waiting.retain(|s| *s != seq);
            }
            !waiting.is_empty()
        })?;
        refused.map_or(Ok(()), Err)
    }

    fn send(&mut self, bytes: &[u8]) -> std::result::Result<(), Refused> {
        self.socket.send(bytes, 0).map(|_| ()).map_err(|e| Refused {
            errno: e.raw_os_error().unwrap_or(libc::EIO),
        })
    }

    /// Read replies, handing each (seq, type, payload) to `more` until it returns false.
    fn receive(
        &mut self,
        mut more: impl FnMut(u32, u16, &[u8]) -> bool,
    ) -> std::result::Result<(), Refused> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = self
                .socket
                .recv(&mut &mut buf[..], 0)
                .map_err(|e| Refused {
                    errno: e.raw_os_error().unwrap_or(libc::EIO),
                })?;
            let mut at = 0;
            while at + 16 <= n {
                let Ok(nl) = NetlinkBuffer::new_checked(&buf[at..n]) else {
                    return Err(Refused {
                        errno: libc::EBADMSG,
                    });
                };
                let len = nl.length() as usize;
                if !more(nl.sequence_number(), nl.message_type(), nl.payload()) {
                    return Ok(());
                }
                at += len.div_ceil(4) * 4;
            }
        }
    }

    /// Whether cnet's table is there.
    pub fn table_exists(&mut self) -> Result<bool> {
        let (seq, bytes) = self.message(
            NfTablesMessage::GetTable(TableMessage {
                attributes: vec![TableAttribute::Name(TABLE.into())],
            }),
            NetfilterProtoFamily::IPv4,
            0,
            NLM_F_REQUEST | NLM_F_ACK,
        );
        let fail = |r: Refused| {
            Error::runtime(format!(
                "nftables: cannot read table ip {TABLE}: {}",
                r.text()
            ))
        };
        self.send(&bytes).map_err(fail)?;
        let mut found = false;
        let mut errno = 0;
        self.receive(|s, kind, payload| {
            if s != seq {
                return true;
            }
            match kind {
                NEWTABLE_REPLY => {
                    found = true;
                    true
                }
                NLMSG_ERROR => {
                    errno = error_code(payload);
                    false
                }
                NLMSG_DONE => false,
                _ => true,
            }
        })
        .map_err(fail)?;
        match errno {
            0 => Ok(found),
            libc::ENOENT => Ok(false),
            e => Err(fail(Refused { errno: e })),
        }
    }

    /// Create the table (maps and chains) unless it is there.
    pub fn ensure_table(&mut self) -> Result<()> {
        if self.table_exists()? {
            return Ok(());
        }
        match self.transact(create_table()) {
            Ok(()) => Ok(()),
            // Made meanwhile by someone else: it is there.
            Err(r) if r.errno == libc::EEXIST => Ok(()),
            Err(r) => Err(Error::runtime(format!(
                "nftables: cannot create table ip {TABLE} for published ports: {}",
                r.text()
            ))),
        }
    }

    /// Add entries; all or none of them are in the maps afterwards. The table is made by
    /// `net create` (`ensure_table`); should it be gone (an `nft flush ruleset`), it is made
    /// again here rather than looked for on every attach.
    pub fn add(&mut self, entries: &[PortEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut result = self.transact(elements(true, entries));
        if matches!(&result, Err(r) if r.errno == libc::ENOENT) {
            self.ensure_table()?;
            result = self.transact(elements(true, entries));
        }
        result.map_err(|r| {
            Error::runtime(format!(
                "nftables: cannot add published ports to table ip {TABLE}: {}",
                r.text()
            ))
        })
    }

    /// Remove entries; those not there count as removed (so does a missing table).
    pub fn remove(&mut self, entries: &[PortEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        self.deleted = true;
        match self.transact(elements(false, entries)) {
            Ok(()) => return Ok(()),
            Err(r) if r.errno != libc::ENOENT => {
                return Err(Error::runtime(format!(
                    "nftables: cannot remove published ports from table ip {TABLE}: {}",
                    r.text()
                )));
            }
            Err(_) => {}
        }
        // Some entry (or the table) is gone: the batch was refused whole; one by one.
        for e in entries {
            match self.transact(elements(false, std::slice::from_ref(e))) {
                Ok(()) => {}
                Err(r) if r.errno == libc::ENOENT => {}
                Err(r) => {
                    return Err(Error::runtime(format!(
                        "nftables: cannot remove published port {} from table ip {TABLE}: {}",
                        e.element_text(),
                        r.text()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Make the table hold exactly `entries`, in one transaction (a reload).
    pub fn replace(&mut self, entries: &[PortEntry]) -> Result<()> {
        let mut requests = Vec::new();
        if self.table_exists()? {
            self.deleted = true;
            requests.push(delete_table());
        }
        requests.extend(create_table());
        requests.extend(elements(true, entries));
        self.transact(requests).map_err(|r| {
            Error::runtime(format!(
                "nftables: cannot reload table ip {TABLE}: {}",
                r.text()
            ))
        })
    }

    /// Delete the table (when no network can publish any more); a missing one is fine.
    pub fn drop_table(&mut self) -> Result<()> {
        self.deleted = true;
        match self.transact(vec![delete_table()]) {
            Ok(()) => Ok(()),
            Err(r) if r.errno == libc::ENOENT => Ok(()),
            Err(r) => Err(Error::runtime(format!(
                "nftables: cannot delete table ip {TABLE}: {}",
                r.text()
            ))),
        }
    }
}

impl Drop for Nft {
    /// Closing a netfilter socket waits for the kernel to free whatever any transaction
    /// deleted (an RCU grace period): that is left to the background (`kernel::reclaim`).
    fn drop(&mut self) {
        // SAFETY: dup of a descriptor this socket owns; the copy is owned right away.
        let copy = unsafe { libc::dup(self.socket.as_raw_fd()) };
        if copy >= 0 {
            // SAFETY: `copy` is a fresh descriptor nobody else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(copy) };
            if self.deleted {
                reclaim::defer_fd(fd);
            } else {
                reclaim::defer_fd_that_freed_nothing(fd);
            }
        }
    }
}

/// The errno of an NLMSG_ERROR payload (0 for an acknowledgement).
fn error_code(payload: &[u8]) -> i32 {
    payload
        .get(..4)
        .map(|b| -i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .unwrap_or(libc::EBADMSG)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::published::entries;

    fn kind(m: &NfTablesMessage) -> &'static str {
        match m {
            NfTablesMessage::NewTable(_) => "table",
            NfTablesMessage::NewSet(_) => "set",
            NfTablesMessage::NewChain(_) => "chain",
            NfTablesMessage::NewRule(_) => "rule",
            NfTablesMessage::NewSetElement(_) => "add",
            NfTablesMessage::DeleteSetElement(_) => "delete",
            _ => "other",
        }
    }

    #[test]
    fn the_table_is_made_whole_in_one_batch_and_refuses_to_be_made_twice() {
        let msgs = create_table();
        let kinds: Vec<&str> = msgs.iter().map(|(m, _)| kind(m)).collect();
        assert_eq!(
            kinds,
            [
                "table", "set", "set", "chain", "rule", "rule", "chain", "rule", "rule"
            ]
        );
        assert_ne!(
            msgs[0].1 & NLM_F_EXCL,
            0,
            "an existing table fails the batch"
        );
        // Every rule's lookup names a map made in the same batch, by name and by its id.
        for (m, _) in &msgs {
            if let NfTablesMessage::NewRule(r) = m {
                let text = format!("{r:?}");
                let by_id = text.contains(&format!("SetId({SET_ID_ANY})"))
                    && text.contains(&format!("Set(\"{MAP_ANY}\")"))
                    || text.contains(&format!("SetId({SET_ID_IP})"))
                        && text.contains(&format!("Set(\"{MAP_IP}\")"));
                assert!(by_id, "{text}");
            }
        }
    }

    #[test]
    fn elements_go_one_message_per_map_with_data_only_when_added() {
        let es = entries(
            "10.1.0.2".parse().unwrap(),
            &[
                crate::ports::parse("8080:80").unwrap(),
                crate::ports::parse("127.0.0.1:9090:90").unwrap(),
                crate::ports::parse("53:53/udp").unwrap(),
            ],
        );
        let add = elements(true, &es);
        assert_eq!(
            add.iter().map(|(m, _)| kind(m)).collect::<Vec<_>>(),
            ["add", "add"]
        );
        let text = format!("{:?}", add[0].0);
        assert_eq!(text.matches("Key(").count(), 2, "{text}");
        assert_eq!(text.matches("Data(").count(), 2, "{text}");
        let del = elements(false, &es);
        let text = format!("{:?}", del[1].0);
        assert!(text.contains(MAP_IP) && text.contains("Key(") && !text.contains("Data("));
        assert!(elements(true, &[]).is_empty());
    }
}
