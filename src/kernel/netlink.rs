//! Link, address and route operations through rtnetlink.
//!
//! A netlink socket belongs to the network namespace of the thread that opened it, for good.
//! Work in another namespace enters it (`setns`) on the calling thread, opens a connection there
//! on first use and returns; a [`Session`] keeps one connection per namespace for its lifetime,
//! so every op of a command that targets the same namespace shares one socket.

pub use super::rtnl::{CREATE, Conn, NlError, NlResult};
use crate::error::{Error, Result};
use crate::plan::{NsRef, Op};
use ipnetwork::Ipv4Network;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth, LinkAttribute, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteHeader};
use rtnetlink::{LinkBridge, LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder};
use std::collections::HashMap;
use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

mod link;
mod marks;
mod request;

pub use link::{NewLink, create_link};
pub use marks::{
    DOOMED_GROUP, alias_of, cnet_group, delete_together, group_of, is_cnet_link, is_cnet_mark,
    mark_link, name_of, owned_link, set_link_mark, warn_unmarked,
};
pub use request::OneRequest;
#[cfg(test)]
use request::route_message;
use request::{Request, outcome, request, send_one};

// ---------------------------------------------------------------------------------------------
// errno helpers
// ---------------------------------------------------------------------------------------------

/// The errno of a netlink error (positive), if the kernel refused the request.
pub fn errno_of(e: &NlError) -> Option<i32> {
    e.errno()
}

/// The C library's text for an errno, without Rust's " (os error N)" suffix.
pub fn errno_text(errno: i32) -> String {
    let s = std::io::Error::from_raw_os_error(errno).to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Human text for an rtnetlink error.
pub fn describe(e: &NlError) -> String {
    match errno_of(e) {
        Some(n) => errno_text(n),
        None => e.to_string(),
    }
}

/// Human text for a nix errno.
pub fn nix_text(e: nix::errno::Errno) -> String {
    errno_text(e as i32)
}

/// The kernel config option that provides a link kind.
pub fn link_kind_config(kind: &str) -> String {
    match kind {
        "bridge" => "CONFIG_BRIDGE".into(),
        "veth" => "CONFIG_VETH".into(),
        "vxlan" => "CONFIG_VXLAN".into(),
        "macvlan" => "CONFIG_MACVLAN".into(),
        "ipvlan" => "CONFIG_IPVLAN".into(),
        "vlan" => "CONFIG_VLAN_8021Q".into(),
        "dummy" => "CONFIG_DUMMY".into(),
        "wireguard" => "CONFIG_WIREGUARD".into(),
        "geneve" => "CONFIG_GENEVE".into(),
        "vrf" => "CONFIG_NET_VRF".into(),
        other => format!("CONFIG_{}", other.to_ascii_uppercase()),
    }
}

/// Message for a failed link creation: EEXIST names the link, EOPNOTSUPP ("Unknown device
/// type") names the missing kernel support.
pub fn create_link_message(kind: &str, name: &str, errno: Option<i32>, fallback: &str) -> String {
    match errno {
        Some(libc::EEXIST) => format!("link {name} already exists"),
        Some(libc::EOPNOTSUPP) => format!(
            "this kernel has no {kind} support ({})",
            link_kind_config(kind)
        ),
        Some(libc::EPERM) => "Operation not permitted (cnet needs root or CAP_NET_ADMIN)".into(),
        Some(n) => errno_text(n),
        None => fallback.to_string(),
    }
}

/// `Error::Kernel` for an op: the first line of its equivalent command, and a message.
pub fn kernel_error(op: &Op, msg: impl Into<String>) -> Error {
    let text = op.to_string();
    Error::Kernel {
        op: text.lines().next().unwrap_or_default().to_string(),
        msg: msg.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// connections
// ---------------------------------------------------------------------------------------------

/// Open an rtnetlink socket in the calling thread's network namespace.
fn open_conn() -> Result<Conn> {
    Conn::open().map_err(|e| Error::io("cannot open a netlink socket", e))
}

fn enter_error(path: &Path, e: nix::errno::Errno) -> Error {
    let msg = match e {
        nix::errno::Errno::ENOENT => format!("network namespace {} does not exist", path.display()),
        nix::errno::Errno::EINVAL => format!("{} is not a network namespace", path.display()),
        e => format!(
            "cannot enter network namespace {}: {}",
            path.display(),
            nix_text(e)
        ),
    };
    Error::Runtime(msg)
}

/// Open a namespace file (for `setns` or `IFLA_NET_NS_FD`).
pub fn open_ns(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| {
        enter_error(
            path,
            nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
        )
    })
}

/// `setns(CLONE_NEWNET)` for the calling thread.
pub fn enter_ns_file(path: &Path, file: &File) -> Result<()> {
    nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| enter_error(path, e))
}

/// Returns the calling thread to `home` (its own network namespace) when dropped. Should that
/// fail, the process aborts: every later host-side op would land in the wrong namespace.
struct Returning<'a> {
    home: &'a File,
}

/// The calling thread's own namespace, opened once into `slot`: the one to return to.
fn home(slot: &mut Option<File>) -> Result<&File> {
    if slot.is_none() {
        let home = File::open("/proc/thread-self/ns/net")
            .map_err(|e| Error::io("cannot open this thread's network namespace", e))?;
        *slot = Some(home);
    }
    Ok(slot.as_ref().expect("just opened"))
}

/// Enter the namespace of `ns` (found at `path`) until the guard returned is dropped.
fn enter<'a>(path: &Path, ns: &File, home: &'a File) -> Result<Returning<'a>> {
    enter_ns_file(path, ns)?;
    Ok(Returning { home })
}

impl Drop for Returning<'_> {
    fn drop(&mut self) {
        if let Err(e) = nix::sched::setns(self.home, nix::sched::CloneFlags::CLONE_NEWNET) {
            eprintln!(
                "cnet: cannot return to its own network namespace: {}",
                nix_text(e)
            );
            std::process::abort();
        }
    }
}

/// A namespace's file (kept open: entering by fd needs no path lookup, and a namespace
/// deleted meanwhile stays the one the socket lives in) and the connection opened inside it.
struct NsConn {
    file: File,
    conn: Conn,
}

/// Netlink connections to the namespaces a plan touches, opened on first use and kept until
/// the session is dropped. Work in another namespace runs on the calling thread, which enters
/// the namespace for the job and returns at once (as `ip -n` does, without a thread per
/// namespace or a hand-over to one).
#[derive(Default)]
pub struct Session {
    host: Option<Conn>,
    /// The calling thread's own namespace, to return to.
    home: Option<File>,
    netns: HashMap<PathBuf, NsConn>,
}

impl Session {
    pub fn new() -> Session {
        Session::default()
    }

    /// Run `f` with a connection inside `ns`; for another namespace than the host's, the
    /// calling thread is inside it while `f` runs (so `f` may also open its /proc/sys files).
    /// Must not be called from inside an async runtime.
    pub fn run<T>(&mut self, ns: &NsRef, f: impl FnOnce(&Conn) -> Result<T>) -> Result<T> {
        let Some(path) = ns.path() else {
            if self.host.is_none() {
                self.host = Some(open_conn()?);
            }
            return f(self.host.as_ref().expect("just opened"));
        };
        let home = home(&mut self.home)?;
        if let Some(c) = self.netns.get(&path) {
            let _inside = enter(&path, &c.file, home)?;
            return f(&c.conn);
        }
        let file = open_ns(&path)?;
        let inside = enter(&path, &file, home)?;
        let conn = open_conn()?;
        let out = f(&conn);
        drop(inside);
        self.netns.insert(path, NsConn { file, conn });
        out
    }

    /// Make a new network namespace and run `f` inside it, on a connection opened there: the
    /// calling thread unshares into the namespace and returns when `f` is done. `f` binds the
    /// namespace at `path` (the thread's own is /proc/thread-self/ns/net); when it succeeds,
    /// the connection is kept as the one for `path`.
    pub fn in_new_netns<T>(
        &mut self,
        path: &Path,
        f: impl FnOnce(&Conn) -> Result<T>,
    ) -> Result<T> {
        self.netns.remove(path);
        let home = home(&mut self.home)?;
        let back = Returning { home };
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| {
            Error::Runtime(format!(
                "cannot create a network namespace: {}",
                nix_text(e)
            ))
        })?;
        let conn = open_conn()?;
        let out = f(&conn)?;
        let file = File::open("/proc/thread-self/ns/net")
            .map_err(|e| Error::io("cannot open the new network namespace", e))?;
        drop(back);
        self.netns.insert(path.to_path_buf(), NsConn { file, conn });
        Ok(out)
    }

    /// Forget the connection to a namespace (after it was deleted or re-created).
    pub fn forget(&mut self, ns: &NsRef) {
        if let Some(p) = ns.path() {
            self.netns.remove(&p);
        }
    }

    /// Run `f` in a namespace for `op`: a runtime error names the op's command.
    pub fn run_op<T>(
        &mut self,
        op: &Op,
        ns: &NsRef,
        f: impl FnOnce(&Conn) -> Result<T>,
    ) -> Result<T> {
        self.run(ns, f).map_err(|e| match e {
            Error::Runtime(msg) => kernel_error(op, msg),
            e => e,
        })
    }

    /// Execute the one request of `op` in `ns`.
    pub fn request(&mut self, op: &Op, ns: &NsRef, r: OneRequest) -> Result<()> {
        self.run_op(op, ns, |c| send_one(c, op, &r))
    }

    /// Create a link from the host namespace.
    pub fn create_link(&mut self, op: &Op, link: NewLink) -> Result<()> {
        self.run_op(op, &NsRef::Host, |c| create_link(c, op, link))
    }

    /// Execute an op of one request (what [`OneRequest::of`] knows).
    pub fn exec(&mut self, op: &Op) -> Result<()> {
        match OneRequest::of(op) {
            Some((ns, r)) => self.request(op, ns, r),
            None => Err(kernel_error(op, "internal error: not a request of its own")),
        }
    }

    /// Execute consecutive netlink ops of one namespace (`pipelined`) in one visit to the
    /// namespace. One result per op: a failed op does not stop the ones after it, so the
    /// caller learns exactly which went in (and rolls those back).
    pub fn exec_pipelined(&mut self, ns: &NsRef, ops: &[Op]) -> Vec<Result<()>> {
        match self.run(ns, |c| Ok(exec_in_order(c, ops))) {
            Ok(rs) => rs,
            Err(e) => {
                let msg = e.to_string();
                ops.iter()
                    .map(|op| Err(kernel_error(op, msg.clone())))
                    .collect()
            }
        }
    }
}

/// Execute ops in order on one connection. An op of one request is sent without waiting for
/// its ack: the kernel has applied it when the send returns, so the next op's link lookup
/// already sees it. The acks are read at the end, or before an op that reads answers itself.
fn exec_in_order(c: &Conn, ops: &[Op]) -> Vec<Result<()>> {
    let mut out: Vec<Option<Result<()>>> = ops.iter().map(|_| None).collect();
    let mut pending: Vec<(usize, u32)> = Vec::new();
    let drain = |pending: &mut Vec<(usize, u32)>, out: &mut [Option<Result<()>>]| {
        for (i, seq) in pending.drain(..) {
            let r = OneRequest::of(&ops[i]).map(|(_, r)| r);
            let r = r.expect("only requests of their own are pending");
            out[i] = Some(outcome(&ops[i], &r, c.wait_ack(seq)));
        }
    };
    for (i, op) in ops.iter().enumerate() {
        let Some((_, r)) = OneRequest::of(op) else {
            out[i] = Some(Err(kernel_error(
                op,
                "internal error: not a request of its own",
            )));
            continue;
        };
        match request(c, op, &r) {
            Ok(Request::Send(msg, flags)) => match c.send_acked(msg, flags) {
                Ok(seq) => pending.push((i, seq)),
                Err(e) => out[i] = Some(outcome(op, &r, Err(e))),
            },
            Ok(Request::Nothing) => out[i] = Some(Ok(())),
            Err(e) => out[i] = Some(Err(e)),
        }
    }
    drain(&mut pending, &mut out);
    out.into_iter()
        .map(|r| r.expect("every op has a result"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// requests
// ---------------------------------------------------------------------------------------------

/// The index of a link, by name; `None` if there is no such link.
pub fn link_index(c: &Conn, name: &str) -> NlResult<Option<u32>> {
    c.index(name)
}

/// A bridge's MTU when none is given: Ethernet's, as Docker's bridges have.
const DEFAULT_MTU: u32 = 1500;

/// `ip link set DEV up`, by name, in one request.
pub fn set_up(c: &Conn, dev: &str) -> NlResult<()> {
    c.ack(
        RouteNetlinkMessage::NewLink(LinkUnspec::new_with_name(dev).up().build()),
        0,
    )
}

/// Take a link down and give it another name (a link must be down to be renamed). `false`
/// when there is no such link.
pub fn down_and_rename(c: &Conn, dev: &str, new_name: &str) -> NlResult<bool> {
    let Some(idx) = link_index(c, dev)? else {
        return Ok(false);
    };
    c.ack(
        RouteNetlinkMessage::SetLink(LinkUnspec::new_with_index(idx).down().build()),
        0,
    )?;
    c.ack(
        RouteNetlinkMessage::SetLink(LinkUnspec::new_with_index(idx).name(new_name).build()),
        0,
    )?;
    Ok(true)
}

/// [`down_and_rename`] for a link that carries cnet's mark; one that does not is left alone
/// (and `false`, as if gone).
pub fn down_and_rename_owned(c: &Conn, dev: &str, new_name: &str) -> NlResult<bool> {
    match owned_link(c, dev)? {
        None => Ok(false),
        Some((_, false)) => {
            warn_unmarked(dev);
            Ok(false)
        }
        Some((idx, true)) => {
            c.ack(
                RouteNetlinkMessage::SetLink(LinkUnspec::new_with_index(idx).down().build()),
                0,
            )?;
            c.ack(
                RouteNetlinkMessage::SetLink(
                    LinkUnspec::new_with_index(idx).name(new_name).build(),
                ),
                0,
            )?;
            Ok(true)
        }
    }
}

/// The link message of a link, by name; `None` if there is no such link.
pub fn get_link(c: &Conn, name: &str) -> NlResult<Option<LinkMessage>> {
    let mut q = LinkMessage::default();
    q.attributes.push(LinkAttribute::IfName(name.to_string()));
    match c.get(RouteNetlinkMessage::GetLink(q))? {
        Some(RouteNetlinkMessage::NewLink(m)) => Ok(Some(m)),
        _ => Ok(None),
    }
}

/// Every link of the connection's namespace (`ip link show`).
pub fn links(c: &Conn) -> NlResult<Vec<LinkMessage>> {
    Ok(
        c.dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))?
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(l),
                _ => None,
            })
            .collect(),
    )
}

/// Destination prefixes of the IPv4 routes of the main table (default routes left out).
pub fn main_routes_v4(c: &Conn) -> Result<Vec<Ipv4Network>> {
    let msg = RouteMessageBuilder::<Ipv4Addr>::new().build();
    let routes = c
        .dump(RouteNetlinkMessage::GetRoute(msg))
        .map_err(|e| Error::runtime(format!("ip route show: {}", describe(&e))))?;
    let mut out = Vec::new();
    for r in routes {
        let RouteNetlinkMessage::NewRoute(r) = r else {
            continue;
        };
        let table = r
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::Table(t) => Some(*t),
                _ => None,
            })
            .unwrap_or(r.header.table as u32);
        if table != RouteHeader::RT_TABLE_MAIN as u32 || r.header.destination_prefix_length == 0 {
            continue;
        }
        let dest = r.attributes.iter().find_map(|a| match a {
            RouteAttribute::Destination(RouteAddress::Inet(ip)) => Some(*ip),
            _ => None,
        });
        if let Some(ip) = dest
            && let Ok(n) = Ipv4Network::new(ip, r.header.destination_prefix_length)
        {
            out.push(n);
        }
    }
    Ok(out)
}

/// The output interface of the IPv4 default route of the main table, if there is one.
pub fn default_route_oif(c: &Conn) -> Result<Option<u32>> {
    let msg = RouteMessageBuilder::<Ipv4Addr>::new().build();
    let routes = c
        .dump(RouteNetlinkMessage::GetRoute(msg))
        .map_err(|e| Error::runtime(format!("ip route show: {}", describe(&e))))?;
    Ok(routes.into_iter().find_map(|r| {
        let RouteNetlinkMessage::NewRoute(r) = r else {
            return None;
        };
        let main = r.header.table == RouteHeader::RT_TABLE_MAIN;
        if !main || r.header.destination_prefix_length != 0 {
            return None;
        }
        r.attributes.iter().find_map(|a| match a {
            RouteAttribute::Oif(i) => Some(*i),
            _ => None,
        })
    }))
}

/// One transmit and one receive queue. A veth gets one per possible CPU by default and then
/// drops to one in use, which waits for an RCU grace period per end; the extra queues serve
/// only XDP, which cnet does not set up.
#[cfg(test)]
mod tests;
