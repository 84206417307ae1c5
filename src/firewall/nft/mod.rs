//! cnet's nftables table (`table inet cnet`, `firewall::inet` has the layout), spoken over
//! NETLINK_NETFILTER from this process: networks, published ports and the overlays' ingress
//! filter as elements of its sets. A net create, an attach or detach with ports is one
//! transaction of a few hundred bytes, with no `nft`/`iptables` process and no listing of what
//! is there.

mod cnet_rules;
mod cnet_table;
pub mod listing;
mod published_table;
mod set_ids;
mod tunnel_table;

pub use cnet_table::NetSets;
pub use published_table::PublishedTable;
pub use tunnel_table::TunnelTable;

/// The table's name (family inet).
pub const TABLE: &str = crate::firewall::inet::TABLE;

use crate::error::{Error, Result};
use netlink_packet_core::{
    DefaultNla, Emitable, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NetlinkBuffer,
    NetlinkMessage,
};
use netlink_packet_netfilter::nftables::{
    DataAttribute, ExpressionAttribute, Expressions, ListAttribute, Lookup, NfTablesMessage,
    Payload, Register, RuleAttribute, RuleMessage, SetElementAttribute, SetElementList,
    SetElementMessage, TableAttribute, TableMessage,
};
use netlink_packet_netfilter::none::ControlMessage;
use netlink_packet_netfilter::{NetfilterHeader, NetfilterMessage, NetfilterProtoFamily};
use netlink_sys::{Socket, protocols::NETLINK_NETFILTER};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

mod messages;

use crate::firewall::inet::NetElement;
use crate::firewall::published::PortEntry;
use crate::firewall::tunnel::TunnelEntry;
use messages::*;

/// Elements of some of the table's sets: what they are (for errors), how they go in and out.
pub trait NftElements {
    type Entry;
    const HOLDS: &'static str;
    fn elements(add: bool, entries: &[Self::Entry]) -> Vec<Request>;
    fn entry_text(e: &Self::Entry) -> String;
}

/// A kernel refusal (its errno): the whole batch was refused.
#[derive(Debug)]
struct Refused {
    errno: i32,
}

impl Refused {
    fn text(&self) -> String {
        std::io::Error::from_raw_os_error(self.errno).to_string()
    }
}

/// A NETLINK_NETFILTER socket in cnet's namespace.
pub struct Nft {
    socket: Socket,
    seq: u32,
    /// Whether a transaction deleted anything (elements or the table): its close then waits
    /// for the kernel to free it (`Drop`).
    deleted: bool,
}

impl Nft {
    pub fn open() -> Result<Nft> {
        let mut socket = Socket::new(NETLINK_NETFILTER)
            .map_err(|e| Error::runtime(format!("nftables: cannot open a netlink socket: {e}")))?;
        socket
            .bind_auto()
            .map_err(|e| Error::runtime(format!("nftables: cannot bind a netlink socket: {e}")))?;
        // The kernel answers at once; a missing answer is an error, never a hang.
        let timeout = libc::timeval {
            tv_sec: 10,
            tv_usec: 0,
        };
        // SAFETY: setsockopt on a socket we own, with a pointer to a live timeval of its size.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&timeout as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(Error::runtime(format!(
                "nftables: cannot set a receive timeout: {}",
                std::io::Error::last_os_error()
            )));
        }
        Ok(Nft {
            socket,
            seq: 0,
            deleted: false,
        })
    }

    fn next_seq(&mut self) -> u32 {
        self.seq += 1;
        self.seq
    }

    fn message(
        &mut self,
        inner: impl Into<netlink_packet_netfilter::NetfilterMessageInner>,
        family: NetfilterProtoFamily,
        res_id: u16,
        flags: u16,
    ) -> (u32, Vec<u8>) {
        let mut msg = NetlinkMessage::from(NetfilterMessage::new(
            NetfilterHeader::new(family, 0, res_id),
            inner,
        ));
        let seq = self.next_seq();
        msg.header.flags = flags;
        msg.header.sequence_number = seq;
        msg.finalize();
        let mut buf = vec![0; msg.buffer_len()];
        msg.emit(&mut buf);
        (seq, buf)
    }

    /// Send `requests` as one transaction; every one is acknowledged (or refused: then the
    /// kernel applies none of them).
    fn transact(&mut self, requests: Vec<Request>) -> std::result::Result<(), Refused> {
        self.transact_in(NetfilterProtoFamily::Inet, requests)
    }

    /// [`Nft::transact`] for tables of another family.
    fn transact_in(
        &mut self,
        family: NetfilterProtoFamily,
        requests: Vec<Request>,
    ) -> std::result::Result<(), Refused> {
        let (begin, mut batch) = self.message(
            ControlMessage::BatchBegin,
            NetfilterProtoFamily::Unspec,
            NFNL_SUBSYS_NFTABLES,
            NLM_F_REQUEST,
        );
        let mut waiting = Vec::new();
        for (msg, flags) in requests {
            let (seq, bytes) = self.message(msg, family, 0, NLM_F_REQUEST | NLM_F_ACK | flags);
            waiting.push(seq);
            batch.extend(bytes);
        }
        let (end_seq, end) = self.message(
            ControlMessage::BatchEnd,
            NetfilterProtoFamily::Unspec,
            NFNL_SUBSYS_NFTABLES,
            NLM_F_REQUEST,
        );
        batch.extend(end);
        self.fit_buffers(batch.len(), waiting.len());
        self.send(&batch)?;
        let mut refused = None;
        self.receive(|seq, kind, payload| {
            // Answers left over from an earlier transaction (sequence numbers only grow).
            if seq < begin {
                return true;
            }
            if kind == NLMSG_ERROR {
                let errno = error_code(payload);
                if errno != 0 && refused.is_none() {
                    refused = Some(Refused { errno });
                }
                // A refused batch as a whole (no nf_tables, no permission) is answered on its
                // begin or end message alone: nothing else will come.
                if errno != 0 && (seq == begin || seq == end_seq) {
                    return false;
                }
                waiting.retain(|s| *s != seq);
            }
            !waiting.is_empty()
        })?;
        refused.map_or(Ok(()), Err)
    }

    /// Make the socket's buffers big enough for a large batch (a reload of many published
    /// ports), as nft does: the kernel refuses a batch bigger than the send buffer, and drops
    /// acknowledgements that do not fit the receive buffer. Small batches (every attach and
    /// detach) keep the default buffers and pay no system call.
    fn fit_buffers(&mut self, batch_len: usize, acks: usize) {
        const DEFAULT_FITS: usize = 128 * 1024;
        // Room for one small acknowledgement, with the kernel's bookkeeping.
        const ACK_TRUESIZE: usize = 2048;
        for (size, force, plain) in [
            (batch_len + 4096, libc::SO_SNDBUFFORCE, libc::SO_SNDBUF),
            (acks * ACK_TRUESIZE, libc::SO_RCVBUFFORCE, libc::SO_RCVBUF),
        ] {
            if size > DEFAULT_FITS {
                // Without CAP_NET_ADMIN only up to the system's maximum; then the batch is
                // refused with a clear errno rather than half taken.
                if !self.set_buffer(force, size) {
                    self.set_buffer(plain, size);
                }
            }
        }
    }

    fn set_buffer(&self, option: libc::c_int, size: usize) -> bool {
        let value = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
        // SAFETY: setsockopt on a socket we own, with a pointer to a live int of its size.
        let rc = unsafe {
            libc::setsockopt(
                self.socket.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        rc == 0
    }

    fn send(&mut self, bytes: &[u8]) -> std::result::Result<(), Refused> {
        self.socket.send(bytes, 0).map(|_| ()).map_err(|e| Refused {
            errno: e.raw_os_error().unwrap_or(libc::EIO),
        })
    }

    /// Read replies, handing each (seq, type, payload) to `more` until it returns false.
    fn receive(
        &mut self,
        mut more: impl FnMut(u32, u16, &[u8]) -> bool,
    ) -> std::result::Result<(), Refused> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = self
                .socket
                .recv(&mut &mut buf[..], 0)
                .map_err(|e| Refused {
                    errno: e.raw_os_error().unwrap_or(libc::EIO),
                })?;
            let mut at = 0;
            while at + 16 <= n {
                let Ok(nl) = NetlinkBuffer::new_checked(&buf[at..n]) else {
                    return Err(Refused {
                        errno: libc::EBADMSG,
                    });
                };
                let len = nl.length() as usize;
                if !more(nl.sequence_number(), nl.message_type(), nl.payload()) {
                    return Ok(());
                }
                at += len.div_ceil(4) * 4;
            }
        }
    }

    /// Whether this kernel speaks nf_tables (and lets us): a socket, and an answer to a
    /// table lookup other than "no such protocol".
    pub fn available() -> bool {
        static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *AVAILABLE.get_or_init(|| {
            let Ok(mut nft) = Nft::open() else {
                return false;
            };
            !matches!(
                nft.lookup_table(),
                Err(Refused { errno }) if [libc::EPROTONOSUPPORT, libc::EAFNOSUPPORT, libc::EOPNOTSUPP, libc::EINVAL].contains(&errno)
            )
        })
    }

    /// Whether the table is there.
    pub fn table_exists(&mut self) -> Result<bool> {
        self.lookup_table()
            .map_err(|r| refused(format!("read table inet {TABLE}"), &r))
    }

    fn lookup_table(&mut self) -> std::result::Result<bool, Refused> {
        self.lookup_table_in(NetfilterProtoFamily::Inet, TABLE)
    }

    fn lookup_table_in(
        &mut self,
        family: NetfilterProtoFamily,
        name: &str,
    ) -> std::result::Result<bool, Refused> {
        let (seq, bytes) = self.message(
            NfTablesMessage::GetTable(TableMessage {
                attributes: vec![TableAttribute::Name(name.into())],
            }),
            family,
            0,
            NLM_F_REQUEST | NLM_F_ACK,
        );
        self.send(&bytes)?;
        let mut found = false;
        let mut errno = 0;
        self.receive(|s, kind, payload| {
            if s != seq {
                return true;
            }
            match kind {
                NEWTABLE_REPLY => {
                    found = true;
                    true
                }
                NLMSG_ERROR => {
                    errno = error_code(payload);
                    false
                }
                NLMSG_DONE => false,
                _ => true,
            }
        })?;
        match errno {
            0 => Ok(found),
            libc::ENOENT => Ok(false),
            e => Err(Refused { errno: e }),
        }
    }

    /// Create the table (sets and chains) unless it is there.
    pub fn ensure_table(&mut self) -> Result<()> {
        if self.table_exists()? {
            return Ok(());
        }
        match self.transact(cnet_table::create()) {
            Ok(()) => Ok(()),
            // Made meanwhile by someone else: it is there.
            Err(r) if r.errno == libc::EEXIST => Ok(()),
            Err(r) => Err(refused(format!("create table inet {TABLE}"), &r)),
        }
    }

    /// A network's elements in, the table made first in the same transaction when
    /// `create_table`: all or nothing.
    pub fn add_network(&mut self, create_table: bool, entries: &[NetElement]) -> Result<()> {
        let mut requests = if create_table {
            cnet_table::create()
        } else {
            Vec::new()
        };
        requests.extend(NetSets::elements(true, entries));
        if requests.is_empty() {
            return Ok(());
        }
        match self.transact(requests) {
            Ok(()) => Ok(()),
            // Someone made the table meanwhile: the elements alone.
            Err(r) if create_table && r.errno == libc::EEXIST => self.add::<NetSets>(entries),
            Err(r) => Err(refused(format!("add networks to table inet {TABLE}"), &r)),
        }
    }

    /// Add entries; all or none of them are in the sets afterwards. The table is made by
    /// `net create`; should it be gone (an `nft flush ruleset`), it is made again here rather
    /// than looked for on every attach.
    pub fn add<T: NftElements>(&mut self, entries: &[T::Entry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut result = self.transact(T::elements(true, entries));
        if matches!(&result, Err(r) if r.errno == libc::ENOENT) {
            self.ensure_table()?;
            result = self.transact(T::elements(true, entries));
        }
        result.map_err(|r| refused(format!("add {} to table inet {TABLE}", T::HOLDS), &r))
    }

    /// Remove entries; those not there count as removed (so does a missing table).
    pub fn remove<T: NftElements>(&mut self, entries: &[T::Entry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        self.deleted = true;
        match self.transact(T::elements(false, entries)) {
            Ok(()) => return Ok(()),
            Err(r) if r.errno != libc::ENOENT => {
                return Err(refused(
                    format!("remove {} from table inet {TABLE}", T::HOLDS),
                    &r,
                ));
            }
            Err(_) => {}
        }
        // Some entry (or the table) is gone: the batch was refused whole; one by one.
        for e in entries {
            match self.transact(T::elements(false, std::slice::from_ref(e))) {
                Ok(()) => {}
                Err(r) if r.errno == libc::ENOENT => {}
                Err(r) => {
                    return Err(refused(
                        format!("remove {} from table inet {TABLE}", T::entry_text(e)),
                        &r,
                    ));
                }
            }
        }
        Ok(())
    }

    /// Make the table hold exactly these, in one transaction (a reload); the admin's chain
    /// keeps its rules.
    pub fn replace(
        &mut self,
        networks: &[NetElement],
        tunnels: &[TunnelEntry],
        ports: &[PortEntry],
    ) -> Result<()> {
        let mut elements = NetSets::elements(true, networks);
        elements.extend(TunnelTable::elements(true, tunnels));
        elements.extend(PublishedTable::elements(true, ports));
        self.deleted = true;
        self.transact(cnet_table::rebuild(elements))
            .map_err(|r| refused(format!("reload table inet {TABLE}"), &r))
    }

    /// Delete the table (when nothing needs it any more); a missing one is fine.
    pub fn drop_table(&mut self) -> Result<()> {
        self.deleted = true;
        match self.transact(vec![delete_table(TABLE)]) {
            Ok(()) => Ok(()),
            Err(r) if r.errno == libc::ENOENT => Ok(()),
            Err(r) => Err(refused(format!("delete table inet {TABLE}"), &r)),
        }
    }
}

impl Drop for Nft {
    /// Closing a netfilter socket waits for the kernel to free whatever any transaction
    /// deleted (an RCU grace period): that is left to the background (`kernel::reclaim`).
    fn drop(&mut self) {
        // SAFETY: dup of a descriptor this socket owns; the copy is owned right away.
        let copy = unsafe { libc::dup(self.socket.as_raw_fd()) };
        if copy >= 0 {
            // SAFETY: `copy` is a fresh descriptor nobody else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(copy) };
            if self.deleted {
                crate::deferred::defer_fd(fd);
            } else {
                crate::deferred::defer_fd_that_freed_nothing(fd);
            }
        }
    }
}

/// A refused transaction as cnet's error: "nftables: cannot WHAT: the kernel's reason".
fn refused(what: String, r: &Refused) -> Error {
    Error::runtime(format!("nftables: cannot {what}: {}", r.text()))
}

/// The errno of an NLMSG_ERROR payload (0 for an acknowledgement).
fn error_code(payload: &[u8]) -> i32 {
    payload
        .get(..4)
        .map(|b| -i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .unwrap_or(libc::EBADMSG)
}

#[cfg(test)]
/// What kind of request a message is, for the tables' tests.
fn kind(m: &NfTablesMessage) -> &'static str {
    match m {
        NfTablesMessage::NewTable(_) => "table",
        NfTablesMessage::NewSet(_) => "set",
        NfTablesMessage::NewChain(_) => "chain",
        NfTablesMessage::NewRule(_) => "rule",
        NfTablesMessage::NewSetElement(_) => "add",
        NfTablesMessage::DeleteSetElement(_) => "delete",
        _ => "other",
    }
}
