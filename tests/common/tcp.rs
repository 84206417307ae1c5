//! TCP servers and clients for port tests, with socat: one server answers both families.

use super::Sandbox;

/// Starts a TCP server in `netns` on `port`, both families, answering each connection with
/// `reply` (a shell word; `$SOCAT_PEERADDR` is the client's address); returns once it listens.
pub fn serve_both(sb: &Sandbox, netns: &str, port: u16, reply: &str) {
    sb.sh(&format!(
        "ip netns exec {netns} socat TCP6-LISTEN:{port},fork,reuseaddr,ipv6only=0 \
         SYSTEM:'echo {reply}' </dev/null >/dev/null 2>&1 &
         for i in $(seq 50); do
           ip netns exec {netns} ss -ltnH | grep -q ':{port} ' && exit 0
           sleep 0.1
         done
         echo 'socat did not start listening' >&2; exit 1"
    ))
    .ok();
}

/// socat's address of a bounded connection to `[addr]:port` (IPv6) or `addr:port`.
pub fn target(addr: &str, port: u16) -> String {
    if addr.contains(':') {
        format!("TCP6:[{addr}]:{port},connect-timeout=2")
    } else {
        format!("TCP4:{addr}:{port},connect-timeout=2")
    }
}
