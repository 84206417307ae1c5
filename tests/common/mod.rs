//! The integration-test harness: every test builds its own world in a sandbox and never touches
//! the host's own network namespace (see DESIGN.md, "Testing without breaking the machine").
//!
//! A sandbox is a holder process started with
//! `unshare --mount --net --pid --fork --kill-child --mount-proc --propagation private`, with
//! tmpfs over `/run` (so `/run/netns` and the xtables lock are private), over `/etc/netns` and
//! for cnet's state. Every command of a test runs inside it through `nsenter`. Dropping the
//! sandbox SIGKILLs the holder, which ends its pid namespace (every server the test started) and
//! with it the network namespaces, links and rules the test made.

#![allow(dead_code)]

pub mod consistency;
pub mod etcd;
pub mod multihost;
pub mod replay;
pub mod tcp;

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// cnet's state directory inside a sandbox (on the sandbox's private /run tmpfs).
pub const STATE_DIR: &str = "/run/cnet-state";
/// The default state directory, used by sandboxes made with [`Sandbox::with_default_state_dir`].
pub const DEFAULT_STATE_DIR: &str = "/var/lib/cnet";
/// The sandbox host's end of the link to the "outside world" ([`Sandbox::with_outside`]).
pub const UPLINK_HOST: &str = "203.0.113.1";
/// The outside world's address.
pub const OUTSIDE: &str = "203.0.113.2";

/// Fails the test (rather than passing it silently) when not running as root.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        panic!(
            "integration tests need root (run as root, or `cargo test --lib` for the unit tests)"
        );
    }
}

/// What a command did: its exit status and output, printable in failure messages.
pub struct Run {
    pub what: String,
    /// The exit status; `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "command: {}", self.what)?;
        match self.code {
            Some(c) => writeln!(f, "exit status: {c}")?,
            None => writeln!(f, "killed by a signal")?,
        }
        writeln!(f, "--- stdout ---\n{}", self.stdout.trim_end())?;
        write!(f, "--- stderr ---\n{}", self.stderr.trim_end())
    }
}

impl Run {
    pub fn succeeded(&self) -> bool {
        self.code == Some(0)
    }

    /// Asserts exit status 0.
    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert!(self.succeeded(), "expected success\n{self}");
        self
    }

    /// Asserts a non-zero exit status.
    #[track_caller]
    pub fn fails(&self) -> &Self {
        assert!(!self.succeeded(), "expected a failure\n{self}");
        self
    }

    /// Asserts this exit status.
    #[track_caller]
    pub fn fails_with(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "expected exit status {code}\n{self}");
        self
    }

    /// Asserts exit status 2 (bad input) with exactly one line on stderr containing every
    /// one of `needles`.
    #[track_caller]
    pub fn usage_error(&self, needles: &[&str]) -> &Self {
        if let Some(problem) = self.usage_problem(needles) {
            panic!("{problem}");
        }
        self
    }

    /// What is wrong with this run as a usage error (see [`Run::usage_error`]), if anything.
    pub fn usage_problem(&self, needles: &[&str]) -> Option<String> {
        if self.code != Some(2) {
            return Some(format!("expected exit status 2\n{self}"));
        }
        let lines: Vec<&str> = self.stderr.trim().lines().collect();
        if lines.len() != 1 {
            return Some(format!("expected one line on stderr\n{self}"));
        }
        needles
            .iter()
            .find(|n| !lines[0].contains(**n))
            .map(|n| format!("expected stderr to mention {n:?}\n{self}"))
    }

    /// Asserts that stdout contains `needle`.
    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "expected {needle:?} on stdout\n{self}"
        );
        self
    }

    /// Stdout parsed as JSON (asserting success first).
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        self.ok();
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{self}"))
    }
}

/// What a user can see of a sandbox: host links, firewall rules, cnet's state files, named
/// namespaces and their /etc/netns files. Two snapshots compare equal when nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub links: Vec<String>,
    pub rules: Vec<String>,
    /// `== PATH` then the content, for every state file except the lock file.
    pub state: Vec<String>,
    pub netns: Vec<String>,
    /// `== PATH` then the content, for every file under /etc/netns.
    pub etc_netns: Vec<String>,
}

impl Snapshot {
    /// Asserts that nothing changed since `before`, naming what did.
    #[track_caller]
    pub fn assert_same(&self, before: &Snapshot, context: &str) {
        if let Some(d) = self.diff(before) {
            panic!("{context}: {d}");
        }
    }

    /// What changed since `before`, if anything.
    pub fn diff(&self, before: &Snapshot) -> Option<String> {
        let fields: [(&str, &Vec<String>, &Vec<String>); 5] = [
            ("host links", &before.links, &self.links),
            ("firewall rules", &before.rules, &self.rules),
            ("state files", &before.state, &self.state),
            ("named namespaces", &before.netns, &self.netns),
            ("/etc/netns files", &before.etc_netns, &self.etc_netns),
        ];
        let mut out = String::new();
        for (what, b, a) in fields {
            if b != a {
                let gone: Vec<&String> = b.iter().filter(|x| !a.contains(x)).collect();
                let new: Vec<&String> = a.iter().filter(|x| !b.contains(x)).collect();
                out += &format!("{what} changed\n  gone: {gone:#?}\n  new: {new:#?}\n");
            }
        }
        (!out.is_empty()).then_some(out)
    }
}

/// `nft list table inet cnet` as lines `nft SET ELEMENT` (maps and sets), sorted within each
/// set (a hash lists in no set order), and `nft CHAIN: RULE` for its chains' rules, counters
/// left out.
pub fn normalize_nft_table(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut map, mut chain) = (String::new(), String::new());
    let mut elements: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some(buf) = elements.as_mut() {
            buf.push_str(line);
        } else if let Some(rest) = line
            .strip_prefix("map ")
            .or_else(|| line.strip_prefix("set "))
        {
            map = rest.trim_end_matches(" {").to_string();
            chain.clear();
        } else if let Some(rest) = line.strip_prefix("chain ") {
            chain = rest.trim_end_matches(" {").to_string();
            map.clear();
        } else if let Some(rest) = line.strip_prefix("elements = {") {
            elements = Some(rest.to_string());
        } else if !chain.is_empty() && !line.is_empty() && line != "}" && !line.starts_with("type ")
        {
            let line = match line.split_once(" counter packets ") {
                Some((head, tail)) => {
                    let verdict = tail.splitn(4, ' ').nth(3).unwrap_or("");
                    format!("{head} counter {verdict}")
                }
                None => line.to_string(),
            };
            out.push(format!("nft {chain}: {line}"));
        }
        if let Some(buf) = elements.as_ref().filter(|b| b.ends_with('}')) {
            let mut elems: Vec<String> = buf
                .trim_end_matches('}')
                .split(',')
                .map(|e| format!("nft {map} {}", e.trim()))
                .collect();
            elems.sort();
            out.extend(elems);
            elements = None;
        }
    }
    out
}

/// iptables-save output reduced to what matters: rules and user chains, per table. Comments,
/// `COMMIT` and counters are dropped, and so are built-in chains with an ACCEPT policy (an
/// empty table and an absent one mean the same).
pub fn normalize_iptables_save(text: &str) -> Vec<String> {
    let mut table = String::new();
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line == "COMMIT" {
            continue;
        }
        if let Some(t) = line.strip_prefix('*') {
            table = t.to_string();
        } else if let Some(decl) = line.strip_prefix(':') {
            let mut words = decl.split_whitespace();
            let chain = words.next().unwrap_or_default();
            let policy = words.next().unwrap_or_default();
            if policy != "ACCEPT" {
                out.push(format!("{table} :{chain} {policy}"));
            }
        } else {
            out.push(format!("{table} {line}"));
        }
    }
    out
}

/// ip6tables-save output reduced as [`normalize_iptables_save`] does, each line after `ip6 `.
pub fn normalize_ip6tables_save(text: &str) -> Vec<String> {
    normalize_iptables_save(text)
        .into_iter()
        .map(|l| format!("ip6 {l}"))
        .collect()
}

/// Link names of `ip -j link` output.
pub fn link_names(json: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(json)
        .unwrap_or_else(|e| panic!("ip -j link gave no JSON ({e}): {json}"));
    let mut names: Vec<String> = v
        .as_array()
        .expect("ip -j link gives an array")
        .iter()
        .filter_map(|l| l["ifname"].as_str().map(String::from))
        .collect();
    names.sort();
    names
}

/// Sets up the sandbox, then reports readiness on stdout and holds it open.
const SETUP: &str = r#"set -e
mount -t tmpfs -o mode=0755 cnet-test-run /run
mkdir -p /run/netns /run/cnet-state
mount -t tmpfs -o mode=0755 cnet-test-etc-netns /etc/netns
if [ -n "$CNET_TEST_VAR_LIB" ]; then
  if [ -d /var/lib/cnet ]; then
    mount -t tmpfs -o mode=0755 cnet-test-state /var/lib/cnet
  else
    # No /var/lib/cnet on the host: shadow /var/lib in this mount namespace only, so the
    # default directory can be created without touching the host's file system.
    mount -t tmpfs -o mode=0755 cnet-test-var-lib /var/lib
  fi
fi
ip link set lo up
echo ready
exec sleep infinity
"#;

/// Joins the sandbox host to a namespace `outside` that stands for the outside world.
const OUTSIDE_SETUP: &str = "set -e
ip netns add outside
ip link add up0 type veth peer name eth0 netns outside
ip addr add 203.0.113.1/24 dev up0
ip link set up0 up
ip -n outside link set lo up
ip -n outside addr add 203.0.113.2/24 dev eth0
ip -n outside link set eth0 up
";

/// A private world for one test. Dropping it destroys everything in it.
pub struct Sandbox {
    unshare: Child,
    holder: Option<u32>,
    /// cnet's state directory; `None` means cnet's default (CNET_STATE_DIR unset).
    state_env: Option<&'static str>,
    /// Variables every command run in the sandbox gets (`CNET_FIREWALL=iptables`).
    env: Vec<(&'static str, &'static str)>,
}

impl Sandbox {
    /// A sandbox with cnet's state in [`STATE_DIR`].
    #[track_caller]
    pub fn new() -> Sandbox {
        Sandbox::start(false)
    }

    /// A sandbox in which cnet runs without CNET_STATE_DIR, on a private [`DEFAULT_STATE_DIR`].
    #[track_caller]
    pub fn with_default_state_dir() -> Sandbox {
        Sandbox::start(true)
    }

    /// A sandbox plus a namespace `outside` joined to the sandbox host by a veth: host side
    /// `up0` [`UPLINK_HOST`]/24, outside side [`OUTSIDE`]/24. The sandbox host has no default
    /// route.
    #[track_caller]
    pub fn with_outside() -> Sandbox {
        let sb = Sandbox::new();
        sb.sh(OUTSIDE_SETUP).ok();
        sb
    }

    #[track_caller]
    fn start(default_state: bool) -> Sandbox {
        require_root();
        // A mount point for the sandbox's /etc/netns (an empty directory, left on the host).
        std::fs::create_dir_all("/etc/netns").expect("mkdir /etc/netns");
        let mut cmd = Command::new("unshare");
        cmd.args([
            "--mount",
            "--net",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "--propagation",
            "private",
            "sh",
            "-c",
            SETUP,
        ])
        .env("CNET_TEST_VAR_LIB", if default_state { "1" } else { "" })
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        // SAFETY: prctl is async-signal-safe. If the test thread dies, unshare dies, and with
        // --kill-child the holder and its whole pid namespace die too.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut unshare = cmd.spawn().expect("cannot run unshare (util-linux)");
        let stdout = unshare.stdout.take().expect("piped");
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let mut sb = Sandbox {
            unshare,
            holder: None,
            state_env: (!default_state).then_some(STATE_DIR),
            env: Vec::new(),
        };
        if line.trim() != "ready" {
            let _ = sb.unshare.kill();
            let _ = sb.unshare.wait();
            let mut err = String::new();
            if let Some(mut e) = sb.unshare.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("the sandbox did not start: {err}");
        }
        sb.holder = Some(sb.find_holder());
        sb
    }

    /// The holder: the child of unshare, pid 1 of the sandbox's pid namespace.
    fn find_holder(&self) -> u32 {
        let pid = self.unshare.id();
        let path = format!("/proc/{pid}/task/{pid}/children");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let children = std::fs::read_to_string(&path).unwrap_or_default();
            if let Some(c) = children.split_whitespace().next() {
                return c.parse().expect("a pid");
            }
            assert!(
                Instant::now() < deadline,
                "no holder process under unshare {pid}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The sandbox's file system as the test process sees it: `/proc/HOLDER/root`, the root of
    /// the holder's mount namespace (its private /run, /etc/netns and state directory).
    pub fn root(&self) -> std::path::PathBuf {
        let holder = self.holder.expect("the sandbox is running");
        std::path::PathBuf::from(format!("/proc/{holder}/root"))
    }

    /// Every command run in the sandbox from now on gets `key=value` in its environment.
    pub fn with_env(mut self, key: &'static str, value: &'static str) -> Sandbox {
        self.env.push((key, value));
        self
    }

    /// The same for a sandbox made by someone else (a [`multihost::Lab`]'s hosts).
    pub fn set_env(&mut self, key: &'static str, value: &'static str) {
        self.env.push((key, value));
    }

    /// The state directory cnet uses in this sandbox.
    pub fn state_dir(&self) -> &'static str {
        self.state_env.unwrap_or(DEFAULT_STATE_DIR)
    }

    /// Runs `argv` inside the sandbox, with `cnet` on PATH, stdin from /dev/null and a
    /// time limit (a hung command fails its test instead of hanging the suite).
    pub fn run(&self, argv: &[&str]) -> Run {
        let holder = self.holder.expect("the sandbox is running").to_string();
        let bin = Path::new(env!("CARGO_BIN_EXE_cnet"));
        let path = format!(
            "{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            bin.parent()
                .expect("the binary is in a directory")
                .display()
        );
        let mut cmd = Command::new("nsenter");
        cmd.args(["--target", &holder, "--mount", "--net", "--pid", "--"])
            .args(["timeout", "-k", "5", "120"])
            .args(argv)
            .env_clear()
            .env("PATH", path)
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        if let Some(dir) = self.state_env {
            cmd.env("CNET_STATE_DIR", dir);
        }
        cmd.envs(self.env.iter().copied());
        if let Ok(bt) = std::env::var("RUST_BACKTRACE") {
            cmd.env("RUST_BACKTRACE", bt);
        }
        let out = cmd.output().expect("cannot run nsenter (util-linux)");
        Run {
            what: argv.join(" "),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs cnet inside the sandbox.
    pub fn cnet(&self, args: &[&str]) -> Run {
        let mut argv = vec!["cnet"];
        argv.extend_from_slice(args);
        self.run(&argv)
    }

    /// Runs a shell script inside the sandbox (`cnet` is on PATH).
    pub fn sh(&self, script: &str) -> Run {
        let mut r = self.run(&["sh", "-c", script]);
        r.what = format!("sh -c '{script}'");
        r
    }

    /// `cnet exec-in-ns NETNS -- ARGV...`
    pub fn exec_in(&self, netns: &str, argv: &[&str]) -> Run {
        let mut args = vec!["exec-in-ns", netns, "--"];
        args.extend_from_slice(argv);
        self.cnet(&args)
    }

    /// One ping from `netns` to `target` through `cnet exec-in-ns`.
    pub fn ping(&self, netns: &str, target: &str) -> Run {
        self.exec_in(netns, &["ping", "-c1", "-W2", target])
    }

    /// Asserts that `netns` reaches `target`: up to 3 pings. A first ping that fails while a
    /// later one succeeds is reported on stderr (it should work the first time).
    #[track_caller]
    pub fn assert_ping(&self, netns: &str, target: &str) {
        self.assert_ping_with(netns, target, &[]);
    }

    /// [`Sandbox::assert_ping`] over IPv6 (`ping -6`, so a name resolves to its IPv6 address).
    #[track_caller]
    pub fn assert_ping6(&self, netns: &str, target: &str) {
        self.assert_ping_with(netns, target, &["-6"]);
    }

    #[track_caller]
    fn assert_ping_with(&self, netns: &str, target: &str, flags: &[&str]) {
        let mut last = None;
        for attempt in 1..=3 {
            let mut argv = vec!["ping"];
            argv.extend_from_slice(flags);
            argv.extend(["-c1", "-W2", target]);
            let r = self.exec_in(netns, &argv);
            if r.succeeded() {
                if attempt > 1 {
                    eprintln!(
                        "NOTE: ping from {netns} to {target} succeeded only at attempt {attempt}"
                    );
                }
                return;
            }
            last = Some(r);
        }
        panic!("{netns} cannot ping {target}\n{}", last.expect("tried"));
    }

    /// Asserts that a ping from `netns` to `target` fails.
    #[track_caller]
    pub fn assert_no_ping(&self, netns: &str, target: &str) {
        let r = self.ping(netns, target);
        assert!(!r.succeeded(), "{netns} must not reach {target}\n{r}");
    }

    /// The IPv4 addresses (CIDR) of `ifname` in a named namespace, as the kernel has them.
    #[track_caller]
    pub fn addrs(&self, netns: &str, ifname: &str) -> Vec<String> {
        let r = self.run(&["ip", "-n", netns, "-4", "-o", "addr", "show", "dev", ifname]);
        r.ok();
        parse_inet(&r.stdout)
    }

    /// Names listed by `ip netns ls`.
    #[track_caller]
    pub fn netns_list(&self) -> Vec<String> {
        let r = self.run(&["ip", "netns", "ls"]);
        r.ok();
        let mut v: Vec<String> = r
            .stdout
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(String::from))
            .collect();
        v.sort();
        v
    }

    /// Link names of the sandbox host.
    #[track_caller]
    pub fn links(&self) -> Vec<String> {
        let r = self.run(&["ip", "-j", "link"]);
        r.ok();
        link_names(&r.stdout)
    }

    /// Link names inside a named namespace.
    #[track_caller]
    pub fn links_in(&self, netns: &str) -> Vec<String> {
        let r = self.run(&["ip", "-n", netns, "-j", "link"]);
        r.ok();
        link_names(&r.stdout)
    }

    /// iptables rules (normalised iptables-save), ip6tables rules (the same, each line after
    /// `ip6 `), then cnet's nftables table (see [`normalize_nft_table`]), if it is there.
    #[track_caller]
    pub fn rules(&self) -> Vec<String> {
        let r = self.sh(
            "iptables-save && echo @@ip6 && ip6tables-save && echo @@nft && \
             { nft list table inet cnet 2>/dev/null || true; }",
        );
        r.ok();
        let (ipt, rest) = r.stdout.split_once("@@ip6").unwrap_or((&r.stdout, ""));
        let (ip6t, nft) = rest.split_once("@@nft").unwrap_or((rest, ""));
        let mut out = normalize_iptables_save(ipt);
        out.extend(normalize_ip6tables_save(ip6t));
        out.extend(normalize_nft_table(nft));
        out
    }

    /// Whether a path exists inside the sandbox.
    pub fn exists(&self, path: &str) -> bool {
        self.run(&["test", "-e", path]).succeeded()
    }

    /// Links a detach retired ("cnr..." names), in the sandbox host and in `netns` if given,
    /// that the kernel has not finished deleting.
    pub fn retired_links(&self, netns: Option<&str>) -> Vec<String> {
        let mut all = self.links();
        if let Some(ns) = netns {
            all.extend(self.links_in(ns));
        }
        all.retain(|l| l.starts_with("cnr"));
        all
    }

    /// Wait (up to 5 s) until the links that detaches retired are deleted: a detach returns
    /// before the kernel has freed its veth pair. Returns what is still there after that.
    pub fn settle(&self) -> Vec<String> {
        let start = std::time::Instant::now();
        loop {
            let left = self.retired_links(None);
            if left.is_empty() || start.elapsed() > std::time::Duration::from_secs(5) {
                return left;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Everything a user can see changing, in one go (after retired links are freed).
    #[track_caller]
    pub fn snapshot(&self) -> Snapshot {
        self.settle();
        let script = format!(
            r#"dump() {{ [ -d "$1" ] || return 0; find "$1" -type f ! -path "$1/lock" ! -path "$1/boot_id" | sort | while read -r f; do echo "== $f"; cat "$f"; done; }}
echo '@@links'; ip -j link
echo; echo '@@rules'; iptables-save
echo '@@rules6'; ip6tables-save
echo '@@nft'; nft list table inet cnet 2>/dev/null || true
echo '@@state'; dump {state}
echo '@@netns'; ls -1 /run/netns 2>/dev/null
echo '@@etc'; dump /etc/netns
echo '@@end'"#,
            state = self.state_dir()
        );
        let r = self.sh(&script);
        r.ok();
        let mut sections: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        let mut current = "";
        for line in r.stdout.lines() {
            if let Some(name) = line.strip_prefix("@@") {
                current = name;
            } else if !line.is_empty() {
                sections.entry(current).or_default().push(line.to_string());
            }
        }
        let mut take = |name: &str| sections.remove(name).unwrap_or_default();
        let (links, rules) = (take("links").join("\n"), take("rules").join("\n"));
        let (rules6, nft) = (take("rules6").join("\n"), take("nft").join("\n"));
        Snapshot {
            links: link_names(&links),
            rules: {
                let mut r = normalize_iptables_save(&rules);
                r.extend(normalize_ip6tables_save(&rules6));
                r.extend(normalize_nft_table(&nft));
                r
            },
            state: take("state"),
            netns: take("netns"),
            etc_netns: take("etc"),
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        match self.holder {
            // SAFETY: plain kill(2) of the holder we started; ending pid 1 of the sandbox's
            // pid namespace kills every process in it.
            Some(pid) => unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            },
            None => {
                let _ = self.unshare.kill();
            }
        }
        let _ = self.unshare.wait();
    }
}

/// The `inet A.B.C.D/N` addresses of `ip -o addr` output.
pub fn parse_inet(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            w.position(|x| x == "inet")?;
            w.next().map(String::from)
        })
        .collect()
}

/// `cnet lease ls NETWORK --format json` as (address, client, state) triples.
#[track_caller]
pub fn leases(sb: &Sandbox, network: &str) -> Vec<(String, String, String)> {
    let v = sb
        .cnet(&["lease", "ls", network, "--format", "json"])
        .json();
    v.as_array()
        .unwrap_or_else(|| panic!("lease ls gave no array: {v}"))
        .iter()
        .map(|l| {
            let s = |k: &str| {
                l[k].as_str()
                    .unwrap_or_else(|| panic!("lease without {k}: {l}"))
                    .to_string()
            };
            (s("address"), s("client"), s("state"))
        })
        .collect()
}

/// The `Namespaces` object of `cnet net inspect NETWORK`.
#[track_caller]
pub fn inspect_namespaces(
    sb: &Sandbox,
    network: &str,
) -> serde_json::Map<String, serde_json::Value> {
    let v = sb.cnet(&["net", "inspect", network]).json();
    v[0]["namespaces"]
        .as_object()
        .unwrap_or_else(|| panic!("inspect {network}: no Namespaces object: {v:#}"))
        .clone()
}

/// The host-side veth name cnet derives for (network, namespace key): `cnv` + 8 hex digits of
/// a 64-bit FNV-1a hash of both words, each followed by a NUL byte. Duplicated here on
/// purpose: tests use it to provoke a name clash.
pub fn host_veth_name(network: &str, netns_key: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for p in [network, netns_key] {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    format!("cnv{:08x}", h as u32)
}
