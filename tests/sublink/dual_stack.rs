//! macvlan and ipvlan networks with IPv6 beside IPv4 (`--ipv6`): on the LAN's IPv6 subnet too.

use super::{Kind, create, lan};

/// The LAN machine gets an IPv6 address too: the default gateway of the network's v6 subnet.
const LAN_V6: &str = "ip -n lanpc -6 addr add fd00:50::1/64 dev eth0 nodad";

/// Two namespaces on a dual-stack LAN network reach each other and the LAN machine over
/// IPv6, by address and by name, with the LAN machine as their IPv6 default gateway.
pub fn namespaces_reach_each_other_and_the_lan_over_ipv6(kind: Kind) {
    let sb = lan();
    sb.sh(LAN_V6).ok();
    create(&sb, kind, "lan", &["--ipv6", "--subnet6", "fd00:50::/64"]);
    sb.cnet(&["attach", "lan", "ns1"])
        .ok()
        .stdout_has("fd00:50::2/64");
    sb.cnet(&["attach", "lan", "ns2", "--ip6", "fd00:50::77"])
        .ok();
    sb.run(&["ip", "-n", "ns1", "-6", "route", "show", "default"])
        .ok()
        .stdout_has("default via fd00:50::1 dev eth0");
    sb.assert_ping6("ns1", "fd00:50::77");
    sb.assert_ping6("ns2", "ns1");
    sb.assert_ping6("ns1", "fd00:50::1");
    sb.cnet(&["detach", "lan", "ns2"]).ok();
    let r = sb.run(&["ip", "-n", "ns2", "-6", "-o", "addr", "show"]);
    assert!(!r.stdout.contains("fd00:50::77"), "{r}");
}
