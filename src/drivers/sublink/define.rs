//! `cnet net create NAME -d macvlan|ipvlan --parent IFACE --subnet CIDR [--mode MODE]`: a new
//! network checked against the others on its parent, the parent itself and the host shim.

use super::options::{mode_key, parse_options};
use super::{SHIM_OPTION, SublinkKind};
use crate::cli::CreateArgs;
use crate::drivers::create::{check_name_free, new_network, parse_common, reject_flags};
use crate::drivers::options::{flag_or_option, key_of};
use crate::drivers::{Definition, Facts, dual_stack};
use crate::error::{Error, Result};
use crate::ipam::{self, Pool};
use crate::model::{Driver, IpvlanMode, Lease, LeaseState, MacvlanMode, Network};
use crate::names;
use crate::plan::{NsRef, Record};
use ipnetwork::IpNetwork;

/// Refuse a subnet overlapping another network's. Macvlan/ipvlan networks on different
/// parents are different segments and may overlap; on the same parent they may not.
fn check_subnet_free(others: &[Network], subnet: IpNetwork, parent: &str) -> Result<()> {
    for o in others {
        let Some(os) = o.subnet else { continue };
        if !ipam::overlaps(os, subnet) {
            continue;
        }
        let sublink = matches!(o.driver, Driver::Macvlan | Driver::Ipvlan);
        match o.parent.as_deref() {
            Some(p) if sublink && p == parent => {
                return Err(Error::usage(format!(
                    "subnet {subnet} overlaps network {} ({os}) on the same parent {parent}",
                    o.name
                )));
            }
            _ if sublink => {}
            _ => {
                return Err(Error::usage(format!(
                    "subnet {subnet} overlaps network {} ({os})",
                    o.name
                )));
            }
        }
    }
    Ok(())
}

/// What the kernel does not let networks on one parent do together: macvlan and ipvlan links
/// on one parent (EBUSY), ipvlan links of different modes (the mode belongs to the parent: a
/// new child's mode would switch every other child's), a passthru macvlan beside anything.
fn check_parent_shared(others: &[Network], kind: SublinkKind, parent: &str) -> Result<()> {
    for o in others {
        if o.parent.as_deref() != Some(parent) {
            continue;
        }
        let Ok(other) = SublinkKind::of(o) else {
            continue;
        };
        let why = match (kind, other) {
            (SublinkKind::Macvlan(_), SublinkKind::Ipvlan(_))
            | (SublinkKind::Ipvlan(_), SublinkKind::Macvlan(_)) => {
                "a parent cannot carry macvlan and ipvlan links at once".to_string()
            }
            (SublinkKind::Ipvlan(a), SublinkKind::Ipvlan(b)) if a != b => {
                format!("the ipvlan children of one parent share one mode ({b}, not {a})")
            }
            (SublinkKind::Macvlan(a), SublinkKind::Macvlan(b))
                if a == MacvlanMode::Passthru || b == MacvlanMode::Passthru =>
            {
                "a passthru macvlan takes its parent whole".to_string()
            }
            _ => continue,
        };
        return Err(Error::usage(format!(
            "parent {parent} already carries network {} ({}, mode {}): {why}",
            o.name,
            other.kind_name(),
            o.mode.as_deref().unwrap_or("default")
        )));
    }
    Ok(())
}

/// The parent must exist, be up, be able to carry children and have room for the MTU.
fn check_parent(facts: &dyn Facts, parent: &str, driver: Driver, mtu: Option<u32>) -> Result<()> {
    let Some(p) = facts.parent_info(parent)? else {
        return Err(Error::usage(format!(
            "parent interface {parent} does not exist"
        )));
    };
    if !p.up {
        return Err(Error::usage(format!(
            "parent interface {parent} is down: bring it up first (ip link set {parent} up)"
        )));
    }
    if !p.ethernet {
        return Err(Error::usage(format!(
            "parent interface {parent} cannot carry {driver} links: it is not an Ethernet interface"
        )));
    }
    if let (Some(m), Some(pm)) = (mtu, p.mtu)
        && m > pm
    {
        return Err(Error::usage(format!(
            "mtu {m} is larger than the mtu of parent interface {parent} ({pm})"
        )));
    }
    Ok(())
}

/// The shim's name must be free, and the host must not route the shim's range already (the
/// usual case being the parent's own connected route to the whole subnet).
fn check_shim(facts: &dyn Facts, net: &Network, others: &[Network]) -> Result<()> {
    let shim = super::shim_name(&net.name);
    if let Some(o) = others
        .iter()
        .find(|o| super::has_shim(o) && super::shim_name(&o.name) == shim)
    {
        return Err(Error::usage(format!(
            "host shim {shim} is already used by network {}",
            o.name
        )));
    }
    if facts.dry_run() {
        return Ok(());
    }
    if facts.link_exists(&NsRef::Host, &shim)? {
        return Err(Error::usage(format!(
            "link {shim} (the host shim) already exists on this host"
        )));
    }
    let range = super::shim_route(net)?;
    if facts.host_routes()?.contains(&range) {
        let parent = net.parent.as_deref().unwrap_or("the parent");
        return Err(Error::usage(format!(
            "{SHIM_OPTION}: the host already has a route to {range} (through {parent}?): give the \
             network an --ip-range for its namespaces; the shim then routes only that range"
        )));
    }
    Ok(())
}

pub fn define(facts: &dyn Facts, a: &CreateArgs, driver: Driver) -> Result<Definition> {
    reject_flags(a, driver, &["--parent", "--mode"])?;
    let opts = parse_options(driver, &a.opts)?;
    let parent = flag_or_option(
        "--parent",
        a.parent.as_deref(),
        opts.parent.as_deref().map(|p| ("parent", p)),
    )?
    .map(String::from)
    .ok_or_else(|| {
        Error::usage(format!(
            "a {driver} network needs a parent interface: --parent IFACE (or -o parent=IFACE), \
                 the host's interface on the LAN"
        ))
    })?;
    names::validate_ifname(&parent)?;
    let key = mode_key(driver);
    let mode = flag_or_option(
        "--mode",
        a.mode.as_deref(),
        opts.mode.as_deref().map(|m| (key, m)),
    )?;
    let kind = match driver {
        Driver::Macvlan => SublinkKind::Macvlan(
            mode.map(MacvlanMode::parse)
                .transpose()?
                .unwrap_or_default(),
        ),
        _ => SublinkKind::Ipvlan(mode.map(IpvlanMode::parse).transpose()?.unwrap_or_default()),
    };
    let mode = match kind {
        SublinkKind::Macvlan(m) => m.as_str(),
        SublinkKind::Ipvlan(m) => m.as_str(),
    };
    let mtu_opt = opts.mtu.map(|m| (key_of(&opts.given, "mtu"), m));
    let common = parse_common(a, mtu_opt)?;
    let v6 = dual_stack::parse(a)?;
    let subnet = common.subnet.ok_or_else(|| {
        Error::usage(format!(
            "a {driver} network needs --subnet: the subnet of the LAN {parent} is on \
             (e.g. --subnet 192.168.1.0/24)"
        ))
    })?;
    let gateway = if kind.device_default_route() {
        if common.gateway.is_some() {
            return Err(Error::usage(format!(
                "--gateway does not apply to ipvlan {mode} mode: the namespaces route through \
                 their device, there is no gateway"
            )));
        }
        if v6.as_ref().is_some_and(|v6| v6.gateway6.is_some()) {
            return Err(Error::usage(format!(
                "--gateway6 does not apply to ipvlan {mode} mode: the namespaces route through \
                 their device, there is no gateway"
            )));
        }
        None
    } else {
        Some(common.gateway.unwrap_or_else(|| ipam::first_host(subnet)))
    };
    Pool::new(subnet, common.ip_range, gateway)?.check_leasable()?;
    if opts.host_shim && kind != SublinkKind::Macvlan(MacvlanMode::Bridge) {
        return Err(Error::usage(format!(
            "{SHIM_OPTION}=true needs macvlan mode bridge: in {mode} mode the namespaces could \
             not reach the shim"
        )));
    }
    facts.require_root()?;
    if !facts.dry_run() {
        facts.probe_sublink(kind)?;
    }

    let lock = facts.lock()?;
    check_name_free(facts, &a.name)?;
    let others = facts.networks()?;
    check_subnet_free(&others, subnet, &parent)?;
    check_parent_shared(&others, kind, &parent)?;
    check_parent(facts, &parent, driver, common.mtu)?;
    let v6 = v6
        .map(|v6| dual_stack::define(facts, &v6, &others, gateway.is_some()))
        .transpose()?;
    // Recorded the way `docker network inspect` shows them, however they were given.
    let mut options = opts.given;
    options.insert("parent".into(), parent.clone());
    options.insert(key.into(), mode.into());
    if opts.host_shim {
        options.insert(SHIM_OPTION.into(), "true".into());
    } else {
        options.remove(SHIM_OPTION);
    }
    let net = Network {
        subnet: Some(subnet),
        gateway,
        ip_range: common.ip_range,
        subnet6: v6.as_ref().map(|v6| v6.subnet6),
        gateway6: v6.as_ref().and_then(|v6| v6.gateway6),
        internal: a.internal,
        mtu: common.mtu,
        parent: Some(parent),
        mode: Some(mode.into()),
        options,
        ..new_network(&a.name, driver)
    };
    if opts.host_shim {
        check_shim(facts, &net, &others)?;
    }
    // The shim's address is leased to it, so no namespace is ever offered it.
    let mut records = v6.map(|v6| v6.records).unwrap_or_default();
    if opts.host_shim {
        records.push(Record::PutLease {
            lease: Lease {
                network: net.name.clone(),
                address: super::shim_address(&net)?,
                client: super::shim_client(&net),
                state: LeaseState::Bound,
                since: crate::output::now(),
                expires: None,
                boot_id: facts.boot_id(),
            },
            previous: None,
        });
    }
    Ok(Definition { net, records, lock })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::IpvlanMode;

    fn other(name: &str, driver: Driver, subnet: &str, parent: Option<&str>) -> Network {
        Network {
            name: name.into(),
            driver,
            subnet: Some(subnet.parse().unwrap()),
            parent: parent.map(String::from),
            ..Default::default()
        }
    }

    #[test]
    fn parents_are_shared_only_the_way_the_kernel_allows() {
        let mut o = other("a", Driver::Macvlan, "10.1.0.0/24", Some("lan0"));
        o.mode = Some("bridge".into());
        let private = SublinkKind::Macvlan(MacvlanMode::Private);
        check_parent_shared(std::slice::from_ref(&o), private, "lan0").unwrap();
        let l2 = SublinkKind::Ipvlan(IpvlanMode::L2);
        let e = check_parent_shared(std::slice::from_ref(&o), l2, "lan0").unwrap_err();
        assert!(e.to_string().contains("macvlan and ipvlan"), "{e}");
        check_parent_shared(std::slice::from_ref(&o), l2, "lan1").unwrap();
        let passthru = SublinkKind::Macvlan(MacvlanMode::Passthru);
        let e = check_parent_shared(std::slice::from_ref(&o), passthru, "lan0").unwrap_err();
        assert!(e.to_string().contains("passthru"), "{e}");
        let mut i = other("i", Driver::Ipvlan, "10.2.0.0/24", Some("lan0"));
        i.mode = Some("l2".into());
        check_parent_shared(std::slice::from_ref(&i), l2, "lan0").unwrap();
        let l3 = SublinkKind::Ipvlan(IpvlanMode::L3);
        let e = check_parent_shared(std::slice::from_ref(&i), l3, "lan0").unwrap_err();
        assert!(e.to_string().contains("share one mode (l2, not l3)"), "{e}");
        // Networks of other drivers have no parent.
        let b = other("b", Driver::Bridge, "10.3.0.0/24", None);
        check_parent_shared(&[b], l3, "lan0").unwrap();
    }

    #[test]
    fn overlap_is_refused_on_the_same_parent_and_with_other_drivers() {
        let s: IpNetwork = "192.168.50.0/24".parse().unwrap();
        let same = [other("a", Driver::Macvlan, "192.168.50.0/25", Some("lan0"))];
        let e = check_subnet_free(&same, s, "lan0").unwrap_err();
        assert!(e.to_string().contains("on the same parent lan0"), "{e}");
        let ipv = [other("a", Driver::Ipvlan, "192.168.0.0/16", Some("lan0"))];
        assert!(check_subnet_free(&ipv, s, "lan0").is_err());
        let elsewhere = [other("a", Driver::Macvlan, "192.168.50.0/24", Some("lan1"))];
        check_subnet_free(&elsewhere, s, "lan0").unwrap();
        let bridge = [other("b", Driver::Bridge, "192.168.50.0/24", None)];
        assert!(check_subnet_free(&bridge, s, "lan0").is_err());
        let apart = [other("a", Driver::Macvlan, "192.168.51.0/24", Some("lan0"))];
        check_subnet_free(&apart, s, "lan0").unwrap();
    }
}
