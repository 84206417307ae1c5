//! `sysctl -w` in a network namespace.
//!
//! The `/proc/sys/net` tree a file belongs to is chosen by the network namespace of the thread
//! that *opens* it (not by the /proc mount), so writing inside a namespace means opening the
//! file from a thread that has `setns`ed into it.

use super::netlink::{enter_ns_file, errno_text, open_ns};
use crate::error::{Error, Result};
use crate::plan::{NsRef, Op};
use std::io::Write;
use std::path::PathBuf;

/// `/proc/sys/...` for a dotted key (a key that already uses slashes is taken as a path).
pub fn key_path(key: &str) -> Result<PathBuf> {
    let rel = if key.contains('/') {
        key.trim_start_matches('/').to_string()
    } else {
        key.replace('.', "/")
    };
    if rel.is_empty()
        || rel
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(Error::usage(format!("'{key}' is not a sysctl key")));
    }
    Ok(PathBuf::from("/proc/sys").join(rel))
}

fn op_text(ns: &NsRef, key: &str, value: &str) -> String {
    Op::Sysctl {
        ns: ns.clone(),
        key: key.to_string(),
        value: value.to_string(),
    }
    .to_string()
}

/// Write a sysctl in the calling thread's network namespace.
pub fn write_here(key: &str, value: &str) -> std::result::Result<(), String> {
    let path = key_path(key).map_err(|e| e.to_string())?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => format!("unknown key {key} (no {})", path.display()),
            Some(n) => format!("cannot open {}: {}", path.display(), errno_text(n)),
            None => format!("cannot open {}: {e}", path.display()),
        })?;
    f.write_all(value.as_bytes()).map_err(|e| {
        format!(
            "cannot write '{value}' to {}: {}",
            path.display(),
            e.raw_os_error()
                .map(errno_text)
                .unwrap_or_else(|| e.to_string())
        )
    })
}

/// Disable IPv6 on a link of the calling thread's namespace; nothing to do on a kernel
/// without IPv6 (no /proc/sys/net/ipv6).
pub fn disable_ipv6_here(dev: &str) -> std::result::Result<(), String> {
    if !std::path::Path::new("/proc/sys/net/ipv6").exists() {
        return Ok(());
    }
    write_here(&format!("net/ipv6/conf/{dev}/disable_ipv6"), "1")
}

/// `sysctl -w KEY=VALUE` inside `ns`.
pub fn set(ns: &NsRef, key: &str, value: &str) -> Result<()> {
    key_path(key)?;
    let kerr = |msg: String| Error::Kernel {
        op: op_text(ns, key, value),
        msg,
    };
    match ns.path() {
        None => write_here(key, value).map_err(kerr),
        Some(path) => {
            let file = open_ns(&path).map_err(|e| kerr(e.to_string()))?;
            let (k, v) = (key.to_string(), value.to_string());
            let res = std::thread::Builder::new()
                .name("cnet-sysctl".into())
                .spawn(move || -> std::result::Result<(), String> {
                    enter_ns_file(&path, &file).map_err(|e| e.to_string())?;
                    drop(file);
                    write_here(&k, &v)
                })
                .map_err(|e| kerr(format!("cannot start a thread: {e}")))?
                .join()
                .unwrap_or_else(|_| Err("the thread panicked".into()));
            res.map_err(kerr)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_proc_sys_paths() {
        assert_eq!(
            key_path("net.ipv4.ip_forward").unwrap(),
            PathBuf::from("/proc/sys/net/ipv4/ip_forward")
        );
        assert_eq!(
            key_path("net/ipv4/conf/eth0.10/forwarding").unwrap(),
            PathBuf::from("/proc/sys/net/ipv4/conf/eth0.10/forwarding")
        );
        assert!(key_path("net...ipv4").is_err());
        assert!(key_path("net/../../etc/passwd").is_err());
        assert!(key_path("").is_err());
    }
}
