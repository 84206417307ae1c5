//! `cnet __complete KIND [PREFIX]`: the candidates a shell completes, one per line. Hidden (the
//! shells' completion scripts call it) and outside the clap definition, so it is in no help,
//! man page or completion itself. It never fails: a completion shows what it can read.

use super::{Ctx, net};
use crate::cli::Global;
use std::ffi::OsString;
use std::path::PathBuf;

/// The word that selects this command.
pub const COMMAND: &str = "__complete";

/// What can be completed.
pub const KINDS: [&str; 5] = ["networks", "namespaces", "drivers", "modes", "parents"];

/// Run `__complete` if that is the command line (`args[1]`); the exit status then.
pub fn intercept(args: &[OsString]) -> Option<i32> {
    if args.get(1).is_none_or(|a| a != COMMAND) {
        return None;
    }
    let word = |i: usize| args.get(i).map(|a| a.to_string_lossy().into_owned());
    let Some(kind) = word(2) else {
        eprintln!("usage: cnet {COMMAND} {} [PREFIX]", KINDS.join("|"));
        return Some(2);
    };
    let prefix = word(3).unwrap_or_default();
    let mut text = String::new();
    for c in candidates(&kind)
        .into_iter()
        .filter(|c| c.starts_with(&prefix))
    {
        text.push_str(&c);
        text.push('\n');
    }
    crate::out!("{text}");
    Some(0)
}

/// The candidates of one kind, sorted, without duplicates.
pub fn candidates(kind: &str) -> Vec<String> {
    let mut out: Vec<String> = match kind {
        "networks" => networks(),
        "namespaces" => namespaces(),
        "drivers" => [
            "bridge", "host", "none", "macvlan", "ipvlan", "vxlan", "overlay",
        ]
        .map(String::from)
        .to_vec(),
        "modes" => ["bridge", "private", "vepa", "passthru", "l2", "l3", "l3s"]
            .map(String::from)
            .to_vec(),
        "parents" => host_interfaces(),
        _ => Vec::new(),
    };
    out.sort();
    out.dedup();
    out
}

fn ctx() -> Ctx {
    let state_dir = std::env::var_os("CNET_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/lib/cnet"));
    Ctx::new(Global {
        state_dir,
        store: None,
        format: None,
        dry_run: false,
        verbose: false,
    })
}

fn networks() -> Vec<String> {
    let ctx = ctx();
    net::all(&ctx)
        .map(|nets| nets.into_iter().map(|n| n.name).collect())
        .unwrap_or_default()
}

/// The names under /run/netns, and those cnet has endpoints for.
fn namespaces() -> Vec<String> {
    let ctx = ctx();
    let mut out = crate::kernel::netns::list().unwrap_or_default();
    for n in ctx.store.network_names().unwrap_or_default() {
        for ep in ctx.store.endpoints(&n).unwrap_or_default() {
            out.push(ep.netns);
        }
    }
    out
}

/// The host's interfaces but loopback: the parents a macvlan, ipvlan or vxlan network can use.
fn host_interfaces() -> Vec<String> {
    std::fs::read_dir("/sys/class/net")
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != "lo")
                .collect()
        })
        .unwrap_or_default()
}
