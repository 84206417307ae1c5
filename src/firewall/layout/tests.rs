use super::*;

fn lab(internal: bool) -> BridgeFw<'static> {
    BridgeFw {
        network: "lab",
        bridge: "cn-lab",
        subnet: "10.1.0.0/24".parse().unwrap(),
        internal,
    }
}

fn lab6(internal: bool) -> BridgeFw<'static> {
    BridgeFw {
        subnet: "fd00:1::/64".parse().unwrap(),
        ..lab(internal)
    }
}

fn rendered(rules: &[Rule]) -> Vec<String> {
    rules.iter().map(|r| r.to_string()).collect()
}

#[test]
fn bridge_network_rules_render_like_iptables() {
    assert_eq!(
        rendered(&bridge_network_rules(&lab(false))),
        vec![
            "iptables -t filter -A CNET-ISOLATION-2 -o cn-lab -m comment --comment cnet:lab -j DROP",
            "iptables -t filter -A CNET-ISOLATION-1 -i cn-lab ! -o cn-lab -m conntrack ! --ctstate DNAT -m comment --comment cnet:lab -j CNET-ISOLATION-2",
            "iptables -t filter -A CNET-FORWARD -o cn-lab -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment cnet:lab -j ACCEPT",
            "iptables -t filter -A CNET-FORWARD -i cn-lab -o cn-lab -m comment --comment cnet:lab -j ACCEPT",
            "iptables -t filter -A CNET-FORWARD -i cn-lab ! -o cn-lab -m comment --comment cnet:lab -j ACCEPT",
            "iptables -t nat -A CNET-POSTROUTING -s 10.1.0.0/24 ! -o cn-lab -m comment --comment cnet:lab -j MASQUERADE",
        ]
    );
}

#[test]
fn internal_network_is_closed_and_not_masqueraded() {
    let rules = bridge_network_rules(&lab(true));
    assert_eq!(
        rendered(&rules),
        vec![
            "iptables -t filter -A CNET-INPUT -i cn-lab -m comment --comment cnet:lab -j DROP",
            "iptables -t filter -A CNET-ISOLATION-1 ! -s 10.1.0.0/24 -o cn-lab -m comment --comment cnet:lab -j DROP",
            "iptables -t filter -A CNET-ISOLATION-1 ! -d 10.1.0.0/24 -i cn-lab -m comment --comment cnet:lab -j DROP",
            "iptables -t filter -A CNET-FORWARD -i cn-lab -o cn-lab -m comment --comment cnet:lab -j ACCEPT",
        ]
    );
    assert!(rules.iter().all(|r| r.table == Table::Filter));
}

#[test]
fn an_ipv6_subnet_gets_the_same_rules_in_ip6tables() {
    let v4 = rendered(&bridge_network_rules(&lab(false)));
    let v6 = bridge_network_rules(&lab6(false));
    assert!(v6.iter().all(|r| r.family == Family::V6));
    let v6_as_v4: Vec<String> = rendered(&v6)
        .iter()
        .map(|s| {
            s.replacen("ip6tables ", "iptables ", 1)
                .replace("fd00:1::/64", "10.1.0.0/24")
        })
        .collect();
    assert_eq!(v4, v6_as_v4);
}

/// Internal: the IPv6 drops name the bridge only, so that neighbour discovery between two
/// ports (from link-local addresses) passes even where bridged frames go through ip6tables.
#[test]
fn an_internal_ipv6_subnet_is_closed_by_its_bridge() {
    assert_eq!(
        rendered(&bridge_network_rules(&lab6(true))),
        vec![
            "ip6tables -t filter -A CNET-INPUT -i cn-lab -m comment --comment cnet:lab -j DROP",
            "ip6tables -t filter -A CNET-ISOLATION-1 ! -i cn-lab -o cn-lab -m comment --comment cnet:lab -j DROP",
            "ip6tables -t filter -A CNET-ISOLATION-1 -i cn-lab ! -o cn-lab -m comment --comment cnet:lab -j DROP",
            "ip6tables -t filter -A CNET-FORWARD -i cn-lab -o cn-lab -m comment --comment cnet:lab -j ACCEPT",
        ]
    );
}

#[test]
fn every_rule_is_tagged_with_the_network_and_lives_in_a_cnet_chain() {
    for n in [lab(false), lab(true), lab6(false), lab6(true)] {
        let chains: Vec<&str> = base_chains(n.family()).iter().map(|(_, c)| *c).collect();
        for r in bridge_network_rules(&n) {
            assert_eq!(r.comment, "cnet:lab");
            assert!(chains.contains(&r.chain.as_str()), "{r}");
            assert_ne!(r.chain, USER_CHAIN, "cnet never writes CNET-USER");
            let argv = r.argv("-A");
            let i = argv.iter().position(|w| w == "--comment").unwrap();
            assert_eq!(argv[i + 1], "cnet:lab");
        }
    }
}

#[test]
fn two_networks_differ_only_by_their_names() {
    let other = |subnet: &str, internal| BridgeFw {
        network: "web",
        bridge: "cn-web",
        subnet: subnet.parse().unwrap(),
        internal,
    };
    for internal in [false, true] {
        let a = rendered(&bridge_network_rules(&lab(internal)));
        // Same subnet: only the names differ.
        let b = rendered(&bridge_network_rules(&other("10.1.0.0/24", internal)));
        assert_ne!(a, b);
        let b_as_a: Vec<String> = b
            .iter()
            .map(|s| {
                s.replace("cn-web", "cn-lab")
                    .replace("cnet:web", "cnet:lab")
            })
            .collect();
        assert_eq!(a, b_as_a);
        // Another subnet: the names and the subnet.
        let c = rendered(&bridge_network_rules(&other("10.2.0.0/16", internal)));
        let c_as_a: Vec<String> = c
            .iter()
            .map(|s| {
                s.replace("cn-web", "cn-lab")
                    .replace("cnet:web", "cnet:lab")
                    .replace("10.2.0.0/16", "10.1.0.0/24")
            })
            .collect();
        assert_eq!(a, c_as_a);
    }
}

#[test]
fn isolation_and_drops_come_before_openings() {
    for internal in [false, true] {
        let rules = bridge_network_rules(&lab(internal));
        let first_opening = rules
            .iter()
            .position(|r| r.chain == FORWARD_CHAIN || r.chain == POSTROUTING_CHAIN)
            .unwrap();
        assert!(
            rules[..first_opening]
                .iter()
                .all(|r| r.chain.starts_with("CNET-ISOLATION-") || r.chain == INPUT_CHAIN)
        );
        assert!(
            rules[first_opening..]
                .iter()
                .all(|r| !r.chain.starts_with("CNET-ISOLATION-"))
        );
    }
}

#[test]
fn base_jumps_go_to_the_top_in_order() {
    let jumps = |family| -> Vec<String> {
        base_jump_inserts(family)
            .iter()
            .map(|(p, r)| command_line(family, &insert_argv(r, *p)))
            .collect()
    };
    assert_eq!(
        jumps(Family::V4),
        vec![
            "iptables -t filter -I FORWARD 1 -j CNET-USER",
            "iptables -t filter -I FORWARD 2 -j CNET-ISOLATION-1",
            "iptables -t filter -I FORWARD 3 -j CNET-FORWARD",
            "iptables -t filter -I INPUT 1 -j CNET-INPUT",
            "iptables -t nat -I POSTROUTING 1 -j CNET-POSTROUTING",
            "iptables -t nat -I PREROUTING 1 -m addrtype --dst-type LOCAL -j CNET-DNAT",
            "iptables -t nat -I OUTPUT 1 -m addrtype --dst-type LOCAL -j CNET-DNAT",
            "iptables -t raw -I PREROUTING 1 -j CNET-RAW-PREROUTING",
            "iptables -t raw -I PREROUTING 2 -j CNET-TUNNEL",
        ]
    );
    // ip6tables: the same, without the raw chains.
    assert_eq!(
        jumps(Family::V6),
        vec![
            "ip6tables -t filter -I FORWARD 1 -j CNET-USER",
            "ip6tables -t filter -I FORWARD 2 -j CNET-ISOLATION-1",
            "ip6tables -t filter -I FORWARD 3 -j CNET-FORWARD",
            "ip6tables -t filter -I INPUT 1 -j CNET-INPUT",
            "ip6tables -t nat -I POSTROUTING 1 -j CNET-POSTROUTING",
            "ip6tables -t nat -I PREROUTING 1 -m addrtype --dst-type LOCAL -j CNET-DNAT",
            "ip6tables -t nat -I OUTPUT 1 -m addrtype --dst-type LOCAL -j CNET-DNAT",
        ]
    );
    // Every jump targets one of cnet's chains in the same table.
    for family in FAMILIES {
        for r in base_jumps(family) {
            let Target::Jump(to) = &r.target else {
                panic!("{r}")
            };
            assert!(base_chains(family).contains(&(r.table, to.as_str())), "{r}");
            assert_eq!(r.family, family);
        }
    }
}

#[test]
fn base_removal_names_both_families() {
    let d = describe_base_removal();
    assert!(
        d.contains("\niptables -t filter -D FORWARD -j CNET-USER\n"),
        "{d}"
    );
    assert!(d.contains("\nip6tables -t filter -X CNET-USER"), "{d}");
    assert!(!d.contains("ip6tables -t raw"), "{d}");
}
