//! The command line as a user or a script meets it: exec-in-ns's arguments and exit statuses,
//! quiet listings, tables `awk` can split, and output that cannot be written.

mod common;

use common::{Run, Sandbox};

/// A sandbox with network `lab` (10.1.0.0/24) and namespaces ns1 (.2) and ns2 (.3) on it.
fn lab_with_two_namespaces() -> Sandbox {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    sb.cnet(&["attach", "lab", "ns2"]).ok();
    sb
}

#[test]
fn dry_run_of_exec_in_ns_is_refused_and_runs_nothing() {
    let sb = lab_with_two_namespaces();
    let before = sb.snapshot();
    for args in [
        &["--dry-run", "exec-in-ns", "ns1", "--", "touch", "/run/ran"][..],
        &["exec-in-ns", "--dry-run", "ns1", "touch", "/run/ran"][..],
    ] {
        sb.cnet(args)
            .usage_error(&["--dry-run does not apply to exec-in-ns"]);
        sb.run(&["test", "!", "-e", "/run/ran"]).ok();
        sb.snapshot()
            .assert_same(&before, &format!("after cnet {}", args.join(" ")));
    }
}

#[test]
fn exec_in_ns_takes_the_command_with_or_without_double_dash() {
    let sb = lab_with_two_namespaces();
    sb.cnet(&["exec-in-ns", "ns1", "true"]).ok();
    // Arguments starting with '-' belong to the command, not to cnet.
    sb.cnet(&[
        "exec-in-ns",
        "ns1",
        "ip",
        "-4",
        "-o",
        "addr",
        "show",
        "eth0",
    ])
    .ok()
    .stdout_has("10.1.0.2/24");
    assert_eq!(
        sb.cnet(&["exec-in-ns", "ns1", "echo", "--format", "json", "-v"])
            .stdout,
        "--format json -v\n"
    );
    sb.cnet(&["exec-in-ns", "ns1", "--", "true"]).ok();
    // The command's own exit status is cnet's.
    sb.cnet(&["exec-in-ns", "ns1", "sh", "-c", "exit 7"])
        .fails_with(7);
    sb.cnet(&["exec-in-ns", "ns1", "--", "sh", "-c", "exit 9"])
        .fails_with(9);
}

/// Asserts the exit status and that stderr is exactly one line containing `needle`.
#[track_caller]
fn fails_with_one_line(r: &Run, code: i32, needle: &str) {
    r.fails_with(code);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert!(
        lines.len() == 1 && lines[0].contains(needle),
        "expected one line with {needle:?}\n{r}"
    );
}

#[test]
fn exec_in_ns_exits_as_a_shell_does_when_the_command_cannot_run() {
    let sb = lab_with_two_namespaces();
    fails_with_one_line(
        &sb.cnet(&["exec-in-ns", "ns1", "cnet-no-such-command", "-x"]),
        127,
        "cnet: exec-in-ns: cnet-no-such-command: command not found",
    );
    fails_with_one_line(
        &sb.cnet(&["exec-in-ns", "ns1", "/etc/hosts"]),
        126,
        "cnet: exec-in-ns: /etc/hosts: permission denied",
    );
}

#[test]
fn output_that_cannot_be_written_is_an_error() {
    let sb = lab_with_two_namespaces();
    for cmd in [
        "net ls",
        "net ls -q",
        "net inspect lab",
        "lease ls",
        "lease ls -q",
        "ns ls",
        "ns ls -q",
        "--format json ns ls",
        "attach lab ns3",
    ] {
        let r = sb.sh(&format!("cnet {cmd} >/dev/full"));
        fails_with_one_line(&r, 1, "cnet: writing output: No space left on device");
    }
    // The attach itself was done: only its report was lost.
    assert_eq!(sb.addrs("ns3", "eth0"), ["10.1.0.4/24"]);
}

#[test]
fn a_reader_that_goes_away_ends_a_listing_quietly() {
    let sb = lab_with_two_namespaces();
    let r = sb.sh(
        "{ sleep 0.2; cnet net ls 2>/run/err; echo $? >/run/rc; } | true; cat /run/rc /run/err",
    );
    assert_eq!(r.ok().stdout, "0\n", "exit status, then stderr:\n{r}");
}

#[test]
fn quiet_listings_print_one_name_per_line() {
    let sb = lab_with_two_namespaces();
    sb.cnet(&["net", "create", "other", "--subnet", "10.2.0.0/24"])
        .ok();
    sb.cnet(&["attach", "other", "ns3"]).ok();
    assert_eq!(sb.cnet(&["ns", "ls", "-q"]).ok().stdout, "ns1\nns2\nns3\n");
    assert_eq!(
        sb.cnet(&["lease", "ls", "--quiet"]).ok().stdout,
        "10.1.0.2\n10.1.0.3\n10.2.0.2\n"
    );
    assert_eq!(
        sb.cnet(&["lease", "ls", "lab", "-q"]).ok().stdout,
        "10.1.0.2\n10.1.0.3\n"
    );
}

/// A table's rows as whitespace-split cells, after checking each row has one cell per column
/// (the header's column names are set apart by two spaces or more: `NETWORK ID` is one).
#[track_caller]
fn cells(r: &Run) -> Vec<Vec<String>> {
    let mut lines = r.ok().stdout.lines();
    let header = lines.next().expect("a header line");
    let columns = header.split("  ").filter(|c| !c.trim().is_empty()).count();
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect();
    for row in &rows {
        assert_eq!(
            row.len(),
            columns,
            "a cell with a space, or an empty one\n{r}"
        );
    }
    rows
}

/// The row whose first cell (or, with `column`, that cell) is `key`.
fn row<'a>(rows: &'a [Vec<String>], column: usize, key: &str) -> &'a [String] {
    rows.iter()
        .find(|r| r[column] == key)
        .unwrap_or_else(|| panic!("no row with {key}: {rows:?}"))
}

#[test]
fn table_cells_have_no_spaces() {
    let sb = lab_with_two_namespaces();
    sb.cnet(&[
        "net",
        "create",
        "vault",
        "--internal",
        "--subnet",
        "10.2.0.0/24",
    ])
    .ok();
    // ns2 goes away behind cnet's back: its endpoint and lease stay, marked gone.
    sb.run(&["ip", "netns", "del", "ns2"]).ok();

    let nets = cells(&sb.cnet(&["net", "ls"]));
    assert_eq!(row(&nets, 1, "vault")[2..4], ["bridge", "yes"]);
    assert_eq!(row(&nets, 1, "lab")[2..4], ["bridge", "no"]);

    let namespaces = cells(&sb.cnet(&["ns", "ls"]));
    assert_eq!(row(&namespaces, 0, "ns1")[1], "alive");
    assert_eq!(row(&namespaces, 0, "ns2")[1], "gone");

    let leases = cells(&sb.cnet(&["lease", "ls"]));
    assert_eq!(row(&leases, 1, "10.1.0.2")[5], "-");
    assert_eq!(row(&leases, 1, "10.1.0.3")[5], "namespace-gone");

    // JSON keeps its fields and words.
    let v = sb.cnet(&["lease", "ls", "--format", "json"]).json();
    let gone = v
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["client"] == "ns2")
        .unwrap();
    assert_eq!(gone["note"], "namespace gone");
    let v = sb.cnet(&["ns", "ls", "--format", "json"]).json();
    let ns2 = v.as_array().unwrap().iter().find(|n| n["name"] == "ns2");
    assert_eq!(ns2.unwrap()["alive"], false);
    let v = sb.cnet(&["net", "ls", "--format", "json"]).json();
    let vault = v.as_array().unwrap().iter().find(|n| n["name"] == "vault");
    assert_eq!(vault.unwrap()["internal"], true);
}
