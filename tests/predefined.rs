//! The predefined networks `bridge`, `host` and `none`, and cnet's other defaults.

mod common;

use common::{DEFAULT_STATE_DIR, Sandbox, inspect_namespaces};

#[test]
fn predefined_networks_are_listed() {
    let sb = Sandbox::new();
    let r = sb.cnet(&["net", "ls", "-q"]);
    r.ok();
    let names: Vec<&str> = r.stdout.lines().collect();
    for n in ["bridge", "host", "none"] {
        assert!(names.contains(&n), "net ls -q lacks {n}\n{r}");
    }
    let v = sb.cnet(&["net", "ls", "--format", "json"]).json();
    assert_eq!(v.as_array().map(Vec::len), Some(3), "{v:#}");
}

#[test]
fn default_bridge_network_works_on_first_use() {
    let sb = Sandbox::new();
    sb.cnet(&["attach", "bridge", "nsb"]).ok();
    sb.cnet(&["attach", "bridge", "nsc"]).ok();
    assert!(
        sb.links().contains(&"cnet0".to_string()),
        "no cnet0 bridge: {:?}",
        sb.links()
    );

    let eps = inspect_namespaces(&sb, "bridge");
    let addr = |ns: &str| -> String {
        let a = eps[ns]["ipv4_address"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            a.starts_with("172.17.") && a.ends_with("/16"),
            "{ns}: {:#}",
            eps[ns]
        );
        a
    };
    let (b, c) = (addr("nsb"), addr("nsc"));
    assert_eq!(sb.addrs("nsb", "eth0"), [b]);
    sb.assert_ping("nsc", c.split('/').next().unwrap_or_default());
    sb.assert_ping("nsc", "nsb");
}

#[test]
fn none_network_gives_only_loopback() {
    let sb = Sandbox::new();
    sb.cnet(&["attach", "none", "nsn"]).ok();
    assert!(sb.netns_list().contains(&"nsn".to_string()));
    assert_eq!(sb.links_in("nsn"), ["lo"]);
    sb.run(&["ip", "-n", "nsn", "-o", "link", "show", "lo"])
        .ok()
        .stdout_has(",UP");
    sb.assert_ping("nsn", "127.0.0.1");
    // Nothing was built on the host for it.
    assert!(
        !sb.links().iter().any(|l| l.starts_with("cn")),
        "{:?}",
        sb.links()
    );
}

#[test]
fn host_network_is_the_hosts_own_stack() {
    let sb = Sandbox::new();
    // Something to recognise the host by.
    sb.cnet(&["attach", "bridge", "nsb"]).ok();
    sb.cnet(&["attach", "host", "nsh"]).ok();
    assert!(sb.netns_list().contains(&"nsh".to_string()));
    sb.exec_in("nsh", &["ip", "-o", "link"])
        .ok()
        .stdout_has("cnet0");
    sb.cnet(&["detach", "host", "nsh"]).ok();
    assert!(
        !sb.netns_list().contains(&"nsh".to_string()),
        "{:?}",
        sb.netns_list()
    );
    // The host itself is untouched.
    assert!(sb.links().contains(&"cnet0".to_string()));
}

#[test]
fn default_state_dir_is_var_lib_cnet() {
    let sb = Sandbox::with_default_state_dir();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    let file = format!("{DEFAULT_STATE_DIR}/networks/lab.toml");
    assert!(sb.exists(&file), "no {file}");
    assert!(sb.exists(&format!("{DEFAULT_STATE_DIR}/leases/lab")));
    assert!(sb.exists(&format!("{DEFAULT_STATE_DIR}/endpoints/lab")));
    let r = sb.cnet(&["net", "ls", "-q"]);
    r.ok().stdout_has("lab");
}
