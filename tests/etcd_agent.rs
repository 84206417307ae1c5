//! `cnet agent` on hosts sharing an overlay through a real etcd: a host that joins is reached
//! by address and by name with no command on the others, a host whose agent stops is dropped
//! after its lease's TTL and taken back when it returns.

mod common;

use common::etcd::{
    etcd_missing, eventually, launch_etcd, shared, start_agent, start_etcd, stop_etcd,
};
use common::multihost::{Host, Lab};
use std::time::{Duration, Instant};

/// The agents' liveness TTL in these tests: short, but longer than etcd's answers take on a busy
/// 2-core machine (with 2 s, a stall of etcd made every host look down now and then).
const TTL: &str = "4";

fn agent_log(h: &Host) -> String {
    h.run(&["cat", "/run/agent.log"]).stdout.clone()
}

fn fdb(h: &Host) -> String {
    h.run(&["bridge", "fdb", "show", "dev", "cnvx4096"])
        .ok()
        .stdout
        .clone()
}

/// The per-endpoint entries on a host's VXLAN device (see [`common::etcd::forwards`]).
fn forwards(h: &Host) -> Vec<String> {
    common::etcd::forwards(h, "cnvx4096")
}

/// What `forwards` must show on host `i` when the hosts `up` are alive: each of their
/// namespace's MAC behind their VTEP, and its address at its MAC.
fn expected_forwards(lab: &Lab, i: usize, up: &[usize]) -> Vec<String> {
    let mut out = Vec::new();
    for &j in up.iter().filter(|j| **j != i) {
        let h = lab.host(j);
        let ns = format!("x{j}");
        let link = h
            .run(&["ip", "-n", &ns, "-j", "link", "show", "eth0"])
            .ok()
            .json();
        let mac = link[0]["address"].as_str().unwrap().to_string();
        let ip = h.addrs(&ns, "eth0")[0]
            .split('/')
            .next()
            .unwrap()
            .to_string();
        out.push(format!("{mac} {}", h.addr));
        out.push(format!("{ip} {mac}"));
    }
    out.sort();
    out
}

#[test]
fn agents_bring_in_a_fourth_host_by_name_and_drop_a_host_whose_agent_stops() {
    if let Some(why) = etcd_missing() {
        eprintln!("skipped: {why}");
        return;
    }
    let lab = Lab::new(4);
    for h in &lab.hosts {
        h.sh("ip route add default via 192.0.2.254 dev up0").ok();
    }
    start_etcd(&lab);
    for (i, h) in lab.hosts[..3].iter().enumerate() {
        shared(h, &["net", "create", "ov", "-d", "overlay"]).ok();
        shared(
            h,
            &[
                "attach",
                "ov",
                &format!("x{i}"),
                "--alias",
                &format!("web{i}"),
            ],
        )
        .ok();
        start_agent(h, &format!("--ttl {TTL}"));
    }
    // The fourth host joins; nothing is run on the first three.
    let d = lab.host(3);
    shared(d, &["net", "create", "ov", "-d", "overlay"]).ok();
    shared(d, &["attach", "ov", "x3", "--alias", "web3"]).ok();
    let x3_leased = Instant::now();
    start_agent(d, &format!("--ttl {TTL}"));
    for (i, h) in lab.hosts[..3].iter().enumerate() {
        let ns = format!("x{i}");
        eventually(
            Duration::from_secs(15),
            || h.ping(&ns, "x3").succeeded(),
            || format!("host {} never reached x3 by name: {}", h.name, agent_log(h)),
        );
        h.assert_ping(&ns, "web3");
        let log = agent_log(h);
        assert!(log.contains("ov: peers") && log.contains(&d.addr), "{log}");
    }
    // The fourth host's attach wrote the names it found in etcd.
    for i in 0..3 {
        d.assert_ping("x3", &format!("x{i}"));
        d.assert_ping("x3", &format!("web{i}"));
    }
    // ns ls and lease ls name each namespace's and each lease's host.
    let d_ls = shared(d, &["--format", "json", "ns", "ls"]).ok().json();
    let d_id = d_ls[0]["host"].as_str().expect("a host").to_string();
    let a_ls = shared(lab.host(0), &["--format", "json", "ns", "ls"])
        .ok()
        .json();
    let rows = a_ls.as_array().unwrap();
    let x3 = rows.iter().find(|r| r["name"] == "x3").expect("x3 listed");
    assert_eq!(x3["host"], d_id.as_str(), "{a_ls}");
    assert_eq!(x3["networks"][0]["network"], "ov", "{a_ls}");
    assert!(rows.iter().all(|r| r["host"].is_string()), "{a_ls}");
    let table = shared(lab.host(0), &["ns", "ls"]).ok().stdout.clone();
    assert!(table.lines().next().unwrap().ends_with("HOST"), "{table}");
    let x3_ip = d.addrs("x3", "eth0")[0]
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let leases = shared(lab.host(0), &["--format", "json", "lease", "ls", "ov"])
        .ok()
        .json();
    let lease = leases
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["address"] == x3_ip.as_str());
    assert_eq!(
        lease.expect("x3's lease")["host"],
        d_id.as_str(),
        "{leases}"
    );
    // Each host holds exactly one FDB and one neighbour entry per remote endpoint.
    let all = [0, 1, 2, 3];
    for (i, h) in lab.hosts.iter().enumerate() {
        assert_eq!(
            forwards(h),
            expected_forwards(&lab, i, &all),
            "host {}",
            h.name
        );
    }

    // d's agent is killed: after the TTL the others stop sending to it...
    d.sh("kill -9 $(cat /run/agent.pid)").ok();
    let peer = format!("00:00:00:00:00:00 dst {} ", d.addr);
    for h in &lab.hosts[..3] {
        eventually(
            Duration::from_secs(15),
            || !fdb(h).contains(&peer),
            || {
                format!(
                    "host {} kept {}: {}{}",
                    h.name,
                    d.addr,
                    fdb(h),
                    agent_log(h)
                )
            },
        );
    }
    // ...nor to its endpoints...
    for (i, h) in lab.hosts[..3].iter().enumerate() {
        eventually(
            Duration::from_secs(5),
            || forwards(h) == expected_forwards(&lab, i, &[0, 1, 2]),
            || format!("host {}: {:?}", h.name, forwards(h)),
        );
    }
    // ...and names stay: its endpoints' leases are there until gc says they are gone.
    let leases = shared(lab.host(0), &["lease", "ls", "ov"])
        .ok()
        .stdout
        .clone();
    assert_eq!(
        leases.lines().filter(|l| l.contains(" bound ")).count(),
        4,
        "{leases}"
    );
    // Back: the others send to it again.
    start_agent(d, &format!("--ttl {TTL}"));
    for (i, h) in lab.hosts[..3].iter().enumerate() {
        eventually(
            Duration::from_secs(10),
            || fdb(h).contains(&peer),
            || {
                format!(
                    "host {} never took {} back: {}{}",
                    h.name,
                    d.addr,
                    fdb(h),
                    agent_log(h)
                )
            },
        );
        h.assert_ping(&format!("x{i}"), "x3");
        eventually(
            Duration::from_secs(5),
            || forwards(h) == expected_forwards(&lab, i, &all),
            || format!("host {}: {:?}", h.name, forwards(h)),
        );
    }

    // etcd stops and comes back; an attach on b afterwards reaches the others, whose agents
    // reconnected, and nobody holds an entry twice.
    stop_etcd(&lab);
    std::thread::sleep(Duration::from_millis(500));
    launch_etcd(&lab);
    let b = lab.host(1);
    shared(b, &["attach", "ov", "y1"]).ok();
    let y1_ip = b.addrs("y1", "eth0")[0]
        .split('/')
        .next()
        .unwrap()
        .to_string();
    for (i, h) in lab.hosts.iter().enumerate().filter(|(i, _)| *i != 1) {
        let ns = format!("x{i}");
        eventually(
            Duration::from_secs(15),
            || h.ping(&ns, "y1").succeeded(),
            || format!("host {} never reached y1 by name: {}", h.name, agent_log(h)),
        );
        // Converged (a host whose lease lapsed while etcd was away comes back), with each
        // remote endpoint's two entries once: x0..x3 but this host's, and y1.
        eventually(
            Duration::from_secs(10),
            || {
                let now = forwards(h);
                let mut unique = now.clone();
                unique.dedup();
                now == unique
                    && now.len() == 2 * 4
                    && now.iter().any(|f| f.starts_with(&format!("{y1_ip} ")))
            },
            || format!("host {}: {:?}", h.name, forwards(h)),
        );
    }

    // gc on a live host: a down host's leases are released and its endpoints forgotten only
    // once it has been down for the grace period — counted from when it went down, not from
    // its leases' age (x3's is older than the grace); then every host loses its names.
    const GRACE: u64 = 8;
    std::thread::sleep(Duration::from_secs(GRACE + 1).saturating_sub(x3_leased.elapsed()));
    let killed = Instant::now();
    d.sh("kill -9 $(cat /run/agent.pid)").ok();
    let a = lab.host(0);
    eventually(
        Duration::from_secs(15),
        || !fdb(a).contains(&peer),
        || format!("host a kept {}: {}", d.addr, fdb(a)),
    );
    let grace = GRACE.to_string();
    let r = shared(a, &["gc", "--grace", &grace]).ok().stdout.clone();
    // Down since at the earliest when it was killed.
    if killed.elapsed() < Duration::from_secs(GRACE) {
        assert!(!r.contains(&d_id), "{r}");
    } else {
        eprintln!("NOTE: the first gc came {GRACE} s after the kill: its check was skipped");
    }
    // Nor are other hosts' names stale lines of this host's hosts file.
    assert!(!r.contains("hosts file"), "{r}");
    // Down since at the latest when a saw it down (gc records it if nobody had).
    std::thread::sleep(Duration::from_secs(GRACE + 1));
    let r = shared(a, &["gc", "--grace", &grace]).ok().stdout.clone();
    assert!(r.contains(&format!("host {d_id} on ov")), "{r}");
    let leases = shared(b, &["--format", "json", "lease", "ls", "ov"])
        .ok()
        .json();
    let held: Vec<_> = leases
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["host"].clone())
        .collect();
    assert!(!held.contains(&serde_json::json!(d_id)), "{leases}");
    assert_eq!(held.len(), 4, "{leases}");
    eventually(
        Duration::from_secs(5),
        || {
            !b.run(&["cat", "/run/cnet/hosts/ov"])
                .ok()
                .stdout
                .contains("web3")
        },
        || b.run(&["cat", "/run/cnet/hosts/ov"]).stdout.clone(),
    );
}
