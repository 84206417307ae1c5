//! The firewall as commands change it: `firewall reload`, and published ports on the iptables
//! backend.

use super::*;

#[test]
fn firewall_reload_takes_away_what_the_iptables_backend_left_after_the_new_table_is_in() {
    let store = MemStore::holding(with_lab());
    let old_rule =
        crate::firewall::layout::bridge_network_rules(&crate::firewall::layout::BridgeFw {
            network: "lab",
            bridge: "cn-lab",
            subnet: "10.1.0.0/24".parse().unwrap(),
            internal: false,
        });
    let host = SharedHost::new(FakeHost {
        iptables_leftovers: crate::firewall::IptablesLeftovers {
            rules: old_rule.clone(),
            chains: true,
        },
        ..FakeHost::default()
    });
    cnet(&store, &host, false, &["firewall", "reload"]).unwrap();
    let log = host.0.borrow().log.clone();
    let table = log
        .iter()
        .position(|l| l.contains("table inet cnet {"))
        .unwrap();
    let tail: Vec<&str> = log[table + 1..]
        .iter()
        .map(|l| l.lines().next().unwrap())
        .collect();
    assert_eq!(
        tail,
        [
            format!("iptables {}", old_rule[0].argv("-D").join(" ")).as_str(),
            "# cnet's base chains, now that no rule is left in them:",
        ]
    );
}

#[test]
fn firewall_reload_rebuilds_the_table_with_every_network_in_one_transaction() {
    let store = MemStore::holding(with_lab());
    store.put_network(&overlay()).unwrap();
    let host = SharedHost::new(FakeHost::default());
    cnet(&store, &host, false, &["firewall", "reload"]).unwrap();
    let log = host.0.borrow().log.join("\n");
    assert!(
        log.starts_with("nft -f - <<'EOF'\ntable inet cnet {"),
        "{log}"
    );
    for element in [
        "within { \"cn-lab\" . \"cn-lab\", \"cn-ov\" . \"cn-ov\" }",
        "internal { \"cn-ov\" }",
        "subnets4 { 10.1.0.0/24 . \"cn-lab\" }",
        "peers { 4789 . ",
    ] {
        assert!(
            log.contains(&format!("add element inet cnet {element}")),
            "{log}"
        );
    }
    assert_eq!(log.matches("EOF").count(), 2, "one transaction: {log}");
    assert!(!log.contains("iptables"), "{log}");
}

#[test]
fn with_iptables_a_published_port_is_dnat_rules_and_fails_whole_at_any_step() {
    let iptables = || FakeHost {
        facts: crate::firewall::FirewallFacts::iptables(),
        ..Default::default()
    };
    let args = ["attach", "bridge", NS1, "-p", "8080:80"];
    each_failure_leaves_nothing(&Contents::default(), iptables, &args);
    let store = MemStore::default();
    let host = SharedHost::new(iptables());
    cnet(&store, &host, false, &args).unwrap();
    let log = host.0.borrow().log.join("\n");
    assert!(
        log.contains("iptables -t nat -A CNET-DNAT -p tcp -m tcp --dport 8080"),
        "{log}"
    );
    assert!(!log.contains("nft"), "no table on this backend\n{log}");
    cnet(&store, &host, false, &["detach", "bridge", NS1]).unwrap();
    let log = host.0.borrow().log.join("\n");
    assert!(
        log.contains("iptables -t nat -D CNET-DNAT -p tcp -m tcp --dport 8080"),
        "{log}"
    );
}
