//! Side effects on the kernel: netlink, namespaces, sysctls.

pub mod exec;
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
pub fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
