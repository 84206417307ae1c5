//! What gc removes that no record accounts for, besides links of the host: firewall rules of
//! networks that are gone, hosts files with no member, interfaces left in namespaces that no
//! endpoint records, and nftables elements of no endpoint or overlay (`elements`). Nothing here is touched while some state file cannot
//! be read: what that file records is unknown, and might be what looks unaccounted for.

use super::{Ctx, Repair};
use crate::error::Result;
use crate::files::Node;
use crate::firewall::inet::NetElement;
use crate::firewall::listing::network_of;
use crate::firewall::rule::Rule;
use crate::hosts;
use crate::model::Endpoint;
use crate::plan::{FileOp, NsRef, Op, Plan};
use std::collections::{BTreeMap, BTreeSet};

/// Every leftover of the kinds above, as repairs. Planned after the other repairs have run.
pub fn repairs(ctx: &Ctx) -> Result<Vec<Repair>> {
    let networks = ctx.store.networks()?;
    let names: BTreeSet<String> = networks.iter().map(|n| n.name.clone()).collect();
    let mut endpoints = Vec::new();
    for net in &names {
        endpoints.extend(ctx.store.endpoints(net)?);
    }
    let namespaces = ctx.store.namespaces()?;
    if !ctx.store.bad_files().is_empty() {
        return Ok(Vec::new());
    }
    let cnet_made: Vec<String> = namespaces.into_iter().map(|n| n.name).collect();
    let mut out = orphan_rules(ctx, &names)?;
    out.extend(orphan_elements(ctx)?);
    out.extend(hosts_files(ctx, &names, &endpoints, &cnet_made)?);
    out.extend(namespace_links(ctx, &cnet_made, &endpoints)?);
    out.extend(super::elements::repairs(ctx, &networks, &endpoints)?);
    Ok(out)
}

fn repair(object: String, problem: &str, action: String, ops: Vec<Op>) -> Repair {
    Repair {
        object,
        problem: problem.into(),
        action,
        plan: Plan { ops },
        builds: false,
        detach: None,
        failed: false,
    }
}

/// iptables rules whose comment names a network that does not exist, per network.
fn orphan_rules(ctx: &Ctx, names: &BTreeSet<String>) -> Result<Vec<Repair>> {
    let mut by_network: BTreeMap<String, Vec<Rule>> = BTreeMap::new();
    for rule in ctx.host.borrow_mut().cnet_rules()? {
        if let Some(net) = network_of(&rule).filter(|n| !names.contains(*n)) {
            by_network.entry(net.to_string()).or_default().push(rule);
        }
    }
    Ok(by_network
        .into_iter()
        .map(|(net, rules)| {
            repair(
                format!("firewall rules of {net}"),
                "no such network",
                format!("deleted ({} rules)", rules.len()),
                vec![Op::DeleteRules(rules)],
            )
        })
        .collect())
}

/// Elements of `table inet cnet` whose bridge is no network's, per bridge.
fn orphan_elements(ctx: &Ctx) -> Result<Vec<Repair>> {
    let bridges: BTreeSet<String> = ctx
        .store
        .networks()?
        .into_iter()
        .filter_map(|n| n.bridge)
        .collect();
    let mut by_bridge: BTreeMap<String, Vec<NetElement>> = BTreeMap::new();
    for e in ctx.host.borrow_mut().cnet_elements()? {
        if let Some(bridge) = e.bridge().filter(|b| !bridges.contains(*b)) {
            by_bridge.entry(bridge.to_string()).or_default().push(e);
        }
    }
    Ok(by_bridge
        .into_iter()
        .map(|(bridge, elements)| {
            repair(
                format!("firewall elements of bridge {bridge}"),
                "no such network",
                format!("deleted ({} elements)", elements.len()),
                vec![Op::RemoveNetwork {
                    drop_table: false,
                    elements,
                }],
            )
        })
        .collect())
}

/// Shared hosts files of networks that are gone, member lines of addresses no endpoint holds,
/// and `/etc/netns/NS` files cnet wrote for namespaces it no longer knows: on no network, not
/// of its making, and gone.
fn hosts_files(
    ctx: &Ctx,
    names: &BTreeSet<String>,
    endpoints: &[Endpoint],
    cnet_made: &[String],
) -> Result<Vec<Repair>> {
    let mut out = Vec::new();
    let listed = ctx.host.borrow().files().list(&hosts::network_hosts_dir());
    for file in listed {
        let net = file.strip_suffix(".multi").unwrap_or(&file).to_string();
        if names.contains(&net) {
            if file == net {
                out.extend(stale_lines(ctx, &net, endpoints)?);
            }
            continue;
        }
        if file != net && listed_has(ctx, &net) {
            continue; // `NET.multi` goes with `NET`.
        }
        let ops = ctx.plan_files(|h| h.network_removed(&net))?;
        if !ops.is_empty() {
            out.push(repair(
                format!("hosts file of {net}"),
                "no such network",
                "removed".into(),
                ops,
            ));
        }
    }
    let members: BTreeSet<&str> = endpoints.iter().map(|e| e.netns.as_str()).collect();
    let dirs = ctx
        .host
        .borrow()
        .files()
        .list(&crate::names::etc_netns_dir());
    for ns in dirs {
        let known = members.contains(ns.as_str())
            || cnet_made.contains(&ns)
            || ctx
                .host
                .borrow_mut()
                .netns_exists(&NsRef::Named(ns.clone()));
        if known {
            continue;
        }
        let ops = ctx.plan_files(|h| h.namespace_removed(&ns))?;
        let removes_file = ops
            .iter()
            .any(|o| matches!(o, Op::File(FileOp::Remove { .. } | FileOp::Write { .. })));
        if removes_file {
            out.push(repair(
                format!("/etc/netns/{ns}"),
                "namespace unknown",
                "cnet's files removed".into(),
                ops,
            ));
        }
    }
    Ok(out)
}

fn listed_has(ctx: &Ctx, file: &str) -> bool {
    let path = hosts::network_file(file);
    !matches!(ctx.host.borrow().files().node(&path), Ok(Node::Absent))
}

/// A network's shared hosts file without the lines of addresses none of its endpoints holds.
fn stale_lines(ctx: &Ctx, net: &str, endpoints: &[Endpoint]) -> Result<Option<Repair>> {
    let path = hosts::network_file(net);
    let Node::File(text) = ctx.host.borrow().files().node(&path)? else {
        return Ok(None);
    };
    // A shared overlay's file names the other hosts' endpoints too.
    let remote = ctx.store.remote_endpoints(net)?;
    let held: BTreeSet<_> = endpoints
        .iter()
        .chain(remote.iter().map(|(_, e)| e))
        .filter(|e| e.network == net)
        .flat_map(|e| e.addresses().map(|a| a.ip()))
        .collect();
    let mut fixed = text.clone();
    let mut stale = 0;
    for line in hosts::member_lines(&text) {
        let addr = line.split('\t').next().and_then(|a| a.parse().ok());
        if let Some(addr) = addr.filter(|a| !held.contains(a)) {
            fixed = hosts::without_address(&fixed, addr);
            stale += 1;
        }
    }
    if stale == 0 {
        return Ok(None);
    }
    Ok(Some(repair(
        format!("hosts file of {net}"),
        "lines of addresses no member holds",
        format!("{stale} removed"),
        vec![Op::File(FileOp::Write {
            path,
            text: fixed,
            previous: Some(crate::plan::file_op::Previous::Text(text)),
        })],
    )))
}

/// Links no endpoint records inside the namespaces this state knows (those cnet created, and
/// those its endpoints are in, by name or path): those in cnet's link group, and in namespaces
/// cnet created also those named like its own (`ethN`, or a child's temporary `cntXXXXXXXX`:
/// made before links carried the group). What a killed attach can leave, holding an address.
/// Other namespaces are left alone: another cnet, with another state directory, may have put
/// its links there.
fn namespace_links(ctx: &Ctx, cnet_made: &[String], endpoints: &[Endpoint]) -> Result<Vec<Repair>> {
    let mut places: Vec<NsRef> = Vec::new();
    let known = cnet_made
        .iter()
        .cloned()
        .map(NsRef::Named)
        .chain(endpoints.iter().map(Endpoint::ns_ref));
    for at in known {
        if !places.contains(&at) {
            places.push(at);
        }
    }
    let mut out = Vec::new();
    for at in places {
        let path = at.path();
        let made = matches!(&at, NsRef::Named(n) if cnet_made.contains(n));
        let label = match &at {
            NsRef::Named(n) => n.clone(),
            other => other.path().unwrap_or_default().display().to_string(),
        };
        for link in ctx.host.borrow_mut().links_in(&at)? {
            let recorded = endpoints.iter().any(|e| {
                (e.netns == label || path.as_ref() == Some(&e.netns_path)) && e.ifname == link.name
            });
            let cnets = link.cnet_group || (made && is_cnet_ifname(&link.name));
            if recorded || !cnets {
                continue;
            }
            out.push(repair(
                format!("interface {} in {label}", link.name),
                "recorded by no endpoint",
                "deleted".into(),
                vec![Op::DeleteLink {
                    ns: at.clone(),
                    dev: link.name,
                }],
            ));
        }
    }
    Ok(out)
}

fn is_cnet_ifname(name: &str) -> bool {
    let digits = |n: &str| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
    let temp = |n: &str| n.len() == 8 && n.bytes().all(|b| b.is_ascii_hexdigit());
    name.strip_prefix("eth").is_some_and(digits) || name.strip_prefix("cnt").is_some_and(temp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Format, Global};
    use crate::firewall::rule::{Table, Target};
    use crate::model::Network;
    use crate::store::{MemStore, Store};
    use crate::testing::{FakeHost, SharedHost};

    fn ctx(store: &MemStore, host: &SharedHost) -> Ctx {
        let global = Global {
            state_dir: "/nonexistent/cnet-unit".into(),
            store: None,
            format: Some(Format::Table),
            dry_run: false,
            verbose: false,
        };
        Ctx::with(global, Box::new(store.clone()), Box::new(host.clone()))
    }

    fn rule(network: &str) -> Rule {
        Rule {
            family: crate::model::family::Family::V4,
            table: Table::Filter,
            chain: "CNET-FORWARD".into(),
            matches: Vec::new(),
            target: Target::Accept,
            comment: format!("cnet:{network}"),
        }
    }

    /// Repairs found, then carried out; a second look finds nothing.
    fn repaired(ctx: &Ctx) -> Vec<String> {
        let found = repairs(ctx).unwrap();
        let lines = found.iter().map(Repair::line).collect();
        for r in found {
            assert!(!super::super::carry_out(ctx, r).unwrap().failed);
        }
        assert!(repairs(ctx).unwrap().is_empty());
        lines
    }

    #[test]
    fn rules_of_a_network_that_is_gone_are_deleted_and_others_kept() {
        let store = MemStore::default();
        store
            .put_network(&Network {
                name: "lab".into(),
                ..Default::default()
            })
            .unwrap();
        let host = SharedHost::new(FakeHost {
            rules: vec![rule("lab"), rule("gone"), rule("gone")],
            ..Default::default()
        });
        let lines = repaired(&ctx(&store, &host));
        assert_eq!(
            lines,
            ["firewall rules of gone: no such network: deleted (2 rules)"]
        );
        assert_eq!(host.0.borrow().rules, vec![rule("lab")]);
    }

    #[test]
    fn an_unrecorded_interface_in_a_namespace_cnet_made_is_deleted() {
        let store = MemStore::default();
        store
            .put_namespace(&crate::model::NamespaceRecord {
                name: "ns1".into(),
                created: 0,
                host: false,
            })
            .unwrap();
        let ns = NsRef::Named("ns1".into());
        let host = SharedHost::new(FakeHost {
            links: vec![
                (ns.clone(), "lo".into()),
                (ns.clone(), "eth0".into()),
                (ns.clone(), "cnt0badf00d".into()),
                (ns.clone(), "mine".into()),
            ],
            netns: ["ns1".to_string()].into(),
            ..Default::default()
        });
        let lines = repaired(&ctx(&store, &host));
        assert_eq!(
            lines,
            [
                "interface eth0 in ns1: recorded by no endpoint: deleted",
                "interface cnt0badf00d in ns1: recorded by no endpoint: deleted"
            ]
        );
        let left: Vec<String> = host.0.borrow().links.iter().map(|l| l.1.clone()).collect();
        assert_eq!(left, ["lo", "mine"]);
    }

    #[test]
    fn a_link_in_cnets_group_no_endpoint_records_is_deleted_where_this_state_has_endpoints() {
        let store = MemStore::default();
        store
            .put_network(&Network {
                name: "lab".into(),
                ..Default::default()
            })
            .unwrap();
        let ep = crate::testing::endpoint("lab", "theirs", Some("10.1.0.2/24"));
        store.put_endpoint("theirs", &ep).unwrap();
        let (theirs, stranger) = (
            NsRef::Named("theirs".into()),
            NsRef::Named("stranger".into()),
        );
        let fake = FakeHost {
            links: vec![
                (theirs.clone(), "lo".into()),
                (theirs.clone(), "eth0".into()),
                (theirs.clone(), "eth1".into()),
                (theirs.clone(), "eth2".into()),
                (stranger.clone(), "eth1".into()),
            ],
            in_cnet_group: ["eth0".to_string(), "eth1".to_string()].into(),
            netns: ["theirs".to_string(), "stranger".to_string()].into(),
            ..Default::default()
        };
        let host = SharedHost::new(fake);
        let lines = repaired(&ctx(&store, &host));
        // eth0 is recorded; eth2 is not in the group and theirs is not cnet's namespace; the
        // stranger's eth1 may be another cnet's (another state directory).
        assert_eq!(
            lines,
            ["interface eth1 in theirs: recorded by no endpoint: deleted"]
        );
        let left: Vec<String> = host.0.borrow().links.iter().map(|l| l.1.clone()).collect();
        assert_eq!(left, ["lo", "eth0", "eth2", "eth1"]);
    }

    #[test]
    fn only_names_cnet_gives_interfaces_count_as_its() {
        assert!(is_cnet_ifname("eth12") && !is_cnet_ifname("eth") && !is_cnet_ifname("cntx"));
    }
}
