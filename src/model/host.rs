//! What of the host a network definition builds on, as drivers read it.

use std::net::IpAddr;

/// What a parent interface is like, as far as carrying children goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentInfo {
    pub index: u32,
    pub up: bool,
    pub mtu: Option<u32>,
    /// An Ethernet device that is not a loopback: the only kind that can carry children.
    pub ethernet: bool,
}

/// The local end of a tunnel: the host's underlay address, its interface and that MTU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vtep {
    pub local: IpAddr,
    pub underlay: String,
    pub mtu: u32,
}
