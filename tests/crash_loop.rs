//! A crash loop: hundreds of cnet commands (attach, detach, net create, net rm --force, ns rm)
//! over bridge, macvlan and VXLAN networks, each SIGKILLed at a random moment, then `cnet gc`;
//! kernel, firewall and state must agree again. The random choices come from a seeded
//! xorshift generator: the seed is printed in every failure (rerun with CNET_CRASH_SEED=N).

mod common;

use common::{Sandbox, require_root};
use std::collections::{BTreeMap, BTreeSet};

/// Kills wanted in all; they are spread over rounds, each ended by gc and the checks.
const KILLS: usize = 200;
const ROUNDS: usize = 4;
/// Commands per sandbox shell (one nsenter for many commands keeps the loop fast).
const BATCH: usize = 30;
const NAMESPACES: usize = 5;

/// The networks of the loop: name, driver (as `net inspect` says) and creation arguments.
const NETWORKS: [(&str, &str, &str); 3] = [
    ("lab", "bridge", "--subnet 10.81.0.0/24"),
    (
        "lan",
        "macvlan",
        "-d macvlan --subnet 192.168.81.0/24 -o parent=lan0",
    ),
    (
        "ov",
        "vxlan",
        "-d vxlan --subnet 10.82.0.0/24 --vni 81 --local 192.0.2.10",
    ),
];

/// The sandbox's LAN (macvlan parent) and underlay (VXLAN local address).
const SETUP: &str = "ip link add lan0 type veth peer name lan0p && ip link set lan0 up && \
                     ip link set lan0p up && \
                     ip link add under0 type veth peer name under0p && \
                     ip addr add 192.0.2.10/24 dev under0 && ip link set under0 up";

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn seed() -> u64 {
    std::env::var("CNET_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
        .max(1)
}

/// A random cnet command line.
fn random_command(rng: &mut XorShift) -> String {
    let (net, _, create) = NETWORKS[rng.below(NETWORKS.len() as u64) as usize];
    let ns = format!("n{}", rng.below(NAMESPACES as u64));
    match rng.below(19) {
        0..=9 => format!("attach {net} {ns}"),
        10..=13 => format!("detach {net} {ns}"),
        14..=15 => format!("net create {net} {create}"),
        16 => format!("net rm {net} --force"),
        _ => format!("ns rm {ns}"),
    }
}

/// A script running each command in the background, SIGKILLing it after its delay (ms) and
/// printing `killed` for each one the signal ended. A command without a delay runs to its end
/// (so there is state for the next ones to break).
fn kill_script(commands: &[(String, Option<u64>)]) -> String {
    let mut s = String::new();
    for (cmd, delay) in commands {
        let Some(ms) = delay else {
            s += &format!("cnet {cmd} >/dev/null 2>&1\n");
            continue;
        };
        s += &format!(
            "cnet {cmd} >/dev/null 2>&1 & p=$!; sleep 0.{ms:03}; kill -9 $p 2>/dev/null; \
             wait $p; [ $? = 137 ] && echo killed\n"
        );
    }
    s
}

#[test]
fn two_hundred_random_kills_then_gc_leave_nothing_inconsistent() {
    require_root();
    let seed = seed();
    let mut rng = XorShift(seed);
    let sb = Sandbox::new();
    sb.sh(SETUP).ok();
    let started = std::time::Instant::now();
    let mut kills = 0;
    let mut log = Vec::new();
    for round in 0..ROUNDS {
        let wanted = KILLS * (round + 1) / ROUNDS;
        while kills < wanted {
            let batch: Vec<(String, Option<u64>)> = (0..BATCH)
                .map(|_| {
                    let cmd = random_command(&mut rng);
                    let delay = (rng.below(3) > 0).then(|| rng.below(31));
                    (cmd, delay)
                })
                .collect();
            let r = sb.sh(&kill_script(&batch));
            kills += r.stdout.lines().filter(|l| *l == "killed").count();
            log.extend(batch.into_iter().map(|(c, delay)| match delay {
                Some(ms) => format!("{c} (kill at {ms} ms)"),
                None => c,
            }));
        }
        let context = format!(
            "seed {seed} (CNET_CRASH_SEED={seed}), round {round}, after {kills} kills; last \
             commands:\n  {}",
            log[log.len().saturating_sub(BATCH)..].join("\n  ")
        );
        let gc = sb.cnet(&["gc"]);
        assert!(gc.succeeded(), "{context}\n{gc}");
        let again = sb.cnet(&["gc"]);
        assert!(
            again.succeeded() && again.stdout.is_empty(),
            "{context}\nfirst gc:\n{gc}\nsecond gc:\n{again}"
        );
        let endpoints = assert_consistent(&sb, &context);
        eprintln!("round {round}: {kills} kills, {endpoints} endpoints checked");
    }
    assert!(kills >= KILLS, "seed {seed}: only {kills} kills");
    eprintln!(
        "seed {seed}: {kills} kills of {} commands in {:?}",
        log.len(),
        started.elapsed()
    );
}

/// What the state says, from `net inspect`: network name → (driver, endpoints as namespace →
/// (interface, host interface, address)).
type Endpoints = BTreeMap<String, (String, Option<String>, Option<String>)>;

fn recorded(sb: &Sandbox, context: &str) -> BTreeMap<String, (String, Endpoints)> {
    let names = sb.cnet(&["net", "ls", "-q"]);
    assert!(names.succeeded(), "{context}\n{names}");
    let mut args = vec!["net", "inspect", "--format", "json"];
    args.extend(names.stdout.split_whitespace());
    let v = sb.cnet(&args).json();
    let mut out = BTreeMap::new();
    for n in v.as_array().expect("a list") {
        let s = |v: &serde_json::Value| v.as_str().map(String::from);
        let mut eps = Endpoints::new();
        for (ns, e) in n["namespaces"].as_object().expect("namespaces") {
            let ifname = s(&e["interface"]).unwrap_or_default();
            eps.insert(
                ns.clone(),
                (ifname, s(&e["host_interface"]), s(&e["ipv4_address"])),
            );
        }
        let driver = s(&n["driver"]).unwrap_or_default();
        out.insert(s(&n["name"]).expect("a name"), (driver, eps));
    }
    out
}

/// Asserts that kernel, firewall and state agree; returns how many endpoints were checked.
#[track_caller]
fn assert_consistent(sb: &Sandbox, context: &str) -> usize {
    let nets = recorded(sb, context);
    // Intents are kept in the lock file (one line per plan under way).
    let intents = sb.sh(&format!("cat {}/lock", sb.state_dir()));
    assert_eq!(intents.stdout, "", "{context}: intents left");

    // No address held by two namespaces.
    let addrs = sb.sh("for n in $(ls /run/netns); do ip -n $n -4 -o addr show | \
         awk -v n=$n '$2 != \"lo\" {print $4, n, $2}'; done");
    let mut holders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in addrs.stdout.lines() {
        let mut w = line.split_whitespace();
        let (addr, ns, dev) = (w.next().unwrap(), w.next().unwrap(), w.next().unwrap());
        holders
            .entry(addr.to_string())
            .or_default()
            .push(format!("{ns}/{dev}"));
    }
    for (addr, who) in &holders {
        assert!(who.len() == 1, "{context}: {addr} held by {who:?}");
    }

    // Every endpoint's namespace has its interface with the recorded address.
    for (net, (_, eps)) in &nets {
        for (ns, (ifname, _, addr)) in eps {
            let Some(addr) = addr else { continue };
            let held = holders.get(addr).cloned().unwrap_or_default();
            assert!(
                held.contains(&format!("{ns}/{ifname}")),
                "{context}: endpoint {ns} on {net} records {ifname} {addr}, the kernel has it at \
                 {held:?}"
            );
        }
    }

    // Every veth carrying cnet's mark is an endpoint's host end; every other marked link
    // (bridge, VXLAN device) belongs to a network that exists.
    let mut host_ends: BTreeSet<String> = BTreeSet::new();
    for (_, eps) in nets.values() {
        host_ends.extend(eps.values().filter_map(|(_, host, _)| host.clone()));
    }
    let veths = marked_links(sb, "type veth");
    for (link, mark) in &veths {
        assert!(
            host_ends.contains(link),
            "{context}: veth {link} marked {mark} is no endpoint's"
        );
    }
    for (link, mark) in marked_links(sb, "") {
        let net = mark.trim_start_matches("cnet:");
        assert!(
            veths.iter().any(|(v, _)| *v == link) || nets.contains_key(net),
            "{context}: link {link} marked {mark}, a network that does not exist"
        );
    }

    // Rules only of networks that exist; cnet's table only while a network uses it.
    let rules = sb.sh("iptables-save | grep -o 'cnet:[A-Za-z0-9_.-]*' | sort -u");
    for comment in rules.stdout.lines() {
        let net = comment.trim_start_matches("cnet:");
        assert!(
            nets.contains_key(net),
            "{context}: iptables rules of network {net}, which does not exist"
        );
    }
    let has = |driver: &str| nets.values().any(|(d, _)| d == driver);
    let tables = sb.sh("nft list tables 2>/dev/null");
    if tables.stdout.contains("table inet cnet\n") {
        assert!(
            has("bridge") || has("vxlan"),
            "{context}: table inet cnet with no bridge or overlay network"
        );
    }
    // Elements only of bridges that some network has.
    let elements =
        sb.sh("nft list table inet cnet 2>/dev/null | grep -o '\"cn-[^\"]*\"' | sort -u");
    for quoted in elements.stdout.lines() {
        let bridge = quoted.trim_matches('"');
        assert!(
            nets.keys().any(|n| bridge == format!("cn-{n}")),
            "{context}: elements of {bridge}, which no network has"
        );
    }
    nets.values().map(|(_, eps)| eps.len()).sum()
}

/// Host links (of an `ip link show` selection) whose alias is cnet's mark: (name, mark).
fn marked_links(sb: &Sandbox, selection: &str) -> Vec<(String, String)> {
    let r = sb.sh(&format!("ip -o link show {selection}"));
    r.ok();
    r.stdout
        .lines()
        .filter_map(|line| {
            let name = line.split_whitespace().nth(1)?;
            let name = name.trim_end_matches(':').split('@').next()?;
            let mark = line.split(" alias ").nth(1)?.split_whitespace().next()?;
            mark.starts_with("cnet:")
                .then(|| (name.to_string(), mark.to_string()))
        })
        .collect()
}
