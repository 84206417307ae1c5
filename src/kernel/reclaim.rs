//! Kernel work that a command need not wait for.
//!
//! Deleting a veth pair, or closing a netfilter netlink socket after rules were deleted, blocks
//! the caller for an RCU grace period (~20-30 ms here) while the kernel frees what is already
//! out of use. A detach is done for its user once the namespace is cut off: its links are down
//! and renamed out of the way, its rules are out of the ruleset, its lease is released. What is
//! left is only the freeing, which a child process does after cnet has returned: the links to
//! delete and the sockets whose closing blocks are handed to it ([`finish`]).
//!
//! The child is cnet itself, run as `cnet __reclaim LINK...` (not a user command, not in the
//! CLI): it waits until the parent has closed its copies of the handed-over sockets (EOF on its
//! stdin), deletes the links, and exits, which closes the sockets last.

use crate::error::{Error, Result};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// The hidden argv[1] that makes cnet a reclaimer.
pub const RECLAIM_ARG: &str = "__reclaim";

#[derive(Default)]
struct Pending {
    /// Links in cnet's own (host) namespace, already down and renamed, to delete.
    links: Vec<String>,
    /// Sockets whose close may block (netfilter, after rules were deleted).
    fds: Vec<OwnedFd>,
}

static PENDING: Mutex<Pending> = Mutex::new(Pending {
    links: Vec::new(),
    fds: Vec::new(),
});

fn pending() -> std::sync::MutexGuard<'static, Pending> {
    PENDING.lock().unwrap_or_else(|p| p.into_inner())
}

/// Set when the command waits for the kernel (`--wait`, or any command but a plain detach or
/// ns rm): nothing is then left behind, so a pair is deleted at once instead of retired, and
/// [`finish`] does the deferred work itself.
static WAITING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether this command waits for the kernel to free what it removes.
pub fn set_waiting(on: bool) {
    WAITING.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Delete this host-namespace link at the end of the command (in the background, unless the
/// command waits).
pub fn defer_link(name: String) {
    pending().links.push(name);
}

/// Close this descriptor at the end of the command (in the background, unless it waits).
pub fn defer_fd(fd: OwnedFd) {
    pending().fds.push(fd);
}

/// A name for a link that is being retired: unique, ≤ 15 bytes, recognisably cnet's ("cnr").
pub fn retired_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let mix = (std::process::id() as u64) << 24 ^ (nanos as u64) ^ ((seq as u64) << 40);
    format!("cnr{:012x}", mix & 0xffff_ffff_ffff)
}

/// Finish the deferred work: now, when the command waits ([`set_waiting`]: its `--wait`, or a
/// command whose user expects the kernel settled, like `net rm`), else in a child process left
/// running.
pub fn finish() -> Result<()> {
    let wait = WAITING.load(std::sync::atomic::Ordering::Relaxed);
    let Pending { links, fds } = std::mem::take(&mut *pending());
    if links.is_empty() && fds.is_empty() {
        return Ok(());
    }
    if !wait && let Ok(mut child) = spawn_reclaimer(&links, &fds) {
        // The child holds its own copies: closing ours does not block (its last close will).
        // Only then may it go on, so that it never closes before we do: EOF on its stdin.
        drop(fds);
        drop(child.stdin.take());
        return Ok(());
    }
    let result = delete_links(&links);
    drop(fds);
    result
}

fn spawn_reclaimer(links: &[String], fds: &[OwnedFd]) -> std::io::Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    for fd in fds {
        set_cloexec(fd, false)?;
    }
    let spawned = Command::new("/proc/self/exe")
        .arg(RECLAIM_ARG)
        .args(links)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Out of the caller's process group: a Ctrl-C at the shell does not stop the freeing.
        .process_group(0)
        .spawn();
    for fd in fds {
        let _ = set_cloexec(fd, true);
    }
    spawned
}

fn set_cloexec(fd: &OwnedFd, on: bool) -> std::io::Result<()> {
    let raw = fd.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own, with integer arguments only.
    let flags = unsafe { libc::fcntl(raw, libc::F_GETFD) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let new = if on {
        flags | libc::FD_CLOEXEC
    } else {
        flags & !libc::FD_CLOEXEC
    };
    // SAFETY: as above.
    if unsafe { libc::fcntl(raw, libc::F_SETFD, new) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Delete links of the host namespace by name; those already gone count as deleted.
pub fn delete_links(links: &[String]) -> Result<()> {
    if links.is_empty() {
        return Ok(());
    }
    let mut s = super::netlink::Session::new();
    let mut first: Option<Error> = None;
    for name in links {
        let op = crate::plan::Op::DeleteLink {
            ns: crate::plan::NsRef::Host,
            dev: name.clone(),
        };
        if let Err(e) = s.exec(&op) {
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}

/// The reclaimer's main: wait for the parent to let go (EOF on stdin), delete the links, exit
/// (closing the inherited sockets). Errors are nobody's to read: it runs detached.
pub fn reclaimer_main(links: &[String]) -> ! {
    use std::io::Read;
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    // Only links a detach retired: typed by hand, `cnet __reclaim eth0` deletes nothing.
    let retired: Vec<String> = links.iter().filter(|l| is_retired(l)).cloned().collect();
    let _ = delete_links(&retired);
    std::process::exit(0)
}

/// Whether a link name is one [`retired_name`] makes.
pub fn is_retired(name: &str) -> bool {
    name.len() == 15 && name.starts_with("cnr") && name[3..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Execute [`Op::RetireVeth`](crate::plan::Op::RetireVeth): the host end down and renamed (the
/// bridge stops forwarding to it, its peer loses carrier), the namespace end down and renamed
/// (its name free for the next attach), the pair queued for deletion. Should a step fail, the
/// pair is deleted here and now instead.
pub fn retire_veth(
    s: &mut super::netlink::Session,
    host: &str,
    peer_ns: &crate::plan::NsRef,
    peer: &str,
) -> Result<()> {
    if WAITING.load(std::sync::atomic::Ordering::Relaxed) {
        // One RTM_DELLINK takes both ends, as `ip link del` does.
        return delete_now(s, host);
    }
    let retired = retired_name();
    let (h, r) = (host.to_string(), retired.clone());
    let host_done = s.run(&crate::plan::NsRef::Host, move |c| {
        c.block_on(super::netlink::down_and_rename(&c.handle(), &h, &r))
            .map_err(|e| Error::runtime(super::netlink::describe(&e)))
    });
    match host_done {
        Ok(false) => return Ok(()), // already gone, and its peer with it
        Ok(true) => {}
        Err(_) => return delete_now(s, host),
    }
    if let Some(path) = peer_ns.path()
        && path.symlink_metadata().is_ok()
    {
        let (p, r) = (peer.to_string(), retired_name());
        let peer_done = s.run(peer_ns, move |c| {
            c.block_on(super::netlink::down_and_rename(&c.handle(), &p, &r))
                .map_err(|e| Error::runtime(super::netlink::describe(&e)))
        });
        if peer_done.is_err() {
            return delete_now(s, &retired);
        }
    }
    defer_link(retired);
    Ok(())
}

fn delete_now(s: &mut super::netlink::Session, dev: &str) -> Result<()> {
    s.exec(&crate::plan::Op::DeleteLink {
        ns: crate::plan::NsRef::Host,
        dev: dev.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retired_names_are_unique_valid_link_names_and_recognised() {
        let a = retired_name();
        let b = retired_name();
        assert_ne!(a, b);
        assert!(a.len() <= 15, "{a}");
        assert!(is_retired(&a) && is_retired(&b), "{a} {b}");
        for other in ["eth0", "cn-lab", "cnv9d434ee6", "cnrzzzzzzzzzzzz", "cnr0"] {
            assert!(!is_retired(other), "{other}");
        }
    }
}
