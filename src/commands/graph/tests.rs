use super::*;
use crate::model::Endpoint;

fn net(name: &str, driver: Driver, subnet: &str) -> Network {
    let subnet: ipnetwork::Ipv4Network = subnet.parse().unwrap();
    Network {
        name: name.into(),
        driver,
        subnet: Some(subnet.into()),
        gateway: subnet.nth(1).map(Into::into),
        bridge: driver.uses_bridge().then(|| format!("cn-{name}")),
        ..Default::default()
    }
}

fn ep(network: &str, netns: &str, address: &str, default_route: bool) -> Endpoint {
    Endpoint {
        default_route,
        ..crate::testing::endpoint(network, netns, Some(address))
    }
}

/// Three networks: a bridge with a published port, an overlay with two peers, a macvlan LAN.
fn three() -> (Vec<Network>, Vec<Endpoint>) {
    let mut overlay = net("ov", Driver::Vxlan, "10.20.0.0/24");
    overlay.vni = Some(42);
    overlay.peers = vec!["192.0.2.2".parse().unwrap(), "192.0.2.3".parse().unwrap()];
    let mut lan = net("lan", Driver::Macvlan, "192.168.1.0/24");
    lan.parent = Some("eth0".into());
    let mut web = ep("front", "web", "10.1.0.2/24", true);
    web.ports = crate::ports::parse_all(&["8080:80".into()]).unwrap();
    let mut web_ov = ep("ov", "web", "10.20.0.2/24", false);
    web_ov.ifname = "eth1".into();
    (
        vec![net("front", Driver::Bridge, "10.1.0.0/24"), overlay, lan],
        vec![
            web,
            web_ov,
            ep("ov", "db", "10.20.0.3/24", true),
            ep("lan", "printer", "192.168.1.50/24", true),
        ],
    )
}

#[test]
fn text_shows_each_network_its_namespaces_peers_and_ports() {
    let (nets, eps) = three();
    let t = render(GraphStyle::Text, &nets, &eps);
    assert_eq!(
        t,
        "\
[front] bridge cn-front 10.1.0.0/24 gw:10.1.0.1
  └─ web eth0 10.1.0.2/24 default-route 0.0.0.0:8080->80/tcp
[ov] vxlan cn-ov+cnvx42 10.20.0.0/24 gw:10.20.0.1 vni:42
  ~ peers: 192.0.2.2 192.0.2.3
  ├─ db eth0 10.20.0.3/24 default-route
  └─ web eth1 10.20.0.2/24
[lan] macvlan parent:eth0 192.168.1.0/24 gw:192.168.1.1
  └─ printer eth0 192.168.1.50/24 default-route
"
    );
}

#[test]
fn text_wraps_long_lines_within_80_columns() {
    let (nets, mut eps) = three();
    eps[0].ports = (0..12)
        .map(|i| crate::ports::parse(&format!("{}:{}", 10000 + i, 80 + i)).unwrap())
        .collect();
    let t = render(GraphStyle::Text, &nets, &eps);
    for line in t.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line}");
    }
    assert!(t.contains("0.0.0.0:10011->91/tcp"), "{t}");
    assert!(t.lines().count() > 8, "{t}");
}

#[test]
fn dot_has_a_node_per_object_and_a_bold_edge_for_the_default_route() {
    let (nets, eps) = three();
    let d = render(GraphStyle::Dot, &nets, &eps);
    assert!(d.starts_with("graph cnet {\n"), "{d}");
    assert!(d.ends_with("}\n"), "{d}");
    for node in [
        "\"net:front\"",
        "\"net:ov\"",
        "\"net:lan\"",
        "\"ns:web\"",
        "\"ns:db\"",
    ] {
        assert!(d.contains(&format!("  {node} [")), "{node} missing: {d}");
    }
    assert_eq!(
        d.matches("\"ns:web\" [").count(),
        1,
        "one node per namespace"
    );
    assert!(d.contains("\"peer:192.0.2.3\" [shape=diamond"), "{d}");
    assert!(
        d.contains("\"net:ov\" -- \"peer:192.0.2.2\" [style=dashed];"),
        "{d}"
    );
    assert!(
        d.contains(
            "\"ns:web\" -- \"net:front\" [label=\"eth0\\n10.1.0.2/24\\ndefault-route\\n0.0.0.0:8080->80/tcp\", style=bold];"
        ),
        "{d}"
    );
    assert!(
        d.contains("\"ns:web\" -- \"net:ov\" [label=\"eth1\\n10.20.0.2/24\"];"),
        "{d}"
    );
}

#[test]
fn dot_escapes_quotes() {
    assert_eq!(dot_escape(r#"a"b\c"#), r#"a\"b\\c"#);
}

#[test]
fn mermaid_is_a_graph_lr_block_with_thick_default_routes() {
    let (nets, eps) = three();
    let m = render(GraphStyle::Mermaid, &nets, &eps);
    let lines: Vec<&str> = m.lines().collect();
    assert_eq!(lines[0], "graph LR");
    assert!(
        lines
            .contains(&"  net0[\"front<br/>bridge<br/>cn-front<br/>10.1.0.0/24<br/>gw:10.1.0.1\"]"),
        "{m}"
    );
    // Namespaces in name order: db, printer, web.
    assert!(lines.contains(&"  ns2([\"web\"])"), "{m}");
    assert!(
        lines.contains(
            &"  ns2 ===|\"eth0<br/>10.1.0.2/24<br/>default-route<br/>0.0.0.0:8080->80/tcp\"| net0"
        ),
        "{m}"
    );
    assert!(
        lines.contains(&"  ns2 ---|\"eth1<br/>10.20.0.2/24\"| net1"),
        "{m}"
    );
    assert!(lines.contains(&"  peer1{\"VTEP<br/>192.0.2.3\"}"), "{m}");
    assert!(lines.contains(&"  net1 -.- peer0"), "{m}");
}

#[test]
fn nothing_to_draw_is_said_or_drawn_empty() {
    assert_eq!(render(GraphStyle::Text, &[], &[]), "(no networks)\n");
    assert_eq!(
        render(GraphStyle::Dot, &[], &[]),
        "graph cnet {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n}\n"
    );
    assert_eq!(render(GraphStyle::Mermaid, &[], &[]), "graph LR\n");
}
