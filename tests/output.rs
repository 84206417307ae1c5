//! One output contract: every command's --format json parses, every listing has -q, networks
//! are found by ID, `attach NS` joins the default network, `net prune` and `reset` clean up,
//! and the bash completion offers names from cnet itself.

mod common;

use common::Sandbox;
use serde_json::Value;

/// A sandbox with network `lab` (10.1.0.0/24) and namespace ns1 on it, made with --format json.
fn lab() -> Sandbox {
    let sb = Sandbox::new();
    let v = sb
        .cnet(&[
            "--format",
            "json",
            "net",
            "create",
            "lab",
            "--subnet",
            "10.1.0.0/24",
        ])
        .json();
    assert_eq!(v["name"], "lab", "{v:#}");
    assert_eq!(v["ipam"]["subnet"], "10.1.0.0/24", "{v:#}");
    let v = sb
        .cnet(&["--format", "json", "attach", "lab", "ns1", "-p", "8080:80"])
        .json();
    assert_eq!(v["address"], "10.1.0.2/24", "{v:#}");
    assert_eq!(
        v["ports"],
        serde_json::json!(["0.0.0.0:8080->80/tcp"]),
        "{v:#}"
    );
    assert!(v["since"].as_str().unwrap().ends_with('Z'), "{v:#}");
    sb
}

/// Every key of a JSON value, anywhere in it (map keys under `namespaces`/`options` excepted:
/// those are names, not keys).
fn keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                out.push(k.clone());
                if k != "namespaces" && k != "options" {
                    keys(v, out);
                } else if let Value::Object(inner) = v {
                    inner.values().for_each(|v| keys(v, out));
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

#[track_caller]
fn assert_snake_case(v: &Value, what: &str) {
    let mut all = Vec::new();
    keys(v, &mut all);
    for k in all {
        assert!(
            k.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{what}: key {k:?} is not snake_case\n{v:#}"
        );
    }
}

#[test]
fn every_command_that_prints_prints_json_with_one_key_style() {
    let sb = lab();
    for args in [
        &["net", "ls"][..],
        &["net", "inspect", "lab", "bridge"],
        &["ns", "ls"],
        &["ns", "ls", "-o", "wide"],
        &["lease", "ls"],
        &["lease", "ls", "lab"],
    ] {
        let mut argv = vec!["--format", "json"];
        argv.extend_from_slice(args);
        let v = sb.cnet(&argv).json();
        assert!(v.is_array(), "{args:?}: {v:#}");
        assert_snake_case(&v, &args.join(" "));
    }
    // Times are RFC 3339, not epoch seconds.
    let leases = sb.cnet(&["--format", "json", "lease", "ls"]).json();
    assert!(
        leases[0]["since"].as_str().unwrap().ends_with('Z'),
        "{leases:#}"
    );
    let nets = sb.cnet(&["--format", "json", "net", "ls"]).json();
    let lab = nets
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "lab")
        .unwrap();
    assert!(lab["created"].as_str().unwrap().contains('T'), "{nets:#}");

    sb.cnet(&["attach", "lab", "ns2"]).ok();
    let v = sb
        .cnet(&["--format", "json", "detach", "lab", "ns2"])
        .json();
    assert_eq!(v["namespace"], "ns2", "{v:#}");
    assert_eq!(v["network"], "lab", "{v:#}");
    let v = sb.cnet(&["--format", "json", "ns", "rm", "ns2"]).json();
    assert_eq!(v[0]["name"], "ns2", "{v:#}");
    assert_eq!(v[0]["deleted"], true, "{v:#}");
    let v = sb
        .cnet(&["--format", "json", "net", "rm", "-f", "lab"])
        .json();
    assert_eq!(v[0]["name"], "lab", "{v:#}");
    assert_eq!(v[0]["detached"], serde_json::json!(["ns1"]), "{v:#}");
    assert_snake_case(&v, "net rm");
}

#[test]
fn json_is_refused_where_nothing_is_printed_and_changes_nothing() {
    let sb = lab();
    let before = sb.snapshot();
    for args in [
        &["--format", "json", "exec-in-ns", "ns1", "true"][..],
        &["--format", "json", "firewall", "reload"],
        &["--format", "json", "--dry-run", "attach", "lab", "ns9"],
    ] {
        sb.cnet(args).usage_error(&["--format json does not apply"]);
    }
    sb.snapshot()
        .assert_same(&before, "after refused --format json");
}

#[test]
fn inspect_as_a_table_is_the_wide_endpoint_table() {
    let sb = lab();
    for args in [
        &["--format", "table", "net", "inspect", "lab"][..],
        &["ns", "ls", "-o", "wide"],
        &["ns", "ls", "--wide"],
    ] {
        let r = sb.cnet(args);
        r.ok();
        let lines: Vec<&str> = r.stdout.lines().collect();
        assert!(lines[0].starts_with("NAMESPACE"), "{r}");
        assert!(
            lines[0].contains("HOST-VETH") && lines[0].contains("DEFAULT-ROUTE"),
            "{r}"
        );
        let row: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(row.len(), 9, "{r}");
        assert_eq!(&row[..4], ["ns1", "lab", "eth0", "10.1.0.2/24"], "{r}");
        assert_eq!(row[6], "cn-lab", "{r}");
        assert_eq!(row[7], "yes", "{r}");
        assert_eq!(row[8], "0.0.0.0:8080->80/tcp", "{r}");
    }
}

#[test]
fn every_listing_has_quiet() {
    let sb = lab();
    assert!(
        sb.cnet(&["net", "ls", "-q"])
            .ok()
            .stdout
            .lines()
            .any(|l| l == "lab")
    );
    assert_eq!(sb.cnet(&["ns", "ls", "-q"]).ok().stdout, "ns1\n");
    assert_eq!(sb.cnet(&["lease", "ls", "-q"]).ok().stdout, "10.1.0.2\n");
    assert_eq!(
        sb.cnet(&["lease", "ls", "lab", "-q"]).ok().stdout,
        "10.1.0.2\n"
    );
}

#[test]
fn networks_are_found_by_id_and_unique_id_prefix() {
    let sb = lab();
    let nets = sb.cnet(&["--format", "json", "net", "ls"]).json();
    let id = nets
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "lab")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The table shows the same ID.
    sb.cnet(&["net", "ls"]).stdout_has(&id);
    for given in [id.as_str(), &id[..6]] {
        let v = sb.cnet(&["net", "inspect", given]).json();
        assert_eq!(v[0]["name"], "lab", "{given}: {v:#}");
    }
    sb.cnet(&["lease", "ls", &id[..6], "-q"])
        .ok()
        .stdout_has("10.1.0.2");
    sb.cnet(&["net", "inspect", "abcdef0123"])
        .usage_error(&["abcdef0123", "does not exist"]);
    sb.cnet(&["net", "rm", "-f", &id]).ok().stdout_has("lab");
    assert!(!sb.cnet(&["net", "ls", "-q"]).stdout.contains("lab"));
}

#[test]
fn attach_with_only_a_namespace_joins_the_default_bridge_network_on_its_announced_subnet() {
    let sb = Sandbox::new();
    // Listing shows the subnet first use will take, and records nothing.
    let before = sb.snapshot();
    let v = sb.cnet(&["net", "inspect", "bridge"]).json();
    assert_eq!(v[0]["ipam"]["subnet"], "172.17.0.0/16", "{v:#}");
    assert_eq!(v[0]["ipam"]["gateway"], "172.17.0.1", "{v:#}");
    sb.cnet(&["net", "ls"]).stdout_has("172.17.0.0/16");
    sb.snapshot().assert_same(&before, "after listing");
    // A network the user makes first leaves that subnet to the default one, as Docker does.
    sb.cnet(&["net", "create", "mine"]).ok();
    let v = sb.cnet(&["net", "inspect", "mine"]).json();
    assert_eq!(v[0]["ipam"]["subnet"], "172.18.0.0/16", "{v:#}");
    sb.cnet(&["attach", "solo"])
        .ok()
        .stdout_has("bridge solo eth0 172.17.0.2/16");
    let v = sb.cnet(&["net", "inspect", "bridge"]).json();
    assert_eq!(v[0]["ipam"]["subnet"], "172.17.0.0/16", "{v:#}");
    assert!(v[0]["namespaces"]["solo"].is_object(), "{v:#}");
}

#[test]
fn net_prune_removes_unused_networks_only() {
    let sb = lab();
    sb.cnet(&["net", "create", "idle", "--subnet", "10.2.0.0/24"])
        .ok();
    sb.cnet(&["attach", "ns3"]).ok(); // the default bridge network, in use
    // Not on a terminal: refused without -f, nothing removed.
    sb.cnet(&["net", "prune"]).usage_error(&["--force"]);
    assert_eq!(sb.cnet(&["net", "prune", "-f"]).ok().stdout, "idle\n");
    let names = sb.cnet(&["net", "ls", "-q"]).ok().stdout.clone();
    assert!(!names.contains("idle") && names.contains("lab"), "{names}");
    sb.cnet(&["detach", "bridge", "ns3"]).ok();
    // Predefined networks are never pruned, even unused.
    assert_eq!(sb.cnet(&["net", "prune", "-f"]).ok().stdout, "");
    assert!(sb.links().contains(&"cnet0".to_string()));
}

#[test]
fn net_rm_of_every_listed_network_succeeds() {
    let sb = lab();
    sb.cnet(&["attach", "ns3"]).ok();
    let names = sb.cnet(&["net", "ls", "-q"]).ok().stdout.clone();
    let mut args = vec!["net", "rm", "-f"];
    args.extend(names.lines());
    let r = sb.cnet(&args);
    r.ok();
    assert!(r.stderr.contains("host is predefined"), "{r}");
    assert!(!sb.links().iter().any(|l| l == "cnet0" || l == "cn-lab"));
    // The default network is listed again, unused, and made again on next use.
    sb.cnet(&["net", "ls", "-q"]).stdout_has("bridge");
    sb.cnet(&["attach", "ns4"]).ok();
    assert!(sb.links().contains(&"cnet0".to_string()));
}

#[test]
fn reset_returns_the_host_to_its_snapshot_after_a_tour_of_the_drivers() {
    let sb = Sandbox::new();
    sb.sh(
        "set -e; ip link add lan0 type veth peer name lan0-far; ip link set lan0 up; \
           ip link set lan0-far up; ip link add up0 type veth peer name up0-far; \
           ip addr add 192.0.2.1/24 dev up0; ip link set up0 up; ip link set up0-far up",
    )
    .ok();
    let before = sb.snapshot();
    sb.cnet(&["reset", "--yes"]).ok();
    sb.snapshot()
        .assert_same(&before, "after a reset of nothing");
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&["attach", "lab", "ns1", "-p", "8080:80"]).ok();
    sb.cnet(&["attach", "ns1"]).ok();
    sb.cnet(&["attach", "ns2", "-p", "9090:90"]).ok();
    sb.cnet(&[
        "net",
        "create",
        "lan",
        "-d",
        "macvlan",
        "--parent",
        "lan0",
        "--subnet",
        "192.168.50.0/24",
    ])
    .ok();
    sb.cnet(&["attach", "lan", "m1"]).ok();
    sb.cnet(&[
        "net",
        "create",
        "ov",
        "-d",
        "vxlan",
        "--vni",
        "42",
        "--subnet",
        "10.20.0.0/24",
        "--local",
        "192.0.2.1",
        "--peer",
        "192.0.2.2",
    ])
    .ok();
    sb.cnet(&["attach", "ov", "v1"]).ok();
    sb.cnet(&["attach", "host", "h1"]).ok();
    sb.run(&["ip", "netns", "add", "mine"]).ok();
    sb.cnet(&["attach", "lab", "mine"]).ok();
    // Not on a terminal: refused without --yes, and nothing changes.
    let built = sb.snapshot();
    sb.cnet(&["reset"]).usage_error(&["--yes"]);
    sb.snapshot().assert_same(&built, "after a refused reset");
    let r = sb.cnet(&["reset", "--yes"]);
    r.ok();
    // A namespace cnet did not create is left, detached.
    sb.run(&["ip", "netns", "del", "mine"]).ok();
    assert!(!sb.exists("/run/cnet"), "reset left /run/cnet");
    sb.snapshot()
        .assert_same(&before, &format!("after reset\n{r}"));
}
