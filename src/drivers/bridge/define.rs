//! `cnet net create NAME [-d bridge] [--subnet CIDR] [-o bridge_name=BR]`: the bridge
//! network's options and checks.

use crate::cli::CreateArgs;
use crate::drivers::create::{
    check_bridge_free, check_name_free, check_not_routed, check_subnet_free, new_network,
    parse_common, reject_flags,
};
use crate::drivers::{Definition, Facts, dual_stack, options};
use crate::error::{Error, Result};
use crate::ipam::{self, Pool};
use crate::model::{Driver, Network};
use crate::names;
use crate::plan::NsRef;
use std::collections::BTreeMap;

/// `-o` options of a bridge network, parsed.
#[derive(Default)]
struct BridgeOptions {
    /// As given, for `inspect`.
    given: BTreeMap<String, String>,
    bridge_name: Option<String>,
    mtu: Option<u32>,
}

/// Bridge options: our names and Docker's.
fn bridge_options(opts: &[String]) -> Result<BridgeOptions> {
    let mut parsed = BridgeOptions::default();
    for (k, v) in options::split(opts)? {
        match k {
            "bridge_name" | "com.docker.network.bridge.name" => {
                parsed.bridge_name = Some(v.to_string())
            }
            k if options::is_mtu(k) => parsed.mtu = Some(options::number(k, v)?),
            _ => {
                return Err(options::unknown(k, Driver::Bridge, "bridge_name, mtu"));
            }
        }
        parsed.given.insert(k.to_string(), v.to_string());
    }
    Ok(parsed)
}

pub fn define(facts: &dyn Facts, a: &CreateArgs) -> Result<Definition> {
    reject_flags(a, Driver::Bridge, &[])?;
    let opts = bridge_options(&a.opts)?;
    let mtu_opt = opts.mtu.map(|m| (options::key_of(&opts.given, "mtu"), m));
    let common = parse_common(a, mtu_opt)?;
    let v6 = dual_stack::parse(a)?;
    let bridge = opts
        .bridge_name
        .unwrap_or_else(|| names::bridge_name(&a.name));
    names::validate_ifname(&bridge)?;
    facts.require_root()?;

    let lock = facts.lock()?;
    check_name_free(facts, &a.name)?;
    let others = facts.networks()?;
    let subnet = match common.subnet {
        Some(s) => s,
        None => facts.free_subnet()?,
    };
    check_subnet_free(&others, subnet)?;
    check_bridge_free(facts, &bridge)?;
    let gateway = common.gateway.unwrap_or_else(|| ipam::first_host(subnet));
    Pool::new(subnet, common.ip_range, Some(gateway))?.check_leasable()?;
    if common.subnet.is_some() {
        check_not_routed(facts, subnet)?;
    }
    let v6 = v6
        .map(|v6| dual_stack::define(facts, &v6, &others, true))
        .transpose()?;
    if !facts.dry_run() && facts.link_exists(&NsRef::Host, &bridge)? {
        return Err(Error::usage(format!(
            "link {bridge} already exists on this host"
        )));
    }
    let mut net = Network {
        subnet: Some(subnet),
        gateway: Some(gateway),
        ip_range: common.ip_range,
        internal: a.internal,
        mtu: common.mtu,
        bridge: Some(bridge),
        options: opts.given,
        ..new_network(&a.name, Driver::Bridge)
    };
    net.bridge_mac = Some(crate::plan::format_mac(&super::bridge_mac(&net)));
    let records = match v6 {
        Some(v6) => {
            net.subnet6 = Some(v6.subnet6);
            net.gateway6 = v6.gateway6;
            v6.records
        }
        None => Vec::new(),
    };
    Ok(Definition { net, records, lock })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_spellings_are_kept_and_must_agree() {
        let opts = bridge_options(&["com.docker.network.driver.mtu=1400".into()]).unwrap();
        assert_eq!(
            options::key_of(&opts.given, "mtu"),
            "com.docker.network.driver.mtu"
        );
        let e = bridge_options(&[
            "bridge_name=br0".into(),
            "com.docker.network.bridge.name=br1".into(),
        ])
        .err()
        .unwrap();
        assert!(e.to_string().contains("disagree"), "{e}");
    }
}
