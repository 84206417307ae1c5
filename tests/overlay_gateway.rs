//! Overlays' way out, as Docker's docker_gwbridge: two sandboxed hosts on an underlay, a
//! static-peer overlay between them, and on host a the gateway bridge `cnet_gwbridge` that
//! an overlay attach makes. Checked on both firewall backends: a port published with
//! `attach OVERLAY NS -p` serves a request from host b (not on the overlay) to host a's
//! address; an overlay namespace reaches host b, which sees host a's address (masquerade);
//! namespaces on two overlays of host a never reach each other through the gateway bridge;
//! a detach leaves no leg and no port; an internal overlay gets no leg; a dual-stack
//! overlay's leg goes out and is published over IPv6 too.

mod common;

use common::consistency::assert_consistent;
use common::multihost::Lab;
use common::{Run, Sandbox};
use std::time::Duration;

const GW: &str = "cnet_gwbridge";

/// `cnet` on a host with the firewall backend forced.
fn cnet(sb: &Sandbox, backend: &str, args: &[&str]) -> Run {
    let env = format!("CNET_FIREWALL={backend}");
    let mut argv = vec!["env", env.as_str(), "cnet"];
    argv.extend(args);
    sb.run(&argv)
}

/// Starts `socat` in `ns` (None: the host) answering every TCP connection on `port` with
/// `reply` (a shell word: `$SOCAT_PEERADDR` answers with the caller's address).
fn serve(sb: &Sandbox, ns: Option<&str>, port: u16, reply: &str) {
    let prefix = ns
        .map(|n| format!("ip netns exec {n} "))
        .unwrap_or_default();
    sb.sh(&format!(
        "{prefix}socat TCP-LISTEN:{port},fork,reuseaddr SYSTEM:'echo {reply}' \
         </dev/null >/dev/null 2>&1 &"
    ))
    .ok();
}

/// One bounded TCP call from `ns` (None: the host); stdout is the reply.
fn call(sb: &Sandbox, ns: Option<&str>, addr: &str, port: u16) -> Run {
    let prefix = ns
        .map(|n| format!("ip netns exec {n} "))
        .unwrap_or_default();
    sb.sh(&format!(
        "echo hi | {prefix}timeout 5 socat -t2 -T2 - TCP:{addr}:{port},connect-timeout=2"
    ))
}

/// The reply `ns` gets from ADDR:PORT, after a few tries while the server starts.
#[track_caller]
fn reply(sb: &Sandbox, ns: Option<&str>, addr: &str, port: u16) -> String {
    let mut last = None;
    for _ in 0..10 {
        let r = call(sb, ns, addr, port);
        if r.succeeded() && !r.stdout.trim().is_empty() {
            return r.stdout.trim().to_string();
        }
        last = Some(r);
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("no reply from {addr}:{port}\n{}", last.expect("tried"));
}

/// A namespace's IPv4 address on a network, from `net inspect`.
fn addr_on(sb: &Sandbox, backend: &str, network: &str, ns: &str) -> String {
    let v = cnet(
        sb,
        backend,
        &["net", "inspect", network, "--format", "json"],
    )
    .json();
    let a = v[0]["namespaces"][ns]["ipv4_address"]
        .as_str()
        .unwrap_or_else(|| panic!("{ns} has no address on {network}: {v}"));
    a.split('/').next().unwrap().to_string()
}

fn overlay(lab: &Lab, backend: &str, name: &str, vni: &str, subnet: &str, extra: &[&str]) {
    for (i, h) in lab.hosts.iter().enumerate() {
        let mut args = vec![
            "net", "create", name, "-d", "overlay", "--vni", vni, "--subnet", subnet, "--local",
            &h.addr,
        ];
        for p in lab.peers_of(i) {
            args.extend(["--peer", p]);
        }
        args.extend(extra);
        cnet(h, backend, &args).ok();
    }
}

fn scenario(backend: &'static str) {
    common::require_root();
    let mut lab = Lab::new(2);
    // Every command of the hosts' sandboxes on this backend, the consistency check's gc too.
    for h in &mut lab.hosts {
        h.sb.set_env("CNET_FIREWALL", backend);
    }
    let (a, b) = (lab.host(0), lab.host(1));
    overlay(&lab, backend, "ov", "5000", "10.50.0.0/24", &[]);
    overlay(&lab, backend, "ov2", "5001", "10.51.0.0/24", &[]);
    overlay(
        &lab,
        backend,
        "vault",
        "5002",
        "10.52.0.0/24",
        &["--internal"],
    );

    // A port published from an overlay namespace, asked for from host b, which is on no
    // overlay: host a forwards it to web's leg on the gateway bridge.
    let before = a.snapshot();
    cnet(
        a,
        backend,
        &["--dry-run", "attach", "ov", "web", "-p", "8081:80"],
    )
    .ok()
    .stdout_has(&format!("ip link add {GW}"))
    .stdout_has(&format!("ip link set {GW} alias cnet:{GW}"))
    .stdout_has("type bridge_slave isolated on");
    a.snapshot().assert_same(&before, "dry run");
    cnet(a, backend, &["attach", "ov", "web", "-p", "8081:80"]).ok();
    assert_consistent(a, "after attach -p");
    // The gateway bridge carries its own network's mark, not the overlay's.
    a.run(&["ip", "-o", "link", "show", GW])
        .ok()
        .stdout_has(&format!("alias cnet:{GW}"));
    let links = a.links_in("web");
    assert!(
        links.contains(&"eth0".into()) && links.contains(&"eth1".into()),
        "{links:?}"
    );
    cnet(a, backend, &["exec-in-ns", "web", "--", "ip", "route"])
        .ok()
        .stdout_has("default via 172.18.0.1 dev eth1");
    serve(a, Some("web"), 80, "web-on-overlay");
    assert_eq!(reply(b, None, &a.addr, 8081), "web-on-overlay");

    // Out through the gateway bridge: host b sees host a's address, not web's.
    serve(b, None, 9000, "$SOCAT_PEERADDR");
    assert_eq!(reply(a, Some("web"), &b.addr, 9000), a.addr);
    // The overlay still carries web's traffic to host b's namespace.
    cnet(b, backend, &["attach", "ov", "far"]).ok();
    a.assert_ping("web", &addr_on(b, backend, "ov", "far"));

    // Namespaces of two overlays of one host share the gateway bridge and never reach each
    // other through it (nor through the host).
    cnet(a, backend, &["attach", "ov2", "other"]).ok();
    let other_leg = addr_on(a, backend, GW, "other");
    let web_leg = addr_on(a, backend, GW, "web");
    a.assert_ping("other", "172.18.0.1");
    a.assert_no_ping("web", &other_leg);
    a.assert_no_ping("other", &web_leg);
    a.assert_no_ping("web", &addr_on(a, backend, "ov2", "other"));
    serve(a, Some("other"), 80, "other");
    let r = call(a, Some("web"), &other_leg, 80);
    assert!(r.stdout.trim().is_empty(), "web reached other: {r}");

    // Bad input: one line, exit 2, nothing changed.
    let before = a.snapshot();
    for (args, needle) in [
        (vec!["attach", "vault", "x", "-p", "9000:80"], "internal"),
        (vec!["attach", GW, "x"], GW),
        (vec!["detach", GW, "web"], GW),
        (vec!["net", "create", GW], GW),
        (vec!["net", "rm", GW], "detach them from their overlays"),
        (
            vec!["attach", "ov", "x", "-p", "8081:80"],
            "already published",
        ),
    ] {
        cnet(a, backend, &args).usage_error(&[needle]);
        a.snapshot().assert_same(&before, &format!("{args:?}"));
    }

    // An internal overlay: no leg, no way out.
    cnet(a, backend, &["attach", "vault", "safe"]).ok();
    assert_eq!(
        a.links_in("safe"),
        ["eth0", "lo"],
        "an internal overlay's namespace"
    );
    a.assert_no_ping("safe", &b.addr);
    assert_consistent(a, "three overlays");

    // Detach: no leg, no port, no rule left for web; the gateway bridge stays.
    cnet(a, backend, &["detach", "ov", "web"]).ok();
    assert_eq!(a.links_in("web"), ["lo"]);
    let inspect = cnet(a, backend, &["net", "inspect", GW, "--format", "json"]).json();
    assert!(inspect[0]["namespaces"].get("web").is_none(), "{inspect}");
    let rules = a.rules().join("\n");
    assert!(
        !rules.contains("8081"),
        "a rule for the port is left:\n{rules}"
    );
    let r = call(b, None, &a.addr, 8081);
    assert!(r.stdout.trim().is_empty(), "the port still answers: {r}");
    assert_consistent(a, "after detach");
    // gc knows the legs: one that no overlay needs (its overlay made internal by hand) goes.
    a.sh(&format!(
        "sed -i 's/^internal = false/internal = true/' {}/networks/ov2.toml",
        a.state_dir()
    ))
    .ok();
    cnet(a, backend, &["gc", "--dry-run"])
        .ok()
        .stdout_has("endpoint other on cnet_gwbridge: no overlay of the namespace needs it");
    cnet(a, backend, &["gc"]).ok();
    assert_eq!(a.links_in("other"), ["eth0", "lo"]);
    assert_consistent(a, "after gc of a leg");
    cnet(a, backend, &["detach", "ov2", "other"]).ok();
    cnet(a, backend, &["net", "rm", "--force", "ov", "ov2", "vault"]).ok();
    cnet(a, backend, &["net", "ls", "-q"]).ok().stdout_has(GW);
    cnet(a, backend, &["net", "prune", "--force"]).ok();
    assert!(!a.links().contains(&GW.to_string()), "{:?}", a.links());
    assert_consistent(a, "after prune");
}

#[test]
fn an_overlay_namespace_publishes_and_gets_out_through_the_gateway_bridge_nftables() {
    scenario("nftables");
}

#[test]
fn an_overlay_namespace_publishes_and_gets_out_through_the_gateway_bridge_iptables() {
    scenario("iptables");
}

/// The attach that makes the gateway bridge, failed at each step in turn (`CNET_FAULT=fail@N`)
/// on a real kernel: each time it exits 1 and leaves kernel, firewall and state as they were,
/// gateway bridge included; then it runs to its end.
#[test]
fn an_overlay_attach_failing_at_any_step_takes_its_gateway_bridge_back() {
    common::require_root();
    let lab = Lab::new(1);
    let a = lab.host(0);
    cnet(
        a,
        "nftables",
        &[
            "net",
            "create",
            "ov",
            "-d",
            "overlay",
            "--vni",
            "5000",
            "--subnet",
            "10.50.0.0/24",
            "--local",
            &a.addr,
            "--peer",
            "192.0.2.9",
        ],
    )
    .ok();
    let before = a.snapshot();
    // The lease hints (where the next search starts, a client's last address) are no
    // records: a rolled-back attach may leave them.
    let hints = format!(
        "rm -rf {0}/leases/*/.cursor* {0}/leases/*/clients*",
        a.state_dir()
    );
    for step in 0..100 {
        let fault = format!("CNET_FAULT=fail@{step}");
        let r = a.run(&[
            "env", &fault, "cnet", "attach", "ov", "web", "-p", "8081:80",
        ]);
        if r.succeeded() {
            assert!(step > 20, "only {step} steps?\n{r}");
            assert_consistent(a, "after the attach ran to its end");
            return;
        }
        r.fails_with(1);
        assert!(r.stderr.contains("injected failure"), "{r}");
        a.sh(&hints).ok();
        a.snapshot().assert_same(&before, &format!("fail@{step}"));
    }
    panic!("the attach has more than 100 steps?");
}

/// A dual-stack overlay's legs are dual-stack: on both backends, a namespace of it reaches an
/// outside namespace over IPv6, masqueraded (the outside sees the host's address), and
/// `-p 8081:80` answers over IPv6 from outside the host.
#[test]
fn a_dual_stack_overlay_goes_out_and_is_published_over_ipv6() {
    for backend in ["nftables", "iptables"] {
        let sb = Sandbox::with_outside().with_env("CNET_FIREWALL", backend);
        sb.sh("set -e; ip addr add fd99::1/64 dev up0 nodad; \
             ip -n outside addr add fd99::2/64 dev eth0 nodad")
            .ok();
        cnet(
            &sb,
            backend,
            &[
                "net",
                "create",
                "ov6",
                "-d",
                "overlay",
                "--vni",
                "5100",
                "--subnet",
                "10.60.0.0/24",
                "--ipv6",
                "--subnet6",
                "fd00:60::/64",
                "--local",
                "203.0.113.1",
                "--peer",
                "203.0.113.9",
            ],
        )
        .ok();
        cnet(&sb, backend, &["attach", "ov6", "web", "-p", "8081:80"]).ok();
        // The leg (eth1) has an IPv6 address of the gateway bridge's own /64.
        let leg6: Vec<String> = sb
            .run(&[
                "ip", "-n", "web", "-6", "-o", "addr", "show", "dev", "eth1", "scope", "global",
            ])
            .stdout
            .lines()
            .filter_map(|l| l.split_whitespace().nth(3).map(str::to_string))
            .collect();
        assert!(
            leg6.len() == 1 && !leg6[0].starts_with("fd00:60:"),
            "{backend}: the leg's IPv6 addresses: {leg6:?}"
        );
        sb.sh(
            "ip netns exec outside socat TCP6-LISTEN:8000,fork,reuseaddr SYSTEM:'echo $SOCAT_PEERADDR' \
             </dev/null >/dev/null 2>&1 &
             ip netns exec web socat TCP6-LISTEN:80,fork,reuseaddr SYSTEM:'echo web' \
             </dev/null >/dev/null 2>&1 &",
        )
        .ok();
        let out = reply(&sb, Some("web"), "[fd99::2]", 8000);
        assert_eq!(
            out, "[fd99:0000:0000:0000:0000:0000:0000:0001]",
            "{backend}: masqueraded to the host's address"
        );
        assert_eq!(
            reply(&sb, Some("outside"), "[fd99::1]", 8081),
            "web",
            "{backend}"
        );
        assert_consistent(&sb, &format!("{backend}: after the dual-stack attach"));
        cnet(&sb, backend, &["detach", "ov6", "web"]).ok();
        assert!(
            call(&sb, Some("outside"), "[fd99::1]", 8081)
                .stdout
                .trim()
                .is_empty(),
            "{backend}: the port closes with the detach"
        );
    }
}
