//! `cnet graph [--style text|dot|mermaid] [NETWORK...]`: networks, their namespaces, overlay
//! peers and published ports, drawn from the records alone.

use super::Ctx;
use crate::cli::{GraphArgs, GraphStyle};
use crate::error::{Error, Result};
use crate::model::{Driver, Endpoint, Network};
use std::collections::BTreeMap;
use std::fmt::Write;

pub fn run(ctx: &Ctx, args: &GraphArgs) -> Result<()> {
    let mut networks = ctx.store.networks()?;
    for name in &args.networks {
        crate::names::validate_network_name(name)?;
        if !networks.iter().any(|n| &n.name == name) {
            return Err(Error::usage(format!("network {name} does not exist")));
        }
    }
    if !args.networks.is_empty() {
        networks.retain(|n| args.networks.contains(&n.name));
    }
    let mut endpoints = Vec::new();
    for net in &networks {
        endpoints.extend(ctx.store.endpoints(&net.name)?);
    }
    crate::out!("{}", render(args.style, &networks, &endpoints));
    super::listed_everything(ctx)
}

pub fn render(style: GraphStyle, networks: &[Network], endpoints: &[Endpoint]) -> String {
    match style {
        GraphStyle::Text => text(networks, endpoints),
        GraphStyle::Dot => dot(networks, endpoints),
        GraphStyle::Mermaid => mermaid(networks, endpoints),
    }
}

const WIDTH: usize = 80;

/// The link a network's namespaces hang off: its bridge, or the parent of its child links.
fn device(net: &Network) -> Option<String> {
    match net.driver {
        Driver::Vxlan => {
            let vx = net.vni.map(crate::drivers::vxlan::vxlan_ifname);
            match (&net.bridge, vx) {
                (Some(b), Some(v)) => Some(format!("{b}+{v}")),
                (b, v) => b.clone().or(v),
            }
        }
        Driver::Macvlan | Driver::Ipvlan => net.parent.as_ref().map(|p| format!("parent:{p}")),
        _ => net.bridge.clone(),
    }
}

/// The words that describe a network: driver, device, subnet, gateway, internal.
fn network_facts(net: &Network) -> Vec<String> {
    let mut facts = vec![net.driver.to_string()];
    facts.extend(device(net));
    facts.extend(net.subnet.map(|s| s.to_string()));
    facts.extend(net.gateway.map(|g| format!("gw:{g}")));
    if net.internal {
        facts.push("internal".into());
    }
    if let Some(vni) = net.vni {
        facts.push(format!("vni:{vni}"));
    }
    facts
}

/// The words that describe an endpoint: interface, address, default route, ports.
fn endpoint_facts(ep: &Endpoint) -> Vec<String> {
    let mut facts = Vec::new();
    if !ep.ifname.is_empty() {
        facts.push(ep.ifname.clone());
    }
    facts.extend(ep.addresses().map(|a| a.to_string()));
    if ep.default_route {
        facts.push("default-route".into());
    }
    facts.extend(ep.ports.iter().map(|p| p.to_string()));
    facts
}

fn endpoints_of<'a>(net: &Network, endpoints: &'a [Endpoint]) -> Vec<&'a Endpoint> {
    let mut eps: Vec<_> = endpoints.iter().filter(|e| e.network == net.name).collect();
    eps.sort_by(|a, b| a.netns.cmp(&b.netns));
    eps
}

/// A tree per network, every line within 80 columns (words wrap onto indented lines).
fn text(networks: &[Network], endpoints: &[Endpoint]) -> String {
    let mut out = String::new();
    if networks.is_empty() {
        out.push_str("(no networks)\n");
    }
    for net in networks {
        let mut head = vec![format!("[{}]", net.name)];
        head.extend(network_facts(net));
        wrap(&mut out, "", "    ", &head);
        if !net.peers.is_empty() {
            let mut peers = vec!["peers:".to_string()];
            peers.extend(net.peers.iter().map(|p| p.to_string()));
            wrap(&mut out, "  ~ ", "      ", &peers);
        }
        let eps = endpoints_of(net, endpoints);
        for (i, ep) in eps.iter().enumerate() {
            let last = i + 1 == eps.len();
            let (first, rest) = if last {
                ("  └─ ", "       ")
            } else {
                ("  ├─ ", "  │    ")
            };
            let mut words = vec![ep.netns.clone()];
            words.extend(endpoint_facts(ep));
            wrap(&mut out, first, rest, &words);
        }
    }
    out
}

/// Words joined by spaces after `first`, going on to lines that start with `rest` before a
/// word would pass the width.
fn wrap(out: &mut String, first: &str, rest: &str, words: &[String]) {
    let mut line = first.to_string();
    let mut empty = true;
    for w in words {
        let width = line.chars().count() + usize::from(!empty) + w.chars().count();
        if !empty && width > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = rest.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(w);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
}

/// Namespace keys in order, each with the name to show.
fn namespaces<'a>(endpoints: &[&'a Endpoint]) -> BTreeMap<&'a str, &'a str> {
    endpoints
        .iter()
        .map(|e| (e.key.as_str(), e.netns.as_str()))
        .collect()
}

fn peers(networks: &[Network]) -> Vec<std::net::IpAddr> {
    let mut all: Vec<_> = networks.iter().flat_map(|n| n.peers.clone()).collect();
    all.sort();
    all.dedup();
    all
}

/// A Graphviz graph: networks as boxes, namespaces as ellipses, peers as diamonds; the edge
/// that carries a namespace's default route is bold.
fn dot(networks: &[Network], endpoints: &[Endpoint]) -> String {
    let mut out = String::from("graph cnet {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n");
    let shown: Vec<&Endpoint> = networks
        .iter()
        .flat_map(|n| endpoints_of(n, endpoints))
        .collect();
    for net in networks {
        let mut label = vec![net.name.clone()];
        label.extend(network_facts(net));
        let _ = writeln!(
            out,
            "  \"net:{}\" [shape=box, label=\"{}\"];",
            dot_escape(&net.name),
            dot_label(&label)
        );
    }
    for (key, name) in namespaces(&shown) {
        let _ = writeln!(
            out,
            "  \"ns:{}\" [shape=ellipse, label=\"{}\"];",
            dot_escape(key),
            dot_escape(name)
        );
    }
    for peer in peers(networks) {
        let _ = writeln!(
            out,
            "  \"peer:{peer}\" [shape=diamond, label=\"VTEP\\n{peer}\"];"
        );
    }
    for ep in &shown {
        let style = if ep.default_route { ", style=bold" } else { "" };
        let _ = writeln!(
            out,
            "  \"ns:{}\" -- \"net:{}\" [label=\"{}\"{style}];",
            dot_escape(&ep.key),
            dot_escape(&ep.network),
            dot_label(&endpoint_facts(ep))
        );
    }
    for net in networks {
        for peer in &net.peers {
            let _ = writeln!(
                out,
                "  \"net:{}\" -- \"peer:{peer}\" [style=dashed];",
                dot_escape(&net.name)
            );
        }
    }
    out.push_str("}\n");
    out
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn dot_label(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| dot_escape(l))
        .collect::<Vec<_>>()
        .join("\\n")
}

/// A Mermaid flowchart: paste it into Markdown in a ```mermaid block.
fn mermaid(networks: &[Network], endpoints: &[Endpoint]) -> String {
    let mut out = String::from("graph LR\n");
    let shown: Vec<&Endpoint> = networks
        .iter()
        .flat_map(|n| endpoints_of(n, endpoints))
        .collect();
    let net_id: BTreeMap<&str, String> = networks
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), format!("net{i}")))
        .collect();
    let ns_ids: BTreeMap<&str, String> = namespaces(&shown)
        .into_keys()
        .enumerate()
        .map(|(i, k)| (k, format!("ns{i}")))
        .collect();
    for net in networks {
        let mut label = vec![net.name.clone()];
        label.extend(network_facts(net));
        let _ = writeln!(
            out,
            "  {}[\"{}\"]",
            net_id[net.name.as_str()],
            mermaid_label(&label)
        );
    }
    for (key, name) in namespaces(&shown) {
        let _ = writeln!(out, "  {}([\"{}\"])", ns_ids[key], mermaid_text(name));
    }
    let peer_list = peers(networks);
    for (i, peer) in peer_list.iter().enumerate() {
        let _ = writeln!(out, "  peer{i}{{\"VTEP<br/>{peer}\"}}");
    }
    for ep in shown.iter() {
        let link = if ep.default_route { "===" } else { "---" };
        let _ = writeln!(
            out,
            "  {} {link}|\"{}\"| {}",
            ns_ids[ep.key.as_str()],
            mermaid_label(&endpoint_facts(ep)),
            net_id[ep.network.as_str()]
        );
    }
    for net in networks {
        for peer in &net.peers {
            let i = peer_list.iter().position(|p| p == peer).unwrap_or(0);
            let _ = writeln!(out, "  {} -.- peer{i}", net_id[net.name.as_str()]);
        }
    }
    out
}

fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;")
}

fn mermaid_label(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| mermaid_text(l))
        .collect::<Vec<_>>()
        .join("<br/>")
}

#[cfg(test)]
mod tests;
