//! `table inet cnet` as nf_tables messages: the whole table in one batch, and the network
//! sets' elements (`firewall::inet` has the layout and the rules as nft writes them).

use super::cnet_rules::{Exprs, forward_rules, input_rules, postrouting_rules, raw_rules};
use super::published_table::{dnat_rules, new_base_chain, new_map};
use super::tunnel_table::new_tunnel_set;
use super::{
    NftElements, Request, TABLE, TYPE_IFNAME, TYPE_IPV4_ADDR, TYPE_IPV6_ADDR, concat, new_rule,
    new_table, set_elements,
};
use crate::firewall::inet::{
    CHAIN_USER, IFNAMSIZ, NetElement, SET_BRIDGES, SET_INTERNAL, SET_SUBNETS4, SET_SUBNETS6,
    SET_WITHIN,
};
use crate::firewall::published::{MAP_ANY, MAP_IP, MAP6_ANY, MAP6_IP};
use crate::firewall::tunnel;
use netlink_packet_core::{DefaultNla, NLA_F_NESTED, NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_netfilter::nftables::{
    ChainAttribute, ChainMessage, InetHookNumber, NfTablesMessage, RuleAttribute, RuleMessage,
    SetAttribute, SetDescription, SetElementList, SetElementMessage, SetFlags, SetMessage,
};

use super::set_ids::*;

/// What nft 1.0.6 attaches to these sets (byte orders), read only by nft when it prints them.
const IFNAME_USERDATA: [u8; 6] = [0x00, 0x04, 0x01, 0x00, 0x00, 0x00];
const CONCAT_USERDATA: [u8; 16] = [
    0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x03, 0x08, 0x00, 0x04, 0x0d, 0x00, 0x00, 0x00, 0x01, 0x00,
];

fn new_set(
    name: &str,
    id: u32,
    flags: SetFlags,
    key: (u32, u32),
    extra: Vec<SetAttribute>,
) -> Request {
    let mut attributes = vec![
        SetAttribute::Table(TABLE.into()),
        SetAttribute::Name(name.into()),
        SetAttribute::Flags(flags),
        SetAttribute::KeyType(key.0),
        SetAttribute::KeyLen(key.1),
        SetAttribute::Id(id),
    ];
    attributes.extend(extra);
    (
        NfTablesMessage::NewSet(SetMessage { attributes }),
        NLM_F_CREATE,
    )
}

/// `NFTA_SET_DESC_CONCAT`: the length of each field of an interval concatenation.
fn concat_desc(fields: &[u32]) -> SetAttribute {
    const NFTA_LIST_ELEM: u16 = 1;
    const NFTA_SET_FIELD_LEN: u16 = 1;
    let elems = fields
        .iter()
        .map(|len| {
            let mut inner = Vec::with_capacity(8);
            inner.extend_from_slice(&8u16.to_ne_bytes());
            inner.extend_from_slice(&NFTA_SET_FIELD_LEN.to_ne_bytes());
            inner.extend_from_slice(&len.to_be_bytes());
            DefaultNla::new(NFTA_LIST_ELEM | NLA_F_NESTED, inner)
        })
        .collect();
    SetAttribute::Description(vec![SetDescription::Concat(elems)])
}

fn network_sets() -> Vec<Request> {
    let ifname = (TYPE_IFNAME, IFNAMSIZ as u32);
    vec![
        new_set(
            SET_BRIDGES,
            SET_ID_BRIDGES,
            SetFlags::empty(),
            ifname,
            vec![SetAttribute::UserData(IFNAME_USERDATA.to_vec())],
        ),
        new_set(
            SET_INTERNAL,
            SET_ID_INTERNAL,
            SetFlags::empty(),
            ifname,
            vec![SetAttribute::UserData(IFNAME_USERDATA.to_vec())],
        ),
        new_set(
            SET_WITHIN,
            SET_ID_WITHIN,
            SetFlags::empty(),
            (concat(TYPE_IFNAME, TYPE_IFNAME), 2 * IFNAMSIZ as u32),
            vec![SetAttribute::UserData(CONCAT_USERDATA.to_vec())],
        ),
        new_set(
            SET_SUBNETS4,
            SET_ID_SUBNETS4,
            SetFlags::Interval | SetFlags::Concat,
            (concat(TYPE_IPV4_ADDR, TYPE_IFNAME), 4 + IFNAMSIZ as u32),
            vec![
                concat_desc(&[4, IFNAMSIZ as u32]),
                SetAttribute::UserData(CONCAT_USERDATA.to_vec()),
            ],
        ),
        new_set(
            SET_SUBNETS6,
            SET_ID_SUBNETS6,
            SetFlags::Interval | SetFlags::Concat,
            (concat(TYPE_IPV6_ADDR, TYPE_IFNAME), 16 + IFNAMSIZ as u32),
            vec![
                concat_desc(&[16, IFNAMSIZ as u32]),
                SetAttribute::UserData(CONCAT_USERDATA.to_vec()),
            ],
        ),
    ]
}

fn regular_chain(name: &str) -> Request {
    (
        NfTablesMessage::NewChain(ChainMessage {
            attributes: vec![
                ChainAttribute::Table(TABLE.into()),
                ChainAttribute::Name(name.into()),
            ],
        }),
        NLM_F_CREATE,
    )
}

/// The whole table, empty sets included, as one transaction's messages (`inet::table_script`).
/// NLM_F_EXCL on the table: a table already there fails the batch.
pub fn create() -> Vec<Request> {
    let (mut out, rules) = declarations_and_rules();
    out.extend(rules);
    out
}

/// The table made again in one transaction (`firewall reload`): what is missing of it created,
/// cnet's chains and sets emptied, their rules and the `elements` put back. The admin's chain
/// and its rules are left as they are.
pub fn rebuild(elements: Vec<Request>) -> Vec<Request> {
    let (mut out, rules) = declarations_and_rules();
    // Made if missing, left alone if there.
    out[0].1 &= !NLM_F_EXCL;
    for chain in crate::firewall::inet::CNET_CHAINS {
        out.push((
            NfTablesMessage::DeleteRule(RuleMessage {
                attributes: vec![
                    RuleAttribute::Table(TABLE.into()),
                    RuleAttribute::Chain(chain.into()),
                ],
            }),
            0,
        ));
    }
    for set in ALL_SETS {
        out.push((
            NfTablesMessage::DeleteSetElement(SetElementMessage {
                attributes: vec![
                    SetElementList::Table(TABLE.into()),
                    SetElementList::Set(set.into()),
                ],
            }),
            0,
        ));
    }
    out.extend(rules);
    out.extend(elements);
    out
}

/// Every set and map of the table.
pub const ALL_SETS: [&str; 11] = [
    SET_BRIDGES,
    SET_INTERNAL,
    SET_WITHIN,
    SET_SUBNETS4,
    SET_SUBNETS6,
    MAP_ANY,
    MAP_IP,
    MAP6_ANY,
    MAP6_IP,
    tunnel::SET_GUARDED,
    tunnel::SET_PEERS,
];

/// The table, its sets and chains; then the rules of its chains.
fn declarations_and_rules() -> (Vec<Request>, Vec<Request>) {
    const PRI_RAW: i32 = -300;
    const PRI_DSTNAT: i32 = -100;
    const PRI_FILTER: i32 = 0;
    const PRI_SRCNAT: i32 = 100;
    let mut out = vec![new_table(TABLE)];
    out.extend(network_sets());
    out.push(new_map(MAP_ANY, SET_ID_ANY, false, false));
    out.push(new_map(MAP_IP, SET_ID_IP, true, false));
    out.push(new_map(MAP6_ANY, SET_ID_ANY6, false, true));
    out.push(new_map(MAP6_IP, SET_ID_IP6, true, true));
    out.push(new_tunnel_set(tunnel::SET_GUARDED, SET_ID_GUARDED, false));
    out.push(new_tunnel_set(tunnel::SET_PEERS, SET_ID_PEERS, true));
    out.push(regular_chain(CHAIN_USER));
    let chains: [(&str, &str, InetHookNumber, i32, Vec<Exprs>); 6] = [
        (
            "forward",
            "filter",
            InetHookNumber::Forward,
            PRI_FILTER,
            forward_rules(),
        ),
        (
            "input",
            "filter",
            InetHookNumber::LocalIn,
            PRI_FILTER,
            input_rules(),
        ),
        (
            "raw",
            "filter",
            InetHookNumber::PreRouting,
            PRI_RAW,
            raw_rules(),
        ),
        (
            "prerouting",
            "nat",
            InetHookNumber::PreRouting,
            PRI_DSTNAT,
            dnat_rules(),
        ),
        (
            "output",
            "nat",
            InetHookNumber::LocalOut,
            PRI_DSTNAT,
            dnat_rules(),
        ),
        (
            "postrouting",
            "nat",
            InetHookNumber::PostRouting,
            PRI_SRCNAT,
            postrouting_rules(),
        ),
    ];
    let mut all_rules = Vec::new();
    for (name, kind, hook, priority, rules) in chains {
        out.push(new_base_chain(name, kind, hook, priority));
        for r in rules {
            all_rules.push(new_rule(TABLE, name, r));
        }
    }
    (out, all_rules)
}

/// The network sets.
pub struct NetSets;

impl NftElements for NetSets {
    type Entry = NetElement;
    const HOLDS: &'static str = "networks";

    fn elements(add: bool, entries: &[NetElement]) -> Vec<Request> {
        set_elements(
            // The isolating sets first, as `inet::network_elements` orders them.
            &[
                SET_INTERNAL,
                SET_BRIDGES,
                SET_WITHIN,
                SET_SUBNETS4,
                SET_SUBNETS6,
                // An overlay's peers before its guard: heard from the moment it is guarded.
                tunnel::SET_PEERS,
                tunnel::SET_GUARDED,
            ],
            add,
            entries,
            |e| e.set(),
            |e| e.key(),
            |_| None,
            |e| e.key_end(),
        )
    }

    fn entry_text(e: &NetElement) -> String {
        e.text()
    }
}

#[cfg(test)]
mod tests {
    use super::super::kind;
    use super::*;
    use crate::firewall::inet;

    #[test]
    fn the_table_is_made_whole_in_one_batch_and_refuses_to_be_made_twice() {
        let msgs = create();
        assert_eq!(kind(&msgs[0].0), "table");
        assert_ne!(
            msgs[0].1 & NLM_F_EXCL,
            0,
            "an existing table fails the batch"
        );
        let count = |k: &str| msgs.iter().filter(|(m, _)| kind(m) == k).count();
        assert_eq!(count("set"), 11);
        assert_eq!(count("chain"), 7);
        // As many rules as the table's script says.
        let script = inet::FORWARD_RULES.len()
            + inet::INPUT_RULES.len()
            + inet::RAW_RULES.len()
            + 2 * inet::DNAT_RULES.len()
            + inet::POSTROUTING_RULES.len();
        assert_eq!(count("rule"), script);
        // Every lookup names a set made before it in the batch, by name and by id.
        let sets: Vec<String> = msgs
            .iter()
            .filter_map(|(m, _)| match m {
                NfTablesMessage::NewSet(s) => Some(format!("{s:?}")),
                _ => None,
            })
            .collect();
        for (m, _) in &msgs {
            if let NfTablesMessage::NewRule(r) = m {
                let text = format!("{r:?}");
                for (i, _) in text.match_indices("Lookup([") {
                    let l = &text[i..];
                    let name = l.split("Set(\"").nth(1).unwrap().split('"').next().unwrap();
                    let id = l.split("SetId(").nth(1).unwrap().split(')').next().unwrap();
                    assert!(
                        sets.iter().any(|s| s.contains(&format!("Name(\"{name}\")"))
                            && s.contains(&format!("Id({id})"))),
                        "{name} {id}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_rebuild_empties_cnets_chains_and_sets_but_never_the_admins() {
        let msgs = rebuild(Vec::new());
        assert_eq!(msgs[0].1 & NLM_F_EXCL, 0, "a table there is kept");
        let flushed: Vec<String> = msgs
            .iter()
            .filter(|(m, _)| matches!(m, NfTablesMessage::DeleteRule(_)))
            .map(|(m, _)| format!("{m:?}"))
            .collect();
        assert_eq!(flushed.len(), 6);
        assert!(
            flushed.iter().all(|f| !f.contains("\"user\"")),
            "{flushed:?}"
        );
        // Flushed before the rules go back in.
        let last_flush = msgs
            .iter()
            .rposition(|(m, _)| matches!(m, NfTablesMessage::DeleteSetElement(_)))
            .unwrap();
        let first_rule = msgs.iter().position(|(m, _)| kind(m) == "rule").unwrap();
        assert!(last_flush < first_rule);
    }

    #[test]
    fn the_subnet_set_is_an_interval_concatenation_with_its_field_lengths() {
        let subnets = format!("{:?}", network_sets()[3].0);
        assert!(subnets.contains("Interval | Concat"), "{subnets}");
        assert!(subnets.contains("KeyLen(20)"), "{subnets}");
        assert!(subnets.contains("Concat(["), "{subnets}");
    }

    #[test]
    fn network_elements_carry_an_interval_end_only_for_subnets() {
        let es = inet::network_elements(&inet::NetworkFw {
            bridge: "cn-lab",
            subnets: &["10.1.0.0/24".parse().unwrap()],
            internal: false,
        });
        let msgs = NetSets::elements(true, &es);
        assert_eq!(msgs.len(), 3, "one message per set");
        let text: Vec<String> = msgs.iter().map(|(m, _)| format!("{m:?}")).collect();
        assert!(text[0].contains("Set(\"bridges\")") && !text[0].contains("KeyEnd"));
        assert!(text[2].contains("Set(\"subnets4\")") && text[2].contains("KeyEnd"));
        assert_eq!(kind(&NetSets::elements(false, &es)[0].0), "delete");
    }
}
