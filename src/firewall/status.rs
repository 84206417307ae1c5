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
    /// Host ports published (one map element each).
    pub published_ports: usize,
    /// Rules: the table's, and cnet's iptables rules with the iptables backend.
    pub rules: usize,
}

impl Installed {
    /// `KEY  VALUE` lines, as `firewall status` prints them.
    pub fn lines(&self) -> Vec<(&'static str, String)> {
        vec![
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
        ]
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
        };
        assert_eq!(s.lines()[1], ("table", "inet cnet".to_string()));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["backend"], "nftables");
        assert_eq!(json["published_ports"], 3);
    }
}
