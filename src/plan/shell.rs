//! How each step prints: the shell line (`ip`, `bridge`, `sysctl`, `nft`, `iptables`) that does
//! what the executor does, so a dry run is a script that reproduces the run.

use super::{LINK_GROUP, NsRef, Op, format_mac, provisional_bridge_mtu};
use crate::firewall::inet::{self, Script, TableChange};
use crate::firewall::published::ElementCommands;
use crate::firewall::rule::shell_quote;
use ipnetwork::IpNetwork;
use std::fmt;
use std::net::IpAddr;

/// The queues of each end of a veth pair cnet creates.
const ONE_QUEUE: &str = "numtxqueues 1 numrxqueues 1";

/// The broadcast address cnet gives an IPv4 address it adds (as rtnetlink's address builder
/// does): the subnet's last address, except on /31 and /32 which have none. IPv6 has none.
fn broadcast_of(addr: &IpNetwork) -> Option<IpAddr> {
    (addr.is_ipv4() && addr.prefix() < 31).then(|| addr.broadcast())
}

/// Whether a route is IPv6's: by its destination (`::/0` is the v6 default), else its gateway.
fn is_v6_route(dest: &Option<IpNetwork>, via: &Option<IpAddr>) -> bool {
    match (dest, via) {
        (Some(d), _) => d.is_ipv6(),
        (None, Some(v)) => v.is_ipv6(),
        (None, None) => false,
    }
}

/// `route` for IPv4, `-6 route` for IPv6 (which `default` alone would not say).
fn route_cmd(dest: &Option<IpNetwork>, via: &Option<IpAddr>) -> &'static str {
    if is_v6_route(dest, via) {
        "-6 route"
    } else {
        "route"
    }
}

fn route_words(dest: &Option<IpNetwork>, via: &Option<IpAddr>, dev: &Option<String>) -> String {
    let mut s = match dest {
        Some(d) if d.prefix() == 0 => "default".into(),
        Some(d) => d.to_string(),
        None => "default".into(),
    };
    if let Some(v) = via {
        s.push_str(&format!(" via {v}"));
    }
    if let Some(d) = dev {
        s.push_str(&format!(" dev {}", shell_quote(d)));
    }
    s
}

impl fmt::Display for Op {
    /// The equivalent shell command(s), one per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Record(r) => write!(f, "{r}"),
            Op::File(op) => write!(f, "{op}"),
            Op::CreateNetns { name } => write!(f, "ip netns add {}", shell_quote(name)),
            Op::AttachNetns { name, path } => {
                let n = shell_quote(name);
                let p = path.display().to_string();
                match p
                    .strip_prefix("/proc/")
                    .and_then(|r| r.strip_suffix("/ns/net"))
                    .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
                {
                    Some(pid) => write!(f, "ip netns attach {n} {pid}"),
                    None => write!(
                        f,
                        "touch /run/netns/{n} && mount --bind {} /run/netns/{n}",
                        shell_quote(&p)
                    ),
                }
            }
            Op::BindHostNetns { name } => write!(
                f,
                "touch /run/netns/{n} && mount --bind /proc/self/ns/net /run/netns/{n}",
                n = shell_quote(name)
            ),
            Op::DeleteNetns { name } => write!(f, "ip netns del {}", shell_quote(name)),
            Op::CreateBridge { name, mac, mtu } => {
                let n = shell_quote(name);
                let mtu = mtu.unwrap_or(1500);
                write!(
                    f,
                    "ip link add {n} mtu {} group {LINK_GROUP} type bridge mcast_snooping 0\n\
                     ip link set {n} mtu {mtu}\nip link set {n} address {}\nip link set {n} up",
                    provisional_bridge_mtu(mtu),
                    format_mac(mac)
                )
            }
            Op::CreateVeth {
                host,
                peer,
                peer_ns,
                mtu,
                peer_mac,
                master,
            } => {
                // Each end with one queue pair, as cnet makes them (iproute2's default is one
                // per CPU), and the MTU given to both.
                let h = shell_quote(host);
                let mtu = mtu.map(|m| format!(" mtu {m}")).unwrap_or_default();
                write!(
                    f,
                    "ip link add {h}{mtu} {ONE_QUEUE} group {LINK_GROUP} type veth \
                     peer name {}{mtu} {ONE_QUEUE} group {LINK_GROUP}",
                    shell_quote(peer)
                )?;
                match peer_ns {
                    NsRef::Host => {}
                    NsRef::Named(n) => write!(f, " netns {}", shell_quote(n))?,
                    NsRef::Path(p) => {
                        write!(f, " netns {}", shell_quote(&p.display().to_string()))?
                    }
                }
                if let Some(mac) = peer_mac {
                    write!(f, " address {}", format_mac(mac))?;
                }
                match master {
                    Some(m) => write!(f, "\nip link set {h} master {}", shell_quote(m)),
                    None => Ok(()),
                }
            }
            Op::LinkUp { ns, dev } => write!(f, "{} link set {} up", ns.ip(), shell_quote(dev)),
            Op::IsolatePort { dev } => write!(
                f,
                "ip link set {} type bridge_slave isolated on",
                shell_quote(dev)
            ),
            Op::DeleteLink { ns, dev } => write!(f, "{} link del {}", ns.ip(), shell_quote(dev)),
            Op::RetireVeth { host, .. } => write!(f, "ip link del {}", shell_quote(host)),
            // IPv6 addresses go without duplicate address detection, as cnet adds them.
            Op::AddAddress { ns, dev, addr } if addr.is_ipv6() => write!(
                f,
                "{} -6 addr add {addr} dev {} nodad",
                ns.ip(),
                shell_quote(dev)
            ),
            Op::AddAddress { ns, dev, addr } => {
                write!(f, "{} addr add {addr}", ns.ip())?;
                if let Some(brd) = broadcast_of(addr) {
                    write!(f, " broadcast {brd}")?;
                }
                write!(f, " dev {}", shell_quote(dev))
            }
            Op::DelAddress { ns, dev, addr } => {
                write!(f, "{} addr del {addr} dev {}", ns.ip(), shell_quote(dev))
            }
            Op::AddRoute { ns, dest, via, dev } => write!(
                f,
                "{} {} add {}",
                ns.ip(),
                route_cmd(dest, via),
                route_words(dest, via, dev)
            ),
            // Any default route, if there is one (`route del` would fail on none).
            Op::DelRoute {
                ns,
                dest: None,
                via: None,
                dev: None,
            } => write!(f, "{} route flush exact 0.0.0.0/0", ns.ip()),
            Op::DelRoute { ns, dest, via, dev } => write!(
                f,
                "{} {} del {}",
                ns.ip(),
                route_cmd(dest, via),
                route_words(dest, via, dev)
            ),
            Op::Sysctl { ns, key, value } => match ns {
                NsRef::Host => write!(f, "sysctl -w {key}={value}"),
                NsRef::Named(n) => write!(
                    f,
                    "ip netns exec {} sysctl -w {key}={value}",
                    shell_quote(n)
                ),
                NsRef::Path(p) => write!(
                    f,
                    "nsenter --net={} sysctl -w {key}={value}",
                    shell_quote(&p.display().to_string())
                ),
            },
            Op::DisableIpv6 { dev } => write!(
                f,
                "sysctl -w net.ipv6.conf.{}.disable_ipv6=1",
                dev.replace('.', "/")
            ),
            Op::NoIpv6Autoconf { ns, dev } => write!(
                f,
                "{} link set {} addrgenmode none",
                ns.ip(),
                shell_quote(dev)
            ),
            Op::CreateBase { family, input } => write!(
                f,
                "{}-restore --noflush <<'EOF'\n{input}EOF",
                crate::firewall::rule::binary(*family)
            ),
            Op::RemoveBase => write!(f, "{}", crate::firewall::layout::describe_base_removal()),
            Op::DropTable => write!(f, "nft delete table inet {}", inet::TABLE),
            Op::AddNetwork {
                create_table,
                elements,
            } => {
                let lines =
                    inet::element_lines("add", elements.iter().map(|e| (e.set(), e.text())));
                let table = if *create_table {
                    TableChange::Create
                } else {
                    TableChange::None
                };
                write!(
                    f,
                    "{}",
                    Script {
                        table,
                        lines: &lines
                    }
                )
            }
            Op::RemoveNetwork {
                drop_table,
                elements,
            } => {
                if *drop_table {
                    return write!(f, "nft delete table inet {}", inet::TABLE);
                }
                let lines =
                    inet::element_lines("delete", elements.iter().map(|e| (e.set(), e.text())));
                write!(
                    f,
                    "{}",
                    Script {
                        table: TableChange::None,
                        lines: &lines
                    }
                )
            }
            Op::ReplaceTable {
                networks,
                tunnels,
                ports,
            } => {
                let elements = networks
                    .iter()
                    .map(|e| (e.set(), e.text()))
                    .chain(tunnels.iter().map(|e| (e.set(), e.element_text())))
                    .chain(ports.iter().map(|e| (e.map(), e.element_text())));
                let lines = inet::element_lines("add", elements);
                write!(
                    f,
                    "{}",
                    Script {
                        table: TableChange::Replace,
                        lines: &lines
                    }
                )
            }
            Op::AppendRule(r) => write!(f, "{r}"),
            Op::AppendRules(rs) => {
                let lines: Vec<String> = rs.iter().map(|r| r.to_string()).collect();
                write!(f, "{}", lines.join("\n"))
            }
            Op::DeleteRules(rs) => {
                let lines: Vec<String> = rs.iter().map(|r| r.command_line("-D")).collect();
                write!(f, "{}", lines.join("\n"))
            }
            Op::PublishPorts(es) => write!(
                f,
                "{}",
                ElementCommands {
                    verb: "add",
                    entries: es
                }
            ),
            Op::UnpublishPorts(es) => write!(
                f,
                "{}",
                ElementCommands {
                    verb: "delete",
                    entries: es
                }
            ),
            Op::AllowTunnel(es) => write!(
                f,
                "{}",
                crate::firewall::tunnel::ElementCommands {
                    verb: "add",
                    entries: es
                }
            ),
            Op::DisallowTunnel(es) => write!(
                f,
                "{}",
                crate::firewall::tunnel::ElementCommands {
                    verb: "delete",
                    entries: es
                }
            ),
            Op::DeleteRule(r) => write!(f, "{}", r.command_line("-D")),
            Op::CreateVxlan {
                name,
                vni,
                local,
                underlay,
                dstport,
                mtu,
                master,
                mac,
            } => {
                let n = shell_quote(name);
                write!(f, "ip link add {n}")?;
                if let Some(m) = mtu {
                    write!(f, " mtu {m}")?;
                }
                if let Some(m) = mac {
                    write!(f, " address {}", super::format_mac(m))?;
                }
                write!(f, " group {LINK_GROUP} type vxlan id {vni} local {local}")?;
                if let Some(u) = underlay {
                    write!(f, " dev {}", shell_quote(u))?;
                }
                write!(f, " dstport {dstport} learning")?;
                if let Some(m) = master {
                    write!(f, "\nip link set {n} master {}", shell_quote(m))?;
                }
                write!(f, "\nip link set {n} up")
            }
            Op::AppendFdb { dev, dst } => write!(
                f,
                "bridge fdb append 00:00:00:00:00:00 dev {} dst {dst}",
                shell_quote(dev)
            ),
            Op::DelFdb { dev, dst } => {
                let d = shell_quote(dev);
                write!(
                    f,
                    "bridge fdb del 00:00:00:00:00:00 dev {d} dst {dst}\n\
                     bridge fdb show dev {d} | awk '$2 == \"dst\" && $3 == \"{dst}\" {{print $1}}' \
                     | xargs -r -I{{}} bridge fdb del {{}} dev {d} dst {dst}"
                )
            }
            Op::AddForward(fw) => {
                let (mac, d) = (&fw.mac, shell_quote(&fw.dev));
                write!(
                    f,
                    "bridge fdb replace {mac} dev {d} dst {vtep} self permanent",
                    vtep = fw.vtep
                )?;
                for ip in fw.addresses() {
                    write!(
                        f,
                        "\nip neigh replace {ip} lladdr {mac} dev {d} nud permanent"
                    )?;
                }
                Ok(())
            }
            Op::DelForward(fw) => {
                let (mac, d) = (&fw.mac, shell_quote(&fw.dev));
                for ip in fw.addresses() {
                    writeln!(f, "ip neigh del {ip} dev {d}")?;
                }
                write!(
                    f,
                    "bridge fdb del {mac} dev {d} dst {vtep} self",
                    vtep = fw.vtep
                )
            }
            Op::CreateSublink {
                kind,
                parent,
                temp,
                name,
                ns,
                mtu,
                mac,
            } => {
                let first = temp.as_ref().unwrap_or(name);
                write!(
                    f,
                    "ip link add link {} name {}",
                    shell_quote(parent),
                    shell_quote(first)
                )?;
                match ns {
                    NsRef::Host => {}
                    NsRef::Named(n) => write!(f, " netns {}", shell_quote(n))?,
                    NsRef::Path(p) => {
                        write!(f, " netns {}", shell_quote(&p.display().to_string()))?
                    }
                }
                if let Some(m) = mtu {
                    write!(f, " mtu {m}")?;
                }
                if let Some(m) = mac {
                    write!(f, " address {}", format_mac(m))?;
                }
                write!(f, " group {LINK_GROUP} {kind}")?;
                if let Some(t) = temp {
                    let (t, n) = (shell_quote(t), shell_quote(name));
                    write!(f, "\n{} link set {t} name {n}", ns.ip())?;
                }
                Ok(())
            }
        }
    }
}
