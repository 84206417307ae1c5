//! Address leases: persistent across processes, sticky, never handed out twice, even to
//! concurrent attaches.

mod common;

use common::{Sandbox, leases};
use std::collections::BTreeSet;

fn lease_of(table: &[(String, String, String)], address: &str) -> (String, String) {
    table
        .iter()
        .find(|(a, _, _)| a == address)
        .map(|(_, c, s)| (c.clone(), s.clone()))
        .unwrap_or_else(|| panic!("no lease for {address}: {table:#?}"))
}

#[test]
fn leases_persist_and_are_sticky() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    sb.cnet(&["attach", "lab", "ns2"]).ok();
    assert_eq!(sb.addrs("ns1", "eth0"), ["10.1.0.2/24"]);
    assert_eq!(sb.addrs("ns2", "eth0"), ["10.1.0.3/24"]);

    sb.cnet(&["detach", "lab", "ns1"]).ok();
    let table = leases(&sb, "lab");
    assert_eq!(
        lease_of(&table, "10.1.0.2"),
        ("ns1".into(), "released".into())
    );
    assert_eq!(lease_of(&table, "10.1.0.3"), ("ns2".into(), "bound".into()));
    assert!(
        sb.links_in("ns1").iter().all(|l| l == "lo"),
        "detach leaves ns1 with lo only"
    );

    // A newcomer gets a never-used address, not ns1's released one.
    sb.cnet(&["attach", "lab", "ns3"]).ok();
    assert_eq!(sb.addrs("ns3", "eth0"), ["10.1.0.4/24"]);
    // ns1 comes back to its previous address.
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    assert_eq!(sb.addrs("ns1", "eth0"), ["10.1.0.2/24"]);

    let table = leases(&sb, "lab");
    assert_eq!(table.len(), 3, "{table:#?}");
    assert_eq!(lease_of(&table, "10.1.0.2"), ("ns1".into(), "bound".into()));
    assert_eq!(lease_of(&table, "10.1.0.3"), ("ns2".into(), "bound".into()));
    assert_eq!(lease_of(&table, "10.1.0.4"), ("ns3".into(), "bound".into()));
    sb.assert_ping("ns3", "ns1");
}

#[test]
fn concurrent_attaches_get_distinct_addresses() {
    const N: usize = 32;
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    let r = sb.sh(&format!(
        "pids=''
         for i in $(seq 1 {N}); do cnet attach lab n$i >/run/attach.$i 2>&1 & pids=\"$pids $!\"; done
         failed=0
         for p in $pids; do wait $p || failed=$((failed+1)); done
         if [ $failed -ne 0 ]; then
           for i in $(seq 1 {N}); do echo \"n$i: $(cat /run/attach.$i)\"; done
         fi
         echo \"failed=$failed\"
         [ $failed -eq 0 ]"
    ));
    assert!(
        r.succeeded() && r.stdout.contains("failed=0"),
        "concurrent attaches failed\n{r}"
    );

    let table = leases(&sb, "lab");
    let bound: Vec<_> = table.iter().filter(|(_, _, s)| s == "bound").collect();
    assert_eq!(bound.len(), N, "{table:#?}");
    let addresses: BTreeSet<&str> = bound.iter().map(|(a, _, _)| a.as_str()).collect();
    let clients: BTreeSet<&str> = bound.iter().map(|(_, c, _)| c.as_str()).collect();
    assert_eq!(addresses.len(), N, "addresses leased twice: {table:#?}");
    assert_eq!(clients.len(), N, "{table:#?}");
    assert!(
        !addresses.contains("10.1.0.1"),
        "the gateway was leased: {table:#?}"
    );

    // The kernel agrees with the lease table.
    let r = sb.sh(&format!(
        "for i in $(seq 1 {N}); do echo \"n$i $(ip -n n$i -4 -o addr show dev eth0)\"; done"
    ));
    r.ok();
    let mut seen = BTreeSet::new();
    for line in r.stdout.lines() {
        let ns = line.split_whitespace().next().expect("a name");
        let inet = common::parse_inet(line);
        assert_eq!(inet.len(), 1, "{ns} has not exactly one address\n{r}");
        let ip = inet[0].trim_end_matches("/24").to_string();
        assert!(
            bound.iter().any(|(a, c, _)| *a == ip && c == ns),
            "{ns} has {ip} in the kernel, not what its lease says: {table:#?}"
        );
        assert!(seen.insert(ip.clone()), "{ip} is configured twice\n{r}");
    }
    assert_eq!(seen.len(), N, "{r}");
}
