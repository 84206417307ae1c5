//! Name resolution for namespaces: `/etc/netns/NAME/hosts` and `resolv.conf`, the files
//! `ip netns exec` and `cnet exec-in-ns` bind over `/etc`.

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

/// The hosts file of a namespace: loopback names, then one line per member it can reach.
pub fn render_hosts(entries: &[HostEntry]) -> String {
    let mut s = String::from(
        "# written by cnet: members of this namespace's networks\n\
         127.0.0.1\tlocalhost\n\
         ::1\tlocalhost ip6-localhost ip6-loopback\n",
    );
    for e in entries {
        s.push_str(&format!("{}\t{}\n", e.address, e.names.join(" ")));
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

fn write(path: &Path, text: &str) -> Result<()> {
    let dir = path.parent().expect("has a parent");
    fs::create_dir_all(dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
    let tmp = dir.join(format!(".cnet.{}.tmp", std::process::id()));
    fs::write(&tmp, text)
        .and_then(|_| fs::rename(&tmp, path))
        .map_err(|e| Error::io(path.display().to_string(), e))
}

/// Rewrite a namespace's hosts file.
pub fn write_hosts(netns: &str, entries: &[HostEntry]) -> Result<()> {
    write(
        &etc_netns_dir().join(netns).join("hosts"),
        &render_hosts(entries),
    )
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
    fn resolv_conf_drops_loopback_servers() {
        let s = render_resolv_conf("nameserver 127.0.0.53\nsearch lan\nnameserver 9.9.9.9\n");
        assert!(!s.contains("127.0.0.53"));
        assert!(s.contains("nameserver 9.9.9.9\n") && s.contains("search lan\n"));
        let s = render_resolv_conf("nameserver 127.0.0.53\n");
        assert!(s.contains("cannot reach"));
    }
}
