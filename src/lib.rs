//! cnet: container networks by hand, on a bare Linux box.
//!
//! The library is split the way DESIGN.md describes: pure planning (`ipam`, `drivers`, `plan`,
//! `firewall::layout`, `names`) apart from side effects (`kernel`, `firewall` backends, `store`,
//! `hosts`). `commands` glue the two together; `cli` holds the clap types.

/// `println!` that tolerates a closed standard output (`cnet net ls | head -1`): what nobody
/// reads is dropped and the command still finishes its work (a panic half way through a
/// detach would leave its links to the kernel undeleted).
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `print!` that tolerates a closed standard output, as [`outln!`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

pub mod cli;
pub mod commands;
pub mod drivers;
pub mod error;
pub mod firewall;
pub mod fsutil;
#[cfg(test)]
pub mod fuzz;
pub mod hosts;
pub mod ipam;
pub mod kernel;
pub mod model;
pub mod names;
pub mod output;
pub mod plan;
pub mod ports;
pub mod store;
pub mod timing;

pub use error::{Error, Result};
