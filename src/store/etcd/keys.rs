//! Where a shared overlay's state sits in etcd, all under one prefix per network:
//!
//! ```text
//! /cnet/v1/networks/NAME/definition          the definition every host shares (JSON)
//! /cnet/v1/networks/NAME/members/HOST        a host on the overlay: id, VTEP address and MAC
//! /cnet/v1/networks/NAME/leases/ADDR         one key per address, claimed only if absent
//! /cnet/v1/networks/NAME/endpoints/HOST/KEY  each host's attached namespaces
//! /cnet/v1/vnis/VNI                          VNIs in use (value: the network), claimed with it
//! /cnet/v1/subnets/ADDR_PREFIX               subnets in use, likewise
//! /cnet/v1/hosts/HOST/agent                  this host runs `cnet agent` (kept)
//! /cnet/v1/hosts/HOST/alive                  ...and it is running: under an etcd lease
//! /cnet/v1/hosts/HOST/down                   when it was first seen down (Unix seconds)
//! ```
//! A host with an `agent` key and no `alive` one is down: its agent stopped renewing. The
//! first host (agent, attach or gc) to see it so records when, and its agent's next
//! registration removes the record.
//! A lease's client is kept as `CLIENT@HOST`: namespace names repeat from host to host, and a
//! lease of `ns1` on another host must never look like this host's `ns1`'s.

use ipnetwork::IpNetwork;
use std::net::IpAddr;

const ROOT: &str = "/cnet/v1";

/// Every shared overlay's keys.
pub fn all_networks() -> String {
    format!("{ROOT}/networks/")
}
pub fn network(name: &str) -> String {
    format!("{}{name}/", all_networks())
}
/// Everything cnet keeps in etcd (what the agent watches).
pub fn root() -> String {
    format!("{ROOT}/")
}
/// Whether a key is a member of some overlay.
pub fn is_member(key: &str) -> bool {
    network_part(key).is_some_and(|rest| rest.starts_with("members/"))
}
/// What follows `networks/NAME/` in a key.
fn network_part(key: &str) -> Option<&str> {
    key.strip_prefix(&all_networks())
        .and_then(|rest| rest.split_once('/'))
        .map(|(_, rest)| rest)
}
/// Whether a change to this key changes what another host programs: a member, an endpoint
/// or a host's liveness (not the leases, which churn with every attach).
pub fn is_watched(key: &str) -> bool {
    is_member(key)
        || network_part(key).is_some_and(|rest| rest.starts_with("endpoints/"))
        || key.starts_with(&hosts())
}
pub fn hosts() -> String {
    format!("{ROOT}/hosts/")
}
pub fn agent(host: &str) -> String {
    format!("{}{host}/agent", hosts())
}
pub fn alive(host: &str) -> String {
    format!("{}{host}/alive", hosts())
}
pub fn down(host: &str) -> String {
    format!("{}{host}/down", hosts())
}
/// The host a `hosts/HOST/...` key is about, and what it says of it.
pub fn host_of(key: &str) -> Option<(&str, &str)> {
    key.strip_prefix(&hosts())?.split_once('/')
}
/// The host and endpoint key of an `endpoints/HOST/KEY` key of a network.
pub fn endpoint_of<'a>(name: &str, key: &'a str) -> Option<(&'a str, &'a str)> {
    key.strip_prefix(&format!("{}endpoints/", network(name)))?
        .split_once('/')
}
pub fn all_endpoints(name: &str) -> String {
    format!("{}endpoints/", network(name))
}
pub fn definition(name: &str) -> String {
    format!("{}definition", network(name))
}
pub fn members(name: &str) -> String {
    format!("{}members/", network(name))
}
pub fn member(name: &str, host: &str) -> String {
    format!("{}{host}", members(name))
}
pub fn leases(name: &str) -> String {
    format!("{}leases/", network(name))
}
pub fn lease(name: &str, addr: IpAddr) -> String {
    format!("{}{addr}", leases(name))
}
pub fn endpoints(name: &str, host: &str) -> String {
    format!("{}endpoints/{host}/", network(name))
}
pub fn endpoint(name: &str, host: &str, key: &str) -> String {
    format!("{}{key}", endpoints(name, host))
}
pub fn vnis() -> String {
    format!("{ROOT}/vnis/")
}
pub fn vni(vni: u32) -> String {
    format!("{}{vni}", vnis())
}
pub fn subnets() -> String {
    format!("{ROOT}/subnets/")
}
/// `10.0.1.0_24`: a key segment without a '/'.
pub fn subnet(s: IpNetwork) -> String {
    format!("{}{}_{}", subnets(), s.network(), s.prefix())
}
/// The subnet a claim key names.
pub fn subnet_of(key: &str) -> Option<IpNetwork> {
    let (addr, prefix) = key.strip_prefix(&subnets())?.split_once('_')?;
    IpNetwork::new(addr.parse().ok()?, prefix.parse().ok()?).ok()
}

/// A client as stored: qualified with the host holding it, unless it names another host
/// already (a lease of another host being replaced or put back).
pub fn qualified(client: &str, host: &str) -> String {
    if held_elsewhere(client, host) || client.ends_with(&format!("@{host}")) {
        client.to_string()
    } else {
        format!("{client}@{host}")
    }
}

/// A stored client as this host sees it: its own without the qualification, another host's
/// as stored.
pub fn local_client(client: &str, host: &str) -> String {
    client
        .strip_suffix(&format!("@{host}"))
        .unwrap_or(client)
        .to_string()
}

/// Whether a client is another host's (`CLIENT@HOST` with a host id not ours).
pub fn held_elsewhere(client: &str, host: &str) -> bool {
    client
        .rsplit_once('@')
        .is_some_and(|(_, h)| h != host && crate::store::is_host_id(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_qualified_by_host_and_own_ones_read_back_bare() {
        let me = "0123456789ab";
        let other = "ba9876543210";
        assert_eq!(qualified("ns1", me), "ns1@0123456789ab");
        assert_eq!(local_client("ns1@0123456789ab", me), "ns1");
        // Another host's client stays what it is, both ways.
        let theirs = format!("ns1@{other}");
        assert_eq!(local_client(&theirs, me), theirs);
        assert_eq!(qualified(&theirs, me), theirs);
        assert!(held_elsewhere(&theirs, me));
        assert!(!held_elsewhere("ns1", me));
        assert!(!held_elsewhere("/proc/9/ns/net", me));
    }

    #[test]
    fn member_keys_are_told_apart() {
        assert!(is_member(&member("ov", "0123456789ab")));
        assert!(!is_member(&lease("ov", "10.0.0.1".parse().unwrap())));
        assert!(!is_member(&definition("members")));
        let me = "0123456789ab";
        assert!(is_watched(&endpoint("ov", me, "ns1")));
        assert!(is_watched(&alive(me)));
        assert!(!is_watched(&lease("ov", "10.0.0.1".parse().unwrap())));
        assert_eq!(host_of(&alive(me)), Some((me, "alive")));
        assert_eq!(
            endpoint_of("ov", &endpoint("ov", me, "ns1")),
            Some((me, "ns1"))
        );
    }

    #[test]
    fn subnet_keys_round_trip() {
        let s: IpNetwork = "10.0.3.0/24".parse().unwrap();
        assert_eq!(subnet(s), "/cnet/v1/subnets/10.0.3.0_24");
        assert_eq!(subnet_of(&subnet(s)), Some(s));
    }
}
