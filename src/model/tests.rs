//! State files as IPv4-only cnet wrote them (the text below was produced by the model with
//! `Ipv4Addr`/`Ipv4Network` fields) read into the family-generic model and written back
//! byte for byte.

use super::*;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

const BRIDGE: &str = r#"name = "lab"
id = "0123456789ab"
driver = "bridge"
created = 1700000000
subnet = "10.1.0.0/24"
gateway = "10.1.0.1"
ip_range = "10.1.0.128/25"
internal = false
bridge = "cn-lab"
bridge_mac = "02:42:0a:01:00:01"
predefined = false
"#;
const VXLAN: &str = r#"name = "ov"
id = "abcdef012345"
driver = "vxlan"
created = 1700000001
subnet = "10.20.0.0/24"
ip_range = "10.20.0.64/26"
internal = true
mtu = 1450
bridge = "cn-ov"
parent = "eth0"
vni = 5000
local = "192.0.2.2"
peers = ["192.0.2.1", "192.0.2.3"]
dstport = 4789
predefined = false
slice_vteps = ["192.0.2.1", "192.0.2.2", "192.0.2.3"]

[options]
vni = "5000"
"#;
const ENDPOINT: &str = r#"network = "lab"
key = "ns1"
netns = "ns1"
netns_path = "/run/netns/ns1"
ifname = "eth0"
host_ifname = "cnv0123abcd"
mac = "02:42:0a:01:00:02"
address = "10.1.0.2/24"
aliases = ["web"]
default_route = true
since = 1700000002

[[ports]]
host_ip = "127.0.0.1"
host_port = 8080
host_port_end = 8080
container_port = 80
container_port_end = 80
protocol = "tcp"

[[ports]]
host_port = 8080
host_port_end = 8080
container_port = 80
container_port_end = 80
protocol = "tcp"
"#;
const LEASE: &str = r#"network = "lab"
address = "10.1.0.2"
client = "ns1"
state = "bound"
since = 1700000003
boot_id = "boot-1"
"#;
const CLAIM: &str = r#"network = "lab"
key = "ns1"
netns = "ns1"

[mapping]
host_ip = "127.0.0.1"
host_port = 8080
host_port_end = 8080
container_port = 80
container_port_end = 80
protocol = "tcp"
"#;
const JSON: &str = r#"[{"name":"lab","id":"0123456789ab","driver":"bridge","created":1700000000,"subnet":"10.1.0.0/24","gateway":"10.1.0.1","ip_range":"10.1.0.128/25","internal":false,"bridge":"cn-lab","bridge_mac":"02:42:0a:01:00:01","predefined":false},{"network":"lab","key":"ns1","netns":"ns1","netns_path":"/run/netns/ns1","ifname":"eth0","host_ifname":"cnv0123abcd","mac":"02:42:0a:01:00:02","address":"10.1.0.2/24","aliases":["web"],"ports":[{"host_ip":"127.0.0.1","host_port":8080,"host_port_end":8080,"container_port":80,"container_port_end":80,"protocol":"tcp"},{"host_port":8080,"host_port_end":8080,"container_port":80,"container_port_end":80,"protocol":"tcp"}],"default_route":true,"since":1700000002},{"network":"lab","address":"10.1.0.2","client":"ns1","state":"bound","since":1700000003,"boot_id":"boot-1"}]"#;

pub fn bridge() -> Network {
    Network {
        name: "lab".into(),
        id: "0123456789ab".into(),
        driver: Driver::Bridge,
        created: 1_700_000_000,
        subnet: Some("10.1.0.0/24".parse().unwrap()),
        gateway: Some("10.1.0.1".parse().unwrap()),
        ip_range: Some("10.1.0.128/25".parse().unwrap()),
        bridge: Some("cn-lab".into()),
        bridge_mac: Some("02:42:0a:01:00:01".into()),
        ..Default::default()
    }
}

pub fn vxlan() -> Network {
    Network {
        name: "ov".into(),
        id: "abcdef012345".into(),
        driver: Driver::Vxlan,
        created: 1_700_000_001,
        subnet: Some("10.20.0.0/24".parse().unwrap()),
        ip_range: Some("10.20.0.64/26".parse().unwrap()),
        internal: true,
        mtu: Some(1450),
        bridge: Some("cn-ov".into()),
        parent: Some("eth0".into()),
        vni: Some(5000),
        local: Some("192.0.2.2".parse().unwrap()),
        peers: vec!["192.0.2.1".parse().unwrap(), "192.0.2.3".parse().unwrap()],
        dstport: Some(4789),
        options: BTreeMap::from([("vni".to_string(), "5000".to_string())]),
        slice_vteps: vec![
            "192.0.2.1".parse().unwrap(),
            "192.0.2.2".parse().unwrap(),
            "192.0.2.3".parse().unwrap(),
        ],
        ..Default::default()
    }
}

pub fn mapping() -> PortMapping {
    PortMapping {
        host_ip: Some("127.0.0.1".parse().unwrap()),
        host_port: 8080,
        host_port_end: 8080,
        container_port: 80,
        container_port_end: 80,
        protocol: "tcp".into(),
    }
}

pub fn endpoint() -> Endpoint {
    Endpoint {
        address6: None,
        default_route6: false,
        network: "lab".into(),
        key: "ns1".into(),
        netns: "ns1".into(),
        netns_path: "/run/netns/ns1".into(),
        ifname: "eth0".into(),
        host_ifname: Some("cnv0123abcd".into()),
        mac: Some("02:42:0a:01:00:02".into()),
        address: Some("10.1.0.2/24".parse().unwrap()),
        aliases: vec!["web".into()],
        ports: vec![
            mapping(),
            PortMapping {
                host_ip: None,
                ..mapping()
            },
        ],
        default_route: true,
        gw_priority: 0,
        no_default_route: false,
        publish_to: None,
        publish_to6: None,
        since: 1_700_000_002,
    }
}

pub fn lease() -> Lease {
    Lease {
        network: "lab".into(),
        address: "10.1.0.2".parse().unwrap(),
        client: "ns1".into(),
        state: LeaseState::Bound,
        since: 1_700_000_003,
        expires: None,
        boot_id: "boot-1".into(),
    }
}

pub fn claim() -> PortClaim {
    PortClaim {
        network: "lab".into(),
        key: "ns1".into(),
        netns: "ns1".into(),
        mapping: mapping(),
    }
}

fn round_trips<T: Serialize + DeserializeOwned + PartialEq + Debug>(text: &str, value: T) {
    assert_eq!(toml::from_str::<T>(text).unwrap(), value);
    assert_eq!(toml::to_string(&value).unwrap(), text);
}

#[test]
fn ipv4_state_files_read_and_write_back_byte_for_byte() {
    round_trips(BRIDGE, bridge());
    round_trips(VXLAN, vxlan());
    round_trips(ENDPOINT, endpoint());
    round_trips(LEASE, lease());
    round_trips(CLAIM, claim());
}

#[test]
fn ipv4_json_is_the_same_text() {
    let value = (bridge(), endpoint(), lease());
    assert_eq!(serde_json::to_string(&value).unwrap(), JSON);
    assert_eq!(
        serde_json::from_str::<(Network, Endpoint, Lease)>(JSON).unwrap(),
        value
    );
}

#[test]
fn ipv6_values_round_trip_too() {
    let net = Network {
        subnet: Some("fd00:1::/64".parse().unwrap()),
        gateway: Some("fd00:1::1".parse().unwrap()),
        ..bridge()
    };
    let text = toml::to_string(&net).unwrap();
    assert!(
        text.contains("subnet = \"fd00:1::/64\"\ngateway = \"fd00:1::1\"\n"),
        "{text}"
    );
    assert_eq!(toml::from_str::<Network>(&text).unwrap(), net);
}

#[test]
fn dual_stack_records_round_trip_and_name_their_ipv6_fields() {
    let net = Network {
        subnet6: Some("fd00:1::/64".parse().unwrap()),
        gateway6: Some("fd00:1::1".parse().unwrap()),
        ..bridge()
    };
    let text = toml::to_string(&net).unwrap();
    assert!(
        text.contains("subnet6 = \"fd00:1::/64\"\ngateway6 = \"fd00:1::1\"\n"),
        "{text}"
    );
    assert_eq!(toml::from_str::<Network>(&text).unwrap(), net);
    let ep = Endpoint {
        address6: Some("fd00:1::2/64".parse().unwrap()),
        default_route6: true,
        ..endpoint()
    };
    let text = toml::to_string(&ep).unwrap();
    assert!(text.contains("address6 = \"fd00:1::2/64\"\n"), "{text}");
    assert!(text.contains("default_route6 = true\n"), "{text}");
    assert_eq!(toml::from_str::<Endpoint>(&text).unwrap(), ep);
}
