//! cnet: container networks by hand, on a bare Linux box.
//!
//! The library is split the way DESIGN.md describes: pure planning (`ipam`, `drivers`, `plan`,
//! `firewall::layout`, `names`) apart from side effects (`kernel`, `firewall` backends, `store`,
//! `hosts`). `commands` glue the two together; `cli` holds the clap types.
//!
//! Layers, each importing only those before it:
//! `model` ← `plan` ← `firewall`/`drivers` ← `host`/`apply` ← `commands`.
//! `model` is the data (networks, endpoints, leases, sublink kinds, host facts a definition
//! reads); `plan` the ops; `drivers` plan a driver's ops and read the world only through
//! `drivers::Facts`, which `commands::Ctx` implements; `host` (with `kernel`) and `apply`
//! carry plans out; `commands` read, plan and apply. One exception is left: `plan` holds
//! `firewall`'s rule types in its ops, and the firewall backends hand their sockets to
//! `kernel::reclaim`, while `kernel` names `plan` ops in its errors (a circle through `kernel`).

/// `println!` that does not panic when standard output fails: the command still finishes its
/// work (a panic half way through a detach would leave its links to the kernel undeleted) and
/// the first failure is kept for `main` to report (see [`output::write_error`]).
#[macro_export]
macro_rules! outln {
    () => {
        $crate::output::write_out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` that does not panic when standard output fails, as [`outln!`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_out(format_args!($($arg)*))
    };
}

pub mod apply;
pub mod cli;
pub mod commands;
pub mod deferred;
pub mod drivers;
pub mod error;
pub mod files;
pub mod firewall;
pub mod fsutil;
#[cfg(test)]
pub mod fuzz;
pub mod host;
pub mod hosts;
pub mod ipam;
pub mod kernel;
pub mod model;
pub mod names;
pub mod output;
pub mod plan;
pub mod ports;
pub mod store;
#[cfg(test)]
pub mod testing;
pub mod timing;
pub mod topology;

pub use error::{Error, Result};
