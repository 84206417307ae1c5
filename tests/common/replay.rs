//! The replay harness (issue #19): `--dry-run` prints a script that reproduces the run.
//!
//! Sandbox A runs a lab for real, step by step. Sandbox B runs, for each step, `cnet --dry-run
//! STEP` and then the printed script with `sh -e`; its kernel and files are built by the
//! scripts alone. A dry run changes no state, so before each step B gets A's state directory as
//! it was before that step (A ran every earlier step for real): B then plans against the same
//! records, ids included, as A did. After every step both sandboxes must look the same: links,
//! addresses, routes, FDBs and sysctls of the host and of every namespace, the whole nftables
//! ruleset and iptables, /run/netns, and the files under /etc/netns and /run/cnet/hosts. Only
//! what the kernel picks by itself is normalised (see [`normalise_link`] and [`Dump`]).

use super::Sandbox;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What both sandboxes start with, with fixed MACs (they are the test's, not the kernel's
/// choice): `lan0` (192.168.50.10/24, MTU 1400), the macvlan parent, and `up0` (192.0.2.1/24),
/// the overlay's underlay. Their far ends stay in the host: nobody needs to answer. And a
/// namespace `other` made by another tool, attached by path.
pub const SETUP: &str = "set -e
ip link add lan0 mtu 1400 address 02:00:00:00:50:0a type veth peer name lan0-far address 02:00:00:00:50:01
ip addr add 192.168.50.10/24 dev lan0
ip link set lan0 up
ip link set lan0-far up
ip link add up0 address 02:00:00:00:02:01 type veth peer name up0-far address 02:00:00:00:02:02
ip addr add 192.0.2.1/24 dev up0
ip link set up0 up
ip link set up0-far up
ip netns add other
";

/// Everything a user can see of a sandbox, printed in sections `@@NAME`.
const DUMP: &str = r#"MACS='for d in /sys/class/net/*; do echo "${d##*/} $(cat $d/addr_assign_type) $(cat $d/address)"; done'
SYSCTLS='cd /proc/sys/net && grep -r . ipv4/ip_forward ipv4/conf/*/route_localnet ipv6/conf/all/forwarding ipv6/conf/*/disable_ipv6 ipv6/conf/*/addr_gen_mode ipv6/conf/*/accept_ra ipv6/conf/*/accept_dad | sort'
dump_ns() {
    if [ -z "$1" ]; then label=host; ipn=; else label="ns:$1"; ipn="-n $1"; fi
    echo "@@$label macs"
    if [ -z "$1" ]; then
        unshare --mount sh -c "mount -t sysfs sysfs /sys && $MACS"
    else
        ip netns exec "$1" sh -c "$MACS"
    fi
    echo "@@$label link"; ip $ipn -j -d link show
    echo "@@$label addr"; ip $ipn -j addr show
    echo "@@$label route"; ip $ipn -j route show
    echo "@@$label route6"; ip $ipn -6 -j route show
    echo "@@$label fdb"; bridge $ipn -j fdb show
    echo "@@$label sysctl"
    if [ -z "$1" ]; then sh -c "$SYSCTLS"; else ip netns exec "$1" sh -c "$SYSCTLS"; fi
}
dump_ns ""
for n in $(ls /run/netns); do dump_ns "$n"; done
echo "@@nft"; nft list ruleset
echo "@@iptables"; iptables-save
echo "@@netns"
ls -l /run/netns | awk 'NR > 1 {print $1, $3, $4, $5, $NF}'
findmnt -rn -o TARGET,FSTYPE,PROPAGATION | grep '^/run/netns' | sort
echo "@@files"
find /etc/netns /run/cnet/hosts -mindepth 1 -printf '%p %y %m %l\n' 2>/dev/null | sort
find /etc/netns /run/cnet/hosts -type f 2>/dev/null | sort | while read -r f; do echo "== $f"; cat "$f"; done
echo "@@end"
"#;

/// Keys of `ip -j` output the kernel picks or that change by themselves: interface indexes
/// (allocated per namespace, and a retired veth pair uses some), namespace ids, counters,
/// bridge and bridge-port timers, and address lifetimes.
const KERNEL_KEYS: &[&str] = &[
    "ifindex",
    "link_index",
    "link_netnsid",
    "stats",
    "stats64",
    "hello_timer",
    "tcn_timer",
    "topology_change_timer",
    "gc_timer",
    "message_age_timer",
    "forward_delay_timer",
    "hold_timer",
];

/// Drops [`KERNEL_KEYS`] at any depth.
fn normalise_link(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for k in KERNEL_KEYS {
                m.remove(*k);
            }
            // The operational state follows the carrier through the kernel's linkwatch, up to
            // a second later, and so do a route's `linkdown` flag: a snapshot may catch
            // either. The carrier itself (LOWER_UP) and the admin state (UP) are compared.
            m.remove("operstate");
            if let Some(Value::Array(flags)) = m.get_mut("flags") {
                flags.retain(|f| f != "NO-CARRIER" && f != "linkdown");
            }
            m.values_mut().for_each(normalise_link);
        }
        Value::Array(a) => a.iter_mut().for_each(normalise_link),
        _ => {}
    }
}

/// A sandbox's dump as comparable lines, grouped by section.
struct Dump {
    sections: BTreeMap<String, Vec<String>>,
}

impl Dump {
    /// `macs`: (MAC, what it stands for) to write in place of MACs the two sandboxes cannot
    /// share.
    fn of(sb: &Sandbox, macs: &[(String, String)]) -> Dump {
        sb.settle();
        let r = sb.sh(DUMP);
        r.ok();
        let mut raw: BTreeMap<String, String> = BTreeMap::new();
        let mut current = String::new();
        for line in r.stdout.lines() {
            if let Some(name) = line.strip_prefix("@@") {
                current = name.to_string();
            } else {
                let s = raw.entry(current.clone()).or_default();
                s.push_str(line);
                s.push('\n');
            }
        }
        // MACs the kernel made up (addr_assign_type 1, random), named by their interface, so
        // that the two sandboxes' random MACs compare equal wherever they appear.
        let mut random_macs: BTreeMap<String, String> = macs.iter().cloned().collect();
        for (name, text) in &raw {
            if let Some(label) = name.strip_suffix(" macs") {
                for l in text.lines() {
                    let w: Vec<&str> = l.split_whitespace().collect();
                    if let [ifname, "1", mac] = w[..] {
                        random_macs
                            .insert(mac.to_string(), format!("<random mac of {label}/{ifname}>"));
                    }
                }
            }
        }
        let unrandom = |s: &str| -> String {
            let mut s = s.to_string();
            for (mac, name) in &random_macs {
                s = s.replace(mac.as_str(), name);
                // The multicast MAC of the solicited-node address of its IPv6 link-local one.
                let solicited = format!("33:33:ff:{}", &mac[9..]);
                s = s.replace(&solicited, &format!("<solicited-node mac of {name}>"));
                // Bridge ids print their MAC without leading zeros: `8000.36:f:29:62:1f:6b`.
                s = s.replace(&format!(".{}\"", unpadded(mac)), &format!(".{name}\""));
            }
            s
        };
        let mut sections = BTreeMap::new();
        for (name, text) in &raw {
            let kind = name.rsplit(' ').next().unwrap_or_default();
            let lines = match kind {
                "macs" => continue,
                "link" | "addr" | "route" | "route6" | "fdb" => json_lines(kind, &unrandom(text)),
                "nft" => nft_lines(text),
                "iptables" => super::normalize_iptables_save(text),
                _ => text.lines().map(unrandom).collect(),
            };
            sections.insert(name.clone(), lines);
        }
        Dump { sections }
    }

    /// The first difference from `other`, named by section and line.
    fn first_difference(&self, other: &Dump) -> Option<String> {
        let names: BTreeSet<&String> = self.sections.keys().chain(other.sections.keys()).collect();
        for name in names {
            let empty = Vec::new();
            let a = self.sections.get(name).unwrap_or(&empty);
            let b = other.sections.get(name).unwrap_or(&empty);
            if a == b {
                continue;
            }
            let i = a.iter().zip(b).take_while(|(x, y)| x == y).count();
            let show = |v: &Vec<String>| v.get(i).cloned().unwrap_or_else(|| "(nothing)".into());
            return Some(format!(
                "section {name}, line {}:\n  real run:  {}\n  replayed:  {}",
                i + 1,
                show(a),
                show(b)
            ));
        }
        None
    }
}

/// A MAC as iproute2 prints it in a bridge id: each byte in hex without leading zeros.
fn unpadded(mac: &str) -> String {
    let bytes: Vec<&str> = mac
        .split(':')
        .map(|b| match b.trim_start_matches('0') {
            "" => "0",
            t => t,
        })
        .collect();
    bytes.join(":")
}

/// `ip -j`/`bridge -j` output as one line per object, with [`KERNEL_KEYS`] dropped and the
/// objects sorted (by name first, as the kernel lists them in index order).
fn json_lines(kind: &str, text: &str) -> Vec<String> {
    let text = text.trim();
    if text.is_empty() {
        return Vec::new();
    }
    let v: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{kind}: not JSON ({e}): {text}"));
    let mut lines: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("{kind}: not an array: {text}"))
        .iter()
        .map(|o| {
            let mut o = o.clone();
            normalise_link(&mut o);
            if let Some(addrs) = o.get_mut("addr_info").and_then(Value::as_array_mut) {
                addrs.iter_mut().for_each(normalise_address);
            }
            let name = o
                .get("ifname")
                .or_else(|| o.get("dst"))
                .map(|n| n.to_string())
                .unwrap_or_default();
            format!("{name} {o}")
        })
        .collect();
    lines.sort();
    lines
}

/// An address's lifetimes and DAD progress are the kernel's clock, not cnet's choice.
fn normalise_address(a: &mut Value) {
    if let Value::Object(m) = a {
        for k in ["valid_life_time", "preferred_life_time", "tentative"] {
            m.remove(k);
        }
        // An IPv6 link-local address derives from the link's MAC, which may be one of the
        // MACs above that differ: whether there is one is compared, not its value.
        if let Some(Value::String(local)) = m.get_mut("local")
            && local.starts_with("fe80:")
        {
            *local = "<link-local>".into();
        }
    }
}

/// The nftables ruleset without counters, set elements sorted (a hash set lists in no set
/// order).
fn nft_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let line = strip_counters(line);
        match line.strip_prefix("elements = {") {
            Some(rest) => {
                let mut elems: Vec<&str> = rest
                    .trim_end_matches('}')
                    .split(',')
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .collect();
                elems.sort();
                out.push(format!("elements = {{ {} }}", elems.join(", ")));
            }
            None => out.push(line),
        }
    }
    out
}

/// `counter packets N bytes M` as `counter`.
fn strip_counters(line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        out.push(words[i]);
        if words[i] == "counter" && words.get(i + 1) == Some(&"packets") {
            i += 5;
        } else {
            i += 1;
        }
    }
    out.join(" ")
}

/// Makes B's state directory a copy of A's.
fn copy_state(from: &Sandbox, to: &Sandbox) {
    let src = from.root().join(super::STATE_DIR.trim_start_matches('/'));
    let dst = to.root().join(super::STATE_DIR.trim_start_matches('/'));
    let r = std::process::Command::new("sh")
        .args(["-ec", r#"rm -rf "$2" && cp -a "$1" "$2""#, "sh"])
        .arg(&src)
        .arg(&dst)
        .output()
        .expect("sh");
    assert!(r.status.success(), "copying the state: {r:?}");
}

/// FNV-1a over NUL-terminated words, as cnet derives MACs (names::derived_mac). Duplicated
/// here on purpose: the test checks the real run's MACs against the network's recorded id.
fn derived_mac(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    let b = h.to_be_bytes();
    let mac = [(b[0] & 0xfe) | 0x02, b[1], b[2], b[3], b[4], b[5]];
    mac.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The bridge and shim MACs of network `name` as its recorded id gives them in `sb`.
fn id_derived_macs(sb: &Sandbox, name: &str) -> BTreeMap<&'static str, String> {
    let path = sb
        .root()
        .join(super::STATE_DIR.trim_start_matches('/'))
        .join(format!("networks/{name}.toml"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let net: toml::Table = text.parse().unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let id = net["id"].as_str().expect("an id");
    BTreeMap::from([
        ("bridge", derived_mac(&["cnet-bridge", name, id])),
        ("shim", derived_mac(&["cnet-shim", name, id])),
    ])
}

/// The MACs a `net create` script gives: a bridge's (`ip link set BRIDGE address MAC`) and a
/// shim's (`ip link add link PARENT name SHIM ... address MAC`).
fn printed_macs(script: &str) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for line in script.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(i) = words.iter().position(|w| *w == "address") else {
            continue;
        };
        let kind = if line.starts_with("ip link add link ") {
            "shim"
        } else {
            "bridge"
        };
        out.push((kind, words[i + 1].to_string()));
    }
    out
}

/// The bridge MACs a `lab up` script gives its networks (`# network NAME`, then `ip link set
/// BRIDGE address MAC`); the gateway bridge's is not drawn from a random id.
fn lab_bridge_macs(script: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut network = None;
    for line in script.lines() {
        if let Some(name) = line.strip_prefix("# network ") {
            network = Some(name.to_string());
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if let (Some(name), ["ip", "link", "set", _, "address", mac]) = (&network, &words[..])
            && name != "cnet_gwbridge"
        {
            out.push((name.clone(), mac.to_string()));
        }
    }
    out
}

fn args(step: &str) -> Vec<&str> {
    step.split_whitespace().collect()
}

/// Runs `steps` for real in one sandbox and as pasted dry-run scripts in another, comparing
/// both after every step.
pub fn replay(steps: &[&str]) {
    replay_in(Sandbox::new(), Sandbox::new(), steps);
}

/// [`replay`] in two sandboxes made by the caller (e.g. with `CNET_FIREWALL=iptables`).
pub fn replay_in(real: Sandbox, replay: Sandbox, steps: &[&str]) {
    real.sh(SETUP).ok();
    replay.sh(SETUP).ok();
    if let Some(d) = Dump::of(&real, &[]).first_difference(&Dump::of(&replay, &[])) {
        panic!("the two sandboxes differ before the first step: {d}");
    }
    // A new network's bridge and shim MACs derive from its id, which is random: each sandbox's
    // net create picked its own. They are compared as "the MAC from the id": A's computed
    // from its state, B's as its dry run printed it.
    let (mut real_macs, mut replay_macs) = (Vec::new(), Vec::new());
    for step in steps {
        if let Some(cmd) = step.strip_prefix("! ") {
            real.sh(cmd).ok();
            replay.sh(cmd).ok();
            continue;
        }
        copy_state(&real, &replay);
        let mut dry = vec!["--dry-run"];
        dry.extend(args(step));
        let printed = replay.cnet(&dry);
        printed.ok();
        let script = printed.stdout.clone();
        let pasted = replay.run(&["sh", "-ec", &script]);
        assert!(
            pasted.succeeded(),
            "step `{step}`: the printed script failed\n--- script ---\n{script}\n{pasted}"
        );
        real.cnet(&args(step)).ok();
        if let Some(name) = step.strip_prefix("net create ") {
            let name = name.split_whitespace().next().expect("a name");
            let a = id_derived_macs(&real, name);
            let b = printed_macs(&script);
            for (kind, mac) in b {
                let placeholder = format!("<{kind} mac from the id of {name}>");
                let a_mac = a
                    .get(kind)
                    .unwrap_or_else(|| panic!("{name}: no {kind} mac"));
                real_macs.push((a_mac.clone(), placeholder.clone()));
                replay_macs.push((mac, placeholder));
            }
        }
        if step.starts_with("lab up ") {
            for (name, mac) in lab_bridge_macs(&script) {
                let placeholder = format!("<bridge mac from the id of {name}>");
                real_macs.push((
                    id_derived_macs(&real, &name)["bridge"].clone(),
                    placeholder.clone(),
                ));
                replay_macs.push((mac, placeholder));
            }
        }
        let (a, b) = (Dump::of(&real, &real_macs), Dump::of(&replay, &replay_macs));
        if let Some(d) = a.first_difference(&b) {
            panic!(
                "after `{step}`, the replay differs from the real run: {d}\n--- script ---\n{script}"
            );
        }
    }
}
