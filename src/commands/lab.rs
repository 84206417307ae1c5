//! `cnet lab up|down|ls FILE`: a lab file's objects, each made or removed by the command a
//! user would have typed (`net create`, `attach`, `detach`, `net rm`, `ns rm`), run in this
//! process on this context: one start-up and one set of netlink sockets for the whole lab.

mod ls;

use super::Ctx;
use crate::cli::{AttachArgs, Command, CreateArgs, DetachArgs, LabCommand, NetCommand, NsCommand};
use crate::error::{Error, Result};
use crate::firewall::rule::shell_quote;
use crate::topology::{self, AttachSpec, DownStep, NetworkSpec, Recorded, Topology, UpStep};
use std::io::IsTerminal;
use std::path::Path;

pub fn run(ctx: &Ctx, cmd: &LabCommand) -> Result<()> {
    match cmd {
        LabCommand::Up { file } => up(ctx, &load(file)?),
        LabCommand::Down { file, .. } => down(ctx, &load(file)?),
        LabCommand::Ls { file } => ls::run(ctx, &load(file)?),
    }
}

fn load(file: &Path) -> Result<Topology> {
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|e| Error::io(shown.clone(), e))?;
    Topology::parse(&shown, &text)
}

fn up(ctx: &Ctx, topo: &Topology) -> Result<()> {
    if ctx.dry_run() {
        return up_steps(&super::rehearsal::context(ctx)?, topo);
    }
    up_steps(ctx, topo)
}

fn up_steps(ctx: &Ctx, topo: &Topology) -> Result<()> {
    ctx.require_root()?;
    let steps = {
        let _lock = ctx.lock()?;
        topology::plan_up(topo, &recorded(ctx)?)?
    };
    for step in &steps {
        let object = up_object(topo, step);
        if ctx.dry_run() {
            crate::outln!("# {object}");
        }
        let done = run_up_step(ctx, topo, step).map_err(|e| named("lab up", &object, e))?;
        progress(&format!("{object}: {done}"));
    }
    Ok(())
}

/// Run one step of `up`; returns what it did, for the progress line.
fn run_up_step(ctx: &Ctx, topo: &Topology, step: &UpStep) -> Result<&'static str> {
    match step {
        UpStep::CreateNetwork(name) => {
            let args = create_args(name, &topo.networks[name]);
            super::dispatch(ctx, Command::Net(NetCommand::Create(Box::new(args))))?;
            Ok("created")
        }
        UpStep::Attach { ns, index } => {
            let args = attach_args(ns, &topo.namespaces[ns].attach[*index]);
            super::dispatch(ctx, Command::Attach(args))?;
            Ok("attached")
        }
        UpStep::Exec { ns, index } => {
            let argv = &topo.namespaces[ns].exec[*index];
            if ctx.dry_run() {
                let words: Vec<String> = argv.iter().map(|w| shell_quote(w)).collect();
                crate::outln!("ip netns exec {} {}", shell_quote(ns), words.join(" "));
            } else {
                exec_in(ns, argv)?;
            }
            Ok("ran")
        }
        UpStep::KeepNetwork(_) | UpStep::KeepAttachment { .. } => Ok("as the file says"),
    }
}

fn up_object(topo: &Topology, step: &UpStep) -> String {
    match step {
        UpStep::CreateNetwork(name) | UpStep::KeepNetwork(name) => format!("network {name}"),
        UpStep::Attach { ns, index } | UpStep::KeepAttachment { ns, index } => {
            format!(
                "namespace {ns} on {}",
                topo.namespaces[ns].attach[*index].network
            )
        }
        UpStep::Exec { ns, index } => {
            format!(
                "namespace {ns}: exec '{}'",
                topo.namespaces[ns].exec[*index].join(" ")
            )
        }
    }
}

fn down(ctx: &Ctx, topo: &Topology) -> Result<()> {
    if ctx.dry_run() {
        return down_steps(&super::rehearsal::context(ctx)?, topo);
    }
    down_steps(ctx, topo)
}

fn down_steps(ctx: &Ctx, topo: &Topology) -> Result<()> {
    ctx.require_root()?;
    let (mut steps, overlays) = {
        let _lock = ctx.lock()?;
        let steps = topology::plan_down(topo, &recorded(ctx)?);
        let overlays = opens_gateway_bridge(ctx, &steps)?;
        (steps, overlays)
    };
    // The gateway bridge its overlays made goes with them, unless others still use it.
    if overlays {
        steps.push(DownStep::RemoveNetwork(super::gwbridge::NAME.to_string()));
    }
    // Teardown goes on past a failure, as `net rm` of several networks does.
    super::for_each_reporting(&steps, |step| {
        if let DownStep::RemoveNetwork(name) = step
            && name == super::gwbridge::NAME
            && ctx.store.endpoint_count(name)? > 0
        {
            return Ok(());
        }
        let (object, command, done) = down_command(step);
        if ctx.dry_run() {
            crate::outln!("# {object}");
        }
        super::dispatch(ctx, command).map_err(|e| named("lab down", &object, e))?;
        progress(&format!("{object}: {done}"));
        Ok(())
    })
}

/// Whether `down` removes an overlay whose namespaces have legs on the gateway bridge, and
/// the gateway bridge is there.
fn opens_gateway_bridge(ctx: &Ctx, steps: &[DownStep]) -> Result<bool> {
    if ctx.store.network(super::gwbridge::NAME)?.is_none() {
        return Ok(false);
    }
    for step in steps {
        if let DownStep::RemoveNetwork(name) = step
            && ctx
                .store
                .network(name)?
                .is_some_and(|n| super::gwbridge::wants_leg(&n))
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The object a step of `down` acts on, the command, and what it did (for the progress line).
fn down_command(step: &DownStep) -> (String, Command, &'static str) {
    match step {
        DownStep::Detach { ns, network } => (
            format!("namespace {ns} on {network}"),
            Command::Detach(DetachArgs {
                network: network.clone(),
                netns: ns.clone(),
                wait: false,
            }),
            "detached",
        ),
        DownStep::RemoveNetwork(name) => (
            format!("network {name}"),
            Command::Net(NetCommand::Rm {
                names: vec![name.clone()],
                force: false,
            }),
            "removed",
        ),
        DownStep::DeleteNamespace(ns) => (
            format!("namespace {ns}"),
            Command::Ns(NsCommand::Rm {
                names: vec![ns.clone()],
                wait: false,
            }),
            "deleted",
        ),
    }
}

/// `lab up: network lan: ...`, keeping the error's exit status.
fn named(verb: &str, object: &str, e: Error) -> Error {
    match e {
        Error::Usage(m) => Error::usage(format!("{verb}: {object}: {m}")),
        Error::Reported(code) => Error::Reported(code),
        other => Error::runtime(format!("{verb}: {object}: {other}")),
    }
}

/// One line per object on a terminal; scripts get the commands' own output only.
fn progress(line: &str) {
    if std::io::stderr().is_terminal() {
        eprintln!("{line}");
    }
}

fn create_args(name: &str, spec: &NetworkSpec) -> CreateArgs {
    CreateArgs {
        name: name.to_string(),
        driver: spec.driver.clone(),
        subnet: spec.subnet.map(|s| s.to_string()),
        gateway: spec.gateway.map(|g| g.to_string()),
        ip_range: spec.ip_range.map(|r| r.to_string()),
        // `subnet6`/`gateway6` imply `ipv6 = true`, as a file that gives them means it.
        ipv6: spec
            .ipv6
            .unwrap_or(spec.subnet6.is_some() || spec.gateway6.is_some()),
        subnet6: spec.subnet6.map(|s| s.to_string()),
        gateway6: spec.gateway6.map(|g| g.to_string()),
        internal: spec.internal.unwrap_or(false),
        mtu: spec.mtu,
        parent: spec.parent.clone(),
        mode: spec.mode.clone(),
        vni: spec.vni,
        local: spec.local,
        peer: spec.peers.clone(),
        dstport: spec.dstport,
        underlay: spec.underlay.clone(),
        opts: spec
            .options
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
    }
}

fn attach_args(ns: &str, spec: &AttachSpec) -> AttachArgs {
    AttachArgs {
        network: spec.network.clone(),
        netns: ns.to_string(),
        ip: spec.ip.map(|ip| ip.to_string()),
        ip6: spec.ip6.map(|ip| ip.to_string()),
        ifname: spec.ifname.clone(),
        mac: spec.mac.clone(),
        aliases: spec.aliases.clone(),
        publish: spec.ports.clone(),
        gw_priority: spec.gw_priority,
        no_default_route: spec.no_default_route,
        name: None,
    }
}

/// Run a command in a namespace as `cnet exec-in-ns` does (a child: it replaces its process).
fn exec_in(ns: &str, argv: &[String]) -> Result<()> {
    let me = std::env::current_exe().map_err(|e| Error::io("finding cnet's own binary", e))?;
    let status = std::process::Command::new(me)
        .args(["exec-in-ns", ns, "--"])
        .args(argv)
        .status()
        .map_err(|e| Error::io("running exec-in-ns", e))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => Err(Error::runtime(format!("exited with status {code}"))),
        None => Err(Error::runtime("killed by a signal")),
    }
}

/// cnet's records, read once: what the lab's decisions are made against.
pub(super) fn recorded(ctx: &Ctx) -> Result<Recorded> {
    let networks = ctx.store.networks()?;
    let mut endpoints = Vec::new();
    // Legs on the gateway bridge are no lab's: they come and go with the overlays'.
    for net in networks.iter().filter(|n| n.name != super::gwbridge::NAME) {
        endpoints.extend(ctx.store.endpoints(&net.name)?);
    }
    let created = ctx
        .store
        .namespaces()?
        .into_iter()
        .filter(|r| !r.host)
        .map(|r| r.name)
        .collect();
    Ok(Recorded {
        networks,
        endpoints,
        created,
    })
}
