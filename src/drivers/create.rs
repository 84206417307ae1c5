//! What every driver's `define` shares: the options of every driver with addresses, and the
//! checks of a new network against the others and the host.

use super::Facts;
use crate::cli::CreateArgs;
use crate::error::{Error, Result};
use crate::ipam;
use crate::model::family::Family;
use crate::model::{Driver, Network};
use crate::output;
use ipnetwork::IpNetwork;
use std::net::IpAddr;

/// Refuse an address of the other family, naming the flag that takes it.
fn check_family(what: &str, s: &str, ip: IpAddr, family: Family) -> Result<()> {
    match (family, Family::of(ip)) {
        (Family::V4, Family::V6) => Err(Error::usage(format!(
            "{what} {s} is IPv6: {}",
            match what.trim_start_matches('-') {
                "subnet" => "give it as --subnet6 with --ipv6",
                "gateway" => "give it as --gateway6 with --ipv6",
                "ip" => "give it as --ip6",
                _ => "only IPv4 is taken here",
            }
        ))),
        (Family::V6, Family::V4) => Err(Error::usage(format!("{what} {s} is not IPv6"))),
        _ => Ok(()),
    }
}

fn example(family: Family) -> &'static str {
    match family {
        Family::V4 => "an IPv4 CIDR like 10.1.0.0/24",
        Family::V6 => "an IPv6 CIDR like fd00:1::/64",
    }
}

/// A subnet of `family` as given for `what`: with a prefix and no host bits.
pub fn parse_cidr_of(family: Family, what: &str, s: &str) -> Result<IpNetwork> {
    // ipnetwork would read a bare address as a /32, which is never what was meant.
    if !s.contains('/')
        && let Ok(ip) = s.parse::<IpAddr>()
    {
        check_family(what, s, ip, family)?;
        let prefix = if family == Family::V4 { 24 } else { 64 };
        let example = IpNetwork::new(ip, prefix).map_or(ip, |n| n.network());
        return Err(Error::usage(format!(
            "{what} {s} has no prefix: give one, e.g. {example}/{prefix}"
        )));
    }
    let net: IpNetwork = s
        .parse()
        .map_err(|_| Error::usage(format!("{what} '{s}' is not {}", example(family))))?;
    check_family(what, s, net.ip(), family)?;
    if net.network() != net.ip() {
        return Err(Error::usage(format!(
            "{what} {s} has host bits set (did you mean {}/{}?)",
            net.network(),
            net.prefix()
        )));
    }
    Ok(net)
}

/// An IPv4 subnet.
pub fn parse_cidr(what: &str, s: &str) -> Result<IpNetwork> {
    parse_cidr_of(Family::V4, what, s)
}

/// An address of `family` as given for `what`.
pub fn parse_ip_of(family: Family, what: &str, s: &str) -> Result<IpAddr> {
    let name = match family {
        Family::V4 => "an IPv4",
        Family::V6 => "an IPv6",
    };
    let ip = s
        .parse()
        .map_err(|_| Error::usage(format!("{what} '{s}' is not {name} address")))?;
    check_family(what, s, ip, family)?;
    Ok(ip)
}

/// An IPv4 address.
pub fn parse_ip(what: &str, s: &str) -> Result<IpAddr> {
    parse_ip_of(Family::V4, what, s)
}

/// The options every driver with addresses shares, parsed and checked (no I/O).
pub struct CommonArgs {
    pub subnet: Option<IpNetwork>,
    pub ip_range: Option<IpNetwork>,
    pub gateway: Option<IpAddr>,
    pub mtu: Option<u32>,
}

/// `mtu_opt` is the MTU given as an option, with the key it was given under.
pub fn parse_common(a: &CreateArgs, mtu_opt: Option<(&str, u32)>) -> Result<CommonArgs> {
    let mtu = super::options::flag_or_option("--mtu", a.mtu, mtu_opt)?;
    if let Some(m) = mtu
        && !(68..=65535).contains(&m)
    {
        return Err(Error::usage(format!("mtu {m} is out of range (68-65535)")));
    }
    let cidr = |what, v: &Option<String>| v.as_deref().map(|s| parse_cidr(what, s)).transpose();
    let c = CommonArgs {
        subnet: cidr("subnet", &a.subnet)?,
        ip_range: cidr("ip-range", &a.ip_range)?,
        gateway: a
            .gateway
            .as_deref()
            .map(|s| parse_ip("gateway", s))
            .transpose()?,
        mtu,
    };
    if c.subnet.is_none() && (c.gateway.is_some() || c.ip_range.is_some()) {
        return Err(Error::usage("--gateway and --ip-range need --subnet"));
    }
    if let Some(subnet) = c.subnet {
        ipam::check_usable("subnet", subnet)?;
        ipam::check_room(subnet)?;
    }
    Ok(c)
}

/// Refuse driver-specific flags given to a driver they do not apply to.
pub fn reject_flags(a: &CreateArgs, driver: Driver, allowed: &[&str]) -> Result<()> {
    for (flag, given) in [
        ("--parent", a.parent.is_some()),
        ("--mode", a.mode.is_some()),
        ("--vni", a.vni.is_some()),
        ("--local", a.local.is_some()),
        ("--peer", !a.peer.is_empty()),
        ("--dstport", a.dstport.is_some()),
        ("--underlay", a.underlay.is_some()),
    ] {
        if given && !allowed.contains(&flag) {
            return Err(Error::usage(format!(
                "{flag} does not apply to {driver} networks"
            )));
        }
    }
    Ok(())
}

/// Refuse a name that is taken. Call with the lock held.
pub fn check_name_free(facts: &dyn Facts, name: &str) -> Result<()> {
    if facts.network_exists(name)? {
        return Err(Error::usage(format!("network {name} already exists")));
    }
    Ok(())
}

/// Refuse a subnet that overlaps another network's.
pub fn check_subnet_free(others: &[Network], subnet: IpNetwork) -> Result<()> {
    for o in others {
        if let Some(os) = o.subnets().find(|os| ipam::overlaps(*os, subnet)) {
            return Err(Error::usage(format!(
                "subnet {subnet} overlaps network {} ({os})",
                o.name
            )));
        }
    }
    Ok(())
}

/// Refuse a bridge name another network has, the predefined `bridge` network's `cnet0`
/// included before that network is first used. Call with the lock held.
pub fn check_bridge_free(facts: &dyn Facts, bridge: &str) -> Result<()> {
    match facts.bridge_user(bridge)? {
        Some(user) => Err(Error::usage(format!(
            "bridge {bridge} is already used by network {user}"
        ))),
        None => Ok(()),
    }
}

/// Refuse a subnet the host already routes somewhere (a LAN, a VPN): a bridge or overlay
/// routed on the host on top of it would take that traffic.
pub fn check_not_routed(facts: &dyn Facts, subnet: IpNetwork) -> Result<()> {
    refuse_routed(subnet, &facts.host_routes()?)
}

fn refuse_routed(subnet: IpNetwork, routes: &[IpNetwork]) -> Result<()> {
    match routes.iter().find(|r| ipam::overlaps(**r, subnet)) {
        Some(r) => Err(Error::usage(format!(
            "subnet {subnet} overlaps the host's route {}/{}",
            r.network(),
            r.prefix()
        ))),
        None => Ok(()),
    }
}

/// A fresh definition with the common fields filled in.
pub fn new_network(name: &str, driver: Driver) -> Network {
    Network {
        name: name.to_string(),
        id: new_id(),
        driver,
        created: output::now(),
        ..Default::default()
    }
}

fn new_id() -> String {
    let mut buf = [0u8; 6];
    if getrandom(&mut buf).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        buf.copy_from_slice(&t.to_le_bytes()[..6]);
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn getrandom(buf: &mut [u8]) -> std::io::Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")?.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> CreateArgs {
        let mut argv = vec!["cnet", "net", "create", "n1"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::try_parse_from(argv).unwrap().command {
            crate::cli::Command::Net(crate::cli::NetCommand::Create(a)) => *a,
            other => panic!("{other:?}"),
        }
    }

    /// The usage error of `net create n1 EXTRA...` as far as the shared parsing goes.
    fn refused(extra: &[&str], mtu_opt: Option<(&str, u32)>) -> String {
        let e = parse_common(&args(extra), mtu_opt).err().expect("refused");
        assert_eq!(e.exit_code(), 2, "{e}");
        e.to_string()
    }

    #[test]
    fn a_cidr_needs_a_prefix() {
        assert_eq!(
            refused(&["--subnet", "10.2.0.0"], None),
            "subnet 10.2.0.0 has no prefix: give one, e.g. 10.2.0.0/24"
        );
        let e = refused(&["--subnet", "10.2.0.0/16", "--ip-range", "10.2.1.9"], None);
        assert_eq!(
            e,
            "ip-range 10.2.1.9 has no prefix: give one, e.g. 10.2.1.0/24"
        );
        assert!(refused(&["--subnet", "banana"], None).contains("not an IPv4 CIDR"));
        let c = parse_common(&args(&["--subnet", "10.2.0.0/16"]), None).unwrap();
        assert_eq!(c.subnet, Some("10.2.0.0/16".parse().unwrap()));
    }

    #[test]
    fn ipv6_in_an_ipv4_flag_is_refused_naming_the_flag_that_takes_it() {
        for (extra, msg) in [
            (
                &["--subnet", "fd00:1::/64"][..],
                "subnet fd00:1::/64 is IPv6: give it as --subnet6 with --ipv6",
            ),
            (
                &["--subnet", "fd00:1::"][..],
                "subnet fd00:1:: is IPv6: give it as --subnet6 with --ipv6",
            ),
            (
                &["--subnet", "10.2.0.0/16", "--ip-range", "fd00::/120"],
                "ip-range fd00::/120 is IPv6: only IPv4 is taken here",
            ),
            (
                &["--subnet", "10.2.0.0/16", "--gateway", "fd00::1"],
                "gateway fd00::1 is IPv6: give it as --gateway6 with --ipv6",
            ),
        ] {
            assert_eq!(refused(extra, None), msg);
        }
        let e = parse_ip("--ip", "fd00::5").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(e.to_string(), "--ip fd00::5 is IPv6: give it as --ip6");
        let e = parse_ip_of(Family::V6, "--ip6", "10.0.0.5").unwrap_err();
        assert_eq!(e.to_string(), "--ip6 10.0.0.5 is not IPv6");
        assert_eq!(
            parse_cidr_of(Family::V6, "subnet6", "fd00:1::")
                .unwrap_err()
                .to_string(),
            "subnet6 fd00:1:: has no prefix: give one, e.g. fd00:1::/64"
        );
    }

    #[test]
    fn unusable_and_tiny_subnets_are_refused() {
        for (subnet, needle) in [
            ("0.0.0.0/0", "default route"),
            ("127.0.0.0/8", "loopback"),
            ("169.254.0.0/16", "link-local"),
            ("224.0.0.0/4", "multicast"),
            ("10.1.0.0/31", "too small"),
            ("10.1.0.7/32", "too small"),
        ] {
            let e = refused(&["--subnet", subnet], None);
            assert!(e.contains(needle), "{subnet}: {e}");
        }
    }

    #[test]
    fn the_mtu_flag_and_option_must_agree() {
        let e = refused(&["--mtu", "9000"], Some(("mtu", 1500)));
        assert_eq!(e, "--mtu 9000 and -o mtu=1500 disagree: give one of them");
        let c = parse_common(&args(&["--mtu", "1500"]), Some(("mtu", 1500))).unwrap();
        assert_eq!(c.mtu, Some(1500));
    }

    #[test]
    fn a_subnet_over_a_host_route_is_refused_naming_the_route() {
        let routes: Vec<IpNetwork> = ["192.168.1.0/24", "10.0.0.0/8"]
            .iter()
            .map(|r| r.parse().unwrap())
            .collect();
        let e = refuse_routed("192.168.1.128/25".parse().unwrap(), &routes).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            "subnet 192.168.1.128/25 overlaps the host's route 192.168.1.0/24"
        );
        assert!(refuse_routed("10.7.0.0/16".parse().unwrap(), &routes).is_err());
        refuse_routed("172.20.0.0/16".parse().unwrap(), &routes).unwrap();
    }

    /// Random text never panics the CIDR and address parsers; an accepted subnet is aligned
    /// and usable or refused with a usage error, never anything else.
    #[test]
    fn fuzzed_cidrs_never_panic() {
        use crate::fuzz::Rng;
        let alphabet = [
            "1", "0", "2", "5", "9", "255", "256", "10", "127", "169", "224", ".", ".", "/", "/",
            "8", "24", "31", "32", "33", "-", " ", "x", "é", ":",
        ];
        let valid = ["10.1.0.0/24", "192.168.0.0/16", "10.2.0.0", "255.255.0.0"];
        let mut rng = Rng::new(16);
        let mut accepted = 0;
        for i in 0..20_000 {
            let s = if i % 2 == 0 {
                rng.string(&alphabet, 10)
            } else {
                let v = *rng.pick(&valid);
                rng.mutate(v, &alphabet)
            };
            let _ = parse_ip("gateway", &s);
            let Ok(net) = parse_cidr("subnet", &s) else {
                continue;
            };
            accepted += 1;
            assert!(s.contains('/'), "{s}");
            assert_eq!(net.ip(), net.network(), "{s}");
            for check in [ipam::check_usable("subnet", net), ipam::check_room(net)] {
                if let Err(e) = check {
                    assert_eq!(e.exit_code(), 2, "{s}: {e}");
                }
            }
        }
        assert!(accepted > 200, "{accepted}");
    }
}
