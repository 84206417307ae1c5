//! The iptables fallback on its own (`CNET_FIREWALL=iptables`): published ports as DNAT rules
//! in iptables and ip6tables, and a VXLAN overlay's tunnel filter as raw rules, with no
//! nftables table of cnet's at any point. Real servers answer through the host's addresses
//! (from outside, from another network, hairpin, 127.0.0.1, a range), detach and `net rm`
//! take every rule away, and a non-peer's VXLAN packets are dropped until it becomes a peer.

mod common;

use common::multihost::Lab;
use common::{Sandbox, UPLINK_HOST};
use std::time::Duration;

const UPLINK_HOST6: &str = "2001:db8:1::1";
const OUTSIDE6: &str = "2001:db8:1::2";

/// A sandbox on the iptables backend with an outside namespace reachable in both families.
fn world() -> Sandbox {
    let sb = Sandbox::with_outside().with_env("CNET_FIREWALL", "iptables");
    sb.sh(&format!(
        "set -e
         ip addr add {UPLINK_HOST6}/64 dev up0 nodad
         ip -n outside addr add {OUTSIDE6}/64 dev eth0 nodad"
    ))
    .ok();
    sb
}

/// What `ns` (None: the sandbox host) reads from a TCP connection to ADDR:PORT.
fn fetch(sb: &Sandbox, ns: Option<&str>, addr: &str, port: u16) -> String {
    let target = common::tcp::target(addr, port);
    let prefix = ns
        .map(|n| format!("ip netns exec {n} "))
        .unwrap_or_default();
    sb.sh(&format!(
        "{prefix}timeout 5 socat -u {target} STDOUT || true"
    ))
    .stdout
    .trim()
    .to_string()
}

#[track_caller]
fn assert_reply(sb: &Sandbox, ns: Option<&str>, addr: &str, port: u16, reply: &str) {
    let mut got = String::new();
    for _ in 0..5 {
        got = fetch(sb, ns, addr, port);
        if got == reply {
            return;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!(
        "{} got {got:?}, not {reply:?}, from {addr} port {port}\n{:#?}",
        ns.unwrap_or("the host"),
        sb.rules()
    );
}

#[track_caller]
fn assert_no_reply(sb: &Sandbox, ns: Option<&str>, addr: &str, port: u16) {
    let got = fetch(sb, ns, addr, port);
    assert!(
        got.is_empty(),
        "{} must not reach {addr} port {port}: {got:?}",
        ns.unwrap_or("the host")
    );
}

/// cnet's nftables tables (there must be none on this backend).
#[track_caller]
fn cnet_nft_tables(sb: &Sandbox) -> Vec<String> {
    let r = sb.run(&["nft", "list", "tables"]);
    r.ok();
    r.stdout
        .lines()
        .filter(|l| l.contains("cnet"))
        .map(String::from)
        .collect()
}

/// `-A` lines of a chain in iptables-save (`ip6tables-save` with `v6`) of table `table`.
fn chain_rules(sb: &Sandbox, v6: bool, table: &str, chain: &str) -> Vec<String> {
    let save = if v6 {
        "ip6tables-save"
    } else {
        "iptables-save"
    };
    let r = sb.run(&[save, "-t", table]);
    r.ok();
    let prefix = format!("-A {chain} ");
    r.stdout
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .map(String::from)
        .collect()
}

#[test]
fn published_ports_answer_in_both_families_and_go_with_detach() {
    let sb = world();
    sb.cnet(&[
        "net",
        "create",
        "lab",
        "--subnet",
        "10.1.0.0/24",
        "--ipv6",
        "--subnet6",
        "fd00:1::/64",
    ])
    .ok();
    sb.cnet(&["net", "create", "other", "--subnet", "10.2.0.0/24"])
        .ok();
    let ports = [
        "-p",
        "8080:80",
        "-p",
        "127.0.0.1:9090:80",
        "-p",
        "8000-8001:7000-7001",
    ];
    // The dry run shows the DNAT rules it would add, in both families.
    let mut args = vec!["--dry-run", "attach", "lab", "ns1"];
    args.extend(ports);
    let dry = sb.cnet(&args);
    let text = &dry.ok().stdout;
    for line in [
        "iptables -t nat -A CNET-DNAT -p tcp -m tcp --dport 8080 -m comment --comment cnet:lab -j DNAT --to-destination 10.1.0.",
        "ip6tables -t nat -A CNET-DNAT -p tcp -m tcp --dport 8080 -m comment --comment cnet:lab -j DNAT --to-destination '[fd00:1::",
        "iptables -t nat -A CNET-DNAT -d 127.0.0.1/32 -p tcp -m tcp --dport 9090",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    assert!(!text.contains("nft "), "{text}");

    let mut args = vec!["attach", "lab", "ns1"];
    args.extend(ports);
    sb.cnet(&args).ok();
    sb.cnet(&["attach", "lab", "ns2"]).ok();
    sb.cnet(&["attach", "other", "b1"]).ok();
    common::tcp::serve_both(&sb, "ns1", 80, "hello");
    common::tcp::serve_both(&sb, "ns1", 7000, "port-7000");
    common::tcp::serve_both(&sb, "ns1", 7001, "port-7001");

    // From another machine, in both families.
    assert_reply(&sb, Some("outside"), UPLINK_HOST, 8080, "hello");
    assert_reply(&sb, Some("outside"), UPLINK_HOST6, 8080, "hello");
    // A range keeps each port's offset.
    assert_reply(&sb, Some("outside"), UPLINK_HOST, 8000, "port-7000");
    assert_reply(&sb, Some("outside"), UPLINK_HOST6, 8001, "port-7001");
    // Bound to 127.0.0.1: the host reaches it there, the outside not on the LAN address.
    assert_reply(&sb, None, "127.0.0.1", 9090, "hello");
    assert_no_reply(&sb, Some("outside"), UPLINK_HOST, 9090);
    // The host itself on its own address; another, isolated network through a host address;
    // hairpin: a namespace of the network through the gateway address (the server's own
    // namespace does not reach itself so, on either backend: with br_netfilter the DNATed
    // frame is bridged back out of its own port, which needs the port's hairpin mode).
    assert_reply(&sb, None, UPLINK_HOST, 8080, "hello");
    assert_reply(&sb, Some("b1"), UPLINK_HOST, 8080, "hello");
    assert_reply(&sb, Some("ns2"), "10.1.0.1", 8080, "hello");
    assert_reply(&sb, Some("ns2"), UPLINK_HOST6, 8080, "hello");

    // One rule per family and host port, tagged with the network; no table of cnet's.
    let v4 = chain_rules(&sb, false, "nat", "CNET-DNAT");
    let v6 = chain_rules(&sb, true, "nat", "CNET-DNAT");
    assert_eq!(v4.len(), 4, "{v4:#?}");
    assert_eq!(v6.len(), 3, "{v6:#?}");
    assert!(v4.iter().chain(&v6).all(|r| r.contains("cnet:lab")));
    assert_eq!(cnet_nft_tables(&sb), Vec::<String>::new());
    let status = sb.cnet(&["firewall", "status"]);
    let status = &status.ok().stdout;
    assert!(status.contains("table            absent"), "{status}");
    assert!(status.contains("published ports  4"), "{status}");

    // The fault matrix's consistency check sees the DNAT rules as the ports they publish: all
    // there, and it notices one missing.
    common::consistency::assert_consistent(&sb, "after attach -p");
    // Flushed, the rules come back with a reload, once.
    let problem = || {
        let gathered = sb.sh(&common::consistency::gather_script(sb.state_dir()));
        common::consistency::check(&gathered.ok().stdout).unwrap_err()
    };
    sb.run(&["ip6tables", "-t", "nat", "-F", "CNET-DNAT"]).ok();
    let missing = problem();
    assert!(
        missing.contains("recorded but not in the table") && missing.contains("fd00:1::2"),
        "{missing}"
    );
    sb.run(&["iptables", "-t", "nat", "-F", "CNET-DNAT"]).ok();
    assert!(problem().contains("recorded but not in the table"));
    assert_no_reply(&sb, Some("outside"), UPLINK_HOST, 8080);
    sb.cnet(&["firewall", "reload"]).ok();
    sb.cnet(&["firewall", "reload"]).ok();
    assert_eq!(chain_rules(&sb, false, "nat", "CNET-DNAT").len(), 4);
    assert_reply(&sb, Some("outside"), UPLINK_HOST6, 8080, "hello");

    // A DNAT rule no endpoint publishes (a detach killed half way) goes with gc, alone.
    sb.run(&[
        "iptables",
        "-t",
        "nat",
        "-A",
        "CNET-DNAT",
        "-p",
        "tcp",
        "-m",
        "tcp",
        "--dport",
        "9999",
        "-m",
        "comment",
        "--comment",
        "cnet:lab",
        "-j",
        "DNAT",
        "--to-destination",
        "10.1.0.9:80",
    ])
    .ok();
    let gc = sb.cnet(&["gc"]);
    assert!(gc.ok().stdout.contains("--dport 9999"), "{gc}");
    assert_eq!(chain_rules(&sb, false, "nat", "CNET-DNAT").len(), 4);
    common::consistency::assert_consistent(&sb, "after gc");

    // Detach takes exactly its rules away.
    sb.cnet(&["detach", "lab", "ns1"]).ok();
    assert_eq!(
        chain_rules(&sb, false, "nat", "CNET-DNAT"),
        Vec::<String>::new()
    );
    assert_eq!(
        chain_rules(&sb, true, "nat", "CNET-DNAT"),
        Vec::<String>::new()
    );
    assert_no_reply(&sb, Some("outside"), UPLINK_HOST, 8080);

    // A published port again, then `net rm` of everything leaves no rule, chain or table.
    sb.cnet(&["attach", "lab", "ns1", "-p", "8080:80"]).ok();
    assert_reply(&sb, Some("outside"), UPLINK_HOST, 8080, "hello");
    sb.cnet(&["net", "rm", "--force", "lab", "other"]).ok();
    let left: Vec<String> = sb
        .rules()
        .into_iter()
        .filter(|r| r.contains("cnet") || r.contains("CNET"))
        .collect();
    assert!(left.is_empty(), "{left:#?}");
    assert_eq!(cnet_nft_tables(&sb), Vec::<String>::new());
}

#[test]
fn an_overlays_tunnel_hears_its_peers_and_drops_the_rest() {
    let mut lab = Lab::new(3);
    for h in &mut lab.hosts {
        h.sb.set_env("CNET_FIREWALL", "iptables");
    }
    let (a, b, c) = (lab.host(0), lab.host(1), lab.host(2));
    // a and b are each other's peers; c sends to a, which does not list it.
    let create = |h: &Sandbox, local: &str, peers: &[&str]| {
        let mut args = vec![
            "net",
            "create",
            "ov",
            "-d",
            "vxlan",
            "--vni",
            "5000",
            "--subnet",
            "10.20.0.0/24",
            "--local",
            local,
        ];
        for p in peers {
            args.extend(["--peer", p]);
        }
        h.cnet(&args).ok();
    };
    create(a, &a.addr, &[&b.addr]);
    create(b, &b.addr, &[&a.addr]);
    create(c, &c.addr, &[&a.addr]);
    for h in [a, b, c] {
        h.cnet(&["attach", "ov", "n1"]).ok();
    }
    let addr = |h: &Sandbox| {
        h.addrs("n1", "eth0")[0]
            .split('/')
            .next()
            .unwrap()
            .to_string()
    };
    let (na, nc) = (addr(a), addr(c));
    b.assert_ping("n1", &na);
    // Without the filter a would learn c behind c's VTEP and answer.
    c.assert_no_ping("n1", &na);
    common::consistency::assert_consistent(a, "overlay on iptables");
    let tunnel = chain_rules(a, false, "raw", "CNET-TUNNEL");
    assert_eq!(tunnel.len(), 2, "{tunnel:#?}");
    assert!(
        tunnel[0].contains(&format!("-s {}/32", b.addr)) && tunnel[0].ends_with("-j RETURN"),
        "{tunnel:#?}"
    );
    assert!(tunnel[1].ends_with("-j DROP"), "{tunnel:#?}");
    assert_eq!(cnet_nft_tables(a), Vec::<String>::new());

    // A peer added later is heard: its RETURN goes before the DROP.
    a.cnet(&["net", "peer", "add", "ov", &c.addr]).ok();
    c.assert_ping("n1", &na);
    a.assert_ping("n1", &nc);
    // And cut off again.
    a.cnet(&["net", "peer", "rm", "ov", &c.addr]).ok();
    c.assert_no_ping("n1", &na);
    b.assert_ping("n1", &na);

    // Flushed, the filter comes back from state with a reload.
    a.run(&["iptables", "-t", "raw", "-F", "CNET-TUNNEL"]).ok();
    a.cnet(&["firewall", "reload"]).ok();
    assert_eq!(chain_rules(a, false, "raw", "CNET-TUNNEL"), tunnel);
    c.assert_no_ping("n1", &na);

    // `net rm` on a (then `net prune` for the gateway bridge the overlay leaves, as Docker
    // leaves docker_gwbridge), `reset` on b: nothing of cnet's left on either.
    a.cnet(&["net", "rm", "--force", "ov"]).ok();
    a.cnet(&["net", "prune", "--force"]).ok();
    b.cnet(&["reset", "--yes"]).ok();
    for h in [a, b] {
        let left: Vec<String> = h
            .rules()
            .into_iter()
            .filter(|r| r.contains("cnet") || r.contains("CNET"))
            .collect();
        assert!(left.is_empty(), "{left:#?}");
        assert_eq!(cnet_nft_tables(h), Vec::<String>::new());
    }
}

/// The legacy commands (x_tables), as chosen where nf_tables is missing, forced here: the
/// same ports and network rules, and nothing of cnet's in nf_tables at all.
#[test]
fn with_the_legacy_commands_nothing_of_cnets_is_in_nf_tables() {
    let sb = Sandbox::with_outside().with_env("CNET_FIREWALL", "iptables-legacy");
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    // A base from before CNET-DNAT existed (an earlier cnet): the attach adds it first.
    sb.sh("set -e
         iptables-legacy -t nat -D PREROUTING -m addrtype --dst-type LOCAL -j CNET-DNAT
         iptables-legacy -t nat -D OUTPUT -m addrtype --dst-type LOCAL -j CNET-DNAT
         iptables-legacy -t nat -X CNET-DNAT")
        .ok();
    sb.cnet(&["attach", "lab", "ns1", "-p", "8080:80"]).ok();
    sb.cnet(&["attach", "lab", "ns2"]).ok();
    common::tcp::serve_both(&sb, "ns1", 80, "hello");
    assert_reply(&sb, Some("outside"), UPLINK_HOST, 8080, "hello");
    assert_reply(&sb, Some("ns2"), "10.1.0.1", 8080, "hello");
    let dry = sb.cnet(&["--dry-run", "attach", "lab", "ns3", "-p", "8081:80"]);
    assert!(
        dry.ok()
            .stdout
            .contains("iptables-legacy -t nat -A CNET-DNAT -p tcp -m tcp --dport 8081"),
        "{dry}"
    );
    let status = sb.cnet(&["firewall", "status"]);
    let status = &status.ok().stdout;
    assert!(
        status.contains("backend          iptables") && status.contains("(legacy)"),
        "{status}"
    );
    let legacy = sb.run(&["iptables-legacy-save"]);
    assert!(
        legacy
            .ok()
            .stdout
            .contains("-A CNET-DNAT -p tcp -m tcp --dport 8080"),
        "{legacy}"
    );
    let nft = sb.run(&["nft", "list", "ruleset"]);
    assert!(
        !nft.ok().stdout.contains("CNET") && !nft.stdout.contains("cnet"),
        "{nft}"
    );
    sb.cnet(&["net", "rm", "--force", "lab"]).ok();
    for save in ["iptables-legacy-save", "ip6tables-legacy-save"] {
        let r = sb.run(&[save]);
        assert!(!r.ok().stdout.contains("CNET"), "{r}");
    }
}
