//! cnet's nftables tables, spoken over NETLINK_NETFILTER from this process: the published
//! ports (`published` has the layout) and the overlays' ingress filter (`tunnel`). An attach
//! or detach with ports is one transaction of a few hundred bytes, with no `nft`/`iptables`
//! process and no listing of what is there.

use super::published::{MAP_ANY, MAP_IP, PortEntry};
use super::tunnel::{self, TunnelEntry};
use crate::error::{Error, Result};
use crate::kernel::reclaim;
use netlink_packet_core::{
    DefaultNla, Emitable, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NetlinkBuffer,
    NetlinkMessage,
};
use netlink_packet_netfilter::nftables::ChainMessage;
use netlink_packet_netfilter::nftables::{
    ChainAttribute, Cmp, DataAttribute, ExpressionAttribute, Expressions, Hook, HookNumber,
    Immediate, InetHookNumber, ListAttribute, Lookup, Meta, MetaKey, NfTablesMessage, Operator,
    Payload, Register, RuleAttribute, RuleMessage, SetAttribute, SetElementAttribute,
    SetElementList, SetElementMessage, SetFlags, SetMessage, TableAttribute, TableMessage, Verdict,
    VerdictAttribute,
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
const TYPE_INTEGER: u32 = 4;
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

/// What nft 1.0.6 attaches to the tunnel filter's sets (`typeof udp dport . @th,96,24
/// [. ip saddr]`), read only by nft when it prints them.
const GUARDED_USERDATA: [u8; 78] = [
    0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x03, 0x46, 0x00, 0x04, 0x0d, 0x00, 0x00, 0x00, 0x01, 0x3e,
    0x00, 0x14, 0x00, 0x04, 0x07, 0x00, 0x00, 0x00, 0x01, 0x0c, 0x00, 0x04, 0x06, 0x00, 0x00, 0x00,
    0x01, 0x04, 0x02, 0x00, 0x00, 0x00, 0x01, 0x26, 0x00, 0x04, 0x07, 0x00, 0x00, 0x00, 0x01, 0x1e,
    0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x02, 0x04, 0x03, 0x00,
    0x00, 0x00, 0x03, 0x04, 0x60, 0x00, 0x00, 0x00, 0x04, 0x04, 0x18, 0x00, 0x00, 0x00,
];
const PEERS_USERDATA: [u8; 100] = [
    0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x03, 0x5c, 0x00, 0x04, 0x0d, 0x00, 0x00, 0x00, 0x01, 0x54,
    0x00, 0x14, 0x00, 0x04, 0x07, 0x00, 0x00, 0x00, 0x01, 0x0c, 0x00, 0x04, 0x06, 0x00, 0x00, 0x00,
    0x01, 0x04, 0x02, 0x00, 0x00, 0x00, 0x01, 0x26, 0x00, 0x04, 0x07, 0x00, 0x00, 0x00, 0x01, 0x1e,
    0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x02, 0x04, 0x03, 0x00,
    0x00, 0x00, 0x03, 0x04, 0x60, 0x00, 0x00, 0x00, 0x04, 0x04, 0x18, 0x00, 0x00, 0x00, 0x02, 0x14,
    0x00, 0x04, 0x07, 0x00, 0x00, 0x00, 0x01, 0x0c, 0x00, 0x04, 0x0c, 0x00, 0x00, 0x00, 0x01, 0x04,
    0x0b, 0x00, 0x00, 0x00,
];

/// Transaction ids of the sets inside the batch that creates them (rules refer to them).
const SET_ID_ANY: u32 = 1;
const SET_ID_IP: u32 = 2;
const SET_ID_GUARDED: u32 = 1;
const SET_ID_PEERS: u32 = 2;

const NETWORK_HEADER: u32 = 1;
const TRANSPORT_HEADER: u32 = 2;

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

/// A message of a transaction, with its flags beyond NLM_F_REQUEST | NLM_F_ACK.
pub type Request = (NfTablesMessage, u16);

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
                SetAttribute::Table(PublishedTable::NAME.into()),
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
                ChainAttribute::Table(PublishedTable::NAME.into()),
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

fn new_rule(table: &str, chain: &str, exprs: Vec<ListAttribute<ExpressionAttribute>>) -> Request {
    (
        NfTablesMessage::NewRule(RuleMessage {
            attributes: vec![
                RuleAttribute::Table(table.into()),
                RuleAttribute::Chain(chain.into()),
                RuleAttribute::Expressions(exprs),
            ],
        }),
        NLM_F_CREATE | netlink_packet_core::NLM_F_APPEND,
    )
}

/// A new table; NLM_F_EXCL: a table already there fails the batch rather than getting its
/// rules twice.
fn new_table(name: &str) -> Request {
    (
        NfTablesMessage::NewTable(TableMessage {
            attributes: vec![TableAttribute::Name(name.into())],
        }),
        NLM_F_CREATE | NLM_F_EXCL,
    )
}

/// The whole table of published ports, empty maps included, as one transaction's messages.
pub fn create_table() -> Vec<Request> {
    let table = PublishedTable::NAME;
    let mut out = vec![new_table(table)];
    out.push(new_map(MAP_ANY, SET_ID_ANY, false));
    out.push(new_map(MAP_IP, SET_ID_IP, true));
    for (chain, hook) in [
        ("prerouting", InetHookNumber::PreRouting),
        ("output", InetHookNumber::LocalOut),
    ] {
        out.push(new_nat_chain(chain, hook));
        out.push(new_rule(table, chain, dnat_by_map(true)));
        out.push(new_rule(table, chain, dnat_by_map(false)));
    }
    out
}

/// `udp dport . @th,96,24 [. ip saddr]` into registers 1, 1+1, 1+2 (32-bit ones): the key of
/// the tunnel filter's sets.
fn tunnel_key(with_source: bool) -> Vec<ListAttribute<ExpressionAttribute>> {
    let mut e = vec![
        payload(TRANSPORT_HEADER, 2, 2, Register::Reg1),
        payload(TRANSPORT_HEADER, 12, 3, Register::Reg32_01),
    ];
    if with_source {
        e.push(payload(NETWORK_HEADER, 12, 4, Register::Reg32_02));
    }
    e
}

fn lookup(set: &str, id: u32, inverted: bool) -> ListAttribute<ExpressionAttribute> {
    const NFT_LOOKUP_F_INV: u32 = 1;
    let mut l = vec![
        Lookup::SourceRegister(Register::Reg1),
        Lookup::Set(set.into()),
        Lookup::SetId(id),
    ];
    if inverted {
        l.push(Lookup::Flags(NFT_LOOKUP_F_INV));
    }
    Expressions::Lookup(l).into()
}

/// `meta l4proto udp  udp dport . @th,96,24 @guarded
///  udp dport . @th,96,24 . ip saddr != @peers  counter drop` (`tunnel::RULE_TEXT`).
fn tunnel_filter_rule() -> Vec<ListAttribute<ExpressionAttribute>> {
    const NF_DROP: u32 = 0;
    let mut e = vec![
        Expressions::Meta(vec![
            Meta::Key(MetaKey::L4Proto),
            Meta::DestinationRegister(Register::Reg1),
        ])
        .into(),
        Expressions::Cmp(vec![
            Cmp::SourceRegister(Register::Reg1),
            Cmp::Op(Operator::Equal),
            Cmp::Data(DataAttribute::Value(vec![libc::IPPROTO_UDP as u8])),
        ])
        .into(),
    ];
    e.extend(tunnel_key(false));
    e.push(lookup(tunnel::SET_GUARDED, SET_ID_GUARDED, false));
    e.extend(tunnel_key(true));
    e.push(lookup(tunnel::SET_PEERS, SET_ID_PEERS, true));
    e.push(other_expr("counter", &[]));
    e.push(
        Expressions::Immediate(vec![
            Immediate::DestinationRegister(Register::Verdict),
            Immediate::Data(DataAttribute::Verdict(vec![VerdictAttribute::Code(
                Verdict::Other(NF_DROP),
            )])),
        ])
        .into(),
    );
    e
}

fn new_tunnel_set(name: &str, id: u32, with_source: bool) -> Request {
    let guarded = concat(TYPE_INET_SERVICE, TYPE_INTEGER);
    let (key_type, key_len, userdata) = if with_source {
        (concat(guarded, TYPE_IPV4_ADDR), 12, PEERS_USERDATA.to_vec())
    } else {
        (guarded, 8, GUARDED_USERDATA.to_vec())
    };
    (
        NfTablesMessage::NewSet(SetMessage {
            attributes: vec![
                SetAttribute::Table(TunnelTable::NAME.into()),
                SetAttribute::Name(name.into()),
                SetAttribute::Flags(SetFlags::empty()),
                SetAttribute::KeyType(key_type),
                SetAttribute::KeyLen(key_len),
                SetAttribute::Id(id),
                SetAttribute::UserData(userdata),
            ],
        }),
        NLM_F_CREATE,
    )
}

/// The overlays' ingress filter (`tunnel`), empty sets included, as one transaction's
/// messages: a filter chain at the raw priority, before conntrack and the VXLAN device.
pub fn create_tunnel_table() -> Vec<Request> {
    const NF_IP_PRI_RAW: i32 = -300;
    let table = TunnelTable::NAME;
    vec![
        new_table(table),
        new_tunnel_set(tunnel::SET_GUARDED, SET_ID_GUARDED, false),
        new_tunnel_set(tunnel::SET_PEERS, SET_ID_PEERS, true),
        (
            NfTablesMessage::NewChain(ChainMessage {
                attributes: vec![
                    ChainAttribute::Table(table.into()),
                    ChainAttribute::Name(tunnel::CHAIN.into()),
                    ChainAttribute::Hook(vec![
                        Hook::Number(HookNumber::Inet(InetHookNumber::PreRouting)),
                        Hook::Priority(NF_IP_PRI_RAW as u32),
                    ]),
                    ChainAttribute::Type("filter".into()),
                ],
            }),
            NLM_F_CREATE,
        ),
        new_rule(table, tunnel::CHAIN, tunnel_filter_rule()),
    ]
}

fn delete_table(name: &str) -> Request {
    (
        NfTablesMessage::DeleteTable(TableMessage {
            attributes: vec![TableAttribute::Name(name.into())],
        }),
        0,
    )
}

/// One message per set that has entries: add (`NewSetElement`) or delete them. `data` gives
/// a map element's data (`None` for a plain set's).
fn set_elements<E>(
    table: &str,
    sets: &[&str],
    add: bool,
    entries: &[E],
    set_of: impl Fn(&E) -> &'static str,
    key: impl Fn(&E) -> Vec<u8>,
    data: impl Fn(&E) -> Option<Vec<u8>>,
) -> Vec<Request> {
    let mut out = Vec::new();
    for &set in sets {
        let list: Vec<ListAttribute<SetElementAttribute>> = entries
            .iter()
            .filter(|e| set_of(e) == set)
            .map(|e| {
                let mut attrs = vec![SetElementAttribute::Key(DataAttribute::Value(key(e)))];
                if add && let Some(d) = data(e) {
                    attrs.push(SetElementAttribute::Data(DataAttribute::Value(d)));
                }
                ListAttribute::Element(attrs)
            })
            .collect();
        if list.is_empty() {
            continue;
        }
        let msg = SetElementMessage {
            attributes: vec![
                SetElementList::Table(table.into()),
                SetElementList::Set(set.into()),
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

/// One message per map that has entries: add (`NewSetElement`) or delete them.
pub fn elements(add: bool, entries: &[PortEntry]) -> Vec<Request> {
    set_elements(
        PublishedTable::NAME,
        &[MAP_ANY, MAP_IP],
        add,
        entries,
        |e| e.map(),
        |e| e.key(),
        |e| Some(e.data()),
    )
}

/// One message per set of the tunnel filter that has entries: add or delete them. Peers
/// go first: a new overlay's peers are heard from the moment its VNI is guarded.
pub fn tunnel_elements(add: bool, entries: &[TunnelEntry]) -> Vec<Request> {
    set_elements(
        TunnelTable::NAME,
        &[tunnel::SET_PEERS, tunnel::SET_GUARDED],
        add,
        entries,
        |e| e.set(),
        |e| e.key(),
        |_| None,
    )
}

/// One of cnet's nftables tables: its name, what it holds (for errors), how it is made and
/// how its elements go in and out.
pub trait NftTable {
    type Entry;
    const NAME: &'static str;
    const HOLDS: &'static str;
    fn create() -> Vec<Request>;
    fn elements(add: bool, entries: &[Self::Entry]) -> Vec<Request>;
    fn entry_text(e: &Self::Entry) -> String;
}

/// `table ip cnet`: published ports.
pub struct PublishedTable;

impl NftTable for PublishedTable {
    type Entry = PortEntry;
    const NAME: &'static str = super::published::TABLE;
    const HOLDS: &'static str = "published ports";
    fn create() -> Vec<Request> {
        create_table()
    }
    fn elements(add: bool, entries: &[PortEntry]) -> Vec<Request> {
        elements(add, entries)
    }
    fn entry_text(e: &PortEntry) -> String {
        e.element_text()
    }
}

/// `table ip cnet-vxlan`: the overlays' ingress filter.
pub struct TunnelTable;

impl NftTable for TunnelTable {
    type Entry = TunnelEntry;
    const NAME: &'static str = tunnel::TABLE;
    const HOLDS: &'static str = "VXLAN peers";
    fn create() -> Vec<Request> {
        create_tunnel_table()
    }
    fn elements(add: bool, entries: &[TunnelEntry]) -> Vec<Request> {
        tunnel_elements(add, entries)
    }
    fn entry_text(e: &TunnelEntry) -> String {
        e.element_text()
    }
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

    /// Whether the table is there.
    pub fn table_exists<T: NftTable>(&mut self) -> Result<bool> {
        let (seq, bytes) = self.message(
            NfTablesMessage::GetTable(TableMessage {
                attributes: vec![TableAttribute::Name(T::NAME.into())],
            }),
            NetfilterProtoFamily::IPv4,
            0,
            NLM_F_REQUEST | NLM_F_ACK,
        );
        let fail = |r: Refused| {
            Error::runtime(format!(
                "nftables: cannot read table ip {}: {}",
                T::NAME,
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

    /// Create the table (sets and chains) unless it is there.
    pub fn ensure_table<T: NftTable>(&mut self) -> Result<()> {
        if self.table_exists::<T>()? {
            return Ok(());
        }
        match self.transact(T::create()) {
            Ok(()) => Ok(()),
            // Made meanwhile by someone else: it is there.
            Err(r) if r.errno == libc::EEXIST => Ok(()),
            Err(r) => Err(Error::runtime(format!(
                "nftables: cannot create table ip {} for {}: {}",
                T::NAME,
                T::HOLDS,
                r.text()
            ))),
        }
    }

    /// Add entries; all or none of them are in the sets afterwards. The table is made by
    /// `net create` (`ensure_table`); should it be gone (an `nft flush ruleset`), it is made
    /// again here rather than looked for on every attach.
    pub fn add<T: NftTable>(&mut self, entries: &[T::Entry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut result = self.transact(T::elements(true, entries));
        if matches!(&result, Err(r) if r.errno == libc::ENOENT) {
            self.ensure_table::<T>()?;
            result = self.transact(T::elements(true, entries));
        }
        result.map_err(|r| {
            Error::runtime(format!(
                "nftables: cannot add {} to table ip {}: {}",
                T::HOLDS,
                T::NAME,
                r.text()
            ))
        })
    }

    /// Remove entries; those not there count as removed (so does a missing table).
    pub fn remove<T: NftTable>(&mut self, entries: &[T::Entry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        self.deleted = true;
        match self.transact(T::elements(false, entries)) {
            Ok(()) => return Ok(()),
            Err(r) if r.errno != libc::ENOENT => {
                return Err(Error::runtime(format!(
                    "nftables: cannot remove {} from table ip {}: {}",
                    T::HOLDS,
                    T::NAME,
                    r.text()
                )));
            }
            Err(_) => {}
        }
        // Some entry (or the table) is gone: the batch was refused whole; one by one.
        for e in entries {
            match self.transact(T::elements(false, std::slice::from_ref(e))) {
                Ok(()) => {}
                Err(r) if r.errno == libc::ENOENT => {}
                Err(r) => {
                    return Err(Error::runtime(format!(
                        "nftables: cannot remove {} from table ip {}: {}",
                        T::entry_text(e),
                        T::NAME,
                        r.text()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Make the table hold exactly `entries`, in one transaction (a reload).
    pub fn replace<T: NftTable>(&mut self, entries: &[T::Entry]) -> Result<()> {
        let mut requests = Vec::new();
        if self.table_exists::<T>()? {
            self.deleted = true;
            requests.push(delete_table(T::NAME));
        }
        requests.extend(T::create());
        requests.extend(T::elements(true, entries));
        self.transact(requests).map_err(|r| {
            Error::runtime(format!(
                "nftables: cannot reload table ip {}: {}",
                T::NAME,
                r.text()
            ))
        })
    }

    /// Delete the table (when nothing needs it any more); a missing one is fine.
    pub fn drop_table<T: NftTable>(&mut self) -> Result<()> {
        self.deleted = true;
        match self.transact(vec![delete_table(T::NAME)]) {
            Ok(()) => Ok(()),
            Err(r) if r.errno == libc::ENOENT => Ok(()),
            Err(r) => Err(Error::runtime(format!(
                "nftables: cannot delete table ip {}: {}",
                T::NAME,
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

    #[test]
    fn the_tunnel_filter_is_one_rule_over_two_sets_made_in_the_same_batch() {
        let msgs = create_tunnel_table();
        let kinds: Vec<&str> = msgs.iter().map(|(m, _)| kind(m)).collect();
        assert_eq!(kinds, ["table", "set", "set", "chain", "rule"]);
        assert_ne!(msgs[0].1 & NLM_F_EXCL, 0);
        let rule = format!("{:?}", msgs[4].0);
        // Both sets by name and id; only the peers' lookup is inverted; the verdict drops.
        assert!(
            rule.contains("Set(\"guarded\")") && rule.contains("SetId(1)"),
            "{rule}"
        );
        assert!(
            rule.contains("Set(\"peers\")") && rule.contains("SetId(2)"),
            "{rule}"
        );
        assert_eq!(rule.matches("Flags(1)").count(), 1, "{rule}");
        assert!(rule.contains("Code(Other(0))"), "{rule}");
        // Key lengths: port . VNI, then port . VNI . address, as `TunnelEntry::key` lays out.
        let sets = format!("{:?} {:?}", msgs[1].0, msgs[2].0);
        assert!(
            sets.contains("KeyLen(8)") && sets.contains("KeyLen(12)"),
            "{sets}"
        );
    }

    #[test]
    fn tunnel_elements_put_peers_before_the_guard() {
        let es = tunnel::entries(4789, 5000, &["192.0.2.2".parse().unwrap()]);
        let add = tunnel_elements(true, &es);
        let sets: Vec<String> = add.iter().map(|(m, _)| format!("{m:?}")).collect();
        assert_eq!(add.len(), 2);
        assert!(sets[0].contains("Set(\"peers\")") && sets[1].contains("Set(\"guarded\")"));
        assert!(
            !sets.iter().any(|s| s.contains("Data(")),
            "plain sets carry keys only"
        );
        assert_eq!(kind(&tunnel_elements(false, &es)[0].0), "delete");
    }
}
