//! The `-o` options of a macvlan/ipvlan network: ours and Docker's spellings.

use super::SHIM_OPTION;
use crate::drivers::options;
use crate::error::{Error, Result};
use crate::model::Driver;
use std::collections::BTreeMap;

/// `-o` options of a macvlan/ipvlan network, parsed.
#[derive(Debug, Default, PartialEq)]
pub struct Options {
    /// As given, for `inspect`.
    pub given: BTreeMap<String, String>,
    pub parent: Option<String>,
    pub mode: Option<String>,
    pub host_shim: bool,
    pub mtu: Option<u32>,
}

pub fn mode_key(driver: Driver) -> &'static str {
    match driver {
        Driver::Ipvlan => "ipvlan_mode",
        _ => "macvlan_mode",
    }
}

/// Our option names and Docker's.
pub fn parse_options(driver: Driver, opts: &[String]) -> Result<Options> {
    let mut parsed = Options::default();
    let known = match driver {
        Driver::Macvlan => "parent, macvlan_mode, host_shim, mtu",
        _ => "parent, ipvlan_mode, mtu",
    };
    for (k, v) in options::split(opts)? {
        match k {
            "parent" => parsed.parent = Some(v.to_string()),
            "macvlan_mode" | "ipvlan_mode" if k == mode_key(driver) => {
                parsed.mode = Some(v.to_string())
            }
            SHIM_OPTION if driver == Driver::Macvlan => {
                parsed.host_shim = match v {
                    "true" | "1" | "yes" | "on" => true,
                    "false" | "0" | "no" | "off" => false,
                    _ => {
                        return Err(Error::usage(format!(
                            "option {SHIM_OPTION}: '{v}' is not true or false"
                        )));
                    }
                }
            }
            k if options::is_mtu(k) => parsed.mtu = Some(options::number(k, v)?),
            _ => return Err(options::unknown(k, driver, known)),
        }
        parsed.given.insert(k.to_string(), v.to_string());
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(driver: Driver, o: &[&str]) -> Result<Options> {
        let v: Vec<String> = o.iter().map(|s| s.to_string()).collect();
        parse_options(driver, &v)
    }

    #[test]
    fn docker_spellings_are_accepted() {
        let o = opts(
            Driver::Macvlan,
            &[
                "parent=eth0",
                "macvlan_mode=private",
                "host_shim=yes",
                "mtu=1400",
            ],
        )
        .unwrap();
        assert_eq!(o.parent.as_deref(), Some("eth0"));
        assert_eq!(o.mode.as_deref(), Some("private"));
        assert!(o.host_shim);
        assert_eq!(o.mtu, Some(1400));
        let o = opts(Driver::Ipvlan, &["parent=eth0", "ipvlan_mode=l3"]).unwrap();
        assert_eq!(o.mode.as_deref(), Some("l3"));
    }

    #[test]
    fn options_of_the_other_driver_and_bad_values_are_refused() {
        for (d, o, needle) in [
            (
                Driver::Ipvlan,
                "macvlan_mode=bridge",
                "unknown option 'macvlan_mode'",
            ),
            (
                Driver::Macvlan,
                "ipvlan_mode=l2",
                "unknown option 'ipvlan_mode'",
            ),
            (
                Driver::Ipvlan,
                "host_shim=true",
                "unknown option 'host_shim'",
            ),
            (Driver::Macvlan, "host_shim=maybe", "not true or false"),
            (Driver::Macvlan, "parent", "not KEY=VALUE"),
            (Driver::Macvlan, "mtu=big", "not a number"),
        ] {
            let e = opts(d, &[o]).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().contains(needle), "{o}: {e}");
        }
    }
}
