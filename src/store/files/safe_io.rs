//! File I/O for the state directory: no link is followed, no FIFO waited on, files 0644 and
//! directories 0755 whatever the umask, writes that a reader sees whole or not at all.

use super::*;

pub(super) fn io_err(path: &Path, e: io::Error) -> Error {
    Error::io(path.display().to_string(), e)
}

pub(super) fn symlink_error() -> io::Error {
    io::Error::from_raw_os_error(libc::ELOOP)
}

pub(super) fn not_regular(m: &fs::Metadata) -> io::Error {
    if m.file_type().is_symlink() {
        symlink_error()
    } else {
        io::Error::new(ErrorKind::InvalidInput, "not a regular file")
    }
}

/// Why a state file cannot be used, in words (O_NOFOLLOW's ELOOP says "too many levels").
pub(super) fn describe(e: &io::Error) -> String {
    if e.raw_os_error() == Some(libc::ELOOP) {
        "is a symbolic link: refused (cnet follows no links in its state directory)".into()
    } else {
        e.to_string()
    }
}

pub(super) fn refused(path: &Path, e: &io::Error) -> Error {
    Error::State {
        path: path.display().to_string(),
        msg: describe(e),
    }
}

/// Its size, once known to be a regular file.
pub(super) fn ensure_regular(f: &File) -> io::Result<u64> {
    let m = f.metadata()?;
    if m.is_file() {
        Ok(m.len())
    } else {
        Err(not_regular(&m))
    }
}

/// Run `op`; should it find a directory on its way missing, create `dir` (0755) and run it
/// once more. The directory nearly always exists: checking first would cost a syscall a write.
pub(super) fn making_dir<T>(dir: &Path, op: impl Fn() -> io::Result<T>) -> io::Result<T> {
    match op() {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            DirBuilder::new()
                .recursive(true)
                .mode(DIR_MODE)
                .create(dir)?;
            op()
        }
        other => other,
    }
}

pub(super) fn create_dir(dir: &Path) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(|e| io_err(dir, e))
}

pub(super) fn fsync_dir(dir: &Path) -> Result<()> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dir, e))
}

/// Whether a write must reach the disk before cnet goes on (see the module comment).
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Durability {
    /// fsync the file and its directory.
    Disk,
    /// Describes this boot's kernel state: no fsync.
    Boot,
}

/// Open a regular file for writing from the start, creating it (and its directory, if
/// missing). Truncated only once known to be a regular file.
pub(super) fn open_for_rewrite(path: &Path) -> Result<File> {
    let dir = path.parent().expect("state files live in a directory");
    let f = making_dir(dir, || {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(FILE_MODE)
            .custom_flags(SAFE_FLAGS)
            .open(path)
    })
    .map_err(|e| refused(path, &e))?;
    ensure_regular(&f)
        .and_then(|_| f.set_len(0))
        .map_err(|e| refused(path, &e))?;
    Ok(f)
}

/// Create a new file (never an existing one, never through a link), and its directory if
/// missing.
pub(super) fn create_new(path: &Path) -> io::Result<File> {
    let dir = path.parent().expect("state files live in a directory");
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .custom_flags(SAFE_FLAGS)
            .open(path)
    };
    match making_dir(dir, open) {
        // Left by a crashed process of the same id: ours to replace.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            fs::remove_file(path)?;
            open()
        }
        other => other,
    }
}

/// Write `text` to a temporary file beside `path` (fsynced if `durable`); returns its path.
pub(super) fn write_temp(path: &Path, text: &str, durable: Durability) -> Result<PathBuf> {
    let dir = path.parent().expect("state files live in a directory");
    let name = path.file_name().unwrap().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = create_new(&tmp).map_err(|e| refused(&tmp, &e))?;
    f.write_all(text.as_bytes())
        .and_then(|_| {
            if durable == Durability::Disk {
                f.sync_all()
            } else {
                Ok(())
            }
        })
        .map_err(|e| io_err(&tmp, e))?;
    Ok(tmp)
}

pub(super) fn to_toml<T: Serialize>(value: &T, path: &Path) -> Result<String> {
    toml::to_string(value).map_err(|e| Error::State {
        path: path.display().to_string(),
        msg: e.to_string(),
    })
}

/// The text of a state file: a regular file, opened without following a link or waiting.
pub(super) fn read_text(path: &Path) -> io::Result<String> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(SAFE_FLAGS)
        .open(path)?;
    let len = ensure_regular(&f)?;
    // Sized from the check above: `File::read_to_string` would ask the kernel for the size
    // and position again.
    let mut text = String::with_capacity(len as usize + 1);
    io::Read::take(&f, u64::MAX).read_to_string(&mut text)?;
    Ok(text)
}

/// Read and parse one TOML file; `None` if it does not exist. A file that cannot be read or
/// parsed is described with its path and line, never silently replaced.
pub(super) fn load<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, BadFile> {
    let bad = |line, reason| BadFile {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let text = match read_text(path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(None, describe(&e))),
    };
    if text.is_empty() {
        // What a crash leaves of a file written without fsync (see the module comment).
        return Ok(None);
    }
    toml::from_str(&text).map(Some).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let msg = e.message().replace('\n', " ");
        bad(line, format!("cannot parse state file: {}", msg.trim()))
    })
}

/// [`load`] for a lookup of one object: a bad file is an error.
pub(super) fn read_toml<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    load(path).map_err(Error::from)
}

/// A hint's text; `None` if there is none. A hint that is a link or not a regular file is an
/// error, met here while an attach is still choosing its address, before the kernel work.
pub(super) fn read_hint(path: &Path) -> Result<Option<String>> {
    match read_text(path) {
        Ok(s) => Ok(Some(s.trim().to_string())),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(refused(path, &e)),
    }
}

/// A file name for a client id (names are safe as they are; paths are hashed).
pub(super) fn client_file(client: &str) -> String {
    if client.contains('/') || client.starts_with('.') {
        format!("@{:016x}", crate::names::stable_hash(&[client]))
    } else {
        client.to_string()
    }
}
