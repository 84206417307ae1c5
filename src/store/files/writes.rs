//! How the file store changes a file: never through a symbolic link planted in the state tree,
//! each write whole or not at all (write-temp + rename, or link(2) for an exclusive claim),
//! hints rewritten in place.

use super::*;

impl FileStore {
    /// Refuse to work below a directory of the state tree that is a symbolic link: a write or
    /// removal there would land outside the state directory. A directory found to be a real
    /// one is not looked at again by this process (an attach writes several files in each).
    pub(super) fn refuse_linked_dirs(&self, path: &Path) -> Result<()> {
        let below_root = path
            .ancestors()
            .skip(1)
            .take_while(|dir| *dir != self.root && dir.starts_with(&self.root));
        for dir in below_root {
            if self.real_dirs.borrow().contains(dir) {
                continue;
            }
            match fs::symlink_metadata(dir) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(refused(dir, &symlink_error()));
                }
                Ok(m) if m.is_dir() => {
                    self.real_dirs.borrow_mut().insert(dir.to_path_buf());
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Replace `path` atomically with the TOML of `value`.
    pub(super) fn write_atomic<T: Serialize>(
        &self,
        path: &Path,
        value: &T,
        durable: Durability,
    ) -> Result<()> {
        self.write_atomic_text(path, &to_toml(value, path)?, durable)
    }

    /// Replace `path` with `text`: write-temp + rename (+ fsync for `Durability::Disk`).
    pub(super) fn write_atomic_text(
        &self,
        path: &Path,
        text: &str,
        durable: Durability,
    ) -> Result<()> {
        self.refuse_linked_dirs(path)?;
        let tmp = write_temp(path, text, durable)?;
        // rename(2) replaces whatever `path` is (a planted link included) and never follows it.
        fs::rename(&tmp, path).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            io_err(path, e)
        })?;
        if durable == Durability::Disk {
            fsync_dir(path.parent().unwrap())?;
        }
        Ok(())
    }

    /// Create `path` with the TOML of `value`, failing with `AlreadyExists` if it is there:
    /// link(2) of a complete temporary file is both atomic and exclusive.
    pub(super) fn write_exclusive<T: Serialize>(&self, path: &Path, value: &T) -> Result<bool> {
        self.refuse_linked_dirs(path)?;
        let tmp = write_temp(path, &to_toml(value, path)?, Durability::Boot)?;
        let mut linked = fs::hard_link(&tmp, path);
        if matches!(&linked, Err(e) if e.kind() == ErrorKind::AlreadyExists) {
            match fs::symlink_metadata(path) {
                Ok(m) if !m.is_file() => {
                    let _ = fs::remove_file(&tmp);
                    return Err(refused(path, &not_regular(&m)));
                }
                Ok(m) if m.len() == 0 => {
                    // An empty file left by a crash holds nothing (load): take its place.
                    let _ = fs::remove_file(path);
                    linked = fs::hard_link(&tmp, path);
                }
                _ => {}
            }
        }
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(io_err(path, e)),
        }
    }

    /// Rewrite a hint file in place. A hint is an index checked on every read (under the lock),
    /// so it needs neither fsync nor an atomic replace: a torn one reads as no hint.
    pub(super) fn write_hint(&self, path: &Path, text: &str) -> Result<()> {
        self.refuse_linked_dirs(path)?;
        let mut f = open_for_rewrite(path)?;
        f.write_all(text.as_bytes()).map_err(|e| io_err(path, e))
    }

    pub(super) fn remove_file(&self, path: &Path) -> Result<()> {
        self.refuse_linked_dirs(path)?;
        match fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(path, e)),
        }
    }

    /// Remove a directory tree (a link in its place is removed, not followed).
    pub(super) fn remove_dir_all(&self, path: &Path) -> Result<()> {
        self.refuse_linked_dirs(path)?;
        match fs::remove_dir_all(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(path, e)),
        }
    }
}
