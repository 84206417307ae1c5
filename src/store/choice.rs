//! Which store a command uses: `--store` (or `CNET_STORE`), else `store = "..."` in the
//! configuration file, else this host's files. Only the etcd store ever starts a runtime or
//! connects: a command on the local files reads at most one small file more.

use crate::error::{Error, Result};
use std::path::PathBuf;

/// The configuration file, unless `CNET_CONFIG` names another.
pub const DEFAULT_CONFIG: &str = "/etc/cnet/config.toml";

/// Where shared state is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// This host's state directory only.
    Files,
    /// etcd at these endpoints (`http://HOST:PORT`), overlays shared through it.
    Etcd(Vec<String>),
}

/// `/etc/cnet/config.toml`: every key is optional.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    store: Option<String>,
}

/// The store asked for: the option (or its variable) first, then the configuration file.
pub fn choose(given: Option<&str>) -> Result<StoreChoice> {
    if let Some(spec) = given {
        return parse(spec, "--store");
    }
    let path = std::env::var_os("CNET_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(StoreChoice::Files),
        Err(e) => return Err(Error::io(path.display().to_string(), e)),
    };
    let config: Config = toml::from_str(&text).map_err(|e| Error::State {
        path: path.display().to_string(),
        msg: e.message().to_string(),
    })?;
    match config.store {
        Some(spec) => parse(&spec, &format!("store in {}", path.display())),
        None => Ok(StoreChoice::Files),
    }
}

/// `etcd://HOST:PORT[,HOST:PORT...]`, or `files` for the local state directory.
pub fn parse(spec: &str, what: &str) -> Result<StoreChoice> {
    if spec == "files" || spec.is_empty() {
        return Ok(StoreChoice::Files);
    }
    let Some(list) = spec.strip_prefix("etcd://") else {
        return Err(Error::usage(format!(
            "{what} '{spec}' is not etcd://HOST:PORT[,HOST:PORT...] or files"
        )));
    };
    let mut endpoints = Vec::new();
    for ep in list.split(',') {
        let (host, port) = ep.rsplit_once(':').ok_or_else(|| {
            Error::usage(format!("{what}: '{ep}' is not HOST:PORT (etcd's is 2379)"))
        })?;
        let port_ok = port.parse::<u16>().is_ok_and(|p| p != 0);
        let host_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
        if !port_ok || !host_ok {
            return Err(Error::usage(format!("{what}: '{ep}' is not HOST:PORT")));
        }
        endpoints.push(format!("http://{ep}"));
    }
    Ok(StoreChoice::Etcd(endpoints))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_endpoints_are_listed_and_bad_ones_named() {
        assert_eq!(
            parse("etcd://192.0.2.9:2379,etcd1:2379", "--store").unwrap(),
            StoreChoice::Etcd(vec![
                "http://192.0.2.9:2379".into(),
                "http://etcd1:2379".into()
            ])
        );
        assert_eq!(parse("files", "--store").unwrap(), StoreChoice::Files);
        for (bad, needle) in [
            ("consul://x:1", "not etcd://"),
            ("etcd://x", "'x' is not HOST:PORT"),
            ("etcd://x:0", "'x:0'"),
            ("etcd://a:1,", "'' is not HOST:PORT"),
            ("etcd://a b:1", "'a b:1'"),
        ] {
            let e = parse(bad, "--store").unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.to_string().contains(needle), "{bad}: {e}");
        }
    }
}
