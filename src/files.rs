//! Carrying out file steps (`plan::FileOp`), and a view of files that planning reads: the disk
//! as it is, overlaid with what earlier steps of the same plan will have written. Nothing here
//! follows a symbolic link it did not plan for: files are opened with O_NOFOLLOW.

use crate::error::{Error, Result};
use crate::plan::file_op::{FileOp, Previous};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::io(path.display().to_string(), e)
}

fn open(path: &Path, opts: &mut OpenOptions) -> std::io::Result<fs::File> {
    opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .mode(0o644)
        .open(path)
}

/// Carry out one step. Whatever a removal removes being gone already counts as done.
pub fn exec(op: &FileOp) -> Result<()> {
    let path = op.path();
    let done = match op {
        FileOp::MakeDir { path } => match fs::DirBuilder::new().mode(0o755).create(path) {
            Err(e) if e.kind() == ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
            other => other,
        },
        FileOp::RemoveDir { path } => match fs::remove_dir(path) {
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::DirectoryNotEmpty) => {
                Ok(())
            }
            other => other,
        },
        FileOp::Write { path, text, .. } => write(path, text),
        FileOp::Append { path, text, .. } => open(path, OpenOptions::new().append(true))
            .and_then(|mut f| f.write_all(text.as_bytes())),
        FileOp::Truncate { path, len } => {
            open(path, OpenOptions::new().write(true)).and_then(|f| f.set_len(*len))
        }
        FileOp::Overwrite {
            path, offset, text, ..
        } => open(path, OpenOptions::new().write(true))
            .and_then(|f| f.write_all_at(text.as_bytes(), *offset)),
        FileOp::Symlink { path, target, .. } => symlink(path, target),
        FileOp::Remove { path, .. } => match fs::remove_file(path) {
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            other => other,
        },
    };
    done.map_err(|e| io(path, e))
}

/// A file rewritten in place, or made; a link in the way is replaced, never written through.
fn write(path: &Path, text: &str) -> std::io::Result<()> {
    if path
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
    {
        fs::remove_file(path)?;
    }
    let mut f = open(
        path,
        OpenOptions::new().write(true).create(true).truncate(true),
    )?;
    if !f.metadata()?.file_type().is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    f.write_all(text.as_bytes())
}

/// A link made beside its place and renamed over it: the path always names a file or a link.
fn symlink(path: &Path, target: &Path) -> std::io::Result<()> {
    let tmp = path.with_file_name(format!(".cnet.{}.lnk", std::process::id()));
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    fs::rename(&tmp, path)
}

/// What a path holds, as planning sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Absent,
    Dir,
    File(String),
    Link(PathBuf),
}

impl Node {
    pub fn previous(&self) -> Option<Previous> {
        match self {
            Node::File(t) => Some(Previous::Text(t.clone())),
            Node::Link(p) => Some(Previous::Link(p.clone())),
            Node::Absent | Node::Dir => None,
        }
    }
}

/// Where planning reads files from: the disk, or a test's fake.
pub trait FileSource {
    /// What `path` holds, without following a final link.
    fn node(&self, path: &Path) -> Result<Node>;
    /// The names in a directory, sorted (none when it is missing).
    fn list(&self, dir: &Path) -> Vec<String>;
}

/// This machine's files.
pub struct Disk;

impl FileSource for Disk {
    fn node(&self, path: &Path) -> Result<Node> {
        read_node(path)
    }
    fn list(&self, dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

/// What `path` holds on disk, without following a final link. A file that is not valid text,
/// or that is not a regular file (a FIFO, a device), is an error naming it.
pub fn read_node(path: &Path) -> Result<Node> {
    let meta = match path.symlink_metadata() {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Node::Absent),
        Err(e) => return Err(io(path, e)),
    };
    let kind = meta.file_type();
    if kind.is_symlink() {
        return fs::read_link(path).map(Node::Link).map_err(|e| io(path, e));
    }
    if kind.is_dir() {
        return Ok(Node::Dir);
    }
    if !kind.is_file() {
        return Err(Error::runtime(format!(
            "{}: not a regular file",
            path.display()
        )));
    }
    fs::read_to_string(path)
        .map(Node::File)
        .map_err(|e| io(path, e))
}

/// The files as a plan will have left them so far: a source, overlaid with what earlier
/// steps of the same plan write.
pub struct FileView<'a> {
    source: &'a dyn FileSource,
    planned: HashMap<PathBuf, Node>,
    /// Files as read, each once: a plan reads the same hosts file for several of its steps.
    read: RefCell<HashMap<PathBuf, Node>>,
}

impl<'a> FileView<'a> {
    pub fn new(source: &'a dyn FileSource) -> Self {
        FileView {
            source,
            planned: HashMap::new(),
            read: RefCell::default(),
        }
    }

    /// What `path` holds, without following a final link.
    pub fn node(&self, path: &Path) -> Result<Node> {
        if let Some(n) = self.planned.get(path) {
            return Ok(n.clone());
        }
        if let Some(n) = self.read.borrow().get(path) {
            return Ok(n.clone());
        }
        let n = self.source.node(path)?;
        self.read.borrow_mut().insert(path.to_path_buf(), n.clone());
        Ok(n)
    }

    /// The names in a directory once the plan so far has run.
    pub fn list(&self, dir: &Path) -> Vec<String> {
        let mut names = self.source.list(dir);
        for (path, node) in &self.planned {
            if path.parent() == Some(dir)
                && let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned())
            {
                match node {
                    Node::Absent => names.retain(|n| *n != name),
                    _ if !names.contains(&name) => names.push(name),
                    _ => {}
                }
            }
        }
        names.sort();
        names
    }

    /// The text of a file, following a link to a file (as a bind mount would).
    pub fn text(&self, path: &Path) -> Result<Option<String>> {
        match self.node(path)? {
            Node::File(t) => Ok(Some(t)),
            Node::Link(target) => self.text(&path.parent().unwrap_or(Path::new("/")).join(target)),
            Node::Absent | Node::Dir => Ok(None),
        }
    }

    /// Record a step's effect, so later reads of the same plan see it.
    pub fn record(&mut self, op: &FileOp) -> Result<()> {
        let before = match op {
            FileOp::Append { .. } | FileOp::Truncate { .. } | FileOp::Overwrite { .. } => {
                self.text(op.path())?
            }
            _ => None,
        };
        self.planned.insert(op.path().clone(), after(op, before));
        Ok(())
    }
}

/// What a path holds after a step, given the text it held (for the steps that change a file's
/// text in place: appending, truncating, overwriting).
pub fn after(op: &FileOp, before: Option<String>) -> Node {
    let mut text = before.unwrap_or_default();
    match op {
        FileOp::MakeDir { .. } => Node::Dir,
        FileOp::RemoveDir { .. } | FileOp::Remove { .. } => Node::Absent,
        FileOp::Write { text, .. } => Node::File(text.clone()),
        FileOp::Symlink { target, .. } => Node::Link(target.clone()),
        FileOp::Append { text: more, .. } => {
            text.push_str(more);
            Node::File(text)
        }
        FileOp::Truncate { len, .. } => {
            text.truncate(*len as usize);
            Node::File(text)
        }
        FileOp::Overwrite {
            offset, text: new, ..
        } => {
            let mut bytes = text.into_bytes();
            let at = *offset as usize;
            if bytes.len() < at + new.len() {
                // As pwrite(2) past the end: the gap reads as zero bytes.
                bytes.resize(at + new.len(), 0);
            }
            bytes[at..at + new.len()].copy_from_slice(new.as_bytes());
            Node::File(String::from_utf8_lossy(&bytes).into_owned())
        }
    }
}

/// Steps that make `dir` and its missing parents, outermost first. A link where a directory
/// should be is refused: cnet never writes through a link it did not make.
pub fn make_dirs(view: &FileView, dir: &Path) -> Result<Vec<FileOp>> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at {
        match view.node(d)? {
            Node::Dir => break,
            Node::Absent => missing.push(FileOp::MakeDir {
                path: d.to_path_buf(),
            }),
            Node::Link(_) | Node::File(_) => {
                return Err(Error::runtime(format!(
                    "{} is not a directory (a link or a file is in the way): refusing to write there",
                    d.display()
                )));
            }
        }
        at = d.parent();
    }
    missing.reverse();
    Ok(missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cnet-files-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn steps_and_their_undos_leave_the_disk_as_it_was() {
        let d = temp_dir("undo");
        let f = d.join("hosts");
        fs::write(&f, "a\n").unwrap();
        let steps = [
            FileOp::Append {
                path: f.clone(),
                text: "bb\n".into(),
                at: 2,
            },
            FileOp::Overwrite {
                path: f.clone(),
                offset: 2,
                text: "#c".into(),
                old: "bb".into(),
            },
        ];
        for s in &steps {
            exec(s).unwrap();
        }
        assert_eq!(fs::read_to_string(&f).unwrap(), "a\n#c\n");
        for s in steps.iter().rev() {
            exec(&s.undo().unwrap()).unwrap();
        }
        assert_eq!(fs::read_to_string(&f).unwrap(), "a\n");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_write_replaces_a_planted_link_and_never_writes_through_it() {
        let d = temp_dir("link");
        let victim = d.join("victim");
        fs::write(&victim, "keep").unwrap();
        let f = d.join("hosts");
        std::os::unix::fs::symlink(&victim, &f).unwrap();
        exec(&FileOp::Write {
            path: f.clone(),
            text: "new".into(),
            previous: None,
        })
        .unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(fs::read_to_string(&f).unwrap(), "new");
        let err = exec(&FileOp::Append {
            path: {
                let l = d.join("l2");
                std::os::unix::fs::symlink(&victim, &l).unwrap();
                l
            },
            text: "x".into(),
            at: 0,
        });
        assert!(err.is_err());
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn the_view_sees_what_earlier_steps_planned() {
        let d = temp_dir("view");
        let mut view = FileView::new(&Disk);
        let f = d.join("sub/hosts");
        let dirs = make_dirs(&view, &d.join("sub")).unwrap();
        assert_eq!(dirs.len(), 1);
        for s in &dirs {
            view.record(s).unwrap();
        }
        view.record(&FileOp::Write {
            path: f.clone(),
            text: "x\n".into(),
            previous: None,
        })
        .unwrap();
        view.record(&FileOp::Append {
            path: f.clone(),
            text: "y\n".into(),
            at: 2,
        })
        .unwrap();
        assert_eq!(view.text(&f).unwrap().as_deref(), Some("x\ny\n"));
        assert!(!f.exists(), "a view changes nothing on disk");
        fs::remove_dir_all(&d).unwrap();
    }
}
