use clap::Parser;
use std::error::Error as _;

fn main() {
    let cli = cnet::cli::Cli::parse();
    let verbose = cli.global.verbose;
    if let Err(e) = cnet::commands::run(cli) {
        if !matches!(e, cnet::Error::Reported(_)) {
            eprintln!("cnet: {e}");
            if verbose {
                let mut cause = e.source();
                while let Some(c) = cause {
                    eprintln!("  caused by: {c}");
                    cause = c.source();
                }
            }
        }
        std::process::exit(e.exit_code());
    }
}
