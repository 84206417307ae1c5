use clap::Parser;
use std::error::Error as _;

fn main() {
    cnet::timing::mark("start");
    if std::env::args().nth(1).as_deref() == Some(cnet::kernel::reclaim::RECLAIM_ARG) {
        let links: Vec<String> = std::env::args().skip(2).collect();
        cnet::kernel::reclaim::reclaimer_main(&links);
    }
    let cli = cnet::cli::Cli::parse();
    cnet::timing::mark("parsed");
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
    cnet::timing::mark("done");
}
