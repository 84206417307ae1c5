//! Lab files (`cnet lab up|down|ls`) and drawings (`cnet graph`), each in its own sandbox.

mod common;

use common::{Run, Sandbox};

/// Three networks: a bridge with a published port, an internal bridge, and an overlay to a
/// peer VTEP (the sandbox's underlay address is 192.0.2.1, on a veth made by `underlay`).
const LAB: &str = r#"
[networks.front]
subnet = "10.10.0.0/24"

[networks.back]
subnet = "10.20.0.0/24"
internal = true

[networks.site]
driver = "vxlan"
subnet = "10.30.0.0/24"
ip_range = "10.30.0.0/25"
vni = 4242
local = "192.0.2.1"
peers = ["192.0.2.2"]

[namespaces.web]
attach = [
  { network = "front", ip = "10.10.0.10", aliases = ["www"], ports = ["8080:80"] },
  { network = "back" },
]

[namespaces.db]
attach = [{ network = "back", ip = "10.20.0.20", aliases = ["postgres"] }]

[namespaces.client]
attach = [
  { network = "front" },
  { network = "site" },
]
exec = [["ping", "-c1", "-W2", "www"]]
"#;

/// A sandbox with an underlay address for the overlay, and `text` at /run/lab.toml.
fn sandbox_with(text: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.sh(
        "ip link add up0 type veth peer name up0p && ip addr add 192.0.2.1/24 dev up0 && \
           ip link set up0 up && ip link set up0p up",
    )
    .ok();
    write_lab(&sb, text);
    sb
}

fn write_lab(sb: &Sandbox, text: &str) {
    sb.sh(&format!("cat > /run/lab.toml <<'EOF'\n{text}\nEOF"))
        .ok();
}

fn lab(sb: &Sandbox, verb: &str) -> Run {
    sb.cnet(&["lab", verb, "/run/lab.toml"])
}

#[test]
fn up_twice_changes_nothing_and_down_returns_to_before() {
    let sb = sandbox_with(LAB);
    let before = sb.snapshot();
    lab(&sb, "up").ok().stdout_has("1 received");
    let up = sb.snapshot();
    assert_eq!(up.netns, ["client", "db", "web"]);
    sb.assert_ping("web", "postgres");
    sb.assert_ping("client", "www");

    let again = lab(&sb, "up");
    again.ok();
    assert_eq!(again.stdout, "", "a second up does nothing:\n{again}");
    sb.snapshot().assert_same(&up, "lab up run twice");

    lab(&sb, "down").ok();
    sb.snapshot().assert_same(&before, "lab down after lab up");
    // Nothing of the lab is left to take down.
    lab(&sb, "down").ok();
}

/// The host's IPv4 routes, every table: what a bridge deleted too late could take with it.
fn routes(sb: &Sandbox) -> String {
    sb.sh("ip -4 route show table all | sort")
        .ok()
        .stdout
        .clone()
}

#[test]
fn up_right_after_down_builds_the_lab_again_and_the_late_deletions_leave_it_alone() {
    let sb = sandbox_with(LAB);
    lab(&sb, "up").ok();
    let up = sb.snapshot();
    let up_routes = routes(&sb);
    // One shell: `up` starts while `down`'s links, retired under other names, may still be
    // being deleted in the background; it gets their names, addresses and VNI all the same.
    sb.sh("cnet lab down /run/lab.toml && cnet lab up /run/lab.toml")
        .ok()
        .stdout_has("1 received");
    // Once the retired links are gone, the new lab is whole: links, rules, routes, names.
    let left = sb.settle();
    assert!(left.is_empty(), "retired links never deleted: {left:?}");
    let again = sb.snapshot();
    assert_eq!(again.links, up.links);
    assert_eq!(again.rules, up.rules);
    assert_eq!(again.netns, up.netns);
    assert_eq!(routes(&sb), up_routes);
    sb.assert_ping("web", "postgres");
    sb.assert_ping("client", "www");
}

#[test]
fn down_with_wait_returns_once_the_kernel_has_deleted_the_links() {
    let sb = sandbox_with(LAB);
    let before = sb.snapshot();
    lab(&sb, "up").ok();
    let r =
        sb.sh("cnet lab down --wait /run/lab.toml >/dev/null && ip -o link show | grep -c ': cnr' || true");
    assert_eq!(
        r.ok().stdout.trim(),
        "0",
        "retired links left after --wait:\n{r}"
    );
    sb.snapshot().assert_same(&before, "lab down --wait");
}

#[test]
fn a_network_defined_otherwise_is_named_and_nothing_changes() {
    let sb = sandbox_with(LAB);
    sb.cnet(&["net", "create", "front", "--subnet", "10.99.0.0/24"])
        .ok();
    let before = sb.snapshot();
    lab(&sb, "up").usage_error(&[
        "lab up: network front: exists with subnet 10.99.0.0/24, the file says 10.10.0.0/24",
    ]);
    sb.snapshot().assert_same(&before, "a refused lab up");
    // `down` removes only what the file made: the network defined otherwise stays.
    lab(&sb, "down").ok();
    let nets = sb.cnet(&["net", "ls", "-q"]);
    assert!(nets.ok().stdout.lines().any(|l| l == "front"), "{nets}");
}

#[test]
fn a_failing_object_is_named_and_what_was_done_stays() {
    let text = r#"
[networks.aa]
subnet = "10.40.0.0/24"

[networks.lan]
driver = "macvlan"
parent = "nosuch0"
subnet = "192.168.50.0/24"

[namespaces.n1]
attach = [{ network = "aa" }]
"#;
    let sb = sandbox_with(text);
    let r = lab(&sb, "up");
    r.fails();
    assert!(
        r.stderr.contains("cnet: lab up: network lan: ") && r.stderr.contains("nosuch0"),
        "the error names the object and the parent:\n{r}"
    );
    let nets = sb.cnet(&["net", "ls", "-q"]);
    nets.ok();
    assert!(nets.stdout.lines().any(|l| l == "aa"), "{nets}");
    assert!(!nets.stdout.lines().any(|l| l == "lan"), "{nets}");
    assert!(sb.links().contains(&"cn-aa".to_string()));
    // The steps after the failure did not run.
    assert!(sb.netns_list().is_empty(), "{:?}", sb.netns_list());
    lab(&sb, "down").ok();
    assert!(!sb.links().contains(&"cn-aa".to_string()));
}

#[test]
fn lab_ls_lists_every_attachment_as_a_table_and_as_json() {
    let sb = sandbox_with(LAB);
    lab(&sb, "up").ok();
    let table = lab(&sb, "ls");
    table.ok();
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        [
            "NAMESPACE",
            "NETWORK",
            "INTERFACE",
            "ADDRESS",
            "MAC",
            "DEFAULT-ROUTE",
            "PORTS"
        ]
    );
    assert_eq!(lines.len(), 6, "{table}");
    for line in &lines[1..] {
        assert_eq!(
            line.split_whitespace().count(),
            7,
            "one word per cell: {line}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == [
                    "web",
                    "front",
                    "eth0",
                    "10.10.0.10/24",
                    "02:42:0a:0a:00:0a",
                    "yes",
                    "0.0.0.0:8080->80/tcp"
                ]),
        "{table}"
    );
    let json = sb
        .cnet(&["--format", "json", "lab", "ls", "/run/lab.toml"])
        .json();
    let rows = json.as_array().expect("an array");
    assert_eq!(rows.len(), 5);
    let client_site = rows
        .iter()
        .find(|r| r["namespace"] == "client" && r["network"] == "site")
        .expect("client on site");
    assert_eq!(client_site["attached"], true);
    assert_eq!(
        client_site["default_route"], false,
        "an overlay is internal"
    );
    assert_eq!(client_site["interface"], "eth1");
}

#[test]
fn graph_draws_three_networks_as_text_dot_and_mermaid() {
    let sb = sandbox_with(LAB);
    lab(&sb, "up").ok();
    let text = sb.cnet(&["graph"]);
    text.ok();
    for line in text.stdout.lines() {
        assert!(line.chars().count() <= 80, "wider than 80 columns: {line}");
    }
    for needle in [
        "[front] bridge cn-front 10.10.0.0/24 gw:10.10.0.1",
        "[back] bridge cn-back 10.20.0.0/24 gw:10.20.0.1 internal",
        "[site] vxlan cn-site+cnvx4242 10.30.0.0/24",
        "~ peers: 192.0.2.2",
        "web eth0 10.10.0.10/24 default-route 0.0.0.0:8080->80/tcp",
        "client eth0 10.10.0.2/24 default-route",
        "client eth1 10.30.0.1/24",
    ] {
        text.stdout_has(needle);
    }

    // Debian's Graphviz renders it without a complaint.
    let svg = sb.sh("cnet graph --style dot >/run/lab.dot && dot -Tsvg /run/lab.dot");
    svg.ok();
    assert_eq!(svg.stderr, "", "{svg}");
    assert!(svg.stdout.contains("<svg"), "{svg}");
    assert!(svg.stdout.contains("10.10.0.0/24"), "{svg}");

    let mermaid = sb.cnet(&["graph", "--style", "mermaid"]);
    mermaid.ok();
    assert!(mermaid.stdout.starts_with("graph LR\n"), "{mermaid}");
    mermaid.stdout_has("peer0{\"VTEP<br/>192.0.2.2\"}");

    let one = sb.cnet(&["graph", "back"]);
    one.ok();
    assert!(!one.stdout.contains("[front]"), "{one}");
    one.stdout_has("db eth0 10.20.0.20/24");
    sb.cnet(&["graph", "nosuch"])
        .usage_error(&["network nosuch does not exist"]);
}

#[test]
fn bad_lab_files_are_refused_and_change_nothing() {
    let sb = sandbox_with("[networks.lan]\nsubnett = \"10.0.0.0/24\"\n");
    let before = sb.snapshot();
    lab(&sb, "up").usage_error(&["/run/lab.toml: line 2: unknown field `subnett`"]);
    sb.cnet(&["lab", "up", "/run/nosuch.toml"]).fails();
    sb.snapshot().assert_same(&before, "refused lab files");
}

/// What a user sees of a lab: each namespace's interfaces, MACs, addresses and routes, and the
/// host's links (their MACs are random: the bridges' are chosen at creation).
fn lab_view(sb: &Sandbox) -> String {
    sb.sh(
        "ip -br link | awk '{print $1, $2}' | sort; for n in web db client; do echo \"== $n\"; [ -e /run/netns/$n ] || continue; ip -n $n -br link; \
         ip -n $n -br addr; ip -n $n route; done",
    )
    .ok()
    .stdout
    .clone()
}

#[test]
fn a_dry_run_of_up_is_a_script_that_builds_the_lab_and_of_down_one_that_removes_it() {
    let real = sandbox_with(LAB);
    let before = real.snapshot();
    let dry = real.cnet(&["--dry-run", "lab", "up", "/run/lab.toml"]);
    dry.ok()
        .stdout_has("# namespace client on site\n")
        .stdout_has("peer name eth1");
    real.snapshot().assert_same(&before, "lab up --dry-run");
    // Each step planned on what the steps before it made: cnet's table made once.
    let table = dry.stdout.matches("\ntable inet cnet {").count();
    assert_eq!(table, 1, "table inet cnet planned {table} times\n{dry}");

    let pasted = sandbox_with(LAB);
    let script = format!("set -e\n{}", dry.stdout);
    pasted.sh(&script).ok().stdout_has("1 received");
    lab(&real, "up").ok();
    assert_eq!(lab_view(&pasted), lab_view(&real));
    pasted.assert_ping("web", "postgres");

    let down = real.cnet(&["--dry-run", "lab", "down", "/run/lab.toml"]);
    down.ok().stdout_has("# network site\n");
    pasted.sh(&format!("set -e\n{}", down.stdout)).ok();
    lab(&real, "down").ok();
    // What `down` retired is deleted in the background: compare once it is gone.
    real.settle();
    assert_eq!(lab_view(&pasted), lab_view(&real));
    assert!(!lab_view(&pasted).contains("cn-front"));
}
