//! `cnet net create NAME -d vxlan|overlay --vni N --subnet CIDR [--local IP | --underlay IFACE]
//! [--peer IP]...`: the overlay glue (checks, the VTEP, the MTU, the lease slice), and the VXLAN
//! part of `net inspect`.

use super::Ctx;
use super::net::{
    apply_and_record, check_bridge_free, check_name_free, check_not_routed, check_subnet_free,
    new_network, parse_common, reject_flags,
};
use super::options::{flag_or_option, key_of};
use crate::cli::CreateArgs;
use crate::drivers::vxlan::{DEFAULT_DSTPORT, MAX_VNI, OVERHEAD, vxlan_ifname};
use crate::error::{Error, Result};
use crate::ipam::{self, Pool};
use crate::kernel;
use crate::model::{Driver, Network};
use crate::names;
use crate::plan::NsRef;
use ipnetwork::Ipv4Network;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// `-o` options of a vxlan network: ours and Docker's spellings.
#[derive(Debug, Default, PartialEq)]
struct VxlanOptions {
    given: BTreeMap<String, String>,
    vni: Option<u32>,
    mtu: Option<u32>,
    bridge_name: Option<String>,
}

fn options(opts: &[String]) -> Result<VxlanOptions> {
    let mut parsed = VxlanOptions::default();
    for (k, v) in super::options::split(opts)? {
        match k {
            "bridge_name" => parsed.bridge_name = Some(v.to_string()),
            k if super::options::is_mtu(k) => parsed.mtu = Some(super::options::number(k, v)?),
            "vni" | "com.docker.network.driver.overlay.vxlanid_list" => {
                parsed.vni = Some(super::options::number(k, v)?)
            }
            _ => {
                return Err(super::options::unknown(
                    k,
                    Driver::Vxlan,
                    "bridge_name, mtu, vni",
                ));
            }
        }
        parsed.given.insert(k.to_string(), v.to_string());
    }
    Ok(parsed)
}

/// Refuse what cannot be a VTEP: unspecified, broadcast, multicast, loopback.
fn check_unicast(what: &str, ip: Ipv4Addr) -> Result<()> {
    if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.is_loopback() {
        return Err(Error::usage(format!(
            "{what} {ip} is not a unicast address of another host"
        )));
    }
    Ok(())
}

/// Everything `create` can check without root or I/O.
#[derive(Debug)]
struct Request {
    vni: u32,
    dstport: u16,
    subnet: Ipv4Network,
    ip_range: Option<Ipv4Network>,
    mtu: Option<u32>,
    bridge: String,
    opts: VxlanOptions,
}

fn check_vni(vni: u32) -> Result<u32> {
    if !(1..=MAX_VNI).contains(&vni) {
        return Err(Error::usage(format!(
            "VNI {vni} is out of range (1-{MAX_VNI})"
        )));
    }
    Ok(vni)
}

fn parse(a: &CreateArgs) -> Result<Request> {
    reject_flags(
        a,
        Driver::Vxlan,
        &["--vni", "--local", "--peer", "--dstport", "--underlay"],
    )?;
    let opts = options(&a.opts)?;
    let vni_opt = opts.vni.map(|v| (key_of(&opts.given, "vni"), v));
    let vni = check_vni(flag_or_option("--vni", a.vni, vni_opt)?.ok_or_else(|| {
        Error::usage(format!(
            "a vxlan network needs --vni N (1-{MAX_VNI}), the same on every host"
        ))
    })?)?;
    let mtu_opt = opts.mtu.map(|m| (key_of(&opts.given, "mtu"), m));
    let common = parse_common(a, mtu_opt)?;
    if common.gateway.is_some() {
        return Err(Error::usage(
            "a vxlan network has no gateway (it is an L2 segment): drop --gateway, and attach \
             to a bridge network as well for a way out",
        ));
    }
    let subnet = common.subnet.ok_or_else(|| {
        Error::usage("a vxlan network needs --subnet CIDR, the same on every host")
    })?;
    let dstport = a.dstport.unwrap_or(DEFAULT_DSTPORT);
    if dstport == 0 {
        return Err(Error::usage("--dstport 0 is not a UDP port"));
    }
    for (i, p) in a.peer.iter().enumerate() {
        check_unicast("--peer", *p)?;
        if a.peer[..i].contains(p) {
            return Err(Error::usage(format!("--peer {p} is given twice")));
        }
        if a.local == Some(*p) {
            return Err(Error::usage(format!(
                "--peer {p} is this host's own --local address"
            )));
        }
    }
    if let Some(l) = a.local {
        check_unicast("--local", l)?;
    }
    if let Some(u) = &a.underlay {
        names::validate_ifname(u)?;
    }
    let bridge = opts
        .bridge_name
        .clone()
        .unwrap_or_else(|| names::bridge_name(&a.name));
    names::validate_ifname(&bridge)?;
    // The range must be inside the subnet (the slice is, by construction).
    Pool::new(subnet, common.ip_range, None)?.check_leasable()?;
    Ok(Request {
        vni,
        dstport,
        subnet,
        ip_range: common.ip_range,
        mtu: common.mtu,
        bridge,
        opts,
    })
}

pub fn create(ctx: &Ctx, a: &CreateArgs) -> Result<()> {
    let r = parse(a)?;
    ctx.require_root()?;

    let _lock = ctx.lock()?;
    check_name_free(ctx, &a.name)?;
    let others = ctx.store.networks()?;
    check_subnet_free(&others, r.subnet)?;
    if let Some(o) = others.iter().find(|o| o.vni == Some(r.vni)) {
        return Err(Error::usage(format!(
            "VNI {} is already used by network {}",
            r.vni, o.name
        )));
    }
    check_bridge_free(ctx, &r.bridge)?;
    check_not_routed(ctx, r.subnet)?;
    let vtep = kernel::vxlan::find_vtep(a.local, a.underlay.clone())?;
    if a.peer.contains(&vtep.local) {
        return Err(Error::usage(format!(
            "--peer {} is this host's own address on {}",
            vtep.local, vtep.underlay
        )));
    }
    let dev = vxlan_ifname(r.vni);
    if !ctx.dry_run() {
        for link in [&r.bridge, &dev] {
            if ctx.link_exists(&NsRef::Host, link)? {
                return Err(Error::usage(format!(
                    "link {link} already exists on this host"
                )));
            }
        }
    }
    let Some(default_mtu) = vtep.mtu.checked_sub(OVERHEAD).filter(|m| *m >= 68) else {
        return Err(Error::usage(format!(
            "the MTU of {} ({}) leaves no room for VXLAN's {OVERHEAD} bytes",
            vtep.underlay, vtep.mtu
        )));
    };
    let mtu = r.mtu.unwrap_or(default_mtu);
    if mtu > default_mtu {
        ctx.say(format!(
            "note: mtu {mtu} is more than {} ({} - {OVERHEAD}) allows: large frames will be \
             fragmented or dropped on the underlay",
            vtep.underlay, vtep.mtu
        ));
    }
    // Without --ip-range, lease only from this host's part of the subnet.
    let (ip_range, slice_vteps) = match r.ip_range {
        Some(range) => (range, Vec::new()),
        None => {
            let s = ipam::vtep_slice(r.subnet, vtep.local, &a.peer)?;
            ctx.say(format!(
                "lease slice {} (part {} of {} of {}, over VTEPs {})",
                s.range,
                s.index + 1,
                s.parts,
                r.subnet,
                join(&s.vteps)
            ));
            (s.range, s.vteps)
        }
    };
    let mut net = Network {
        subnet: Some(r.subnet),
        gateway: None,
        ip_range: Some(ip_range),
        internal: true,
        mtu: Some(mtu),
        bridge: Some(r.bridge),
        parent: Some(vtep.underlay),
        vni: Some(r.vni),
        local: Some(vtep.local),
        peers: a.peer.clone(),
        dstport: Some(r.dstport),
        options: r.opts.given,
        slice_vteps,
        ..new_network(&a.name, Driver::Vxlan)
    };
    net.bridge_mac = Some(crate::plan::format_mac(
        &crate::drivers::bridge::bridge_mac(&net),
    ));
    apply_and_record(ctx, &net, Vec::new())
}

fn join(ips: &[Ipv4Addr]) -> String {
    ips.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The VXLAN part of `net inspect`.
#[derive(Debug, Serialize, PartialEq)]
pub struct InspectVxlan {
    vni: Option<u32>,
    /// The VXLAN device on this host.
    device: Option<String>,
    local: Option<Ipv4Addr>,
    underlay: Option<String>,
    peers: Vec<Ipv4Addr>,
    dst_port: Option<u16>,
    /// This host's part of the subnet, when it was computed rather than given (--ip-range).
    #[serde(skip_serializing_if = "Option::is_none")]
    lease_slice: Option<InspectSlice>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct InspectSlice {
    range: Option<Ipv4Network>,
    /// 1-based position of this host among the VTEPs.
    part: usize,
    parts: usize,
    vteps: Vec<Ipv4Addr>,
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
    use clap::Parser;

    fn args(extra: &[&str]) -> CreateArgs {
        let mut argv = vec!["cnet", "net", "create", "ov", "-d", "overlay"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::try_parse_from(argv).unwrap().command {
            crate::cli::Command::Net(crate::cli::NetCommand::Create(a)) => *a,
            other => panic!("{other:?}"),
        }
    }

    fn usage(extra: &[&str]) -> String {
        let e = parse(&args(extra)).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        e.to_string()
    }

    #[test]
    fn vni_is_required_and_in_range() {
        assert!(usage(&["--subnet", "10.20.0.0/24"]).contains("--vni"));
        for bad in ["0", "16777216"] {
            let e = usage(&["--vni", bad, "--subnet", "10.20.0.0/24"]);
            assert!(e.contains("out of range (1-16777215)"), "{e}");
        }
        let r = parse(&args(&["--vni", "16777215", "--subnet", "10.20.0.0/24"])).unwrap();
        assert_eq!(r.vni, 16777215);
        // Docker's option spelling works too.
        let r = parse(&args(&[
            "--subnet",
            "10.20.0.0/24",
            "-o",
            "com.docker.network.driver.overlay.vxlanid_list=4097",
        ]))
        .unwrap();
        assert_eq!(r.vni, 4097);
    }

    #[test]
    fn subnet_is_required_and_there_is_no_gateway() {
        assert!(usage(&["--vni", "5"]).contains("--subnet"));
        let e = usage(&[
            "--vni",
            "5",
            "--subnet",
            "10.20.0.0/24",
            "--gateway",
            "10.20.0.1",
        ]);
        assert!(e.contains("no gateway"), "{e}");
    }

    #[test]
    fn peers_are_checked() {
        let base = ["--vni", "5", "--subnet", "10.20.0.0/24"];
        let with = |more: &[&str]| {
            let mut v = base.to_vec();
            v.extend_from_slice(more);
            usage(&v)
        };
        assert!(with(&["--peer", "192.0.2.2", "--peer", "192.0.2.2"]).contains("twice"));
        assert!(with(&["--local", "192.0.2.1", "--peer", "192.0.2.1"]).contains("own --local"),);
        assert!(with(&["--peer", "224.0.0.1"]).contains("not a unicast"));
        assert!(with(&["--dstport", "0"]).contains("--dstport 0"));
        assert!(with(&["--parent", "eth0"]).contains("--parent does not apply to vxlan"));
        assert!(with(&["--ip-range", "10.30.0.0/26"]).contains("not inside subnet"));
    }

    #[test]
    fn defaults_port_4789_and_the_bridge_name() {
        let r = parse(&args(&["--vni", "5000", "--subnet", "10.20.0.0/24"])).unwrap();
        assert_eq!(r.dstport, 4789);
        assert_eq!(r.bridge, "cn-ov");
        assert_eq!(r.mtu, None);
        let r = parse(&args(&[
            "--vni",
            "5000",
            "--subnet",
            "10.20.0.0/24",
            "--mtu",
            "1400",
            "--dstport",
            "8472",
        ]))
        .unwrap();
        assert_eq!((r.mtu, r.dstport), (Some(1400), 8472));
    }

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
