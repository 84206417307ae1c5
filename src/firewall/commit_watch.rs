//! Knowing when an nf_tables transaction is committed, without waiting for its process to exit.
//!
//! `iptables-restore` (nf_tables backend) is done for the user once the kernel has committed its
//! transactions: the rules are then in, or out of, the packet path. Its exit comes later: when
//! rules were deleted, closing its NETLINK_NETFILTER socket waits for the kernel to free them
//! after an RCU grace period (NETLINK_URELEASE -> nf_tables_trans_destroy_flush_work), 8-35 ms.
//!
//! The kernel announces every committed transaction to the NFNLGRP_NFTABLES multicast group
//! with an NFT_MSG_NEWGEN message whose `nlmsg_pid` is the netlink port of the committing
//! socket (`nf_tables_gen_notify`). iptables-restore's libmnl socket is autobound, so its port
//! is its pid, as seen in its own pid namespace (checked: also inside a pid namespace). It sends
//! one transaction per `COMMIT` block that changes something (an empty block sends none), and
//! nothing after its last one. A socket filter keeps everything but NEWGEN out of our queue, so
//! the other notifications (one per rule) cannot overflow it.
//!
//! Closing this socket blocks just like iptables-restore's (it is bound, so its release flushes
//! the same freeing): whoever returns early hands it on to be closed later ([`CommitWatch::into_fd`]).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// `nlmsg_type` of NFT_MSG_NEWGEN: subsystem NFNL_SUBSYS_NFTABLES (10) << 8 | message 15.
const NFT_MSG_NEWGEN: u16 = (10 << 8) | 15;
/// The nfnetlink multicast group of nf_tables notifications (`NFNLGRP_NFTABLES`).
const NFNLGRP_NFTABLES: libc::c_int = 7;
/// `sizeof(struct nlmsghdr)`.
const NLMSG_HDRLEN: usize = 16;

/// A NETLINK_NETFILTER socket subscribed to nf_tables' commit notifications.
pub struct CommitWatch {
    fd: OwnedFd,
}

impl CommitWatch {
    /// `None` when not available (no nf_tables, no CAP_NET_ADMIN): callers then wait for exit.
    /// Open it before starting the process to watch, so that none of its commits is missed.
    pub fn open() -> Option<CommitWatch> {
        Self::try_open().ok()
    }

    fn try_open() -> io::Result<CommitWatch> {
        // SAFETY: plain socket(2); the descriptor is owned right away.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_NETFILTER,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // The filter first, so that nothing unfiltered is queued once subscribed.
        let filter = newgen_filter();
        let prog = libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_ptr() as *mut libc::sock_filter,
        };
        setsockopt(&fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &prog)?;
        // Bound (autobind): an unbound netlink socket receives no multicast.
        // SAFETY: an all-zero sockaddr_nl is valid (port 0 = let the kernel choose).
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: bind(2) with a properly sized sockaddr_nl.
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        // EPERM without CAP_NET_ADMIN.
        setsockopt(
            &fd,
            libc::SOL_NETLINK,
            libc::NETLINK_ADD_MEMBERSHIP,
            &NFNLGRP_NFTABLES,
        )?;
        Ok(CommitWatch { fd })
    }

    /// Block until `commits` NEWGEN notifications sent from netlink port `portid` arrived
    /// (`Ok(true)`), or until `stop` (the process's stderr pipe) is readable or hung up, or
    /// notifications were lost (ENOBUFS): `Ok(false)`, the caller then waits for the exit.
    /// Pending notifications are read before `stop` is looked at: a process that committed and
    /// exited at once still counts as committed.
    pub fn wait_for(&mut self, portid: u32, commits: usize, stop: BorrowedFd) -> io::Result<bool> {
        let mut seen = 0;
        let mut buf = [0u8; 8192];
        while seen < commits {
            let mut fds = [
                libc::pollfd {
                    fd: self.fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: stop.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: poll(2) on an array of two pollfds we own, no timeout.
            if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if fds[0].revents != 0 {
                loop {
                    // SAFETY: recv(2) into a buffer of the given length.
                    let n = unsafe {
                        libc::recv(
                            self.fd.as_raw_fd(),
                            buf.as_mut_ptr().cast(),
                            buf.len(),
                            libc::MSG_DONTWAIT,
                        )
                    };
                    if n >= 0 {
                        seen += messages(&buf[..n as usize])
                            .filter(|&m| m == (NFT_MSG_NEWGEN, portid))
                            .count();
                        continue;
                    }
                    let e = io::Error::last_os_error();
                    match e.raw_os_error() {
                        Some(libc::EAGAIN) => break,
                        Some(libc::EINTR) => continue,
                        // Notifications were dropped: the count can no longer be trusted.
                        Some(libc::ENOBUFS) => return Ok(false),
                        _ => return Err(e),
                    }
                }
            } else if fds[1].revents != 0 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The socket, for someone who may block to close later.
    pub fn into_fd(self) -> OwnedFd {
        self.fd
    }
}

/// `(nlmsg_type, nlmsg_pid)` of each netlink message in a received datagram; a truncated or
/// malformed tail ends the walk.
fn messages(buf: &[u8]) -> impl Iterator<Item = (u16, u32)> + '_ {
    let mut rest = buf;
    std::iter::from_fn(move || {
        let hdr = rest.get(..NLMSG_HDRLEN)?;
        let len = u32::from_ne_bytes(hdr[0..4].try_into().ok()?) as usize;
        if len < NLMSG_HDRLEN || len > rest.len() {
            return None;
        }
        let ty = u16::from_ne_bytes(hdr[4..6].try_into().ok()?);
        let pid = u32::from_ne_bytes(hdr[12..16].try_into().ok()?);
        // Messages are 4-byte aligned (NLMSG_ALIGN); the last one may lack its padding.
        rest = rest.get(len.next_multiple_of(4)..).unwrap_or(&[]);
        Some((ty, pid))
    })
}

/// A classic BPF socket filter that accepts datagrams whose first message is NEWGEN and drops
/// the rest. The kernel sends NEWGEN in a datagram of its own (the per-rule notifications are
/// batched in others). BPF loads are big-endian, hence the byte swap of the native type.
fn newgen_filter() -> [libc::sock_filter; 4] {
    let op = |code: u32, jt: u8, jf: u8, k: u32| libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    };
    let newgen_as_loaded = u16::from_be_bytes(NFT_MSG_NEWGEN.to_ne_bytes()) as u32;
    [
        op(libc::BPF_LD | libc::BPF_H | libc::BPF_ABS, 0, 0, 4), // nlmsg_type
        op(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            0,
            1,
            newgen_as_loaded,
        ),
        op(libc::BPF_RET | libc::BPF_K, 0, 0, u32::MAX),
        op(libc::BPF_RET | libc::BPF_K, 0, 0, 0),
    ]
}

fn setsockopt<T>(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, val: &T) -> io::Result<()> {
    // SAFETY: `val` points to a live T of the given size.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (val as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! On hand-built datagrams, through a Unix datagram socket pair standing in for netlink:
    //! no netfilter socket is opened (that would subscribe to the host's notifications).
    use super::*;
    use std::io::Write;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixDatagram;

    fn msg(ty: u16, pid: u32, payload: usize) -> Vec<u8> {
        let len = NLMSG_HDRLEN + payload;
        let mut m = Vec::new();
        m.extend((len as u32).to_ne_bytes());
        m.extend(ty.to_ne_bytes());
        m.extend(0u16.to_ne_bytes()); // flags
        m.extend(7u32.to_ne_bytes()); // seq
        m.extend(pid.to_ne_bytes());
        m.resize(len.next_multiple_of(4), 0xaa);
        m
    }

    #[test]
    fn every_message_of_a_datagram_is_read_and_a_bad_tail_ends_the_walk() {
        let newrule = (10 << 8) | 6;
        let mut buf = [
            msg(newrule, 41, 5),
            msg(NFT_MSG_NEWGEN, 42, 20),
            msg(2, 0, 0),
        ]
        .concat();
        assert_eq!(
            messages(&buf).collect::<Vec<_>>(),
            [(newrule, 41), (NFT_MSG_NEWGEN, 42), (2, 0)]
        );
        // A last message without its padding still counts.
        assert_eq!(messages(&msg(NFT_MSG_NEWGEN, 1, 5)[..21]).count(), 1);
        // Truncated: a length beyond the datagram, or shorter than a header.
        buf.truncate(buf.len() - 1);
        assert_eq!(messages(&buf).count(), 2);
        assert_eq!(messages(&msg(NFT_MSG_NEWGEN, 1, 0)[..10]).count(), 0);
        let mut zero = msg(NFT_MSG_NEWGEN, 1, 0);
        zero[..4].copy_from_slice(&0u32.to_ne_bytes());
        assert_eq!(messages(&zero).count(), 0);
    }

    fn watch() -> (CommitWatch, UnixDatagram) {
        let (ours, theirs) = UnixDatagram::pair().unwrap();
        (CommitWatch { fd: ours.into() }, theirs)
    }

    #[test]
    fn waits_for_all_commits_of_its_port_only() {
        let (mut w, kernel) = watch();
        let (stderr, _stderr_writer) = std::io::pipe().unwrap();
        kernel.send(&msg(NFT_MSG_NEWGEN, 99, 8)).unwrap(); // another process's commit
        kernel
            .send(&[msg((10 << 8) | 8, 42, 8), msg(NFT_MSG_NEWGEN, 42, 8)].concat())
            .unwrap();
        kernel.send(&msg(NFT_MSG_NEWGEN, 42, 8)).unwrap();
        assert!(w.wait_for(42, 2, stderr.as_fd()).unwrap());
    }

    #[test]
    fn stops_when_the_process_writes_stderr_or_exits() {
        let (mut w, kernel) = watch();
        let (stderr, mut writer) = std::io::pipe().unwrap();
        kernel.send(&msg(NFT_MSG_NEWGEN, 42, 8)).unwrap();
        writer
            .write_all(b"iptables-restore: line 6 failed")
            .unwrap();
        assert!(!w.wait_for(42, 2, stderr.as_fd()).unwrap());

        let (stderr, writer) = std::io::pipe().unwrap();
        drop(writer);
        assert!(!w.wait_for(42, 1, stderr.as_fd()).unwrap());
        // Notifications already queued win over the hang-up.
        kernel.send(&msg(NFT_MSG_NEWGEN, 42, 8)).unwrap();
        assert!(w.wait_for(42, 1, stderr.as_fd()).unwrap());
    }
}
