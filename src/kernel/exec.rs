//! `ip netns exec`: run a command inside a network namespace, with a private mount namespace
//! in which `/sys` describes that network namespace and `/etc/netns/NAME/*` is bind-mounted
//! over `/etc/*`.

use super::netlink::{errno_text, nix_text};
use crate::error::{Error, Result};
use crate::names;
use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};
use std::ffi::CString;
use std::path::Path;

fn rt(msg: String) -> Error {
    Error::runtime(format!("exec-in-ns: {msg}"))
}

/// Enter the namespace and set up the mounts, as `ip netns exec` does before it executes.
fn switch(ns_path: &Path, netns_name: Option<&str>) -> Result<()> {
    let f = std::fs::File::open(ns_path).map_err(|e| {
        rt(format!(
            "cannot open network namespace {}: {}",
            ns_path.display(),
            e.raw_os_error().map(errno_text).unwrap_or(e.to_string())
        ))
    })?;
    setns(&f, CloneFlags::CLONE_NEWNET).map_err(|e| {
        rt(format!(
            "cannot enter network namespace {}: {}",
            ns_path.display(),
            nix_text(e)
        ))
    })?;
    drop(f);
    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| {
        rt(format!(
            "cannot create a mount namespace: {}{}",
            nix_text(e),
            if e == Errno::EINVAL {
                " (the process must be single-threaded)"
            } else {
                ""
            }
        ))
    })?;
    // Don't let any mounts propagate back to the parent.
    mount(
        None::<&str>,
        "/",
        Some("none"),
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| rt(format!("cannot make / a slave mount: {}", nix_text(e))))?;
    // A /sys that describes the network namespace.
    let mut flags = MsFlags::empty();
    if umount2("/sys", MntFlags::MNT_DETACH).is_err()
        && let Ok(st) = nix::sys::statvfs::statvfs("/sys")
        && st.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY)
    {
        // Could not unmount it: overlay it; a read-only one cannot be shadowed read-write.
        flags |= MsFlags::MS_RDONLY;
    }
    mount(
        Some(netns_name.unwrap_or("sysfs")),
        "/sys",
        Some("sysfs"),
        flags,
        None::<&str>,
    )
    .map_err(|e| rt(format!("mount of /sys failed: {}", nix_text(e))))?;
    if let Some(name) = netns_name {
        bind_etc(name);
    }
    Ok(())
}

/// Bind-mount each entry of `/etc/netns/NAME/` over `/etc/ENTRY`. Entries without a target in
/// /etc are skipped (iproute2 reports them and goes on); other failures are reported.
fn bind_etc(name: &str) {
    let dir = names::etc_netns_dir().join(name);
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return;
    };
    for ent in rd.flatten() {
        let src = ent.path();
        let target = Path::new("/etc").join(ent.file_name());
        if !target.exists() {
            continue;
        }
        if let Err(e) = mount(
            Some(&src),
            &target,
            Some("none"),
            MsFlags::MS_BIND,
            None::<&str>,
        ) {
            eprintln!(
                "cnet: warning: bind {} -> {} failed: {}",
                src.display(),
                target.display(),
                nix_text(e)
            );
        }
    }
}

/// Run `argv` inside the network namespace at `ns_path` (named `netns_name` under /run/netns,
/// if it is one). Never returns on success (the process is replaced); on failure returns the
/// error. Must be called from a single-threaded process.
pub fn exec_in_netns(ns_path: &Path, netns_name: Option<&str>, argv: &[String]) -> Error {
    let Some(cmd) = argv.first() else {
        return Error::usage("exec-in-ns: no command given");
    };
    let cargs: std::result::Result<Vec<CString>, _> =
        argv.iter().map(|a| CString::new(a.as_bytes())).collect();
    let Ok(cargs) = cargs else {
        return Error::usage("exec-in-ns: an argument contains a NUL byte");
    };
    if let Err(e) = switch(ns_path, netns_name) {
        return e;
    }
    // Rust ignores SIGPIPE in its own processes, and an ignored signal stays ignored across
    // exec: the command would see write errors where `ip netns exec` lets it die quietly
    // (`yes | head -1` printing "Broken pipe").
    // SAFETY: resetting a signal to its default action; the process is single-threaded.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let e = match nix::unistd::execvp(&cargs[0], &cargs) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let (status, why) = exec_failure(e, exists_on_path(cmd));
    eprintln!("cnet: exec-in-ns: {cmd}: {why}");
    Error::Reported(status)
}

/// The exit status and text of a failed exec, as shells give them: 127 when there is no such
/// command, 126 when there is one that cannot be run (not executable, a directory, a script
/// whose interpreter is missing).
fn exec_failure(e: Errno, command_exists: bool) -> (i32, String) {
    match e {
        Errno::ENOENT if !command_exists => (127, "command not found".into()),
        Errno::EACCES => (126, "permission denied".into()),
        e => (126, nix_text(e)),
    }
}

/// Whether `cmd` names a file, looked up as execvp does: as a path if it has a slash, else
/// in each directory of $PATH.
fn exists_on_path(cmd: &str) -> bool {
    if cmd.contains('/') {
        return Path::new(cmd).exists();
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
    std::env::split_paths(&path).any(|dir| dir.join(cmd).is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_empty_command_and_nul_bytes_without_side_effects() {
        let e = exec_in_netns(Path::new("/nonexistent"), None, &[]);
        assert!(matches!(e, Error::Usage(_)));
        let e = exec_in_netns(Path::new("/nonexistent"), None, &["a\0b".to_string()]);
        assert!(matches!(e, Error::Usage(_)));
    }

    #[test]
    fn failed_exec_statuses_are_the_shells() {
        assert_eq!(exec_failure(Errno::ENOENT, false).0, 127);
        assert_eq!(exec_failure(Errno::ENOENT, false).1, "command not found");
        assert_eq!(exec_failure(Errno::ENOENT, true).0, 126);
        assert_eq!(exec_failure(Errno::EACCES, true).0, 126);
        assert_eq!(exec_failure(Errno::ENOEXEC, true).0, 126);
    }

    #[test]
    fn commands_are_looked_up_as_execvp_does() {
        assert!(exists_on_path("/bin/sh"));
        assert!(exists_on_path("sh"));
        assert!(!exists_on_path("/nonexistent/cmd"));
        assert!(!exists_on_path("cnet-no-such-command"));
    }

    #[test]
    fn missing_namespace_is_reported_before_anything_changes() {
        let e = exec_in_netns(Path::new("/nonexistent/ns"), None, &["true".to_string()]);
        assert!(e.to_string().contains("/nonexistent/ns"), "{e}");
    }
}
