//! cnet's chain layout and the rules each network needs. Pure: no iptables calls here.

/// The base chains as the equivalent iptables commands (for --dry-run).
pub fn describe_base_chains() -> String {
    String::new()
}
