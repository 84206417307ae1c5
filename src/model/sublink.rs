//! The child links of the macvlan and ipvlan drivers: their kind and mode, as recorded in a
//! network's definition and carried by `Op::CreateSublink`.

use super::{Driver, Network};
use crate::error::{Error, Result};
use serde::Serialize;
use std::fmt;

/// The kind of child link, with its mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SublinkKind {
    Macvlan(MacvlanMode),
    Ipvlan(IpvlanMode),
}

impl SublinkKind {
    /// The kind of a network's children (its recorded mode, or the driver's default).
    pub fn of(net: &Network) -> Result<SublinkKind> {
        let mode = net.mode.as_deref();
        match net.driver {
            Driver::Macvlan => Ok(SublinkKind::Macvlan(
                mode.map(MacvlanMode::parse)
                    .transpose()?
                    .unwrap_or_default(),
            )),
            Driver::Ipvlan => Ok(SublinkKind::Ipvlan(
                mode.map(IpvlanMode::parse).transpose()?.unwrap_or_default(),
            )),
            other => Err(Error::runtime(format!(
                "internal error: {other} networks have no child links"
            ))),
        }
    }

    /// The link kind, as `ip link add ... type KIND` and the kernel name it.
    pub fn kind_name(self) -> &'static str {
        match self {
            SublinkKind::Macvlan(_) => "macvlan",
            SublinkKind::Ipvlan(_) => "ipvlan",
        }
    }

    /// Whether the namespaces' default route is a device route (ipvlan l3/l3s: no gateway).
    pub fn device_default_route(self) -> bool {
        matches!(self, SublinkKind::Ipvlan(m) if !m.has_gateway())
    }
}

impl fmt::Display for SublinkKind {
    /// The tail of the equivalent `ip link add` command: `type macvlan mode bridge`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SublinkKind::Macvlan(m) => write!(f, "type macvlan mode {m}"),
            SublinkKind::Ipvlan(m) => write!(f, "type ipvlan mode {m}"),
        }
    }
}

/// `ip link add ... type macvlan mode MODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MacvlanMode {
    /// Children reach each other directly, inside the kernel (Docker's default).
    #[default]
    Bridge,
    /// Children cannot reach each other at all, even through the external switch.
    Private,
    /// Traffic between children goes out to the external switch and back (needs a switch
    /// that does hairpin / reflective relay).
    Vepa,
    /// One child only, which takes the parent over.
    Passthru,
}

impl MacvlanMode {
    pub const ALL: [MacvlanMode; 4] = [
        MacvlanMode::Bridge,
        MacvlanMode::Private,
        MacvlanMode::Vepa,
        MacvlanMode::Passthru,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MacvlanMode::Bridge => "bridge",
            MacvlanMode::Private => "private",
            MacvlanMode::Vepa => "vepa",
            MacvlanMode::Passthru => "passthru",
        }
    }

    /// A mode as the user spelled it (`--mode` or `-o macvlan_mode=`).
    pub fn parse(s: &str) -> Result<MacvlanMode> {
        MacvlanMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                Error::usage(format!(
                    "macvlan mode '{s}' is not one of bridge, private, vepa, passthru"
                ))
            })
    }
}

impl fmt::Display for MacvlanMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `ip link add ... type ipvlan mode MODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum IpvlanMode {
    /// Children are on the parent's layer-2 segment (Docker's default).
    #[default]
    L2,
    /// The parent routes for the children; no broadcast, no ARP from them.
    L3,
    /// l3, with the host's netfilter seeing the children's traffic.
    L3s,
}

impl IpvlanMode {
    pub const ALL: [IpvlanMode; 3] = [IpvlanMode::L2, IpvlanMode::L3, IpvlanMode::L3s];

    pub fn as_str(self) -> &'static str {
        match self {
            IpvlanMode::L2 => "l2",
            IpvlanMode::L3 => "l3",
            IpvlanMode::L3s => "l3s",
        }
    }

    /// A mode as the user spelled it (`--mode` or `-o ipvlan_mode=`).
    pub fn parse(s: &str) -> Result<IpvlanMode> {
        IpvlanMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| Error::usage(format!("ipvlan mode '{s}' is not one of l2, l3, l3s")))
    }

    /// Whether children in this mode route through a gateway (l2) or through their device
    /// (l3, l3s: the kernel routes for them, and a gateway would be unreachable by ARP).
    pub fn has_gateway(self) -> bool {
        self == IpvlanMode::L2
    }
}

impl fmt::Display for IpvlanMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
