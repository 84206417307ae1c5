//! cnet's firewall as a user sees it: one `table inet cnet` that isolates networks, closes
//! internal ones and masquerades the rest, shown by `cnet firewall status`, gone with the last
//! network; and the iptables backend, forced with CNET_FIREWALL=iptables, doing the same where
//! nf_tables is missing.

mod common;

use common::{OUTSIDE, Sandbox, UPLINK_HOST};

/// `a` and `b` (10.1/24, 10.2/24) with two namespaces each, and `vault` (internal, 10.3/24)
/// with two: every cnet command run through `cnet` (with `env` in front, if given).
fn world(env: &[&str]) -> Sandbox {
    let sb = Sandbox::with_outside();
    let cnet = |args: &[&str]| {
        let mut argv: Vec<&str> = env.to_vec();
        argv.push("cnet");
        argv.extend_from_slice(args);
        sb.run(&argv).ok();
    };
    cnet(&["net", "create", "a", "--subnet", "10.1.0.0/24"]);
    cnet(&["net", "create", "b", "--subnet", "10.2.0.0/24"]);
    cnet(&[
        "net",
        "create",
        "vault",
        "--internal",
        "--subnet",
        "10.3.0.0/24",
    ]);
    for (net, ns) in [
        ("a", "a1"),
        ("a", "a2"),
        ("b", "b1"),
        ("vault", "v1"),
        ("vault", "v2"),
    ] {
        cnet(&["attach", net, ns]);
    }
    sb
}

/// What the outside world sees as the source of a connection from `netns`.
fn seen_from_outside(sb: &Sandbox, netns: &str) -> String {
    sb.sh(
        "ip netns exec outside socat TCP-LISTEN:7000,fork,reuseaddr \
         SYSTEM:'echo $SOCAT_PEERADDR' </dev/null >/dev/null 2>&1 &
         for i in $(seq 50); do
           ip netns exec outside ss -ltnH | grep -q ':7000 ' && exit 0
           sleep 0.1
         done
         echo 'socat did not start listening' >&2; exit 1",
    )
    .ok();
    let r = sb.exec_in(
        netns,
        &["socat", "-u", &format!("TCP:{OUTSIDE}:7000"), "STDOUT"],
    );
    r.ok();
    r.stdout.trim().to_string()
}

/// Isolated networks, a closed internal one, masquerade: what every backend must give.
fn assert_isolation_and_nat(sb: &Sandbox) {
    // Inside a network: open.
    sb.assert_ping("a1", "10.1.0.3");
    sb.assert_ping("v1", "10.3.0.3");
    // Between networks: dropped both ways.
    sb.assert_no_ping("a1", "10.2.0.2");
    sb.assert_no_ping("b1", "10.1.0.2");
    // The internal network reaches nothing and nothing reaches it.
    sb.assert_no_ping("v1", "10.1.0.2");
    sb.assert_no_ping("a1", "10.3.0.2");
    sb.run(&[
        "ip", "-n", "v1", "route", "add", "default", "via", "10.3.0.1",
    ])
    .ok();
    sb.assert_no_ping("v1", OUTSIDE);
    // The others go out with the host's address.
    sb.assert_ping("b1", OUTSIDE);
    assert_eq!(seen_from_outside(sb, "a1"), UPLINK_HOST);
}

/// Lines of `CMD` output that mention cnet (any case).
fn cnet_lines(sb: &Sandbox, cmd: &str) -> Vec<String> {
    let r = sb.sh(&format!("{cmd} 2>/dev/null || true"));
    r.stdout
        .lines()
        .filter(|l| l.to_lowercase().contains("cnet"))
        .map(String::from)
        .collect()
}

/// Neither family keeps a rule of cnet's: no table, no iptables or ip6tables rule or chain.
fn assert_no_cnet_rule(sb: &Sandbox) {
    assert_eq!(cnet_lines(sb, "nft list ruleset"), Vec::<String>::new());
    assert_eq!(cnet_lines(sb, "iptables-save"), Vec::<String>::new());
    assert_eq!(cnet_lines(sb, "ip6tables-save"), Vec::<String>::new());
}

#[test]
fn one_inet_table_isolates_networks_closes_internal_ones_and_goes_with_the_last() {
    let sb = world(&[]);
    assert_isolation_and_nat(&sb);
    // All of it in table inet cnet: nothing in iptables.
    assert_eq!(cnet_lines(&sb, "iptables-save"), Vec::<String>::new());
    let table = sb.run(&["nft", "list", "table", "inet", "cnet"]);
    table
        .ok()
        .stdout_has("chain forward")
        .stdout_has("iifname @bridges oifname @bridges drop")
        .stdout_has("\"cn-vault\" . \"cn-vault\"")
        .stdout_has("10.1.0.0/24 . \"cn-a\"");
    // The internal network is never masqueraded.
    assert!(!table.stdout.contains("10.3.0.0/24"), "{table}");
    let status = sb.cnet(&["--format", "json", "firewall", "status"]);
    let s: serde_json::Value = serde_json::from_str(&status.ok().stdout).unwrap();
    assert_eq!(s["backend"], "nftables");
    assert_eq!(s["table"], true);
    assert_eq!(s["networks"], 3);
    assert_eq!(s["published_ports"], 0);
    assert_eq!(s["rules"], 26);

    // A network removed takes its elements; the others keep working.
    sb.cnet(&["net", "rm", "--force", "b"]).ok();
    assert!(
        !sb.run(&["nft", "list", "table", "inet", "cnet"])
            .stdout
            .contains("cn-b"),
        "net rm left b's elements"
    );
    sb.assert_no_ping("a1", "10.3.0.2");
    sb.assert_ping("a1", OUTSIDE);
    // The last one takes the table: no rule of cnet's in either family.
    sb.cnet(&["net", "rm", "--force", "a", "vault"]).ok();
    assert_no_cnet_rule(&sb);
    sb.cnet(&["firewall", "status"])
        .ok()
        .stdout_has("table            absent")
        .stdout_has("networks         0");
}

#[test]
fn the_iptables_backend_does_the_same_where_it_is_forced_and_leaves_nothing() {
    const IPT: &str = "CNET_FIREWALL=iptables";
    let sb = world(&["env", IPT]);
    assert_isolation_and_nat(&sb);
    sb.run(&["env", IPT, "cnet", "firewall", "status"])
        .ok()
        .stdout_has("backend          iptables");
    // The networks' rules are iptables', each tagged with its network.
    let save = sb.run(&["iptables-save"]);
    save.ok()
        .stdout_has("-A CNET-ISOLATION-2 -o cn-b -m comment --comment \"cnet:b\" -j DROP")
        .stdout_has("--comment \"cnet:vault\"");
    assert!(
        !sb.run(&["nft", "list", "tables"])
            .stdout
            .contains("inet cnet"),
        "no table before a port is published"
    );
    // Published ports still go through the table, made on first use.
    sb.run(&["env", IPT, "cnet", "attach", "a", "web", "-p", "8080:80"])
        .ok();
    sb.sh(
        "ip netns exec web socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo from-web' \
         </dev/null >/dev/null 2>&1 &
         for i in $(seq 50); do ip netns exec web ss -ltnH | grep -q ':80 ' && exit 0; sleep 0.1; done; exit 1",
    )
    .ok();
    let r = sb.run(&[
        "ip",
        "netns",
        "exec",
        "outside",
        "socat",
        "-u",
        &format!("TCP:{UPLINK_HOST}:8080"),
        "STDOUT",
    ]);
    assert_eq!(r.ok().stdout.trim(), "from-web");
    // A reload after a flush puts the rules back (here too, nothing twice).
    sb.sh("iptables -F CNET-ISOLATION-2").ok();
    sb.assert_ping("a1", "10.2.0.2");
    sb.run(&["env", IPT, "cnet", "firewall", "reload"]).ok();
    sb.assert_no_ping("a1", "10.2.0.2");
    sb.run(&[
        "env", IPT, "cnet", "net", "rm", "--force", "a", "b", "vault",
    ])
    .ok();
    assert_no_cnet_rule(&sb);
}

#[test]
fn a_reload_moves_a_host_from_the_iptables_backend_to_the_table() {
    // A host whose networks were made with the iptables backend (no nf_tables then, or
    // CNET_FIREWALL=iptables), reloaded with the nftables one.
    let sb = world(&["env", "CNET_FIREWALL=iptables"]);
    sb.cnet(&["firewall", "reload"]).ok();
    assert_eq!(cnet_lines(&sb, "iptables-save"), Vec::<String>::new());
    let tables = sb.run(&["nft", "list", "tables"]);
    assert!(tables.ok().stdout.contains("table inet cnet"), "{tables}");
    // Now the table alone does what the rules did.
    assert_isolation_and_nat(&sb);
    sb.cnet(&["net", "rm", "--force", "a", "b", "vault"]).ok();
    assert_no_cnet_rule(&sb);
}

#[test]
fn a_bad_backend_name_is_a_usage_error_that_changes_nothing() {
    let sb = Sandbox::new();
    let before = sb.snapshot();
    let r = sb.run(&["env", "CNET_FIREWALL=pf", "cnet", "net", "create", "a"]);
    r.usage_error(&["CNET_FIREWALL=pf", "iptables or nftables"]);
    sb.snapshot().assert_same(&before, "a bad CNET_FIREWALL");
}

/// The iptables backend keeps a dual-stack network's IPv6 half in ip6tables through every
/// command that manages the firewall: `--dry-run` prints it, `firewall status` counts it,
/// `firewall reload` puts back what was flushed, gc deletes the rules of a network whose
/// record is gone, and `reset` leaves nothing in either family.
#[test]
fn the_iptables_backend_manages_ip6tables_as_it_does_iptables() {
    let sb = Sandbox::with_outside().with_env("CNET_FIREWALL", "iptables");
    let dual = |name: &str, n: u8| -> Vec<String> {
        let words =
            format!("net create {name} --subnet 10.{n}.0.0/24 --ipv6 --subnet6 fd00:{n}::/64");
        words.split(' ').map(String::from).collect()
    };
    let cnet = |argv: Vec<String>| {
        let words: Vec<&str> = argv.iter().map(String::as_str).collect();
        sb.cnet(&words)
    };
    // Nothing there yet: the dry run makes both families' base chains, then the rules.
    let dry = cnet([vec!["--dry-run".to_string()], dual("a", 1)].concat());
    dry.ok()
        .stdout_has("iptables-restore --noflush <<'EOF'")
        .stdout_has("ip6tables-restore --noflush <<'EOF'")
        .stdout_has("-I INPUT 1 -j CNET-INPUT")
        .stdout_has("ip6tables -t nat -A CNET-POSTROUTING -s fd00:1::/64 ! -o cn-a");
    assert_eq!(cnet_lines(&sb, "ip6tables-save"), Vec::<String>::new());
    cnet(dual("a", 1)).ok();
    cnet(dual("b", 2)).ok();
    sb.cnet(&["attach", "a", "a1"]).ok();
    sb.cnet(&["attach", "b", "b1"]).ok();
    sb.cnet(&["firewall", "status"])
        .ok()
        .stdout_has("backend          iptables")
        .stdout_has("iptables rules   20")
        .stdout_has("ip6tables rules  16");
    // Flushed by hand, put back by a reload (a second one changes nothing).
    sb.sh("ip6tables -F CNET-ISOLATION-2").ok();
    sb.assert_ping6("a1", "fd00:2::2");
    sb.cnet(&["firewall", "reload"]).ok();
    let no_ping6 = |from: &str, to: &str| {
        let r = sb.run(&["ip", "netns", "exec", from, "ping", "-6", "-c1", "-W1", to]);
        assert!(!r.succeeded(), "{from} reached {to}\n{r}");
    };
    no_ping6("a1", "fd00:2::2");
    let reloaded = sb.rules();
    sb.cnet(&["firewall", "reload"]).ok();
    assert_eq!(sb.rules(), reloaded, "a second reload must change nothing");
    // b's record gone: gc deletes its rules in both families.
    sb.sh(&format!("rm {}/networks/b.toml", sb.state_dir()))
        .ok();
    let dry = sb.cnet(&["gc", "--dry-run"]);
    dry.ok()
        .stdout_has("firewall rules of b: no such network: deleted (18 rules)")
        .stdout_has("ip6tables -t filter -D CNET-ISOLATION-2 -o cn-b");
    sb.cnet(&["gc"]).ok();
    for save in ["iptables-save", "ip6tables-save"] {
        let left = cnet_lines(&sb, save);
        assert!(!left.iter().any(|l| l.contains("cnet:b")), "{left:?}");
        assert!(left.iter().any(|l| l.contains("cnet:a")), "{left:?}");
    }
    // a's record gone too, then a reset: nothing of cnet's is left in either family.
    sb.sh(&format!("rm {}/networks/a.toml", sb.state_dir()))
        .ok();
    sb.cnet(&["reset", "--yes"]).ok();
    assert_no_cnet_rule(&sb);
}
