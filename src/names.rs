//! Validation and derivation of names: networks, namespaces, interfaces, aliases, MACs.
//! Pure functions; every error names the offending value.

use crate::error::{Error, Result};
use std::path::PathBuf;

/// Where named network namespaces live (iproute2's convention).
pub fn netns_dir() -> PathBuf {
    PathBuf::from("/run/netns")
}

/// Where per-namespace `hosts` and `resolv.conf` live (iproute2's convention).
pub fn etc_netns_dir() -> PathBuf {
    PathBuf::from("/etc/netns")
}

/// Linux's interface name limit (IFNAMSIZ - 1).
pub const IFNAMSIZ_MAX: usize = 15;

fn check_word(kind: &str, name: &str, max: usize) -> Result<()> {
    if name.is_empty() {
        return Err(Error::usage(format!("{kind} name must not be empty")));
    }
    if name.len() > max {
        return Err(Error::usage(format!(
            "{kind} name '{name}' is too long ({} characters, at most {max})",
            name.len()
        )));
    }
    if name == "." || name == ".." {
        return Err(Error::usage(format!("{kind} name '{name}' is not allowed")));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(Error::usage(format!(
            "{kind} name '{name}' contains '{c}': use letters, digits, '-', '_' and '.'"
        )));
    }
    if name.starts_with('-') {
        return Err(Error::usage(format!(
            "{kind} name '{name}' must not start with '-'"
        )));
    }
    Ok(())
}

/// A name that becomes a file name must not start with '.': such files are hidden from
/// listings and `ls`-style tools, and `.`/`..` are not files of their own.
fn check_not_hidden(kind: &str, name: &str) -> Result<()> {
    if name.starts_with('.') {
        return Err(Error::usage(format!(
            "{kind} name '{name}' must not start with '.'"
        )));
    }
    Ok(())
}

/// A network name: also used as a file name and, prefixed, as a bridge name.
pub fn validate_network_name(name: &str) -> Result<()> {
    check_word("network", name, 64)?;
    check_not_hidden("network", name)
}

/// A namespace name under /run/netns.
pub fn validate_netns_name(name: &str) -> Result<()> {
    check_word("namespace", name, 64)?;
    check_not_hidden("namespace", name)
}

/// The names given once each, in the order first given (`ns rm x x` removes x once).
pub fn unique(names: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    names
        .iter()
        .filter(|n| seen.insert(n.as_str()))
        .cloned()
        .collect()
}

/// An interface name, as the kernel accepts it.
pub fn validate_ifname(name: &str) -> Result<()> {
    check_word("interface", name, IFNAMSIZ_MAX)
}

/// A host name alias, as it will appear in a hosts file.
pub fn validate_alias(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 253
        || name.starts_with(['-', '.'])
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
    {
        return Err(Error::usage(format!(
            "alias '{name}' is not a valid host name"
        )));
    }
    Ok(())
}

/// Parse `aa:bb:cc:dd:ee:ff`; refuse multicast addresses (bit 0 of the first octet).
pub fn parse_mac(s: &str) -> Result<[u8; 6]> {
    let bad = || {
        Error::usage(format!(
            "MAC address '{s}' is not of the form aa:bb:cc:dd:ee:ff"
        ))
    };
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (i, p) in parts.iter().enumerate() {
        if p.len() != 2 {
            return Err(bad());
        }
        mac[i] = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    if mac[0] & 1 == 1 {
        return Err(Error::usage(format!(
            "MAC address '{s}' is a multicast address"
        )));
    }
    if mac == [0; 6] {
        return Err(Error::usage(format!("MAC address '{s}' is all zeros")));
    }
    Ok(mac)
}

/// FNV-1a: a small stable hash for deriving names (not for security).
pub fn stable_hash(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    h
}

/// The bridge of a network: `cn-NAME` when it fits in 15 characters, else a stable
/// abbreviation `cn-PREFIX-HASH`. The default `bridge` network uses `cnet0`.
pub fn bridge_name(network: &str) -> String {
    if network == "bridge" {
        return "cnet0".into();
    }
    let full = format!("cn-{network}");
    if full.len() <= IFNAMSIZ_MAX {
        return full;
    }
    let h = stable_hash(&[network]) as u32;
    let prefix: String = network.chars().take(5).collect();
    format!("cn-{prefix}-{:06x}", h & 0xff_ffff)
}

/// The host end of an endpoint's veth: `cnv` + 8 hex digits, stable for the pair
/// (network, namespace), so a stale one can be found again.
pub fn host_veth_name(network: &str, netns_key: &str) -> String {
    format!("cnv{:08x}", stable_hash(&[network, netns_key]) as u32)
}

/// A locally administered unicast MAC derived from the given words.
pub fn derived_mac(parts: &[&str]) -> [u8; 6] {
    let h = stable_hash(parts).to_be_bytes();
    [(h[0] & 0xfe) | 0x02, h[1], h[2], h[3], h[4], h[5]]
}

/// Docker's scheme for container MACs: 02:42 followed by the IPv4 address (an IPv6 address's
/// last four bytes).
pub fn mac_from_ip(ip: std::net::IpAddr) -> [u8; 6] {
    let o = match ip {
        std::net::IpAddr::V4(a) => a.octets(),
        std::net::IpAddr::V6(a) => {
            let b = a.octets();
            [b[12], b[13], b[14], b[15]]
        }
    };
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_path_separators_dotdot_and_long_ifnames() {
        assert!(validate_network_name("a/b").is_err());
        assert!(validate_netns_name("..").is_err());
        assert!(validate_ifname("a-very-long-ifname").is_err());
        assert!(validate_network_name("lab-1_x.y").is_ok());
        let e = validate_network_name("a/b").unwrap_err().to_string();
        assert!(e.contains("'a/b'") && e.contains("'/'"), "{e}");
    }

    #[test]
    fn names_starting_with_a_dot_are_refused() {
        for (check, kind) in [
            (validate_network_name as fn(&str) -> Result<()>, "network"),
            (validate_netns_name, "namespace"),
        ] {
            let e = check(".hidden").unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert_eq!(
                e.to_string(),
                format!("{kind} name '.hidden' must not start with '.'")
            );
            check("not.hidden").unwrap();
        }
        assert!(validate_alias(".web").is_err());
        validate_alias("web.lab").unwrap();
    }

    #[test]
    fn unique_keeps_the_first_of_each_name_in_order() {
        let given: Vec<String> = ["b", "a", "b", "c", "a"].map(String::from).into();
        assert_eq!(unique(&given), ["b", "a", "c"]);
    }

    /// Random strings never panic a validator, and whatever is accepted is safe as a file
    /// name and an interface name.
    #[test]
    fn fuzzed_names_never_panic_and_accepted_ones_are_safe() {
        use crate::fuzz::{ANY_TEXT, Rng};
        let mut rng = Rng::new(20);
        let alphabet: Vec<&str> = ANY_TEXT.iter().copied().chain(["..", "cnet0"]).collect();
        let mut macs = 0;
        for _ in 0..20_000 {
            let s = rng.string(&alphabet, 20);
            for (ok, max) in [
                (validate_network_name(&s).is_ok(), 64),
                (validate_netns_name(&s).is_ok(), 64),
                (validate_ifname(&s).is_ok(), IFNAMSIZ_MAX),
                (validate_alias(&s).is_ok(), 253),
            ] {
                if ok {
                    assert!(!s.is_empty() && s.len() <= max, "{s:?}");
                    assert!(s != "." && s != ".." && !s.starts_with('-'), "{s:?}");
                    assert!(
                        s.bytes().all(|b| b.is_ascii_graphic() && b != b'/'),
                        "{s:?}"
                    );
                }
            }
            if validate_network_name(&s).is_ok() || validate_netns_name(&s).is_ok() {
                assert!(!s.starts_with(['.', '-']), "{s:?}");
            }
            // Mostly six groups of two characters, mostly hex digits: near misses of a MAC.
            let count = if rng.below(2) == 0 { 6 } else { rng.below(8) };
            let groups: Vec<String> = (0..count)
                .map(|_| {
                    let len = if rng.below(4) == 0 { rng.below(4) } else { 2 };
                    (0..len)
                        .map(|_| *rng.pick(&["0", "2", "a", "F", "e", "1", "g", "é"]))
                        .collect()
                })
                .collect();
            let mac = groups.join(*rng.pick(&[":", ":", "-", "::"]));
            for text in [s.as_str(), mac.as_str()] {
                if let Ok(m) = parse_mac(text) {
                    assert_eq!(crate::plan::format_mac(&m), text.to_ascii_lowercase());
                    assert_eq!(m[0] & 1, 0, "{text}");
                    macs += 1;
                }
            }
        }
        assert!(macs > 0, "no valid MAC was generated");
    }

    #[test]
    fn bridge_names_fit_ifnamsiz() {
        assert_eq!(bridge_name("lab"), "cn-lab");
        assert_eq!(bridge_name("bridge"), "cnet0");
        let long = bridge_name("a-really-long-network-name");
        assert!(long.len() <= 15, "{long}");
        assert_ne!(long, bridge_name("a-really-long-network-other"));
    }

    #[test]
    fn mac_parsing() {
        assert_eq!(
            parse_mac("02:42:0a:00:00:02").unwrap(),
            [2, 0x42, 10, 0, 0, 2]
        );
        assert!(parse_mac("01:00:5e:00:00:01").is_err());
        assert!(parse_mac("02:42:0a:00:00").is_err());
        assert!(parse_mac("zz:42:0a:00:00:00").is_err());
        let m = derived_mac(&["x"]);
        assert_eq!(m[0] & 0x03, 0x02);
    }
}
