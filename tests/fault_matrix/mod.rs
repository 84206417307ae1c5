//! The fault matrix: for one driver, each of `net create`, `attach` (publishing a port where
//! the driver can), `detach`, `net rm`, `net rm --force` (with namespaces attached) and `ns rm`
//! (of a namespace on the network and, for most rows, a second one), made to
//! fail at each step of its plan in turn (`CNET_FAULT=fail@N`), and separately SIGKILLed at
//! each step (`CNET_FAULT=kill@N`), until it runs to its end. After a kill, either `cnet gc`
//! repairs first and then the command is retried, or the command is simply retried (the next
//! command finishes or undoes the interrupted plan itself). Either way kernel, firewall and
//! state must then agree (`common::consistency`), and the retry succeeds — or, for a removal
//! that the repair already completed, says it is gone (exit status 2).
//!
//! Shared by tests/faults_*.rs (every driver this kernel has) and tests/ipvlan.rs (ipvlan, run
//! only where the kernel has it).

#![allow(dead_code)] // each test file runs some of the rows

use crate::common::consistency::{check, gather_script};
use crate::common::{Run, Sandbox};

/// One driver's row of the matrix.
pub struct Case {
    /// What the report calls it.
    pub label: &'static str,
    /// The network's name.
    pub net: &'static str,
    /// `net create NET ...` arguments; `None` for a predefined network (host, none).
    pub create: Option<&'static str>,
    /// Extra `attach` arguments of the namespace under test.
    pub attach: &'static str,
    /// A shell script preparing the sandbox (LAN, underlay).
    pub setup: &'static str,
    /// Whether the namespace under test is on a second (bridge) network all along.
    pub side: bool,
    /// Whether namespaces get addresses (checked by a ping after each attach).
    pub addressed: bool,
    /// Whether every command runs with the iptables fallback (`CNET_FIREWALL=iptables`).
    pub iptables: bool,
}

/// A LAN for macvlan and ipvlan networks (`lan0`), and an underlay for overlays (`under0`).
const NETS: &str = "ip link add lan0 type veth peer name lan0p && ip link set lan0 up && \
                    ip link set lan0p up && \
                    ip link add under0 type veth peer name under0p && \
                    ip addr add 192.0.2.10/24 dev under0 && ip link set under0 up";

const fn case(
    label: &'static str,
    net: &'static str,
    create: &'static str,
    attach: &'static str,
) -> Case {
    Case {
        label,
        net,
        create: Some(create),
        attach,
        setup: NETS,
        side: true,
        addressed: true,
        iptables: false,
    }
}

pub const BRIDGE: Case = case("bridge", "lab", "--subnet 10.91.0.0/24", "-p 8080:80");
pub const BRIDGE6: Case = case(
    "bridge --ipv6",
    "lab",
    "--subnet 10.91.0.0/24 --ipv6 --subnet6 fd00:91::/64",
    "-p 8080:80",
);
/// The dual-stack bridge on the iptables fallback: its rules in iptables and ip6tables.
pub const BRIDGE6_IPTABLES: Case = Case {
    label: "bridge --ipv6 iptables",
    iptables: true,
    ..BRIDGE6
};
pub const MACVLAN: Case = case(
    "macvlan",
    "lan",
    "-d macvlan --subnet 192.168.77.0/24 -o parent=lan0",
    "",
);
pub const MACVLAN6: Case = case(
    "macvlan --ipv6",
    "lan",
    "-d macvlan --subnet 192.168.77.0/24 -o parent=lan0 --ipv6 --subnet6 fd00:77::/64",
    "",
);
pub const IPVLAN: Case = case(
    "ipvlan",
    "lan",
    "-d ipvlan --subnet 192.168.78.0/24 --parent lan0",
    "",
);
/// Its port is published through the namespace's leg on the gateway bridge (made by the
/// bystander's attach, and taken by ns1's detach only when ns1 had its own).
pub const VXLAN: Case = case(
    "vxlan",
    "ov",
    "-d vxlan --subnet 10.92.0.0/24 --vni 42 --local 192.0.2.10 --peer 192.0.2.11",
    "-p 8081:80",
);
pub const VXLAN6: Case = case(
    "vxlan --ipv6",
    "ov",
    "-d vxlan --subnet 10.92.0.0/24 --vni 42 --local 192.0.2.10 --peer 192.0.2.11 --ipv6 \
     --subnet6 fd00:92::/64",
    "",
);
/// A macvlan network whose host reaches its namespaces through a shim link (`host_shim=yes`).
pub const MACVLAN_SHIM: Case = case(
    "macvlan shim",
    "lan",
    "-d macvlan --subnet 192.168.79.0/24 --ip-range 192.168.79.64/26 -o parent=lan0 \
     -o host_shim=yes",
    "",
);
pub const HOST: Case = Case {
    label: "host",
    net: "host",
    create: None,
    attach: "",
    setup: "true",
    side: false,
    addressed: false,
    iptables: false,
};
pub const NONE: Case = Case {
    label: "none",
    net: "none",
    create: None,
    ..HOST
};

/// The commands under test.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Command {
    Create,
    Attach,
    Detach,
    Rm,
    RmForce,
    /// `ns rm ns1`: the namespace goes, from this network and the side one.
    NsRm,
}

/// How far a network is built: absent, created, with a bystander namespace attached, and with
/// the namespace under test attached too.
type Stage = u8;
const ABSENT: Stage = 0;
const CREATED: Stage = 1;
const BYSTANDER: Stage = 2;
const ATTACHED: Stage = 3;

impl Command {
    fn line(self, c: &Case) -> String {
        let net = c.net;
        match self {
            Command::Create => format!("net create {net} {}", c.create.unwrap_or("")),
            Command::Attach => format!("attach {net} ns1 {}", c.attach),
            Command::Detach => format!("detach {net} ns1"),
            Command::Rm => format!("net rm {net}"),
            Command::RmForce => format!("net rm {net} --force"),
            Command::NsRm => "ns rm ns1".to_string(),
        }
    }
    /// The stage it starts from and the one it leaves.
    fn stages(self) -> (Stage, Stage) {
        match self {
            Command::Create => (ABSENT, CREATED),
            Command::Attach => (BYSTANDER, ATTACHED),
            Command::Detach => (ATTACHED, BYSTANDER),
            Command::Rm => (CREATED, ABSENT),
            Command::RmForce => (ATTACHED, ABSENT),
            Command::NsRm => (ATTACHED, BYSTANDER),
        }
    }
    fn removes(self) -> bool {
        matches!(
            self,
            Command::Detach | Command::Rm | Command::RmForce | Command::NsRm
        )
    }
}

/// How a run is interrupted. After a kill, `cnet gc` repairs before the retry at even steps,
/// and the retry alone (recovering the interrupted plan itself) at odd steps.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Fault {
    /// `fail@N`: the step fails as if the host had refused it.
    Fail,
    /// `kill@N`: SIGKILL right before the step.
    Kill,
}

/// A sandbox with one driver's network, and how far it is built.
struct World<'a> {
    sb: Sandbox,
    case: &'a Case,
    stage: Stage,
}

impl World<'_> {
    /// The plain commands that build or tear down, one stage at a time, from `from` to `to`.
    fn path(&self, mut from: Stage, to: Stage) -> Vec<String> {
        let (c, net) = (self.case, self.case.net);
        let floor = if c.create.is_some() { ABSENT } else { CREATED };
        let to = to.max(floor);
        let mut lines = Vec::new();
        while from < to {
            lines.push(match from {
                ABSENT => Command::Create.line(c),
                CREATED => format!("attach {net} by"),
                _ => Command::Attach.line(c),
            });
            from += 1;
        }
        while from > to {
            lines.push(match from {
                ATTACHED => Command::Detach.line(c),
                BYSTANDER => format!("detach {net} by"),
                _ => Command::Rm.line(c),
            });
            from -= 1;
        }
        lines
    }

    fn goto(&mut self, to: Stage) {
        for line in self.path(self.stage, to) {
            self.sb.sh(&format!("cnet {line}")).ok();
        }
        self.stage = to;
    }
}

/// The runs of one script of [`run_script`], by name.
type Runs = std::collections::BTreeMap<String, Run>;

/// A script whose commands `run NAME ARGV...` print their exit status and output in sections
/// that [`parse_runs`] reads; what comes after a line `@@gather` is left for the caller.
const RUN: &str = "run() { n=$1; shift; \"$@\" >/run/fm.out 2>/run/fm.err; c=$?; \
                   echo \"@@run $n $c\"; cat /run/fm.out; echo \"@@err\"; cat /run/fm.err; }\n";

fn parse_runs(script: &str, out: &str) -> (Runs, String) {
    let (runs, gathered) = out.split_once("@@gather\n").unwrap_or((out, ""));
    let mut all = Runs::new();
    let mut current: Option<(String, Run)> = None;
    let mut in_err = false;
    for line in runs.lines() {
        if let Some(head) = line.strip_prefix("@@run ") {
            all.extend(current.take());
            let (name, code) = head.split_once(' ').expect("@@run NAME CODE");
            let run = Run {
                what: format!("{name} in: {script}"),
                code: code.parse().ok(),
                stdout: String::new(),
                stderr: String::new(),
            };
            current = Some((name.to_string(), run));
            in_err = false;
        } else if line == "@@err" {
            in_err = true;
        } else if let Some((_, run)) = current.as_mut() {
            let text = if in_err {
                &mut run.stderr
            } else {
                &mut run.stdout
            };
            text.push_str(line);
            text.push('\n');
        }
    }
    all.extend(current);
    (all, gathered.to_string())
}

/// Run `command` with `fault` at step 0, 1, 2... until it runs to its end; returns how many
/// runs were interrupted. Each interrupted run is one script in the sandbox: the faulty run,
/// the repair, the retry, the state gathered for the check, and the way back to the stage the
/// command starts from.
fn every_step(w: &mut World, command: Command, fault: Fault) -> usize {
    let (before, after) = command.stages();
    let line = command.line(w.case);
    let label = w.case.label;
    let state = w.sb.state_dir();
    w.goto(before);
    for step in 0..100 {
        let gc_first = fault == Fault::Kill && step % 2 == 0;
        let (kind, then) = match fault {
            Fault::Fail => ("fail", "retried"),
            Fault::Kill if gc_first => ("kill", "gc, then retried"),
            Fault::Kill => ("kill", "retried, no gc"),
        };
        let context = format!("{label}: `cnet {line}` with {kind}@{step}, {then}");
        let mut script = format!(
            "{RUN}run fault env CNET_FAULT={kind}@{step} cnet {line}\n\
             [ $c = 0 ] && exit 0\n\
             run lock cat {state}/lock\n"
        );
        if fault == Fault::Fail && !command.removes() {
            script += "run rolledback cnet gc --dry-run\n";
        }
        if gc_first {
            script += "run gc cnet gc\nrun gc2 cnet gc\n";
        }
        script += &format!("run retry cnet {line}\n");
        if command == Command::Attach && w.case.addressed {
            script += "run ping sh -c 'cnet exec-in-ns ns1 -- ping -c1 -W1 by || \
                       cnet exec-in-ns ns1 -- ping -c1 -W1 by'\n";
        }
        script += &format!("echo @@gather\n{}", gather_script(state));
        let mut back = w.path(after, before);
        if command == Command::NsRm && w.case.side {
            back.insert(0, "attach side ns1".to_string());
        }
        for (i, undo) in back.iter().enumerate() {
            script += &format!("echo @@undo{i}; cnet {undo} || echo @@undo-failed\n");
        }
        let r = w.sb.sh(&script);
        let (runs, gathered) = parse_runs(&script, &r.stdout);
        let get = |name: &str| {
            runs.get(name)
                .unwrap_or_else(|| panic!("{context}: no run {name}\n{r}"))
        };
        let faulty = get("fault");
        if faulty.succeeded() {
            assert!(step > 0, "{context}: no step to interrupt\n{faulty}");
            w.stage = after;
            return step;
        }
        let lock = get("lock");
        if fault == Fault::Fail {
            faulty.fails_with(1);
            let injected = format!("injected failure at step {step}");
            assert!(faulty.stderr.contains(&injected), "{context}\n{faulty}");
            // A failed change rolls back completely (nothing for gc); a failed removal keeps
            // its records, for the command to be run again.
            assert_eq!(lock.stdout, "", "{context}: intent left\n{lock}");
            if let Some(dry) = runs.get("rolledback") {
                assert_eq!(dry.stdout, "", "{context}: gc finds something\n{dry}");
            }
        } else {
            assert_eq!(faulty.code, Some(137), "{context}: not killed\n{faulty}");
            let plans = lock.stdout.lines().count();
            assert_eq!(plans, 1, "{context}: its plan is in the lock file\n{lock}");
        }
        if gc_first {
            get("gc").ok();
            let again = get("gc2");
            assert_eq!(
                again.ok().stdout,
                "",
                "{context}: first {}\n{again}",
                get("gc")
            );
        }
        let retry = get("retry");
        if !retry.succeeded() {
            // Only a removal that the repair (gc, or the retry's own recovery) completed may
            // find nothing left to remove.
            assert!(
                command.removes() && fault == Fault::Kill,
                "{context}: the retry failed\n{retry}"
            );
            retry.fails_with(2);
            let gone = ["is not attached", "does not exist"];
            let said = gone.iter().any(|g| retry.stderr.contains(g));
            assert!(said, "{context}: the retry\n{retry}");
        }
        if let Some(ping) = runs.get("ping") {
            assert!(ping.succeeded(), "{context}: ns1 cannot reach by\n{ping}");
        }
        let (gathered, undone) = gathered.split_once("@@undo").unwrap_or((&gathered, ""));
        if let Err(problem) = check(gathered) {
            panic!("{context}: {problem}");
        }
        assert!(
            !undone.contains("@@undo-failed"),
            "{context}: going back\n{r}"
        );
    }
    panic!("{label}: `cnet {line}` has more than 100 steps?");
}

/// Runs one driver's row for one fault kind, in a sandbox of its own; prints (and returns) one
/// line per command: how many runs the fault interrupted (one per step before the last).
pub fn run(case: &Case, fault: Fault) -> Vec<String> {
    let sb = match case.iptables {
        true => Sandbox::new().with_env("CNET_FIREWALL", "iptables"),
        false => Sandbox::new(),
    };
    sb.sh(case.setup).ok();
    if case.side {
        sb.cnet(&["net", "create", "side", "--subnet", "10.200.0.0/24"])
            .ok();
        sb.cnet(&["attach", "side", "ns1"]).ok();
    }
    // A predefined network is there from the start.
    let stage = if case.create.is_some() {
        ABSENT
    } else {
        CREATED
    };
    let mut w = World { sb, case, stage };
    let commands: &[Command] = match case.create {
        Some(_) => &[
            Command::Create,
            Command::Attach,
            Command::Detach,
            Command::Rm,
            Command::RmForce,
            Command::NsRm,
        ],
        None => &[Command::Attach, Command::Detach, Command::NsRm],
    };
    let started = std::time::Instant::now();
    let mut report = Vec::new();
    for &command in commands {
        let n = every_step(&mut w, command, fault);
        let row = format!(
            "{:<15} {:<8} {fault:?}: {n:>2} steps",
            case.label,
            format!("{command:?}")
        );
        eprintln!("{row}");
        report.push(row);
    }
    eprintln!("{} {fault:?}: in {:?}", case.label, started.elapsed());
    report
}

/// Both fault kinds, one after the other (for a harness that runs tests one at a time).
pub fn run_both(case: &Case) {
    run(case, Fault::Fail);
    run(case, Fault::Kill);
}
