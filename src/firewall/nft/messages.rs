//! The nf_tables messages cnet's tables are made of: tables, rules and their expressions,
//! set elements.

use super::*;

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
        for chunk in list.chunks(MAX_ELEMENTS_PER_MESSAGE) {
            let msg = SetElementMessage {
                attributes: vec![
                    SetElementList::Table(table.into()),
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
