//! The state lock, which is also the journal of plans under way.
//!
//! Only the holder of the exclusive lock carries out a plan, so the lock file is where its
//! intent is kept: one line per plan under way, `PID-START JSON` (almost always none, at most a
//! few left by killed commands). Taking the lock and finding nothing to recover is then one
//! read of the file just locked, and recording an intent one write to it and one truncation:
//! no file is created, renamed or unlinked per command.

use super::safe_io::{ensure_regular, io_err, making_dir, refused};
use super::{FILE_MODE, SAFE_FLAGS};
use crate::error::{Error, Result};
use crate::store::{Guard, Intent};
use nix::fcntl::{Flock, FlockArg};
use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// The lock file while this process holds it (shared with the guard, which empties it).
#[derive(Default)]
pub(super) struct Journal {
    path: PathBuf,
    held: Rc<RefCell<Option<Flock<File>>>>,
}

/// Dropping it releases the lock.
struct HeldLock(Rc<RefCell<Option<Flock<File>>>>);

impl Drop for HeldLock {
    fn drop(&mut self) {
        self.0.borrow_mut().take();
    }
}

impl Journal {
    pub(super) fn new(path: PathBuf) -> Self {
        Journal {
            path,
            held: Rc::default(),
        }
    }

    /// Take the exclusive lock (creating the state directory and the file if missing).
    pub(super) fn lock(&self) -> Result<Guard> {
        let path = &self.path;
        let dir = path
            .parent()
            .expect("the lock lives in the state directory");
        let file = making_dir(dir, || {
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .mode(FILE_MODE)
                .custom_flags(SAFE_FLAGS)
                .open(path)
        })
        .and_then(|f| ensure_regular(&f).map(|_| f))
        .map_err(|e| refused(path, &e))?;
        let lock = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| io_err(path, errno.into()))?;
        *self.held.borrow_mut() = Some(lock);
        Ok(Box::new(HeldLock(self.held.clone())))
    }

    /// Every intent recorded; lines cut short by a kill while being written are dropped (their
    /// plan had not started). Without the lock, the file is read as it is.
    pub(super) fn intents(&self) -> Result<Vec<Intent>> {
        let text = match self.held.borrow().as_deref() {
            Some(f) => read_all(f).map_err(|e| io_err(&self.path, e))?,
            None => match read_unlocked(&self.path) {
                Ok(t) => t,
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(io_err(&self.path, e)),
            },
        };
        let mut out = Vec::new();
        let mut torn = false;
        for line in text.lines().filter(|l| !l.is_empty()) {
            match line
                .split_once(' ')
                .map(|(_, json)| serde_json::from_str(json))
            {
                Some(Ok(intent)) => out.push(intent),
                _ => torn = true,
            }
        }
        if torn {
            let kept: Vec<String> = out.iter().map(line_of).collect::<Result<_>>()?;
            self.rewrite(&kept)?;
        }
        out.sort_by_key(|i: &Intent| (i.pid, i.start));
        Ok(out)
    }

    /// Record a plan before it runs, replacing an intent of the same process.
    pub(super) fn put(&self, intent: &Intent) -> Result<()> {
        let id = intent.id();
        let mut lines = self.other_lines(&id)?;
        lines.push(line_of(intent)?);
        self.rewrite(&lines)
    }

    pub(super) fn drop_intent(&self, intent: &Intent) -> Result<()> {
        let lines = self.other_lines(&intent.id())?;
        self.rewrite(&lines)
    }

    /// The journal's lines that are not the intent `id`'s.
    fn other_lines(&self, id: &str) -> Result<Vec<String>> {
        let held = self.held.borrow();
        let f = held.as_deref().ok_or_else(not_held)?;
        let text = read_all(f).map_err(|e| io_err(&self.path, e))?;
        Ok(text
            .lines()
            .filter(|l| !l.is_empty() && l.split_once(' ').is_none_or(|(i, _)| i != id))
            .map(str::to_owned)
            .collect())
    }

    /// Make the journal hold exactly `lines` (the lock must be held).
    fn rewrite(&self, lines: &[String]) -> Result<()> {
        let held = self.held.borrow();
        let f = held.as_deref().ok_or_else(not_held)?;
        let mut text = String::new();
        for l in lines {
            text.push_str(l);
            text.push('\n');
        }
        f.write_all_at(text.as_bytes(), 0)
            .and_then(|_| f.set_len(text.len() as u64))
            .map_err(|e| io_err(&self.path, e))
    }
}

fn line_of(intent: &Intent) -> Result<String> {
    let json = serde_json::to_string(intent).map_err(|e| Error::runtime(e.to_string()))?;
    Ok(format!("{} {json}", intent.id()))
}

fn not_held() -> Error {
    Error::runtime("an intent is recorded only under the state lock")
}

/// The whole file, from its start, whatever the file position.
fn read_all(f: &File) -> std::io::Result<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = f.read_at(&mut chunk, buf.len() as u64)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8(buf).map_err(|e| std::io::Error::new(ErrorKind::InvalidData, e))
}

fn read_unlocked(path: &Path) -> std::io::Result<String> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(SAFE_FLAGS)
        .open(path)?;
    ensure_regular(&f)?;
    read_all(&f)
}
