//! The rules of `table inet cnet`'s chains as nf_tables expressions (`firewall::inet` has
//! them as nft writes them; `cnet_table` puts them in the table).

use super::set_ids::{
    SET_ID_BRIDGES, SET_ID_INTERNAL, SET_ID_SUBNETS4, SET_ID_SUBNETS6, SET_ID_WITHIN,
};
use super::tunnel_table::tunnel_filter_rule;
use super::{
    ACCEPT, DROP, NETWORK_HEADER, NFT_CT_STATE, NFT_CT_STATUS, any_bit, cmp, ct, is_ipv4, lookup,
    meta, other_expr, payload, verdict,
};
use crate::firewall::inet::{
    CHAIN_USER, SET_BRIDGES, SET_INTERNAL, SET_SUBNETS4, SET_SUBNETS6, SET_WITHIN,
};
use netlink_packet_netfilter::nftables::{
    ExpressionAttribute, ListAttribute, MetaKey, Operator, Register, Verdict,
};

pub(super) type Exprs = Vec<ListAttribute<ExpressionAttribute>>;

fn ifname(key: MetaKey) -> ListAttribute<ExpressionAttribute> {
    meta(key, Register::Reg1)
}

fn in_set(set: &str, id: u32) -> ListAttribute<ExpressionAttribute> {
    lookup(set, id, false)
}

/// `ip6 saddr . IFNAME @subnets6`: the address fills register 1, the name register 2.
fn source6_and(key: MetaKey) -> Exprs {
    let mut e: Exprs = vec![
        meta(MetaKey::Nfproto, Register::Reg1),
        cmp(Operator::Equal, &[libc::NFPROTO_IPV6 as u8]),
    ];
    e.push(payload(NETWORK_HEADER, 8, 16, Register::Reg1));
    e.push(meta(key, Register::Reg2));
    e.push(in_set(SET_SUBNETS6, SET_ID_SUBNETS6));
    e
}

/// `ip saddr . IFNAME @subnets4`: the address in register 1, the name in the next 32-bit one.
fn source_and(key: MetaKey) -> Exprs {
    let mut e: Exprs = is_ipv4().into();
    e.push(payload(NETWORK_HEADER, 12, 4, Register::Reg1));
    e.push(meta(key, Register::Reg32_01));
    e.push(in_set(SET_SUBNETS4, SET_ID_SUBNETS4));
    e
}

fn masq() -> ListAttribute<ExpressionAttribute> {
    other_expr("masq", &[])
}

/// `ip saddr|daddr 127.0.0.0/8`: the first byte of the address.
fn loopback(offset: u32) -> Exprs {
    let mut e: Exprs = is_ipv4().into();
    e.push(payload(NETWORK_HEADER, offset, 1, Register::Reg1));
    e.push(cmp(Operator::Equal, &[127]));
    e
}

const CT_DNAT: u32 = 0x20;
const CT_ESTABLISHED_RELATED: u32 = 0x2 | 0x4;

/// `inet::FORWARD_RULES`, in order.
pub(super) fn forward_rules() -> Vec<Exprs> {
    use MetaKey::{Iifname, Oifname};
    let bridges = || in_set(SET_BRIDGES, SET_ID_BRIDGES);
    let internal = || in_set(SET_INTERNAL, SET_ID_INTERNAL);
    let within = vec![
        ifname(Iifname),
        meta(Oifname, Register::Reg2),
        in_set(SET_WITHIN, SET_ID_WITHIN),
        verdict(ACCEPT, None),
    ];
    let mut dnat = vec![ifname(Oifname), bridges(), ct(NFT_CT_STATUS)];
    dnat.extend(any_bit(CT_DNAT));
    dnat.push(verdict(ACCEPT, None));
    let mut replies = vec![ifname(Oifname), bridges(), ct(NFT_CT_STATE)];
    replies.extend(any_bit(CT_ESTABLISHED_RELATED));
    replies.push(verdict(ACCEPT, None));
    vec![
        vec![verdict(Verdict::Jump, Some(CHAIN_USER))],
        within,
        vec![ifname(Oifname), internal(), verdict(DROP, None)],
        vec![ifname(Iifname), internal(), verdict(DROP, None)],
        dnat,
        vec![
            ifname(Iifname),
            bridges(),
            ifname(Oifname),
            bridges(),
            verdict(DROP, None),
        ],
        replies,
        vec![ifname(Iifname), bridges(), verdict(ACCEPT, None)],
    ]
}

/// `inet::INPUT_RULES`: nothing from an internal network reaches the host itself.
pub(super) fn input_rules() -> Vec<Exprs> {
    vec![vec![
        ifname(MetaKey::Iifname),
        in_set(SET_INTERNAL, SET_ID_INTERNAL),
        verdict(DROP, None),
    ]]
}

/// `inet::RAW_RULES`.
pub(super) fn raw_rules() -> Vec<Exprs> {
    let mut lo = vec![
        ifname(MetaKey::Iifname),
        in_set(SET_BRIDGES, SET_ID_BRIDGES),
    ];
    lo.extend(loopback(16));
    lo.push(verdict(DROP, None));
    vec![lo, tunnel_filter_rule()]
}

/// `inet::POSTROUTING_RULES`.
pub(super) fn postrouting_rules() -> Vec<Exprs> {
    let mut from_lo = loopback(12);
    from_lo.push(ifname(MetaKey::Oifname));
    from_lo.push(in_set(SET_BRIDGES, SET_ID_BRIDGES));
    from_lo.push(masq());
    let mut hairpin = source_and(MetaKey::Oifname);
    hairpin.push(ct(NFT_CT_STATUS));
    hairpin.extend(any_bit(CT_DNAT));
    hairpin.push(masq());
    let mut stays = source_and(MetaKey::Oifname);
    stays.push(verdict(Verdict::Return, None));
    let mut leaves = source_and(MetaKey::Iifname);
    leaves.push(masq());
    let mut hairpin6 = source6_and(MetaKey::Oifname);
    hairpin6.push(ct(NFT_CT_STATUS));
    hairpin6.extend(any_bit(CT_DNAT));
    hairpin6.push(masq());
    let mut stays6 = source6_and(MetaKey::Oifname);
    stays6.push(verdict(Verdict::Return, None));
    let mut leaves6 = source6_and(MetaKey::Iifname);
    leaves6.push(masq());
    vec![from_lo, hairpin, stays, leaves, hairpin6, stays6, leaves6]
}
