//! The VXLAN part of `net inspect`.

use super::vxlan_ifname;
use crate::model::{Driver, Network};
use ipnetwork::IpNetwork;
use serde::Serialize;
use std::net::IpAddr;

/// The VXLAN part of `net inspect`.
#[derive(Debug, Serialize, PartialEq)]
pub struct InspectVxlan {
    vni: Option<u32>,
    /// The VXLAN device on this host.
    device: Option<String>,
    local: Option<IpAddr>,
    underlay: Option<String>,
    peers: Vec<IpAddr>,
    dst_port: Option<u16>,
    /// This host's part of the subnet, when it was computed rather than given (--ip-range).
    #[serde(skip_serializing_if = "Option::is_none")]
    lease_slice: Option<InspectSlice>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct InspectSlice {
    range: Option<IpNetwork>,
    /// 1-based position of this host among the VTEPs.
    part: usize,
    parts: usize,
    vteps: Vec<IpAddr>,
}

/// `None` for networks of other drivers.
pub fn inspect(net: &Network) -> Option<InspectVxlan> {
    (net.driver == Driver::Vxlan).then(|| InspectVxlan {
        vni: net.vni,
        device: net.vni.map(vxlan_ifname),
        local: net.local,
        underlay: net.parent.clone(),
        peers: net.peers.clone(),
        dst_port: net.dstport,
        lease_slice: (!net.slice_vteps.is_empty()).then(|| InspectSlice {
            range: net.ip_range,
            part: net
                .local
                .and_then(|l| net.slice_vteps.iter().position(|v| *v == l))
                .map_or(0, |i| i + 1),
            parts: net.slice_vteps.len().next_power_of_two(),
            vteps: net.slice_vteps.clone(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inspect_shows_the_slice_position() {
        let net = Network {
            name: "ov".into(),
            driver: Driver::Vxlan,
            vni: Some(5000),
            local: Some("192.0.2.2".parse().unwrap()),
            peers: vec!["192.0.2.1".parse().unwrap(), "192.0.2.3".parse().unwrap()],
            ip_range: Some("10.20.0.64/26".parse().unwrap()),
            slice_vteps: ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
                .iter()
                .map(|s| s.parse().unwrap())
                .collect(),
            ..Default::default()
        };
        let v = serde_json::to_value(inspect(&net).unwrap()).unwrap();
        assert_eq!(v["vni"], 5000);
        assert_eq!(v["device"], "cnvx5000");
        assert_eq!(v["lease_slice"]["range"], "10.20.0.64/26");
        assert_eq!(v["lease_slice"]["part"], 2);
        assert_eq!(v["lease_slice"]["parts"], 4);
        let bridge = Network {
            driver: Driver::Bridge,
            ..Default::default()
        };
        assert_eq!(inspect(&bridge), None);
    }
}
