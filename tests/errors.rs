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
            (
                &["net", "create", ".lab", "--subnet", "10.5.0.0/24"],
                &["'.lab'", "must not start with '.'"],
            ),
            (
                &["attach", "lab", ".ns1"],
                &["'.ns1'", "must not start with '.'"],
            ),
            (&["attach", "lab", "ns1", "--alias", ".web"], &["'.web'"]),
        ],
    );
}

/// Subnets no network can use, and pools with nothing to lease, whatever the driver.
#[test]
fn unusable_subnets_and_ranges_are_refused() {
    let sb = Sandbox::new();
    let create = |extra: &'static [&'static str]| -> Vec<&'static str> {
        let mut v = vec!["net", "create", "n1"];
        v.extend_from_slice(extra);
        v
    };
    let cases: Vec<(Vec<&str>, &[&str])> = vec![
        (
            create(&["--subnet", "0.0.0.0/0"]),
            &["0.0.0.0/0", "default route"],
        ),
        (
            create(&["--subnet", "8.0.0.0/6"]),
            &["8.0.0.0/6", "too large"],
        ),
        (
            create(&["--subnet", "127.0.0.0/8"]),
            &["127.0.0.0/8", "loopback"],
        ),
        (
            create(&["--subnet", "169.254.10.0/24"]),
            &["169.254.10.0/24", "link-local"],
        ),
        (
            create(&["--subnet", "224.1.0.0/16"]),
            &["224.1.0.0/16", "multicast"],
        ),
        (
            create(&["--subnet", "240.0.0.0/4"]),
            &["240.0.0.0/4", "reserved"],
        ),
        (
            create(&["--subnet", "255.255.255.0/24"]),
            &["255.255.255.0/24", "broadcast"],
        ),
        (
            create(&["--subnet", "0.1.0.0/16"]),
            &["0.1.0.0/16", "this network"],
        ),
        (
            create(&["--subnet", "10.1.0.0/31"]),
            &["10.1.0.0/31", "too small"],
        ),
        (
            create(&["--subnet", "10.1.0.1/32"]),
            &["10.1.0.1/32", "too small"],
        ),
        (
            create(&["--subnet", "10.2.0.0"]),
            &["10.2.0.0 has no prefix", "e.g. 10.2.0.0/24"],
        ),
        (
            create(&["--subnet", "10.2.0.0/16", "--ip-range", "10.2.1.0"]),
            &["ip-range 10.2.1.0 has no prefix"],
        ),
        (
            create(&["--subnet", "10.2.0.0/16", "--ip-range", "10.2.0.0/31"]),
            &["ip-range 10.2.0.0/31", "no address to lease"],
        ),
        (
            create(&["--subnet", "10.2.0.0/16", "--ip-range", "10.2.0.1/32"]),
            &["ip-range 10.2.0.1/32", "no address to lease"],
        ),
        (
            create(&["-d", "vxlan", "--vni", "5", "--subnet", "127.0.0.0/24"]),
            &["127.0.0.0/24", "loopback"],
        ),
        (
            create(&[
                "-d",
                "macvlan",
                "--parent",
                "eth0",
                "--subnet",
                "169.254.0.0/16",
            ]),
            &["169.254.0.0/16", "link-local"],
        ),
        (
            create(&[
                "-d",
                "macvlan",
                "--parent",
                "eth0",
                "--subnet",
                "10.9.0.0/32",
            ]),
            &["10.9.0.0/32", "too small"],
        ),
    ];
    let cases: Vec<(&[&str], &[&str])> = cases.iter().map(|(a, n)| (a.as_slice(), *n)).collect();
    each_refused(&sb, &cases);
}

/// A bridge or overlay routes its subnet on the host: one the host already routes is
/// refused, naming the route. Macvlan networks sit on the LAN's own subnet and may.
#[test]
fn subnets_the_host_already_routes_are_refused_for_bridges_and_overlays() {
    let sb = Sandbox::new();
    sb.sh(
        "ip link add lan0 type veth peer name lan1 && ip link set lan1 up && ip link set lan0 up \
         && ip addr add 192.168.77.1/24 dev lan0 && ip route add 10.99.0.0/16 via 192.168.77.254",
    )
    .ok();
    each_refused(
        &sb,
        &[
            (
                &["net", "create", "b1", "--subnet", "192.168.77.0/24"],
                &["subnet 192.168.77.0/24 overlaps the host's route 192.168.77.0/24"],
            ),
            (
                &["net", "create", "b1", "--subnet", "10.99.5.0/24"],
                &["subnet 10.99.5.0/24 overlaps the host's route 10.99.0.0/16"],
            ),
            (
                &["net", "create", "b1", "--subnet", "10.0.0.0/8"],
                &["subnet 10.0.0.0/8 overlaps the host's route 10.99.0.0/16"],
            ),
            (
                &[
                    "net",
                    "create",
                    "ov",
                    "-d",
                    "vxlan",
                    "--vni",
                    "5",
                    "--local",
                    "192.168.77.1",
                    "--subnet",
                    "192.168.77.0/25",
                ],
                &["192.168.77.0/25", "the host's route 192.168.77.0/24"],
            ),
        ],
    );
    sb.cnet(&[
        "net",
        "create",
        "lan",
        "-d",
        "macvlan",
        "--parent",
        "lan0",
        "--subnet",
        "192.168.77.0/24",
    ])
    .ok();
    sb.cnet(&["net", "create", "b2", "--subnet", "10.98.0.0/16"])
        .ok();
}

/// A setting given twice (flag and option, or two spellings of the option) must agree.
#[test]
fn a_setting_given_twice_with_different_values_is_refused() {
    let sb = Sandbox::new();
    sb.sh(
        "ip link add lan0 type veth peer name lan1 && ip link set lan1 up && ip link set lan0 up",
    )
    .ok();
    let ov = [
        "net",
        "create",
        "ov",
        "-d",
        "vxlan",
        "--subnet",
        "10.20.0.0/24",
    ];
    let with = |base: &[&'static str], extra: &[&'static str]| -> Vec<&'static str> {
        base.iter().chain(extra).copied().collect()
    };
    let mv = [
        "net",
        "create",
        "mv",
        "-d",
        "macvlan",
        "--subnet",
        "10.30.0.0/24",
    ];
    let cases: Vec<(Vec<&str>, &[&str])> = vec![
        (
            with(&ov, &["--vni", "5", "-o", "vni=6"]),
            &["--vni 5 and -o vni=6 disagree"],
        ),
        (
            with(
                &ov,
                &[
                    "--vni",
                    "5",
                    "-o",
                    "com.docker.network.driver.overlay.vxlanid_list=6",
                ],
            ),
            &["--vni 5 and -o com.docker.network.driver.overlay.vxlanid_list=6 disagree"],
        ),
        (
            with(&ov, &["-o", "vni=5", "-o", "vni=7"]),
            &["-o vni=5 and -o vni=7 disagree"],
        ),
        (
            vec![
                "net",
                "create",
                "b",
                "--subnet",
                "10.5.0.0/24",
                "--mtu",
                "9000",
                "-o",
                "mtu=1500",
            ],
            &["--mtu 9000 and -o mtu=1500 disagree"],
        ),
        (
            vec![
                "net",
                "create",
                "b",
                "--subnet",
                "10.5.0.0/24",
                "-o",
                "mtu=1400",
                "-o",
                "com.docker.network.driver.mtu=1500",
            ],
            &["-o mtu=1400 and -o com.docker.network.driver.mtu=1500 disagree"],
        ),
        (
            vec![
                "net",
                "create",
                "b",
                "--subnet",
                "10.5.0.0/24",
                "-o",
                "bridge_name=br0",
                "-o",
                "com.docker.network.bridge.name=br1",
            ],
            &["bridge_name=br0", "bridge.name=br1", "disagree"],
        ),
        (
            with(&mv, &["--parent", "lan0", "-o", "parent=lan1"]),
            &["--parent lan0 and -o parent=lan1 disagree"],
        ),
        (
            with(&mv, &["-o", "parent=lan0", "-o", "parent=lan1"]),
            &["-o parent=lan0 and -o parent=lan1 disagree"],
        ),
        (
            with(
                &mv,
                &[
                    "--parent",
                    "lan0",
                    "--mode",
                    "private",
                    "-o",
                    "macvlan_mode=vepa",
                ],
            ),
            &["--mode private and -o macvlan_mode=vepa disagree"],
        ),
    ];
    let cases: Vec<(&[&str], &[&str])> = cases.iter().map(|(a, n)| (a.as_slice(), *n)).collect();
    each_refused(&sb, &cases);
    // The same value twice is fine.
    sb.cnet(&[
        "net",
        "create",
        "b",
        "--subnet",
        "10.5.0.0/24",
        "--mtu",
        "1400",
        "-o",
        "mtu=1400",
    ])
    .ok();
    sb.cnet(&[
        "net",
        "create",
        "mv",
        "-d",
        "macvlan",
        "--subnet",
        "10.30.0.0/24",
        "--parent",
        "lan0",
        "-o",
        "parent=lan0",
    ])
    .ok();
}

/// A bridge name belongs to one network, the predefined `bridge` network's `cnet0` included
/// before that network is first used.
#[test]
fn a_bridge_name_another_network_has_is_refused() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    each_refused(
        &sb,
        &[
            (
                &[
                    "net",
                    "create",
                    "x",
                    "--subnet",
                    "10.5.0.0/24",
                    "-o",
                    "bridge_name=cnet0",
                ],
                &["bridge cnet0 is already used by network bridge"],
            ),
            (
                &[
                    "net",
                    "create",
                    "x",
                    "--subnet",
                    "10.5.0.0/24",
                    "-o",
                    "com.docker.network.bridge.name=cn-lab",
                ],
                &["bridge cn-lab is already used by network lab"],
            ),
            (
                &[
                    "net",
                    "create",
                    "ov",
                    "-d",
                    "vxlan",
                    "--vni",
                    "5",
                    "--local",
                    "192.0.2.1",
                    "--subnet",
                    "10.20.0.0/24",
                    "-o",
                    "bridge_name=cnet0",
                ],
                &["bridge cnet0 is already used by network bridge"],
            ),
        ],
    );
}

/// A name given twice in one command is handled once: no second attempt that fails.
#[test]
fn a_name_given_twice_is_handled_once() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&["net", "create", "gone", "--subnet", "10.2.0.0/24"])
        .ok();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    sb.cnet(&["attach", "gone", "ns2"]).ok();
    let r = sb.cnet(&["net", "inspect", "lab", "lab"]);
    let nets = r.json();
    assert_eq!(nets.as_array().map(Vec::len), Some(1), "{r}");
    let r = sb.cnet(&["ns", "rm", "ns1", "ns1"]);
    r.ok();
    assert!(r.stderr.trim().is_empty(), "{r}");
    assert!(!sb.netns_list().contains(&"ns1".to_string()));
    let r = sb.cnet(&["net", "rm", "gone", "gone", "--force"]);
    r.ok();
    assert_eq!(r.stdout.trim(), "gone", "{r}");
    assert!(r.stderr.trim().is_empty(), "{r}");
    sb.cnet(&["net", "ls", "-q"]).ok();
    assert!(!sb.links().contains(&"cn-gone".to_string()));
}

/// More host ports than one attach may publish are refused before anything is made.
#[test]
fn publishing_more_than_1024_ports_in_one_attach_is_refused() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    each_refused(
        &sb,
        &[
            (
                &["attach", "lab", "ns1", "-p", "1-65535:1-65535"],
                &["-p publishes 65535 ports: at most 1024 per attach"],
            ),
            (
                &[
                    "attach",
                    "lab",
                    "ns1",
                    "-p",
                    "1-1000:1-1000",
                    "-p",
                    "2001-2025:1-25/udp",
                ],
                &["-p publishes 1025 ports: at most 1024 per attach"],
            ),
        ],
    );
}

/// Thousands of published ports in all: a reload rebuilds the table in one transaction, over
/// several messages, and every port is back.
#[test]
fn a_reload_puts_back_thousands_of_published_ports() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    for i in 0..6u32 {
        let spec = format!("{}-{}:1-1024", 10_000 + i * 1024, 10_000 + i * 1024 + 1023);
        sb.cnet(&["attach", "lab", &format!("ns{i}"), "-p", &spec])
            .ok();
    }
    let count =
        "nft list map inet cnet published | grep -oE ': 10\\.1\\.0\\.[0-9]+ \\. [0-9]+' | wc -l";
    sb.sh(count).ok().stdout_has("6144");
    sb.sh("nft flush ruleset").ok();
    sb.cnet(&["firewall", "reload"]).ok();
    sb.sh(count).ok().stdout_has("6144");
    sb.cnet(&["firewall", "reload"]).ok();
    sb.sh(count).ok().stdout_has("6144");
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
