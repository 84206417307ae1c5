//! IPv6 beyond the network's own segment: a dual-stack network's namespaces go out
//! masqueraded, networks stay isolated and `--internal` closed in both families with IPv6
//! forwarding on, published ports answer over IPv6, overlays carry IPv6 between hosts (and
//! none at all when IPv4-only), and `net rm` leaves no rule in either family. Each of these
//! with either firewall: `table inet cnet`, and the iptables fallback (`CNET_FIREWALL=iptables`:
//! iptables and ip6tables rules, published ports' DNAT included; see also iptables_fallback.rs).

mod common;

use common::multihost::{Lab, UNDERLAY_IF};
use common::{OUTSIDE, Sandbox, UPLINK_HOST};

/// The sandbox host's and the outside namespace's IPv6 addresses on the uplink.
const UPLINK_HOST6: &str = "2001:db8:1::1";
const OUTSIDE6: &str = "2001:db8:1::2";

/// The firewalls cnet can write to.
#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Nftables,
    Iptables,
}

/// A sandbox with an outside namespace reachable over both families, every cnet command in it
/// run with the backend given.
fn world(backend: Backend) -> Sandbox {
    let sb = match backend {
        Backend::Nftables => Sandbox::with_outside(),
        Backend::Iptables => Sandbox::with_outside().with_env("CNET_FIREWALL", "iptables"),
    };
    sb.sh(&format!(
        "set -e
         ip addr add {UPLINK_HOST6}/64 dev up0 nodad
         ip -n outside addr add {OUTSIDE6}/64 dev eth0 nodad"
    ))
    .ok();
    sb
}

fn create_dual(sb: &Sandbox, name: &str, v4: &str, v6: &str, extra: &[&str]) {
    let mut args = vec![
        "net",
        "create",
        name,
        "--subnet",
        v4,
        "--ipv6",
        "--subnet6",
        v6,
    ];
    args.extend(extra);
    sb.cnet(&args).ok();
}

/// What `netns` reads from a TCP connection to `[addr]:port` (IPv6) or `addr:port`.
fn fetch(sb: &Sandbox, netns: &str, addr: &str, port: u16) -> common::Run {
    let target = common::tcp::target(addr, port);
    sb.run(&[
        "ip", "netns", "exec", netns, "socat", "-u", &target, "STDOUT",
    ])
}

/// A peer address as socat's `$SOCAT_PEERADDR` gives it (`[2001:0db8:…]`, `::ffff:a.b.c.d`),
/// written the usual short way.
fn peer(stdout: &str) -> String {
    let a: std::net::IpAddr = stdout
        .trim()
        .trim_matches(['[', ']'])
        .parse()
        .unwrap_or_else(|e| panic!("{stdout:?}: {e}"));
    a.to_canonical().to_string()
}

fn no_ping6(sb: &Sandbox, netns: &str, target: &str) {
    let r = sb.run(&[
        "ip", "netns", "exec", netns, "ping", "-6", "-c1", "-W1", target,
    ]);
    assert!(!r.succeeded(), "{netns} must not reach {target}\n{r}");
}

#[test]
fn a_dual_stack_network_goes_out_masqueraded_in_both_families() {
    goes_out_masqueraded(Backend::Nftables);
}

#[test]
fn with_iptables_a_dual_stack_network_goes_out_masqueraded_in_both_families() {
    goes_out_masqueraded(Backend::Iptables);
}

fn goes_out_masqueraded(backend: Backend) {
    let sb = world(backend);
    create_dual(&sb, "lab", "10.1.0.0/24", "fd00:1::/64", &[]);
    sb.cnet(&["attach", "lab", "n1"]).ok();
    let fwd = sb.run(&["sysctl", "-n", "net.ipv6.conf.all.forwarding"]);
    assert_eq!(fwd.ok().stdout.trim(), "1");
    common::tcp::serve_both(&sb, "outside", 7000, "$SOCAT_PEERADDR");
    // The outside has no route back to fd00:1::/64: only masquerade makes this work.
    let seen6 = fetch(&sb, "n1", OUTSIDE6, 7000);
    assert_eq!(peer(&seen6.ok().stdout), UPLINK_HOST6);
    let seen4 = fetch(&sb, "n1", OUTSIDE, 7000);
    assert_eq!(peer(&seen4.ok().stdout), UPLINK_HOST);
}

#[test]
fn dual_stack_networks_are_isolated_in_both_families_with_forwarding_on() {
    isolated_with_forwarding_on(Backend::Nftables);
}

#[test]
fn with_iptables_dual_stack_networks_are_isolated_in_both_families_with_forwarding_on() {
    isolated_with_forwarding_on(Backend::Iptables);
}

fn isolated_with_forwarding_on(backend: Backend) {
    let sb = world(backend);
    create_dual(&sb, "a", "10.7.0.0/24", "fd00:7::/64", &[]);
    create_dual(&sb, "b", "10.8.0.0/24", "fd00:8::/64", &[]);
    sb.cnet(&["attach", "a", "na"]).ok();
    sb.cnet(&["attach", "b", "nb"]).ok();
    sb.cnet(&["attach", "a", "na2"]).ok();
    let fwd = sb.run(&["sysctl", "-n", "net.ipv6.conf.all.forwarding"]);
    assert_eq!(fwd.ok().stdout.trim(), "1");
    // Forwarding works (the outside is reached), inside a network too...
    sb.assert_ping6("na", OUTSIDE6);
    sb.assert_ping6("na", "fd00:7::3");
    // ...but not from one network into the other, either way, in either family.
    no_ping6(&sb, "na", "fd00:8::2");
    no_ping6(&sb, "nb", "fd00:7::2");
    sb.assert_no_ping("na", "10.8.0.2");
    sb.assert_no_ping("nb", "10.7.0.2");
    common::tcp::serve_both(&sb, "nb", 80, "from-nb");
    assert!(!fetch(&sb, "na", "fd00:8::2", 80).succeeded());
}

#[test]
fn an_internal_dual_stack_network_reaches_nothing_over_either_family() {
    internal_reaches_nothing(Backend::Nftables);
}

#[test]
fn with_iptables_an_internal_dual_stack_network_reaches_nothing_over_either_family() {
    internal_reaches_nothing(Backend::Iptables);
}

fn internal_reaches_nothing(backend: Backend) {
    let sb = world(backend);
    // A network that turns forwarding on, so the internal one is closed by its rules alone.
    create_dual(&sb, "open", "10.1.0.0/24", "fd00:1::/64", &[]);
    sb.cnet(&["attach", "open", "o1"]).ok();
    create_dual(&sb, "vault", "10.3.0.0/24", "fd00:3::/64", &["--internal"]);
    sb.cnet(&["attach", "vault", "v1"]).ok();
    sb.cnet(&["attach", "vault", "v2"]).ok();
    // Inside it: open.
    sb.assert_ping6("v1", "fd00:3::3");
    // An internal network offers no default route; give it one by hand: still nothing.
    sb.sh("set -e
         ip -n v1 route add default via 10.3.0.1
         ip -n v1 -6 route add default via fd00:3::1")
        .ok();
    no_ping6(&sb, "v1", OUTSIDE6);
    sb.assert_no_ping("v1", OUTSIDE);
    no_ping6(&sb, "v1", "fd00:1::2");
    sb.assert_no_ping("v1", "10.1.0.2");
    no_ping6(&sb, "o1", "fd00:3::2");
    sb.assert_no_ping("o1", "10.3.0.2");
    // Nor the host's services on its other addresses, in either family.
    common::tcp::serve_both(&sb, "outside", 7000, "x");
    sb.sh("socat TCP6-LISTEN:7001,fork,reuseaddr,ipv6only=0 SYSTEM:'echo host' </dev/null >/dev/null 2>&1 &
           for i in $(seq 50); do ss -ltnH | grep -q ':7001 ' && exit 0; sleep 0.1; done; exit 1")
        .ok();
    assert_eq!(
        fetch(&sb, "o1", UPLINK_HOST6, 7001).ok().stdout.trim(),
        "host"
    );
    // Its gateway addresses and the bridge's link-local address are the host's too.
    let link_local = sb.sh("ip -6 -o addr show dev cn-vault scope link | awk '{print $4}'");
    let link_local = link_local
        .ok()
        .stdout
        .trim()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    assert!(link_local.starts_with("fe80:"), "{link_local:?}");
    let scoped = format!("{link_local}%eth0");
    for addr in [UPLINK_HOST6, UPLINK_HOST, "fd00:3::1", "10.3.0.1", &scoped] {
        let r = fetch(&sb, "v1", addr, 7001);
        assert!(
            !r.succeeded(),
            "the internal network reached the host at {addr}\n{r}"
        );
    }
    no_ping6(&sb, "v1", &scoped);
    // The open network's namespace does reach the host on its gateway's link-local address.
    let open_ll = sb.sh("ip -6 -o addr show dev cn-open scope link | awk '{print $4}'");
    let open_ll = open_ll
        .ok()
        .stdout
        .trim()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let r = fetch(&sb, "o1", &format!("{open_ll}%eth0"), 7001);
    assert_eq!(r.ok().stdout.trim(), "host");
}

#[test]
fn a_published_port_answers_over_ipv6_from_the_outside() {
    published_port_answers(Backend::Nftables);
}

#[test]
fn with_iptables_a_published_port_answers_over_ipv6_from_the_outside() {
    published_port_answers(Backend::Iptables);
}

fn published_port_answers(backend: Backend) {
    let sb = world(backend);
    create_dual(&sb, "lab", "10.1.0.0/24", "fd00:1::/64", &[]);
    sb.cnet(&[
        "attach",
        "lab",
        "web",
        "-p",
        "8080:80",
        "-p",
        &format!("[{UPLINK_HOST6}]:8081:80"),
    ])
    .ok();
    common::tcp::serve_both(&sb, "web", 80, "$SOCAT_PEERADDR");
    // Over IPv6 the namespace sees the outside's own address (DNAT, no masquerade).
    for port in [8080, 8081] {
        let r = fetch(&sb, "outside", UPLINK_HOST6, port);
        assert_eq!(peer(&r.ok().stdout), OUTSIDE6, "port {port}");
    }
    // And over IPv4 as before; the port bound to the IPv6 address is not open there.
    let r = fetch(&sb, "outside", UPLINK_HOST, 8080);
    assert_eq!(peer(&r.ok().stdout), OUTSIDE);
    assert!(!fetch(&sb, "outside", UPLINK_HOST, 8081).succeeded());
    // From the host itself, and from a neighbour through the host (hairpin).
    sb.cnet(&["attach", "lab", "peer"]).ok();
    let r = fetch(&sb, "peer", UPLINK_HOST6, 8080);
    assert_eq!(peer(&r.ok().stdout), "fd00:1::1", "hairpin is masqueraded");
    let host = sb.run(&[
        "socat",
        "-u",
        &format!("TCP6:[{UPLINK_HOST6}]:8080,connect-timeout=2"),
        "STDOUT",
    ]);
    host.ok();
    // Detached: closed in both families, no element left.
    sb.cnet(&["detach", "lab", "web"]).ok();
    assert!(!fetch(&sb, "outside", UPLINK_HOST6, 8080).succeeded());
    match backend {
        Backend::Nftables => {
            let table = sb.run(&["nft", "list", "table", "inet", "cnet"]);
            assert!(!table.ok().stdout.contains("fd00:1::2 . 80"), "{table}");
        }
        Backend::Iptables => {
            let save = sb.run(&["ip6tables-save", "-t", "nat"]);
            assert!(!save.ok().stdout.contains("[fd00:1::2]:80"), "{save}");
        }
    }
}

#[test]
fn an_ipv6_host_address_on_an_ipv4_only_network_is_refused_with_nothing_changed() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "v4", "--subnet", "10.1.0.0/24"])
        .ok();
    let before = sb.snapshot();
    sb.cnet(&["attach", "v4", "n1", "-p", "[fd00::1]:8080:80"])
        .usage_error(&["[fd00::1]", "no IPv6 address"]);
    sb.snapshot().assert_same(&before, "a refused -p");
    sb.cnet(&["attach", "v4", "n1", "-p", "[::1:8080:80"])
        .usage_error(&["brackets"]);
    sb.cnet(&["attach", "v4", "n1", "-p", "[::1]:8080:80"])
        .usage_error(&["[::1] cannot be published to"]);
    sb.snapshot().assert_same(&before, "refused -p specs");
}

#[test]
fn net_rm_leaves_no_rule_in_either_family() {
    net_rm_leaves_no_rule(Backend::Nftables);
}

#[test]
fn with_iptables_net_rm_leaves_no_rule_in_either_family() {
    net_rm_leaves_no_rule(Backend::Iptables);
}

fn net_rm_leaves_no_rule(backend: Backend) {
    let sb = world(backend);
    create_dual(&sb, "a", "10.7.0.0/24", "fd00:7::/64", &[]);
    create_dual(&sb, "v", "10.3.0.0/24", "fd00:3::/64", &["--internal"]);
    sb.cnet(&[
        "attach",
        "a",
        "na",
        "-p",
        "8080:80",
        "-p",
        "[2001:db8:1::1]:8081:80",
    ])
    .ok();
    sb.cnet(&["attach", "v", "nv"]).ok();
    let status = sb.cnet(&["--format", "json", "firewall", "status"]).json();
    // 8080 (in both families' maps) and 8081: two ports.
    assert_eq!(status["published_ports"], 2, "{status}");
    match backend {
        Backend::Nftables => {
            sb.run(&["nft", "list", "table", "inet", "cnet"])
                .ok()
                .stdout_has("tcp . 8080 : fd00:7::2 . 80")
                .stdout_has("2001:db8:1::1 . tcp . 8081 : fd00:7::2 . 80")
                .stdout_has("fd00:7::/64 . \"cn-a\"");
            assert!(status.get("ip6tables_rules").is_none(), "{status}");
        }
        Backend::Iptables => {
            // No table: the ports are DNAT rules, in both families.
            assert!(
                !sb.run(&["nft", "list", "table", "inet", "cnet"])
                    .succeeded()
            );
            sb.run(&["ip6tables-save"])
                .ok()
                .stdout_has("-A CNET-DNAT -p tcp -m tcp --dport 8080 -m comment --comment \"cnet:a\" -j DNAT --to-destination [fd00:7::2]:80")
                .stdout_has("-A CNET-DNAT -d 2001:db8:1::1/128 -p tcp -m tcp --dport 8081 -m comment --comment \"cnet:a\" -j DNAT --to-destination [fd00:7::2]:80")
                .stdout_has("-A CNET-POSTROUTING -s fd00:7::/64 ! -o cn-a -m comment --comment \"cnet:a\" -j MASQUERADE")
                .stdout_has("-A CNET-INPUT -i cn-v -m comment --comment \"cnet:v\" -j DROP");
            // a: 6 network rules + 2 for ports; v: 4. In each family, and the loopback two
            // of a's port rules in iptables only. Then the DNAT rules: 8080 in both
            // families, 8081 in ip6tables.
            assert_eq!(status["ip6tables_rules"], 14, "{status}");
            assert_eq!(status["iptables_rules"], 15, "{status}");
            sb.cnet(&["firewall", "status"])
                .ok()
                .stdout_has("ip6tables rules  14");
        }
    }
    sb.cnet(&["net", "rm", "--force", "a", "v"]).ok();
    let nft = sb.run(&["nft", "list", "ruleset"]);
    assert!(!nft.ok().stdout.to_lowercase().contains("cnet"), "{nft}");
    if backend == Backend::Nftables {
        assert_eq!(nft.stdout.trim(), "", "{nft}");
    }
    for save in ["iptables-save", "ip6tables-save"] {
        let r = sb.sh(&format!("{save} 2>/dev/null || true"));
        assert!(!r.stdout.to_lowercase().contains("cnet"), "{r}");
    }
}

#[test]
fn an_ipv4_only_overlays_tunnel_carries_no_ipv6_frames() {
    let lab = Lab::new(2);
    let (a, b) = (lab.host(0), lab.host(1));
    // The capture runs from before the devices exist: DAD, router solicitations and MLD
    // reports come right after a link goes up.
    a.sh(&format!(
        "tcpdump -i {UNDERLAY_IF} -nn -U -w /run/ov.pcap udp port 4789 >/run/tcpdump.log 2>&1 &
         echo $! >/run/tcpdump.pid
         for i in $(seq 50); do grep -q listening /run/tcpdump.log && exit 0; sleep 0.1; done
         cat /run/tcpdump.log >&2; exit 1"
    ))
    .ok();
    let started = std::time::Instant::now();
    for (i, h) in [a, b].into_iter().enumerate() {
        let mut args = vec![
            "net",
            "create",
            "ov",
            "-d",
            "vxlan",
            "--vni",
            "6002",
            "--dstport",
            "4789",
            "--subnet",
            "10.32.0.0/24",
            "--local",
            &h.addr,
        ];
        for p in lab.peers_of(i) {
            args.extend(["--peer", p]);
        }
        h.cnet(&args).ok();
        h.cnet(&["attach", "ov", &format!("n{i}")]).ok();
    }
    let b_addr = b.addrs("n1", "eth0")[0]
        .split('/')
        .next()
        .unwrap()
        .to_string();
    a.assert_ping("n0", &b_addr);
    let left = std::time::Duration::from_secs(5).saturating_sub(started.elapsed());
    std::thread::sleep(left);
    a.sh("kill -INT $(cat /run/tcpdump.pid); sleep 0.3").ok();
    // The inner frame's ethertype: UDP header (8) + VXLAN header (8) + two MACs (12).
    let count = |filter: &str| -> usize {
        let r = a.sh(&format!(
            "tcpdump -r /run/ov.pcap -nn '{filter}' 2>/dev/null | wc -l"
        ));
        r.ok().stdout.trim().parse().expect("a count")
    };
    assert!(
        count("udp[28:2] = 0x0800") > 0,
        "the capture saw the IPv4 ping"
    );
    assert_eq!(
        count("udp[28:2] = 0x86dd"),
        0,
        "IPv6 frames crossed the tunnel"
    );
}
