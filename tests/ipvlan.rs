//! ipvlan networks: the same integration tests as macvlan (tests/sublink/mod.rs), plus l3 mode,
//! where the kernel has ipvlan; and, where it has not, the clear error of `net create`.
//!
//! Whether a test can run depends on the kernel, which libtest cannot express (a test that
//! returns early counts as passed). So this file has its own small harness (`harness = false`
//! in Cargo.toml): a test the kernel cannot run is reported as `ignored` with the reason, and
//! counted as ignored, never as passed. It accepts libtest's usual arguments (name filters,
//! `--exact`, `--skip`, `--list`); tests run one after the other.

mod common;
mod fault_matrix;
mod sublink;

use std::io::Write;
use std::process::Command;
use sublink::{Kind, create, lan};

/// What a test needs from the kernel.
#[derive(Clone, Copy, PartialEq)]
enum Needs {
    Ipvlan,
    NoIpvlan,
}

type Test = (&'static str, Needs, fn());

const TESTS: &[Test] = &[
    (
        "namespaces_reach_each_other_and_the_lan",
        Needs::Ipvlan,
        || sublink::namespaces_reach_each_other_and_the_lan(Kind::Ipvlan),
    ),
    ("static_ip_mac_and_detach", Needs::Ipvlan, || {
        sublink::static_ip_mac_and_detach(Kind::Ipvlan)
    }),
    (
        "name_clash_in_the_parent_namespace_does_not_matter",
        Needs::Ipvlan,
        || sublink::name_clash_in_the_parent_namespace_does_not_matter(Kind::Ipvlan),
    ),
    (
        "bad_input_is_refused_and_changes_nothing",
        Needs::Ipvlan,
        || sublink::bad_input_is_refused_and_changes_nothing(Kind::Ipvlan),
    ),
    (
        "namespaces_reach_each_other_and_the_lan_over_ipv6",
        Needs::Ipvlan,
        || sublink::dual_stack::namespaces_reach_each_other_and_the_lan_over_ipv6(Kind::Ipvlan),
    ),
    ("a_parent_that_disappears", Needs::Ipvlan, || {
        sublink::a_parent_that_disappears(Kind::Ipvlan)
    }),
    ("a_failed_attach_rolls_back", Needs::Ipvlan, || {
        sublink::a_failed_attach_rolls_back(Kind::Ipvlan)
    }),
    ("internal_network_and_dry_run", Needs::Ipvlan, || {
        sublink::internal_network_and_dry_run(Kind::Ipvlan)
    }),
    (
        "l3_mode_has_no_gateway_and_routes_through_the_device",
        Needs::Ipvlan,
        l3_mode_has_no_gateway_and_routes_through_the_device,
    ),
    ("faults_at_every_step", Needs::Ipvlan, || {
        fault_matrix::run_both(&fault_matrix::IPVLAN);
    }),
    (
        "create_without_kernel_support_records_nothing",
        Needs::NoIpvlan,
        create_without_kernel_support_records_nothing,
    ),
];

/// l3 mode: no gateway recorded, the default route is a device route, and the namespaces
/// still reach each other (the parent routes between its children).
fn l3_mode_has_no_gateway_and_routes_through_the_device() {
    let sb = lan();
    create(&sb, Kind::Ipvlan, "lan", &["-o", "ipvlan_mode=l3"]);
    let v = sb.cnet(&["net", "inspect", "lan"]).json();
    assert!(v[0]["ipam"]["gateway"].is_null(), "{v:#}");
    assert!(v[0]["notes"].to_string().contains("no gateway"), "{v:#}");
    sb.cnet(&["attach", "lan", "ns1"]).ok();
    sb.cnet(&["attach", "lan", "ns2"]).ok();
    assert!(sublink::link_details(&sb, "ns1", "eth0").contains("mode l3"));
    sb.run(&["ip", "-n", "ns1", "route", "show", "default"])
        .ok()
        .stdout_has("default dev eth0");
    sb.assert_ping("ns1", "192.168.50.129");
    sb.assert_ping("ns2", "ns1");
    // The endpoint gave the namespace its default route: a second network does not add one.
    let ep = &common::inspect_namespaces(&sb, "lan")["ns1"];
    assert_eq!(ep["interface"], "eth0", "{ep:#}");
    sb.cnet(&["net", "create", "br", "--subnet", "10.7.0.0/24"])
        .ok();
    sb.cnet(&["attach", "br", "ns1"]).ok();
    sb.run(&["ip", "-n", "ns1", "route", "show", "default"])
        .ok()
        .stdout_has("default dev eth0");
}

/// Without ipvlan in the kernel: the one-line error, exit status 1, nothing recorded.
fn create_without_kernel_support_records_nothing() {
    let sb = lan();
    let before = sb.snapshot();
    for extra in [&[][..], &["-o", "ipvlan_mode=l3"][..]] {
        let mut args = vec![
            "net",
            "create",
            "v",
            "-d",
            "ipvlan",
            "--parent",
            "lan0",
            "--subnet",
            "192.168.50.0/24",
        ];
        args.extend_from_slice(extra);
        let r = sb.cnet(&args);
        r.fails_with(1);
        assert_eq!(
            r.stderr.trim(),
            "cnet: this kernel has no ipvlan support (CONFIG_IPVLAN)",
            "{r}"
        );
        sb.snapshot().assert_same(&before, "net create -d ipvlan");
    }
    assert!(!sb.cnet(&["net", "ls", "-q"]).ok().stdout.contains('v'));
    // Bad input is still bad input (exit status 2) before the kernel is asked.
    sb.cnet(&[
        "net",
        "create",
        "v",
        "-d",
        "ipvlan",
        "--subnet",
        "10.1.0.0/24",
    ])
    .usage_error(&["--parent"]);
}

/// Whether this kernel has ipvlan: asked in a throwaway network namespace. `Err` says why not.
fn ipvlan_support() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        // Let the tests run and fail with the harness's "need root" message.
        return Ok(());
    }
    let out = Command::new("unshare")
        .args([
            "--net",
            "sh",
            "-c",
            "ip link add cnv0 type veth peer name cnv1 && \
             ip link add link cnv0 name cni0 type ipvlan mode l2",
        ])
        .output()
        .map_err(|e| format!("cannot run unshare: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "this kernel has no ipvlan support (CONFIG_IPVLAN): `ip link add ... type ipvlan` \
             says: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

struct Args {
    filters: Vec<String>,
    skip: Vec<String>,
    exact: bool,
    list: bool,
    /// `--ignored`: libtest runs only the tests marked #[ignore]; there are none here.
    ignored_only: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        filters: Vec::new(),
        skip: Vec::new(),
        exact: false,
        list: false,
        ignored_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--exact" => a.exact = true,
            "--list" => a.list = true,
            "--ignored" => a.ignored_only = true,
            "--skip" => a.skip.extend(it.next()),
            // libtest options with a value, accepted and ignored.
            "--test-threads" | "--format" | "--color" | "--logfile" | "-Z" | "--shuffle-seed" => {
                it.next();
            }
            s if s.starts_with("--skip=") => a.skip.push(s["--skip=".len()..].to_string()),
            s if s.starts_with('-') => {}
            s => a.filters.push(s.to_string()),
        }
    }
    a
}

fn main() {
    let args = parse_args();
    let matches = |name: &str, pat: &str| {
        if args.exact {
            name == pat
        } else {
            name.contains(pat)
        }
    };
    let selected: Vec<&Test> = TESTS
        .iter()
        .filter(|(n, ..)| args.filters.is_empty() || args.filters.iter().any(|f| matches(n, f)))
        .filter(|(n, ..)| !args.skip.iter().any(|s| matches(n, s)))
        .filter(|_| !args.ignored_only)
        .collect();
    if args.list {
        for (n, ..) in &selected {
            println!("{n}: test");
        }
        return;
    }
    let support = ipvlan_support();
    let mut out = std::io::stdout();
    let _ = writeln!(out, "\nrunning {} tests", selected.len());
    let (mut passed, mut failed, mut ignored) = (Vec::new(), Vec::new(), 0);
    for (name, needs, f) in &selected {
        let reason = match (needs, &support) {
            (Needs::Ipvlan, Err(why)) => Some(why.clone()),
            (Needs::NoIpvlan, Ok(())) => {
                Some("this kernel has ipvlan: its error for a missing ipvlan cannot be seen".into())
            }
            _ => None,
        };
        if let Some(why) = reason {
            let _ = writeln!(out, "test {name} ... ignored, {why}");
            ignored += 1;
            continue;
        }
        let _ = out.flush();
        match std::panic::catch_unwind(f) {
            Ok(()) => {
                let _ = writeln!(out, "test {name} ... ok");
                passed.push(*name);
            }
            Err(_) => {
                let _ = writeln!(out, "test {name} ... FAILED");
                failed.push(*name);
            }
        }
    }
    if !failed.is_empty() {
        let _ = writeln!(out, "\nfailures:");
        for n in &failed {
            let _ = writeln!(out, "    {n}");
        }
    }
    let _ = writeln!(
        out,
        "\ntest result: {}. {} passed; {} failed; {ignored} ignored; 0 measured; {} filtered out\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        passed.len(),
        failed.len(),
        TESTS.len() - selected.len()
    );
    if !failed.is_empty() {
        std::process::exit(101);
    }
}
