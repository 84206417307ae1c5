//! Kernel work that a command need not wait for.
//!
//! Deleting a veth pair, or closing a netfilter netlink socket after rules were deleted (by
//! this process or, just before, by any other), blocks the caller for an RCU grace period
//! (~20-30 ms here) while the kernel frees what is already out of use. A detach is done for its
//! user once the namespace is cut off: its links are down and renamed out of the way, its rules
//! are out of the ruleset, its lease is released. What is left is only the freeing, which a
//! child process does after cnet has returned: the links to delete and the sockets whose
//! closing blocks are handed to it ([`finish`]).
//!
//! The child is a fork of the cnet process, without an exec: the parent goes on at once, and
//! the child starts no program. It waits until the parent has closed its copies of the
//! handed-over sockets (end of file on a pipe), deletes the links, and exits, which closes the
//! sockets last.
//!
//! A command that waits for the kernel (`--wait`, `net rm`, `net rm --force`...) retires its
//! pairs all the same and deletes them when it ends, in one batch: one grace period for all of
//! them, not one each. `lab down` retires a whole lab, bridges included, and leaves that one
//! batch to the child as `ns rm` does.

use crate::error::{Error, Result};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use crate::deferred::Pending;
pub use crate::deferred::{defer_link, waiting};

/// A name for a link that is being retired: unique, ≤ 15 bytes, recognisably cnet's ("cnr"),
/// and naming the pair it retires ([`retired_prefix`]), so that a command that finds the pair
/// gone can still find what a killed command retired but never deleted.
pub fn retired_name(host: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let mix = std::process::id() ^ nanos ^ seq.rotate_left(16);
    format!("{}{:04x}", retired_prefix(host), mix & 0xffff)
}

/// Whether a link name is one [`retired_name`] makes.
pub fn is_retired(name: &str) -> bool {
    name.len() == 15 && name.starts_with("cnr") && name[3..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The first 11 bytes of the names the pair of host end `host` is retired under: "cnr" and the
/// 8 hex digits of `host` (`cnvXXXXXXXX`), or of a hash of any other name.
pub fn retired_prefix(host: &str) -> String {
    match host.strip_prefix("cnv") {
        Some(hex) if hex.len() == 8 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            format!("cnr{hex}")
        }
        _ => format!("cnr{:08x}", crate::names::stable_hash(&[host]) as u32),
    }
}

/// Finish the deferred work: now, when the command waits ([`set_waiting`]: its `--wait`, or a
/// command whose user expects the kernel settled, like `net rm`), else in a child process left
/// running. Sockets that freed nothing go to the child either way.
pub fn finish() -> Result<()> {
    let Pending {
        mut links,
        mut fds,
        fds_freeing_nothing,
    } = crate::deferred::take();
    let mut result = Ok(());
    if waiting() {
        result = delete_links(&std::mem::take(&mut links));
        drop(std::mem::take(&mut fds));
    }
    fds.extend(fds_freeing_nothing);
    if links.is_empty() && fds.is_empty() {
        return result;
    }
    if let Ok(go) = fork_reclaimer(&links, &fds) {
        // The child holds its own copies: closing ours does not block (its last close will).
        // Only then may it go on, so that it never closes before we do: EOF on its pipe.
        drop(fds);
        drop(go);
        return result;
    }
    let deleted = delete_links(&links);
    drop(fds);
    result.and(deleted)
}

/// Fork the reclaimer; returns the pipe's write end, whose closing lets it go on.
fn fork_reclaimer(links: &[String], fds: &[OwnedFd]) -> std::io::Result<OwnedFd> {
    use nix::unistd::{ForkResult, fork};
    let (go_read, go_write) = nix::unistd::pipe()?;
    let mut keep: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
    keep.push(go_read.as_raw_fd());
    keep.sort_unstable();
    // SAFETY: cnet is single-threaded here (its runtime runs on the calling thread and its
    // one helper thread has been joined), so the child inherits no lock another thread holds.
    match unsafe { fork() }.map_err(std::io::Error::from)? {
        ForkResult::Parent { .. } => Ok(go_write),
        ForkResult::Child => {
            drop(go_write);
            detach_from_caller(&keep);
            let mut go = std::fs::File::from(go_read);
            let mut sink = [0u8; 64];
            while matches!(std::io::Read::read(&mut go, &mut sink), Ok(n) if n > 0) {}
            let _ = delete_links(links);
            // Straight out: none of the parent's destructors or exit handlers run twice.
            // SAFETY: _exit ends the process; nothing after it runs.
            unsafe { libc::_exit(0) }
        }
    }
}

/// In the forked child: out of the caller's way. Its own process group (a Ctrl-C at the shell
/// does not stop the freeing), standard streams on /dev/null (a caller reading cnet's output
/// through a pipe sees its end when cnet exits, not when the freeing ends), and every other
/// descriptor but `keep` closed. `keep` is above 2: cnet's `main` opens /dev/null on any
/// standard descriptor it was started without, so no socket or pipe of cnet's has those numbers.
fn detach_from_caller(keep: &[RawFd]) {
    let _ = nix::unistd::setpgid(nix::unistd::Pid::from_raw(0), nix::unistd::Pid::from_raw(0));
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for std_fd in 0..3 {
            // SAFETY: dup2 onto the standard descriptors, which this process owns.
            unsafe { libc::dup2(null.as_raw_fd(), std_fd) };
        }
    }
    let mut first: libc::c_uint = 3;
    for &k in keep.iter().chain(std::iter::once(&RawFd::MAX)) {
        let k = k as libc::c_uint;
        if k > first {
            // SAFETY: closes descriptors of this (child) process that nothing in it uses.
            unsafe { libc::syscall(libc::SYS_close_range, first, k - 1, 0) };
        }
        first = first.max(k.saturating_add(1));
    }
}

/// Delete links of the host namespace by name, all in one batch (one wait for the kernel)
/// when there are several; those already gone count as deleted.
pub fn delete_links(links: &[String]) -> Result<()> {
    if links.is_empty() {
        return Ok(());
    }
    let mut s = super::netlink::Session::new();
    if links.len() > 1 {
        let together = s.run(&crate::plan::NsRef::Host, |c| {
            super::netlink::delete_together(c, links)
                .map_err(|e| Error::runtime(super::netlink::describe(&e)))
        });
        if together.is_ok() {
            return Ok(());
        }
    }
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
    // Retired even when the command waits for the kernel: the pairs it retires are then
    // deleted together when it ends ([`finish`]), one wait for them all.
    let retired = retired_name(host);
    let host_done = s.run(&crate::plan::NsRef::Host, |c| {
        super::netlink::down_and_rename_owned(c, host, &retired)
            .map_err(|e| Error::runtime(super::netlink::describe(&e)))
    });
    match host_done {
        // Already gone, and its peer with it; but a command killed after retiring it (this
        // step completed by the next one) left it under its retired name.
        Ok(false) => return delete_retired_of(s, host),
        Ok(true) => {}
        Err(_) => return delete_now(s, host),
    }
    if let Some(path) = peer_ns.path()
        && path.symlink_metadata().is_ok()
    {
        let peer_done = s.run(peer_ns, |c| {
            super::netlink::down_and_rename(c, peer, &retired_name(host))
                .map_err(|e| Error::runtime(super::netlink::describe(&e)))
        });
        if peer_done.is_err() {
            return delete_now(s, &retired);
        }
    }
    defer_link(retired);
    Ok(())
}

/// Execute an [`Op::DeleteLink`](crate::plan::Op::DeleteLink) of the host's namespace: the
/// link, if it is cnet's, goes down and out of the way of its name (which is free at once),
/// and is deleted with the rest when the command ends ([`finish`]), in the same batch (a
/// bridge's deletion alone waits ~50 ms for the kernel), in the background unless the command
/// waits. A bridge made meanwhile under the old name with the same addresses keeps them and
/// their routes when the retired one is deleted: the kernel removes the routes of the deleted
/// device only.
///
/// Bridges only: a veth's other end would keep its name inside its namespace until then,
/// where a command that goes on (an attach after recovering an interrupted one) must find it
/// free; a VXLAN device, even down and renamed, keeps its VNI and port from a device the same
/// command creates next (a shared overlay's create that lost the race and defines again).
pub fn retire_link(s: &mut super::netlink::Session, dev: &str) -> Result<()> {
    use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkInfo};
    let retired = retired_name(dev);
    let done = s.run(&crate::plan::NsRef::Host, |c| {
        let describe = |e| Error::runtime(super::netlink::describe(&e));
        let Some(link) = super::netlink::get_link(c, dev).map_err(describe)? else {
            return Ok(None);
        };
        let standalone = link.attributes.iter().any(|a| match a {
            LinkAttribute::LinkInfo(info) => info
                .iter()
                .any(|i| matches!(i, LinkInfo::Kind(InfoKind::Bridge))),
            _ => false,
        });
        if !standalone {
            return Err(Error::runtime("deleted at once"));
        }
        super::netlink::down_and_rename_owned(c, dev, &retired)
            .map(Some)
            .map_err(describe)
    });
    match done {
        Ok(Some(true)) => {
            defer_link(retired);
            Ok(())
        }
        Ok(Some(false)) => Ok(()), // not cnet's (said so)
        // Gone; but a command killed after retiring it (this step completed by the next one)
        // left it under its retired name.
        Ok(None) => delete_retired_of(s, dev),
        Err(_) => delete_now(s, dev), // a veth, or a step that failed
    }
}

/// Delete, now, every link of cnet's in the host's namespace retired from pair `host`.
fn delete_retired_of(s: &mut super::netlink::Session, host: &str) -> Result<()> {
    let prefix = retired_prefix(host);
    let mut left = LEFT_RETIRED.lock().unwrap_or_else(|p| p.into_inner());
    if left.is_none() {
        *left = Some(s.run(&crate::plan::NsRef::Host, |c| {
            let links = super::netlink::links(c)
                .map_err(|e| Error::runtime(super::netlink::describe(&e)))?;
            Ok(links
                .iter()
                .filter(|m| super::netlink::is_cnet_link(m))
                .filter_map(|m| super::netlink::name_of(m))
                .filter(|n| is_retired(n))
                .map(String::from)
                .collect::<Vec<_>>())
        })?);
    }
    let all = left.as_mut().expect("listed above");
    let (ours, rest): (Vec<String>, Vec<String>) =
        all.drain(..).partition(|n| n.starts_with(&prefix));
    *all = rest;
    drop(left);
    ours.iter().try_for_each(|dev| delete_now(s, dev))
}

/// The retired links of the host's namespace when this process first looked: what killed
/// commands left (what this process retires, it deletes itself). Listed once per process, not
/// once per pair found gone: a gc of 100 deleted namespaces asks 100 times, and each listing of
/// a host with 1000 links takes ~15 ms.
static LEFT_RETIRED: std::sync::Mutex<Option<Vec<String>>> = std::sync::Mutex::new(None);

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
        let a = retired_name("cnv9d434ee6");
        let b = retired_name("cnv9d434ee6");
        assert_ne!(a, b);
        assert!(a.len() <= 15, "{a}");
        assert!(is_retired(&a) && is_retired(&b), "{a} {b}");
        assert!(a.starts_with("cnr9d434ee6"), "{a}");
        assert!(is_retired(&retired_name("eth0")));
        assert_ne!(retired_prefix("veth-a"), retired_prefix("veth-b"));
        for other in ["eth0", "cn-lab", "cnv9d434ee6", "cnrzzzzzzzzzzzz", "cnr0"] {
            assert!(!is_retired(other), "{other}");
        }
    }
}
