//! The ownership mark (IFLA_IFALIAS `cnet:NETWORK`) of each link a plan creates.

use super::{MARK_PREFIX, Op, Plan, Record};

impl Plan {
    /// The mark the links this plan creates carry (IFLA_IFALIAS): `cnet:NETWORK`, the network
    /// named by the plan's records.
    pub fn link_mark(&self) -> String {
        Self::mark_in(&self.ops)
    }

    /// The mark of the link step `i` creates: the network of the first record after it (an
    /// attach to an overlay also makes the namespace's leg on the gateway bridge, recorded
    /// after its own steps), else the plan's.
    pub fn link_mark_at(&self, i: usize) -> String {
        let after = &self.ops[(i + 1).min(self.ops.len())..];
        match Self::network_in(after) {
            Some(_) => Self::mark_in(after),
            None => self.link_mark(),
        }
    }

    fn network_in(ops: &[Op]) -> Option<&str> {
        ops.iter().find_map(|op| match op {
            Op::Record(Record::PutNetwork { net, .. }) => Some(net.name.as_str()),
            Op::Record(Record::PutEndpoint { endpoint, .. }) => Some(endpoint.network.as_str()),
            Op::Record(Record::PutLease { lease, .. }) => Some(lease.network.as_str()),
            _ => None,
        })
    }

    fn mark_in(ops: &[Op]) -> String {
        match Self::network_in(ops) {
            Some(n) => format!("{MARK_PREFIX}{n}"),
            None => MARK_PREFIX.trim_end_matches(':').to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Network;

    fn bridge_then_record(name: &str) -> [Op; 2] {
        [
            Op::CreateBridge {
                name: format!("cn-{name}"),
                mac: [2, 0, 0, 0, 0, 1],
                mtu: None,
            },
            Op::Record(Record::PutNetwork {
                net: Box::new(Network {
                    name: name.into(),
                    ..Default::default()
                }),
                previous: None,
            }),
        ]
    }

    #[test]
    fn each_link_carries_the_mark_of_the_network_recorded_next() {
        let mut plan = Plan::default();
        plan.extend(bridge_then_record("ov"));
        plan.extend(bridge_then_record("cnet_gwbridge"));
        assert_eq!(plan.link_mark(), "cnet:ov");
        assert_eq!(plan.link_mark_at(0), "cnet:ov");
        assert_eq!(plan.link_mark_at(2), "cnet:cnet_gwbridge");
        let text = plan.to_string();
        assert!(text.contains("ip link set cn-ov alias cnet:ov\n"), "{text}");
        assert!(
            text.contains("ip link set cn-cnet_gwbridge alias cnet:cnet_gwbridge\n"),
            "{text}"
        );
    }
}
