//! The definition of a shared overlay against a shared store's contents and a host's facts,
//! without root or etcd.

use super::*;
use crate::drivers::{ParentInfo, Vtep};
use crate::model::{Member, SublinkKind};
use crate::store::memory::SharedView;
use crate::store::{Guard, MemStore, Store};
use clap::Parser;
use ipnetwork::IpNetwork;

const ME: &str = "aaaaaaaaaaaa";
const OTHER: &str = "bbbbbbbbbbbb";

/// A host with one underlay `eth1` (192.0.2.1, MTU 1500), its default route through it.
struct TestHost {
    store: MemStore,
    routes: Vec<IpNetwork>,
    default_link: Option<String>,
}

impl TestHost {
    fn new(view: SharedView) -> Self {
        let store = MemStore::default();
        *store.shared.borrow_mut() = Some(SharedView {
            host: ME.into(),
            ..view
        });
        TestHost {
            store,
            routes: vec!["192.0.2.0/24".parse().unwrap()],
            default_link: Some("eth1".into()),
        }
    }
}

impl Facts for TestHost {
    fn dry_run(&self) -> bool {
        false
    }
    fn say(&self, _msg: &str) {}
    fn require_root(&self) -> Result<()> {
        Ok(())
    }
    fn lock(&self) -> Result<Option<Guard>> {
        Ok(None)
    }
    fn networks(&self) -> Result<Vec<Network>> {
        self.store.networks()
    }
    fn network_exists(&self, name: &str) -> Result<bool> {
        Ok(self.store.network(name)?.is_some())
    }
    fn bridge_user(&self, _bridge: &str) -> Result<Option<String>> {
        Ok(None)
    }
    fn host_routes(&self) -> Result<Vec<IpNetwork>> {
        Ok(self.routes.clone())
    }
    fn ula(&self) -> Result<Option<IpNetwork>> {
        self.store.ula()
    }
    fn link_exists(&self, _ns: &NsRef, _name: &str) -> Result<bool> {
        Ok(false)
    }
    fn parent_info(&self, _name: &str) -> Result<Option<ParentInfo>> {
        Ok(None)
    }
    fn find_vtep(&self, local: Option<IpAddr>, underlay: Option<String>) -> Result<Vtep> {
        let ours = local.is_none_or(|l| l.to_string() == "192.0.2.1")
            && underlay.as_deref().is_none_or(|u| u == "eth1");
        if !ours {
            return Err(Error::usage("not an address or interface of this host"));
        }
        Ok(Vtep {
            local: "192.0.2.1".parse().unwrap(),
            underlay: "eth1".into(),
            mtu: 1500,
        })
    }
    fn probe_sublink(&self, _kind: SublinkKind) -> Result<()> {
        Ok(())
    }
    fn free_subnet(&self) -> Result<IpNetwork> {
        Err(Error::runtime("not asked of an overlay"))
    }
    fn boot_id(&self) -> String {
        "boot".into()
    }
    fn store(&self) -> &dyn Store {
        &self.store
    }
    fn default_route_link(&self) -> Result<Option<String>> {
        Ok(self.default_link.clone())
    }
}

fn args(extra: &[&str]) -> CreateArgs {
    let mut argv = vec!["cnet", "net", "create", "ov", "-d", "overlay"];
    argv.extend_from_slice(extra);
    match crate::cli::Cli::try_parse_from(argv).unwrap().command {
        crate::cli::Command::Net(crate::cli::NetCommand::Create(a)) => *a,
        other => panic!("{other:?}"),
    }
}

/// An overlay another host defined: VNI 4096 on 10.0.0.0/24, that host a member.
fn defined_elsewhere(name: &str) -> SharedView {
    let def = Network {
        name: name.into(),
        id: "0123456789ab".into(),
        driver: Driver::Vxlan,
        subnet: Some("10.0.0.0/24".parse().unwrap()),
        internal: true,
        mtu: Some(1450),
        bridge: Some(format!("cn-{name}")),
        vni: Some(FIRST_VNI),
        dstport: Some(4789),
        shared: true,
        ..Default::default()
    };
    SharedView {
        definitions: [(name.to_string(), def)].into(),
        members: [(
            name.to_string(),
            vec![Member {
                host: OTHER.into(),
                underlay: "192.0.2.2".parse().unwrap(),
                vtep_mac: None,
                since: 1,
            }],
        )]
        .into(),
        ..Default::default()
    }
}

#[test]
fn the_first_host_chooses_a_free_vni_and_subnet_and_its_default_route_underlay() {
    // Another overlay holds VNI 4096 and 10.0.0.0/24; the host routes 10.0.1.0/24 already.
    let mut host = TestHost::new(defined_elsewhere("other"));
    host.routes.push("10.0.1.0/24".parse().unwrap());
    let net = define(&host, &args(&[])).unwrap().net;
    assert_eq!(net.vni, Some(FIRST_VNI + 1));
    assert_eq!(net.subnet, Some("10.0.2.0/24".parse().unwrap()));
    assert_eq!(net.local, Some("192.0.2.1".parse().unwrap()));
    assert_eq!(net.parent.as_deref(), Some("eth1"));
    assert_eq!(net.mtu, Some(1450));
    assert!(net.shared && net.peers.is_empty() && net.ip_range.is_none());
    assert!(net.vtep_mac.is_some() && net.bridge_mac.is_some());
}

#[test]
fn another_host_joins_the_definition_with_the_members_as_peers() {
    let host = TestHost::new(defined_elsewhere("ov"));
    let net = define(&host, &args(&[])).unwrap().net;
    let def = host.store.shared_network("ov").unwrap().unwrap();
    assert_eq!(
        (net.id.as_str(), net.vni, net.subnet),
        ("0123456789ab", def.vni, def.subnet)
    );
    assert_eq!(net.peers, ["192.0.2.2".parse::<IpAddr>().unwrap()]);
    // What it would share is exactly the definition there.
    assert_eq!(net.shared_form(), def);
}

#[test]
fn what_contradicts_the_shared_definition_or_the_host_is_refused() {
    let host = TestHost::new(defined_elsewhere("ov"));
    for (extra, needle) in [
        (&["--vni", "9"][..], "exists in etcd with VNI 4096, not 9"),
        (
            &["--subnet", "10.5.0.0/24"][..],
            "with subnet 10.0.0.0/24, not 10.5.0.0/24",
        ),
        (
            &["--peer", "192.0.2.3"][..],
            "--peer 192.0.2.3: with the etcd store",
        ),
        (
            &["--underlay", "192.0.2.9"][..],
            "not an address or interface",
        ),
    ] {
        let e = define(&host, &args(extra)).err().expect("refused");
        assert_eq!(e.exit_code(), 2, "{extra:?}: {e}");
        assert!(e.to_string().contains(needle), "{extra:?}: {e}");
    }
    let mut lost = TestHost::new(SharedView::default());
    lost.default_link = None;
    let e = define(&lost, &args(&[])).err().expect("refused");
    assert!(e.to_string().contains("no default route"), "{e}");
    // Told where, it needs none.
    assert!(define(&lost, &args(&["--underlay", "192.0.2.1"])).is_ok());
}

#[test]
fn a_dual_stack_overlay_takes_a_slash_64_of_the_host_ula_no_overlay_in_etcd_has() {
    // Another overlay in etcd holds the first /64 of this host's ULA prefix.
    let ula: IpNetwork = "fd00:aaaa:bbbb::/48".parse().unwrap();
    let mut view = defined_elsewhere("other");
    view.definitions.get_mut("other").unwrap().subnet6 =
        Some("fd00:aaaa:bbbb::/64".parse().unwrap());
    let host = TestHost::new(view);
    host.store.claim_ula(ula).unwrap();
    let d = define(&host, &args(&["--ipv6"])).unwrap();
    assert_eq!(
        d.net.subnet6,
        Some("fd00:aaaa:bbbb:1::/64".parse().unwrap())
    );
    // Every host leases from the whole subnet, with no gateway: an L2 segment.
    assert_eq!((d.net.ip_range6, d.net.gateway6), (None, None));
    assert!(d.records.is_empty(), "the host had its ULA prefix already");
    // A host with no ULA prefix yet makes one, recorded with the network.
    let fresh = TestHost::new(SharedView::default());
    let d = define(&fresh, &args(&["--ipv6"])).unwrap();
    assert!(
        matches!(d.records[..], [Record::ClaimUla(p)] if p.contains(d.net.subnet6.unwrap().ip()))
    );
}

#[test]
fn a_joiner_takes_the_ipv6_subnet_in_etcd_and_contradictions_are_refused() {
    let mut view = defined_elsewhere("ov");
    let s6: IpNetwork = "fd00:1:2::/64".parse().unwrap();
    view.definitions.get_mut("ov").unwrap().subnet6 = Some(s6);
    let host = TestHost::new(view);
    // Joined with or without --ipv6: the definition's subnet either way.
    for extra in [
        &[][..],
        &["--ipv6"],
        &["--ipv6", "--subnet6", "fd00:1:2::/64"],
    ] {
        let net = define(&host, &args(extra)).unwrap().net;
        assert_eq!(net.subnet6, Some(s6), "{extra:?}");
    }
    let other = TestHost::new(defined_elsewhere("other"));
    let v4_only = TestHost::new(defined_elsewhere("ov"));
    for (h, extra, needle) in [
        (
            &host,
            &["--ipv6", "--subnet6", "fd00:9::/64"][..],
            "with subnet6 fd00:1:2::/64, not fd00:9::/64",
        ),
        (&v4_only, &["--ipv6"][..], "exists in etcd as IPv4-only"),
        (
            &other,
            &[
                "--ipv6",
                "--subnet6",
                "fd00:9::/64",
                "--gateway6",
                "fd00:9::1",
            ][..],
            "no gateway",
        ),
    ] {
        let e = define(h, &args(extra)).err().expect("refused");
        assert_eq!(e.exit_code(), 2, "{extra:?}: {e}");
        assert!(e.to_string().contains(needle), "{extra:?}: {e}");
    }
    // Another overlay's IPv6 subnet in etcd is not given twice.
    let mut view = defined_elsewhere("other");
    view.definitions.get_mut("other").unwrap().subnet6 = Some(s6);
    let e = define(
        &TestHost::new(view),
        &args(&["--ipv6", "--subnet6", "fd00:1:2::/80"]),
    )
    .err()
    .expect("refused");
    assert!(e.to_string().contains("an overlay's in etcd"), "{e}");
}

#[test]
fn an_attach_joins_only_an_overlay_etcd_defines() {
    let host = TestHost::new(defined_elsewhere("ov"));
    assert!(join_on_attach(&host, "nope").unwrap().is_none());
    let (net, records) = join_on_attach(&host, "ov").unwrap().expect("joined");
    assert_eq!(
        net.shared_form(),
        host.store.shared_network("ov").unwrap().unwrap()
    );
    assert_eq!(net.peers, ["192.0.2.2".parse::<IpAddr>().unwrap()]);
    assert!(records.is_empty());
}
