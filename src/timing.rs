//! Where a command spends its time: with `CNET_TIMING=1`, each phase and each applied op is
//! printed on stderr with its duration, for profiling (bench/README.md).

use std::sync::OnceLock;
use std::time::Instant;

fn start() -> Option<Instant> {
    static START: OnceLock<Option<Instant>> = OnceLock::new();
    *START.get_or_init(|| {
        let on = std::env::var_os("CNET_TIMING").is_some_and(|v| !v.is_empty() && v != "0");
        on.then(Instant::now)
    })
}

/// Whether timing is on.
pub fn enabled() -> bool {
    start().is_some()
}

/// A mark: milliseconds since the process started timing, and what happened.
pub fn mark(what: impl std::fmt::Display) {
    if let Some(t0) = start() {
        eprintln!("[{:8.3} ms] {what}", t0.elapsed().as_secs_f64() * 1e3);
    }
}

/// Time `f`, printing its duration under the label `what` makes (only made when timing is on).
pub fn time<T, D: std::fmt::Display>(what: impl FnOnce() -> D, f: impl FnOnce() -> T) -> T {
    if !enabled() {
        return f();
    }
    let t = Instant::now();
    let out = f();
    mark(format_args!(
        "{:7.3} ms  {}",
        t.elapsed().as_secs_f64() * 1e3,
        what()
    ));
    out
}
