//! Resolving what the user typed as NETNS into a `Target`.

use crate::drivers::Target;
use crate::error::{Error, Result};
use crate::kernel::netns;
use crate::names::{netns_dir, validate_netns_name};
use crate::plan::NsRef;
use std::path::{Path, PathBuf};

/// A name under /run/netns, or a path to a namespace file (`/proc/PID/ns/net`, ...).
/// Paths into /run/netns or /var/run/netns count as the name, so hosts files work for them.
pub fn resolve(given: &str) -> Result<Target> {
    if !given.contains('/') {
        return named(given);
    }
    let path = PathBuf::from(given);
    for dir in [netns_dir(), PathBuf::from("/var/run/netns")] {
        if let Ok(rest) = path.strip_prefix(&dir)
            && rest.components().count() == 1
        {
            return named(&rest.to_string_lossy());
        }
    }
    if !path.exists() {
        return Err(Error::usage(format!(
            "namespace path {given} does not exist"
        )));
    }
    if !netns::is_netns_file(&path) {
        return Err(Error::usage(format!(
            "{given} is not a network namespace file"
        )));
    }
    let ino = netns::ns_inode(&path)?;
    Ok(Target {
        given: given.to_string(),
        key: path_key(ino),
        name: None,
        ns: NsRef::Path(path.clone()),
        path,
        exists: true,
    })
}

/// A namespace given by path, named by `attach --name` (`ip netns attach`): from then on it is
/// that name, as if it had been made under it. Refused for a namespace that has a name already
/// and for a name that is taken.
pub fn naming(target: Target, name: &str) -> Result<(Target, std::path::PathBuf)> {
    if target.name.is_some() {
        return Err(Error::usage(format!(
            "--name names a namespace given by path (such as /proc/PID/ns/net); {} has a name",
            target.given
        )));
    }
    let named = named(name)?;
    if named.exists {
        return Err(Error::usage(format!("namespace {name} already exists")));
    }
    Ok((
        Target {
            exists: true,
            ..named
        },
        target.path,
    ))
}

fn named(name: &str) -> Result<Target> {
    validate_netns_name(name)?;
    let path = netns_dir().join(name);
    Ok(Target {
        given: name.to_string(),
        key: name.to_string(),
        name: Some(name.to_string()),
        ns: NsRef::Named(name.to_string()),
        exists: netns::exists(name),
        path,
    })
}

/// The state key of a namespace known only by path: its inode, which names it uniquely while
/// it lives ('@' cannot appear in a namespace name, so keys never clash).
pub fn path_key(ino: u64) -> String {
    format!("@ino-{ino}")
}

/// Whether a path is a live namespace (for reporting stale endpoints).
pub fn alive(path: &Path) -> bool {
    netns::is_ns_file(path)
}
