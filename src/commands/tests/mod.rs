//! Commands run whole against the in-memory store and a fake host: the plans they carry out,
//! and that a failure at any step — on the host or in the store — leaves both as they were.

use super::{Ctx, dispatch};
use crate::cli::{Cli, Global};
use crate::error::Result;
use crate::model::{Driver, LeaseState, Network};
use crate::store::memory::Contents;
use crate::store::{MemStore, Store};
use crate::testing::{FakeHost, SharedHost};
use clap::Parser;

mod dual_stack;
mod firewall;
mod gateway;
mod gwbridge;
mod shared;
use gateway::with_two_networks;

fn global(dry_run: bool) -> Global {
    Global {
        state_dir: "/nonexistent/cnet-unit".into(),
        store: None,
        format: None,
        dry_run,
        verbose: false,
    }
}

/// Run one command line against these handles.
fn cnet(store: &MemStore, host: &SharedHost, dry_run: bool, args: &[&str]) -> Result<()> {
    let cli = Cli::try_parse_from(std::iter::once("cnet").chain(args.iter().copied()))
        .expect("a valid command line");
    let ctx = Ctx::with(
        global(dry_run),
        Box::new(store.clone()),
        Box::new(host.clone()),
    );
    dispatch(&ctx, cli.command)
}

/// Namespaces no machine running the tests has, so every attach plans to create its own.
const NS1: &str = "cnet-unit-ns1";
const NS2: &str = "cnet-unit-ns2";

fn lab() -> Network {
    Network {
        name: "lab".into(),
        id: "0123456789ab".into(),
        driver: Driver::Bridge,
        subnet: Some("10.1.0.0/24".parse().unwrap()),
        gateway: Some("10.1.0.1".parse().unwrap()),
        bridge: Some("cn-lab".into()),
        bridge_mac: Some("02:00:00:00:01:01".into()),
        ..Default::default()
    }
}

/// A store holding the `lab` network, as after `net create lab`.
fn with_lab() -> Contents {
    with_networks(&[lab()])
}

/// These networks in the store.
fn with_networks(nets: &[Network]) -> Contents {
    let store = MemStore::default();
    for net in nets {
        store.put_network(net).unwrap();
    }
    store.snapshot()
}

/// The host of a machine where cnet's firewall base and tables are in place already.
fn built_host() -> FakeHost {
    FakeHost {
        facts: crate::firewall::FirewallFacts::complete(),
        ..Default::default()
    }
}

/// How many host steps and state writes a command makes when nothing fails.
fn count_steps(initial: &Contents, host: FakeHost, args: &[&str]) -> (usize, usize) {
    let store = MemStore::holding(initial.clone());
    let host = SharedHost::new(host);
    cnet(&store, &host, false, args).expect("the command succeeds");
    let asked = host.0.borrow().asked;
    (asked, store.writes.get())
}

/// Fail the command at every host step and at every state write in turn: each time it fails,
/// and store and host are left exactly as they were.
fn each_failure_leaves_nothing(initial: &Contents, host: fn() -> FakeHost, args: &[&str]) {
    let (steps, writes) = count_steps(initial, host(), args);
    assert!(
        steps > 0 && writes > 0,
        "{args:?}: {steps} steps, {writes} writes"
    );
    for i in 0..steps + writes {
        let store = MemStore::holding(initial.clone());
        let mut fake = host();
        if i < steps {
            fake.fail_at = Some(i);
        } else {
            store.fail_write_at.set(Some(i - steps));
        }
        let fake = SharedHost::new(fake);
        let e = cnet(&store, &fake, false, args);
        assert!(e.is_err(), "{args:?} with failure {i} succeeded");
        // The lease cursor is only where the next search starts, not a record: a rolled-back
        // attach may leave it one address on.
        let mut after = store.snapshot();
        after.cursors = initial.cursors.clone();
        assert_eq!(
            &after, initial,
            "{args:?}: failure {i} ({e:?}) changed the store"
        );
        let fake = fake.0.borrow();
        assert!(
            fake.live.is_empty(),
            "{args:?}: failure {i} ({e:?}) left on the host: {:#?}",
            fake.live
        );
    }
}

#[test]
fn an_attach_records_its_lease_endpoint_and_namespace_after_the_kernel_work() {
    let store = MemStore::holding(with_lab());
    let host = SharedHost::new(built_host());
    cnet(
        &store,
        &host,
        false,
        &["attach", "lab", NS1, "--alias", "web"],
    )
    .unwrap();
    let s = store.snapshot();
    let lease = s.leases.values().next().expect("a lease");
    assert_eq!(
        (lease.address.to_string(), lease.state),
        ("10.1.0.2".into(), LeaseState::Bound)
    );
    let ep = store.endpoint("lab", NS1).unwrap().expect("an endpoint");
    assert_eq!(ep.ifname, "eth0");
    assert!(store.namespace(NS1).unwrap().is_some());
    let log = host.0.borrow().log.join("\n");
    assert!(log.contains(&format!("ip netns add {NS1}")), "{log}");
    assert!(
        log.contains(&format!(
            "type veth peer name eth0 numtxqueues 1 numrxqueues 1 group 1668179316 netns {NS1}"
        )),
        "{log}"
    );
    assert!(log.contains("10.1.0.2\tcnet-unit-ns1 web\n"), "{log}");
    assert!(
        log.contains(&format!(
            "ln -sfn /run/cnet/hosts/lab /etc/netns/{NS1}/hosts"
        )),
        "{log}"
    );
}

#[test]
fn an_attach_failing_at_any_step_leaves_store_and_host_as_they_were() {
    each_failure_leaves_nothing(&with_lab(), built_host, &["attach", "lab", NS1]);
}

#[test]
fn a_first_use_of_the_default_network_with_a_port_fails_whole_at_any_step() {
    // Nothing of cnet's firewall is there yet: the plan makes the base, the table, the
    // bridge and the network record, then the endpoint with its published port.
    each_failure_leaves_nothing(
        &Contents::default(),
        FakeHost::default,
        &["attach", "bridge", NS1, "-p", "8080:80"],
    );
}

#[test]
fn a_net_create_failing_at_any_step_leaves_nothing() {
    each_failure_leaves_nothing(
        &Contents::default(),
        FakeHost::default,
        &["net", "create", "lab2", "--subnet", "10.7.0.0/24"],
    );
}

#[test]
fn a_second_network_plans_no_base_chain_or_table_again() {
    let store = MemStore::holding(with_lab());
    let host = SharedHost::new(built_host());
    cnet(
        &store,
        &host,
        false,
        &["net", "create", "lab2", "--subnet", "10.7.0.0/24"],
    )
    .unwrap();
    let log = host.0.borrow().log.join("\n");
    assert!(!log.contains("iptables"), "{log}");
    assert!(!log.contains("table inet cnet {"), "{log}");
    assert!(
        log.contains("add element inet cnet bridges { \"cn-lab2\" }"),
        "{log}"
    );
    assert!(log.contains("ip link add cn-lab2"), "{log}");
}

#[test]
fn a_detach_releases_forgets_and_a_failed_one_records_nothing() {
    let (attached, files) = {
        let store = MemStore::holding(with_lab());
        let host = SharedHost::new(built_host());
        cnet(&store, &host, false, &["attach", "lab", NS1]).unwrap();
        cnet(&store, &host, false, &["attach", "lab", NS2]).unwrap();
        let h = host.0.borrow();
        (store.snapshot(), (h.files.clone(), h.netns.clone()))
    };
    let host_as_attached = || FakeHost {
        files: files.0.clone(),
        netns: files.1.clone(),
        ..built_host()
    };
    let store = MemStore::holding(attached.clone());
    let host = SharedHost::new(host_as_attached());
    cnet(&store, &host, false, &["detach", "lab", NS1]).unwrap();
    assert!(store.endpoint("lab", NS1).unwrap().is_none());
    let lease = store
        .lease("lab", "10.1.0.2".parse().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(lease.state, LeaseState::Released);
    let log = host.0.borrow().log.join("\n");
    // NS1's line is blanked in place in the shared file; NS2's own file is not touched.
    assert!(
        log.contains("dd of=/run/cnet/hosts/lab bs=1 seek="),
        "{log}"
    );
    assert!(!log.contains(NS2), "{log}");

    let steps = host.0.borrow().asked;
    for i in 0..steps {
        let store = MemStore::holding(attached.clone());
        let mut fake = host_as_attached();
        fake.fail_at = Some(i);
        let fake = SharedHost::new(fake);
        let e = cnet(&store, &fake, false, &["detach", "lab", NS1]);
        assert!(e.is_err(), "failure {i}");
        // A failed detach leaves the records as they were: it can simply be run again.
        let mut after = store.snapshot();
        after.cursors = attached.cursors.clone();
        assert_eq!(after, attached, "failure {i}");
    }
}

#[test]
fn net_rm_of_the_last_network_takes_the_table_with_its_elements() {
    let store = MemStore::holding(with_lab());
    let host = SharedHost::new(built_host());
    cnet(&store, &host, false, &["attach", "lab", NS1]).unwrap();
    cnet(&store, &host, false, &["net", "rm", "--force", "lab"]).unwrap();
    let s = store.snapshot();
    assert!(s.networks.is_empty() && s.endpoints.is_empty(), "{s:#?}");
    let log = host.0.borrow().log.join("\n");
    assert!(log.contains("nft delete table inet cnet\n"), "{log}");
    assert!(!log.contains("delete element"), "{log}");
    assert!(!log.contains("iptables"), "{log}");
    assert!(log.contains("rm -f /run/cnet/hosts/lab"), "{log}");
}

/// A net rm whose file step fails after the network was forgotten puts the record back: its
/// hosts file stays with its network, and the command can simply be run again.
#[test]
fn a_net_rm_failing_at_its_file_step_keeps_the_network() {
    let setup = || {
        let store = MemStore::holding(with_lab());
        let host = SharedHost::new(built_host());
        cnet(&store, &host, false, &["attach", "lab", NS1]).unwrap();
        cnet(&store, &host, false, &["detach", "lab", NS1]).unwrap();
        (store, host)
    };
    let (store, host) = setup();
    let before = host.0.borrow().log.len();
    cnet(&store, &host, false, &["net", "rm", "lab"]).unwrap();
    let log = host.0.borrow().log[before..].to_vec();
    let at = log
        .iter()
        .position(|l| l.starts_with("rm -f /run/cnet/hosts/lab"))
        .unwrap_or_else(|| panic!("no file step: {log:#?}"));

    let (store, host) = setup();
    let asked = host.0.borrow().asked;
    host.0.borrow_mut().fail_at = Some(asked + at);
    assert!(cnet(&store, &host, false, &["net", "rm", "lab"]).is_err());
    assert!(
        store.network("lab").unwrap().is_some(),
        "the record is gone"
    );
    cnet(&store, &host, false, &["net", "rm", "lab"]).unwrap();
    assert!(store.network("lab").unwrap().is_none());
}

#[test]
fn a_dry_run_asks_nothing_of_the_host_and_writes_nothing() {
    for args in [
        &["attach", "lab", NS1, "-p", "8080:80"][..],
        &["net", "create", "lab2", "--subnet", "10.7.0.0/24"],
        &["net", "rm", "lab"],
        &["firewall", "reload"],
    ] {
        let store = MemStore::holding(with_lab());
        let host = SharedHost::new(built_host());
        cnet(&store, &host, true, args).unwrap();
        assert_eq!(store.snapshot(), with_lab(), "{args:?}");
        assert_eq!(host.0.borrow().asked, 0, "{args:?}");
    }
}

#[test]
fn dry_run_of_exec_in_ns_is_refused() {
    let store = MemStore::default();
    let host = SharedHost::default();
    let e = cnet(&store, &host, true, &["exec-in-ns", NS1, "true"]).unwrap_err();
    assert_eq!(e.exit_code(), 2);
}

#[test]
fn an_admins_own_hosts_file_is_kept_aside_and_comes_back_on_detach() {
    use crate::files::Node;
    let dir = std::path::PathBuf::from(format!("/etc/netns/{NS1}"));
    let mine = "10.9.9.9\tbackup-server\n".to_string();
    let mut fake = built_host();
    fake.files.insert("/etc/netns".into(), Node::Dir);
    fake.files.insert(dir.clone(), Node::Dir);
    fake.files
        .insert(dir.join("hosts"), Node::File(mine.clone()));
    let store = MemStore::holding(with_lab());
    let host = SharedHost::new(fake);
    cnet(&store, &host, false, &["attach", "lab", NS1]).unwrap();
    {
        let h = host.0.borrow();
        assert_eq!(
            h.files.get(&dir.join("hosts.before-cnet")),
            Some(&Node::File(mine.clone()))
        );
        assert_eq!(
            h.files.get(&dir.join("hosts")),
            Some(&Node::Link("/run/cnet/hosts/lab".into()))
        );
    }
    cnet(&store, &host, false, &["detach", "lab", NS1]).unwrap();
    let h = host.0.borrow();
    assert_eq!(h.files.get(&dir.join("hosts")), Some(&Node::File(mine)));
    assert_eq!(
        h.files.get(&dir.join("hosts.before-cnet")),
        Some(&Node::Absent)
    );
}

fn overlay() -> Network {
    Network {
        name: "ov".into(),
        id: "0123456789ad".into(),
        driver: Driver::Vxlan,
        subnet: Some("10.20.0.0/24".parse().unwrap()),
        internal: true,
        bridge: Some("cn-ov".into()),
        bridge_mac: Some("02:00:00:00:01:03".into()),
        vni: Some(5000),
        local: Some("192.0.2.1".parse().unwrap()),
        peers: vec!["192.0.2.2".parse().unwrap()],
        dstport: Some(4789),
        ..Default::default()
    }
}

#[test]
fn a_peer_change_records_the_peer_list_and_a_failure_at_any_step_keeps_the_old_one() {
    let initial = {
        let store = MemStore::default();
        store.put_network(&overlay()).unwrap();
        store.snapshot()
    };
    let store = MemStore::holding(initial.clone());
    let host = SharedHost::new(built_host());
    cnet(
        &store,
        &host,
        false,
        &["net", "peer", "add", "ov", "192.0.2.3"],
    )
    .unwrap();
    let peers = |s: &MemStore| s.network("ov").unwrap().unwrap().peers;
    assert_eq!(peers(&store).len(), 2);
    let log = host.0.borrow().log.join("\n");
    assert!(
        log.contains("bridge fdb append 00:00:00:00:00:00 dev cnvx5000 dst 192.0.2.3"),
        "{log}"
    );
    cnet(
        &store,
        &host,
        false,
        &["net", "peer", "rm", "ov", "192.0.2.2"],
    )
    .unwrap();
    assert_eq!(
        peers(&store),
        vec!["192.0.2.3".parse::<std::net::IpAddr>().unwrap()]
    );

    each_failure_leaves_nothing(
        &initial,
        built_host,
        &["net", "peer", "add", "ov", "192.0.2.3"],
    );
}

#[test]
fn ns_rm_detaches_deletes_the_namespace_and_forgets_it() {
    let store = MemStore::holding(with_two_networks());
    let host = SharedHost::new(built_host());
    cnet(&store, &host, false, &["attach", "lab", NS1]).unwrap();
    cnet(&store, &host, false, &["attach", "lab2", NS1]).unwrap();
    cnet(&store, &host, false, &["ns", "rm", NS1]).unwrap();
    let s = store.snapshot();
    assert!(s.endpoints.is_empty() && s.namespaces.is_empty(), "{s:#?}");
    assert!(s.leases.values().all(|l| l.state == LeaseState::Released));
    let h = host.0.borrow();
    assert!(!h.netns.contains(NS1));
    assert!(
        h.files
            .keys()
            .filter(|p| p.starts_with(format!("/etc/netns/{NS1}")))
            .all(|p| h.files[p] == crate::files::Node::Absent),
        "{:#?}",
        h.files
    );
}
