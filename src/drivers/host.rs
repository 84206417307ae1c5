//! The host driver: the namespace *is* the host's own network namespace. Attaching binds the
//! name to it (so `exec-in-ns` runs in the host's network stack); nothing else is created.

use super::AttachRequest;
use crate::error::{Error, Result};
use crate::model::Endpoint;
use crate::plan::{Op, Plan};

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
