//! File writes as plan steps (hosts files, resolv.conf): each prints as the shell line that does
//! the same thing, byte for byte, and knows its undo from what the file held when planned.

use crate::firewall::rule::shell_quote;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// What a path held before a step changed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Previous {
    Text(String),
    Link(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileOp {
    /// `mkdir -m 0755 PATH` (its parent exists).
    MakeDir { path: PathBuf },
    /// `rmdir --ignore-fail-on-non-empty PATH`: an admin's own files keep the directory.
    RemoveDir { path: PathBuf },
    /// `printf '%s' TEXT > PATH`: an existing file is rewritten in place (a process that bound
    /// it over /etc/hosts sees the change); a link in the way is replaced by a file.
    Write {
        path: PathBuf,
        text: String,
        previous: Option<Previous>,
    },
    /// `printf '%s' TEXT >> PATH`, the file `at` bytes long when planned.
    Append {
        path: PathBuf,
        text: String,
        at: u64,
    },
    /// `truncate -s LEN PATH` (the undo of an append).
    Truncate { path: PathBuf, len: u64 },
    /// Overwrite bytes in place at `offset`: how a member leaves a shared hosts file without
    /// moving any other line. `old` is what was there.
    Overwrite {
        path: PathBuf,
        offset: u64,
        text: String,
        old: String,
    },
    /// `ln -sfn TARGET PATH`
    Symlink {
        path: PathBuf,
        target: PathBuf,
        previous: Option<Previous>,
    },
    /// `rm -f PATH`
    Remove { path: PathBuf, previous: Previous },
}

impl FileOp {
    pub fn undo(&self) -> Option<FileOp> {
        let restore = |path: &Path, previous: &Option<Previous>| match previous {
            None => FileOp::Remove {
                path: path.to_path_buf(),
                previous: Previous::Text(String::new()),
            },
            Some(p) => restore_previous(path, p),
        };
        Some(match self {
            FileOp::MakeDir { path } => FileOp::RemoveDir { path: path.clone() },
            FileOp::RemoveDir { path } => FileOp::MakeDir { path: path.clone() },
            FileOp::Write { path, previous, .. } | FileOp::Symlink { path, previous, .. } => {
                restore(path, previous)
            }
            FileOp::Append { path, at, .. } => FileOp::Truncate {
                path: path.clone(),
                len: *at,
            },
            FileOp::Overwrite {
                path,
                offset,
                text,
                old,
            } => FileOp::Overwrite {
                path: path.clone(),
                offset: *offset,
                text: old.clone(),
                old: text.clone(),
            },
            FileOp::Remove { path, previous } => restore_previous(path, previous),
            FileOp::Truncate { .. } => return None,
        })
    }

    /// The path a step changes.
    pub fn path(&self) -> &PathBuf {
        match self {
            FileOp::MakeDir { path }
            | FileOp::RemoveDir { path }
            | FileOp::Write { path, .. }
            | FileOp::Append { path, .. }
            | FileOp::Truncate { path, .. }
            | FileOp::Overwrite { path, .. }
            | FileOp::Symlink { path, .. }
            | FileOp::Remove { path, .. } => path,
        }
    }
}

fn restore_previous(path: &Path, previous: &Previous) -> FileOp {
    match previous {
        Previous::Text(t) => FileOp::Write {
            path: path.to_path_buf(),
            text: t.clone(),
            previous: None,
        },
        Previous::Link(target) => FileOp::Symlink {
            path: path.to_path_buf(),
            target: target.clone(),
            previous: None,
        },
    }
}

fn quote_path(p: &std::path::Path) -> String {
    shell_quote(&p.display().to_string())
}

impl fmt::Display for FileOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileOp::MakeDir { path } => write!(f, "mkdir -m 0755 {}", quote_path(path)),
            FileOp::RemoveDir { path } => {
                write!(f, "rmdir --ignore-fail-on-non-empty {}", quote_path(path))
            }
            FileOp::Write {
                path,
                text,
                previous,
            } => {
                if let Some(Previous::Link(_)) = previous {
                    writeln!(f, "rm -f {}", quote_path(path))?;
                }
                write!(
                    f,
                    "printf '%s' {} > {}",
                    shell_quote(text),
                    quote_path(path)
                )
            }
            FileOp::Append { path, text, .. } => {
                write!(
                    f,
                    "printf '%s' {} >> {}",
                    shell_quote(text),
                    quote_path(path)
                )
            }
            FileOp::Truncate { path, len } => write!(f, "truncate -s {len} {}", quote_path(path)),
            FileOp::Overwrite {
                path, offset, text, ..
            } => write!(
                f,
                "printf '%s' {} | dd of={} bs=1 seek={offset} conv=notrunc status=none",
                shell_quote(text),
                quote_path(path)
            ),
            FileOp::Symlink { path, target, .. } => {
                write!(f, "ln -sfn {} {}", quote_path(target), quote_path(path))
            }
            FileOp::Remove { path, .. } => write!(f, "rm -f {}", quote_path(path)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_over_a_link_removes_the_link_first_and_its_undo_puts_it_back() {
        let op = FileOp::Write {
            path: "/etc/netns/ns1/hosts".into(),
            text: "10.1.0.2\tns1\n".into(),
            previous: Some(Previous::Link("/run/cnet/hosts/lab".into())),
        };
        assert_eq!(
            op.to_string(),
            "rm -f /etc/netns/ns1/hosts\nprintf '%s' '10.1.0.2\tns1\n' > /etc/netns/ns1/hosts"
        );
        assert_eq!(
            op.undo().unwrap().to_string(),
            "ln -sfn /run/cnet/hosts/lab /etc/netns/ns1/hosts"
        );
    }

    #[test]
    fn an_overwrite_undoes_itself_with_the_old_bytes() {
        let op = FileOp::Overwrite {
            path: "/run/cnet/hosts/lab".into(),
            offset: 80,
            text: "#          ".into(),
            old: "10.1.0.3\tb2".into(),
        };
        let undo = op.undo().unwrap();
        assert!(matches!(&undo, FileOp::Overwrite { text, .. } if text == "10.1.0.3\tb2"));
        assert!(op.to_string().contains("seek=80 conv=notrunc"));
    }
}
