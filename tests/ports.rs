//! Published ports (`cnet attach -p`): real TCP and UDP servers in a namespace, reached from a
//! "remote machine" (the `outside` namespace, on the sandbox host's LAN), from the host itself
//! on its own address and on 127.0.0.1, from a namespace of the same network (hairpin) and from
//! one of another, isolated network. Then what must not be reachable, duplicates, detach,
//! flush + reload, the admin's CNET-USER chain, and rollback.
//!
//! Every client call has a time limit (`socat -T2`, `connect-timeout=2`); a positive check
//! retries briefly while the server starts.

mod common;

use common::{Sandbox, UPLINK_HOST};
use std::time::Duration;

/// The host's LAN address, as the remote client knows it.
const HOST: &str = UPLINK_HOST;

/// Starts `socat` in a namespace answering every TCP connection on `port` with `reply`.
#[track_caller]
fn serve_tcp(sb: &Sandbox, ns: &str, port: u16, reply: &str) {
    sb.sh(&format!(
        "ip netns exec {ns} socat TCP-LISTEN:{port},fork,reuseaddr SYSTEM:'echo {reply}' \
         </dev/null >/dev/null 2>&1 &"
    ))
    .ok();
}

/// Starts `socat` in a namespace answering every UDP datagram on `port` with `reply`.
#[track_caller]
fn serve_udp(sb: &Sandbox, ns: &str, port: u16, reply: &str) {
    sb.sh(&format!(
        "ip netns exec {ns} socat UDP-RECVFROM:{port},fork SYSTEM:'echo {reply}' \
         </dev/null >/dev/null 2>&1 &"
    ))
    .ok();
}

/// One client call from `ns` (None: the sandbox host) to ADDR:PORT over `proto`, bounded in
/// time; stdout is the server's reply.
fn call(sb: &Sandbox, ns: Option<&str>, proto: &str, addr: &str, port: u16) -> common::Run {
    let target = match proto {
        "tcp" => format!("TCP:{addr}:{port},connect-timeout=2"),
        "udp" => format!("UDP:{addr}:{port}"),
        other => panic!("no client for {other}"),
    };
    let prefix = ns
        .map(|n| format!("ip netns exec {n} "))
        .unwrap_or_default();
    sb.sh(&format!(
        "echo ping | {prefix}timeout 5 socat -t2 -T2 - {target}"
    ))
}

/// Asserts that `ns` gets `reply` from ADDR:PORT (a few tries while the server starts).
#[track_caller]
fn assert_reply(sb: &Sandbox, ns: Option<&str>, proto: &str, addr: &str, port: u16, reply: &str) {
    let mut last = None;
    for _ in 0..10 {
        let r = call(sb, ns, proto, addr, port);
        if r.stdout.trim() == reply {
            return;
        }
        last = Some(r);
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!(
        "{} did not get {reply:?} from {addr}:{port}/{proto}\n{}",
        ns.unwrap_or("the host"),
        last.expect("tried")
    );
}

/// Asserts that `ns` gets no reply from ADDR:PORT.
#[track_caller]
fn assert_no_reply(sb: &Sandbox, ns: Option<&str>, proto: &str, addr: &str, port: u16) {
    let r = call(sb, ns, proto, addr, port);
    assert!(
        r.stdout.trim().is_empty(),
        "{} must not reach {addr}:{port}/{proto}\n{r}",
        ns.unwrap_or("the host")
    );
}

/// Rules of the sandbox (normalised iptables-save) that mention `needle`.
fn rules_with(sb: &Sandbox, needle: &str) -> Vec<String> {
    sb.rules()
        .into_iter()
        .filter(|r| r.contains(needle))
        .collect()
}

/// Files under the port index of the state directory.
fn claim_files(sb: &Sandbox) -> Vec<String> {
    let r = sb.sh(&format!(
        "[ -d {0}/ports ] && find {0}/ports -type f | sort || true",
        sb.state_dir()
    ));
    r.ok();
    r.stdout.lines().map(String::from).collect()
}

/// `lab` (10.1.0.0/24) with ns1 serving, ns2 beside it, and `other` (10.2.0.0/24) with b1.
fn world() -> Sandbox {
    let sb = Sandbox::with_outside();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&["net", "create", "other", "--subnet", "10.2.0.0/24"])
        .ok();
    sb
}

#[test]
fn a_published_port_is_reachable_wherever_docker_would_reach_it() {
    let sb = world();
    sb.cnet(&[
        "attach",
        "lab",
        "ns1",
        "-p",
        "8080:80",
        "-p",
        "8000-8002:7000-7002",
        "-p",
        "5353:53/udp",
        "-p",
        "127.0.0.1:9090:80",
    ])
    .ok();
    sb.cnet(&["attach", "lab", "ns2"]).ok();
    sb.cnet(&["attach", "other", "b1"]).ok();
    serve_tcp(&sb, "ns1", 80, "hello-from-ns1");
    for p in 7000..=7002 {
        serve_tcp(&sb, "ns1", p, &format!("port-{p}"));
    }
    serve_udp(&sb, "ns1", 53, "udp-from-ns1");

    // A remote machine, through the host's address.
    assert_reply(&sb, Some("outside"), "tcp", HOST, 8080, "hello-from-ns1");
    // The host itself, on its own address and on 127.0.0.1 (no userland proxy: route_localnet).
    assert_reply(&sb, None, "tcp", HOST, 8080, "hello-from-ns1");
    assert_reply(&sb, None, "tcp", "127.0.0.1", 8080, "hello-from-ns1");
    // A namespace of the same network, through the host's address (hairpin NAT).
    assert_reply(&sb, Some("ns2"), "tcp", HOST, 8080, "hello-from-ns1");
    // A namespace of another, isolated network: publishing is an explicit opening...
    assert_reply(&sb, Some("b1"), "tcp", HOST, 8080, "hello-from-ns1");
    // ... of the published port only: ns1's own address stays out of reach.
    assert_no_reply(&sb, Some("b1"), "tcp", "10.1.0.2", 80);
    sb.assert_no_ping("b1", "10.1.0.2");

    // A range is one map element per port, and ports keep their offset (8001 -> 7001).
    assert_reply(&sb, Some("outside"), "tcp", HOST, 8001, "port-7001");
    assert_reply(&sb, Some("outside"), "tcp", HOST, 8002, "port-7002");
    assert_reply(&sb, None, "tcp", "127.0.0.1", 8000, "port-7000");
    assert_eq!(
        rules_with(&sb, " . 800"),
        vec![
            "nft published tcp . 8000 : 10.1.0.2 . 7000",
            "nft published tcp . 8001 : 10.1.0.2 . 7001",
            "nft published tcp . 8002 : 10.1.0.2 . 7002",
        ]
    );

    // UDP.
    assert_reply(&sb, Some("outside"), "udp", HOST, 5353, "udp-from-ns1");

    // 127.0.0.1:9090 is for the host only.
    assert_reply(&sb, None, "tcp", "127.0.0.1", 9090, "hello-from-ns1");
    assert_no_reply(&sb, Some("outside"), "tcp", HOST, 9090);
    assert_no_reply(&sb, None, "tcp", HOST, 9090);

    // One map element per host port, nothing per port in iptables; every iptables rule names
    // cnet and the network.
    let all = sb.rules();
    let elements: Vec<&String> = all.iter().filter(|r| r.contains(": 10.1.0.2 . ")).collect();
    // 8080, 8000-8002, 5353/udp on every address; 9090 on 127.0.0.1 only.
    assert_eq!(elements.len(), 6, "{elements:#?}");
    assert!(
        all.contains(&"nft published-ip 127.0.0.1 . tcp . 9090 : 10.1.0.2 . 80".to_string()),
        "{all:#?}"
    );
    for r in &all {
        if r.contains(" -A CNET-") {
            assert!(r.contains("--comment"), "uncommented cnet rule: {r}");
            assert!(r.contains("cnet:"), "{r}");
            assert!(
                !r.contains("10.1.0.2"),
                "a rule for one namespace in iptables: {r}"
            );
        }
    }

    // ns ls and net inspect show the published ports.
    let ls = sb.cnet(&["ns", "ls"]);
    ls.ok()
        .stdout_has("0.0.0.0:8080->80/tcp")
        .stdout_has("0.0.0.0:8000-8002->7000-7002/tcp")
        .stdout_has("0.0.0.0:5353->53/udp")
        .stdout_has("127.0.0.1:9090->80/tcp");
    let ns1_line = ls.stdout.lines().find(|l| l.starts_with("ns1 ")).unwrap();
    assert!(ns1_line.contains("8080->80/tcp"), "{}", ls.stdout);
    let ns2_line = ls.stdout.lines().find(|l| l.starts_with("ns2 ")).unwrap();
    assert!(
        ns2_line.trim_end().ends_with('-'),
        "ns2 publishes nothing\n{}",
        ls.stdout
    );
    let json = sb.cnet(&["ns", "ls", "--format", "json"]).json();
    let ns1 = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "ns1")
        .unwrap();
    assert_eq!(
        ns1["networks"][0]["ports"][0], "0.0.0.0:8080->80/tcp",
        "{ns1:#}"
    );
    let eps = common::inspect_namespaces(&sb, "lab");
    assert_eq!(
        eps["ns1"]["ports"],
        serde_json::json!([
            "0.0.0.0:8080->80/tcp",
            "0.0.0.0:8000-8002->7000-7002/tcp",
            "0.0.0.0:5353->53/udp",
            "127.0.0.1:9090->80/tcp"
        ]),
        "{:#}",
        eps["ns1"]
    );
    assert_eq!(eps["ns2"]["ports"], serde_json::json!([]));
}

#[test]
fn a_duplicate_or_bad_publish_is_refused_and_changes_nothing() {
    let sb = world();
    sb.cnet(&[
        "attach",
        "lab",
        "ns1",
        "-p",
        "8080:80",
        "-p",
        "5000-5010:5000-5010/udp",
    ])
    .ok();
    sb.cnet(&[
        "net",
        "create",
        "vault",
        "--internal",
        "--subnet",
        "10.9.0.0/24",
    ])
    .ok();
    let before = sb.snapshot();
    // The same host port, protocol and address; and every address against one address; and
    // an overlapping range; each on the same network or another one.
    for (net, spec) in [
        ("lab", "8080:81"),
        ("other", "8080:80"),
        ("lab", "127.0.0.1:8080:80"),
        ("other", "5005:53/udp"),
        ("lab", "4990-5000:4990-5000/udp"),
    ] {
        sb.cnet(&["attach", net, "ns3", "-p", spec]).usage_error(&[
            "already published",
            "ns1",
            "lab",
        ]);
        sb.snapshot()
            .assert_same(&before, &format!("duplicate -p {spec}"));
    }
    // Bad specs: one line, exit 2, nothing changed.
    for (spec, needle) in [
        ("80", "give the host port too"),
        ("0:80", "out of range"),
        ("70000:80", "out of range"),
        ("8000-8010:80", "same length"),
        ("9000-8990:80-90", "backwards"),
        ("9000:80/icmp", "unknown protocol"),
        ("nohost:9000:80", "not an IPv4 address"),
    ] {
        sb.cnet(&["attach", "lab", "ns3", "-p", spec])
            .usage_error(&[spec, needle]);
    }
    sb.cnet(&["attach", "lab", "ns3", "-p", "9000:80", "-p", "9000:81"])
        .usage_error(&["clashes"]);
    sb.cnet(&["attach", "vault", "ns3", "-p", "9000:80"])
        .usage_error(&["vault", "internal"]);
    sb.cnet(&["attach", "none", "ns3", "-p", "9000:80"])
        .usage_error(&["bridge and overlay networks only"]);
    sb.snapshot().assert_same(&before, "bad -p");
    // A dry run shows the rules and changes nothing.
    sb.cnet(&["--dry-run", "attach", "lab", "ns3", "-p", "9000:80"])
        .ok()
        .stdout_has("nft 'add element inet cnet published { tcp . 9000 : 10.1.0.3 . 80 }'");
    sb.snapshot().assert_same(&before, "dry run");
    // Another port, or the same port over another protocol, is fine.
    sb.cnet(&["attach", "lab", "ns3", "-p", "8080:80/udp", "-p", "8081:80"])
        .ok();
}

#[test]
fn detach_and_ns_rm_remove_exactly_the_rules_and_claims_they_added() {
    let sb = world();
    sb.cnet(&["attach", "lab", "ns2"]).ok();
    let rules_before = sb.rules();
    sb.cnet(&["attach", "lab", "ns1", "-p", "8080:80", "-p", "5353:53/udp"])
        .ok();
    serve_tcp(&sb, "ns1", 80, "hello-from-ns1");
    assert_reply(&sb, Some("outside"), "tcp", HOST, 8080, "hello-from-ns1");
    assert!(!claim_files(&sb).is_empty());

    sb.cnet(&["detach", "lab", "ns1"]).ok();
    // The port is closed (nothing answers on the host), and no rule of it is left.
    assert_no_reply(&sb, Some("outside"), "tcp", HOST, 8080);
    assert_no_reply(&sb, None, "tcp", "127.0.0.1", 8080);
    assert_eq!(rules_with(&sb, "nft published"), Vec::<String>::new());
    assert_eq!(rules_with(&sb, "8080"), Vec::<String>::new());
    assert_eq!(
        sb.rules(),
        rules_before,
        "detach must remove exactly its rules"
    );
    assert_eq!(claim_files(&sb), Vec::<String>::new());
    // The host port is free again, for another namespace. `detach --wait` of a namespace with
    // a published port leaves nothing for the background: no rule, no link, retired or not.
    sb.cnet(&["attach", "lab", "ns3", "-p", "8080:80"]).ok();
    sb.cnet(&["detach", "--wait", "lab", "ns3"]).ok();
    assert_no_reply(&sb, Some("outside"), "tcp", HOST, 8080);
    assert_eq!(rules_with(&sb, "8080"), Vec::<String>::new());
    assert_eq!(sb.rules(), rules_before);
    let left: Vec<String> = sb
        .links()
        .into_iter()
        .filter(|l| l.starts_with("cnr") || *l == common::host_veth_name("lab", "ns3"))
        .collect();
    assert_eq!(left, Vec::<String>::new(), "links left by detach --wait");

    // ns rm, of a namespace published on two networks.
    sb.cnet(&["attach", "lab", "ns1", "-p", "8080:80"]).ok();
    sb.cnet(&["attach", "other", "ns1", "-p", "127.0.0.1:9090:90"])
        .ok();
    sb.cnet(&["ns", "rm", "ns1"]).ok();
    assert_eq!(rules_with(&sb, "8080"), Vec::<String>::new());
    assert_eq!(rules_with(&sb, "9090"), Vec::<String>::new());
    assert_eq!(
        sb.rules(),
        rules_before,
        "ns rm must remove exactly its rules"
    );
    assert_eq!(claim_files(&sb), Vec::<String>::new());

    // net rm --force too.
    sb.cnet(&["attach", "other", "b1", "-p", "8080:80"]).ok();
    sb.cnet(&["net", "rm", "--force", "other"]).ok();
    assert_eq!(rules_with(&sb, "cnet:other"), Vec::<String>::new());
    assert_eq!(rules_with(&sb, "8080"), Vec::<String>::new());
    assert_eq!(claim_files(&sb), Vec::<String>::new());
    // The last bridge network takes cnet's table with it.
    sb.cnet(&["net", "rm", "--force", "lab"]).ok();
    assert_eq!(rules_with(&sb, "nft "), Vec::<String>::new());
}

#[test]
fn after_a_flush_firewall_reload_reopens_the_port_and_twice_changes_nothing() {
    let sb = world();
    sb.cnet(&[
        "attach",
        "lab",
        "ns1",
        "-p",
        "8080:80",
        "-p",
        "127.0.0.1:9090:80",
    ])
    .ok();
    sb.cnet(&["attach", "other", "b1"]).ok();
    serve_tcp(&sb, "ns1", 80, "hello-from-ns1");
    assert_reply(&sb, Some("outside"), "tcp", HOST, 8080, "hello-from-ns1");
    let installed = sb.rules();

    // What a firewall manager's reload does: the whole ruleset flushed, cnet's table gone.
    sb.sh("nft flush ruleset").ok();
    assert_no_reply(&sb, Some("outside"), "tcp", HOST, 8080);
    assert_no_reply(&sb, None, "tcp", "127.0.0.1", 9090);

    sb.cnet(&["firewall", "reload"]).ok();
    assert_reply(&sb, Some("outside"), "tcp", HOST, 8080, "hello-from-ns1");
    assert_reply(&sb, None, "tcp", "127.0.0.1", 9090, "hello-from-ns1");
    assert_reply(&sb, Some("b1"), "tcp", HOST, 8080, "hello-from-ns1");
    // The same rules, in the same order, and the same elements.
    let reloaded = sb.rules();
    assert_eq!(reloaded, installed, "reload must put back what was there");
    assert!(
        !reloaded.iter().any(|r| r.contains(" -A ")),
        "no iptables rule: {reloaded:#?}"
    );

    sb.cnet(&["firewall", "reload"]).ok();
    assert_eq!(sb.rules(), reloaded, "a second reload must change nothing");
}

#[test]
fn an_admins_rule_in_cnet_user_survives_every_cnet_operation() {
    let sb = Sandbox::with_outside();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    let admin = "ip saddr 192.0.2.99 drop";
    sb.sh(&format!("nft add rule inet cnet user {admin}")).ok();
    let check = |when: &str| {
        let r = sb.run(&["nft", "list", "chain", "inet", "cnet", "user"]);
        r.ok();
        assert!(
            r.stdout.lines().any(|l| l.trim() == admin),
            "admin rule gone after {when}\n{r}"
        );
        let f = sb.run(&["nft", "list", "chain", "inet", "cnet", "forward"]);
        let first = f
            .stdout
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with("type ") && !l.ends_with('{'))
            .unwrap_or("");
        assert_eq!(
            first, "jump user",
            "user is not first in forward after {when}\n{f}"
        );
    };
    check("net create");
    sb.cnet(&["net", "create", "web", "--subnet", "10.2.0.0/24"])
        .ok();
    check("a second net create");
    sb.cnet(&["attach", "lab", "ns1", "-p", "8080:80"]).ok();
    check("attach -p");
    sb.cnet(&["firewall", "reload"]).ok();
    check("firewall reload");
    sb.cnet(&["detach", "lab", "ns1"]).ok();
    check("detach");
    sb.cnet(&["attach", "lab", "ns1", "-p", "8080:80"]).ok();
    sb.cnet(&["ns", "rm", "ns1"]).ok();
    check("ns rm");
    sb.cnet(&["net", "rm", "web", "lab"]).ok();
    check("net rm of every network");
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    check("net create again");
}

#[test]
fn a_failed_attach_with_ports_rolls_back_its_rules_and_claims() {
    let sb = world();
    sb.cnet(&["attach", "lab", "ns2", "-p", "7070:70"]).ok();
    // Break the firewall under cnet: the map of ports published on one address is gone, so
    // the plan's last step fails after the veth and the address went in.
    sb.sh(
        "nft 'flush chain inet cnet prerouting; flush chain inet cnet output; \
         delete map inet cnet published-ip'",
    )
    .ok();
    let before = sb.snapshot();
    let attach = [
        "attach",
        "lab",
        "ns1",
        "-p",
        "8080:80",
        "-p",
        "127.0.0.1:8081:81",
    ];
    let r = sb.cnet(&attach);
    r.fails_with(1);
    assert!(r.stderr.contains("published ports"), "{r}");
    assert_eq!(r.stderr.trim().lines().count(), 1, "{r}");
    sb.snapshot().assert_same(&before, "failed attach");
    // reload repairs the layout; then the same attach works.
    sb.cnet(&["firewall", "reload"]).ok();
    sb.cnet(&attach).ok();
    serve_tcp(&sb, "ns1", 80, "hello-from-ns1");
    assert_reply(&sb, None, "tcp", "127.0.0.1", 8080, "hello-from-ns1");
    assert_reply(&sb, Some("outside"), "tcp", HOST, 8080, "hello-from-ns1");
}

#[test]
fn route_localnet_does_not_open_the_hosts_loopback_to_the_network() {
    let sb = world();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    // A service the host keeps to itself.
    sb.sh(
        "socat TCP-LISTEN:7777,bind=127.0.0.1,fork,reuseaddr SYSTEM:'echo host-secret' \
         </dev/null >/dev/null 2>&1 &",
    )
    .ok();
    assert_reply(&sb, None, "tcp", "127.0.0.1", 7777, "host-secret");
    // ns1 routes 127.0.0.1 to the gateway instead of its own loopback, and sends such packets.
    sb.sh("ip -n ns1 addr del 127.0.0.1/8 dev lo \
         && ip -n ns1 route add 127.0.0.1/32 via 10.1.0.1 \
         && ip netns exec ns1 sysctl -qw net.ipv4.conf.all.route_localnet=1 \
         && ip netns exec ns1 sysctl -qw net.ipv4.conf.eth0.route_localnet=1")
        .ok();
    sb.run(&["sysctl", "-n", "net.ipv4.conf.cn-lab.route_localnet"])
        .ok()
        .stdout_has("1");
    assert_no_reply(&sb, Some("ns1"), "tcp", "127.0.0.1", 7777);
    // It is cnet's raw rule that stops it: without it, the host's loopback answers.
    sb.sh(
        "h=$(nft -a list chain inet cnet raw | awk '/127.0.0.0\\/8/ {print $NF}') \
         && nft delete rule inet cnet raw handle $h",
    )
    .ok();
    assert_reply(&sb, Some("ns1"), "tcp", "127.0.0.1", 7777, "host-secret");
    sb.cnet(&["firewall", "reload"]).ok();
    assert_no_reply(&sb, Some("ns1"), "tcp", "127.0.0.1", 7777);
}
