//! File operations whose directory is made only when it turns out to be missing: it nearly
//! always exists, and checking first costs a mkdir and a stat on every write.

use std::io::{ErrorKind, Result};
use std::path::Path;

/// Run `op`; should it find a directory on its way missing, create `dir` and run it once more.
pub fn making_dir<T>(dir: &Path, op: impl Fn() -> Result<T>) -> Result<T> {
    match op() {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)?;
            op()
        }
        other => other,
    }
}
