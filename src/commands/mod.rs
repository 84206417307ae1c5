//! One module per subcommand: glue between the CLI, the store, the planners and the kernel.

pub mod agent;
pub mod attach;
pub mod complete;
pub mod detach;
pub mod exec;
mod facts;
pub mod firewall;
pub mod gc;
pub mod graph;
pub mod gwbridge;
pub mod hostsfile;
pub mod lab;
pub mod lease;
pub mod net;
pub mod networks;
pub mod ns;
pub mod peer;
pub mod prune;
pub mod publish;
pub mod rehearsal;
pub mod reset;
pub mod restore;
pub mod target;

use crate::apply::Effects;
use crate::cli::{Cli, Command, Format, Global, LabCommand, LeaseCommand, NetCommand, NsCommand};
use crate::error::{Error, Result};
use crate::host::{Host, RealHost};
use crate::plan::Plan;
use crate::store::{FileStore, Guard, Store};
use std::cell::RefCell;

/// What every command gets: global options, the store, and the host it plans against and
/// acts on.
pub struct Ctx {
    pub global: Global,
    pub store: Box<dyn Store>,
    pub host: RefCell<Box<dyn Host>>,
    /// Whether changing the host needs root (not for a fake host).
    needs_root: bool,
    /// A dry run whose plans are also applied, to a copy of the records and a host that only
    /// remembers (`cnet --dry-run lab up`: each step planned on what the steps before made).
    rehearsing: bool,
}

impl Ctx {
    pub fn new(global: Global) -> Self {
        let store = Box::new(FileStore::new(global.state_dir.clone()));
        Ctx {
            global,
            store,
            host: RefCell::new(Box::new(RealHost::default())),
            needs_root: true,
            rehearsing: false,
        }
    }

    /// A context over the store the command line asks for (`--store`, `CNET_STORE`, the
    /// configuration file): the etcd store connects only when first used.
    pub fn open(global: Global) -> Result<Self> {
        let store = crate::store::open(&global)?;
        Ok(Ctx {
            store,
            ..Ctx::new(global)
        })
    }

    /// A context over any store and host (tests: the in-memory store and a fake host).
    pub fn with(global: Global, store: Box<dyn Store>, host: Box<dyn Host>) -> Self {
        Ctx {
            global,
            store,
            host: RefCell::new(host),
            needs_root: false,
            rehearsing: false,
        }
    }

    /// A dry run that rehearses on `store` and `host` (copies that change nothing real): its
    /// plans are printed, then applied to them.
    pub fn rehearsing(global: Global, store: Box<dyn Store>, host: Box<dyn Host>) -> Self {
        Ctx {
            global,
            store,
            host: RefCell::new(host),
            needs_root: true,
            rehearsing: true,
        }
    }

    pub fn dry_run(&self) -> bool {
        self.global.dry_run
    }

    /// Commands that change the kernel need root (a dry run does not).
    pub fn require_root(&self) -> Result<()> {
        if self.dry_run() || !self.needs_root || nix::unistd::geteuid().is_root() {
            Ok(())
        } else {
            Err(Error::usage(
                "cnet must run as root to change network namespaces, links and firewall rules \
                 (try sudo, or --dry-run to see what it would do)",
            ))
        }
    }

    /// The state lock, unless this is a dry run (which changes nothing). Taken, it first
    /// finishes the plans of commands that were killed mid-way (their intents).
    pub fn lock(&self) -> Result<Option<Guard>> {
        if self.dry_run() {
            return Ok(None);
        }
        let guard = self.store.lock()?;
        self.recover_interrupted()?;
        self.restore_after_boot()?;
        Ok(Some(guard))
    }

    /// The first command after a boot re-creates what the boot took (`cnet restore`).
    fn restore_after_boot(&self) -> Result<()> {
        let boot = crate::kernel::boot_id();
        if self.store.recorded_boot()?.as_deref() == Some(boot.as_str()) {
            return Ok(());
        }
        for r in restore::after_boot(self)? {
            self.say(format!(
                "after boot: {}: {}: {}",
                r.object, r.problem, r.action
            ));
        }
        Ok(())
    }

    /// Undo or complete every interrupted plan (`apply::recover`); what fails of it is left to
    /// `cnet gc`, which checks kernel and state one against the other.
    fn recover_interrupted(&self) -> Result<()> {
        let recovered = self.with_effects(crate::apply::recover)?;
        for r in recovered {
            let verb = if r.intent.teardown {
                "completed"
            } else {
                "undid"
            };
            self.say(format!(
                "{verb} the interrupted plan of process {} ({} steps)",
                r.intent.pid,
                r.plan.ops.len()
            ));
            for e in r.errors {
                self.say(format!("  {e}"));
            }
        }
        Ok(())
    }

    /// Apply a plan with rollback, or print it on a dry run.
    pub fn apply(&self, plan: &Plan) -> Result<()> {
        if self.dry_run() {
            crate::out!("{plan}");
            if !self.rehearsing {
                return Ok(());
            }
        }
        if self.global.verbose {
            eprint!("{plan}");
        }
        self.with_effects(|fx| crate::apply::apply_detailed(plan, fx))
            .map_err(|f| {
                for e in &f.rollback_errors {
                    self.say(format!("rollback: {e}"));
                }
                f.error
            })
    }

    /// Apply a teardown plan best-effort (every step is tried), or print it on a dry run.
    pub fn teardown(&self, plan: &Plan) -> Result<()> {
        if self.dry_run() {
            crate::out!("{plan}");
            if !self.rehearsing {
                return Ok(());
            }
        }
        if self.global.verbose {
            eprint!("{plan}");
        }
        self.with_effects(|fx| crate::apply::apply_teardown(plan, fx))
    }

    fn with_effects<T>(&self, f: impl FnOnce(&mut Effects) -> T) -> T {
        let mut host = self.host.borrow_mut();
        f(&mut Effects {
            host: &mut **host,
            store: &*self.store,
        })
    }

    /// Whether a read of the host may fail because a dry run is not root: then planning goes
    /// on as on a host where none of cnet's objects are there yet.
    fn unreadable_in_dry_run(&self) -> bool {
        self.dry_run() && self.needs_root && !nix::unistd::geteuid().is_root()
    }

    /// What of cnet's firewall is there now. A dry run that may not read it (not root)
    /// plans as on a host where none of it is there yet.
    pub fn firewall_facts(&self) -> Result<crate::firewall::FirewallFacts> {
        match self.host.borrow_mut().firewall_facts() {
            Err(_) if self.unreadable_in_dry_run() => Ok(Default::default()),
            other => other,
        }
    }

    /// Which firewall backend the plan is for (nftables for a dry run that may not look).
    pub fn firewall_backend(&self) -> Result<crate::firewall::Backend> {
        match self.host.borrow_mut().firewall_backend() {
            Err(_) if self.unreadable_in_dry_run() => Ok(Default::default()),
            other => other,
        }
    }

    /// A published-port or tunnel-filter step of `network` as the backend takes it
    /// (`firewall::entry_rules::on_backend`).
    pub fn on_backend(
        &self,
        network: &str,
        ops: Vec<crate::plan::Op>,
    ) -> Result<Vec<crate::plan::Op>> {
        if ops.is_empty() {
            return Ok(ops);
        }
        let backend = self.firewall_backend()?;
        let mut out = Vec::with_capacity(ops.len() + 2);
        // Rules going in need their chain: a base from before CNET-DNAT and CNET-TUNNEL
        // existed gets them first.
        let adds = |op: &crate::plan::Op| {
            matches!(
                op,
                crate::plan::Op::PublishPorts(_) | crate::plan::Op::AllowTunnel(_)
            )
        };
        if backend == crate::firewall::Backend::Iptables && ops.iter().any(adds) {
            out.extend(crate::drivers::plan_base(&self.firewall_facts()?));
        }
        out.extend(
            ops.into_iter()
                .map(|op| crate::firewall::entry_rules::on_backend(backend, network, op)),
        );
        Ok(out)
    }

    /// Whether a rule is in its chain now (false for a dry run that may not look).
    pub fn has_rule(&self, rule: &crate::firewall::rule::Rule) -> Result<bool> {
        match self.host.borrow_mut().has_rule(rule) {
            Err(_) if self.unreadable_in_dry_run() => Ok(false),
            other => other,
        }
    }

    /// Whether a link exists in a namespace (see [`crate::kernel::link_exists`]).
    pub fn link_exists(&self, ns: &crate::plan::NsRef, name: &str) -> Result<bool> {
        self.host.borrow_mut().link_exists(ns, name)
    }

    /// The destinations the host routes (to choose and check subnets).
    pub fn host_routes(&self) -> Result<Vec<ipnetwork::IpNetwork>> {
        self.host.borrow_mut().host_routes()
    }

    /// The file steps that keep hosts files in step with a change, planned against the files
    /// as they are.
    pub fn plan_files(
        &self,
        change: impl FnOnce(&mut hostsfile::HostsPlan) -> Result<()>,
    ) -> Result<Vec<crate::plan::Op>> {
        let host = self.host.borrow();
        let mut plan = hostsfile::HostsPlan::new(&*self.store, host.files());
        change(&mut plan)?;
        Ok(plan
            .into_ops()
            .into_iter()
            .map(crate::plan::Op::File)
            .collect())
    }

    /// A -v line on stderr.
    pub fn say(&self, msg: impl AsRef<str>) {
        if self.global.verbose {
            eprintln!("{}", msg.as_ref());
        }
    }
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    check_format(&cli)?;
    // Files cnet makes (state, hosts files) are readable by all and writable by root alone,
    // whatever umask it was started with.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    let ctx = Ctx::open(cli.global)?;
    // Only detach, ns rm and lab down may leave the kernel's freeing of links behind
    // (kernel::reclaim).
    let wait = match &cli.command {
        Command::Detach(args) => args.wait,
        Command::Ns(NsCommand::Rm { wait, .. }) => *wait,
        Command::Lab(LabCommand::Down { wait, .. }) => *wait,
        _ => true,
    };
    crate::deferred::set_waiting(wait);
    let result = dispatch(&ctx, cli.command);
    // A file the command's own error names already is not repeated as a warning.
    let failed_on = match &result {
        Err(Error::State { path, .. }) => Some(path.as_str()),
        _ => None,
    };
    for bad in ctx.store.bad_files() {
        if failed_on != Some(&*bad.path.to_string_lossy()) {
            eprintln!("cnet: skipping {bad}");
        }
    }
    let dry_run = ctx.dry_run();
    // The firewall's sockets hand themselves over to the reclaimer as they close.
    drop(ctx);
    let reclaimed = if dry_run {
        Ok(())
    } else {
        crate::timing::time(
            || "deferred link deletions and socket closes (kernel::reclaim)",
            crate::kernel::reclaim::finish,
        )
    };
    result.and(reclaimed)
}

/// The end of a listing: it printed what it could read, and fails (exit status 1) if it
/// skipped a state file, so scripts notice; `run` names the files on stderr.
pub fn listed_everything(ctx: &Ctx) -> Result<()> {
    restore::note_if_not_restored(ctx);
    if ctx.store.bad_files().is_empty() {
        Ok(())
    } else {
        Err(Error::Reported(1))
    }
}

/// `--format json` where a command prints nothing a script could read is refused (exit 2),
/// not ignored: the plan of a dry run is shell text, exec-in-ns prints its command's output.
fn check_format(cli: &Cli) -> Result<()> {
    if cli.global.format != Some(Format::Json) {
        return Ok(());
    }
    let what = match &cli.command {
        _ if cli.global.dry_run => "--dry-run (it prints shell commands)",
        Command::ExecInNs(_) => "exec-in-ns (it prints the command's own output)",
        Command::Net(NetCommand::Peer(_)) => "net peer (it prints nothing)",
        Command::Firewall(crate::cli::FirewallCommand::Reload) => {
            "firewall reload (it prints nothing)"
        }
        _ => return Ok(()),
    };
    Err(Error::usage(format!(
        "--format json does not apply to {what}"
    )))
}

pub use crate::output::print_json;

/// Whether to ask before a sweeping change: on a terminal, unless told not to. Refused when
/// there is no one to ask.
pub fn confirm(question: &str, yes: bool, flag: &str) -> Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::usage(format!(
            "standard input is not a terminal: give {flag} to go ahead"
        )));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::io("standard input", e))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// Run one command in a context.
pub fn dispatch(ctx: &Ctx, command: Command) -> Result<()> {
    match command {
        Command::Net(NetCommand::Create(args)) => net::create(ctx, &args),
        Command::Net(NetCommand::Rm { names, force }) => net::rm(ctx, &names, force),
        Command::Net(NetCommand::Ls { quiet }) => net::ls(ctx, quiet),
        Command::Net(NetCommand::Inspect { names }) => net::inspect(ctx, &names),
        Command::Net(NetCommand::Prune { force }) => prune::run(ctx, force),
        Command::Net(NetCommand::Peer(cmd)) => peer::run(ctx, &cmd),
        Command::Attach(args) => attach::run(ctx, &args.with_default_network()),
        Command::Detach(args) => detach::run(ctx, &args.network, &args.netns),
        Command::ExecInNs(args) => exec::run(ctx, &args.netns, &args.command),
        Command::Lease(LeaseCommand::Ls { network, quiet }) => {
            lease::ls(ctx, network.as_deref(), quiet)
        }
        Command::Ns(NsCommand::Ls {
            quiet,
            output,
            wide,
        }) => ns::ls(ctx, quiet, wide || output.is_some()),
        Command::Ns(NsCommand::Rm { names, .. }) => ns::rm(ctx, &names),
        Command::Firewall(crate::cli::FirewallCommand::Reload) => firewall::reload(ctx),
        Command::Firewall(crate::cli::FirewallCommand::Status) => firewall::status(ctx),
        Command::Gc(args) => gc::run(ctx, &args),
        Command::Restore => restore::run(ctx),
        Command::Agent(args) => agent::run(ctx, &args),
        Command::Reset { yes } => reset::run(ctx, yes),
        Command::Lab(cmd) => lab::run(ctx, &cmd),
        Command::Graph(args) => graph::run(ctx, &args),
    }
}

/// Run `f` for each item, reporting each failure on stderr, and return the worst error.
pub fn for_each_reporting<T>(items: &[T], mut f: impl FnMut(&T) -> Result<()>) -> Result<()> {
    let mut worst: Option<Error> = None;
    for item in items {
        if let Err(e) = f(item) {
            if items.len() == 1 {
                return Err(e);
            }
            eprintln!("cnet: {e}");
            let replace = worst.as_ref().is_none_or(|w| e.exit_code() > w.exit_code());
            if replace {
                worst = Some(e);
            }
        }
    }
    match worst {
        // Already printed: hand back only the exit status.
        Some(e) => Err(Error::Reported(e.exit_code())),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
