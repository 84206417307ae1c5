//! Typed errors of the library. Each error knows whether it is the user's fault (exit status 2)
//! or a runtime failure (exit status 1).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// Bad input or bad usage: nothing was changed. Exit status 2.
    #[error("{0}")]
    Usage(String),
    /// Something failed while doing the work. Exit status 1.
    #[error("{0}")]
    Runtime(String),
    /// A state file that cannot be read or parsed.
    #[error("{path}: {msg}")]
    State { path: String, msg: String },
    /// A kernel operation failed; `op` is the equivalent command line.
    #[error("{op}: {msg}")]
    Kernel { op: String, msg: String },
    /// A claim or replacement in a shared store lost to another host's: the request may be
    /// made again with what the store holds now (a DHCP NAK). Exit status 1.
    #[error("{0}")]
    Conflict(String),
    /// Already reported on stderr; carries only the exit status.
    #[error("")]
    Reported(i32),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }
    pub fn runtime(msg: impl Into<String>) -> Self {
        Error::Runtime(msg.into())
    }
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
    /// The process exit status this error maps to.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::Reported(code) => *code,
            _ => 1,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
