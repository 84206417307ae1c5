//! A blocking rtnetlink socket, driven on the calling thread as iproute2 drives its own.
//!
//! A cnet command is a short-lived process making a handful of requests in order, each
//! answered before the next depends on it. A request is one `send` and its answer one or a few
//! `recv`s; there is no runtime, reactor or task in between. The kernel handles an rtnetlink
//! request inside `send` itself, so requests sent back to back without reading their acks are
//! applied one by one, in order ([`Conn::send_acked`], then [`Conn::wait_ack`]).

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_MULTIPART, NLM_F_REQUEST,
    NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::Socket;
use netlink_sys::protocols::NETLINK_ROUTE;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::os::fd::AsRawFd;

/// A failed request: the kernel's errno, or trouble on the socket itself.
#[derive(Debug)]
pub enum NlError {
    /// The kernel answered with this (positive) errno.
    Kernel(i32),
    /// Sending or receiving failed.
    Io(std::io::Error),
    /// An answer that could not be decoded.
    Decode(String),
}

impl NlError {
    /// The kernel's errno, when the kernel refused the request.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NlError::Kernel(n) => Some(*n),
            _ => None,
        }
    }
}

impl fmt::Display for NlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NlError::Kernel(n) => write!(f, "{}", std::io::Error::from_raw_os_error(*n)),
            NlError::Io(e) => write!(f, "netlink socket: {e}"),
            NlError::Decode(m) => write!(f, "cannot decode the kernel's answer: {m}"),
        }
    }
}

impl std::error::Error for NlError {}

pub type NlResult<T> = std::result::Result<T, NlError>;

/// NLM_F_CREATE | NLM_F_EXCL, for [`Conn::ack`]: make the object, and fail if it exists.
pub const CREATE: u16 = NLM_F_CREATE | NLM_F_EXCL;

/// Room for one datagram: the kernel fills dump datagrams up to 32 KiB.
const RECV_BUF: usize = 64 * 1024;

/// An rtnetlink socket of the network namespace of the thread that opened it.
pub struct Conn {
    sock: Socket,
    seq: Cell<u32>,
    buf: RefCell<Vec<u8>>,
}

impl Conn {
    /// Open a socket in the calling thread's network namespace.
    pub fn open() -> std::io::Result<Conn> {
        let sock = Socket::new(NETLINK_ROUTE)?;
        // Acks without a copy of the request: less to read back.
        sock.set_cap_ack(true)?;
        Ok(Conn {
            sock,
            seq: Cell::new(0),
            // Left uninitialised: zeroing 64 KiB would cost more than most commands' requests.
            buf: RefCell::new(Vec::with_capacity(RECV_BUF)),
        })
    }

    /// Send a request with `flags` (NLM_F_REQUEST is added) and return its sequence number.
    fn send(&self, msg: RouteNetlinkMessage, flags: u16) -> NlResult<u32> {
        let seq = self.seq.get().wrapping_add(1);
        self.seq.set(seq);
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = NLM_F_REQUEST | flags;
        req.header.sequence_number = seq;
        req.finalize();
        let mut bytes = vec![0; req.buffer_len()];
        req.serialize(&mut bytes);
        self.sock.send(&bytes, 0).map_err(NlError::Io)?;
        Ok(seq)
    }

    /// Read until the answer to `seq` is complete, handing each message of it to `each`.
    /// Answers to earlier requests nobody waits for any more are skipped.
    fn read_answer(&self, seq: u32, mut each: impl FnMut(RouteNetlinkMessage)) -> NlResult<()> {
        let mut buf = self.buf.borrow_mut();
        loop {
            let n = self.recv(&mut buf)?;
            let mut at = 0;
            while at + 4 <= n {
                let len = u32::from_ne_bytes(buf[at..at + 4].try_into().expect("4 bytes")) as usize;
                if len < 16 || at + len > n {
                    return Err(NlError::Decode(format!("message of {len} bytes")));
                }
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[at..at + len])
                    .map_err(|e| NlError::Decode(e.to_string()))?;
                // Messages are 4-byte aligned in a datagram.
                at += (len + 3) & !3;
                if msg.header.sequence_number != seq {
                    continue;
                }
                let multipart = msg.header.flags & NLM_F_MULTIPART != 0;
                match msg.payload {
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(()),
                            Some(c) => Err(NlError::Kernel(c.get().abs())),
                        };
                    }
                    NetlinkPayload::Done(_) => return Ok(()),
                    NetlinkPayload::InnerMessage(m) => {
                        each(m);
                        if !multipart {
                            return Ok(());
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Receive one datagram into `buf`, replacing what it held.
    fn recv(&self, buf: &mut Vec<u8>) -> NlResult<usize> {
        buf.clear();
        loop {
            let room = buf.spare_capacity_mut();
            let cap = room.len();
            // SAFETY: recv writes at most `cap` bytes into the vector's spare capacity. With
            // MSG_TRUNC it returns the datagram's full length, so a cut one is noticed.
            let n = unsafe {
                libc::recv(
                    self.sock.as_raw_fd(),
                    room.as_mut_ptr().cast(),
                    cap,
                    libc::MSG_TRUNC,
                )
            };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(NlError::Io(e));
            }
            let n = n as usize;
            if n > cap {
                return Err(NlError::Decode(format!("a datagram of {n} bytes")));
            }
            // SAFETY: the kernel initialised the first n bytes.
            unsafe { buf.set_len(n) };
            return Ok(n);
        }
    }

    /// A request answered by an ack: `flags` are added to NLM_F_REQUEST | NLM_F_ACK
    /// ([`CREATE`] to create, say).
    pub fn ack(&self, msg: RouteNetlinkMessage, flags: u16) -> NlResult<()> {
        let seq = self.send_acked(msg, flags)?;
        self.wait_ack(seq)
    }

    /// Send a request answered by an ack without waiting for it; [`Conn::wait_ack`] reads it.
    /// The kernel has applied the request when this returns.
    pub fn send_acked(&self, msg: RouteNetlinkMessage, flags: u16) -> NlResult<u32> {
        self.send(msg, NLM_F_ACK | flags)
    }

    /// The ack of a request sent with [`Conn::send_acked`]: wait for them in the order sent.
    pub fn wait_ack(&self, seq: u32) -> NlResult<()> {
        self.read_answer(seq, |_| {})
    }

    /// A get request answered by one object (`ip link show dev X`); `None` when the kernel
    /// answers ENODEV (no such link).
    pub fn get(&self, msg: RouteNetlinkMessage) -> NlResult<Option<RouteNetlinkMessage>> {
        let seq = self.send(msg, 0)?;
        let mut out = None;
        match self.read_answer(seq, |m| out = Some(m)) {
            Ok(()) => Ok(out),
            Err(NlError::Kernel(libc::ENODEV)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A dump request: every object of the kind `msg` asks for.
    pub fn dump(&self, msg: RouteNetlinkMessage) -> NlResult<Vec<RouteNetlinkMessage>> {
        let seq = self.send(msg, NLM_F_DUMP)?;
        let mut out = Vec::new();
        self.read_answer(seq, |m| out.push(m))?;
        Ok(out)
    }

    /// The index of a link by name (`None`: no such link), from one SIOCGIFINDEX ioctl on this
    /// socket: it answers for the socket's namespace, with no message to build or decode.
    pub fn index(&self, name: &str) -> NlResult<Option<u32>> {
        let bytes = name.as_bytes();
        if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
            return Ok(None);
        }
        // SAFETY: ifreq is plain old data; all zeroes is a valid value.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        for (d, s) in req.ifr_name.iter_mut().zip(bytes) {
            *d = *s as libc::c_char;
        }
        // SAFETY: SIOCGIFINDEX reads ifr_name and writes ifr_ifindex of the ifreq given.
        let r = unsafe { libc::ioctl(self.sock.as_raw_fd(), libc::SIOCGIFINDEX as _, &mut req) };
        if r == 0 {
            // SAFETY: the kernel filled the union's ifindex member.
            return Ok(Some(unsafe { req.ifr_ifru.ifru_ifindex } as u32));
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::ENODEV) => Ok(None),
            Some(n) => Err(NlError::Kernel(n)),
            None => Err(NlError::Kernel(libc::EIO)),
        }
    }
}
