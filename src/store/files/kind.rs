//! Which files under the state directory are records, and of what: names cnet could have
//! written, so that a stray or hidden file is reported rather than read or hidden.

use super::*;

/// What a listed directory holds, for checking the names of its files.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    Network,
    Endpoint,
    Lease,
    Namespace,
    PortClaim,
}

impl Kind {
    pub(super) fn noun(self) -> &'static str {
        match self {
            Kind::Network => "network",
            Kind::Endpoint => "endpoint",
            Kind::Lease => "lease",
            Kind::Namespace => "namespace",
            Kind::PortClaim => "port claim",
        }
    }

    /// Whether cnet could have written a file of this name (a leading '.' never: that is
    /// how temporary files start).
    pub(super) fn valid(self, stem: &str) -> bool {
        let word = |check: fn(&str) -> Result<()>| !stem.starts_with('.') && check(stem).is_ok();
        match self {
            Kind::Network => word(crate::names::validate_network_name),
            Kind::Namespace => word(crate::names::validate_netns_name),
            Kind::Endpoint => match stem.strip_prefix("@ino-") {
                Some(ino) => ino.parse::<u64>().is_ok(),
                None => word(crate::names::validate_netns_name),
            },
            Kind::Lease | Kind::PortClaim => stem.parse::<IpAddr>().is_ok(),
        }
    }
}
