//! Whether kernel, firewall and state agree, checked from what a user can see (`net inspect`,
//! `ip`, `nft`), not from cnet's own view: no plan left under way in the lock file, no address
//! held twice (either family), every endpoint's address on its interface, every link carrying
//! cnet's mark (link group 0x636e6574, ifalias `cnet:NET`) recorded, in the host and in named
//! namespaces, every element of `table inet cnet` belonging to a recorded network or endpoint,
//! and `cnet gc --dry-run` finding nothing.

use super::Sandbox;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// cnet's link group, set by the request that creates a link (`plan::LINK_GROUP`).
pub const LINK_GROUP: &str = "1668179316";

/// A recorded endpoint, as `net inspect` shows it.
#[derive(Debug, Default)]
pub struct Ep {
    pub interface: String,
    pub host_interface: Option<String>,
    pub v4: Option<String>,
    pub v6: Option<String>,
    /// Published ports, `HOSTIP:PORT->PORT/PROTO`.
    pub ports: Vec<String>,
    /// Where they forward to when not to `v4`: an overlay's go to the namespace's address on
    /// the gateway bridge.
    pub ports_to: Option<String>,
    /// The same in IPv6 (a dual-stack overlay's leg).
    pub ports_to6: Option<String>,
}

/// A recorded network, as `net inspect` shows it.
#[derive(Debug, Default)]
pub struct Net {
    pub driver: String,
    pub internal: bool,
    pub bridge: Option<String>,
    pub subnet: Option<String>,
    pub subnet6: Option<String>,
    /// The VXLAN device, VNI, destination port and peers of an overlay.
    pub vxlan: Option<(String, u64, u64, Vec<String>)>,
    /// A macvlan network's host shim (`cns-NAME`: the names tests use are short enough).
    pub shim: Option<String>,
    /// Endpoints by namespace.
    pub endpoints: BTreeMap<String, Ep>,
}

/// Every recorded network, by name.
#[track_caller]
pub fn recorded(sb: &Sandbox, context: &str) -> BTreeMap<String, Net> {
    let names = sb.cnet(&["net", "ls", "-q"]);
    assert!(names.succeeded(), "{context}\n{names}");
    let mut args = vec!["net", "inspect", "--format", "json"];
    args.extend(names.stdout.split_whitespace());
    parse_recorded(&sb.cnet(&args).json())
}

/// The networks of `net inspect --format json`, by name.
pub fn parse_recorded(v: &Value) -> BTreeMap<String, Net> {
    let s = |v: &Value| v.as_str().map(String::from);
    let mut out = BTreeMap::new();
    for n in v.as_array().expect("a list") {
        let mut net = Net {
            driver: s(&n["driver"]).unwrap_or_default(),
            internal: n["internal"].as_bool().unwrap_or(false),
            bridge: s(&n["bridge"]),
            subnet: s(&n["ipam"]["subnet"]),
            subnet6: s(&n["ipam"]["subnet6"]),
            ..Net::default()
        };
        let vx = &n["vxlan"];
        if let (Some(dev), Some(vni)) = (s(&vx["device"]), vx["vni"].as_u64()) {
            let peers = vx["peers"].as_array().into_iter().flatten();
            let peers = peers.filter_map(&s).collect();
            net.vxlan = Some((dev, vni, vx["dst_port"].as_u64().unwrap_or(4789), peers));
        }
        if n["options"]["host_shim"] == "true" {
            net.shim = Some(format!("cns-{}", n["name"].as_str().unwrap_or_default()));
        }
        for (ns, e) in n["namespaces"].as_object().expect("namespaces") {
            let ports = e["ports"].as_array().into_iter().flatten();
            let ep = Ep {
                interface: s(&e["interface"]).unwrap_or_default(),
                host_interface: s(&e["host_interface"]),
                v4: s(&e["ipv4_address"]),
                v6: s(&e["ipv6_address"]),
                ports: ports.filter_map(&s).collect(),
                ports_to: s(&e["ports_to"]),
                ports_to6: s(&e["ports_to6"]),
            };
            net.endpoints.insert(ns.clone(), ep);
        }
        out.insert(s(&n["name"]).expect("a name"), net);
    }
    out
}

/// What the check reads, gathered in one shell (sections `@@NAME ARGS` then their lines),
/// once the links that detaches retired (`cnr...`, deleted in the background after the
/// command exits) are gone: they are on their way out, not left behind.
pub fn gather_script(state_dir: &str) -> String {
    format!(
        r#"STATE={state_dir}
i=0
while [ $i -lt 250 ] && {{ ip -o link show; for n in $(ls /run/netns); do ip -n $n -o link show; done; }} | grep -q ': cnr'; do
  sleep 0.02; i=$((i+1))
done
echo "@@inspect"; cnet net inspect --format json $(cnet net ls -q)
echo "@@gc"; cnet gc --dry-run 2>&1; echo "@@gcstatus $?"
echo "@@lock"; cat "$STATE/lock"
echo "@@hostns $(stat -L -c %i /proc/self/ns/net)"
ip -o addr show scope global; echo "@@hostlinks"; ip -o link show
for n in $(ls /run/netns); do
  echo "@@ns $n $(stat -L -c %i /run/netns/$n)"; ip -n $n -o addr show scope global
  echo "@@nslinks $n"; ip -n $n -o link show
done
echo "@@nft"; nft list table inet cnet 2>/dev/null
echo "@@iptables"; {{ iptables-save; ip6tables-save; }} 2>/dev/null | grep -o 'cnet:[A-Za-z0-9_.-]*' | sort -u
echo "@@ipt-elements"; {{ iptables-save -t nat; iptables-save -t raw; ip6tables-save -t nat; }} 2>/dev/null | grep -E '^-A CNET-(DNAT|TUNNEL) ' || true
"#
    )
}

/// A link line of `ip -o link show`: (name, whether it carries cnet's mark, its mark).
fn link_of(line: &str) -> Option<(String, bool, String)> {
    let name = line.split_whitespace().nth(1)?;
    let name = name.trim_end_matches(':').split('@').next()?.to_string();
    let words: Vec<&str> = line.split_whitespace().collect();
    let in_group = words.windows(2).any(|w| w == ["group", LINK_GROUP]);
    let alias = line
        .split(" alias ")
        .nth(1)
        .and_then(|a| a.split_whitespace().next());
    let alias = alias.unwrap_or("").to_string();
    Some((name, in_group || alias.starts_with("cnet:"), alias))
}

/// `ADDR/PREFIX` and device of an `ip -o addr show` line.
fn addr_of(line: &str) -> Option<(String, String)> {
    let mut w = line.split_whitespace().skip(1);
    let dev = w.next()?.to_string();
    let _family = w.next()?;
    Some((w.next()?.to_string(), dev))
}

/// Asserts that kernel, firewall and state agree; returns how many endpoints were checked.
#[track_caller]
pub fn assert_consistent(sb: &Sandbox, context: &str) -> usize {
    let r = sb.sh(&gather_script(sb.state_dir()));
    r.ok();
    check(&r.stdout).unwrap_or_else(|problem| panic!("{context}: {problem}"))
}

/// What disagrees, if anything (see the module's text), in the output of [`gather_script`];
/// else how many endpoints were checked.
pub fn check(gathered: &str) -> Result<usize, String> {
    let mut sections: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for line in gathered.lines() {
        match line.strip_prefix("@@") {
            Some(head) => sections.push((head.split(' ').map(String::from).collect(), vec![])),
            None => sections.last_mut().expect("a section").1.push(line.into()),
        }
    }
    let section = |name: &str| -> std::vec::IntoIter<(Vec<String>, Vec<String>)> {
        let of: Vec<_> = sections
            .iter()
            .filter(|(h, _)| h[0] == name)
            .cloned()
            .collect();
        of.into_iter()
    };
    let (_, inspect) = section("inspect").next().ok_or("no inspect section")?;
    let inspect: Value = serde_json::from_str(&inspect.join("\n"))
        .map_err(|e| format!("net inspect gave no JSON ({e}): {inspect:?}"))?;
    let nets = parse_recorded(&inspect);
    let (_, gc) = section("gc").next().expect("the gc section");
    let (status, _) = section("gcstatus").next().expect("the gc status");
    if !gc.is_empty() || status[1] != "0" {
        return Err(format!(
            "gc --dry-run (exit {}) still finds something:\n{}",
            status[1],
            gc.join("\n")
        ));
    }
    let (_, lock) = section("lock").next().expect("the lock section");
    if !lock.is_empty() {
        return Err(format!("intents left in the lock file: {lock:?}"));
    }

    // Addresses by holder: the host's own namespace once (a name bound to it, as the host
    // driver makes, is the same namespace), every other named namespace.
    let (host_head, host_addrs) = section("hostns").next().expect("hostns");
    let host_inode = host_head[1].clone();
    let mut holders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (addr, dev) in host_addrs.iter().filter_map(|l| addr_of(l)) {
        holders.entry(addr).or_default().push(format!("host/{dev}"));
    }
    let mut named: Vec<String> = Vec::new();
    for (head, lines) in section("ns").filter(|(h, _)| h[2] != host_inode) {
        for (addr, dev) in lines.iter().filter_map(|l| addr_of(l)) {
            holders
                .entry(addr)
                .or_default()
                .push(format!("{}/{dev}", head[1]));
        }
        named.push(head[1].clone());
    }
    for (addr, who) in &holders {
        if who.len() > 1 {
            return Err(format!("{addr} held by {who:?}"));
        }
    }
    for (net, n) in &nets {
        for (ns, ep) in &n.endpoints {
            for addr in [&ep.v4, &ep.v6].into_iter().flatten() {
                let held = holders.get(addr).cloned().unwrap_or_default();
                if !held.contains(&format!("{ns}/{}", ep.interface)) {
                    return Err(format!(
                        "endpoint {ns} on {net} records {} {addr}, the kernel has it at {held:?}",
                        ep.interface
                    ));
                }
            }
        }
    }

    // Marked links: in the host, a network's bridge or VXLAN device or an endpoint's host
    // end; in a named namespace, an endpoint's interface there.
    let mut known: BTreeSet<String> = BTreeSet::new();
    for n in nets.values() {
        known.extend(n.bridge.clone());
        known.extend(n.vxlan.as_ref().map(|v| v.0.clone()));
        known.extend(n.shim.clone());
        known.extend(
            n.endpoints
                .values()
                .filter_map(|e| e.host_interface.clone()),
        );
    }
    let (_, host_links) = section("hostlinks").next().expect("hostlinks");
    for (link, marked, alias) in host_links.iter().filter_map(|l| link_of(l)) {
        if marked && !known.contains(&link) {
            return Err(format!(
                "host link {link} (alias {alias:?}) recorded nowhere"
            ));
        }
    }
    let inside = |ns: &str| -> BTreeSet<String> {
        let eps = nets.values().filter_map(|n| n.endpoints.get(ns));
        eps.map(|e| e.interface.clone()).collect()
    };
    for (head, lines) in section("nslinks") {
        let ns = &head[1];
        if !named.contains(ns) {
            continue;
        }
        let ifnames = inside(ns);
        for (link, marked, _) in lines.iter().filter_map(|l| link_of(l)) {
            if marked && !ifnames.contains(&link) {
                return Err(format!("link {link} in {ns} recorded by no endpoint"));
            }
        }
    }

    check_legs(&nets)?;
    let (_, nft) = section("nft").next().expect("nft");
    let mut elements = super::normalize_nft_table(&nft.join("\n"));
    // The iptables backend's DNAT and tunnel-filter rules, as the elements they stand for.
    if let Some((_, rules)) = section("ipt-elements").next() {
        elements.extend(rules.iter().filter_map(|r| iptables_element(r)));
    }
    check_elements(&nets, &elements)?;
    let (_, iptables) = section("iptables").next().expect("iptables");
    for comment in iptables {
        let net = comment.trim_start_matches("cnet:");
        if !nets.contains_key(net) {
            return Err(format!(
                "iptables or ip6tables rules of {net}, which does not exist"
            ));
        }
    }
    Ok(nets.values().map(|n| n.endpoints.len()).sum())
}

/// The gateway bridge's legs: one for each namespace on an overlay that is not internal, and
/// none for any other; an overlay endpoint's published ports go to its leg's address.
fn check_legs(nets: &BTreeMap<String, Net>) -> Result<(), String> {
    let none = BTreeMap::new();
    let legs = nets
        .get(GATEWAY_BRIDGE)
        .map(|n| &n.endpoints)
        .unwrap_or(&none);
    let mut needing: BTreeSet<&String> = BTreeSet::new();
    for (name, n) in nets {
        if n.driver != "vxlan" || n.internal {
            continue;
        }
        for (ns, ep) in &n.endpoints {
            needing.insert(ns);
            let Some(leg) = legs.get(ns) else {
                return Err(format!(
                    "{ns} is on overlay {name} and has no leg on {GATEWAY_BRIDGE}"
                ));
            };
            if !ep.ports.is_empty()
                && ep.ports_to
                    != leg
                        .v4
                        .as_deref()
                        .map(|a| a.split('/').next().unwrap_or(a).to_string())
            {
                return Err(format!(
                    "{ns}'s ports on {name} go to {:?}, its leg is at {:?}",
                    ep.ports_to, leg.v4
                ));
            }
        }
    }
    if let Some(ns) = legs.keys().find(|ns| !needing.contains(ns)) {
        return Err(format!(
            "{ns} has a leg on {GATEWAY_BRIDGE} and no overlay that needs it"
        ));
    }
    Ok(())
}

/// The gateway bridge of overlays (`commands::gwbridge`).
const GATEWAY_BRIDGE: &str = "cnet_gwbridge";

/// Every element of `table inet cnet` (lines `nft SET ELEMENT`) belongs to a recorded network
/// or endpoint, and every recorded published port has its element.
fn check_elements(nets: &BTreeMap<String, Net>, elements: &[String]) -> Result<(), String> {
    let bridges: BTreeMap<String, &Net> = nets
        .values()
        .filter_map(|n| n.bridge.clone().map(|b| (b, n)))
        .collect();
    let mut published: BTreeSet<String> = BTreeSet::new();
    for n in nets.values() {
        for ep in n.endpoints.values() {
            // An overlay endpoint's ports go to its gateway-bridge leg, others' to its own
            // addresses.
            let to = match &ep.ports_to {
                Some(leg) => vec![Some(leg.clone()), ep.ports_to6.clone()],
                None => vec![ep.v4.clone(), ep.v6.clone()],
            };
            for addr in to {
                let Some(addr) = addr.as_deref().and_then(|a| a.split('/').next()) else {
                    continue;
                };
                published.extend(ep.ports.iter().flat_map(|p| published_elements(p, addr)));
            }
        }
    }
    let overlays: Vec<&(String, u64, u64, Vec<String>)> =
        nets.values().filter_map(|n| n.vxlan.as_ref()).collect();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for line in elements {
        let Some((set, element)) = line.strip_prefix("nft ").and_then(|l| l.split_once(' ')) else {
            continue;
        };
        if set.contains(':') {
            continue; // a chain's rule
        }
        let bad = |why: &str| Err(format!("element {{ {element} }} of {set}: {why}"));
        let names: Vec<&str> = element.split('"').skip(1).step_by(2).collect();
        if let Some(b) = names.iter().find(|b| !bridges.contains_key(**b)) {
            return bad(&format!("bridge {b} is no recorded network's"));
        }
        match set {
            "subnets4" | "subnets6" => {
                let net = bridges[names[0]];
                let subnet = element.split(" . ").next().unwrap_or_default();
                let recorded = if set == "subnets4" {
                    &net.subnet
                } else {
                    &net.subnet6
                };
                if recorded.as_deref() != Some(subnet) {
                    return bad(&format!("its network records subnet {recorded:?}"));
                }
            }
            "published" | "published-ip" | "published6" | "published6-ip" => {
                if !published.contains(element) {
                    return bad("no endpoint publishes this port");
                }
                seen.insert(element.to_string());
            }
            "guarded" | "peers" => {
                let w: Vec<&str> = element.split(" . ").collect();
                let vni = u64::from_str_radix(w[1].trim_start_matches("0x"), 16).ok();
                let port = w[0].parse::<u64>().ok();
                let overlay = overlays
                    .iter()
                    .find(|o| Some(o.1) == vni && Some(o.2) == port);
                match overlay {
                    None => return bad("no recorded overlay has this VNI and port"),
                    Some(o) if set == "peers" && !o.3.iter().any(|p| p == w[2]) => {
                        return bad("not a peer of its overlay");
                    }
                    Some(_) => {}
                }
            }
            _ => {}
        }
    }
    if let Some(missing) = published.difference(&seen).next() {
        return Err(format!(
            "published port {{ {missing} }} recorded but not in the table"
        ));
    }
    Ok(())
}

/// An iptables rule of CNET-DNAT or CNET-TUNNEL (as iptables-save prints it) as the line of
/// `table inet cnet`'s element that does the same (`nft published tcp . 8080 : 10.1.0.2 . 80`,
/// `nft peers 4789 . 0x1388 . 192.0.2.2`); `None` for any other rule.
fn iptables_element(rule: &str) -> Option<String> {
    let w: Vec<&str> = rule.split_whitespace().collect();
    let after = |flag: &str| {
        w.windows(2)
            .find(|p| p[0] == flag)
            .map(|p| p[1].trim_matches('"'))
    };
    let port = after("--dport")?;
    match *w.get(1)? {
        "CNET-DNAT" => {
            let proto = after("-p")?;
            let (addr, to_port) = after("--to-destination")?.rsplit_once(':')?;
            let addr = addr.trim_matches(['[', ']']);
            let map = if addr.contains(':') {
                "published6"
            } else {
                "published"
            };
            Some(match after("-d") {
                Some(host) => format!(
                    "nft {map}-ip {} . {proto} . {port} : {addr} . {to_port}",
                    host.trim_end_matches("/32").trim_end_matches("/128")
                ),
                None => format!("nft {map} {proto} . {port} : {addr} . {to_port}"),
            })
        }
        "CNET-TUNNEL" => {
            let vni = after("--u32")?.rsplit_once('=')?.1;
            Some(match after("-s") {
                Some(peer) => format!(
                    "nft peers {port} . {vni} . {}",
                    peer.trim_end_matches("/32")
                ),
                None => format!("nft guarded {port} . {vni}"),
            })
        }
        _ => None,
    }
}

/// The elements of `published` (`PROTO . PORT : ADDR . PORT`) or `published-ip` (host address
/// first), or their IPv6 maps for an IPv6 `addr`, for a port an endpoint at `addr` records as
/// `HOSTIP:PORT[-END]->PORT[-END]/PROTO`, one per port of a range; none for a host address of
/// the other family than `addr`'s.
fn published_elements(port: &str, addr: &str) -> Vec<String> {
    let parse = || -> Option<Vec<String>> {
        let (host, rest) = port.rsplit_once(':')?;
        let (hp, rest) = rest.split_once("->")?;
        let (cp, proto) = rest.split_once('/')?;
        let host_v6 = host.starts_with('[');
        if host != "0.0.0.0" && host_v6 != addr.contains(':') {
            return None;
        }
        let host = host.trim_matches(['[', ']']);
        let first = |r: &str| r.split('-').next()?.parse::<u32>().ok();
        let (h0, c0) = (first(hp)?, first(cp)?);
        let h1 = hp
            .split_once('-')
            .map_or(Some(h0), |(_, e)| e.parse().ok())?;
        Some(
            (h0..=h1)
                .map(|h| {
                    let c = c0 + (h - h0);
                    match host {
                        "0.0.0.0" => format!("{proto} . {h} : {addr} . {c}"),
                        _ => format!("{host} . {proto} . {h} : {addr} . {c}"),
                    }
                })
                .collect(),
        )
    };
    parse().unwrap_or_default()
}
