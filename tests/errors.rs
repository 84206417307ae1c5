//! Bad input: exit status 2, one line on stderr naming what was wrong, and nothing changed
//! (host links, rules, state files, namespaces, /etc/netns).

mod common;

use common::Sandbox;

/// Runs each cnet command line, checking that it is refused as bad input mentioning its
/// needles and that the sandbox is exactly as it was. Reports every case that is not.
#[track_caller]
fn each_refused(sb: &Sandbox, cases: &[(&[&str], &[&str])]) {
    let mut problems = Vec::new();
    let mut before = sb.snapshot();
    for (args, needles) in cases {
        let cmd = format!("`cnet {}`", args.join(" "));
        if let Some(p) = sb.cnet(args).usage_problem(needles) {
            problems.push(p);
        }
        let after = sb.snapshot();
        if let Some(d) = after.diff(&before) {
            problems.push(format!("after {cmd}: {d}"));
        }
        before = after;
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n\n"));
}

#[test]
fn invalid_names_are_refused() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    each_refused(
        &sb,
        &[
            (
                &["net", "create", "a/b", "--subnet", "10.5.0.0/24"],
                &["a/b"],
            ),
            (
                &["net", "create", "..", "--subnet", "10.5.0.0/24"],
                &["'..'"],
            ),
            (&["attach", "lab", ".."], &["'..'"]),
            (&["attach", "lab", "x/y/../z"], &["x/y/../z"]),
            (&["attach", "a/b", "ns1"], &["a/b"]),
            (
                &["attach", "lab", "ns1", "--ifname", "abcdefghijklmnop"],
                &["abcdefghijklmnop"],
            ),
            (
                &["attach", "lab", "ns1", "--mac", "01:00:5e:00:00:01"],
                &["01:00:5e:00:00:01"],
            ),
            (&["attach", "lab", "ns1", "--ip", "banana"], &["banana"]),
            (&["attach", "lab", "ns1", "--alias=-bad"], &["-bad"]),
        ],
    );
}

#[test]
fn bad_subnets_and_gateways_are_refused() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    each_refused(
        &sb,
        &[
            (
                &["net", "create", "n1", "--subnet", "10.1.0.0/33"],
                &["10.1.0.0/33"],
            ),
            (&["net", "create", "n1", "--subnet", "banana"], &["banana"]),
            (
                &[
                    "net",
                    "create",
                    "n1",
                    "--subnet",
                    "10.5.0.0/24",
                    "--gateway",
                    "10.6.0.1",
                ],
                &["10.6.0.1"],
            ),
            (
                &["net", "create", "n1", "--subnet", "10.1.0.0/16"],
                &["lab"],
            ),
            (
                &["net", "create", "n1", "--subnet", "10.1.0.128/25"],
                &["lab"],
            ),
            (
                &["net", "create", "lab", "--subnet", "10.7.0.0/24"],
                &["lab", "exists"],
            ),
            (
                &[
                    "net",
                    "create",
                    "n1",
                    "--subnet",
                    "10.5.0.0/24",
                    "--mtu",
                    "10",
                ],
                &["10"],
            ),
        ],
    );
}

#[test]
fn unknown_objects_are_refused() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    each_refused(
        &sb,
        &[
            (&["attach", "nosuch", "ns9"], &["nosuch"]),
            (&["detach", "nosuch", "ns1"], &["nosuch"]),
            (&["detach", "lab", "ghost"], &["ghost"]),
            (&["exec-in-ns", "ghost", "--", "true"], &["ghost"]),
            (
                &["attach", "lab", "/proc/999999/ns/net"],
                &["/proc/999999/ns/net"],
            ),
            (&["net", "rm", "nosuch"], &["nosuch"]),
            (&["net", "inspect", "nosuch"], &["nosuch"]),
            (&["lease", "ls", "nosuch"], &["nosuch"]),
            (&["ns", "rm", "ghost"], &["ghost"]),
            (&["net", "rm", "bridge"], &["bridge", "predefined"]),
            (&["net", "rm", "host"], &["host", "predefined"]),
        ],
    );
}

#[test]
fn conflicting_attaches_are_refused() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&["net", "create", "lab2", "--subnet", "10.2.0.0/24"])
        .ok();
    sb.cnet(&["net", "create", "tiny", "--subnet", "10.3.0.0/30"])
        .ok();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    sb.cnet(&["attach", "tiny", "t1"]).ok();
    each_refused(
        &sb,
        &[
            (&["attach", "lab", "ns1"], &["ns1", "lab", "already"]),
            (
                &["attach", "lab", "ns2", "--ip", "10.1.0.2"],
                &["10.1.0.2", "already leased to"],
            ),
            (&["attach", "lab", "ns2", "--ip", "10.1.0.1"], &["10.1.0.1"]),
            (&["attach", "lab", "ns2", "--ip", "10.9.0.2"], &["10.9.0.2"]),
            (&["attach", "lab2", "ns1", "--ifname", "lo"], &["lo", "ns1"]),
            (
                &["attach", "tiny", "t2"],
                &["no free address in 10.3.0.0/30"],
            ),
        ],
    );
    // A network with attached namespaces is not removed without --force.
    each_refused(&sb, &[(&["net", "rm", "lab"], &["lab", "ns1", "--force"])]);
}

/// The predefined networks are made real on first use; a refused attach must not do that.
#[test]
fn refused_attaches_to_predefined_networks_change_nothing() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    each_refused(
        &sb,
        &[
            (
                &["attach", "bridge", "ns1", "--ifname", "lo"],
                &["lo", "ns1"],
            ),
            (&["attach", "host", "ns1"], &["ns1", "host"]),
            (&["attach", "none", "ns1"], &["ns1", "none"]),
            (&["attach", "none", "ns2", "--ip", "10.1.0.9"], &["--ip"]),
        ],
    );
}

#[test]
fn non_root_is_refused() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    let before = sb.snapshot();
    for args in [
        "net create z --subnet 10.5.0.0/24",
        "attach lab ns1",
        "detach lab ns1",
        "net rm lab",
    ] {
        let r = sb.sh(&format!(
            "exec setpriv --reuid=65534 --regid=65534 --clear-groups cnet {args}"
        ));
        r.usage_error(&["must run as root"]);
        sb.snapshot()
            .assert_same(&before, &format!("after `cnet {args}` as nobody"));
    }
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    // `cnet ... | head -1`: the reader is gone before cnet writes. No panic, and the command
    // still does its work and exits 0.
    let sb = Sandbox::new();
    let r = sb.sh(
        "{ sleep 0.2; cnet net create lab --subnet 10.1.0.0/24 2>/tmp/err; echo $? >/tmp/rc; } | true; \
         cat /tmp/rc /tmp/err",
    );
    r.ok();
    assert_eq!(r.stdout.trim(), "0", "exit status, then stderr:\n{r}");
    sb.cnet(&["net", "ls", "-q"]).ok().stdout_has("lab");
}

#[test]
fn closed_standard_streams_do_not_stop_attach_or_detach() {
    // Started with fds 0-2 closed (`cmd <&- >&- 2>&-`, or from a daemon), cnet must keep its own
    // files and sockets off those numbers: the attach works, and the detach's background
    // reclaimer (which puts its streams on /dev/null) still deletes the veth pair.
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.run(&["ip", "netns", "add", "ns1"]).ok();
    let r = sb.sh("cnet attach lab ns1 <&- >&- 2>&-; echo attach=$?; \
         ip -n ns1 -4 -o addr show eth0; \
         cnet detach lab ns1 <&- >&- 2>&-; echo detach=$?");
    r.ok()
        .stdout_has("attach=0")
        .stdout_has("10.1.0.2/24")
        .stdout_has("detach=0");
    assert_eq!(sb.settle(), Vec::<String>::new(), "retired links left");
    let host_end = common::host_veth_name("lab", "ns1");
    assert!(!sb.links().contains(&host_end), "{:?}", sb.links());
    assert!(
        sb.links_in("ns1").iter().all(|l| l == "lo"),
        "{:?}",
        sb.links_in("ns1")
    );
    assert!(
        common::leases(&sb, "lab")
            .iter()
            .all(|(_, _, state)| state != "bound")
    );
    // With only standard output closed, the first file cnet opens (its lock) would take fd 1,
    // and what cnet prints would land in it.
    let r = sb.sh(&format!(
        "cnet net create lab2 --subnet 10.2.0.0/24 >&-; echo rc=$?; wc -c <{}/lock",
        sb.state_dir()
    ));
    r.ok().stdout_has("rc=0");
    assert_eq!(
        r.stdout.lines().last(),
        Some("0"),
        "the lock file has text: {r}"
    );
}
