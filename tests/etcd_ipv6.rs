//! A dual-stack overlay shared through a real etcd by three simulated hosts: the first host's
//! `--ipv6` chooses the IPv6 subnet and etcd's definition carries it to the others — one joins
//! with `net create`, one only by attaching — namespaces attached at once on every host get
//! distinct addresses of both families, and reach each other over IPv6 by name and alias across
//! hosts; each host's VXLAN device holds exactly one FDB entry per remote endpoint and one
//! neighbour entry per remote address, IPv6 included, also after its agent re-syncs.

mod common;

use common::etcd::{etcd_missing, eventually, forwards, shared, start_agent, start_etcd};
use common::multihost::{Host, Lab};
use std::collections::BTreeSet;
use std::time::Duration;

/// The agents' liveness TTL: nobody goes down in this test, so one long enough that a slow
/// moment of etcd on a busy machine does not make every host look down.
const TTL: &str = "--ttl 6";
/// Namespaces attached at once, spread over the three hosts.
const ATTACHES: usize = 12;

/// The host namespace `n{i}` is on.
fn host_of(lab: &Lab, i: usize) -> &Host {
    lab.host(i % 3)
}

/// A namespace's global address of a family on eth0 (without prefix length).
fn addr_of(h: &Host, ns: &str, family: &str) -> String {
    let r = h.run(&[
        "ip", "-n", ns, family, "-o", "addr", "show", "dev", "eth0", "scope", "global",
    ]);
    let out = r.ok().stdout.clone();
    let addrs: Vec<&str> = out
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            w.position(|x| x == "inet" || x == "inet6")?;
            w.next()?.split('/').next()
        })
        .collect();
    assert_eq!(addrs.len(), 1, "{ns} on {}: {out}", h.name);
    addrs[0].to_string()
}

fn mac_of(h: &Host, ns: &str) -> String {
    let link = h
        .run(&["ip", "-n", ns, "-j", "link", "show", "eth0"])
        .ok()
        .json();
    link[0]["address"].as_str().unwrap().to_string()
}

/// Namespace `i`'s MAC, IPv4 and IPv6 address.
struct Seen {
    mac: String,
    v4: String,
    v6: String,
}

#[test]
fn a_dual_stack_overlay_in_etcd_names_every_host_s_namespaces_over_ipv6() {
    if let Some(why) = etcd_missing() {
        eprintln!("skipped: {why}");
        return;
    }
    let lab = Lab::new(3);
    for h in &lab.hosts {
        h.sh("ip route add default via 192.0.2.254 dev up0").ok();
    }
    start_etcd(&lab);
    let (a, b, c) = (lab.host(0), lab.host(1), lab.host(2));

    // a defines it with --ipv6 alone (a /64 of its ULA prefix); b joins with net create and
    // gets the same IPv6 subnet without asking for it.
    shared(a, &["net", "create", "ov", "-d", "overlay", "--ipv6"]).ok();
    shared(b, &["net", "create", "ov", "-d", "overlay"]).ok();
    let subnet6 = |h: &Host| {
        let json = shared(h, &["net", "inspect", "ov"]).ok().json();
        json[0]["ipam"]["subnet6"].as_str().map(String::from)
    };
    let s6 = subnet6(a).expect("a dual-stack overlay");
    assert!(s6.starts_with("fd") && s6.ends_with("::/64"), "{s6}");
    assert_eq!(subnet6(b).as_deref(), Some(s6.as_str()));
    // Another overlay cannot take that IPv6 subnet, even on a host that has not joined.
    shared(
        c,
        &[
            "net",
            "create",
            "ov2",
            "-d",
            "overlay",
            "--ipv6",
            "--subnet6",
            &s6,
        ],
    )
    .usage_error(&["an overlay's in etcd"]);

    // c never runs net create: its first attach joins. A dry run prints the join (the VXLAN
    // device and the lease of both families) and changes nothing.
    let dry = shared(c, &["--dry-run", "attach", "ov", "probe"])
        .ok()
        .stdout
        .clone();
    assert!(dry.contains("type vxlan id 4096"), "{dry}");
    assert!(dry.contains(&s6[..s6.len() - 5]), "{dry}");
    assert!(
        shared(c, &["net", "ls", "-q"])
            .ok()
            .stdout
            .lines()
            .all(|l| l != "ov")
    );
    assert!(
        !c.links().iter().any(|l| l == "cnvx4096"),
        "{:?}",
        c.links()
    );
    assert!(c.netns_list().is_empty(), "{:?}", c.netns_list());
    shared(c, &["attach", "ov", "n2", "--alias", "web2"]).ok();
    assert_eq!(subnet6(c).as_deref(), Some(s6.as_str()));

    for h in &lab.hosts {
        start_agent(h, TTL);
    }
    // The others at once, spread over the three hosts.
    let lab = &lab;
    std::thread::scope(|s| {
        let runs: Vec<_> = (0..ATTACHES)
            .filter(|i| *i != 2)
            .map(|i| {
                s.spawn(move || {
                    let alias = format!("web{i}");
                    shared(
                        host_of(lab, i),
                        &["attach", "ov", &format!("n{i}"), "--alias", &alias],
                    )
                })
            })
            .collect();
        for r in runs {
            r.join().unwrap().ok();
        }
    });
    let seen: Vec<Seen> = (0..ATTACHES)
        .map(|i| {
            let (h, ns) = (host_of(lab, i), format!("n{i}"));
            Seen {
                mac: mac_of(h, &ns),
                v4: addr_of(h, &ns, "-4"),
                v6: addr_of(h, &ns, "-6"),
            }
        })
        .collect();
    let v4: BTreeSet<_> = seen.iter().map(|s| &s.v4).collect();
    let v6: BTreeSet<_> = seen.iter().map(|s| &s.v6).collect();
    assert_eq!((v4.len(), v6.len()), (ATTACHES, ATTACHES), "{v4:?} {v6:?}");
    let prefix = &s6[..s6.len() - 4];
    assert!(v6.iter().all(|a| a.starts_with(prefix)), "{v6:?}");

    // Across hosts, over IPv6, by name and by alias.
    for (from, to) in [(0, 1), (1, 2), (2, 0), (3, 10), (8, 4), (11, 9)] {
        let h = host_of(lab, from);
        let ns = format!("n{from}");
        eventually(
            Duration::from_secs(15),
            || {
                h.exec_in(&ns, &["ping", "-6", "-c1", "-W2", &format!("n{to}")])
                    .succeeded()
            },
            || format!("{ns} on {} never reached n{to} over IPv6", h.name),
        );
        h.assert_ping6(&ns, &format!("web{to}"));
        h.assert_ping6(&ns, &seen[to].v6);
    }
    // Every host's file names every namespace of every host with both its addresses.
    for h in &lab.hosts {
        eventually(
            Duration::from_secs(10),
            || {
                let file = h.run(&["cat", "/run/cnet/hosts/ov"]).stdout.clone();
                seen.iter().enumerate().all(|(i, s)| {
                    let names = format!("n{i} web{i}");
                    [&s.v4, &s.v6].iter().all(|addr| {
                        file.lines()
                            .any(|l| l.starts_with(&format!("{addr}\t")) && l.ends_with(&names))
                    })
                })
            },
            || h.run(&["cat", "/run/cnet/hosts/ov"]).stdout.clone(),
        );
    }

    // Exactly one FDB entry per remote endpoint and one neighbour entry per remote address.
    let expected = |i: usize| {
        let mut out = Vec::new();
        for (j, s) in seen.iter().enumerate().filter(|(j, _)| j % 3 != i) {
            out.push(format!("{} {}", s.mac, host_of(lab, j).addr));
            out.push(format!("{} {}", s.v4, s.mac));
            out.push(format!("{} {}", s.v6, s.mac));
        }
        out.sort();
        out
    };
    for (i, h) in lab.hosts.iter().enumerate() {
        eventually(
            Duration::from_secs(10),
            || forwards(h, "cnvx4096") == expected(i),
            || format!("host {}: {:?}", h.name, forwards(h, "cnvx4096")),
        );
    }
    // The tunnel device holds those entries with no IPv6 address of its own (no chatter).
    for h in &lab.hosts {
        let own = h.run(&["ip", "-6", "-o", "addr", "show", "dev", "cnvx4096"]);
        assert_eq!(own.ok().stdout, "", "host {}", h.name);
    }
    // An agent that starts again re-syncs without adding anything twice.
    a.sh("kill $(cat /run/agent.pid)").ok();
    start_agent(a, TTL);
    std::thread::sleep(Duration::from_secs(1));
    shared(b, &["attach", "ov", "late"]).ok();
    let late = Seen {
        mac: mac_of(b, "late"),
        v4: addr_of(b, "late", "-4"),
        v6: addr_of(b, "late", "-6"),
    };
    let mut with_late = expected(0);
    with_late.extend([
        format!("{} {}", late.mac, b.addr),
        format!("{} {}", late.v4, late.mac),
        format!("{} {}", late.v6, late.mac),
    ]);
    with_late.sort();
    eventually(
        Duration::from_secs(10),
        || forwards(a, "cnvx4096") == with_late,
        || format!("host a: {:?}", forwards(a, "cnvx4096")),
    );
    eventually(
        Duration::from_secs(10),
        || {
            a.exec_in("n0", &["ping", "-6", "-c1", "-W2", "late"])
                .succeeded()
        },
        || {
            format!(
                "n0 never reached late over IPv6: {}",
                a.run(&["cat", "/run/agent.log"]).stdout
            )
        },
    );

    // A detach releases both its leases (one Txn with the endpoint's removal), and the other
    // hosts drop its three entries.
    shared(b, &["detach", "ov", "late"]).ok();
    let leases = shared(a, &["--format", "json", "lease", "ls", "ov"])
        .ok()
        .json();
    for addr in [&late.v4, &late.v6] {
        let l = leases
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["address"] == addr.as_str());
        assert_eq!(
            l.map(|l| l["state"].clone()),
            Some("released".into()),
            "{leases}"
        );
    }
    eventually(
        Duration::from_secs(10),
        || forwards(a, "cnvx4096") == expected(0),
        || format!("host a: {:?}", forwards(a, "cnvx4096")),
    );
}
