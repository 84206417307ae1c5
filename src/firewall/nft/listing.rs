//! Reading back what the table holds: the keys of a set's elements and the number of rules,
//! for `firewall status` and for `gc` (elements of networks that no longer exist).

use super::{
    NFNL_SUBSYS_NFTABLES, NLMSG_DONE, NLMSG_ERROR, Nft, Refused, TABLE, error_code, refused,
};
use crate::error::Result;
use netlink_packet_core::{NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_netfilter::NetfilterProtoFamily;
use netlink_packet_netfilter::nftables::{
    NfTablesMessage, RuleAttribute, RuleMessage, SetElementList, SetElementMessage,
};

const NFT_MSG_NEWRULE: u16 = 6;
const NFT_MSG_NEWSETELEM: u16 = 12;

/// An element's key, and its interval end if it has one.
pub type Key = (Vec<u8>, Option<Vec<u8>>);

/// The attributes of a netlink payload: (type without flags, value).
fn attributes(mut b: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while b.len() >= 4 {
        let len = u16::from_ne_bytes([b[0], b[1]]) as usize;
        let kind = u16::from_ne_bytes([b[2], b[3]]) & 0x3fff;
        if len < 4 || len > b.len() {
            break;
        }
        out.push((kind, &b[4..len]));
        b = &b[len.next_multiple_of(4).min(b.len())..];
    }
    out
}

/// The value inside a nested `NFTA_DATA_VALUE`.
fn data_value(nested: &[u8]) -> Option<Vec<u8>> {
    const NFTA_DATA_VALUE: u16 = 1;
    attributes(nested)
        .into_iter()
        .find(|(k, _)| *k == NFTA_DATA_VALUE)
        .map(|(_, v)| v.to_vec())
}

/// One element as the kernel holds it: its key, its interval end if it has one, and in a map
/// its data (raw, each field in its own 32-bit register).
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    pub key: Vec<u8>,
    pub key_end: Option<Vec<u8>>,
    pub data: Option<Vec<u8>>,
}

/// The elements in one NEWSETELEM message (after its nfgenmsg header).
pub(super) fn elements_of(payload: &[u8]) -> Vec<Element> {
    const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
    const NFTA_SET_ELEM_KEY: u16 = 1;
    const NFTA_SET_ELEM_DATA: u16 = 2;
    const NFTA_SET_ELEM_KEY_END: u16 = 10;
    let Some(attrs) = payload.get(4..) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (kind, list) in attributes(attrs) {
        if kind != NFTA_SET_ELEM_LIST_ELEMENTS {
            continue;
        }
        for (_, elem) in attributes(list) {
            let fields = attributes(elem);
            let get = |k| {
                fields
                    .iter()
                    .find(|(kind, _)| *kind == k)
                    .and_then(|(_, v)| data_value(v))
            };
            if let Some(key) = get(NFTA_SET_ELEM_KEY) {
                out.push(Element {
                    key,
                    key_end: get(NFTA_SET_ELEM_KEY_END),
                    data: get(NFTA_SET_ELEM_DATA),
                });
            }
        }
    }
    out
}

impl Nft {
    /// Send a dump request and hand every reply of type `reply` to `each`; a missing table or
    /// set reads as empty.
    fn dump(
        &mut self,
        request: NfTablesMessage,
        reply: u16,
        mut each: impl FnMut(&[u8]),
    ) -> std::result::Result<(), Refused> {
        let (seq, bytes) = self.message(
            request,
            NetfilterProtoFamily::Inet,
            0,
            NLM_F_REQUEST | NLM_F_DUMP,
        );
        self.send(&bytes)?;
        let mut errno = 0;
        let want = (NFNL_SUBSYS_NFTABLES << 8) | reply;
        self.receive(|s, kind, payload| {
            if s != seq {
                return true;
            }
            match kind {
                NLMSG_DONE => false,
                NLMSG_ERROR => {
                    errno = error_code(payload);
                    false
                }
                k if k == want => {
                    each(payload);
                    true
                }
                _ => true,
            }
        })?;
        match errno {
            0 | libc::ENOENT => Ok(()),
            e => Err(Refused { errno: e }),
        }
    }

    /// A set's (or a map's) elements.
    pub fn set_elements(&mut self, set: &str) -> Result<Vec<Element>> {
        let mut out = Vec::new();
        let request = NfTablesMessage::GetSetElement(SetElementMessage {
            attributes: vec![
                SetElementList::Table(TABLE.into()),
                SetElementList::Set(set.into()),
            ],
        });
        self.dump(request, NFT_MSG_NEWSETELEM, |p| out.extend(elements_of(p)))
            .map_err(|r| refused(format!("list set inet {TABLE} {set}"), &r))?;
        Ok(out)
    }

    /// The keys of a set's elements.
    pub fn set_keys(&mut self, set: &str) -> Result<Vec<Key>> {
        Ok(self
            .set_elements(set)?
            .into_iter()
            .map(|e| (e.key, e.key_end))
            .collect())
    }

    /// How many rules the table holds (in one chain of it, if given).
    pub fn rule_count(&mut self, chain: Option<&str>) -> Result<usize> {
        let mut n = 0;
        let mut attributes = vec![RuleAttribute::Table(TABLE.into())];
        if let Some(c) = chain {
            attributes.push(RuleAttribute::Chain(c.into()));
        }
        let request = NfTablesMessage::GetRule(RuleMessage { attributes });
        self.dump(request, NFT_MSG_NEWRULE, |_| n += 1)
            .map_err(|r| refused(format!("list table inet {TABLE}"), &r))?;
        Ok(n)
    }
}

/// An interface name out of a NUL-padded key field.
pub fn ifname(field: &[u8]) -> String {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut v = ((4 + value.len()) as u16).to_ne_bytes().to_vec();
        v.extend(kind.to_ne_bytes());
        v.extend(value);
        while !v.len().is_multiple_of(4) {
            v.push(0);
        }
        v
    }

    #[test]
    fn keys_and_interval_ends_are_read_from_a_reply() {
        let key = |bytes: &[u8]| nla(0x8000 | 1, &nla(1, bytes));
        let mut elem = key(b"cn-lab\0\0\0\0\0\0\0\0\0\0");
        let mut e2 = key(&[10, 1, 0, 0]);
        e2.extend(nla(0x8000 | 10, &nla(1, &[10, 1, 0, 255])));
        let mut list = nla(0x8000 | 1, &elem);
        list.extend(nla(0x8000 | 1, &e2));
        elem = vec![1, 0, 0, 0];
        elem.extend(nla(1, b"cnet\0"));
        elem.extend(nla(0x8000 | 3, &list));
        let keys = elements_of(&elem);
        assert_eq!(keys.len(), 2);
        assert_eq!(ifname(&keys[0].key), "cn-lab");
        assert_eq!(keys[0].key_end, None);
        assert_eq!(keys[1].key, vec![10, 1, 0, 0]);
        assert_eq!(keys[1].key_end, Some(vec![10, 1, 0, 255]));
        assert_eq!(keys[1].data, None);
    }
}
