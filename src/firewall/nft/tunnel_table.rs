//! `table ip cnet-vxlan`: the overlays' ingress filter as nf_tables messages
//! (`firewall::tunnel` has the layout).

use super::{
    NETWORK_HEADER, NftTable, Request, TRANSPORT_HEADER, TYPE_INET_SERVICE, TYPE_INTEGER,
    TYPE_IPV4_ADDR, concat, lookup, new_rule, new_table, other_expr, payload, set_elements,
};
use crate::firewall::tunnel::{self, TunnelEntry};
use netlink_packet_core::NLM_F_CREATE;
use netlink_packet_netfilter::nftables::{
    ChainAttribute, ChainMessage, Cmp, DataAttribute, ExpressionAttribute, Expressions, Hook,
    HookNumber, Immediate, InetHookNumber, ListAttribute, Meta, MetaKey, NfTablesMessage, Operator,
    Register, SetAttribute, SetFlags, SetMessage, Verdict, VerdictAttribute,
};

/// Transaction ids of the two sets inside the batch that creates them (the rule refers to them).
const SET_ID_GUARDED: u32 = 1;
const SET_ID_PEERS: u32 = 2;

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

/// `table ip cnet-vxlan`: the overlays' ingress filter.
pub struct TunnelTable;

impl NftTable for TunnelTable {
    type Entry = TunnelEntry;
    const NAME: &'static str = tunnel::TABLE;
    const HOLDS: &'static str = "VXLAN peers";

    /// The overlays' ingress filter (`tunnel`), empty sets included, as one transaction's
    /// messages: a filter chain at the raw priority, before conntrack and the VXLAN device.
    fn create() -> Vec<Request> {
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

    /// One message per set of the tunnel filter that has entries: add or delete them. Peers
    /// go first: a new overlay's peers are heard from the moment its VNI is guarded.
    fn elements(add: bool, entries: &[TunnelEntry]) -> Vec<Request> {
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

    fn entry_text(e: &TunnelEntry) -> String {
        e.element_text()
    }
}

#[cfg(test)]
mod tests {
    use super::super::kind;
    use super::*;
    use netlink_packet_core::NLM_F_EXCL;

    #[test]
    fn the_tunnel_filter_is_one_rule_over_two_sets_made_in_the_same_batch() {
        let msgs = TunnelTable::create();
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
        let add = TunnelTable::elements(true, &es);
        let sets: Vec<String> = add.iter().map(|(m, _)| format!("{m:?}")).collect();
        assert_eq!(add.len(), 2);
        assert!(sets[0].contains("Set(\"peers\")") && sets[1].contains("Set(\"guarded\")"));
        assert!(
            !sets.iter().any(|s| s.contains("Data(")),
            "plain sets carry keys only"
        );
        assert_eq!(kind(&TunnelTable::elements(false, &es)[0].0), "delete");
    }
}
