//! The options of `cnet net create NAME -d vxlan|overlay --vni N --subnet CIDR [--local IP |
//! --underlay IFACE] [--peer IP]...`, and everything about them that needs no I/O.

use super::{DEFAULT_DSTPORT, MAX_VNI};
use crate::cli::CreateArgs;
use crate::drivers::create::{parse_common, reject_flags};
use crate::drivers::options::{self, flag_or_option, key_of};
use crate::error::{Error, Result};
use crate::ipam::Pool;
use crate::model::Driver;
use crate::names;
use ipnetwork::IpNetwork;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

/// `-o` options of a vxlan network: ours and Docker's spellings.
#[derive(Debug, Default, PartialEq)]
pub struct VxlanOptions {
    pub given: BTreeMap<String, String>,
    vni: Option<u32>,
    pub mtu: Option<u32>,
    bridge_name: Option<String>,
}

fn options(opts: &[String]) -> Result<VxlanOptions> {
    let mut parsed = VxlanOptions::default();
    for (k, v) in options::split(opts)? {
        match k {
            "bridge_name" => parsed.bridge_name = Some(v.to_string()),
            k if options::is_mtu(k) => parsed.mtu = Some(options::number(k, v)?),
            "vni" | "com.docker.network.driver.overlay.vxlanid_list" => {
                parsed.vni = Some(options::number(k, v)?)
            }
            _ => {
                return Err(options::unknown(k, Driver::Vxlan, "bridge_name, mtu, vni"));
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
pub struct Request {
    pub vni: u32,
    pub subnet: IpNetwork,
    pub shape: Shape,
}

/// What is checked alike whether VNI and subnet are given or chosen.
#[derive(Debug)]
pub struct Shape {
    pub dstport: u16,
    pub ip_range: Option<IpNetwork>,
    pub mtu: Option<u32>,
    pub bridge: String,
    pub opts: VxlanOptions,
}

fn check_vni(vni: u32) -> Result<u32> {
    if !(1..=MAX_VNI).contains(&vni) {
        return Err(Error::usage(format!(
            "VNI {vni} is out of range (1-{MAX_VNI})"
        )));
    }
    Ok(vni)
}

pub fn parse(a: &CreateArgs) -> Result<Request> {
    let Parsed { vni, subnet, shape } = parse_any(a)?;
    let vni = vni.ok_or_else(|| {
        Error::usage(format!(
            "a vxlan network needs --vni N (1-{MAX_VNI}), the same on every host"
        ))
    })?;
    let subnet = subnet.ok_or_else(|| {
        Error::usage("a vxlan network needs --subnet CIDR, the same on every host")
    })?;
    // The range must be inside the subnet (the slice is, by construction).
    Pool::new(subnet, shape.ip_range, None)?.check_leasable()?;
    Ok(Request { vni, subnet, shape })
}

/// What `create` asks of an overlay shared through etcd: VNI and subnet are chosen when not
/// given, and peers come from etcd.
pub struct SharedRequest {
    pub vni: Option<u32>,
    pub subnet: Option<IpNetwork>,
    pub shape: Shape,
}

pub fn parse_shared(a: &CreateArgs) -> Result<SharedRequest> {
    if let Some(p) = a.peer.first() {
        return Err(Error::usage(format!(
            "--peer {p}: with the etcd store the peers are the hosts that create or join the \
             network (drop --peer)"
        )));
    }
    let Parsed { vni, subnet, shape } = parse_any(a)?;
    if let Some(subnet) = subnet {
        Pool::new(subnet, shape.ip_range, None)?.check_leasable()?;
    }
    Ok(SharedRequest { vni, subnet, shape })
}

/// This host's VTEP as asked for: `--local IP`, `--underlay IFACE`, or `--underlay IP`.
pub fn vtep_hint(a: &CreateArgs) -> (Option<IpAddr>, Option<String>) {
    match a.underlay.as_deref().map(|u| (u, u.parse::<Ipv4Addr>())) {
        Some((_, Ok(ip))) if a.local.is_none() => (Some(IpAddr::V4(ip)), None),
        _ => (a.local.map(IpAddr::V4), a.underlay.clone()),
    }
}

/// The checks both kinds of overlay share; VNI and subnet as given.
struct Parsed {
    vni: Option<u32>,
    subnet: Option<IpNetwork>,
    shape: Shape,
}

fn parse_any(a: &CreateArgs) -> Result<Parsed> {
    reject_flags(
        a,
        Driver::Vxlan,
        &["--vni", "--local", "--peer", "--dstport", "--underlay"],
    )?;
    let opts = options(&a.opts)?;
    let vni_opt = opts.vni.map(|v| (key_of(&opts.given, "vni"), v));
    let vni = flag_or_option("--vni", a.vni, vni_opt)?
        .map(check_vni)
        .transpose()?;
    let mtu_opt = opts.mtu.map(|m| (key_of(&opts.given, "mtu"), m));
    let common = parse_common(a, mtu_opt)?;
    if common.gateway.is_some() {
        return Err(Error::usage(
            "a vxlan network has no gateway (it is an L2 segment): drop --gateway, and attach \
             to a bridge network as well for a way out",
        ));
    }
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
    if let Some(u) = &a.underlay
        && u.parse::<Ipv4Addr>().is_err()
    {
        names::validate_ifname(u)?;
    }
    let bridge = opts
        .bridge_name
        .clone()
        .unwrap_or_else(|| names::bridge_name(&a.name));
    names::validate_ifname(&bridge)?;
    Ok(Parsed {
        vni,
        subnet: common.subnet,
        shape: Shape {
            ip_range: common.ip_range,
            mtu: common.mtu,
            dstport,
            bridge,
            opts,
        },
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
        assert_eq!(r.shape.dstport, 4789);
        assert_eq!(r.shape.bridge, "cn-ov");
        assert_eq!(r.shape.mtu, None);
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
        assert_eq!((r.shape.mtu, r.shape.dstport), (Some(1400), 8472));
    }
}
