//! Man pages and shell completions, generated from the clap definitions.

use crate::cli::Cli;
use crate::error::{Error, Result};
use clap::CommandFactory;
use clap_complete::{Shell, generate_to};
use std::fs;
use std::path::Path;

pub fn generate(dir: &Path) -> Result<()> {
    let io = |p: &Path, e: std::io::Error| Error::io(p.display().to_string(), e);
    let man = dir.join("man");
    let comp = dir.join("completions");
    fs::create_dir_all(&man).map_err(|e| io(&man, e))?;
    fs::create_dir_all(&comp).map_err(|e| io(&comp, e))?;
    let mut cmd = without_help_subcommands(Cli::command());
    cmd.build();
    clap_mangen::generate_to(cmd.clone(), &man).map_err(|e| io(&man, e))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        generate_to(shell, &mut cmd, "cnet", &comp).map_err(|e| io(&comp, e))?;
    }
    Ok(())
}

/// `cnet help ...` is for the terminal; it needs no man pages of its own.
fn without_help_subcommands(cmd: clap::Command) -> clap::Command {
    cmd.disable_help_subcommand(true)
        .mut_subcommands(without_help_subcommands)
}
