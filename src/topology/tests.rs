use super::*;

const LAB: &str = r#"
[networks.lan]
subnet = "10.1.0.0/24"

[networks.dmz]
driver = "bridge"
subnet = "10.2.0.0/24"
internal = true

[namespaces.web]
attach = [
  { network = "lan", ip = "10.1.0.10", aliases = ["www"], ports = ["8080:80"] },
  { network = "dmz", gw_priority = 5 },
]
exec = [["ip", "route"]]

[namespaces.db]
attach = [{ network = "dmz" }]
"#;

fn lab() -> Topology {
    Topology::parse("lab.toml", LAB).unwrap()
}

fn network(name: &str, subnet: &str, internal: bool) -> Network {
    Network {
        name: name.into(),
        subnet: Some(subnet.parse().unwrap()),
        gateway: Some(
            subnet
                .parse::<ipnetwork::Ipv4Network>()
                .unwrap()
                .nth(1)
                .unwrap()
                .into(),
        ),
        internal,
        bridge: Some(format!("cn-{name}")),
        ..Default::default()
    }
}

fn endpoint(network: &str, netns: &str, address: &str) -> Endpoint {
    crate::testing::endpoint(network, netns, Some(address))
}

/// The lab as `lab up` leaves it.
fn lab_is_up() -> Recorded {
    let mut web_lan = endpoint("lan", "web", "10.1.0.10/24");
    web_lan.aliases = vec!["www".into()];
    web_lan.ports = crate::ports::parse_all(&["8080:80".into()]).unwrap();
    let mut web_dmz = endpoint("dmz", "web", "10.2.0.2/24");
    web_dmz.gw_priority = 5;
    Recorded {
        networks: vec![
            network("lan", "10.1.0.0/24", false),
            network("dmz", "10.2.0.0/24", true),
        ],
        endpoints: vec![web_lan, web_dmz, endpoint("dmz", "db", "10.2.0.3/24")],
        created: ["web".into(), "db".into()].into(),
    }
}

#[test]
fn a_lab_file_parses_with_defaults() {
    let t = lab();
    assert_eq!(t.networks["lan"].driver, "bridge");
    assert_eq!(t.networks["lan"].internal, None);
    assert_eq!(t.networks["dmz"].internal, Some(true));
    assert_eq!(t.namespaces["web"].attach.len(), 2);
    assert_eq!(t.namespaces["web"].attach[1].gw_priority, 5);
    assert_eq!(t.namespaces["web"].exec, vec![vec!["ip", "route"]]);
}

#[test]
fn bad_lab_files_are_usage_errors_naming_the_problem() {
    let cases = [
        ("[networks.lan]\nsubnett = \"10.0.0.0/24\"\n", "line 2"),
        (
            "[networks.lan]\ndriver = \"ovs\"\n",
            "network lan: unknown driver 'ovs'",
        ),
        ("[networks.lan]\nsubnet = \"10.0.0.0/33\"\n", "line 2"),
        (
            "[namespaces.a]\nattach = [{ network = \"x\" }, { network = \"x\" }]\n",
            "namespace a: attached to network x twice",
        ),
        (
            "[namespaces.a]\nattach = [{ network = \"x\", ports = [\"80:99999\"] }]\n",
            "namespace a:",
        ),
        ("[namespaces.a]\nexec = [[]]\n", "empty command"),
        ("[namespaces.\"a b\"]\n", "namespace"),
        (
            "[namespaces.a]\nattach = [{ network = \"x\", aliases = [\"-x\"] }]\n",
            "alias '-x'",
        ),
    ];
    for (text, needle) in cases {
        let e = Topology::parse("lab.toml", text).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{text}");
        assert!(e.to_string().contains(needle), "{text}: {e}");
    }
}

#[test]
fn up_on_an_empty_host_creates_everything_then_runs_the_commands() {
    let steps = plan_up(&lab(), &Recorded::default()).unwrap();
    let at = |ns: &str, index| UpStep::Attach {
        ns: ns.into(),
        index,
    };
    assert_eq!(
        steps,
        vec![
            UpStep::CreateNetwork("dmz".into()),
            UpStep::CreateNetwork("lan".into()),
            at("db", 0),
            at("web", 0),
            at("web", 1),
            UpStep::Exec {
                ns: "web".into(),
                index: 0
            },
        ]
    );
}

#[test]
fn up_on_a_lab_that_is_up_keeps_everything_and_runs_nothing() {
    let steps = plan_up(&lab(), &lab_is_up()).unwrap();
    assert!(
        steps
            .iter()
            .all(|s| matches!(s, UpStep::KeepNetwork(_) | UpStep::KeepAttachment { .. }))
    );
    assert_eq!(steps.len(), 5);
}

#[test]
fn up_after_a_partial_up_creates_only_what_is_missing() {
    let mut partial = lab_is_up();
    partial.endpoints.retain(|e| e.netns != "db");
    let steps = plan_up(&lab(), &partial).unwrap();
    let made: Vec<_> = steps
        .iter()
        .filter(|s| !matches!(s, UpStep::KeepNetwork(_) | UpStep::KeepAttachment { .. }))
        .collect();
    assert_eq!(
        made,
        vec![&UpStep::Attach {
            ns: "db".into(),
            index: 0
        }]
    );
}

#[test]
fn a_network_defined_otherwise_is_an_error_naming_it() {
    let mut other = lab_is_up();
    other.networks[0].subnet = Some("10.9.0.0/24".parse().unwrap());
    let e = plan_up(&lab(), &other).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert_eq!(
        e.to_string(),
        "lab up: network lan: exists with subnet 10.9.0.0/24, the file says 10.1.0.0/24"
    );
    let mut other = lab_is_up();
    other.networks[1].internal = false;
    let e = plan_up(&lab(), &other).unwrap_err().to_string();
    assert!(e.contains("network dmz: exists with internal false"), "{e}");
}

#[test]
fn an_attachment_defined_otherwise_is_an_error_naming_it() {
    let mut other = lab_is_up();
    other.endpoints[0].address = Some("10.1.0.99/24".parse().unwrap());
    let e = plan_up(&lab(), &other).unwrap_err().to_string();
    assert_eq!(
        e,
        "lab up: namespace web on lan: exists with address 10.1.0.99, the file says 10.1.0.10"
    );
    let mut other = lab_is_up();
    other.endpoints[0].ports.clear();
    let e = plan_up(&lab(), &other).unwrap_err().to_string();
    assert!(e.contains("web on lan: exists with ports none"), "{e}");
    let mut other = lab_is_up();
    other.endpoints[1].gw_priority = 0;
    let e = plan_up(&lab(), &other).unwrap_err().to_string();
    assert!(e.contains("web on dmz: exists with gw_priority 0"), "{e}");
}

#[test]
fn options_the_file_leaves_out_are_not_compared() {
    let spec = NetworkSpec {
        driver: "macvlan".into(),
        parent: Some("eth0".into()),
        ..Default::default()
    };
    let net = Network {
        driver: Driver::Macvlan,
        parent: Some("eth0".into()),
        mode: Some("bridge".into()),
        mtu: Some(1500),
        subnet: Some("192.168.1.0/24".parse().unwrap()),
        options: [("parent".to_string(), "eth0".to_string())].into(),
        ..Default::default()
    };
    assert_eq!(network_difference(&spec, &net), None);
    let private = NetworkSpec {
        mode: Some("private".into()),
        ..spec.clone()
    };
    assert_eq!(
        network_difference(&private, &net).as_deref(),
        Some("exists with mode bridge, the file says private")
    );
    let with_option = NetworkSpec {
        options: [("host_shim".to_string(), "true".to_string())].into(),
        ..spec
    };
    assert_eq!(
        network_difference(&with_option, &net).as_deref(),
        Some("exists with option host_shim unset, the file says true")
    );
}

#[test]
fn down_detaches_removes_the_networks_then_deletes_the_namespaces() {
    let steps = plan_down(&lab(), &lab_is_up());
    let detach = |ns: &str, network: &str| DownStep::Detach {
        ns: ns.into(),
        network: network.into(),
    };
    assert_eq!(
        steps,
        vec![
            detach("db", "dmz"),
            detach("web", "dmz"),
            detach("web", "lan"),
            DownStep::RemoveNetwork("lan".into()),
            DownStep::RemoveNetwork("dmz".into()),
            DownStep::DeleteNamespace("db".into()),
            DownStep::DeleteNamespace("web".into()),
        ]
    );
}

#[test]
fn down_keeps_namespaces_cnet_did_not_create_or_that_are_on_other_networks() {
    let mut host = lab_is_up();
    host.created = ["web".into()].into();
    host.endpoints.push(endpoint("other", "web", "10.3.0.2/24"));
    let steps = plan_down(&lab(), &host);
    assert!(
        !steps
            .iter()
            .any(|s| matches!(s, DownStep::DeleteNamespace(_))),
        "{steps:?}"
    );
}

#[test]
fn down_on_a_host_without_the_lab_does_nothing() {
    assert!(plan_down(&lab(), &Recorded::default()).is_empty());
}

#[test]
fn down_leaves_objects_defined_otherwise_than_the_file_says() {
    let mut host = lab_is_up();
    host.networks[0].subnet = Some("10.9.0.0/24".parse().unwrap());
    host.endpoints[2].aliases = vec!["other".into()];
    let steps = plan_down(&lab(), &host);
    assert!(
        !steps.contains(&DownStep::RemoveNetwork("lan".into())),
        "{steps:?}"
    );
    assert!(
        steps.contains(&DownStep::RemoveNetwork("dmz".into())),
        "{steps:?}"
    );
    let db_stays = |s: &DownStep| match s {
        DownStep::Detach { ns, .. } | DownStep::DeleteNamespace(ns) => ns == "db",
        _ => false,
    };
    assert!(!steps.iter().any(db_stays), "{steps:?}");
}

#[test]
fn a_dual_stack_network_and_its_static_ipv6_address_are_compared_when_the_file_gives_them() {
    let topo = Topology::parse(
        "lab.toml",
        r#"
[networks.ds]
subnet = "10.6.0.0/24"
ipv6 = true
subnet6 = "fd00:6::/64"

[namespaces.web]
attach = [{ network = "ds", ip6 = "fd00:6::10" }]
"#,
    )
    .unwrap();
    let spec = &topo.networks["ds"];
    let mut net = network("ds", "10.6.0.0/24", false);
    assert_eq!(
        network_difference(spec, &net).as_deref(),
        Some("exists with ipv6 false, the file says true")
    );
    net.subnet6 = Some("fd00:6::/64".parse().unwrap());
    assert_eq!(network_difference(spec, &net), None);
    let mut ep = endpoint("ds", "web", "10.6.0.2/24");
    let attach = &topo.namespaces["web"].attach[0];
    assert_eq!(
        attachment_difference(attach, &ep).unwrap().as_deref(),
        Some("exists with address6 none, the file says fd00:6::10")
    );
    ep.address6 = Some("fd00:6::10/64".parse().unwrap());
    assert_eq!(attachment_difference(attach, &ep).unwrap(), None);
}
