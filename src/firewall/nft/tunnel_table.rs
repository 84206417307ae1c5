//! The overlays' ingress filter as nf_tables messages (`firewall::tunnel` has the layout;
//! `cnet_table` puts it in the table).

use super::set_ids::{SET_ID_GUARDED, SET_ID_PEERS};
use super::{
    NETWORK_HEADER, NftElements, Request, TABLE, TRANSPORT_HEADER, TYPE_INET_SERVICE, TYPE_INTEGER,
    TYPE_IPV4_ADDR, concat, is_ipv4, lookup, other_expr, payload, set_elements,
};
use crate::firewall::tunnel::{self, TunnelEntry};
use netlink_packet_core::NLM_F_CREATE;
use netlink_packet_netfilter::nftables::{
    Cmp, DataAttribute, ExpressionAttribute, Expressions, Immediate, ListAttribute, Meta, MetaKey,
    NfTablesMessage, Operator, Register, SetAttribute, SetFlags, SetMessage, Verdict,
    VerdictAttribute,
};

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
pub(super) fn tunnel_filter_rule() -> Vec<ListAttribute<ExpressionAttribute>> {
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
    e.extend(is_ipv4());
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

pub(super) fn new_tunnel_set(name: &str, id: u32, with_source: bool) -> Request {
    let guarded = concat(TYPE_INET_SERVICE, TYPE_INTEGER);
    let (key_type, key_len, userdata) = if with_source {
        (concat(guarded, TYPE_IPV4_ADDR), 12, PEERS_USERDATA.to_vec())
    } else {
        (guarded, 8, GUARDED_USERDATA.to_vec())
    };
    (
        NfTablesMessage::NewSet(SetMessage {
            attributes: vec![
                SetAttribute::Table(TABLE.into()),
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

/// The overlays' ingress filter's sets.
pub struct TunnelTable;

impl NftElements for TunnelTable {
    type Entry = TunnelEntry;
    const HOLDS: &'static str = "VXLAN peers";

    /// One message per set of the tunnel filter that has entries: add or delete them. Peers
    /// go first: a new overlay's peers are heard from the moment its VNI is guarded.
    fn elements(add: bool, entries: &[TunnelEntry]) -> Vec<Request> {
        set_elements(
            &[tunnel::SET_PEERS, tunnel::SET_GUARDED],
            add,
            entries,
            |e| e.set(),
            |e| e.key(),
            |_| None,
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
