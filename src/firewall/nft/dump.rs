//! Reading the elements of one of cnet's sets or maps back from the kernel (`nft list set`),
//! for `cnet gc`: which published ports and tunnel peers are there, whatever the state says.

use super::*;
use netlink_packet_core::{NLM_F_DUMP, ParseableParametrized};
use netlink_packet_netfilter::NetfilterMessageInner;
use netlink_packet_netfilter::nftables::DataAttribute;

/// NFT_MSG_NEWSETELEM, as the kernel answers a dump.
const NEWSETELEM_REPLY: u16 = (NFNL_SUBSYS_NFTABLES << 8) | 12;

/// One element as the kernel holds it: its key and, in a map, its data (raw, each field in its
/// own 32-bit register).
pub type RawElement = (Vec<u8>, Option<Vec<u8>>);

impl Nft {
    /// Every element of set (or map) `set` of table `ip TABLE`; none when either is missing.
    pub fn elements(&mut self, table: &str, set: &str) -> Result<Vec<RawElement>> {
        let (seq, bytes) = self.message(
            NfTablesMessage::GetSetElement(SetElementMessage {
                attributes: vec![
                    SetElementList::Table(table.into()),
                    SetElementList::Set(set.into()),
                ],
            }),
            NetfilterProtoFamily::IPv4,
            0,
            NLM_F_REQUEST | NLM_F_DUMP,
        );
        let fail = |r: Refused| refused(format!("list set ip {table} {set}"), &r);
        self.send(&bytes).map_err(fail)?;
        let mut out = Vec::new();
        let mut errno = 0;
        self.receive(|s, kind, payload| {
            if s != seq {
                return true;
            }
            match kind {
                NEWSETELEM_REPLY => {
                    out.extend(parse_elements(kind, payload));
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
            0 | libc::ENOENT => Ok(out),
            e => Err(fail(Refused { errno: e })),
        }
    }
}

/// The elements of one dump message; what does not parse is left out.
fn parse_elements(kind: u16, payload: &[u8]) -> Vec<RawElement> {
    let Ok(msg) = NetfilterMessage::parse_with_param(payload, kind) else {
        return Vec::new();
    };
    let NetfilterMessageInner::NfTables(NfTablesMessage::NewSetElement(m)) = msg.inner else {
        return Vec::new();
    };
    let value = |d: &DataAttribute| match d {
        DataAttribute::Value(v) => Some(v.clone()),
        _ => None,
    };
    let mut out = Vec::new();
    for list in m.attributes {
        let SetElementList::Elements(elements) = list else {
            continue;
        };
        for element in elements {
            let ListAttribute::Element(attrs) = element else {
                continue;
            };
            let (mut key, mut data) = (None, None);
            for a in &attrs {
                match a {
                    SetElementAttribute::Key(k) => key = value(k),
                    SetElementAttribute::Data(d) => data = value(d),
                    _ => {}
                }
            }
            if let Some(key) = key {
                out.push((key, data));
            }
        }
    }
    out
}
