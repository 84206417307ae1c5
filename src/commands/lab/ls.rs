//! `cnet lab ls FILE`: the instructor's table, one row per attachment the file declares.

use super::recorded;
use crate::commands::Ctx;
use crate::error::Result;
use crate::model::Endpoint;
use crate::output::print_list;
use crate::topology::{Existing, Topology};
use serde::Serialize;

#[derive(Debug, Serialize, PartialEq)]
pub(super) struct Row {
    namespace: String,
    network: String,
    /// Whether the attachment exists now; the other fields are empty when it does not.
    attached: bool,
    interface: Option<String>,
    address: Option<String>,
    mac: Option<String>,
    default_route: bool,
    ports: Vec<String>,
}

pub(super) fn run(ctx: &Ctx, topo: &Topology) -> Result<()> {
    let rows = rows(topo, &recorded(ctx)?);
    print_list(
        ctx.global.format(),
        &[
            "NAMESPACE",
            "NETWORK",
            "INTERFACE",
            "ADDRESS",
            "MAC",
            "DEFAULT-ROUTE",
            "PORTS",
        ],
        &rows,
        cells,
    );
    crate::commands::listed_everything(ctx)
}

pub(super) fn rows(topo: &Topology, existing: &dyn Existing) -> Vec<Row> {
    let mut rows = Vec::new();
    for (ns, spec) in &topo.namespaces {
        for a in &spec.attach {
            rows.push(row(ns, &a.network, existing.endpoint(&a.network, ns)));
        }
    }
    rows
}

fn row(ns: &str, network: &str, ep: Option<Endpoint>) -> Row {
    let ep = ep.as_ref();
    Row {
        namespace: ns.to_string(),
        network: network.to_string(),
        attached: ep.is_some(),
        interface: ep.map(|e| e.ifname.clone()).filter(|i| !i.is_empty()),
        address: ep.and_then(|e| e.address).map(|a| a.to_string()),
        mac: ep.and_then(|e| e.mac.clone()),
        default_route: ep.is_some_and(|e| e.default_route),
        ports: ep
            .map(|e| e.ports.iter().map(|p| p.to_string()).collect())
            .unwrap_or_default(),
    }
}

/// A table row: `-` for what is not there, so every cell is one word.
fn cells(r: &Row) -> Vec<String> {
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    vec![
        r.namespace.clone(),
        r.network.clone(),
        or_dash(&r.interface),
        or_dash(&r.address),
        or_dash(&r.mac),
        if r.default_route { "yes" } else { "no" }.into(),
        if r.ports.is_empty() {
            "-".into()
        } else {
            r.ports.join(",")
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Network;

    struct One(Endpoint);

    impl Existing for One {
        fn network(&self, _: &str) -> Option<Network> {
            None
        }
        fn endpoint(&self, network: &str, netns: &str) -> Option<Endpoint> {
            (self.0.network == network && self.0.netns == netns).then(|| self.0.clone())
        }
        fn networks_of(&self, _: &str) -> Vec<String> {
            vec![]
        }
        fn created_by_cnet(&self, _: &str) -> bool {
            true
        }
    }

    #[test]
    fn rows_show_each_attachment_and_dashes_for_what_is_not_there() {
        let topo = Topology::parse(
            "lab.toml",
            "[namespaces.web]\nattach = [{ network = \"lan\" }, { network = \"dmz\" }]\n",
        )
        .unwrap();
        let ep = Endpoint {
            address6: None,
            default_route6: false,
            network: "lan".into(),
            key: "web".into(),
            netns: "web".into(),
            netns_path: "/run/netns/web".into(),
            ifname: "eth0".into(),
            host_ifname: None,
            mac: Some("02:42:0a:01:00:02".into()),
            address: Some("10.1.0.2/24".parse().unwrap()),
            aliases: vec![],
            ports: crate::ports::parse_all(&["8080:80".into()]).unwrap(),
            default_route: true,
            gw_priority: 0,
            no_default_route: false,
            publish_to: None,
            publish_to6: None,
            since: 0,
        };
        let rows = rows(&topo, &One(ep));
        assert_eq!(
            cells(&rows[0]),
            [
                "web",
                "lan",
                "eth0",
                "10.1.0.2/24",
                "02:42:0a:01:00:02",
                "yes",
                "0.0.0.0:8080->80/tcp"
            ]
        );
        assert_eq!(cells(&rows[1]), ["web", "dmz", "-", "-", "-", "no", "-"]);
        assert!(!rows[1].attached);
    }
}
