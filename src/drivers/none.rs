//! The none driver: a namespace with only its loopback interface.

use super::AttachRequest;
use crate::plan::{Op, Plan};

pub fn plan_attach(req: &AttachRequest, plan: &mut Plan) {
    plan.push(Op::LinkUp {
        ns: req.target.ns.clone(),
        dev: "lo".into(),
    });
}
