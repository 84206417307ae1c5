//! The none driver: a namespace with only its loopback interface.

use super::{AttachRequest, Definition, Facts, NetworkDriver};
use crate::cli::CreateArgs;
use crate::error::Result;
use crate::firewall::FirewallFacts;
use crate::model::{Driver, Endpoint, Network};
use crate::plan::{Op, Plan};

/// The none driver, as [`super::of`] hands it out.
pub struct NoneDriver;
pub static DRIVER: NoneDriver = NoneDriver;

impl NetworkDriver for NoneDriver {
    fn define(&self, _: &dyn Facts, _: &CreateArgs) -> Result<Definition> {
        Err(super::host::only_predefined(Driver::None))
    }
    fn plan_create(&self, _: &Network, _: &FirewallFacts) -> Result<Plan> {
        Ok(Plan::default())
    }
    fn plan_remove(&self, _: &Network, _: &FirewallFacts) -> Plan {
        Plan::default()
    }
    fn plan_attach(&self, req: &AttachRequest, plan: &mut Plan) -> Result<()> {
        plan_attach(req, plan);
        Ok(())
    }
    /// The namespace keeps its loopback: nothing was added to it.
    fn plan_detach(&self, _: &Endpoint) -> Plan {
        Plan::default()
    }
}

pub fn plan_attach(req: &AttachRequest, plan: &mut Plan) {
    plan.push(Op::LinkUp {
        ns: req.target.ns.clone(),
        dev: "lo".into(),
    });
}
