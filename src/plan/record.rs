//! State records as plan steps: what cnet writes under its state directory, each step with its
//! precondition (a claim only if absent, a replacement only if unchanged) and its undo, so a
//! failed command takes its records back with its kernel work. A dry run prints them as
//! comments: they are cnet's memory, not something a shell script reproduces.

use crate::model::{Endpoint, Lease, LeaseState, NamespaceRecord, Network, PortClaim};
use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One change to the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Record {
    /// Write a network's definition; `previous` is what it replaces (None: a new network).
    PutNetwork {
        net: Box<Network>,
        previous: Option<Box<Network>>,
    },
    /// Forget a network's definition with its leases and endpoints. Its undo (a teardown whose
    /// later bookkeeping failed takes it back) writes the definition again: the endpoints were
    /// forgotten before, and released leases are only hints.
    DropNetwork {
        net: Box<Network>,
    },
    /// Write a lease. With no `previous` the address is claimed (only if nobody holds a lease
    /// file for it); otherwise the stored lease must still be `previous` (else NAK).
    PutLease {
        lease: Lease,
        previous: Option<Lease>,
    },
    /// Remove the lease file of an address (the undo of a claim).
    DropLease {
        lease: Lease,
    },
    PutEndpoint {
        endpoint: Box<Endpoint>,
        previous: Option<Box<Endpoint>>,
    },
    DropEndpoint {
        endpoint: Box<Endpoint>,
    },
    /// Hold the host ports of a published port, each exclusively.
    ClaimPorts(PortClaim),
    ReleasePorts(PortClaim),
    /// Remember that cnet created a namespace (so that `ns rm` may delete it).
    PutNamespace(NamespaceRecord),
    DropNamespace(NamespaceRecord),
    /// Record the host's IPv6 ULA /48, chosen by the first `--ipv6` network that needs it.
    ClaimUla(IpNetwork),
    DropUla(IpNetwork),
    /// Forget the endpoints another host, down, holds on a shared overlay (gc; not undone).
    ForgetHost {
        network: String,
        host: String,
    },
}

impl Record {
    /// The network whose state it changes, if one.
    pub fn network(&self) -> Option<&str> {
        match self {
            Record::PutNetwork { net, .. } | Record::DropNetwork { net } => Some(&net.name),
            Record::PutLease { lease, .. } | Record::DropLease { lease } => Some(&lease.network),
            Record::PutEndpoint { endpoint, .. } | Record::DropEndpoint { endpoint } => {
                Some(&endpoint.network)
            }
            _ => None,
        }
    }

    pub fn undo(&self) -> Option<Record> {
        Some(match self {
            Record::PutNetwork { net, previous } => match previous {
                Some(p) => Record::PutNetwork {
                    net: p.clone(),
                    previous: Some(net.clone()),
                },
                None => Record::DropNetwork { net: net.clone() },
            },
            Record::PutLease { lease, previous } => match previous {
                Some(p) => Record::PutLease {
                    lease: p.clone(),
                    previous: Some(lease.clone()),
                },
                None => Record::DropLease {
                    lease: lease.clone(),
                },
            },
            Record::DropLease { lease } => Record::PutLease {
                lease: lease.clone(),
                previous: None,
            },
            Record::PutEndpoint { endpoint, previous } => match previous {
                Some(p) => Record::PutEndpoint {
                    endpoint: p.clone(),
                    previous: Some(endpoint.clone()),
                },
                None => Record::DropEndpoint {
                    endpoint: endpoint.clone(),
                },
            },
            Record::DropEndpoint { endpoint } => Record::PutEndpoint {
                endpoint: endpoint.clone(),
                previous: None,
            },
            Record::ClaimPorts(c) => Record::ReleasePorts(c.clone()),
            Record::ReleasePorts(c) => Record::ClaimPorts(c.clone()),
            Record::PutNamespace(r) => Record::DropNamespace(r.clone()),
            Record::DropNamespace(r) => Record::PutNamespace(r.clone()),
            Record::ClaimUla(p) => Record::DropUla(*p),
            Record::DropUla(p) => Record::ClaimUla(*p),
            Record::DropNetwork { net } => Record::PutNetwork {
                net: net.clone(),
                previous: None,
            },
            Record::ForgetHost { .. } => return None,
        })
    }
}

impl fmt::Display for Record {
    /// A shell comment: what cnet records, and the DHCP step a lease change is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::PutNetwork { net, .. } => write!(f, "# record network {}", net.name),
            Record::DropNetwork { net } => write!(f, "# forget network {}", net.name),
            Record::PutLease { lease, .. } => {
                let step = match lease.state {
                    LeaseState::Offered => "OFFER",
                    LeaseState::Bound => "REQUEST -> ACK",
                    LeaseState::Released => "RELEASE",
                };
                write!(
                    f,
                    "# {step} {} to {} (lease on network {})",
                    lease.address, lease.client, lease.network
                )
            }
            Record::DropLease { lease } => write!(
                f,
                "# forget the lease of {} on network {}",
                lease.address, lease.network
            ),
            Record::PutEndpoint { endpoint, .. } => write!(
                f,
                "# record {} on network {}",
                endpoint.netns, endpoint.network
            ),
            Record::DropEndpoint { endpoint } => write!(
                f,
                "# forget {} on network {}",
                endpoint.netns, endpoint.network
            ),
            Record::ClaimPorts(c) => write!(f, "# claim host port {} for {}", c.mapping, c.netns),
            Record::ReleasePorts(c) => {
                write!(f, "# release host port {} of {}", c.mapping, c.netns)
            }
            Record::PutNamespace(r) => write!(f, "# record namespace {} as cnet's", r.name),
            Record::DropNamespace(r) => write!(f, "# forget namespace {}", r.name),
            Record::ClaimUla(p) => write!(f, "# record {p} as this host's IPv6 ULA prefix"),
            Record::DropUla(p) => write!(f, "# forget {p} as this host's IPv6 ULA prefix"),
            Record::ForgetHost { network, host } => {
                write!(
                    f,
                    "# forget the endpoints of host {host} on network {network}"
                )
            }
        }
    }
}
