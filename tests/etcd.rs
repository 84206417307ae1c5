//! Overlays shared through etcd: three simulated hosts (each its own sandbox, state and
//! /run/netns) on a switched underlay, and a real etcd (Debian's etcd-server) started in the
//! switch's sandbox on an underlay address. No host is told a VNI, a subnet or a peer.

mod common;

use common::etcd::{ETCD, etcd_missing, shared, start_etcd};
use common::multihost::{Host, Lab};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// How many namespaces attach at once, spread over the hosts.
const ATTACHES: usize = 32;

/// A network's VNI and subnet as `net inspect` shows them on a host.
fn vni_and_subnet(sb: &Host, name: &str) -> (u64, String) {
    let json = shared(sb, &["net", "inspect", name]).ok().json();
    let net = &json[0];
    (
        net["vxlan"]["vni"].as_u64().expect("a VNI"),
        net["ipam"]["subnet"]
            .as_str()
            .expect("a subnet")
            .to_string(),
    )
}

#[test]
fn three_hosts_share_an_overlay_without_vni_subnet_or_peers() {
    if let Some(why) = etcd_missing() {
        eprintln!("skipped: {why}");
        return;
    }
    let lab = Lab::new(3);
    // The underlay is found by the default route.
    for h in &lab.hosts {
        h.sh("ip route add default via 192.0.2.254 dev up0").ok();
    }
    start_etcd(&lab);

    // All three at once: one defines it, the others join (the store may come from the
    // environment too).
    let lab = &lab;
    std::thread::scope(|s| {
        let env = s.spawn(|| {
            lab.host(1).sh(&format!(
                "CNET_BOOT_ID=boot-of-host-b CNET_STORE=etcd://{ETCD} cnet net create ov -d overlay"
            ))
        });
        let others: Vec<_> = [0, 2]
            .map(|i| {
                s.spawn(move || shared(lab.host(i), &["net", "create", "ov", "-d", "overlay"]))
            })
            .into_iter()
            .collect();
        env.join().unwrap().ok();
        for o in others {
            o.join().unwrap().ok();
        }
    });
    let defs: Vec<_> = lab.hosts.iter().map(|h| vni_and_subnet(h, "ov")).collect();
    assert_eq!(defs[0], (4096, "10.0.0.0/24".to_string()), "{defs:?}");
    assert!(defs.iter().all(|d| *d == defs[0]), "{defs:?}");

    // 32 attaches at once, spread over the three hosts: 32 distinct addresses.
    std::thread::scope(|s| {
        let runs: Vec<_> = (0..ATTACHES)
            .map(|i| {
                let h = lab.host(i % 3);
                s.spawn(move || shared(h, &["attach", "ov", &format!("n{i}")]))
            })
            .collect();
        for r in runs {
            r.join().unwrap().ok();
        }
    });
    let addrs: Vec<String> = (0..ATTACHES)
        .map(|i| {
            let a = lab.host(i % 3).addrs(&format!("n{i}"), "eth0");
            assert_eq!(a.len(), 1, "n{i}: {a:?}");
            a[0].split('/').next().unwrap().to_string()
        })
        .collect();
    let distinct: BTreeSet<_> = addrs.iter().collect();
    assert_eq!(distinct.len(), ATTACHES, "{addrs:?}");

    // Every host's namespaces reach the others' by address; each host programmed its peers.
    for (from, to) in [(0, 1), (1, 2), (2, 0), (3, 5), (4, 30), (31, 29)] {
        lab.host(from % 3)
            .assert_ping(&format!("n{from}"), &addrs[to]);
    }
    for (i, h) in lab.hosts.iter().enumerate() {
        let fdb = h
            .run(&["bridge", "fdb", "show", "dev", "cnvx4096"])
            .ok()
            .stdout
            .clone();
        for peer in lab.peers_of(i) {
            assert!(
                fdb.contains(&format!("00:00:00:00:00:00 dst {peer}")),
                "host {i}: {fdb}"
            );
        }
    }

    // Every host sees every member: its underlay address and its VXLAN device's MAC.
    let json = shared(lab.host(0), &["net", "inspect", "ov"]).ok().json();
    let members = json[0]["members"].as_array().expect("members").clone();
    assert_eq!(members.len(), 3, "{members:?}");
    for h in &lab.hosts {
        let link = h.run(&["ip", "-j", "link", "show", "cnvx4096"]).ok().json();
        let mac = link[0]["address"].as_str().unwrap();
        assert!(
            members
                .iter()
                .any(|m| m["underlay"] == h.addr.as_str() && m["vtep_mac"] == mac),
            "host {}: {mac}: {members:?}",
            h.name
        );
    }

    // -p on the shared overlay publishes on that host, through its own gateway bridge (local
    // state, never in etcd): the same host port is free on another host, and a third host,
    // on no overlay's namespace, is answered at the publishing host's address.
    shared(lab.host(0), &["attach", "ov", "web", "-p", "8081:80"]).ok();
    shared(lab.host(1), &["attach", "ov", "web2", "-p", "8081:80"]).ok();
    lab.host(0)
        .sh(
            "ip netns exec web socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo web-on-a' \
             </dev/null >/dev/null 2>&1 &",
        )
        .ok();
    let fetch = format!(
        "echo hi | timeout 5 socat -t2 -T2 - TCP:{}:8081,connect-timeout=2",
        lab.host(0).addr
    );
    let answered = (0..10).any(|_| {
        let r = lab.host(2).sh(&fetch);
        r.stdout.trim() == "web-on-a" || {
            std::thread::sleep(Duration::from_millis(300));
            false
        }
    });
    assert!(answered, "host c got no answer from host a's 8081");
    for h in [lab.host(0), lab.host(1)] {
        let state = h.state_dir();
        h.run(&[
            "test",
            "-f",
            &format!("{state}/networks/cnet_gwbridge.toml"),
        ])
        .ok();
    }
    let on_c = shared(lab.host(2), &["net", "ls", "-q"])
        .ok()
        .stdout
        .clone();
    assert!(on_c.contains("cnet_gwbridge"), "host c's own: {on_c}");
    let on_a = shared(lab.host(0), &["net", "inspect", "cnet_gwbridge"])
        .ok()
        .json();
    let legs = on_a[0]["namespaces"].as_object().expect("legs").clone();
    assert!(
        legs.keys().all(|ns| ns == "web" || (ns.starts_with('n'))),
        "only host a's namespaces: {legs:?}"
    );
    assert!(!legs.contains_key("web2"), "{legs:?}");
    shared(lab.host(0), &["detach", "ov", "web"]).ok();
    shared(lab.host(1), &["detach", "ov", "web2"]).ok();

    // A full overlay refuses another attach: another host's leases hold, whatever its boot.
    for h in [lab.host(0), lab.host(1)] {
        shared(
            h,
            &[
                "net",
                "create",
                "tiny",
                "-d",
                "overlay",
                "--subnet",
                "10.9.9.0/29",
            ],
        )
        .ok();
    }
    for i in 0..6 {
        shared(lab.host(i % 2), &["attach", "tiny", &format!("t{i}")]).ok();
    }
    let r = shared(lab.host(0), &["attach", "tiny", "t6"]);
    r.fails_with(2);
    assert!(r.stderr.contains("no free address"), "{r}");

    // gc on one host leaves the others' leases alone; lease ls names their hosts.
    shared(lab.host(0), &["gc"]).ok();
    let leases = shared(lab.host(0), &["lease", "ls", "ov"])
        .ok()
        .stdout
        .clone();
    let bound: Vec<&str> = leases.lines().filter(|l| l.contains(" bound ")).collect();
    assert_eq!(bound.len(), ATTACHES, "{leases}");
    let elsewhere = bound.iter().filter(|l| l.contains('@')).count();
    assert_eq!(elsewhere, ATTACHES - ATTACHES.div_ceil(3), "{leases}");

    // Each host's leases and endpoints go with its net rm; the last takes the definition.
    for (i, h) in lab.hosts.iter().enumerate() {
        shared(h, &["net", "rm", "--force", "ov"]).ok();
        let gone = (0..ATTACHES).filter(|n| n % 3 == i);
        for n in gone {
            let links = h.links_in(&format!("n{n}"));
            assert!(!links.iter().any(|l| l == "eth0"), "n{n}: {links:?}");
        }
    }
    shared(lab.host(1), &["net", "create", "ov2", "-d", "overlay"]).ok();
    assert_eq!(
        vni_and_subnet(lab.host(1), "ov2"),
        (4096, "10.0.0.0/24".to_string())
    );
}

#[test]
fn an_unreachable_etcd_is_one_line_naming_it_and_nothing_changes() {
    let lab = Lab::new(1);
    let h = lab.host(0);
    h.sh("ip route add default via 192.0.2.254 dev up0").ok();
    h.cnet(&["net", "create", "lan"]).ok();
    let before = h.snapshot();
    // Nobody answers on this address of the underlay: the connection times out.
    let started = Instant::now();
    let r = h.cnet(&[
        "--store",
        "etcd://192.0.2.99:2379",
        "net",
        "create",
        "ov",
        "-d",
        "overlay",
    ]);
    r.fails_with(1);
    assert!(started.elapsed() < Duration::from_secs(10), "{r}");
    assert_eq!(r.stderr.lines().count(), 1, "{r}");
    assert!(r.stderr.contains("etcd at 192.0.2.99:2379"), "{r}");
    h.snapshot()
        .assert_same(&before, "create with etcd unreachable");

    // The same store from the configuration file; local networks need no etcd.
    h.sh("printf 'store = \"etcd://192.0.2.99:2379\"\\n' > /run/cnet.toml")
        .ok();
    let r = h.sh("CNET_CONFIG=/run/cnet.toml cnet net create ov -d overlay");
    r.fails_with(1);
    assert!(r.stderr.contains("etcd at 192.0.2.99:2379"), "{r}");
    h.sh("CNET_CONFIG=/run/cnet.toml cnet attach lan ns1").ok();
    let r = h.sh("printf 'store = 7\\n' > /run/bad.toml; CNET_CONFIG=/run/bad.toml cnet net ls");
    r.fails_with(1);
    assert!(r.stderr.contains("/run/bad.toml"), "{r}");
    let r = h.cnet(&["agent"]);
    r.usage_error(&["--store etcd://"]);
    let r = h.cnet(&["--store", "consul://x:1", "net", "ls"]);
    r.usage_error(&["--store", "consul://x:1"]);
}
