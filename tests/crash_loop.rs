//! A crash loop: hundreds of cnet commands (attach, detach, net create, net rm --force, ns rm)
//! over bridge, macvlan and VXLAN networks, each SIGKILLed at a random moment, then `cnet gc`;
//! kernel, firewall and state must agree again. The random choices come from a seeded
//! xorshift generator: the seed is printed in every failure (rerun with CNET_CRASH_SEED=N).

mod common;

use common::consistency::assert_consistent;
use common::{Sandbox, require_root};

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
