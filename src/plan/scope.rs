//! Where each step runs: the executor batches netlink requests inside one namespace, and a
//! removal inside a namespace that is gone has nothing left to remove. Matched exhaustively,
//! so a new step has to say where it runs.

use super::{NsRef, Op};

impl Op {
    /// The namespace other than the host's whose own objects this step changes, if any.
    pub fn inside(&self) -> Option<&NsRef> {
        let ns = match self {
            Op::LinkUp { ns, .. }
            | Op::DeleteLink { ns, .. }
            | Op::AddAddress { ns, .. }
            | Op::DelAddress { ns, .. }
            | Op::AddRoute { ns, .. }
            | Op::DelRoute { ns, .. }
            | Op::Sysctl { ns, .. }
            | Op::NoIpv6Autoconf { ns, .. } => ns,
            // These make or remove the namespace's link from the host's side, or are not about
            // a namespace's objects at all: they run whatever the namespace's state.
            Op::CreateNetns { .. }
            | Op::BindHostNetns { .. }
            | Op::AttachNetns { .. }
            | Op::DeleteNetns { .. }
            | Op::CreateBridge { .. }
            | Op::CreateVeth { .. }
            | Op::IsolatePort { .. }
            | Op::RetireVeth { .. }
            | Op::DisableIpv6 { .. }
            | Op::CreateBase { .. }
            | Op::RemoveBase
            | Op::DropTable
            | Op::AddNetwork { .. }
            | Op::RemoveNetwork { .. }
            | Op::ReplaceTable { .. }
            | Op::AppendRule(_)
            | Op::DeleteRule(_)
            | Op::AppendRules(_)
            | Op::DeleteRules(_)
            | Op::PublishPorts(_)
            | Op::UnpublishPorts(_)
            | Op::AllowTunnel(_)
            | Op::DisallowTunnel(_)
            | Op::CreateVxlan { .. }
            | Op::AppendFdb { .. }
            | Op::DelFdb { .. }
            | Op::AddForward(_)
            | Op::DelForward(_)
            | Op::CreateSublink { .. }
            | Op::Record(_)
            | Op::File(_) => return None,
        };
        (*ns != NsRef::Host).then_some(ns)
    }

    /// The namespace of a request an attach may send with others in one pipelined batch:
    /// those whose failure is reported per request (a whitelist: anything else goes alone).
    pub fn pipelined_in(&self) -> Option<&NsRef> {
        let batchable = matches!(
            self,
            Op::LinkUp { .. }
                | Op::NoIpv6Autoconf { .. }
                | Op::AddAddress { .. }
                | Op::AddRoute { .. }
        );
        self.inside().filter(|_| batchable)
    }
}

impl crate::model::Endpoint {
    /// The namespace the endpoint lives in, as the executor opens it.
    pub fn ns_ref(&self) -> NsRef {
        if self.netns.contains('/') {
            NsRef::Path(self.netns_path.clone())
        } else {
            NsRef::Named(self.netns.clone())
        }
    }
}
