//! The command line, as clap types. Names follow `docker network` where a user expects them.

use clap::{Args, Parser, Subcommand, ValueEnum, ValueHint};
use std::net::Ipv4Addr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "cnet",
    version,
    about = "Container networks by hand: namespaces, bridges, NAT and leases, no Docker",
    long_about = "cnet builds Docker-style container networks (bridge, host, none) on a bare Linux \
box: network namespaces, Linux bridges and veth pairs through netlink, NAT and isolation with \
iptables, addresses leased DHCP-style from a local allocator, state in TOML files. \
--dry-run prints the equivalent ip/iptables commands instead of running anything.",
    after_long_help = "Environment: CNET_STATE_DIR (as --state-dir); CNET_STORE (as --store); \
CNET_CONFIG (the configuration file, default /etc/cnet/config.toml); CNET_TIMING=1 prints on \
stderr where a command spends its time (each phase and each kernel operation, in ms)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

// Options every command takes; listed after the command's own in its help (display_order).
#[derive(Debug, Args, Clone)]
pub struct Global {
    /// Directory holding cnet's state
    #[arg(
        long,
        global = true,
        display_order = 900,
        env = "CNET_STATE_DIR",
        default_value = "/var/lib/cnet"
    )]
    pub state_dir: PathBuf,
    /// Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...]
    /// (default: this host's files only; also `store = "..."` in /etc/cnet/config.toml)
    #[arg(
        long,
        global = true,
        display_order = 900,
        env = "CNET_STORE",
        value_name = "etcd://HOST:PORT,..."
    )]
    pub store: Option<String>,
    /// Output format: table (default) or json; `net inspect` prints json unless given table
    #[arg(long, global = true, display_order = 901, value_enum)]
    pub format: Option<Format>,
    /// Print the equivalent ip/iptables commands and change nothing
    #[arg(long, global = true, display_order = 902)]
    pub dry_run: bool,
    /// Say more: the DHCP-style lease steps, the commands applied, error causes
    #[arg(short, long, global = true, display_order = 903)]
    pub verbose: bool,
}

impl Global {
    /// The output format asked for, table when none was.
    pub fn format(&self) -> Format {
        self.format.unwrap_or(Format::Table)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

// Each subcommand's arguments are built only when it is the one run: every cnet command is a
// short-lived process, and building all of them cost ~0.1-0.2 ms of its start-up.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Create, remove, list and inspect networks
    #[command(subcommand)]
    Net(NetCommand),
    /// Attach a network namespace to a network (creating the namespace if needed)
    Attach(AttachArgs),
    /// Detach a network namespace from a network, releasing its address
    Detach(DetachArgs),
    /// Run a command inside a network namespace, with its hosts and resolv.conf
    ExecInNs(ExecArgs),
    /// Show address leases
    #[command(subcommand)]
    Lease(LeaseCommand),
    /// List and remove network namespaces
    #[command(subcommand)]
    Ns(NsCommand),
    /// Manage cnet's firewall rules
    #[command(subcommand)]
    Firewall(FirewallCommand),
    /// Repair where state and kernel disagree: interrupted commands, released namespaces,
    /// missing bridges and rules, unrecorded links (--dry-run: print the repairs' plans)
    #[command(
        long_about = "Repair where cnet's state and the kernel disagree, one line per repair: \
plans of commands killed mid-way (undone, or completed for a removal), endpoints and leases whose \
namespace is gone (detached, released), records of namespaces that are gone (forgotten), \
networks whose bridge, VXLAN device or firewall entries are missing (re-created), and links \
carrying cnet's mark (link group 1668179316, or ifalias cnet:NETWORK) that no record names, in the \
host or in a namespace (deleted), and published ports and tunnel-filter entries in cnet's nftables \
tables that no endpoint or overlay accounts for (removed). Exit status 0 when \
everything is consistent or was repaired. With the etcd store, a host whose agent stopped \
renewing its liveness (see cnet agent) longer than --grace seconds ago (counted from when a live \
host's agent, attach or gc first saw it down, recorded in etcd) has its leases on shared overlays \
released and its endpoints forgotten."
    )]
    Gc(GcArgs),
    /// Re-create every network's links and firewall after a boot, and release what the boot
    /// took (run by examples/cnet-restore.service)
    Restore,
    /// Keep this host's shared overlays in step with etcd: hosts, endpoints and names of the
    /// other hosts (foreground; needs --store etcd://...)
    #[command(
        long_about = "Keep this host's overlays shared through etcd in step: on every change in \
etcd of a network's members, of its endpoints on other hosts or of a host's liveness (and every \
10 s), program this host's VXLAN device and tunnel filter (one flood entry and one filter element \
per other live host; one FDB and one neighbour entry per endpoint on another host) and the hosts \
files of its namespaces (every host's endpoints by name and alias), as an attach does. Registers \
this host as alive under an etcd lease of --ttl seconds, renewed while it runs: when it stops, \
the other hosts' agents drop this host after the TTL and take it back when it returns. Runs in \
the foreground until killed; needs --store etcd://... (or CNET_STORE, or the configuration file)."
    )]
    Agent(AgentArgs),
    /// Bring up, take down and list a lab described in a TOML file
    #[command(subcommand)]
    Lab(LabCommand),
    /// Draw networks, their namespaces, overlay peers and published ports
    Graph(GraphArgs),
    /// Remove everything cnet made: endpoints, networks (the default one's too), their rules
    /// and tables, the namespaces it created, its hosts files
    Reset {
        /// Do not ask (required when standard input is not a terminal)
        #[arg(short, long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// With the etcd store: how long a host must have been down before its leases are released
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub grace: u64,
}

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// Bring the overlays in step once and exit
    #[arg(long)]
    pub once: bool,
    /// Seconds this host stays alive for the others after its agent stops (the etcd lease
    /// the agent renews)
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub ttl: u64,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum NetCommand {
    /// Create a network
    Create(Box<CreateArgs>),
    /// Remove networks
    #[command(visible_alias = "remove")]
    Rm {
        /// Networks to remove, by name, ID or unique ID prefix
        #[arg(required = true, id = "networks", value_name = "NETWORK", value_hint = ValueHint::Other)]
        names: Vec<String>,
        /// Detach every attached namespace first
        #[arg(short, long)]
        force: bool,
    },
    /// List networks
    #[command(visible_alias = "list")]
    Ls {
        /// Print network names only
        #[arg(short, long)]
        quiet: bool,
    },
    /// Show networks in detail, with their endpoints (JSON, or the endpoint table with
    /// --format table)
    Inspect {
        /// Networks to show, by name, ID or unique ID prefix
        #[arg(required = true, id = "networks", value_name = "NETWORK", value_hint = ValueHint::Other)]
        names: Vec<String>,
    },
    /// Remove every network with no namespace attached (never a predefined one)
    Prune {
        /// Do not ask (required when standard input is not a terminal)
        #[arg(short, long)]
        force: bool,
    },
    /// Add or remove a peer VTEP of a vxlan network, leaving attached namespaces alone
    #[command(subcommand)]
    Peer(PeerCommand),
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum PeerCommand {
    /// Flood broadcast and unknown unicast to one more host (bridge fdb append)
    Add {
        /// The vxlan network
        #[arg(id = "network", value_name = "NETWORK", value_hint = ValueHint::Other)]
        name: String,
        /// The peer's underlay address
        ip: Ipv4Addr,
    },
    /// Stop sending to a host: its flood entry and the MACs learned behind it go
    #[command(visible_alias = "remove")]
    Rm {
        /// The vxlan network
        #[arg(id = "network", value_name = "NETWORK", value_hint = ValueHint::Other)]
        name: String,
        /// The peer's underlay address
        ip: Ipv4Addr,
    },
}

#[derive(Debug, Args, Default)]
pub struct CreateArgs {
    /// Network name
    pub name: String,
    /// Driver: bridge, host, none, macvlan, ipvlan, vxlan (alias overlay)
    #[arg(short, long, default_value = "bridge", value_hint = ValueHint::Other)]
    pub driver: String,
    /// Subnet in CIDR form (default: the first free /16, /20 or /24 of the default pools)
    #[arg(long)]
    pub subnet: Option<String>,
    /// Gateway address (default: the subnet's first host address)
    #[arg(long)]
    pub gateway: Option<String>,
    /// Lease addresses only from this sub-range (CIDR)
    #[arg(long)]
    pub ip_range: Option<String>,
    /// Dual stack: IPv6 beside IPv4 (bridge, macvlan, ipvlan, vxlan)
    #[arg(long)]
    pub ipv6: bool,
    /// IPv6 subnet in CIDR form, at most a /120 (default: the next free /64 of this host's
    /// ULA /48); needs --ipv6
    #[arg(long)]
    pub subnet6: Option<String>,
    /// IPv6 gateway address (default: the IPv6 subnet's first host address); needs --ipv6
    #[arg(long)]
    pub gateway6: Option<String>,
    /// No default route, no NAT: nothing leaves the network
    #[arg(long)]
    pub internal: bool,
    /// MTU of the bridge and every veth
    #[arg(long)]
    pub mtu: Option<u32>,
    /// Parent interface (macvlan, ipvlan)
    #[arg(long, value_hint = ValueHint::Other)]
    pub parent: Option<String>,
    /// Driver mode (macvlan: bridge|private|vepa|passthru, ipvlan: l2|l3|l3s)
    #[arg(long, value_hint = ValueHint::Other)]
    pub mode: Option<String>,
    /// VXLAN network identifier (with the etcd store: a free one when not given)
    #[arg(long)]
    pub vni: Option<u32>,
    /// Local underlay address (vxlan)
    #[arg(long)]
    pub local: Option<Ipv4Addr>,
    /// Peer VTEP address (vxlan), repeatable
    #[arg(long)]
    pub peer: Vec<Ipv4Addr>,
    /// VXLAN UDP destination port
    #[arg(long)]
    pub dstport: Option<u16>,
    /// Underlay interface or address (vxlan): its address is the local VTEP, its MTU minus 50
    /// the default MTU (with the etcd store: the default route's interface when not given)
    #[arg(long, value_hint = ValueHint::Other, value_name = "IFACE|IP")]
    pub underlay: Option<String>,
    /// Driver option KEY=VALUE, repeatable. bridge: bridge_name=, mtu= (and Docker's
    /// com.docker.network.bridge.name=, com.docker.network.driver.mtu=); macvlan/ipvlan:
    /// parent=, macvlan_mode=, ipvlan_mode=, host_shim=true, mtu=; vxlan: bridge_name=, mtu=,
    /// vni= (and com.docker.network.driver.overlay.vxlanid_list=)
    #[arg(short = 'o', long = "opt")]
    pub opts: Vec<String>,
}

#[derive(Debug, Args)]
#[command(override_usage = "cnet attach [OPTIONS] [NETWORK] NETNS")]
pub struct AttachArgs {
    /// Network to attach to (default: bridge, when only NETNS is given); with the etcd store, an
    /// overlay defined in etcd that this host has not joined is joined first
    #[arg(value_name = "NETWORK", value_hint = ValueHint::Other)]
    pub network: String,
    /// Namespace: a name under /run/netns (created if missing) or a path like /proc/PID/ns/net
    #[arg(
        value_name = "NETNS",
        default_value = "",
        hide_default_value = true,
        value_hint = ValueHint::Other
    )]
    pub netns: String,
    /// Static address (must be free and inside the network's range)
    #[arg(long)]
    pub ip: Option<String>,
    /// Static IPv6 address (dual-stack networks; must be free and inside the IPv6 subnet)
    #[arg(long)]
    pub ip6: Option<String>,
    /// Interface name inside the namespace (default: the first free ethN)
    #[arg(long)]
    pub ifname: Option<String>,
    /// MAC address of the interface inside the namespace
    #[arg(long)]
    pub mac: Option<String>,
    /// Extra host name the other members resolve to this namespace, repeatable
    #[arg(long = "alias")]
    pub aliases: Vec<String>,
    /// Publish a port: [HOSTIP:]HOSTPORT[-END]:PORT[-END][/tcp|udp|sctp], repeatable (bridge networks, and overlays through the gateway bridge cnet_gwbridge; both families on a dual-stack one; an IPv6 HOSTIP in brackets)
    #[arg(short = 'p', long = "publish", value_name = "SPEC")]
    pub publish: Vec<String>,
    /// Priority of this network for the namespace's default route: the highest wins, ties go
    /// to the earliest attach
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub gw_priority: i32,
    /// Give a namespace that has no name (NETNS a path such as /proc/PID/ns/net) a name under
    /// /run/netns, as `ip netns attach NAME PID` does, so it is reached and resolved by it
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Never give the namespace its default route through this network
    #[arg(long, conflicts_with = "gw_priority")]
    pub no_default_route: bool,
}

impl AttachArgs {
    /// `attach NETNS` alone joins the default `bridge` network, as `docker run` does.
    pub fn with_default_network(mut self) -> Self {
        if self.netns.is_empty() {
            self.netns = std::mem::replace(&mut self.network, "bridge".into());
        }
        self
    }
}

#[derive(Debug, Args)]
pub struct DetachArgs {
    /// Network to detach from (name or ID)
    #[arg(value_name = "NETWORK", value_hint = ValueHint::Other)]
    pub network: String,
    /// Namespace: a name under /run/netns or the path it was attached with
    #[arg(value_name = "NETNS", value_hint = ValueHint::Other)]
    pub netns: String,
    /// Return only when the kernel has freed everything: the veth pair deleted at once and the
    /// deleted rules freed (by default the namespace is cut off at once and that ~25 ms of
    /// kernel work finishes in the background)
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Namespace name or path
    #[arg(value_name = "NETNS", value_hint = ValueHint::Other)]
    pub netns: String,
    /// Command and its arguments, as with ip netns exec (a -- before them is optional)
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum LeaseCommand {
    /// List leases, of one network or of all
    #[command(visible_alias = "list")]
    Ls {
        /// Network whose leases to list (default: every network)
        #[arg(value_name = "NETWORK", value_hint = ValueHint::Other)]
        network: Option<String>,
        /// Print addresses only, one per line
        #[arg(short, long)]
        quiet: bool,
    },
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum NsCommand {
    /// List network namespaces and the networks they are attached to
    #[command(visible_alias = "list")]
    Ls {
        /// Print namespace names only
        #[arg(short, long, conflicts_with_all = ["output", "wide"])]
        quiet: bool,
        /// `wide`: one row per endpoint, with its MAC, host veth, bridge, default route, ports
        #[arg(short, long, value_enum)]
        output: Option<NsOutput>,
        /// As -o wide
        #[arg(long)]
        wide: bool,
    },
    /// Detach a namespace from every network, then delete it if cnet created it
    #[command(visible_alias = "remove")]
    Rm {
        /// Namespaces to remove: names under /run/netns or the paths they were attached with
        #[arg(required = true, id = "namespaces", value_name = "NETNS", value_hint = ValueHint::Other)]
        names: Vec<String>,
        /// Return only when the kernel has deleted the links too (see detach --wait)
        #[arg(long)]
        wait: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NsOutput {
    Wide,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum FirewallCommand {
    /// Re-create every rule cnet should have, from its state (after nft flush ruleset, iptables -F or a firewall manager's reload): table inet cnet is rebuilt whole, in one transaction
    Reload,
    /// Show the firewall backend (nftables, or iptables where nf_tables is missing; CNET_FIREWALL=iptables|iptables-legacy|nftables forces one), whether table inet cnet is there, and how many networks, published ports and rules it holds (with iptables: its rules in iptables and in ip6tables, and which iptables it runs: the legacy commands where nf_tables is missing)
    Status,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum LabCommand {
    /// Create the networks and attachments of FILE that are missing, then run its commands
    #[command(
        long_about = "Create what FILE describes and is missing: networks first, then \
each namespace's attachments in order, then the exec commands of the namespaces this run \
attached. What exists as FILE says is left alone, so a second run changes nothing; an object \
that exists with another definition is an error naming it, before anything is changed. Each \
object is its own command: a failure names the object and leaves what was done in place."
    )]
    Up {
        /// The lab file (TOML: [networks.NAME] and [namespaces.NAME])
        file: PathBuf,
    },
    /// Remove what FILE made: detach its namespaces, remove its networks, delete its namespaces
    #[command(
        long_about = "Remove what FILE made: detach its namespaces, remove its networks, delete \
its namespaces. It returns once everything is cut off and out of the way: links down and \
renamed (their names free at once), rules and records gone. The kernel's freeing of the links \
(one batch for the whole lab) finishes in the background, as after ns rm; --wait waits for it."
    )]
    Down {
        /// The lab file
        file: PathBuf,
        /// Return only when the kernel has deleted the lab's links too (see detach --wait)
        #[arg(long)]
        wait: bool,
    },
    /// List the lab's attachments: namespace, network, interface, address, MAC, default
    /// route, ports
    #[command(visible_alias = "list")]
    Ls {
        /// The lab file
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// How to draw: text (80 columns), dot (Graphviz) or mermaid (a `graph LR` block)
    #[arg(long, value_enum, default_value_t = GraphStyle::Text)]
    pub style: GraphStyle,
    /// Networks to draw (default: every network cnet has recorded)
    pub networks: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphStyle {
    Text,
    Dot,
    Mermaid,
}
