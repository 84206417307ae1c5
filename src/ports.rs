//! Published ports (`cnet attach -p SPEC`): parsing the spec, showing a mapping the way
//! `docker ps` does, and deciding which mappings clash. Pure: no I/O.
//!
//! ```text
//! [HOSTIP:]HOSTPORT[-END]:PORT[-END][/tcp|udp|sctp]
//! 8080:80                  host port 8080, any host address -> port 80, tcp
//! 127.0.0.1:9090:80        only through 127.0.0.1
//! [fd00::1]:9090:80        only through that IPv6 address (to the namespace's IPv6 address)
//! 8000-8010:9000-9010/udp  a block of ports, 8000 -> 9000, 8001 -> 9001, ...
//! ```
//!
//! cnet does not choose host ports: a spec without a host port (Docker's `-p 80`) is refused.

use crate::error::{Error, Result};
use crate::model::PortMapping;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The protocols a port can be published for.
pub const PROTOCOLS: [&str; 3] = ["tcp", "udp", "sctp"];

fn bad(spec: &str, why: impl fmt::Display) -> Error {
    Error::usage(format!("-p '{spec}': {why}"))
}

/// `N` or `N-M`, each 1-65535, N <= M.
fn parse_range(spec: &str, what: &str, s: &str) -> Result<(u16, u16)> {
    let port = |p: &str| -> Result<u16> {
        if p.is_empty() {
            return Err(bad(spec, format!("the {what} port is missing")));
        }
        if !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(
                spec,
                format!("{what} port '{p}' is not a number (1-65535)"),
            ));
        }
        match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(bad(
                spec,
                format!("{what} port {p} is out of range (1-65535)"),
            )),
        }
    };
    match s.split_once('-') {
        None => {
            let p = port(s)?;
            Ok((p, p))
        }
        Some((a, b)) => {
            let (a, b) = (port(a)?, port(b)?);
            if a > b {
                return Err(bad(
                    spec,
                    format!("{what} port range {a}-{b} runs backwards"),
                ));
            }
            Ok((a, b))
        }
    }
}

/// `IPV4` or `[IPV6]`. `0.0.0.0` and `[::]` mean every address, of both families.
fn parse_host_ip(spec: &str, s: &str) -> Result<Option<IpAddr>> {
    let ip: IpAddr = match s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        Some(v6) => v6
            .parse::<Ipv6Addr>()
            .map(IpAddr::V6)
            .map_err(|_| bad(spec, format!("host address '{v6}' is not an IPv6 address")))?,
        None => s.parse::<Ipv4Addr>().map(IpAddr::V4).map_err(|_| {
            bad(
                spec,
                format!("host address '{s}' is not an IPv4 address (write IPv6 as [ADDR])"),
            )
        })?,
    };
    if ip.is_unspecified() {
        return Ok(None);
    }
    // The kernel never routes a packet from or to ::1 off the loopback device (IPv6 has no
    // route_localnet), so a DNAT from [::1] could not reach any namespace.
    if ip == IpAddr::V6(Ipv6Addr::LOCALHOST) {
        return Err(bad(
            spec,
            "[::1] cannot be published to (the kernel keeps IPv6 loopback traffic on lo); use 127.0.0.1 or another IPv6 address",
        ));
    }
    let v4_bad = |a: &Ipv4Addr| a.is_multicast() || a.is_broadcast();
    if match ip {
        IpAddr::V4(a) => v4_bad(&a),
        IpAddr::V6(a) => a.is_multicast(),
    } {
        return Err(bad(
            spec,
            format!("{ip} cannot be a host address to publish on"),
        ));
    }
    Ok(Some(ip))
}

/// Parse one `-p` spec. Errors are usage errors (exit 2) quoting the spec.
pub fn parse(spec: &str) -> Result<PortMapping> {
    let (ports, protocol) = match spec.rsplit_once('/') {
        Some((p, proto)) => {
            let proto = proto.to_ascii_lowercase();
            if !PROTOCOLS.contains(&proto.as_str()) {
                return Err(bad(
                    spec,
                    format!("unknown protocol '{proto}' (expected tcp, udp or sctp)"),
                ));
            }
            (p, proto)
        }
        None => (spec, "tcp".to_string()),
    };
    // `[IPV6]:` in front: the brackets keep its colons apart from the ports'.
    let (bracketed, ports) = match ports.strip_prefix('[') {
        Some(rest) => match rest.split_once("]:") {
            Some((ip, rest)) => (Some(format!("[{ip}]")), rest),
            None => {
                return Err(bad(
                    spec,
                    "expected [HOSTIP:]HOSTPORT:PORT[/PROTO], an IPv6 HOSTIP in brackets",
                ));
            }
        },
        None => (None, ports),
    };
    if ports.matches(':').count() > 2 || (bracketed.is_some() && ports.matches(':').count() != 1) {
        return Err(bad(
            spec,
            "expected [HOSTIP:]HOSTPORT:PORT[/PROTO] (an IPv6 HOSTIP in brackets: [::1]:8080:80)",
        ));
    }
    let parts: Vec<&str> = ports.split(':').collect();
    let (host_ip, host, container) = match (bracketed, parts.as_slice()) {
        (None, [_]) => {
            return Err(bad(
                spec,
                "give the host port too, as HOSTPORT:PORT (cnet does not choose host ports)",
            ));
        }
        (None, [h, c]) => (None, *h, *c),
        (None, [ip, h, c]) => (parse_host_ip(spec, ip)?, *h, *c),
        (Some(ip), [h, c]) => (parse_host_ip(spec, &ip)?, *h, *c),
        _ => unreachable!("the colons were counted"),
    };
    if host.is_empty() {
        return Err(bad(
            spec,
            "the host port is missing (cnet does not choose host ports)",
        ));
    }
    let (hp, hpe) = parse_range(spec, "host", host)?;
    let (cp, cpe) = parse_range(spec, "container", container)?;
    if hpe - hp != cpe - cp {
        return Err(bad(
            spec,
            format!(
                "the host range has {} ports and the container range {}: they must be the same length",
                u32::from(hpe - hp) + 1,
                u32::from(cpe - cp) + 1
            ),
        ));
    }
    Ok(PortMapping {
        host_ip,
        host_port: hp,
        host_port_end: hpe,
        container_port: cp,
        container_port_end: cpe,
        protocol,
    })
}

/// The most host ports one attach publishes: each is an element of cnet's nftables maps, and
/// an attach adds them in one netlink message (`firewall::nft` sends at most this many
/// elements per message, well within its 64 KiB attribute limit).
pub const MAX_PORTS_PER_ATTACH: u32 = 1024;

/// How many host ports the mappings publish.
fn port_count(mappings: &[PortMapping]) -> u32 {
    mappings
        .iter()
        .map(|m| u32::from(m.host_port_end - m.host_port) + 1)
        .sum()
}

/// Parse every `-p` of one attach and refuse two that claim a common host port, or more host
/// ports than one attach may publish.
pub fn parse_all(specs: &[String]) -> Result<Vec<PortMapping>> {
    let out = parse_each(specs)?;
    let count = port_count(&out);
    if count > MAX_PORTS_PER_ATTACH {
        return Err(Error::usage(format!(
            "-p publishes {count} ports: at most {MAX_PORTS_PER_ATTACH} per attach"
        )));
    }
    Ok(out)
}

fn parse_each(specs: &[String]) -> Result<Vec<PortMapping>> {
    let mut out: Vec<PortMapping> = Vec::with_capacity(specs.len());
    for spec in specs {
        let m = parse(spec)?;
        if let Some(other) = out.iter().find(|o| clash(o, &m)) {
            return Err(bad(
                spec,
                format!("host port clashes with -p {other} of the same command"),
            ));
        }
        out.push(m);
    }
    Ok(out)
}

/// Whether two mappings claim a common host port of one protocol on a common host address
/// (a mapping on every address clashes with one on any single address: whichever rule came
/// first would take the traffic).
pub fn clash(a: &PortMapping, b: &PortMapping) -> bool {
    a.protocol == b.protocol
        && a.host_port <= b.host_port_end
        && b.host_port <= a.host_port_end
        && (a.host_ip.is_none() || b.host_ip.is_none() || a.host_ip == b.host_ip)
}

/// The host ports of a mapping.
pub fn host_ports(m: &PortMapping) -> std::ops::RangeInclusive<u16> {
    m.host_port..=m.host_port_end
}

/// The host address as shown: `0.0.0.0` for every address, IPv6 in brackets (`[::1]`).
pub fn host_ip_text(m: &PortMapping) -> String {
    match m.host_ip {
        Some(IpAddr::V6(a)) => format!("[{a}]"),
        ip => ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)).to_string(),
    }
}

fn range_text(a: u16, b: u16) -> String {
    if a == b {
        a.to_string()
    } else {
        format!("{a}-{b}")
    }
}

impl fmt::Display for PortMapping {
    /// As `docker ps` shows it: `0.0.0.0:8080->80/tcp`, `127.0.0.1:8000-8010->9000-9010/udp`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}->{}/{}",
            host_ip_text(self),
            range_text(self.host_port, self.host_port_end),
            range_text(self.container_port, self.container_port_end),
            self.protocol
        )
    }
}

#[cfg(test)]
mod tests;
