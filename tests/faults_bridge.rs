//! Fault injection, bridge networks and the predefined host and none networks (attach and detach
//! only): `net create`, `attach`, `detach`, `net rm`, `net rm --force` and `ns rm` failed and SIGKILLed at
//! each step in turn leave kernel, firewall and state agreeing once the command is retried (after
//! `cnet gc`, or on its own), and the retry succeeds. The matrix is tests/fault_matrix/mod.rs (one
//! file per driver family keeps each file short; ipvlan's row is in tests/ipvlan.rs, run where the
//! kernel has it). `--nocapture` shows the steps counted.

mod common;
mod fault_matrix;

use fault_matrix::{Fault, run};

#[test]
fn bridge_fail() {
    run(&fault_matrix::BRIDGE, Fault::Fail);
}

#[test]
fn bridge_kill() {
    run(&fault_matrix::BRIDGE, Fault::Kill);
}

#[test]
fn host_fail() {
    run(&fault_matrix::HOST, Fault::Fail);
}

#[test]
fn host_kill() {
    run(&fault_matrix::HOST, Fault::Kill);
}

#[test]
fn none_fail() {
    run(&fault_matrix::NONE, Fault::Fail);
}

#[test]
fn none_kill() {
    run(&fault_matrix::NONE, Fault::Kill);
}
