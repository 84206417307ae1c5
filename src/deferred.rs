//! Work a command hands to its own end: links to delete and sockets whose close blocks (see
//! `kernel::reclaim`, which carries it out). A registry with no dependency of its own, so that
//! the firewall can hand over its sockets without reaching into the kernel module.

use std::os::fd::OwnedFd;
use std::sync::Mutex;

#[derive(Default)]
pub struct Pending {
    /// Links in cnet's own (host) namespace, already down and renamed, to delete.
    pub links: Vec<String>,
    /// Sockets whose close may block (netfilter, after rules were deleted).
    pub fds: Vec<OwnedFd>,
    /// Netfilter sockets that deleted nothing. Their close still blocks when anyone else
    /// deleted something just before (the kernel flushes every pending nf_tables free on any
    /// such close, NETLINK_URELEASE): a grace period that is never the command's own to wait
    /// for, so they close in the background even when the command waits.
    pub fds_freeing_nothing: Vec<OwnedFd>,
}

static PENDING: Mutex<Pending> = Mutex::new(Pending {
    links: Vec::new(),
    fds: Vec::new(),
    fds_freeing_nothing: Vec::new(),
});

fn pending() -> std::sync::MutexGuard<'static, Pending> {
    PENDING.lock().unwrap_or_else(|p| p.into_inner())
}

/// Set when the command waits for the kernel (`--wait`, or any command but a plain detach,
/// ns rm or lab down): nothing is then left behind: `kernel::reclaim::finish` does the
/// deferred work itself.
static WAITING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Whether this command waits for the kernel to free what it removes.
pub fn set_waiting(on: bool) {
    WAITING.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Whether this command waits for the kernel ([`set_waiting`]).
pub fn waiting() -> bool {
    WAITING.load(std::sync::atomic::Ordering::Relaxed)
}

/// Delete this host-namespace link at the end of the command (in the background, unless the
/// command waits).
pub fn defer_link(name: String) {
    pending().links.push(name);
}

/// Whether this command has handed this link over for deletion at its end already.
pub fn link_pending(name: &str) -> bool {
    pending().links.iter().any(|l| l == name)
}

/// Close this descriptor at the end of the command (in the background, unless it waits).
pub fn defer_fd(fd: OwnedFd) {
    pending().fds.push(fd);
}

/// Close this netfilter socket, which deleted nothing, at the end of the command, in the
/// background even when the command waits.
pub fn defer_fd_that_freed_nothing(fd: OwnedFd) {
    pending().fds_freeing_nothing.push(fd);
}

/// Everything handed over so far (the registry is empty after).
pub fn take() -> Pending {
    std::mem::take(&mut *pending())
}
