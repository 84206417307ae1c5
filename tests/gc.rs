//! `cnet gc` against kernel objects no record accounts for: links in cnet's link group left by
//! a command killed between creating them and recording them, and nftables elements (published
//! ports, tunnel-filter entries) of no endpoint or overlay.

mod common;

use common::Sandbox;

/// A LAN for macvlan networks: `lan0` in the sandbox's host namespace.
const LAN: &str = "ip link add lan0 type veth peer name lan0p && ip link set lan0 up && \
                   ip link set lan0p up";

/// cnet's link group, set by the request that creates a link (`plan::LINK_GROUP`).
const GROUP: &str = "group 1668179316";

#[test]
fn links_are_in_cnets_group_from_their_creation_and_gc_deletes_unrecorded_ones() {
    common::require_root();
    let sb = Sandbox::new();
    sb.sh(LAN).ok();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.97.0.0/24"])
        .ok();
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    let host = sb.sh("ip -o link show | grep -c 'group 1668179316'");
    assert_eq!(host.stdout.trim(), "2", "bridge and veth\n{host}");
    let inside = sb.sh("ip -n ns1 -o link show eth0");
    assert!(inside.stdout.contains(GROUP), "{inside}");
    sb.sh("ip netns add other && ip netns add stranger").ok();
    sb.cnet(&["attach", "lab", "other"]).ok();
    // What a kill between creating a link and setting its alias leaves: a link in the group,
    // without alias or record, in the host (a veth into ns1) and in a namespace cnet did not
    // make but has an endpoint in (a macvlan child under its temporary name, not renamed
    // yet). In a namespace this state knows nothing of, a link in the group may be another
    // cnet's (another state directory): it stays.
    sb.sh(&format!(
        "ip link add cnvdead1 {GROUP} type veth peer name eth7 {GROUP} netns ns1 && \
         ip -n other link add mine type veth peer name minep && \
         ip link add link lan0 name cnt0badf00d netns other {GROUP} type macvlan mode bridge && \
         ip link add link lan0 name cnt0000beef netns stranger {GROUP} type macvlan mode bridge"
    ))
    .ok();
    let gc = sb.cnet(&["gc"]);
    gc.ok()
        .stdout_has("link cnvdead1: marked group 1668179316 but recorded nowhere: deleted")
        .stdout_has("interface cnt0badf00d in other: recorded by no endpoint: deleted");
    let links = sb.sh(
        "ip -o link show; ip -n ns1 -o link show; ip -n other -o link show; \
         ip -n stranger -o link show",
    );
    for gone in ["cnvdead1", "eth7", "cnt0badf00d"] {
        assert!(!links.stdout.contains(gone), "{gone} left\n{links}");
    }
    for kept in ["cn-lab", "eth0@", "mine@", "minep@", "lan0", "cnt0000beef"] {
        assert!(links.stdout.contains(kept), "{kept} deleted\n{links}");
    }
    assert_eq!(sb.cnet(&["gc"]).stdout, "");
}

#[test]
fn gc_removes_nftables_elements_of_no_endpoint_or_overlay() {
    common::require_root();
    let sb = Sandbox::new();
    sb.sh(
        "ip link add up0 type veth peer name up0p && ip addr add 192.0.2.1/24 dev up0 && \
           ip link set up0 up",
    )
    .ok();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.1.0.0/24"])
        .ok();
    sb.cnet(&["attach", "lab", "ns1", "-p", "8080:80"]).ok();
    sb.sh(
        "cnet net create ov -d vxlan --subnet 10.2.0.0/24 --vni 42 --local 192.0.2.1 \
           --peer 192.0.2.2",
    )
    .ok();
    // What a killed detach or a hand-edited state leaves: elements nothing records.
    sb.sh(
        "nft add element inet cnet published '{ tcp . 9090 : 10.1.0.99 . 80 }' && \
           nft add element inet cnet published-ip '{ 127.0.0.1 . udp . 5353 : 10.1.0.98 . 53 }' && \
           nft add element inet cnet peers '{ 4789 . 42 . 192.0.2.99 }' && \
           nft add element inet cnet guarded '{ 4789 . 77 }'",
    )
    .ok();
    let tables = "nft list table inet cnet";
    let planted = sb.sh(tables).ok().stdout.clone();
    let dry = sb.cnet(&["gc", "--dry-run"]);
    dry.ok()
        .stdout_has("delete element inet cnet published { tcp . 9090 : 10.1.0.99 . 80 }")
        .stdout_has("delete element inet cnet peers { 4789 . 42 . 192.0.2.99 }");
    assert_eq!(
        sb.sh(tables).stdout,
        planted,
        "a dry run changed the tables"
    );

    let gc = sb.cnet(&["gc"]);
    gc.ok()
        .stdout_has("published port tcp . 9090 : 10.1.0.99 . 80: no endpoint publishes it: removed")
        .stdout_has("published port 127.0.0.1 . udp . 5353 : 10.1.0.98 . 53: no endpoint")
        .stdout_has("tunnel peer 4789 . 42 . 192.0.2.99: no overlay has it: removed")
        .stdout_has("tunnel filter 4789 . 77: no overlay has it: removed");
    assert_eq!(gc.stdout.lines().count(), 4, "{gc}");
    let left = sb.sh(tables).ok().stdout.clone();
    for gone in ["9090", "5353", "192.0.2.99", "0x00004d"] {
        assert!(!left.contains(gone), "{gone} left\n{left}");
    }
    for kept in ["tcp . 8080 : 10.1.0.2 . 80", "192.0.2.2"] {
        assert!(left.contains(kept), "{kept} removed\n{left}");
    }
    assert_eq!(sb.cnet(&["gc"]).stdout, "");
}

/// A kill between creating a veth and setting its alias (simulated: the alias cleared after a
/// kill right after the creation): the next command, undoing the killed attach, deletes the
/// veth all the same, by its group.
#[test]
fn the_next_command_deletes_a_link_killed_before_its_alias() {
    common::require_root();
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.3.0.0/24"])
        .ok();
    let mut unaliased = 0;
    for step in 0..30 {
        let r = sb.sh(&format!("CNET_FAULT=kill@{step} cnet attach lab ns1"));
        if r.succeeded() {
            break;
        }
        let cleared = sb.sh(
            "for l in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep '^cnv'); \
             do ip link set dev $l alias '' && echo $l; done",
        );
        unaliased += cleared.ok().stdout.lines().count();
        // The next command takes the lock, and first undoes the killed attach.
        let next = sb.cnet(&["attach", "lab", "ns2"]);
        next.ok();
        assert!(!next.stderr.contains("leaving link"), "step {step}\n{next}");
        let left = sb.sh("ip -o link show | grep -c cnv || true");
        assert_eq!(left.stdout.trim(), "1", "step {step}: a veth left\n{left}");
        sb.cnet(&["detach", "lab", "ns2", "--wait"]).ok();
    }
    assert!(unaliased > 0, "no step left a veth to clear the alias of");
}
