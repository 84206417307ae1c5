//! The IPv6 half of a dual-stack network (`net create --ipv6`): its options, the subnet it
//! takes when none is given (the next free /64 of the host's ULA /48), and the kernel steps
//! every driver adds for it in a namespace. A network without `--ipv6` stays IPv4-only.

use super::Facts;
use super::create::{parse_cidr_of, parse_ip_of};
use crate::cli::CreateArgs;
use crate::error::{Error, Result};
use crate::ipam::{self, Pool};
use crate::model::Network;
use crate::model::family::Family;
use crate::plan::{NsRef, Op, Plan, Record};
use ipnetwork::IpNetwork;
use std::net::IpAddr;

/// The longest IPv6 prefix a network may have: a /120 leaves 254 addresses to lease.
pub const MAX_PREFIX6: u8 = 120;

/// `--ipv6 [--subnet6 CIDR] [--gateway6 IP]`, parsed and checked (no I/O).
#[derive(Debug, Clone, PartialEq)]
pub struct V6Args {
    pub subnet6: Option<IpNetwork>,
    pub gateway6: Option<IpAddr>,
}

/// The IPv6 options of `net create`: `None` for an IPv4-only network. Every refusal is a
/// usage error, made before anything is read or changed.
pub fn parse(a: &CreateArgs) -> Result<Option<V6Args>> {
    if !a.ipv6 {
        for (flag, given) in [
            ("--subnet6", a.subnet6.is_some()),
            ("--gateway6", a.gateway6.is_some()),
        ] {
            if given {
                return Err(Error::usage(format!("{flag} needs --ipv6")));
            }
        }
        return Ok(None);
    }
    let subnet6 = a
        .subnet6
        .as_deref()
        .map(|s| parse_cidr_of(Family::V6, "subnet6", s))
        .transpose()?;
    let gateway6 = a
        .gateway6
        .as_deref()
        .map(|s| parse_ip_of(Family::V6, "gateway6", s))
        .transpose()?;
    if let Some(subnet) = subnet6 {
        if subnet.prefix() > MAX_PREFIX6 {
            return Err(Error::usage(format!(
                "subnet6 {subnet} is too small: an IPv6 network needs at least a /{MAX_PREFIX6}"
            )));
        }
        ipam::check_usable("subnet6", subnet)?;
        Pool::new(subnet, None, gateway6)?;
    } else if gateway6.is_some() {
        return Err(Error::usage("--gateway6 needs --subnet6"));
    }
    Ok(Some(V6Args { subnet6, gateway6 }))
}

/// What a new network's IPv6 half is: its subnet, its gateway, and the records it needs (the
/// host's ULA prefix, when this is the first network to take a /64 of it).
pub struct V6Definition {
    pub subnet6: IpNetwork,
    pub gateway6: Option<IpAddr>,
    pub records: Vec<Record>,
}

/// Choose and check the IPv6 subnet against the other networks. `with_gateway`: whether the
/// driver puts a gateway in the network when none is given (as it does for IPv4). Call with
/// the lock held.
pub fn define(
    facts: &dyn Facts,
    v6: &V6Args,
    others: &[Network],
    with_gateway: bool,
) -> Result<V6Definition> {
    let mut records = Vec::new();
    let subnet6 = match v6.subnet6 {
        Some(s) => {
            super::create::check_subnet_free(others, s)?;
            s
        }
        None => {
            let ula = match facts.ula()? {
                Some(p) => p,
                None => {
                    let p = random_ula();
                    records.push(Record::ClaimUla(p));
                    p
                }
            };
            let in_use: Vec<IpNetwork> = others.iter().flat_map(|o| o.subnets()).collect();
            ipam::choose_subnet6(ula, &in_use).ok_or_else(|| {
                Error::usage(format!(
                    "no free /64 left in this host's IPv6 prefix {ula}: give --subnet6"
                ))
            })?
        }
    };
    let gateway6 = v6
        .gateway6
        .or_else(|| with_gateway.then(|| ipam::first_host(subnet6)));
    Pool::new(subnet6, None, gateway6)?.check_leasable()?;
    Ok(V6Definition {
        subnet6,
        gateway6,
        records,
    })
}

/// A fresh unique local /48 (RFC 4193: fd00::/8 and 40 random bits).
fn random_ula() -> IpNetwork {
    let mut bits = [0u8; 5];
    if super::create::getrandom(&mut bits).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bits.copy_from_slice(&t.to_le_bytes()[..5]);
    }
    ula_of(bits)
}

fn ula_of(bits: [u8; 5]) -> IpNetwork {
    let mut octets = [0u8; 16];
    octets[0] = 0xfd;
    octets[1..6].copy_from_slice(&bits);
    IpNetwork::new(IpAddr::from(octets), 48).expect("a /48 is a valid prefix")
}

/// The interface steps of a dual-stack endpoint in its namespace, before its link goes up:
/// router advertisements ignored (cnet gives the address and the route), and the address added
/// without duplicate address detection (cnet leased it: nobody else has it), so it is usable at
/// once.
pub fn configure_interface(ns: &NsRef, ifname: &str, address6: IpNetwork, plan: &mut Plan) {
    plan.push(ignore_router_advertisements(ns.clone(), ifname));
    plan.push(Op::AddAddress {
        ns: ns.clone(),
        dev: ifname.to_string(),
        addr: address6,
    });
}

/// `net.ipv6.conf.DEV.accept_ra=0` in a namespace (in slashes when DEV has a dot, which the
/// dotted form would split).
pub fn ignore_router_advertisements(ns: NsRef, dev: &str) -> Op {
    conf_zero(ns, dev, "accept_ra")
}

/// `net.ipv6.conf.DEV.accept_dad=0`: the addresses the kernel gives DEV later (its link-local
/// one) are usable at once.
pub fn no_dad(ns: NsRef, dev: &str) -> Op {
    conf_zero(ns, dev, "accept_dad")
}

/// `net.ipv6.conf.DEV.disable_ipv6=0`: IPv6 back on a link.
pub fn enable_ipv6(ns: NsRef, dev: &str) -> Op {
    conf_zero(ns, dev, "disable_ipv6")
}

fn conf_zero(ns: NsRef, dev: &str, name: &str) -> Op {
    let key = if dev.contains('.') {
        format!("net/ipv6/conf/{dev}/{name}")
    } else {
        format!("net.ipv6.conf.{dev}.{name}")
    };
    Op::Sysctl {
        ns,
        key,
        value: "0".into(),
    }
}

/// The v6 gateway's address on a host-side device (the bridge), for a dual-stack network.
pub fn gateway_address(net: &Network) -> Option<IpNetwork> {
    let (subnet, gw) = (net.subnet6?, net.gateway6?);
    IpNetwork::new(gw, subnet.prefix()).ok()
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

    fn refused(extra: &[&str]) -> String {
        let e = parse(&args(extra)).expect_err("refused");
        assert_eq!(e.exit_code(), 2, "{e}");
        e.to_string()
    }

    #[test]
    fn ipv6_options_parse_and_an_ipv4_network_has_none() {
        assert_eq!(parse(&args(&[])).unwrap(), None);
        assert_eq!(
            parse(&args(&["--ipv6"])).unwrap(),
            Some(V6Args {
                subnet6: None,
                gateway6: None
            })
        );
        let v6 = parse(&args(&[
            "--ipv6",
            "--subnet6",
            "fd00:9::/64",
            "--gateway6",
            "fd00:9::fe",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(v6.subnet6, Some("fd00:9::/64".parse().unwrap()));
        assert_eq!(v6.gateway6, Some("fd00:9::fe".parse().unwrap()));
    }

    #[test]
    fn bad_combinations_are_refused_naming_what_is_wrong() {
        for (extra, msg) in [
            (&["--subnet6", "fd00:9::/64"][..], "--subnet6 needs --ipv6"),
            (&["--gateway6", "fd00:9::1"][..], "--gateway6 needs --ipv6"),
            (
                &["--ipv6", "--gateway6", "fd00:9::1"][..],
                "--gateway6 needs --subnet6",
            ),
            (
                &[
                    "--ipv6",
                    "--subnet6",
                    "fd00:9::/64",
                    "--gateway6",
                    "fd00:8::1",
                ],
                "gateway fd00:8::1 is outside subnet fd00:9::/64",
            ),
            (
                &["--ipv6", "--subnet6", "fd00:9::/121"],
                "subnet6 fd00:9::/121 is too small: an IPv6 network needs at least a /120",
            ),
            (
                &["--ipv6", "--subnet6", "10.1.0.0/24"],
                "subnet6 10.1.0.0/24 is not IPv6",
            ),
            (
                &["--ipv6", "--subnet6", "fd00:9::1/64"],
                "subnet6 fd00:9::1/64 has host bits set (did you mean fd00:9::/64?)",
            ),
        ] {
            assert_eq!(refused(extra), msg, "{extra:?}");
        }
        assert!(refused(&["--ipv6", "--subnet6", "fe80::/64"]).contains("link-local"));
        // A /120 is the smallest taken.
        parse(&args(&["--ipv6", "--subnet6", "fd00:9::/120"])).unwrap();
    }

    #[test]
    fn a_ula_prefix_is_fd_and_forty_bits() {
        assert_eq!(
            ula_of([0x12, 0x34, 0x56, 0x78, 0x9a]),
            "fd12:3456:789a::/48".parse::<IpNetwork>().unwrap()
        );
        let r = random_ula();
        assert_eq!(r.prefix(), 48);
        assert!(matches!(r.ip(), IpAddr::V6(a) if a.octets()[0] == 0xfd));
    }

    #[test]
    fn interface_steps_ignore_router_advertisements_and_skip_dad() {
        let mut plan = Plan::default();
        let ns = NsRef::Named("ns1".into());
        configure_interface(&ns, "eth0", "fd00:9::2/64".parse().unwrap(), &mut plan);
        assert_eq!(
            plan.to_string(),
            "ip netns exec ns1 sysctl -w net.ipv6.conf.eth0.accept_ra=0\n\
             ip -n ns1 -6 addr add fd00:9::2/64 dev eth0 nodad\n"
        );
    }
}
