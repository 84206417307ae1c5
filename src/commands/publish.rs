//! Published ports (`attach -p`): which networks may publish, the duplicate check against the
//! port index (`ports/PROTO/PORT/HOSTIP.toml` in the state directory), claims and releases.
//! The check reads one small directory per host port, however many endpoints exist.

use super::Ctx;
use crate::error::{Error, Result};
use crate::model::{Driver, Network, PortClaim, PortMapping};
use crate::ports;

/// Refuse `-p` on a network that cannot publish: only bridge networks do, and overlays
/// (through the gateway bridge), and not internal ones.
pub fn check_network(net: &Network, mappings: &[PortMapping]) -> Result<()> {
    if mappings.is_empty() {
        return Ok(());
    }
    if !matches!(net.driver, Driver::Bridge | Driver::Vxlan) {
        return Err(Error::usage(format!(
            "network {} uses the {} driver: ports (-p) are published from bridge and overlay \
             networks only",
            net.name, net.driver
        )));
    }
    if net.internal {
        return Err(Error::usage(format!(
            "network {} is internal: nothing is published from it",
            net.name
        )));
    }
    Ok(())
}

/// The claims of one namespace's published ports, one per mapping.
pub fn claims(net: &Network, netns: &str, key: &str, mappings: &[PortMapping]) -> Vec<PortClaim> {
    mappings
        .iter()
        .map(|m| PortClaim {
            network: net.name.clone(),
            key: key.to_string(),
            netns: netns.to_string(),
            mapping: m.clone(),
        })
        .collect()
}

/// Whether a claim's holder still has that port: its endpoint exists and lists the mapping. A
/// claim left by a crash between claiming and recording the endpoint is stale.
fn live(ctx: &Ctx, c: &PortClaim) -> Result<bool> {
    Ok(ctx
        .store
        .endpoint(&c.network, &c.key)?
        .is_some_and(|ep| ep.ports.contains(&c.mapping)))
}

/// Refuse host ports another namespace publishes (usage error naming it). Returns the stale
/// claims in the way (their holder is gone), for the plan to release. Call with the lock held.
pub fn check(ctx: &Ctx, mappings: &[PortMapping]) -> Result<Vec<PortClaim>> {
    let mut stale: Vec<PortClaim> = Vec::new();
    for m in mappings {
        for port in ports::host_ports(m) {
            for c in ctx.store.port_claims(&m.protocol, port)? {
                if !ports::clash(m, &c.mapping) {
                    continue;
                }
                if !live(ctx, &c)? {
                    if !stale.contains(&c) {
                        stale.push(c);
                    }
                    continue;
                }
                return Err(Error::usage(format!(
                    "host port {}:{port}/{} is already published by namespace {} on network {} ({})",
                    ports::host_ip_text(m),
                    m.protocol,
                    c.netns,
                    c.network,
                    c.mapping
                )));
            }
        }
    }
    Ok(stale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(driver: Driver, internal: bool) -> Network {
        Network {
            name: "lab".into(),
            driver,
            internal,
            ..Default::default()
        }
    }

    #[test]
    fn only_non_internal_bridge_and_overlay_networks_publish() {
        let p = vec![ports::parse("8080:80").unwrap()];
        check_network(&net(Driver::Bridge, false), &p).unwrap();
        check_network(&net(Driver::Vxlan, false), &p).unwrap();
        check_network(&net(Driver::Macvlan, false), &[]).unwrap();
        for (n, needle) in [
            (net(Driver::Bridge, true), "internal"),
            (net(Driver::Vxlan, true), "internal"),
            (net(Driver::Macvlan, false), "macvlan driver"),
            (net(Driver::Host, false), "host driver"),
        ] {
            let e = check_network(&n, &p).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().contains(needle), "{e}");
        }
    }
}
