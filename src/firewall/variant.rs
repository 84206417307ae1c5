//! Which iptables commands the iptables backend runs. `iptables` and `ip6tables` are, on Debian
//! and most distributions today, the nf_tables variant (iptables-nft), which cannot work where
//! nf_tables is missing, the very case the backend is for. There the legacy commands
//! (`iptables-legacy`, `-save`, `-restore`, and the ip6tables ones, x_tables; shipped in
//! Debian's iptables package) are run instead, when installed. Chosen once per command, with
//! the backend (`HostFirewall::backend`); `firewall status` shows the choice.

use crate::model::family::Family;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the legacy commands were chosen. Off (plain `iptables`) until a command chooses.
static LEGACY: AtomicBool = AtomicBool::new(false);

/// `CNET_FIREWALL`'s value that forces the iptables backend with the legacy commands.
pub const FORCE_LEGACY: &str = "iptables-legacy";

/// The legacy commands when forced, or when nf_tables is missing and they are installed;
/// else plain `iptables` (which is then the legacy variant itself, or the only one there).
pub fn wants_legacy(forced: bool, nf_tables: bool, legacy_installed: bool) -> bool {
    forced || (!nf_tables && legacy_installed)
}

/// Record the choice for the rest of the command.
pub fn set_legacy(on: bool) {
    LEGACY.store(on, Ordering::Relaxed);
}

pub fn legacy() -> bool {
    LEGACY.load(Ordering::Relaxed)
}

/// The command that writes rules of a family, as chosen.
pub fn binary(family: Family) -> &'static str {
    match (family, legacy()) {
        (Family::V4, false) => "iptables",
        (Family::V6, false) => "ip6tables",
        (Family::V4, true) => "iptables-legacy",
        (Family::V6, true) => "ip6tables-legacy",
    }
}

/// Whether a command is on PATH.
pub fn installed(cmd: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(cmd).is_file()))
}

/// What the chosen IPv4 command says it is: `iptables v1.8.9 (nf_tables)`, `iptables v1.8.9
/// (legacy)`; `None` when it does not run.
pub fn version() -> Option<String> {
    let out = std::process::Command::new(binary(Family::V4))
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Some(text.lines().next()?.trim().to_string()).filter(|l| !l.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_where_nf_tables_is_missing_or_when_forced() {
        assert!(
            !wants_legacy(false, true, true),
            "nf_tables there: iptables"
        );
        assert!(
            wants_legacy(false, false, true),
            "no nf_tables: the legacy ones"
        );
        assert!(
            !wants_legacy(false, false, false),
            "none installed: iptables"
        );
        assert!(wants_legacy(true, true, true));
    }
}
