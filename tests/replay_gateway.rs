//! The replay test of overlays' gateway bridge (`common::replay`): a dry run of every command
//! that takes a namespace's leg on `cnet_gwbridge` prints what the real run does.

mod common;

use common::Sandbox;
use common::replay::{replay, replay_in};

/// A lab of overlays whose namespaces have legs on the gateway bridge `cnet_gwbridge`: a
/// leg stays while one of its namespace's overlays is left and goes with the last, whichever
/// command (detach, `ns rm`, `net rm --force`, `lab down`, `reset`) takes them.
const GATEWAY_STEPS: &[&str] = &[
    "net create ova -d vxlan --vni 6000 --subnet 10.30.0.0/24 --local 192.0.2.1 --peer 192.0.2.2",
    "net create ovb -d vxlan --vni 6001 --subnet 10.31.0.0/24 --local 192.0.2.1 --peer 192.0.2.2",
    "net create ovc -d vxlan --vni 6002 --subnet 10.32.0.0/24 --local 192.0.2.1 --peer 192.0.2.2",
    "attach ova n1 -p 8081:80",
    "attach ovb n1 -p 8082:80",
    "attach ova n2 -p 8083:80",
    "attach ovb n2",
    "attach ova n3",
    "attach ovb n3 -p 8084:80",
    "attach ovc n3",
    "attach ova n4",
    "attach ovb n4",
    "detach ova n2",
    "detach ovb n2",
    "ns rm n1",
    "net rm --force ova",
    "net rm --force ovb ovc",
    "ns rm n2 n3 n4",
    "! printf '[networks.ovl]\\ndriver = \"vxlan\"\\nsubnet = \"10.33.0.0/24\"\\nvni = 6003\\nlocal = \"192.0.2.1\"\\npeers = [\"192.0.2.2\"]\\n[networks.ovm]\\ndriver = \"vxlan\"\\nsubnet = \"10.34.0.0/24\"\\nvni = 6004\\nlocal = \"192.0.2.1\"\\npeers = [\"192.0.2.2\"]\\n[namespaces.l1]\\nattach = [{ network = \"ovl\", ports = [\"8085:80\"] }, { network = \"ovm\" }]\\n' >/run/lab.toml",
    "lab up /run/lab.toml",
    "lab down /run/lab.toml",
    "net create ovd -d vxlan --vni 6005 --subnet 10.35.0.0/24 --local 192.0.2.1 --peer 192.0.2.2",
    "net create ove -d vxlan --vni 6006 --subnet 10.36.0.0/24 --local 192.0.2.1 --peer 192.0.2.2",
    "net create lab --subnet 10.1.0.0/24",
    "attach ovd n5 -p 8086:80",
    "attach ove n5",
    "attach ovd n6",
    "attach lab n6",
    "reset --yes",
    // Dual stack: the gateway bridge made for a dual-stack overlay gets its own /64 of the
    // host's ULA prefix (recorded here, so both sandboxes choose the same), and legs both
    // families.
    "! mkdir -p /run/cnet-state && echo fd42:1:2::/48 > /run/cnet-state/ula_prefix",
    "net create ovf -d vxlan --vni 6007 --subnet 10.37.0.0/24 --ipv6 --subnet6 fd00:37::/64 --local 192.0.2.1 --peer 192.0.2.2",
    "net create ovg -d vxlan --vni 6008 --subnet 10.38.0.0/24 --ipv6 --subnet6 fd00:38::/64 --local 192.0.2.1 --peer 192.0.2.2",
    "attach ovf n8 -p 8087:80",
    "attach ovg n8",
    "attach ovf n9 -p [::]:8088:80",
    "detach ovf n8",
    "ns rm n8 n9",
    "reset --yes",
];

#[test]
fn a_dry_run_of_overlays_with_legs_builds_what_the_real_run_builds() {
    replay(GATEWAY_STEPS);
}

#[test]
fn on_the_iptables_backend_too() {
    let sandbox = || Sandbox::new().with_env("CNET_FIREWALL", "iptables");
    replay_in(sandbox(), sandbox(), GATEWAY_STEPS);
}

/// `gc` of namespaces deleted by hand: one on overlay `ab` (repaired before the gateway bridge,
/// so its detach takes the leg), one on two overlays. Its repairs' plans, as `--dry-run` prints
/// them, are those `-v` shows the run carry out (its report as comments), each leg is taken
/// once, and the hosts files of the namespaces gone are removed without being rewritten first.
#[test]
fn a_dry_run_of_gc_prints_the_plans_gc_carries_out() {
    let sb = Sandbox::new();
    sb.sh("ip link add up0 type veth peer name up0-far && ip addr add 192.0.2.1/24 dev up0 && ip link set up0 up")
        .ok();
    for (name, vni, subnet) in [
        ("ab", "7000", "10.40.0.0/24"),
        ("ovx", "7001", "10.41.0.0/24"),
        ("ovy", "7002", "10.42.0.0/24"),
    ] {
        let create = format!(
            "net create {name} -d vxlan --vni {vni} --subnet {subnet} --local 192.0.2.1 --peer 192.0.2.2"
        );
        sb.cnet(&create.split_whitespace().collect::<Vec<_>>()).ok();
    }
    sb.cnet(&["attach", "ab", "g1", "-p", "8090:80"]).ok();
    sb.cnet(&["attach", "ovx", "g2", "-p", "8091:80"]).ok();
    sb.cnet(&["attach", "ovy", "g2"]).ok();
    sb.cnet(&["attach", "ovx", "g3"]).ok();
    sb.sh("ip netns del g1 && ip netns del g2").ok();
    let dry = sb.cnet(&["--dry-run", "gc"]);
    dry.ok();
    let real = sb.cnet(&["-v", "gc"]);
    real.ok();
    let report: String = real.stdout.lines().map(|l| format!("# {l}\n")).collect();
    assert_eq!(
        dry.stdout,
        format!("{}{report}", real.stderr),
        "the dry run's plans and report differ from what the run did"
    );
    let legs = dry
        .stdout
        .matches("forget g1 on network cnet_gwbridge")
        .count()
        + dry
            .stdout
            .matches("forget g2 on network cnet_gwbridge")
            .count();
    assert_eq!(legs, 2, "each leg taken once:\n{}", dry.stdout);
    // The hosts files of g1 and g2 are removed, not first written back for the namespaces
    // the same gc forgets.
    for ns in ["g1", "g2"] {
        let write = format!("> /etc/netns/{ns}/hosts");
        assert!(!dry.stdout.contains(&write), "{write}:\n{}", dry.stdout);
        assert!(dry.stdout.contains(&format!("rm -f /etc/netns/{ns}/hosts")));
    }
    // g3's leg stays: ovx still needs it.
    assert_eq!(sb.cnet(&["ns", "ls", "-q"]).stdout.matches("g3").count(), 1);
}
