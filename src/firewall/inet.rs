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

use super::rule::shell_quote;
use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};
use std::fmt;

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
    Subnet4 { net: Ipv4Network, bridge: String },
    Subnet6 { net: Ipv6Network, bridge: String },
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
        }
    }

    /// The bridge the element is about.
    pub fn bridge(&self) -> &str {
        match self {
            NetElement::Bridge(b) | NetElement::Internal(b) | NetElement::Within(b) => b,
            NetElement::Subnet4 { bridge, .. } | NetElement::Subnet6 { bridge, .. } => bridge,
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

/// The rules of the table, by chain, as nft lists them (`describe_table`; the messages in
/// `firewall::nft::cnet_table` say the same).
pub const FORWARD_RULES: &[&str] = &[
    "jump user",
    "iifname . oifname @within accept",
    "oifname @internal drop",
    "iifname @internal drop",
    "oifname @bridges ct status dnat accept",
    "iifname @bridges oifname @bridges drop",
    "oifname @bridges ct state established,related accept",
    "iifname @bridges accept",
];
pub const RAW_RULES: &[&str] = &[
    "iifname @bridges ip daddr 127.0.0.0/8 drop",
    super::tunnel::RULE_TEXT,
];
pub const DNAT_RULES: &[&str] = &[
    "fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @published-ip",
    "fib daddr type local dnat ip to meta l4proto . th dport map @published",
];
pub const POSTROUTING_RULES: &[&str] = &[
    "ip saddr 127.0.0.0/8 oifname @bridges masquerade",
    "ip saddr . oifname @subnets4 ct status dnat masquerade",
    "ip saddr . oifname @subnets4 return",
    "ip saddr . iifname @subnets4 masquerade",
    "ip6 saddr . oifname @subnets6 ct status dnat masquerade",
    "ip6 saddr . oifname @subnets6 return",
    "ip6 saddr . iifname @subnets6 masquerade",
];

/// The table as nft reads it (the body of an `nft -f` script).
pub fn table_script() -> String {
    table_text(true)
}

/// What `firewall reload` does, as lines of an `nft -f` script: the table declared (what is
/// missing made), cnet's chains and sets emptied, the rules put back. The admin's chain keeps
/// its rules.
pub fn rebuild_script() -> String {
    let mut s = table_text(false);
    for chain in ["forward", "raw", "prerouting", "output", "postrouting"] {
        s.push_str(&format!("\nflush chain inet {TABLE} {chain}"));
    }
    for set in [
        SET_BRIDGES,
        SET_INTERNAL,
        SET_WITHIN,
        SET_SUBNETS4,
        SET_SUBNETS6,
        super::published::MAP_ANY,
        super::published::MAP_IP,
        super::tunnel::SET_GUARDED,
        super::tunnel::SET_PEERS,
    ] {
        let kind = if set.starts_with("published") {
            "map"
        } else {
            "set"
        };
        s.push_str(&format!("\nflush {kind} inet {TABLE} {set}"));
    }
    s.push('\n');
    s.push_str(&rules_text());
    s
}

/// The chains' rules alone, as a `table` block that adds them.
fn rules_text() -> String {
    let mut s = format!("table inet {TABLE} {{\n");
    for (chain, rules) in [
        ("forward", FORWARD_RULES),
        ("raw", RAW_RULES),
        ("prerouting", DNAT_RULES),
        ("output", DNAT_RULES),
        ("postrouting", POSTROUTING_RULES),
    ] {
        s.push_str(&format!("  chain {chain} {{"));
        for r in rules {
            s.push_str(&format!("\n    {r}"));
        }
        s.push_str("\n  }\n");
    }
    s.push('}');
    s
}

/// The table's sets and chains, with the chains' rules or without.
fn table_text(with_rules: bool) -> String {
    use super::published::{MAP_ANY, MAP_IP};
    use super::tunnel::{SET_GUARDED, SET_PEERS};
    let chain = |name: &str, hook: &str, rules: &[&str]| {
        let mut s = format!("  chain {name} {{ {hook};");
        let rules = if with_rules { rules } else { &[] };
        for r in rules {
            s.push_str(&format!("\n    {r}"));
        }
        s.push_str("\n  }\n");
        s
    };
    let mut s = format!("table inet {TABLE} {{\n");
    s.push_str(&format!("  set {SET_BRIDGES} {{ type ifname; }}\n"));
    s.push_str(&format!("  set {SET_INTERNAL} {{ type ifname; }}\n"));
    s.push_str(&format!("  set {SET_WITHIN} {{ type ifname . ifname; }}\n"));
    s.push_str(&format!(
        "  set {SET_SUBNETS4} {{ type ipv4_addr . ifname; flags interval; }}\n"
    ));
    s.push_str(&format!(
        "  set {SET_SUBNETS6} {{ type ipv6_addr . ifname; flags interval; }}\n"
    ));
    s.push_str(&format!(
        "  map {MAP_ANY} {{ type inet_proto . inet_service : ipv4_addr . inet_service; }}\n"
    ));
    s.push_str(&format!(
        "  map {MAP_IP} {{ type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }}\n"
    ));
    s.push_str(&format!(
        "  set {SET_GUARDED} {{ typeof udp dport . @th,96,24; }}\n"
    ));
    s.push_str(&format!(
        "  set {SET_PEERS} {{ typeof udp dport . @th,96,24 . ip saddr; }}\n"
    ));
    s.push_str(&format!("  chain {CHAIN_USER} {{ }}\n"));
    s.push_str(&chain(
        "forward",
        "type filter hook forward priority filter; policy accept",
        FORWARD_RULES,
    ));
    s.push_str(&chain(
        "raw",
        "type filter hook prerouting priority raw; policy accept",
        RAW_RULES,
    ));
    s.push_str(&chain(
        "prerouting",
        "type nat hook prerouting priority dstnat; policy accept",
        DNAT_RULES,
    ));
    s.push_str(&chain(
        "output",
        "type nat hook output priority -100; policy accept",
        DNAT_RULES,
    ));
    s.push_str(&chain(
        "postrouting",
        "type nat hook postrouting priority srcnat; policy accept",
        POSTROUTING_RULES,
    ));
    s.push('}');
    s
}

/// `add element inet cnet SET { … }` lines (no `nft` in front: lines of an `nft -f` script),
/// one per set, in the order the sets first come.
pub fn element_lines(
    verb: &str,
    elements: impl IntoIterator<Item = (&'static str, String)>,
) -> Vec<String> {
    let mut by_set: Vec<(&'static str, Vec<String>)> = Vec::new();
    for (set, text) in elements {
        match by_set.iter_mut().find(|(s, _)| *s == set) {
            Some((_, list)) => list.push(text),
            None => by_set.push((set, vec![text])),
        }
    }
    by_set
        .iter()
        .map(|(set, list)| {
            format!(
                "{verb} element inet {TABLE} {set} {{ {} }}",
                list.join(", ")
            )
        })
        .collect()
}

/// A change to the table as one `nft -f` script: one transaction, as cnet sends it.
pub struct Script<'a> {
    /// `table …` (the whole table made first), or `delete table inet cnet`, or nothing.
    pub table: TableChange,
    /// `add element …` / `delete element …` lines.
    pub lines: &'a [String],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableChange {
    None,
    Create,
    /// Made again whole, the admin's chain kept (a reload).
    Replace,
    Delete,
}

impl fmt::Display for Script<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut body: Vec<String> = Vec::new();
        match self.table {
            TableChange::None => {}
            TableChange::Create => body.push(table_script()),
            TableChange::Replace => body.push(rebuild_script()),
            TableChange::Delete => body.push(format!("delete table inet {TABLE}")),
        }
        body.extend(self.lines.iter().cloned());
        if body.len() == 1 && !body[0].contains('\n') {
            return write!(f, "nft {}", shell_quote(&body[0]));
        }
        write!(f, "nft -f - <<'EOF'\n{}\nEOF", body.join("\n"))
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

    #[test]
    fn a_change_prints_as_one_nft_transaction() {
        let lines = element_lines(
            "add",
            network_elements(&lab(false))
                .iter()
                .map(|e| (e.set(), e.text())),
        );
        let created = Script {
            table: TableChange::Create,
            lines: &lines,
        }
        .to_string();
        assert!(created.starts_with("nft -f - <<'EOF'\ntable inet cnet {\n"));
        assert!(
            created.ends_with("add element inet cnet subnets4 { 10.1.0.0/24 . \"cn-lab\" }\nEOF")
        );
        let one = Script {
            table: TableChange::None,
            lines: &lines[..1],
        }
        .to_string();
        assert_eq!(one, "nft 'add element inet cnet bridges { \"cn-lab\" }'");
        let gone = Script {
            table: TableChange::Delete,
            lines: &[],
        };
        assert_eq!(gone.to_string(), "nft 'delete table inet cnet'");
    }
}
