//! Transaction ids of the sets of `table inet cnet` inside the batch that creates them (rules
//! and elements of the same batch refer to them).

pub(super) const SET_ID_BRIDGES: u32 = 1;
pub(super) const SET_ID_INTERNAL: u32 = 2;
pub(super) const SET_ID_WITHIN: u32 = 3;
pub(super) const SET_ID_SUBNETS4: u32 = 4;
pub(super) const SET_ID_ANY: u32 = 5;
pub(super) const SET_ID_IP: u32 = 6;
pub(super) const SET_ID_GUARDED: u32 = 7;
pub(super) const SET_ID_PEERS: u32 = 8;
pub(super) const SET_ID_SUBNETS6: u32 = 9;
pub(super) const SET_ID_ANY6: u32 = 10;
pub(super) const SET_ID_IP6: u32 = 11;
