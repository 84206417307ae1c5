//! Name resolution for namespaces: `/etc/netns/NAME/hosts` and `resolv.conf`, the files
//! `ip netns exec` and `cnet exec-in-ns` bind over `/etc`.
//!
//! Each network has one shared hosts file, `/run/cnet/hosts/NETWORK`, with a line per member.
//! A namespace on one network gets `/etc/netns/NAME/hosts` as a symbolic link to it (a bind
//! mount follows the link), so a member joining or leaving changes one line of one file,
//! however many members the network has. A namespace on several networks gets a file of its
//! own merging theirs; such namespaces are listed beside each shared file (`NETWORK.multi/`)
//! so that they can be kept in step. Like /run/netns, all of it is gone after a reboot.

use crate::error::{Error, Result};
use crate::names::etc_netns_dir;
use std::fs;
use std::io::ErrorKind;
use std::net::Ipv4Addr;
use std::path::Path;

/// One line of a hosts file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    pub address: Ipv4Addr,
    pub names: Vec<String>,
}

const HEADER: &str = "# written by cnet: members of this namespace's networks\n\
                      127.0.0.1\tlocalhost\n\
                      ::1\tlocalhost ip6-localhost ip6-loopback\n";

/// One member's line.
pub fn render_entry(e: &HostEntry) -> String {
    format!("{}\t{}\n", e.address, e.names.join(" "))
}

/// A hosts file: loopback names, then one line per member.
pub fn render_hosts(entries: &[HostEntry]) -> String {
    let mut s = String::from(HEADER);
    for e in entries {
        s.push_str(&render_entry(e));
    }
    s
}

/// The member lines of a hosts file (everything but the header and comments).
pub fn member_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| {
        !l.is_empty()
            && !l.starts_with('#')
            && !l.starts_with("127.0.0.1\t")
            && !l.starts_with("::1\t")
    })
}

/// A hosts file without the member whose address is `addr` (and without blanked lines).
pub fn without_address(text: &str, addr: Ipv4Addr) -> String {
    let prefix = format!("{addr}\t");
    let mut s = String::from(HEADER);
    for l in member_lines(text).filter(|l| !l.starts_with(&prefix)) {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// Files smaller than this are never compacted: the blanks cost nothing worth a rewrite.
const COMPACT_MIN_BYTES: usize = 4096;

/// How to take a member out of a shared hosts file without replacing the file.
#[derive(Debug, PartialEq, Eq)]
pub enum Removal {
    /// Not listed: nothing to do.
    Absent,
    /// Overwrite `len` bytes at `offset` (the line, without its newline) with a blank comment.
    Blank { offset: usize, len: usize },
    /// More than half the file would be blanks: write this text over the whole file.
    Compact(String),
}

/// How to remove the member whose address is `addr` from `text`, a shared hosts file. A
/// removed line becomes a comment of the same length, so no other line moves; the blanks are
/// squeezed out once they outweigh the members, which keeps the cost per removal constant on
/// average however long the file is.
pub fn plan_removal(text: &str, addr: Ipv4Addr) -> Removal {
    let prefix = format!("{addr}\t");
    let (mut found, mut blank_bytes, mut offset) = (None, 0, 0);
    for line in text.split_inclusive('\n') {
        if line.starts_with(&prefix) && found.is_none() {
            found = Some((offset, line.trim_end_matches('\n').len()));
        } else if is_blank(line) {
            blank_bytes += line.len();
        }
        offset += line.len();
    }
    let Some((offset, len)) = found else {
        return Removal::Absent;
    };
    let blank_after = blank_bytes + len + 1;
    if text.len() >= COMPACT_MIN_BYTES && 2 * blank_after > text.len() {
        Removal::Compact(without_address(text, addr))
    } else {
        Removal::Blank { offset, len }
    }
}

/// A removed member's line: `#` and spaces.
fn is_blank(line: &str) -> bool {
    let body = line.trim_end_matches('\n');
    body.starts_with('#') && body.len() > 1 && body[1..].bytes().all(|b| b == b' ')
}

/// The same number of bytes as a line of `len`, as a comment that names nothing.
fn blank(len: usize) -> Vec<u8> {
    let mut b = vec![b' '; len];
    if let Some(first) = b.first_mut() {
        *first = b'#';
    }
    b
}

/// A hosts file merging the member lines of several (duplicates dropped, order kept).
pub fn merge(texts: &[String]) -> String {
    let mut s = String::from(HEADER);
    let mut seen = std::collections::HashSet::new();
    for t in texts {
        for l in member_lines(t) {
            if seen.insert(l) {
                s.push_str(l);
                s.push('\n');
            }
        }
    }
    s
}

/// A resolv.conf for namespaces: the host's, without loopback name servers, which are not
/// reachable from inside another namespace (the same filtering Docker does).
pub fn render_resolv_conf(host_resolv_conf: &str) -> String {
    let mut out = String::from("# written by cnet from the host's resolv.conf\n");
    let mut servers = 0;
    for line in host_resolv_conf.lines() {
        let t = line.trim();
        if let Some(addr) = t.strip_prefix("nameserver") {
            let addr = addr.trim();
            if addr.starts_with("127.") || addr == "::1" {
                continue;
            }
            servers += 1;
        }
        if t.starts_with("nameserver") || t.starts_with("search") || t.starts_with("options") {
            out.push_str(t);
            out.push('\n');
        }
    }
    if servers == 0 {
        out.push_str("# the host only uses a local resolver, which this namespace cannot reach\n");
    }
    out
}

/// Where the shared per-network hosts files live.
pub fn network_hosts_dir() -> std::path::PathBuf {
    std::path::PathBuf::from("/run/cnet/hosts")
}

fn network_file(network: &str) -> std::path::PathBuf {
    network_hosts_dir().join(network)
}

fn multi_dir(network: &str) -> std::path::PathBuf {
    network_hosts_dir().join(format!("{network}.multi"))
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::io(path.display().to_string(), e)
}

/// Whether a network's shared hosts file exists (without reading it).
pub fn network_exists(network: &str) -> bool {
    network_file(network).exists()
}

/// A network's shared hosts file, if it exists.
pub fn read_network(network: &str) -> Result<Option<String>> {
    let p = network_file(network);
    match fs::read_to_string(&p) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&p, e)),
    }
}

/// Replace a network's shared hosts file.
pub fn write_network(network: &str, text: &str) -> Result<()> {
    write(&network_file(network), text)
}

/// Take the member with `addr` out of a network's shared file, in place ([`plan_removal`]).
/// The file keeps its inode: a process that bind-mounted it as /etc/hosts before (`ip netns
/// exec`, `cnet exec-in-ns`) goes on seeing members leave and join. Replacing the file would
/// leave such a process with the old copy for good.
pub fn remove_from_network(network: &str, addr: Ipv4Addr) -> Result<()> {
    use std::io::{Read, Seek, SeekFrom, Write};
    use std::os::unix::fs::FileExt;
    let p = network_file(network);
    let mut f = match fs::OpenOptions::new().read(true).write(true).open(&p) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(&p, e)),
    };
    let mut text = String::new();
    f.read_to_string(&mut text).map_err(|e| io(&p, e))?;
    match plan_removal(&text, addr) {
        Removal::Absent => Ok(()),
        Removal::Blank { offset, len } => f
            .write_all_at(&blank(len), offset as u64)
            .map_err(|e| io(&p, e)),
        Removal::Compact(new) => f
            .seek(SeekFrom::Start(0))
            .and_then(|_| f.write_all(new.as_bytes()))
            .and_then(|_| f.set_len(new.len() as u64))
            .map_err(|e| io(&p, e)),
    }
}

/// Add one member's line to a network's shared file (which must exist).
pub fn append_network(network: &str, entry: &HostEntry) -> Result<()> {
    use std::io::Write;
    let p = network_file(network);
    fs::OpenOptions::new()
        .append(true)
        .open(&p)
        .and_then(|mut f| f.write_all(render_entry(entry).as_bytes()))
        .map_err(|e| io(&p, e))
}

/// Forget a network's shared file and its list of multi-network members.
pub fn remove_network(network: &str) -> Result<()> {
    let p = network_file(network);
    match fs::remove_file(&p) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(io(&p, e)),
    }
    let _ = fs::remove_dir_all(multi_dir(network));
    Ok(())
}

/// Record whether `netns` is on several networks, one of which is `network`.
pub fn set_multi(network: &str, netns: &str, multi: bool) -> Result<()> {
    let dir = multi_dir(network);
    let p = dir.join(netns);
    if multi {
        fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        fs::write(&p, "").map_err(|e| io(&p, e))
    } else {
        match fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&p, e)),
        }
    }
}

/// The members of `network` that are on other networks too.
pub fn multi_members(network: &str) -> Vec<String> {
    fs::read_dir(multi_dir(network))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Point a namespace's hosts file at its one network's shared file.
pub fn link_hosts(netns: &str, network: &str) -> Result<()> {
    let dir = etc_netns_dir().join(netns);
    let tmp = dir.join(format!(".cnet.{}.lnk", std::process::id()));
    let path = dir.join("hosts");
    let link = || std::os::unix::fs::symlink(network_file(network), &tmp);
    // A stale link of a crashed cnet is dealt with only when in the way.
    let linked = match crate::fsutil::making_dir(&dir, link) {
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let _ = fs::remove_file(&tmp);
            link()
        }
        other => other,
    };
    linked
        .and_then(|_| fs::rename(&tmp, &path))
        .map_err(|e| io(&path, e))
}

/// Give a namespace a hosts file of its own with this text. A file of its own that is there
/// already is rewritten in place, as Docker rewrites a container's: processes that bound it
/// as /etc/hosts see the change. A link to a shared file is replaced.
pub fn write_own_hosts(netns: &str, text: &str) -> Result<()> {
    let path = etc_netns_dir().join(netns).join("hosts");
    match path.symlink_metadata() {
        Ok(m) if m.file_type().is_file() => {
            fs::write(&path, text).map_err(|e| Error::io(path.display().to_string(), e))
        }
        _ => write(&path, text),
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    let dir = path.parent().expect("has a parent");
    let tmp = dir.join(format!(".cnet.{}.tmp", std::process::id()));
    crate::fsutil::making_dir(dir, || fs::write(&tmp, text))
        .and_then(|_| fs::rename(&tmp, path))
        .map_err(|e| Error::io(path.display().to_string(), e))
}

/// Provide a resolv.conf for a namespace, unless it already has one (an admin's is kept).
pub fn ensure_resolv_conf(netns: &str) -> Result<()> {
    let path = etc_netns_dir().join(netns).join("resolv.conf");
    if path.exists() {
        return Ok(());
    }
    let host = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    write(&path, &render_resolv_conf(&host))
}

/// Remove the files cnet wrote for a namespace, and the directory when nothing else is in it.
pub fn remove_files(netns: &str) -> Result<()> {
    let dir = etc_netns_dir().join(netns);
    for f in ["hosts", "resolv.conf"] {
        let p = dir.join(f);
        match fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(p.display().to_string(), e)),
        }
    }
    let _ = fs::remove_dir(&dir); // fails, harmlessly, if an admin put other files there
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_lists_members_with_aliases() {
        let s = render_hosts(&[
            HostEntry {
                address: "10.1.0.2".parse().unwrap(),
                names: vec!["ns1".into()],
            },
            HostEntry {
                address: "10.1.0.3".parse().unwrap(),
                names: vec!["ns2".into(), "web".into()],
            },
        ]);
        assert!(s.contains("127.0.0.1\tlocalhost\n"));
        assert!(s.contains("10.1.0.3\tns2 web\n"));
    }

    #[test]
    fn member_lines_are_removed_by_address_and_merged_without_duplicates() {
        let a = render_hosts(&[
            HostEntry {
                address: "10.1.0.2".parse().unwrap(),
                names: vec!["ns1".into()],
            },
            HostEntry {
                address: "10.1.0.20".parse().unwrap(),
                names: vec!["ns2".into()],
            },
        ]);
        let without = without_address(&a, "10.1.0.2".parse().unwrap());
        assert!(!without.contains("ns1") && without.contains("10.1.0.20\tns2\n"));
        assert!(without.starts_with(HEADER));
        let b = render_hosts(&[HostEntry {
            address: "10.1.0.20".parse().unwrap(),
            names: vec!["ns2".into()],
        }]);
        let merged = merge(&[a, b]);
        assert_eq!(merged.matches("ns2").count(), 1);
        assert_eq!(merged.matches("localhost\n").count(), 1);
    }

    fn member(last: u8, name: &str) -> HostEntry {
        HostEntry {
            address: Ipv4Addr::new(10, 1, 0, last),
            names: vec![name.into()],
        }
    }

    /// What the file reads after a removal is carried out as planned.
    fn apply(text: &str, r: &Removal) -> String {
        match r {
            Removal::Absent => text.to_string(),
            Removal::Blank { offset, len } => {
                let mut b = text.as_bytes().to_vec();
                b[*offset..offset + len].copy_from_slice(&blank(*len));
                String::from_utf8(b).unwrap()
            }
            Removal::Compact(t) => t.clone(),
        }
    }

    #[test]
    fn a_removed_member_is_blanked_in_place_and_no_other_line_moves() {
        let text = render_hosts(&[member(2, "a"), member(20, "b"), member(3, "c")]);
        let r = plan_removal(&text, "10.1.0.2".parse().unwrap());
        let after = apply(&text, &r);
        assert!(matches!(r, Removal::Blank { .. }));
        assert_eq!(after.len(), text.len());
        assert!(!after.contains("\ta\n") && after.contains("10.1.0.20\tb\n"));
        assert_eq!(after.find("10.1.0.3\tc"), text.find("10.1.0.3\tc"));
        let members: Vec<&str> = member_lines(&after).collect();
        assert_eq!(members, ["10.1.0.20\tb", "10.1.0.3\tc"]);
        assert_eq!(
            plan_removal(&after, "10.1.0.2".parse().unwrap()),
            Removal::Absent
        );
    }

    #[test]
    fn blanks_are_squeezed_out_once_they_outweigh_the_members() {
        let entries: Vec<HostEntry> = (2..=250).map(|i| member(i, &format!("ns{i}"))).collect();
        let mut text = render_hosts(&entries);
        let start = text.len();
        let mut compactions = 0;
        for i in 2..=200u8 {
            let r = plan_removal(&text, Ipv4Addr::new(10, 1, 0, i));
            compactions += matches!(r, Removal::Compact(_)) as usize;
            text = apply(&text, &r);
        }
        assert!(compactions >= 1, "never compacted");
        assert!(
            compactions <= 3,
            "compacted {compactions} times for 199 removals"
        );
        assert!(text.len() < start, "{} bytes, from {start}", text.len());
        let members: Vec<&str> = member_lines(&text).collect();
        assert_eq!(members.len(), 50);
        assert_eq!(members[0], "10.1.0.201\tns201");
    }

    #[test]
    fn resolv_conf_drops_loopback_servers() {
        let s = render_resolv_conf("nameserver 127.0.0.53\nsearch lan\nnameserver 9.9.9.9\n");
        assert!(!s.contains("127.0.0.53"));
        assert!(s.contains("nameserver 9.9.9.9\n") && s.contains("search lan\n"));
        let s = render_resolv_conf("nameserver 127.0.0.53\n");
        assert!(s.contains("cannot reach"));
    }
}
