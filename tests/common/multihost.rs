//! Several simulated hosts joined by an underlay network, for overlay (VXLAN) tests.
//!
//! Each host is a [`Sandbox`]: its own mount, network and pid namespaces, its own `/run/netns`
//! and cnet state directory, so every `cnet` command sees only that host. One more sandbox plays
//! the switch: a bridge [`SWITCH_BRIDGE`]. Host N's underlay interface [`UNDERLAY_IF`]
//! (`192.0.2.N/24`, a documentation range, only ever inside sandboxes) is one end of a veth
//! pair whose other end is a port of the switch.
//!
//! The pair is created inside the host's network namespace with its switch end placed directly
//! in the switch's namespace, named by path: `/proc/PID/ns/net` with the switch holder's PID as
//! the test process sees it. So that one `ip` command enters only the host's *network*
//! namespace (`nsenter --net`) and stays in the test's pid and mount namespaces, where that PID
//! and that `/proc` mean what they say. Nothing is created in the machine's own network
//! namespace, and dropping the lab (the sandboxes) destroys everything in it.

use super::{Run, Sandbox};
use std::process::{Command, Stdio};

/// Each host's interface on the underlay.
pub const UNDERLAY_IF: &str = "up0";
/// The bridge joining the hosts, in the switch sandbox.
pub const SWITCH_BRIDGE: &str = "sw0";
/// The underlay network; host N (1-based) is `192.0.2.N`.
pub const UNDERLAY_PREFIX: &str = "192.0.2";

/// One simulated host: a sandbox plus its name and underlay address. Derefs to its sandbox.
pub struct Host {
    /// `a`, `b`, `c`, ...
    pub name: String,
    /// Its underlay address (without prefix length).
    pub addr: String,
    pub sb: Sandbox,
}

impl std::ops::Deref for Host {
    type Target = Sandbox;
    fn deref(&self) -> &Sandbox {
        &self.sb
    }
}

/// Hosts on a switched underlay.
pub struct Lab {
    pub hosts: Vec<Host>,
    pub switch: Sandbox,
}

/// Runs `argv` with only the network namespace of `sb` entered (see the module comment).
fn in_net_only(sb: &Sandbox, argv: &[&str]) -> Run {
    let holder = sb.holder.expect("the sandbox is running").to_string();
    let out = Command::new("nsenter")
        .args(["--target", &holder, "--net", "--"])
        .args(["timeout", "-k", "5", "30"])
        .args(argv)
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .expect("cannot run nsenter (util-linux)");
    Run {
        what: format!("(net namespace of pid {holder}) {}", argv.join(" ")),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Lab {
    /// `n` hosts (at most 26) with the default underlay MTU (1500).
    #[track_caller]
    pub fn new(n: usize) -> Lab {
        assert!((1..=26).contains(&n), "1 to 26 hosts");
        let switch = Sandbox::new();
        switch
            .sh(&format!(
                "set -e; ip link add {SWITCH_BRIDGE} type bridge; ip link set {SWITCH_BRIDGE} up"
            ))
            .ok();
        let switch_ns = format!(
            "/proc/{}/ns/net",
            switch.holder.expect("the switch is running")
        );
        let mut hosts = Vec::with_capacity(n);
        for i in 1..=n {
            let name = ((b'a' + (i - 1) as u8) as char).to_string();
            let addr = format!("{UNDERLAY_PREFIX}.{i}");
            let sb = Sandbox::new();
            let port = format!("swp-{name}");
            in_net_only(
                &sb,
                &[
                    "ip",
                    "link",
                    "add",
                    UNDERLAY_IF,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    &port,
                    "netns",
                    &switch_ns,
                ],
            )
            .ok();
            switch
                .sh(&format!(
                    "set -e; ip link set {port} master {SWITCH_BRIDGE}; ip link set {port} up"
                ))
                .ok();
            sb.sh(&format!(
                "set -e; ip addr add {addr}/24 dev {UNDERLAY_IF}; ip link set {UNDERLAY_IF} up"
            ))
            .ok();
            hosts.push(Host { name, addr, sb });
        }
        let lab = Lab { hosts, switch };
        // The underlay works before anything is built on it.
        for h in &lab.hosts[1..] {
            lab.hosts[0].run(&["ping", "-c1", "-W2", &h.addr]).ok();
        }
        lab
    }

    /// Host `i` (0-based).
    pub fn host(&self, i: usize) -> &Host {
        &self.hosts[i]
    }

    /// The underlay addresses of every host but `i`.
    pub fn peers_of(&self, i: usize) -> Vec<&str> {
        self.hosts
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, h)| h.addr.as_str())
            .collect()
    }
}
