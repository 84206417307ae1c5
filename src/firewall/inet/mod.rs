//! `table inet cnet`: every rule of cnet's, for both address families, in one nftables table.
//! Pure: the layout, what a network adds to it (elements of sets, never rules), and how it all
//! reads as `nft` commands; `firewall::nft` speaks it to the kernel.
//!
//! ```text
//! table inet cnet {
//!   set bridges  { type ifname; }                  # bridges of networks with outside access
//!   set internal { type ifname; }                  # bridges of --internal networks (and overlays)
//!   set within   { type ifname . ifname; }         # BR . BR: traffic inside one bridge
//!   set subnets4 { type ipv4_addr . ifname; flags interval; }   # SUBNET . BR, for masquerade
//!   set subnets6 { type ipv6_addr . ifname; flags interval; }   # the same for IPv6 subnets
//!   map published, published-ip                    # published ports (firewall::published)
//!   set guarded, peers                             # the overlays' ingress filter (firewall::tunnel)
//!   chain user { }                                 # the admin's: cnet creates it, never writes it
//!   chain forward { type filter hook forward priority filter; policy accept;
//!     jump user
//!     iifname . oifname @within accept              # inside one network
//!     oifname @internal drop                        # nothing enters an internal network
//!     iifname @internal drop                        # nothing leaves it
//!     oifname @bridges ct status dnat accept        # published ports (from anywhere)
//!     iifname @bridges oifname @bridges drop        # isolation between networks
//!     oifname @bridges ct state established,related accept   # replies
//!     iifname @bridges accept }                     # outbound
//!   chain input { type filter hook input priority filter; policy accept;
//!     iifname @internal drop }                      # an internal network reaches no host address
//!   chain raw { type filter hook prerouting priority raw; policy accept;
//!     iifname @bridges ip daddr 127.0.0.0/8 drop    # route_localnet must not open the host's lo
//!     (the tunnel filter) }
//!   chain prerouting, output { type nat ...; (the published ports' DNAT) }
//!   chain postrouting { type nat hook postrouting priority srcnat; policy accept;
//!     ip saddr 127.0.0.0/8 oifname @bridges masquerade         # the host's 127.0.0.1 to a port
//!     ip saddr . oifname @subnets4 ct status dnat masquerade   # hairpin
//!     ip saddr . oifname @subnets4 return                      # stays in its network
//!     ip saddr . iifname @subnets4 masquerade                  # leaves it
//!     (the same three with ip6 saddr and @subnets6) }
//! }
//! ```
//!
//! The forward rules match interfaces only, so they serve IPv4 and IPv6 alike; only masquerade
//! needs the source address, one set per family: a network's IPv6 subnet, passed in
//! [`NetworkFw::subnets`] beside its IPv4 one, becomes a `subnets6` element.
//!
//! A network is a handful of elements (a bridge in two sets, its subnet in one), so creating
//! or removing one, like attaching with published ports, is one netlink transaction of
//! elements, whatever the number of networks and endpoints: no rule is listed, matched or
//! deleted by handle. The order of the rules never depends on the networks.

mod script;

pub use script::{
    CNET_CHAINS, DNAT_RULES, FORWARD_RULES, INPUT_RULES, POSTROUTING_RULES, RAW_RULES, Script,
    TableChange, element_lines, rebuild_script, table_script,
};

use super::tunnel::TunnelEntry;
use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};

/// The table (family inet) that holds every rule of cnet's.
pub const TABLE: &str = "cnet";
/// Bridges of networks with outside access.
pub const SET_BRIDGES: &str = "bridges";
/// Bridges of internal networks (overlays included).
pub const SET_INTERNAL: &str = "internal";
/// `BR . BR` for every network: traffic that stays inside its bridge.
pub const SET_WITHIN: &str = "within";
/// `SUBNET . BR` of networks with outside access: who is masqueraded.
pub const SET_SUBNETS4: &str = "subnets4";
/// The same for their IPv6 subnets.
pub const SET_SUBNETS6: &str = "subnets6";
/// The admin's own chain, jumped to first from forward; cnet never writes into it.
pub const CHAIN_USER: &str = "user";

/// `IFNAMSIZ`: an interface name as a set key, NUL-padded.
pub const IFNAMSIZ: usize = 16;

/// One element of the network sets.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum NetElement {
    Bridge(String),
    Internal(String),
    Within(String),
    Subnet4 {
        net: Ipv4Network,
        bridge: String,
    },
    Subnet6 {
        net: Ipv6Network,
        bridge: String,
    },
    /// An overlay's tunnel filter element (`firewall::tunnel`), so that an overlay's bridge
    /// and its tunnel go in and out in one transaction.
    Tunnel(TunnelEntry),
}

/// What the firewall needs to know about a network on a bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkFw<'a> {
    pub bridge: &'a str,
    /// Its subnets, of either family (a dual-stack network has one of each).
    pub subnets: &'a [IpNetwork],
    pub internal: bool,
}

/// The elements a network adds: its bridge in `within` and in `bridges` or `internal`, and,
/// unless internal, each subnet in `subnets4` or `subnets6` (masquerade). In the order they go
/// in: the isolating set first.
pub fn network_elements(n: &NetworkFw) -> Vec<NetElement> {
    let br = n.bridge.to_string();
    if n.internal {
        return vec![NetElement::Internal(br.clone()), NetElement::Within(br)];
    }
    let mut out = vec![
        NetElement::Bridge(br.clone()),
        NetElement::Within(br.clone()),
    ];
    for subnet in n.subnets {
        out.push(match *subnet {
            IpNetwork::V4(net) => NetElement::Subnet4 {
                net,
                bridge: br.clone(),
            },
            IpNetwork::V6(net) => NetElement::Subnet6 {
                net,
                bridge: br.clone(),
            },
        });
    }
    out
}

fn ifname_key(out: &mut Vec<u8>, name: &str) {
    let mut field = [0u8; IFNAMSIZ];
    let n = name.len().min(IFNAMSIZ - 1);
    field[..n].copy_from_slice(&name.as_bytes()[..n]);
    out.extend_from_slice(&field);
}

impl NetElement {
    pub fn set(&self) -> &'static str {
        match self {
            NetElement::Bridge(_) => SET_BRIDGES,
            NetElement::Internal(_) => SET_INTERNAL,
            NetElement::Within(_) => SET_WITHIN,
            NetElement::Subnet4 { .. } => SET_SUBNETS4,
            NetElement::Subnet6 { .. } => SET_SUBNETS6,
            NetElement::Tunnel(t) => t.set(),
        }
    }

    /// The bridge the element is about (none for a tunnel's).
    pub fn bridge(&self) -> Option<&str> {
        match self {
            NetElement::Bridge(b) | NetElement::Internal(b) | NetElement::Within(b) => Some(b),
            NetElement::Subnet4 { bridge, .. } | NetElement::Subnet6 { bridge, .. } => Some(bridge),
            NetElement::Tunnel(_) => None,
        }
    }

    /// The key as the rules load it (an address in network order, names NUL-padded).
    pub fn key(&self) -> Vec<u8> {
        let mut k = Vec::with_capacity(2 * IFNAMSIZ);
        match self {
            NetElement::Bridge(b) | NetElement::Internal(b) => ifname_key(&mut k, b),
            NetElement::Within(b) => {
                ifname_key(&mut k, b);
                ifname_key(&mut k, b);
            }
            NetElement::Subnet4 { net, bridge } => {
                k.extend_from_slice(&net.network().octets());
                ifname_key(&mut k, bridge);
            }
            NetElement::Subnet6 { net, bridge } => {
                k.extend_from_slice(&net.network().octets());
                ifname_key(&mut k, bridge);
            }
            NetElement::Tunnel(t) => return t.key(),
        }
        k
    }

    /// The end of an interval element (a subnet's last address . the bridge).
    pub fn key_end(&self) -> Option<Vec<u8>> {
        let (mut k, bridge) = match self {
            NetElement::Subnet4 { net, bridge } => (net.broadcast().octets().to_vec(), bridge),
            NetElement::Subnet6 { net, bridge } => {
                let host_bits = u128::MAX.checked_shr(u32::from(net.prefix())).unwrap_or(0);
                let last = u128::from(net.network()) | host_bits;
                (last.to_be_bytes().to_vec(), bridge)
            }
            _ => return None,
        };
        ifname_key(&mut k, bridge);
        Some(k)
    }

    /// The element as nft writes it: `"cn-lab"`, `"cn-lab" . "cn-lab"`,
    /// `10.1.0.0/24 . "cn-lab"`.
    pub fn text(&self) -> String {
        match self {
            NetElement::Bridge(b) | NetElement::Internal(b) => format!("\"{b}\""),
            NetElement::Within(b) => format!("\"{b}\" . \"{b}\""),
            NetElement::Subnet4 { net, bridge } => format!("{net} . \"{bridge}\""),
            NetElement::Subnet6 { net, bridge } => format!("{net} . \"{bridge}\""),
            NetElement::Tunnel(t) => t.element_text(),
        }
    }
}

/// A set's element read back from the kernel (`nft::listing`), as the element it is.
pub fn element_from_key(set: &str, (key, end): &(Vec<u8>, Option<Vec<u8>>)) -> Option<NetElement> {
    let name = |field: &[u8]| super::nft::listing::ifname(field);
    match set {
        SET_BRIDGES => Some(NetElement::Bridge(name(key))),
        SET_INTERNAL => Some(NetElement::Internal(name(key))),
        SET_WITHIN => Some(NetElement::Within(name(key.get(..IFNAMSIZ)?))),
        SET_SUBNETS4 => {
            let first: [u8; 4] = key.get(..4)?.try_into().ok()?;
            let last: [u8; 4] = end.as_ref()?.get(..4)?.try_into().ok()?;
            // The prefix is the number of leading bits first and last share.
            let diff = u32::from_be_bytes(first) ^ u32::from_be_bytes(last);
            let net = Ipv4Network::new(first.into(), diff.leading_zeros() as u8).ok()?;
            Some(NetElement::Subnet4 {
                net,
                bridge: name(key.get(4..)?),
            })
        }
        SET_SUBNETS6 => {
            let first: [u8; 16] = key.get(..16)?.try_into().ok()?;
            let last: [u8; 16] = end.as_ref()?.get(..16)?.try_into().ok()?;
            let diff = u128::from_be_bytes(first) ^ u128::from_be_bytes(last);
            let net = Ipv6Network::new(first.into(), diff.leading_zeros() as u8).ok()?;
            Some(NetElement::Subnet6 {
                net,
                bridge: name(key.get(16..)?),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4() -> &'static [IpNetwork] {
        Box::leak(Box::new(["10.1.0.0/24".parse().unwrap()]))
    }

    fn lab(internal: bool) -> NetworkFw<'static> {
        NetworkFw {
            bridge: "cn-lab",
            subnets: v4(),
            internal,
        }
    }

    #[test]
    fn a_network_is_its_bridge_and_subnet_as_elements() {
        let es = network_elements(&lab(false));
        let text: Vec<(&str, String)> = es.iter().map(|e| (e.set(), e.text())).collect();
        assert_eq!(
            text,
            [
                ("bridges", "\"cn-lab\"".to_string()),
                ("within", "\"cn-lab\" . \"cn-lab\"".to_string()),
                ("subnets4", "10.1.0.0/24 . \"cn-lab\"".to_string()),
            ]
        );
        let internal = network_elements(&lab(true));
        assert_eq!(
            internal,
            [
                NetElement::Internal("cn-lab".into()),
                NetElement::Within("cn-lab".into())
            ],
            "an internal network is never masqueraded"
        );
    }

    #[test]
    fn keys_are_laid_out_as_the_rules_load_them() {
        // As `nft --debug=netlink add element inet cnet subnets4 { 10.1.0.0/24 . "cn-lab" }`
        // shows them: 0000010a 6c2d6e63 00006261 … - ff00010a 6c2d6e63 00006261 …
        let e = NetElement::Subnet4 {
            net: "10.1.0.0/24".parse().unwrap(),
            bridge: "cn-lab".into(),
        };
        let mut want = vec![10, 1, 0, 0];
        want.extend(b"cn-lab\0\0\0\0\0\0\0\0\0\0");
        assert_eq!(e.key(), want);
        want[3] = 255;
        assert_eq!(e.key_end().unwrap(), want);
        let w = NetElement::Within("cn-lab".into()).key();
        assert_eq!(w.len(), 32);
        assert_eq!(&w[..16], &w[16..]);
        assert_eq!(NetElement::Bridge("cn-lab".into()).key_end(), None);
    }

    #[test]
    fn elements_read_back_are_the_elements_written() {
        let v6 = [
            "fd00:1::/64".parse().unwrap(),
            "fd00:2::/128".parse().unwrap(),
        ];
        let dual = NetworkFw {
            subnets: &v6,
            ..lab(false)
        };
        for e in network_elements(&lab(false))
            .into_iter()
            .chain(network_elements(&lab(true)))
            .chain(network_elements(&dual))
        {
            assert_eq!(
                element_from_key(e.set(), &(e.key(), e.key_end())),
                Some(e.clone())
            );
        }
    }

    #[test]
    fn an_ipv6_subnet_goes_in_its_own_set_and_internal_networks_have_none() {
        let subnets = [v4()[0], "fd00:1::/64".parse().unwrap()];
        let dual = NetworkFw {
            subnets: &subnets,
            ..lab(false)
        };
        let es = network_elements(&dual);
        let v6 = es.last().unwrap();
        assert_eq!(v6.set(), SET_SUBNETS6);
        assert_eq!(v6.text(), "fd00:1::/64 . \"cn-lab\"");
        // As nft stores `fd00:1::/64 . "cn-lab"`: the address, then the name; the end has
        // every host bit set.
        let key = v6.key();
        assert_eq!(&key[..4], &[0xfd, 0, 0, 1]);
        assert_eq!(&key[16..22], b"cn-lab");
        let end = v6.key_end().unwrap();
        assert_eq!(&end[8..16], &[0xff; 8]);
        assert_eq!(&end[16..], &key[16..]);
        let internal = NetworkFw {
            internal: true,
            ..dual
        };
        assert_eq!(network_elements(&internal).len(), 2);
    }
}
