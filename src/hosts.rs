//! Name resolution for namespaces: `/etc/netns/NAME/hosts` and `resolv.conf`, the files
//! `ip netns exec` and `cnet exec-in-ns` bind over `/etc`.
//!
//! Each network has one shared hosts file, `/run/cnet/hosts/NETWORK`, with a line per member.
//! A namespace on one network gets `/etc/netns/NAME/hosts` as a symbolic link to it (a bind
//! mount follows the link), so a member joining or leaving changes one line of one file,
//! however many members the network has. A namespace on several networks gets a file of its
//! own merging theirs; such namespaces are listed beside each shared file (`NETWORK.multi/`)
//! so that they can be kept in step. Like /run/netns, all of it is gone after a reboot.

use std::net::IpAddr;
use std::path::PathBuf;

/// One line of a hosts file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    pub address: IpAddr,
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
pub fn without_address(text: &str, addr: IpAddr) -> String {
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
pub fn plan_removal(text: &str, addr: IpAddr) -> Removal {
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
pub fn blank(len: usize) -> String {
    let mut b = String::with_capacity(len);
    if len > 0 {
        b.push('#');
        b.push_str(&" ".repeat(len - 1));
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
pub fn network_hosts_dir() -> PathBuf {
    PathBuf::from("/run/cnet/hosts")
}

/// A network's shared hosts file.
pub fn network_file(network: &str) -> PathBuf {
    network_hosts_dir().join(network)
}

/// Beside a network's shared file: one empty file per member that is on other networks too.
pub fn multi_dir(network: &str) -> PathBuf {
    network_hosts_dir().join(format!("{network}.multi"))
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
            address: IpAddr::from([10, 1, 0, last]),
            names: vec![name.into()],
        }
    }

    /// What the file reads after a removal is carried out as planned.
    fn apply(text: &str, r: &Removal) -> String {
        match r {
            Removal::Absent => text.to_string(),
            Removal::Blank { offset, len } => {
                let mut b = text.as_bytes().to_vec();
                b[*offset..offset + len].copy_from_slice(blank(*len).as_bytes());
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
            let r = plan_removal(&text, IpAddr::from([10, 1, 0, i]));
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
