//! The host driver: the namespace *is* the host's own network namespace. Attaching binds the
//! name to it (so `exec-in-ns` runs in the host's network stack); nothing else is created.

use super::{AttachRequest, Definition, Facts, NetworkDriver};
use crate::cli::CreateArgs;
use crate::error::{Error, Result};
use crate::firewall::FirewallFacts;
use crate::model::{Driver, Endpoint, Network};
use crate::plan::{Op, Plan};

/// The host driver, as [`super::of`] hands it out.
pub struct HostDriver;
pub static DRIVER: HostDriver = HostDriver;

impl NetworkDriver for HostDriver {
    fn define(&self, _: &dyn Facts, _: &CreateArgs) -> Result<Definition> {
        Err(only_predefined(Driver::Host))
    }
    fn plan_create(&self, _: &Network, _: &FirewallFacts) -> Result<Plan> {
        Ok(Plan::default())
    }
    fn plan_remove(&self, _: &Network, _: &FirewallFacts) -> Plan {
        Plan::default()
    }
    fn plan_attach(&self, req: &AttachRequest, plan: &mut Plan) -> Result<()> {
        plan_attach(req, plan)
    }
    fn plan_detach(&self, ep: &Endpoint) -> Plan {
        plan_detach(ep)
    }
}

/// The refusal of `net create -d host|none`: there is one network of each, predefined.
pub fn only_predefined(driver: Driver) -> Error {
    Error::usage(format!(
        "only one {driver} network may exist: use the predefined '{driver}' network"
    ))
}

pub fn plan_attach(req: &AttachRequest, plan: &mut Plan) -> Result<()> {
    let t = req.target;
    let name = t.name.clone().ok_or_else(|| {
        Error::usage(format!(
            "the host network takes a namespace name, not a path ({})",
            t.given
        ))
    })?;
    if t.exists {
        return Err(Error::usage(format!(
            "namespace {name} already exists and is not the host's namespace: \
             the host network takes a new name"
        )));
    }
    plan.push(Op::BindHostNetns { name });
    Ok(())
}

pub fn plan_detach(ep: &Endpoint) -> Plan {
    let mut plan = Plan::default();
    plan.push(Op::DeleteNetns {
        name: ep.netns.clone(),
    });
    plan
}
