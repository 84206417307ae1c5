//! Crashes and reboots: a detach of a namespace on two networks, SIGKILLed before each step in
//! turn (the fault hook `CNET_FAULT=kill@N`), is finished by the next command; `cnet gc`
//! repairs what no record accounts for; a state directory moved to a fresh machine (another
//! boot) works again. Ownership marks: a link without cnet's mark is never deleted, whatever
//! the state says. Every driver and command failed and killed at each step: tests/faults_*.rs.

mod common;

use common::consistency::assert_consistent;
use common::{Sandbox, require_root};

/// A LAN for macvlan networks: `lan0` in the sandbox's host namespace.
const LAN: &str = "ip link add lan0 type veth peer name lan0p && ip link set lan0 up && \
                   ip link set lan0p up";

/// A namespace on an overlay and a bridge, its overlay detach killed before each step; the
/// next command (the detach retried, without gc) finishes it, and gc then finds nothing.
#[test]
fn a_killed_vxlan_detach_is_finished_by_the_next_command() {
    require_root();
    let sb = Sandbox::new();
    sb.sh("ip link add under0 type veth peer name under0p && \
           ip addr add 192.0.2.10/24 dev under0 && ip link set under0 up")
        .ok();
    sb.cnet(&["net", "create", "br", "--subnet", "10.98.0.0/24"])
        .ok();
    sb.sh(
        "cnet net create ov -d vxlan --subnet 10.92.0.0/24 --vni 42 --local 192.0.2.10 \
           --peer 192.0.2.11",
    )
    .ok();
    sb.cnet(&["attach", "br", "ns1"]).ok();
    for step in 0..100 {
        sb.cnet(&["attach", "ov", "ns1", "--alias", "web"]).ok();
        let r = sb.sh(&format!("CNET_FAULT=kill@{step} cnet detach ov ns1"));
        if r.succeeded() {
            assert!(step > 2, "the detach was never killed\n{r}");
            return;
        }
        assert_eq!(r.code, Some(137), "killed at step {step}:\n{r}");
        let next = sb.cnet(&["detach", "ov", "ns1"]);
        if !next.succeeded() {
            next.fails_with(2);
            assert!(next.stderr.contains("is not attached"), "{next}");
        }
        assert_consistent(&sb, &format!("detach ov ns1 killed at step {step}"));
        let left = sb.sh("ip -n ns1 -o link show; grep -c web /etc/netns/ns1/hosts || true");
        assert_eq!(
            left.stdout.matches(": eth").count(),
            1,
            "step {step}: only the bridge's interface stays\n{left}"
        );
        assert!(
            left.stdout.ends_with("0\n"),
            "step {step}: alias left\n{left}"
        );
        sb.cnet(&["exec-in-ns", "ns1", "ping", "-c1", "-W1", "10.98.0.1"])
            .ok();
    }
    panic!("detach has more than 100 steps?");
}

#[test]
fn an_unmarked_link_named_in_a_state_file_is_not_deleted() {
    require_root();
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.94.0.0/24"])
        .ok();
    sb.sh("ip link add up0 type veth peer name up0p").ok();
    let file = format!("{}/networks/lab.toml", sb.state_dir());
    sb.sh(&format!("sed -i 's/^bridge = .*/bridge = \"up0\"/' {file}"))
        .ok();
    let r = sb.cnet(&["net", "rm", "lab", "--force"]);
    r.ok();
    assert!(r.stderr.contains("leaving link up0 alone"), "{r}");
    assert!(sb.links().contains(&"up0".to_string()), "{:?}", sb.links());
    // The real bridge carries the mark but no record names it now: gc deletes it.
    let gc = sb.cnet(&["gc"]);
    gc.ok()
        .stdout_has("link cn-lab: marked cnet:lab but recorded nowhere: deleted");
    assert!(!sb.links().contains(&"cn-lab".to_string()));
}

#[test]
fn links_carry_the_mark_and_dry_run_shows_it() {
    require_root();
    let sb = Sandbox::new();
    let dry = sb.cnet(&[
        "--dry-run",
        "net",
        "create",
        "lab",
        "--subnet",
        "10.95.0.0/24",
    ]);
    dry.ok().stdout_has("ip link set cn-lab alias cnet:lab");
    sb.cnet(&["net", "create", "lab", "--subnet", "10.95.0.0/24"])
        .ok();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    let r = sb.sh("ip -o link show | grep -c 'alias cnet:lab'");
    assert_eq!(r.stdout.trim(), "2", "bridge and veth\n{r}");
}

#[test]
fn gc_releases_what_a_deleted_namespace_held() {
    require_root();
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.96.0.0/24"])
        .ok();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    sb.sh("ip netns del ns1").ok();
    let dry = sb.cnet(&["gc", "--dry-run"]);
    dry.ok();
    assert!(dry.stdout.contains("# forget ns1 on network lab"), "{dry}");
    let gc = sb.cnet(&["gc", "--format", "json"]);
    gc.ok();
    let v = gc.json();
    let objects: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["object"].as_str().unwrap())
        .collect();
    assert!(objects.contains(&"endpoint ns1 on lab"), "{v:#}");
    assert!(objects.contains(&"namespace ns1"), "{v:#}");
    sb.cnet(&["gc"]).ok();
    assert_eq!(sb.cnet(&["gc"]).stdout, "");
    sb.cnet(&["attach", "lab", "ns1"]).ok();
}

#[test]
fn a_state_dir_moved_to_another_boot_works_again() {
    require_root();
    let a = Sandbox::new();
    a.cnet(&["net", "create", "lab", "--subnet", "10.97.0.0/24"])
        .ok();
    a.cnet(&["net", "create", "tiny", "--subnet", "10.98.0.0/29"])
        .ok();
    a.sh(LAN).ok();
    a.cnet(&[
        "net",
        "create",
        "lan",
        "-d",
        "macvlan",
        "--subnet",
        "192.168.78.0/24",
        "-o",
        "parent=lan0",
    ])
    .ok();
    a.cnet(&["attach", "lab", "ns1"]).ok();
    a.cnet(&["attach", "lan", "ns1"]).ok();
    for i in 0..5 {
        a.cnet(&["attach", "tiny", &format!("t{i}")]).ok();
    }
    a.cnet(&["attach", "tiny", "t9"]).fails();
    let state = a.sh(&format!("tar -C {} -cf - . | base64 -w0", a.state_dir()));
    state.ok();

    let b = Sandbox::new();
    b.sh(LAN).ok();
    b.sh(&format!(
        "echo {} | base64 -d | tar -C {} -xf -",
        state.stdout.trim(),
        b.state_dir()
    ))
    .ok();
    let boot = "CNET_BOOT_ID=00000000-0000-0000-0000-000000000002";
    b.sh(&format!("{boot} cnet attach lab ns2")).ok();
    b.sh(&format!("{boot} cnet attach lan ns2")).ok();
    b.sh(&format!("{boot} cnet attach tiny t9")).ok();
    b.sh(&format!("{boot} cnet attach lab ns1")).ok();
    let leases = b.sh(&format!("{boot} cnet lease ls"));
    leases.ok();
    assert!(!leases.stdout.contains("namespace-gone"), "{leases}");
    assert!(!leases.stdout.contains("earlier-boot"), "{leases}");
    assert_eq!(b.sh(&format!("{boot} cnet gc")).stdout, "");
}

#[test]
fn the_allocator_reuses_leases_of_an_earlier_boot() {
    require_root();
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "tiny", "--subnet", "10.99.0.0/29"])
        .ok();
    for i in 0..5 {
        sb.cnet(&["attach", "tiny", &format!("t{i}")]).ok();
    }
    // Leases bound in another boot, their namespaces gone with it; the boot check is told
    // this is the same boot, so only the allocator can free them.
    sb.sh(&format!(
        "sed -i 's/^boot_id = .*/boot_id = \"old\"/' {}/leases/tiny/*.toml",
        sb.state_dir()
    ))
    .ok();
    sb.sh("for i in 0 1 2 3 4; do ip netns del t$i; done").ok();
    sb.cnet(&["attach", "tiny", "t9"]).ok();
}

#[test]
fn gc_deletes_firewall_elements_of_a_network_whose_record_is_gone() {
    require_root();
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.101.0.0/24"])
        .ok();
    sb.cnet(&["net", "create", "gone", "--subnet", "10.102.0.0/24"])
        .ok();
    sb.sh(&format!("rm {}/networks/gone.toml", sb.state_dir()))
        .ok();
    let dry = sb.cnet(&["gc", "--dry-run"]);
    dry.ok()
        .stdout_has("firewall elements of bridge cn-gone: no such network: deleted (3 elements)");
    assert!(
        dry.stdout
            .contains("delete element inet cnet subnets4 { 10.102.0.0/24 . \"cn-gone\" }"),
        "{dry}"
    );
    let rules = || {
        sb.sh("nft list table inet cnet | grep -c 'cn-gone' || true")
            .stdout
    };
    assert_ne!(rules().trim(), "0", "a dry run deletes nothing");
    sb.cnet(&["gc"]).ok();
    assert_eq!(rules().trim(), "0");
    let lab = sb.sh("nft list table inet cnet | grep -c 'cn-lab'");
    assert_ne!(
        lab.stdout.trim(),
        "0",
        "another network's elements are kept"
    );
    assert_eq!(sb.cnet(&["gc"]).stdout, "");
}

#[test]
fn gc_removes_hosts_files_and_lines_with_no_member() {
    require_root();
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.103.0.0/24"])
        .ok();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    sb.cnet(&["attach", "lab", "ns2"]).ok();
    // A line of an address nobody holds, the file of a network that does not exist, and the
    // files cnet wrote for a namespace on no network; an admin's own namespace files stay.
    sb.sh("printf '10.103.0.99\\tghost\\n' >> /run/cnet/hosts/lab && \
           cp /run/cnet/hosts/lab /run/cnet/hosts/old && \
           mkdir /etc/netns/left /etc/netns/admin && \
           cp /run/cnet/hosts/lab /etc/netns/left/hosts && \
           echo '10.0.0.1 mine' > /etc/netns/admin/hosts")
        .ok();
    let gc = sb.cnet(&["gc"]);
    gc.ok()
        .stdout_has("hosts file of lab: lines of addresses no member holds: 1 removed")
        .stdout_has("hosts file of old: no such network: removed")
        .stdout_has("/etc/netns/left: namespace unknown: cnet's files removed");
    let lab = sb.sh("cat /run/cnet/hosts/lab").stdout;
    assert!(
        !lab.contains("ghost") && lab.contains("ns1") && lab.contains("ns2"),
        "{lab}"
    );
    sb.sh("test ! -e /run/cnet/hosts/old && test ! -e /etc/netns/left")
        .ok();
    sb.sh("grep -q mine /etc/netns/admin/hosts").ok();
    assert_eq!(sb.cnet(&["gc"]).stdout, "");
    sb.cnet(&["detach", "lab", "ns2"]).ok();
    assert_eq!(
        sb.cnet(&["gc"]).stdout,
        "",
        "a detach leaves nothing for gc"
    );
}

#[test]
fn gc_deletes_an_unrecorded_interface_in_a_namespace_cnet_made() {
    require_root();
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.104.0.0/24"])
        .ok();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    sb.sh("ip -n ns1 link add eth5 type veth peer name left5 && \
           ip -n ns1 addr add 10.104.0.2/24 dev eth5 && \
           ip -n ns1 link add mine type veth peer name minep")
        .ok();
    let gc = sb.cnet(&["gc"]);
    gc.ok()
        .stdout_has("interface eth5 in ns1: recorded by no endpoint: deleted");
    let links = sb.sh("ip -n ns1 -o link show | awk '{print $2}'").stdout;
    assert!(!links.contains("eth5:"), "{links}");
    assert!(
        links.contains("eth0@") && links.contains("mine@"),
        "{links}"
    );
    assert_eq!(sb.cnet(&["gc"]).stdout, "");
}

#[test]
fn listings_after_a_reboot_say_so_and_change_nothing() {
    require_root();
    let a = Sandbox::new();
    a.cnet(&["net", "create", "lab", "--subnet", "10.105.0.0/24"])
        .ok();
    a.cnet(&["attach", "lab", "ns1"]).ok();
    let state = a.sh(&format!("tar -C {} -cf - . | base64 -w0", a.state_dir()));
    state.ok();
    let b = Sandbox::new();
    b.sh(&format!(
        "echo {} | base64 -d | tar -C {} -xf -",
        state.stdout.trim(),
        b.state_dir()
    ))
    .ok();
    let sums = format!("find {} -type f | sort | xargs md5sum", b.state_dir());
    let before = b.sh(&sums).stdout;
    let boot = "CNET_BOOT_ID=00000000-0000-0000-0000-000000000003";
    let leases = b.sh(&format!("{boot} cnet lease ls"));
    leases.ok().stdout_has("earlier-boot");
    assert!(
        leases.stderr.contains("state is of an earlier boot"),
        "{leases}"
    );
    for ls in ["net ls", "ns ls"] {
        let r = b.sh(&format!("{boot} cnet {ls}"));
        assert!(r.ok().stderr.contains("`cnet restore`"), "{r}");
    }
    assert_eq!(b.sh(&sums).stdout, before, "a listing rewrote state");
    assert!(!b.links().contains(&"cn-lab".to_string()));
    b.sh(&format!("{boot} cnet restore")).ok();
    let after = b.sh(&format!("{boot} cnet lease ls"));
    assert!(!after.stderr.contains("earlier boot"), "{after}");
    assert!(!after.stdout.contains("earlier-boot"), "{after}");
}
