//! Side effects on the kernel: netlink, namespaces, sysctls.

pub mod exec;
pub mod forward;
pub mod netlink;
pub mod netns;
pub mod reclaim;
pub mod rtnl;
pub mod sublink;
pub mod sysctl;
pub mod vxlan;

use crate::error::{Error, Result};
use crate::plan::NsRef;
pub use netlink::Session;

/// IPv4 destination prefixes of the routes in the host namespace's main table (for choosing
/// free subnets). Default routes (0.0.0.0/0) are left out: they overlap everything.
pub fn host_routes_v4() -> Result<Vec<ipnetwork::Ipv4Network>> {
    Session::new().run(&NsRef::Host, netlink::main_routes_v4)
}

/// Whether a link exists in a namespace (false when the namespace itself does not exist). The
/// session's connection to the namespace stays open for the plan that usually follows.
pub fn link_exists(s: &mut Session, ns: &NsRef, name: &str) -> Result<bool> {
    if let Some(p) = ns.path()
        && p.symlink_metadata().is_err()
    {
        return Ok(false);
    }
    s.run(ns, |c| {
        netlink::link_index(c, name)
            .map(|i| i.is_some())
            .map_err(|e| Error::runtime(format!("ip link show {name}: {}", netlink::describe(&e))))
    })
}

/// The boot id (/proc/sys/kernel/random/boot_id), trimmed; empty string if unreadable.
/// `CNET_BOOT_ID` stands in for it: tests simulate a reboot in a fresh sandbox with it.
pub fn boot_id() -> String {
    static BOOT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BOOT.get_or_init(|| match std::env::var("CNET_BOOT_ID") {
        Ok(id) if !id.is_empty() => id,
        _ => std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
    })
    .clone()
}

/// When a process started (field 22 of /proc/PID/stat, clock ticks after boot); `None` when
/// there is no such process. With the pid and the boot it names one process for good.
pub fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from its end.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// This process's start time (see [`process_start`]).
pub fn own_start() -> u64 {
    static START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *START.get_or_init(|| process_start(std::process::id()).unwrap_or(0))
}

/// Whether the process that wrote an intent still runs.
pub fn process_alive(pid: u32, start: u64, boot: &str) -> bool {
    boot == boot_id() && process_start(pid) == Some(start)
}
