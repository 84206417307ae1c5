//! `-o KEY=VALUE` driver options: the parsing every driver shares.

use crate::error::{Error, Result};
use crate::model::Driver;
use std::collections::BTreeMap;
use std::fmt::Display;

/// Docker's spellings of cnet's option names.
const DOCKER_SPELLINGS: [(&str, &str); 3] = [
    ("com.docker.network.driver.mtu", "mtu"),
    ("com.docker.network.bridge.name", "bridge_name"),
    ("com.docker.network.driver.overlay.vxlanid_list", "vni"),
];

/// The setting a key names: cnet's name for it, however it was spelled.
pub fn setting(key: &str) -> &str {
    DOCKER_SPELLINGS
        .iter()
        .find(|(docker, _)| *docker == key)
        .map_or(key, |(_, ours)| ours)
}

/// The options, split at their first '=', in the order given. A setting given twice (under
/// one spelling or two) must have the same value both times.
pub fn split(opts: &[String]) -> Result<Vec<(&str, &str)>> {
    let pairs: Vec<(&str, &str)> = opts
        .iter()
        .map(|o| {
            o.split_once('=')
                .ok_or_else(|| Error::usage(format!("option '{o}' is not KEY=VALUE")))
        })
        .collect::<Result<_>>()?;
    for (i, (k, v)) in pairs.iter().enumerate() {
        if let Some((k0, v0)) = pairs[..i]
            .iter()
            .find(|(k0, v0)| setting(k0) == setting(k) && v0 != v)
        {
            return Err(Error::usage(format!(
                "-o {k0}={v0} and -o {k}={v} disagree: give one of them"
            )));
        }
    }
    Ok(pairs)
}

/// The key a setting was given under, for messages (`mtu` when it was not given).
pub fn key_of<'a>(given: &'a BTreeMap<String, String>, wanted: &'a str) -> &'a str {
    given
        .keys()
        .find(|k| setting(k) == wanted)
        .map_or(wanted, String::as_str)
}

/// The value of a setting given as a flag, as an option (with the key it was given under),
/// or both: then they must agree.
pub fn flag_or_option<T: PartialEq + Display>(
    flag: &str,
    flag_value: Option<T>,
    option: Option<(&str, T)>,
) -> Result<Option<T>> {
    match (flag_value, option) {
        (Some(f), Some((key, o))) if f != o => Err(Error::usage(format!(
            "{flag} {f} and -o {key}={o} disagree: give one of them"
        ))),
        (Some(f), _) => Ok(Some(f)),
        (None, o) => Ok(o.map(|(_, v)| v)),
    }
}

/// `mtu=` and Docker's spelling of it.
pub fn is_mtu(key: &str) -> bool {
    setting(key) == "mtu"
}

/// A numeric option's value.
pub fn number(key: &str, value: &str) -> Result<u32> {
    value
        .parse()
        .map_err(|_| Error::usage(format!("option {key}: '{value}' is not a number")))
}

/// The error for an option the driver does not know, listing those it does.
pub fn unknown(key: &str, driver: Driver, known: &str) -> Error {
    Error::usage(format!(
        "unknown option '{key}' for driver {driver} (known: {known})"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn splits_at_the_first_equals_sign_and_refuses_bare_words() {
        let opts = strings(&["a=b=c", "mtu=1400"]);
        assert_eq!(split(&opts).unwrap(), [("a", "b=c"), ("mtu", "1400")]);
        let err = split(&["parent".to_string()]).unwrap_err().to_string();
        assert_eq!(err, "option 'parent' is not KEY=VALUE");
        assert!(number("mtu", "x").is_err());
        assert!(is_mtu("com.docker.network.driver.mtu"));
    }

    #[test]
    fn a_setting_given_twice_must_agree_whatever_its_spelling() {
        split(&strings(&["mtu=1400", "mtu=1400"])).unwrap();
        split(&strings(&["parent=eth0", "mtu=1400", "parent=eth0"])).unwrap();
        for (opts, needle) in [
            (
                ["parent=eth0", "parent=eth1"],
                "-o parent=eth0 and -o parent=eth1 disagree",
            ),
            (
                ["mtu=1500", "com.docker.network.driver.mtu=9000"],
                "-o mtu=1500 and -o com.docker.network.driver.mtu=9000 disagree",
            ),
            (
                ["com.docker.network.driver.overlay.vxlanid_list=6", "vni=5"],
                "vxlanid_list=6 and -o vni=5 disagree",
            ),
        ] {
            let e = split(&strings(&opts)).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().contains(needle), "{e}");
        }
    }

    /// Random option lists never panic the splitter; what it accepts splits back into the
    /// words given, with every setting at one value.
    #[test]
    fn fuzzed_options_never_panic_and_split_faithfully() {
        use crate::fuzz::Rng;
        let alphabet = [
            "=",
            "=",
            "mtu",
            "com.docker.network.driver.mtu",
            "parent",
            "eth0",
            "1500",
            "9000",
            "",
            " ",
            ".",
            "é",
            "\0",
        ];
        let mut rng = Rng::new(1500);
        for _ in 0..20_000 {
            let opts: Vec<String> = (0..rng.below(5))
                .map(|_| rng.string(&alphabet, 4))
                .collect();
            let Ok(pairs) = split(&opts) else { continue };
            assert_eq!(pairs.len(), opts.len());
            for ((k, v), o) in pairs.iter().zip(&opts) {
                assert!(!k.contains('='), "{o}");
                assert_eq!(&format!("{k}={v}"), o);
                for (k2, v2) in &pairs {
                    assert!(setting(k) != setting(k2) || v == v2, "{opts:?}");
                }
            }
        }
    }

    #[test]
    fn flag_and_option_must_agree() {
        assert_eq!(
            flag_or_option("--mtu", Some(1400), Some(("mtu", 1400))).unwrap(),
            Some(1400)
        );
        assert_eq!(
            flag_or_option("--parent", None, Some(("parent", "eth1"))).unwrap(),
            Some("eth1")
        );
        assert_eq!(
            flag_or_option::<u32>("--vni", Some(5), None).unwrap(),
            Some(5)
        );
        let e = flag_or_option("--vni", Some(5), Some(("vni", 6))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--vni 5 and -o vni=6 disagree: give one of them"
        );
        let given = BTreeMap::from([("com.docker.network.driver.mtu".into(), "9000".into())]);
        assert_eq!(key_of(&given, "mtu"), "com.docker.network.driver.mtu");
        assert_eq!(key_of(&given, "vni"), "vni");
    }
}
