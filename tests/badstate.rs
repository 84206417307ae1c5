//! A bad state file (garbage, a FIFO, a planted link) spoils only its own object: listings
//! print the rest and name it on stderr, other networks keep working, nothing is written
//! through a link.

mod common;

use common::{Run, Sandbox};

/// A network file that is not TOML: its third line has no '='.
const GARBAGE: &str = "name = \"bad\"\nid = \"0123456789ab\"\nthis is not toml\n";

/// A sandbox with network `good` (one namespace attached) and a garbage `networks/bad.toml`.
fn with_bad_network() -> Sandbox {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "good", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&["attach", "good", "ns1"]).ok();
    plant(&sb, "networks/bad.toml", GARBAGE);
    sb
}

/// Write `text` to `rel` under the sandbox's state directory.
fn plant(sb: &Sandbox, rel: &str, text: &str) {
    let path = format!("{}/{rel}", sb.state_dir());
    sb.sh(&format!("printf '%s' '{text}' > {path}")).ok();
}

/// Asserts the run warned about `file` (with `detail`) in one stderr line.
#[track_caller]
fn warns_about(r: &Run, file: &str, detail: &str) {
    assert!(
        r.stderr
            .lines()
            .any(|l| l.starts_with("cnet: skipping ") && l.contains(file) && l.contains(detail)),
        "expected a warning about {file} ({detail})\n{r}"
    );
}

#[test]
fn listings_show_the_good_rows_and_name_the_bad_file() {
    let sb = with_bad_network();
    let bad = format!("{}/networks/bad.toml", sb.state_dir());

    let r = sb.cnet(&["net", "ls"]);
    r.fails_with(1).stdout_has("good");
    warns_about(&r, &bad, "line 3");
    assert!(
        !r.stdout.contains("bad"),
        "the bad network is not a row\n{r}"
    );

    let r = sb.cnet(&["--format", "json", "net", "ls"]);
    r.fails_with(1);
    let rows: serde_json::Value = serde_json::from_str(&r.stdout).expect("stdout is JSON");
    assert!(
        rows.as_array().unwrap().iter().any(|n| n["name"] == "good"),
        "{r}"
    );

    let r = sb.cnet(&["ns", "ls"]);
    r.fails_with(1).stdout_has("good:eth0=10.1.0.2");
    warns_about(&r, &bad, "line 3");

    // Leases need no network definitions: nothing is skipped.
    sb.cnet(&["lease", "ls"]).ok().stdout_has("10.1.0.2");
    sb.cnet(&["lease", "ls", "good"])
        .ok()
        .stdout_has("10.1.0.2");

    // Asked for by name, the bad network is an error naming the file and line.
    for args in [&["net", "inspect", "bad"][..], &["lease", "ls", "bad"]] {
        let r = sb.cnet(args);
        r.fails_with(1);
        assert!(r.stderr.contains(&format!("{bad}: line 3")), "{r}");
        assert_eq!(r.stderr.lines().count(), 1, "named once\n{r}");
    }
}

#[test]
fn other_networks_can_be_created_and_removed_beside_a_bad_file() {
    let sb = with_bad_network();
    let bad = format!("{}/networks/bad.toml", sb.state_dir());

    let r = sb.cnet(&["net", "create", "other", "--subnet", "10.2.0.0/24"]);
    r.ok().stdout_has("other");
    warns_about(&r, &bad, "line 3");
    sb.cnet(&["attach", "other", "ns2"]).ok();
    sb.assert_ping("ns2", "10.2.0.1");

    // Its name stays taken.
    let r = sb.cnet(&["net", "create", "bad", "--subnet", "10.3.0.0/24"]);
    r.fails();
    assert!(r.stderr.contains(&bad), "{r}");

    let r = sb.cnet(&["net", "rm", "--force", "good"]);
    r.ok().stdout_has("good");
    assert!(
        !sb.links().contains(&"cn-good".to_string()),
        "{:?}",
        sb.links()
    );
    assert_eq!(sb.links_in("ns1"), ["lo"]);

    sb.cnet(&["ns", "rm", "ns2"]).ok();
    assert!(!sb.netns_list().contains(&"ns2".to_string()));
    // The bad file is left for its owner to look at.
    assert!(sb.exists(&bad));
}

#[test]
fn a_fifo_among_the_networks_does_not_hang_cnet() {
    let sb = with_bad_network();
    let fifo = format!("{}/networks/stuck.toml", sb.state_dir());
    sb.sh(&format!("mkfifo {fifo}")).ok();
    // The sandbox's time limit turns a hang into a failure.
    let r = sb.sh("timeout 10 cnet net ls");
    r.fails_with(1).stdout_has("good");
    warns_about(&r, &fifo, "not a regular file");
    sb.cnet(&["net", "create", "other", "--subnet", "10.2.0.0/24"])
        .ok();
}

#[test]
fn a_hidden_network_file_is_reported_not_hidden() {
    let sb = with_bad_network();
    let dotted = format!("{}/networks/.foo.toml", sb.state_dir());
    sb.sh(&format!(
        "cp {}/networks/good.toml {dotted}",
        sb.state_dir()
    ))
    .ok();
    let r = sb.cnet(&["net", "ls"]);
    r.fails_with(1);
    warns_about(&r, &dotted, "not a valid network name");
}

#[test]
fn a_planted_link_in_the_state_directory_is_not_written_through() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    let st = sb.state_dir();
    let victim = format!("{st}/victim");
    let cursor = format!("{st}/leases/lab/.cursor");
    sb.sh(&format!(
        "echo precious > {victim} && rm -f {cursor} && ln -s {victim} {cursor}"
    ))
    .ok();
    let r = sb.cnet(&["attach", "lab", "ns2"]);
    r.fails_with(1);
    assert!(
        r.stderr.contains(&cursor) && r.stderr.contains("symbolic link"),
        "{r}"
    );
    sb.sh(&format!("cat {victim}")).ok().stdout_has("precious");
    // Refused while choosing the address: nothing was built.
    assert!(!sb.netns_list().contains(&"ns2".to_string()), "{r}");
    assert!(!sb.exists(&format!("{st}/leases/lab/10.1.0.3.toml")));
    // The network's other namespaces are untouched.
    sb.assert_ping("ns1", "10.1.0.1");
}

#[test]
fn state_files_are_world_readable_whatever_the_umask() {
    let sb = Sandbox::new();
    let st = sb.state_dir();
    let r = sb.sh(&format!(
        "umask 077 && cnet net create lab --subnet 10.1.0.0/24 >/dev/null && \
         cnet attach lab ns1 >/dev/null && stat -L -c '%a %n' {st}/networks {st}/networks/lab.toml {st}/leases/lab/10.1.0.2.toml \
         {st}/endpoints/lab /etc/netns/ns1/hosts"
    ));
    r.ok();
    let modes: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(m, _)| m))
        .collect();
    assert_eq!(modes, ["755", "644", "644", "755", "644"], "{r}");
}
