//! The nf_tables messages cnet's tables are made of: tables, rules and their expressions,
//! set elements.

use super::*;
use netlink_packet_netfilter::nftables::{
    Bitwise, Cmp, Immediate, Meta, MetaKey, Operator, Verdict, VerdictAttribute,
};

pub(super) const NFNL_SUBSYS_NFTABLES: u16 = 10;
/// `NFT_MSG_NEWTABLE` as a reply's nlmsg_type (subsystem << 8 | message).
pub(super) const NEWTABLE_REPLY: u16 = NFNL_SUBSYS_NFTABLES << 8;
pub(super) const NLMSG_ERROR: u16 = 2;
pub(super) const NLMSG_DONE: u16 = 3;

/// nft data types, for `nft list` only (the kernel does not read them): concatenations are
/// the members' ids, 6 bits each.
pub(super) const TYPE_IPV4_ADDR: u32 = 7;
pub(super) const TYPE_INET_PROTO: u32 = 12;
pub(super) const TYPE_INTEGER: u32 = 4;
pub(super) const TYPE_INET_SERVICE: u32 = 13;
pub(super) const TYPE_IFNAME: u32 = 41;
pub(super) const TYPE_IPV6_ADDR: u32 = 8;
pub(super) const fn concat(a: u32, b: u32) -> u32 {
    (a << 6) | b
}

/// nft payload bases.
pub(super) const NETWORK_HEADER: u32 = 1;
pub(super) const TRANSPORT_HEADER: u32 = 2;

pub(super) fn be32(v: u32) -> Vec<u8> {
    v.to_be_bytes().to_vec()
}

pub(super) fn other_expr(name: &str, attrs: &[(u16, u32)]) -> ListAttribute<ExpressionAttribute> {
    Expressions::Other {
        expression_type: name.into(),
        attributes: attrs
            .iter()
            .map(|(k, v)| DefaultNla::new(*k, be32(*v)))
            .collect(),
    }
    .into()
}

pub(super) fn payload(
    base: u32,
    offset: u32,
    len: u32,
    dreg: Register,
) -> ListAttribute<ExpressionAttribute> {
    Expressions::Payload(vec![
        Payload::DestinationRegister(dreg),
        Payload::Base(base),
        Payload::Offset(offset),
        Payload::Len(len),
    ])
    .into()
}

/// A message of a transaction, with its flags beyond NLM_F_REQUEST | NLM_F_ACK.
pub type Request = (NfTablesMessage, u16);

pub(super) fn new_rule(
    table: &str,
    chain: &str,
    exprs: Vec<ListAttribute<ExpressionAttribute>>,
) -> Request {
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
pub(super) fn new_table(name: &str) -> Request {
    (
        NfTablesMessage::NewTable(TableMessage {
            attributes: vec![TableAttribute::Name(name.into())],
        }),
        NLM_F_CREATE | NLM_F_EXCL,
    )
}

pub(super) fn lookup(set: &str, id: u32, inverted: bool) -> ListAttribute<ExpressionAttribute> {
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

/// `meta KEY` into a register.
pub(super) fn meta(key: MetaKey, reg: Register) -> ListAttribute<ExpressionAttribute> {
    Expressions::Meta(vec![Meta::Key(key), Meta::DestinationRegister(reg)]).into()
}

/// Register 1 equal (or not) to `data`.
pub(super) fn cmp(op: Operator, data: &[u8]) -> ListAttribute<ExpressionAttribute> {
    Expressions::Cmp(vec![
        Cmp::SourceRegister(Register::Reg1),
        Cmp::Op(op),
        Cmp::Data(DataAttribute::Value(data.to_vec())),
    ])
    .into()
}

/// `meta nfproto ipv4`: the dependency nft puts before an `ip` header match in an inet table.
pub(super) fn is_ipv4() -> [ListAttribute<ExpressionAttribute>; 2] {
    [
        meta(MetaKey::Nfproto, Register::Reg1),
        cmp(Operator::Equal, &[libc::NFPROTO_IPV4 as u8]),
    ]
}

/// `ct state|status` (a host-order u32) into register 1.
pub(super) fn ct(key: u32) -> ListAttribute<ExpressionAttribute> {
    const NFTA_CT_DREG: u16 = 1;
    const NFTA_CT_KEY: u16 = 2;
    other_expr(
        "ct",
        &[
            (NFTA_CT_DREG, u32::from(Register::Reg1)),
            (NFTA_CT_KEY, key),
        ],
    )
}
pub(super) const NFT_CT_STATE: u32 = 0;
pub(super) const NFT_CT_STATUS: u32 = 2;

/// Register 1 has some of the bits of `mask` (a host-order u32): `ct state established,related`.
pub(super) fn any_bit(mask: u32) -> [ListAttribute<ExpressionAttribute>; 2] {
    [
        Expressions::Bitwise(vec![
            Bitwise::SourceRegister(Register::Reg1),
            Bitwise::DestinationRegister(Register::Reg1),
            Bitwise::Length(4),
            Bitwise::Mask(DataAttribute::Value(mask.to_ne_bytes().to_vec())),
            Bitwise::Xor(DataAttribute::Value(vec![0; 4])),
        ])
        .into(),
        cmp(Operator::NotEqual, &[0; 4]),
    ]
}

/// A verdict: accept, drop, return, or a jump to a chain.
pub(super) fn verdict(code: Verdict, chain: Option<&str>) -> ListAttribute<ExpressionAttribute> {
    let mut v = vec![VerdictAttribute::Code(code)];
    if let Some(c) = chain {
        v.push(VerdictAttribute::Chain(c.into()));
    }
    Expressions::Immediate(vec![
        Immediate::DestinationRegister(Register::Verdict),
        Immediate::Data(DataAttribute::Verdict(v)),
    ])
    .into()
}
pub(super) const ACCEPT: Verdict = Verdict::Other(1);
pub(super) const DROP: Verdict = Verdict::Other(0);

pub(super) fn delete_table(name: &str) -> Request {
    (
        NfTablesMessage::DeleteTable(TableMessage {
            attributes: vec![TableAttribute::Name(name.into())],
        }),
        0,
    )
}

/// The most elements one message carries: a message's element list is one netlink attribute,
/// whose length must fit in 16 bits (at most ~40 bytes an element here, so 1024 take ~41 KiB).
pub const MAX_ELEMENTS_PER_MESSAGE: usize = crate::ports::MAX_PORTS_PER_ATTACH as usize;

/// One message per set that has entries, and per `MAX_ELEMENTS_PER_MESSAGE` of them: add
/// (`NewSetElement`) or delete them. `data` gives a map element's data (`None` for a plain
/// set's).
pub(super) fn set_elements<E>(
    sets: &[&str],
    add: bool,
    entries: &[E],
    set_of: impl Fn(&E) -> &'static str,
    key: impl Fn(&E) -> Vec<u8>,
    data: impl Fn(&E) -> Option<Vec<u8>>,
    key_end: impl Fn(&E) -> Option<Vec<u8>>,
) -> Vec<Request> {
    let mut out = Vec::new();
    for &set in sets {
        let list: Vec<ListAttribute<SetElementAttribute>> = entries
            .iter()
            .filter(|e| set_of(e) == set)
            .map(|e| {
                let mut attrs = vec![SetElementAttribute::Key(DataAttribute::Value(key(e)))];
                if let Some(end) = key_end(e) {
                    // NFTA_SET_ELEM_KEY_END holds one NFTA_DATA_VALUE.
                    attrs.push(SetElementAttribute::KeyEnd(vec![DefaultNla::new(1, end)]));
                }
                if add && let Some(d) = data(e) {
                    attrs.push(SetElementAttribute::Data(DataAttribute::Value(d)));
                }
                ListAttribute::Element(attrs)
            })
            .collect();
        for chunk in list.chunks(MAX_ELEMENTS_PER_MESSAGE) {
            let msg = SetElementMessage {
                attributes: vec![
                    SetElementList::Table(TABLE.into()),
                    SetElementList::Set(set.into()),
                    SetElementList::Elements(chunk.to_vec()),
                ],
            };
            out.push(if add {
                (NfTablesMessage::NewSetElement(msg), NLM_F_CREATE)
            } else {
                (NfTablesMessage::DeleteSetElement(msg), 0)
            });
        }
    }
    out
}
