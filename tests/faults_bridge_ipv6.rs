//! Fault injection, dual-stack bridge networks (with `table inet cnet`, and with the iptables
//! fallback writing iptables and ip6tables rules): `net create`, `attach`, `detach`, `net rm` and `net
//! rm --force` failed and SIGKILLed at each step in turn leave kernel, firewall and state agreeing
//! once the command is retried (after `cnet gc`, or on its own), and the retry succeeds. The matrix
//! is tests/fault_matrix/mod.rs (one file per driver family keeps each file short; ipvlan's row is
//! in tests/ipvlan.rs, run where the kernel has it). `--nocapture` shows the steps counted.

mod common;
mod fault_matrix;

use fault_matrix::{Fault, run};

#[test]
fn bridge_dual_stack_fail() {
    run(&fault_matrix::BRIDGE6, Fault::Fail);
}

#[test]
fn bridge_dual_stack_kill() {
    run(&fault_matrix::BRIDGE6, Fault::Kill);
}

#[test]
fn bridge_dual_stack_iptables_fail() {
    run(&fault_matrix::BRIDGE6_IPTABLES, Fault::Fail);
}

#[test]
fn bridge_dual_stack_iptables_kill() {
    run(&fault_matrix::BRIDGE6_IPTABLES, Fault::Kill);
}
