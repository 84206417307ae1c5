//! cnet: container networks by hand, on a bare Linux box.
//!
//! The library is split the way DESIGN.md describes: pure planning (`ipam`, `drivers`, `plan`,
//! `firewall::layout`, `names`) apart from side effects (`kernel`, `firewall` backends, `store`,
//! `hosts`). `commands` glue the two together; `cli` holds the clap types.

pub mod cli;
pub mod commands;
pub mod drivers;
pub mod error;
pub mod firewall;
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
