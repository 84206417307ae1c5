//! Fault injection, dual-stack VXLAN overlays: `net create`, `attach`, `detach`, `net rm` and `net
//! rm --force` failed and SIGKILLed at each step in turn leave kernel, firewall and state agreeing
//! once the command is retried (after `cnet gc`, or on its own), and the retry succeeds. The matrix
//! is tests/fault_matrix/mod.rs (one file per driver family keeps each file short; ipvlan's row is
//! in tests/ipvlan.rs, run where the kernel has it). `--nocapture` shows the steps counted.

mod common;
mod fault_matrix;

use fault_matrix::{Fault, run};

#[test]
fn vxlan_dual_stack_fail() {
    run(&fault_matrix::VXLAN6, Fault::Fail);
}

#[test]
fn vxlan_dual_stack_kill() {
    run(&fault_matrix::VXLAN6, Fault::Kill);
}
