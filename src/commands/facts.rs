//! What drivers read to define a network, from the state and the host of a command.

use super::{Ctx, net};
use crate::drivers::{Facts, ParentInfo, Vtep};
use crate::error::Result;
use crate::kernel;
use crate::model::{Network, SublinkKind};
use crate::plan::NsRef;
use crate::store::Guard;
use ipnetwork::IpNetwork;
use std::net::IpAddr;

impl Facts for Ctx {
    fn dry_run(&self) -> bool {
        Ctx::dry_run(self)
    }
    fn say(&self, msg: &str) {
        Ctx::say(self, msg)
    }
    fn require_root(&self) -> Result<()> {
        Ctx::require_root(self)
    }
    fn lock(&self) -> Result<Option<Guard>> {
        Ctx::lock(self)
    }
    fn networks(&self) -> Result<Vec<Network>> {
        self.store.networks()
    }
    fn network_exists(&self, name: &str) -> Result<bool> {
        Ok(net::is_predefined(name) || self.store.network(name)?.is_some())
    }
    fn bridge_user(&self, bridge: &str) -> Result<Option<String>> {
        Ok(net::all(self)?
            .into_iter()
            .find(|o| o.bridge.as_deref() == Some(bridge))
            .map(|o| o.name))
    }
    fn host_routes(&self) -> Result<Vec<IpNetwork>> {
        Ctx::host_routes(self)
    }
    fn link_exists(&self, ns: &NsRef, name: &str) -> Result<bool> {
        Ctx::link_exists(self, ns, name)
    }
    fn parent_info(&self, name: &str) -> Result<Option<ParentInfo>> {
        kernel::sublink::parent_info(name)
    }
    fn find_vtep(&self, local: Option<IpAddr>, underlay: Option<String>) -> Result<Vtep> {
        kernel::vxlan::find_vtep(local, underlay)
    }
    fn probe_sublink(&self, kind: SublinkKind) -> Result<()> {
        kernel::sublink::probe(kind)
    }
    fn free_subnet(&self) -> Result<IpNetwork> {
        net::free_user_subnet(self)
    }
    fn boot_id(&self) -> String {
        kernel::boot_id()
    }
    fn ula(&self) -> Result<Option<IpNetwork>> {
        self.store.ula()
    }
    fn store(&self) -> &dyn crate::store::Store {
        &*self.store
    }
    fn default_route_link(&self) -> Result<Option<String>> {
        kernel::vxlan::default_route_link()
    }
}
