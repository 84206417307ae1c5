//! Fault injection, macvlan networks (IPv4, dual-stack, and with a host shim): `net create`,
//! `attach`, `detach`, `net rm`, `net rm --force` and `ns rm` failed and SIGKILLed at each step in
//! turn leave kernel, firewall and state agreeing once the command is retried (after `cnet gc`, or
//! on its own), and the retry succeeds. The matrix is tests/fault_matrix/mod.rs (one file per
//! driver family keeps each file short; ipvlan's row is in tests/ipvlan.rs, run where the kernel
//! has it). `--nocapture` shows the steps counted.

mod common;
mod fault_matrix;

use fault_matrix::{Fault, run};

#[test]
fn macvlan_fail() {
    run(&fault_matrix::MACVLAN, Fault::Fail);
}

#[test]
fn macvlan_kill() {
    run(&fault_matrix::MACVLAN, Fault::Kill);
}

#[test]
fn macvlan_dual_stack_fail() {
    run(&fault_matrix::MACVLAN6, Fault::Fail);
}

#[test]
fn macvlan_dual_stack_kill() {
    run(&fault_matrix::MACVLAN6, Fault::Kill);
}

#[test]
fn macvlan_host_shim_fail() {
    run(&fault_matrix::MACVLAN_SHIM, Fault::Fail);
}

#[test]
fn macvlan_host_shim_kill() {
    run(&fault_matrix::MACVLAN_SHIM, Fault::Kill);
}
