//! `-o KEY=VALUE` driver options: the parsing every driver shares.

use crate::error::{Error, Result};
use crate::model::Driver;

/// The options, split at their first '=', in the order given.
pub fn split(opts: &[String]) -> Result<Vec<(&str, &str)>> {
    opts.iter()
        .map(|o| {
            o.split_once('=')
                .ok_or_else(|| Error::usage(format!("option '{o}' is not KEY=VALUE")))
        })
        .collect()
}

/// `mtu=` and Docker's spelling of it.
pub fn is_mtu(key: &str) -> bool {
    matches!(key, "mtu" | "com.docker.network.driver.mtu")
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

    #[test]
    fn splits_at_the_first_equals_sign_and_refuses_bare_words() {
        let opts = vec!["a=b=c".to_string(), "mtu=1400".to_string()];
        assert_eq!(split(&opts).unwrap(), [("a", "b=c"), ("mtu", "1400")]);
        let err = split(&["parent".to_string()]).unwrap_err().to_string();
        assert_eq!(err, "option 'parent' is not KEY=VALUE");
        assert!(number("mtu", "x").is_err());
        assert!(is_mtu("com.docker.network.driver.mtu"));
    }
}
