//! A real etcd (Debian's etcd-server) for the multi-host tests, started in the switch's
//! sandbox on an underlay address, and cnet run against it.

use super::multihost::{Host, Lab, SWITCH_BRIDGE};
use std::time::{Duration, Instant};

/// etcd's client address, on the underlay (in the switch's sandbox).
pub const ETCD: &str = "192.0.2.100:2379";

/// Whether etcd can be run here; the reason printed when it cannot.
pub fn etcd_missing() -> Option<String> {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("etcd").is_file()))
        .unwrap_or(false);
    (!found).then(|| "etcd is not installed (apt-get install etcd-server)".to_string())
}

/// Start etcd in the switch's sandbox, listening on the underlay, and wait until host `a`
/// can connect to it.
pub fn start_etcd(lab: &Lab) {
    lab.switch
        .sh(&format!("ip addr add 192.0.2.100/24 dev {SWITCH_BRIDGE}"))
        .ok();
    launch_etcd(lab);
}

/// Stop etcd (its data stays, as on a machine that restarts it).
pub fn stop_etcd(lab: &Lab) {
    lab.switch
        // Until it is gone or a zombie (nobody reaps in the sandbox).
        .sh("p=$(cat /run/etcd.pid); kill $p; \
             while [ -e /proc/$p ] && ! grep -q '^State:[[:space:]]*Z' /proc/$p/status; do sleep 0.05; done")
        .ok();
}

/// Start the stopped etcd again, on its data, and wait until it answers.
pub fn launch_etcd(lab: &Lab) {
    lab.switch
        .sh(&format!(
            "setsid etcd --name t --data-dir /run/etcd-data \
             --listen-client-urls http://{ETCD} --advertise-client-urls http://{ETCD} \
             --listen-peer-urls http://127.0.0.1:2380 \
             --initial-advertise-peer-urls http://127.0.0.1:2380 \
             --initial-cluster t=http://127.0.0.1:2380 \
             </dev/null >>/run/etcd.log 2>&1 & echo $! >/run/etcd.pid"
        ))
        .ok();
    let deadline = Instant::now() + Duration::from_secs(20);
    let (host, port) = ETCD.split_once(':').unwrap();
    loop {
        let probe = lab.host(0).run(&[
            "socat",
            "-u",
            "OPEN:/dev/null",
            &format!("TCP:{host}:{port}"),
        ]);
        if probe.succeeded() {
            return;
        }
        if Instant::now() > deadline {
            let log = lab.switch.run(&["cat", "/run/etcd.log"]);
            panic!("etcd did not start: {}", log.stdout);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `cnet --store etcd://... ARGS` on a host. Each host has a boot of its own, as separate
/// machines do (the sandboxes share one kernel).
pub fn shared(h: &Host, args: &[&str]) -> super::Run {
    let store = format!("etcd://{ETCD}");
    let boot = format!("CNET_BOOT_ID=boot-of-host-{}", h.name);
    let mut argv = vec!["env", boot.as_str(), "cnet", "--store", store.as_str()];
    argv.extend_from_slice(args);
    h.run(&argv)
}

/// `cnet agent` started in the background on a host (its pid in /run/agent.pid, its output
/// in /run/agent.log).
pub fn start_agent(h: &Host, extra: &str) {
    h.sh(&format!(
        "CNET_BOOT_ID=boot-of-host-{} setsid cnet --store etcd://{ETCD} agent {extra} \
         </dev/null >>/run/agent.log 2>&1 & echo $! >/run/agent.pid",
        h.name
    ))
    .ok();
}

/// Wait until `ok` holds, or fail with what `why` says then.
#[track_caller]
pub fn eventually(within: Duration, mut ok: impl FnMut() -> bool, why: impl Fn() -> String) {
    let deadline = Instant::now() + within;
    while !ok() {
        assert!(Instant::now() < deadline, "{}", why());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The per-endpoint entries of a host's VXLAN device, sorted: `MAC VTEP` of its permanent
/// FDB entries (not the flood ones) and `IP MAC` of its neighbour entries, both families.
pub fn forwards(h: &Host, dev: &str) -> Vec<String> {
    let fdb = h
        .run(&["bridge", "fdb", "show", "dev", dev])
        .ok()
        .stdout
        .clone();
    let mut out: Vec<String> = fdb
        .lines()
        .filter(|l| l.contains(" dst ") && l.ends_with("permanent"))
        .filter(|l| !l.starts_with("00:00:00:00:00:00"))
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            format!("{} {}", w[0], w[2])
        })
        .collect();
    for family in ["-4", "-6"] {
        let neigh = h
            .run(&["ip", family, "neigh", "show", "dev", dev])
            .ok()
            .stdout
            .clone();
        for l in neigh.lines() {
            let w: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(w.get(3), Some(&"PERMANENT"), "{neigh}");
            out.push(format!("{} {}", w[0], w[2]));
        }
    }
    out.sort();
    out
}
