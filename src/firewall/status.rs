//! `cnet firewall status`: which backend cnet uses and what of its firewall is installed.

use super::Backend;
use serde::Serialize;

/// What is installed, as the kernel has it.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Installed {
    pub backend: Backend,
    /// `table inet cnet` is there.
    pub table: bool,
    /// Networks in the table (one `within` element each).
    pub networks: usize,
    /// Host ports published (a dual-stack port, one element in each family's map, once).
    pub published_ports: usize,
    /// Rules: the table's, and cnet's iptables and ip6tables rules with the iptables backend.
    pub rules: usize,
    /// With the iptables backend: cnet's rules in iptables, and in ip6tables (none on a kernel
    /// without IPv6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iptables_rules: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip6tables_rules: Option<usize>,
    /// With the iptables backend: what the commands it runs say they are (`iptables v1.8.9
    /// (nf_tables)`, or `(legacy)` where nf_tables is missing: `firewall::variant`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iptables: Option<String>,
}

impl Installed {
    /// `KEY  VALUE` lines, as `firewall status` prints them.
    pub fn lines(&self) -> Vec<(&'static str, String)> {
        let mut lines = vec![
            ("backend", self.backend.as_str().to_string()),
            (
                "table",
                if self.table {
                    "inet cnet".to_string()
                } else {
                    "absent".to_string()
                },
            ),
            ("networks", self.networks.to_string()),
            ("published ports", self.published_ports.to_string()),
            ("rules", self.rules.to_string()),
        ];
        if let Some(v) = &self.iptables {
            lines.push(("iptables", v.clone()));
        }
        for (key, n) in [
            ("iptables rules", self.iptables_rules),
            ("ip6tables rules", self.ip6tables_rules),
        ] {
            if let Some(n) = n {
                lines.push((key, n.to_string()));
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_reads_as_lines_and_json() {
        let s = Installed {
            backend: Backend::Nftables,
            table: true,
            networks: 2,
            published_ports: 3,
            rules: 21,
            ..Default::default()
        };
        assert_eq!(s.lines()[1], ("table", "inet cnet".to_string()));
        assert_eq!(s.lines().len(), 5);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["backend"], "nftables");
        assert_eq!(json["published_ports"], 3);
        assert!(json.get("ip6tables_rules").is_none());
    }

    #[test]
    fn the_iptables_backend_shows_both_families() {
        let s = Installed {
            backend: Backend::Iptables,
            rules: 9,
            iptables_rules: Some(6),
            ip6tables_rules: Some(3),
            ..Default::default()
        };
        let lines = s.lines();
        assert_eq!(lines[5], ("iptables rules", "6".to_string()));
        assert_eq!(lines[6], ("ip6tables rules", "3".to_string()));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["ip6tables_rules"], 3);
    }
}
