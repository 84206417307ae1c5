//! The `cnet` binary.
//!
//! `no_main`: every cnet command is a short-lived process, and Rust's own start-up costs one
//! of them ~0.1 ms on a VM (it reads /proc/self/maps to find the main thread's stack and maps an
//! alternate signal stack, for a stack-overflow message). `main` below does the two parts of it
//! cnet relies on: SIGPIPE ignored, and file descriptors 0-2 open.

#![no_main]

use clap::Parser;
use std::error::Error as _;
use std::ffi::{CStr, OsString};
use std::os::raw::{c_char, c_int};
use std::os::unix::ffi::OsStringExt;

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // A write to a closed pipe is then an error cnet handles (see `outln!`), not a kill half
    // way through a command.
    // SAFETY: setting a signal's disposition to "ignore" has no other effect.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    ensure_std_fds_open();
    // A panic must not unwind out of a C function: report it (the hook has printed it) with
    // Rust's usual status.
    // SAFETY: the C runtime passes argc valid NUL-terminated strings in argv.
    let args = unsafe { args_of(argc, argv) };
    let code = std::panic::catch_unwind(|| run(args)).unwrap_or(101);
    std::process::exit(with_output_checked(code))
}

/// The exit status once standard output is flushed: a command that could not print what it
/// had to (`cnet net ls >/dev/full`) failed, even if its work is done.
fn with_output_checked(code: c_int) -> c_int {
    let Some(e) = cnet::output::write_error() else {
        return code;
    };
    let why = e
        .raw_os_error()
        .map(cnet::kernel::netlink::errno_text)
        .unwrap_or_else(|| e.to_string());
    eprintln!("cnet: writing output: {why}");
    if code == 0 { 1 } else { code }
}

/// The arguments as given to `main`. Not `std::env::args`: without Rust's own `main`, only
/// glibc hands them to std (through `.init_array`); musl does not.
///
/// # Safety
/// `argv` must hold `argc` valid NUL-terminated strings.
unsafe fn args_of(argc: c_int, argv: *const *const c_char) -> Vec<OsString> {
    (0..argc.max(0) as usize)
        .map(|i| {
            // SAFETY: i < argc, and each of those entries is a C string (the caller's promise).
            let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
            OsString::from_vec(arg.to_bytes().to_vec())
        })
        .collect()
}

fn run(args: Vec<OsString>) -> c_int {
    if let Some(code) = cnet::commands::complete::intercept(&args) {
        return code;
    }
    cnet::timing::mark("start");
    let cli = cnet::cli::Cli::parse_from(args);
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
        return e.exit_code();
    }
    cnet::timing::mark("done");
    0
}

/// Open /dev/null on any of fds 0-2 that is closed, as Rust's start-up does: otherwise the
/// first file or socket cnet opens would take its number, and be written to as standard output
/// or handed to a child as its standard input.
fn ensure_std_fds_open() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: poll reads and writes the three pollfd structs given, and nothing else.
    if unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } < 0 {
        return;
    }
    for p in fds {
        if p.revents & libc::POLLNVAL != 0 {
            // open returns the lowest free descriptor: this one.
            // SAFETY: a constant NUL-terminated path.
            let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
            if fd != p.fd {
                std::process::abort();
            }
        }
    }
}
