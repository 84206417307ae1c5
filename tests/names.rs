//! Name resolution across several networks: a namespace on two networks resolves the members
//! of both, members of one network never see the other's, and joins and departures show up.

mod common;

use common::Sandbox;

fn resolves(sb: &Sandbox, netns: &str, name: &str) -> bool {
    // Files only: a name that is not there must not fall through to DNS.
    sb.exec_in(netns, &["getent", "-s", "files", "hosts", name])
        .succeeded()
}

#[test]
fn a_namespace_on_two_networks_resolves_the_members_of_both() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "a", "--subnet", "10.31.0.0/24"])
        .ok();
    sb.cnet(&["net", "create", "b", "--subnet", "10.32.0.0/24"])
        .ok();
    sb.cnet(&["attach", "a", "hub"]).ok();
    sb.cnet(&["attach", "b", "hub"]).ok();
    sb.cnet(&["attach", "a", "left"]).ok();
    sb.cnet(&["attach", "b", "right", "--alias", "db"]).ok();

    assert!(resolves(&sb, "hub", "left"));
    assert!(resolves(&sb, "hub", "right"));
    assert!(resolves(&sb, "hub", "db"));
    assert!(resolves(&sb, "left", "hub"));
    assert!(
        !resolves(&sb, "left", "right"),
        "a member of a resolves b's"
    );
    sb.assert_ping("hub", "right");
    // iproute2 sees the same files: `ip netns exec` resolves the same names.
    sb.run(&[
        "ip", "netns", "exec", "left", "getent", "-s", "files", "hosts", "hub",
    ])
    .ok();

    // A newcomer on a shows up for the namespace on both networks.
    sb.cnet(&["attach", "a", "late"]).ok();
    assert!(resolves(&sb, "hub", "late"));
    assert!(resolves(&sb, "left", "late"));

    // Leaving b: hub no longer resolves b's members, still resolves a's.
    sb.cnet(&["detach", "b", "hub"]).ok();
    assert!(!resolves(&sb, "hub", "right"));
    assert!(resolves(&sb, "hub", "left"));
    assert!(!resolves(&sb, "right", "hub"));

    // Leaving a: gone for the others.
    sb.cnet(&["detach", "a", "left"]).ok();
    assert!(!resolves(&sb, "hub", "left"));
    assert!(resolves(&sb, "hub", "late"));
}

#[test]
fn a_process_already_running_in_a_namespace_sees_members_leave_and_join() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "n", "--subnet", "10.33.0.0/24"])
        .ok();
    sb.cnet(&["attach", "n", "watcher"]).ok();
    sb.cnet(&["attach", "n", "leaver"]).ok();
    // The watcher's /etc/hosts is bound when it starts; it looks the others up only after
    // one has left and another joined.
    let run = sb.sh(
        r#"d=$(mktemp -d); mkfifo "$d/go" "$d/ready"
ip netns exec watcher sh -c "echo > $d/ready; read x < $d/go
  for n in leaver joiner; do getent -s files hosts \$n >/dev/null && echo \$n:yes || echo \$n:no; done" > "$d/out" &
read x < "$d/ready"
cnet detach n leaver >/dev/null && cnet attach n joiner >/dev/null
echo > "$d/go"; wait; cat "$d/out"; rm -r "$d""#,
    );
    run.ok();
    assert_eq!(
        run.stdout.split_whitespace().collect::<Vec<_>>(),
        ["leaver:no", "joiner:yes"],
        "what a process started before the changes resolves"
    );
}

#[test]
fn a_namespace_given_by_path_gets_a_name_with_attach_name_and_resolves_by_it() {
    let sb = Sandbox::new();
    sb.cnet(&["net", "create", "lab", "--subnet", "10.33.0.0/24"])
        .ok();
    sb.cnet(&["attach", "lab", "web"]).ok();
    // A namespace made by another tool, as a container runtime started with no network.
    let r = sb.sh(
        "unshare --net sleep 1000 </dev/null >/dev/null 2>&1 &
         pid=$!
         for i in $(seq 50); do
           [ \"$(readlink /proc/$pid/ns/net)\" != \"$(readlink /proc/self/ns/net)\" ] && { echo $pid; exit 0; }
           sleep 0.1
         done
         exit 1",
    );
    r.ok();
    let path = format!("/proc/{}/ns/net", r.stdout.trim());
    let dry = sb.cnet(&["--dry-run", "attach", "lab", &path, "--name", "app"]);
    dry.ok()
        .stdout_has(&format!("ip netns attach app {}", r.stdout.trim()));
    sb.cnet(&["attach", "lab", &path, "--name", "app"]).ok();
    // It is `app` now, for iproute2 and for cnet: names resolve both ways.
    sb.run(&["ip", "netns", "exec", "app", "true"]).ok();
    assert!(resolves(&sb, "app", "web"));
    assert!(resolves(&sb, "web", "app"));
    sb.assert_ping("app", "web");
    // A name that is taken, or a namespace that has one, is refused.
    sb.cnet(&["attach", "lab", &path, "--name", "web"])
        .usage_error(&["namespace web already exists"]);
    sb.cnet(&["attach", "lab", "web", "--name", "other"])
        .usage_error(&["--name names a namespace given by path"]);
}
