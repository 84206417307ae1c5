//! `cargo xtask docs [DIR]`: write man/ and completions/ (into the repository by default).

mod docs;

use clap::CommandFactory;
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = match args.as_slice() {
        [task] if task == "docs" => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."),
        [task, dir] if task == "docs" => PathBuf::from(dir),
        _ => {
            eprintln!("usage: cargo xtask docs [DIR]");
            std::process::exit(2);
        }
    };
    if let Err(e) = docs::generate(cnet::cli::Cli::command(), &dir) {
        eprintln!("xtask: writing docs into {}: {e}", dir.display());
        std::process::exit(1);
    }
}
