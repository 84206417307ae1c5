//! Listings as tables or JSON, and time stamps for humans.

use crate::cli::Format;
use comfy_table::{ContentArrangement, Table, presets::NOTHING};
use serde::Serialize;
use std::io::{self, Write};
use std::sync::OnceLock;

/// The first failure to write standard output, if any.
static WRITE_ERROR: OnceLock<io::Error> = OnceLock::new();

/// Write to standard output, keeping the first failure for [`write_error`]. After one, the rest
/// is dropped: what follows would be cut off anyway.
pub fn write_out(args: std::fmt::Arguments) {
    if WRITE_ERROR.get().is_some() {
        return;
    }
    if let Err(e) = io::stdout().write_fmt(args) {
        let _ = WRITE_ERROR.set(e);
    }
}

/// Flush standard output and return its first write failure, if any. A reader that went away
/// (`cnet net ls | head -1`) is no failure: cnet then stops printing and exits quietly, as `ip`
/// does.
pub fn write_error() -> Option<&'static io::Error> {
    if WRITE_ERROR.get().is_none()
        && let Err(e) = io::stdout().flush()
    {
        let _ = WRITE_ERROR.set(e);
    }
    WRITE_ERROR
        .get()
        .filter(|e| e.kind() != io::ErrorKind::BrokenPipe)
}

/// Print rows as an aligned table (table format) or the items as a JSON array (json format).
pub fn print_list<T: Serialize>(
    format: Format,
    headers: &[&str],
    items: &[T],
    row: impl Fn(&T) -> Vec<String>,
) {
    match format {
        Format::Json => crate::outln!(
            "{}",
            serde_json::to_string_pretty(items).expect("listing serializes")
        ),
        Format::Table => {
            let mut t = Table::new();
            t.load_style(NOTHING)
                .set_content_arrangement(ContentArrangement::Disabled)
                .set_header(headers.to_vec());
            for item in items {
                t.add_row(row(item));
            }
            // comfy-table pads with a leading space per column; trim for `awk`-friendly output.
            // One write for the lot, not one per line (standard output is line-buffered).
            let mut text = String::new();
            for line in t.to_string().lines() {
                text.push_str(line.trim_end().strip_prefix(' ').unwrap_or(line));
                text.push('\n');
            }
            crate::out!("{text}");
        }
    }
}

/// An endpoint as `attach` and `detach` print it with --format json.
#[derive(Serialize)]
pub struct EndpointJson {
    pub network: String,
    pub namespace: String,
    pub interface: String,
    pub address: Option<String>,
    /// The IPv6 address, on a dual-stack network.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address6: Option<String>,
    pub mac: Option<String>,
    pub host_veth: Option<String>,
    pub aliases: Vec<String>,
    /// Published ports, as `docker ps` shows them (`0.0.0.0:8080->80/tcp`).
    pub ports: Vec<String>,
    /// Whether the namespace's default route goes through this endpoint.
    pub default_route: bool,
    /// RFC 3339: when it was attached.
    pub since: String,
}

impl From<&crate::model::Endpoint> for EndpointJson {
    fn from(ep: &crate::model::Endpoint) -> Self {
        EndpointJson {
            network: ep.network.clone(),
            namespace: ep.netns.clone(),
            interface: ep.ifname.clone(),
            address: ep.address.map(|a| a.to_string()),
            address6: ep.address6.map(|a| a.to_string()),
            mac: ep.mac.clone(),
            host_veth: ep.host_ifname.clone(),
            aliases: ep.aliases.clone(),
            ports: ep.ports.iter().map(|p| p.to_string()).collect(),
            default_route: ep.default_route,
            since: rfc3339(ep.since),
        }
    }
}

/// Print a value as pretty JSON on standard output.
pub fn print_json<T: Serialize>(value: &T) {
    crate::outln!(
        "{}",
        serde_json::to_string_pretty(value).expect("output serializes")
    );
}

/// Seconds since the epoch, now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// RFC 3339 UTC time stamp of unix seconds, e.g. `2026-11-23T18:58:00Z`.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_460_280), "2026-11-23T18:58:00Z");
    }
}
