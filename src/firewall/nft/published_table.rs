//! The published ports' maps, DNAT rules and elements as nf_tables messages
//! (`firewall::published` has the layout; `cnet_table` puts them in the table).

use super::set_ids::{SET_ID_ANY, SET_ID_ANY6, SET_ID_IP, SET_ID_IP6};
use super::{
    NETWORK_HEADER, NftElements, Request, TABLE, TRANSPORT_HEADER, TYPE_INET_PROTO,
    TYPE_INET_SERVICE, TYPE_IPV4_ADDR, TYPE_IPV6_ADDR, cmp, concat, is_ipv4, meta, other_expr,
    payload, set_elements,
};
use crate::firewall::published::{MAP_ANY, MAP_IP, MAP6_ANY, MAP6_IP, MAPS, PortEntry};
use netlink_packet_core::NLM_F_CREATE;
use netlink_packet_netfilter::nftables::{
    ChainAttribute, ChainMessage, Cmp, DataAttribute, ExpressionAttribute, Expressions, Hook,
    HookNumber, InetHookNumber, ListAttribute, Lookup, Meta, MetaKey, NfTablesMessage, Operator,
    Register, SetAttribute, SetFlags, SetMessage,
};

/// What nft 1.0.6 attaches to a `type …` map (byte orders, merge hint), read only by nft when
/// it prints the map.
const SET_USERDATA: [u8; 38] = [
    0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x03, 0x08, 0x00, 0x04,
    0x0d, 0x00, 0x00, 0x00, 0x01, 0x00, 0x04, 0x08, 0x00, 0x04, 0x0d, 0x00, 0x00, 0x00, 0x01, 0x00,
    0x06, 0x04, 0x00, 0x00, 0x00, 0x00,
];

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

/// `[ip daddr .] meta l4proto . th dport` into registers 1.., then the lookup, then
/// `dnat ip to` what the map gives (address in register 1, port in the 32-bit one after it).
/// With `v6`, the same for `ip6 daddr` and `dnat ip6 to`: the address takes all of register
/// 1, so the protocol and port follow in register 2 (as nft 1.0.6 lays them out).
pub(super) fn dnat_by_map(with_address: bool, v6: bool) -> Vec<ListAttribute<ExpressionAttribute>> {
    const NFTA_NAT_TYPE: u16 = 1;
    const NFTA_NAT_FAMILY: u16 = 2;
    const NFTA_NAT_REG_ADDR_MIN: u16 = 3;
    const NFTA_NAT_REG_PROTO_MIN: u16 = 5;
    const NFT_NAT_DNAT: u32 = 1;
    let mut e: Vec<ListAttribute<ExpressionAttribute>> = is_local_destination().into();
    let (proto_reg, port_reg) = match (with_address, v6) {
        (true, false) => {
            e.extend(is_ipv4());
            e.push(payload(NETWORK_HEADER, 16, 4, Register::Reg1));
            (Register::Reg32_01, Register::Reg32_02)
        }
        (true, true) => {
            e.push(meta(MetaKey::Nfproto, Register::Reg1));
            e.push(cmp(Operator::Equal, &[libc::NFPROTO_IPV6 as u8]));
            e.push(payload(NETWORK_HEADER, 24, 16, Register::Reg1));
            (Register::Reg2, Register::Reg32_05)
        }
        (false, _) => (Register::Reg1, Register::Reg32_01),
    };
    e.push(
        Expressions::Meta(vec![
            Meta::Key(MetaKey::L4Proto),
            Meta::DestinationRegister(proto_reg),
        ])
        .into(),
    );
    e.push(payload(TRANSPORT_HEADER, 2, 2, port_reg));
    let (set, id) = match (with_address, v6) {
        (true, false) => (MAP_IP, SET_ID_IP),
        (false, false) => (MAP_ANY, SET_ID_ANY),
        (true, true) => (MAP6_IP, SET_ID_IP6),
        (false, true) => (MAP6_ANY, SET_ID_ANY6),
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
    let (family, proto_min) = if v6 {
        (libc::NFPROTO_IPV6, Register::Reg2)
    } else {
        (libc::NFPROTO_IPV4, Register::Reg32_01)
    };
    e.push(other_expr(
        "nat",
        &[
            (NFTA_NAT_TYPE, NFT_NAT_DNAT),
            (NFTA_NAT_FAMILY, family as u32),
            (NFTA_NAT_REG_ADDR_MIN, u32::from(Register::Reg1)),
            (NFTA_NAT_REG_PROTO_MIN, u32::from(proto_min)),
        ],
    ));
    e
}

/// The DNAT rules of the prerouting and output chains, in order (`inet::DNAT_RULES`).
pub(super) fn dnat_rules() -> Vec<Vec<ListAttribute<ExpressionAttribute>>> {
    vec![
        dnat_by_map(true, false),
        dnat_by_map(false, false),
        dnat_by_map(true, true),
        dnat_by_map(false, true),
    ]
}

/// A published ports' map: of IPv4 or (`v6`) IPv6 addresses, keyed by the host address too
/// or not. nft attaches the same userdata to all four.
pub(super) fn new_map(name: &str, id: u32, with_address: bool, v6: bool) -> Request {
    let (addr_type, addr_len) = if v6 {
        (TYPE_IPV6_ADDR, 16)
    } else {
        (TYPE_IPV4_ADDR, 4)
    };
    let (key_type, key_len) = if with_address {
        (
            concat(concat(addr_type, TYPE_INET_PROTO), TYPE_INET_SERVICE),
            addr_len + 8,
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
                SetAttribute::DataType(concat(addr_type, TYPE_INET_SERVICE)),
                SetAttribute::DataLen(addr_len + 4),
                SetAttribute::Id(id),
                SetAttribute::UserData(SET_USERDATA.to_vec()),
            ],
        }),
        NLM_F_CREATE,
    )
}

pub(super) fn new_base_chain(
    name: &str,
    kind: &str,
    hook: InetHookNumber,
    priority: i32,
) -> Request {
    (
        NfTablesMessage::NewChain(ChainMessage {
            attributes: vec![
                ChainAttribute::Table(TABLE.into()),
                ChainAttribute::Name(name.into()),
                ChainAttribute::Hook(vec![
                    Hook::Number(HookNumber::Inet(hook)),
                    Hook::Priority(priority as u32),
                ]),
                ChainAttribute::Type(kind.into()),
            ],
        }),
        NLM_F_CREATE,
    )
}

/// The published ports' maps.
pub struct PublishedTable;

impl NftElements for PublishedTable {
    type Entry = PortEntry;
    const HOLDS: &'static str = "published ports";

    /// One message per map that has entries: add (`NewSetElement`) or delete them.
    fn elements(add: bool, entries: &[PortEntry]) -> Vec<Request> {
        set_elements(
            &MAPS,
            add,
            entries,
            |e| e.map(),
            |e| e.key(),
            |e| Some(e.data()),
            |_| None,
        )
    }

    fn entry_text(e: &PortEntry) -> String {
        e.element_text()
    }
}

#[cfg(test)]
mod tests {
    use super::super::kind;
    use super::*;
    use crate::firewall::published::entries;

    #[test]
    fn elements_go_one_message_per_map_with_data_only_when_added() {
        let es = entries(
            &["10.1.0.2".parse().unwrap()],
            &[
                crate::ports::parse("8080:80").unwrap(),
                crate::ports::parse("127.0.0.1:9090:90").unwrap(),
                crate::ports::parse("53:53/udp").unwrap(),
            ],
        )
        .unwrap();
        let add = PublishedTable::elements(true, &es);
        assert_eq!(
            add.iter().map(|(m, _)| kind(m)).collect::<Vec<_>>(),
            ["add", "add"]
        );
        let text = format!("{:?}", add[0].0);
        assert_eq!(text.matches("Key(").count(), 2, "{text}");
        assert_eq!(text.matches("Data(").count(), 2, "{text}");
        let del = PublishedTable::elements(false, &es);
        let text = format!("{:?}", del[1].0);
        assert!(text.contains(MAP_IP) && text.contains("Key(") && !text.contains("Data("));
        assert!(PublishedTable::elements(true, &[]).is_empty());
    }

    /// A reload of thousands of ports: no message may outgrow a netlink attribute.
    #[test]
    fn many_elements_are_split_into_messages_that_can_be_emitted() {
        use netlink_packet_core::{Emitable, NetlinkMessage};
        use netlink_packet_netfilter::nftables::SetElementList;
        use netlink_packet_netfilter::{NetfilterHeader, NetfilterMessage, NetfilterProtoFamily};
        let es = entries(
            &["10.1.0.2".parse().unwrap()],
            &[
                crate::ports::parse("1-3000:1-3000").unwrap(),
                crate::ports::parse("127.0.0.1:1-1500:1-1500/udp").unwrap(),
            ],
        )
        .unwrap();
        for add in [true, false] {
            let msgs = PublishedTable::elements(add, &es);
            // 3000 in one map (3 messages), 1500 in the other (2).
            assert_eq!(msgs.len(), 3 + 2);
            let mut total = 0;
            for (m, _) in msgs {
                let (NfTablesMessage::NewSetElement(e) | NfTablesMessage::DeleteSetElement(e)) = &m
                else {
                    panic!("{m:?}");
                };
                let n = e
                    .attributes
                    .iter()
                    .map(|a| match a {
                        SetElementList::Elements(l) => l.len(),
                        _ => 0,
                    })
                    .sum::<usize>();
                assert!(n <= super::super::MAX_ELEMENTS_PER_MESSAGE, "{n}");
                total += n;
                let mut nl = NetlinkMessage::from(NetfilterMessage::new(
                    NetfilterHeader::new(NetfilterProtoFamily::IPv4, 0, 0),
                    m,
                ));
                nl.finalize();
                let mut buf = vec![0; nl.buffer_len()];
                nl.emit(&mut buf);
                assert!(buf.len() < 65535, "{}", buf.len());
            }
            assert_eq!(total, 4500);
        }
    }
}
