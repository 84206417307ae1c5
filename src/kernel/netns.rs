//! Named network namespaces, the way `ip netns` keeps them: `/run/netns/NAME` is a bind mount
//! of a namespace file, and `/run/netns` is a shared mount point so the bind mounts propagate
//! to every mount namespace that shares it.

use super::netlink::{self, Session, errno_text, nix_text};
use crate::error::{Error, Result};
use crate::names;
use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// `NS_GET_NSTYPE` ioctl (`_IO(0xb7, 0x3)`).
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;

fn ns_path(name: &str) -> Result<PathBuf> {
    names::validate_netns_name(name)?;
    Ok(names::netns_dir().join(name))
}

fn op_err(op: String, msg: impl Into<String>) -> Error {
    Error::Kernel {
        op,
        msg: msg.into(),
    }
}

/// mkdir -p /run/netns, and make it a shared mount point (binding it onto itself first when it
/// is not a mount point yet), exactly as iproute2 does.
fn prepare_run_dir(dir: &Path, op: &str) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .map_err(|e| Error::io(format!("{op}: cannot create {}", dir.display()), e))?;
    let shared = |d: &Path| {
        mount(
            None::<&str>,
            d,
            Some("none"),
            MsFlags::MS_SHARED | MsFlags::MS_REC,
            None::<&str>,
        )
    };
    match shared(dir) {
        Ok(()) => Ok(()),
        Err(Errno::EINVAL) => {
            mount(
                Some(dir),
                dir,
                Some("none"),
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(|e| {
                op_err(
                    op.to_string(),
                    format!("cannot bind {} onto itself: {}", dir.display(), nix_text(e)),
                )
            })?;
            shared(dir).map_err(|e| {
                op_err(
                    op.to_string(),
                    format!("cannot make {} shared: {}", dir.display(), nix_text(e)),
                )
            })
        }
        Err(e) => Err(op_err(
            op.to_string(),
            format!("cannot make {} shared: {}", dir.display(), nix_text(e)),
        )),
    }
}

/// Create the empty mount-point file `/run/netns/NAME` (O_EXCL).
fn create_mount_point(name: &str, path: &Path, op: &str) -> Result<()> {
    prepare_run_dir(path.parent().expect("netns path has a parent"), op)?;
    match OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o000)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            if is_netns_file(path) {
                Err(Error::usage(format!("namespace {name} already exists")))
            } else {
                Err(Error::usage(format!(
                    "namespace {name}: {} exists but is not a network namespace (left over from \
                     an interrupted command?); remove it with `ip netns del {name}`",
                    path.display()
                )))
            }
        }
        Err(e) => Err(Error::io(
            format!("{op}: cannot create {}", path.display()),
            e,
        )),
    }
}

fn bind(source: &Path, target: &Path) -> std::result::Result<(), Errno> {
    mount(
        Some(source),
        target,
        Some("none"),
        MsFlags::MS_BIND,
        None::<&str>,
    )
}

/// Undo a half-made `/run/netns/NAME`.
fn remove_mount_point(path: &Path) {
    let _ = umount2(path, MntFlags::MNT_DETACH);
    let _ = std::fs::remove_file(path);
}

/// `ip netns add NAME`: a new network namespace bound at `/run/netns/NAME`, with `lo` up. The
/// session keeps the connection it opened inside, for the ops that follow.
pub fn create_named(s: &mut Session, name: &str) -> Result<()> {
    let path = ns_path(name)?;
    let op = format!("ip netns add {name}");
    create_mount_point(name, &path, &op)?;
    let res = s.in_new_netns(&path, |conn| {
        let me = Path::new("/proc/thread-self/ns/net");
        bind(me, &path).map_err(|e| {
            op_err(
                op.clone(),
                format!(
                    "cannot bind {} to {}: {}",
                    me.display(),
                    path.display(),
                    nix_text(e)
                ),
            )
        })?;
        netlink::set_up(conn, "lo").map_err(|e| {
            op_err(
                op.clone(),
                format!("cannot bring lo up: {}", netlink::describe(&e)),
            )
        })
    });
    let res = res.map_err(|e| match e {
        Error::Runtime(msg) if !msg.starts_with(&op) => op_err(op.clone(), msg),
        e => e,
    });
    if res.is_err() {
        remove_mount_point(&path);
    }
    res
}

/// Bind `/run/netns/NAME` to the caller's own (the host's) network namespace.
pub fn bind_host(name: &str) -> Result<()> {
    let path = ns_path(name)?;
    let op = format!("touch /run/netns/{name} && mount --bind /proc/self/ns/net /run/netns/{name}");
    create_mount_point(name, &path, &op)?;
    if let Err(e) = bind(Path::new("/proc/self/ns/net"), &path) {
        remove_mount_point(&path);
        return Err(op_err(
            op,
            format!("cannot bind the host namespace: {}", nix_text(e)),
        ));
    }
    Ok(())
}

/// `ip netns attach NAME PID`: bind another namespace file (`/proc/PID/ns/net`, a bind mount
/// of another tool's) to `/run/netns/NAME`.
pub fn bind_path(name: &str, source: &Path) -> Result<()> {
    let path = ns_path(name)?;
    let op = format!(
        "touch /run/netns/{name} && mount --bind {} /run/netns/{name}",
        source.display()
    );
    create_mount_point(name, &path, &op)?;
    if let Err(e) = bind(source, &path) {
        remove_mount_point(&path);
        return Err(op_err(
            op,
            format!("cannot bind {}: {}", source.display(), nix_text(e)),
        ));
    }
    Ok(())
}

/// `ip netns del NAME`; a namespace that is not there counts as deleted.
pub fn delete_named(name: &str) -> Result<()> {
    let path = ns_path(name)?;
    match umount2(&path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(Errno::EINVAL) => {}
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => {
            return Err(op_err(
                format!("ip netns del {name}"),
                format!("cannot unmount {}: {}", path.display(), nix_text(e)),
            ));
        }
    }
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(op_err(
            format!("ip netns del {name}"),
            format!(
                "cannot remove {}: {}",
                path.display(),
                errno_text(e.raw_os_error().unwrap_or(libc::EIO))
            ),
        )),
    }
}

/// Whether `/run/netns/NAME` exists.
pub fn exists(name: &str) -> bool {
    match ns_path(name) {
        Ok(p) => p.symlink_metadata().is_ok(),
        Err(_) => false,
    }
}

/// Names under `/run/netns`, sorted.
pub fn list() -> Result<Vec<String>> {
    let dir = names::netns_dir();
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("cannot read {}", dir.display()), e)),
    };
    let mut names = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| Error::io(format!("cannot read {}", dir.display()), e))?;
        if let Some(n) = ent.file_name().to_str() {
            names.push(n.to_string());
        }
    }
    names.sort();
    Ok(names)
}

/// Whether `path` is a network namespace file (nsfs, of type network).
pub fn is_netns_file(path: &Path) -> bool {
    match nix::sys::statfs::statfs(path) {
        Ok(s) if s.filesystem_type() == nix::sys::statfs::NSFS_MAGIC => {}
        _ => return false,
    }
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    // SAFETY: NS_GET_NSTYPE takes no argument and only reads the descriptor.
    let t = unsafe { libc::ioctl(f.as_raw_fd(), NS_GET_NSTYPE as _) };
    t == libc::CLONE_NEWNET || (t < 0 && Errno::last() == Errno::ENOTTY)
}

/// Whether `path` is a namespace file, by one `stat`: every namespace file is an inode of nsfs,
/// the device `/proc/self/ns/net` is on. For listings, which ask once per endpoint (four system
/// calls fewer each than [`is_netns_file`], which also checks the namespace's type).
pub fn is_ns_file(path: &Path) -> bool {
    static NSFS_DEV: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    let nsfs =
        NSFS_DEV.get_or_init(|| std::fs::metadata("/proc/self/ns/net").ok().map(|m| m.dev()));
    match nsfs {
        Some(dev) => std::fs::metadata(path).is_ok_and(|m| m.dev() == *dev),
        None => is_netns_file(path),
    }
}

/// Inode number of a namespace file (compare with `/proc/self/ns/net` to recognise the host's).
pub fn ns_inode(path: &Path) -> Result<u64> {
    std::fs::metadata(path)
        .map(|m| m.ino())
        .map_err(|e| Error::io(format!("cannot stat {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_files_are_told_from_other_paths_by_their_device() {
        assert!(is_ns_file(Path::new("/proc/self/ns/net")));
        assert!(is_ns_file(Path::new("/proc/thread-self/ns/uts")));
        assert!(!is_ns_file(Path::new("/proc/self/status")));
        assert!(!is_ns_file(Path::new("/")));
        assert!(!is_ns_file(Path::new("/run/netns/no-such-namespace-here")));
    }

    #[test]
    fn names_are_validated_before_touching_paths() {
        assert!(matches!(ns_path("../etc"), Err(Error::Usage(_))));
        assert!(matches!(delete_named("a/b"), Err(Error::Usage(_))));
        assert!(!exists(".."));
        assert_eq!(ns_path("ns1").unwrap(), PathBuf::from("/run/netns/ns1"));
    }

    #[test]
    fn own_namespace_is_a_netns_file() {
        assert!(is_netns_file(Path::new("/proc/self/ns/net")));
        assert!(!is_netns_file(Path::new("/proc/self/ns/uts")));
        assert!(!is_netns_file(Path::new("/etc/hostname")));
        assert!(ns_inode(Path::new("/proc/self/ns/net")).unwrap() > 0);
    }
}
