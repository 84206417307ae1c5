# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_cnet_global_optspecs
    string join \n state-dir= store= format= dry-run v/verbose h/help V/version
end

function __fish_cnet_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_cnet_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_cnet_using_subcommand
    set -l cmd (__fish_cnet_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c cnet -n "__fish_cnet_needs_command" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_needs_command" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_needs_command" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_needs_command" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_needs_command" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnet -n "__fish_cnet_needs_command" -s V -l version -d 'Print version'
complete -c cnet -n "__fish_cnet_needs_command" -f -a "net" -d 'Create, remove, list and inspect networks'
complete -c cnet -n "__fish_cnet_needs_command" -f -a "attach" -d 'Attach a network namespace to a network (creating the namespace if needed)'
complete -c cnet -n "__fish_cnet_needs_command" -f -a "detach" -d 'Detach a network namespace from a network, releasing its address'
complete -c cnet -n "__fish_cnet_needs_command" -f -a "exec-in-ns" -d 'Run a command inside a network namespace, with its hosts and resolv.conf'
complete -c cnet -n "__fish_cnet_needs_command" -f -a "lease" -d 'Show address leases'
complete -c cnet -n "__fish_cnet_needs_command" -f -a "ns" -d 'List and remove network namespaces'
complete -c cnet -n "__fish_cnet_needs_command" -f -a "firewall" -d 'Manage cnet\'s firewall rules'
complete -c cnet -n "__fish_cnet_needs_command" -f -a "gc" -d 'Repair where state and kernel disagree: interrupted commands, released namespaces, missing bridges and rules, unrecorded links (--dry-run: print the repairs\' plans)'
complete -c cnet -n "__fish_cnet_needs_command" -f -a "restore" -d 'Re-create every network\'s links and firewall after a boot, and release what the boot took (run by examples/cnet-restore.service)'
complete -c cnet -n "__fish_cnet_needs_command" -f -a "agent" -d 'Keep this host\'s shared overlays in step with etcd: hosts, endpoints and names of the other hosts (foreground; needs --store etcd://...)'
complete -c cnet -n "__fish_cnet_needs_command" -f -a "lab" -d 'Bring up, take down and list a lab described in a TOML file'
complete -c cnet -n "__fish_cnet_needs_command" -f -a "graph" -d 'Draw networks, their namespaces, overlay peers and published ports'
complete -c cnet -n "__fish_cnet_needs_command" -f -a "reset" -d 'Remove everything cnet made: endpoints, networks (the default one\'s too), their rules and tables, the namespaces it created, its hosts files'
complete -c cnet -n "__fish_cnet_using_subcommand net; and not __fish_seen_subcommand_from create rm remove ls list inspect prune peer" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand net; and not __fish_seen_subcommand_from create rm remove ls list inspect prune peer" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand net; and not __fish_seen_subcommand_from create rm remove ls list inspect prune peer" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand net; and not __fish_seen_subcommand_from create rm remove ls list inspect prune peer" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand net; and not __fish_seen_subcommand_from create rm remove ls list inspect prune peer" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand net; and not __fish_seen_subcommand_from create rm remove ls list inspect prune peer" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand net; and not __fish_seen_subcommand_from create rm remove ls list inspect prune peer" -f -a "create" -d 'Create a network'
complete -c cnet -n "__fish_cnet_using_subcommand net; and not __fish_seen_subcommand_from create rm remove ls list inspect prune peer" -f -a "rm" -d 'Remove networks'
complete -c cnet -n "__fish_cnet_using_subcommand net; and not __fish_seen_subcommand_from create rm remove ls list inspect prune peer" -f -a "remove" -d 'Remove networks'
complete -c cnet -n "__fish_cnet_using_subcommand net; and not __fish_seen_subcommand_from create rm remove ls list inspect prune peer" -f -a "ls" -d 'List networks'
complete -c cnet -n "__fish_cnet_using_subcommand net; and not __fish_seen_subcommand_from create rm remove ls list inspect prune peer" -f -a "list" -d 'List networks'
complete -c cnet -n "__fish_cnet_using_subcommand net; and not __fish_seen_subcommand_from create rm remove ls list inspect prune peer" -f -a "inspect" -d 'Show networks in detail, with their endpoints (JSON, or the endpoint table with --format table)'
complete -c cnet -n "__fish_cnet_using_subcommand net; and not __fish_seen_subcommand_from create rm remove ls list inspect prune peer" -f -a "prune" -d 'Remove every network with no namespace attached (never a predefined one)'
complete -c cnet -n "__fish_cnet_using_subcommand net; and not __fish_seen_subcommand_from create rm remove ls list inspect prune peer" -f -a "peer" -d 'Add or remove a peer VTEP of a vxlan network, leaving attached namespaces alone'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -s d -l driver -d 'Driver: bridge, host, none, macvlan, ipvlan, vxlan (alias overlay)' -r -f
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l subnet -d 'Subnet in CIDR form (default: the first free /16, /20 or /24 of the default pools)' -r
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l gateway -d 'Gateway address (default: the subnet\'s first host address)' -r
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l ip-range -d 'Lease addresses only from this sub-range (CIDR)' -r
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l subnet6 -d 'IPv6 subnet in CIDR form, at most a /120 (default: the next free /64 of this host\'s ULA /48); needs --ipv6' -r
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l gateway6 -d 'IPv6 gateway address (default: the IPv6 subnet\'s first host address); needs --ipv6' -r
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l mtu -d 'MTU of the bridge and every veth' -r
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l parent -d 'Parent interface (macvlan, ipvlan)' -r -f
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l mode -d 'Driver mode (macvlan: bridge|private|vepa|passthru, ipvlan: l2|l3|l3s)' -r -f
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l vni -d 'VXLAN network identifier (with the etcd store: a free one when not given)' -r
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l local -d 'Local underlay address (vxlan)' -r
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l peer -d 'Peer VTEP address (vxlan), repeatable' -r
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l dstport -d 'VXLAN UDP destination port' -r
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l underlay -d 'Underlay interface or address (vxlan): its address is the local VTEP, its MTU minus 50 the default MTU (with the etcd store: the default route\'s interface when not given)' -r -f
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -s o -l opt -d 'Driver option KEY=VALUE, repeatable. bridge: bridge_name=, mtu= (and Docker\'s com.docker.network.bridge.name=, com.docker.network.driver.mtu=); macvlan/ipvlan: parent=, macvlan_mode=, ipvlan_mode=, host_shim=true, mtu=; vxlan: bridge_name=, mtu=, vni= (and com.docker.network.driver.overlay.vxlanid_list=)' -r
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l ipv6 -d 'Dual stack: IPv6 beside IPv4 (bridge, macvlan, ipvlan, vxlan)'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l internal -d 'No default route, no NAT: nothing leaves the network'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from rm" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from rm" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from rm" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from rm" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from rm" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from rm" -s f -l force -d 'Detach every attached namespace first'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from remove" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from remove" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from remove" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from remove" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from remove" -s f -l force -d 'Detach every attached namespace first'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from ls" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from ls" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from ls" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from ls" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Print network names only'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from list" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from list" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from list" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from list" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print network names only'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from inspect" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from inspect" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from inspect" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from inspect" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from inspect" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from inspect" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from prune" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from prune" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from prune" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from prune" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from prune" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from prune" -s f -l force -d 'Do not ask (required when standard input is not a terminal)'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from peer" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from peer" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from peer" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from peer" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from peer" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from peer" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from peer" -f -a "add" -d 'Flood broadcast and unknown unicast to one more host (bridge fdb append)'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from peer" -f -a "rm" -d 'Stop sending to a host: its flood entry and the MACs learned behind it go'
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from peer" -f -a "remove" -d 'Stop sending to a host: its flood entry and the MACs learned behind it go'
complete -c cnet -n "__fish_cnet_using_subcommand attach" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand attach" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand attach" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand attach" -l ip -d 'Static address (must be free and inside the network\'s range)' -r
complete -c cnet -n "__fish_cnet_using_subcommand attach" -l ip6 -d 'Static IPv6 address (dual-stack networks; must be free and inside the IPv6 subnet)' -r
complete -c cnet -n "__fish_cnet_using_subcommand attach" -l ifname -d 'Interface name inside the namespace (default: the first free ethN)' -r
complete -c cnet -n "__fish_cnet_using_subcommand attach" -l mac -d 'MAC address of the interface inside the namespace' -r
complete -c cnet -n "__fish_cnet_using_subcommand attach" -l alias -d 'Extra host name the other members resolve to this namespace, repeatable' -r
complete -c cnet -n "__fish_cnet_using_subcommand attach" -s p -l publish -d 'Publish a port: [HOSTIP:]HOSTPORT[-END]:PORT[-END][/tcp|udp|sctp], repeatable (bridge networks, and overlays through the gateway bridge cnet_gwbridge; both families on a dual-stack one; an IPv6 HOSTIP in brackets)' -r
complete -c cnet -n "__fish_cnet_using_subcommand attach" -l gw-priority -d 'Priority of this network for the namespace\'s default route: the highest wins, ties go to the earliest attach' -r
complete -c cnet -n "__fish_cnet_using_subcommand attach" -l name -d 'Give a namespace that has no name (NETNS a path such as /proc/PID/ns/net) a name under /run/netns, as `ip netns attach NAME PID` does, so it is reached and resolved by it' -r
complete -c cnet -n "__fish_cnet_using_subcommand attach" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand attach" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand attach" -l no-default-route -d 'Never give the namespace its default route through this network'
complete -c cnet -n "__fish_cnet_using_subcommand attach" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand detach" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand detach" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand detach" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand detach" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand detach" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand detach" -l wait -d 'Return only when the kernel has freed everything: the veth pair deleted at once and the deleted rules freed (by default the namespace is cut off at once and that ~25 ms of kernel work finishes in the background)'
complete -c cnet -n "__fish_cnet_using_subcommand detach" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand exec-in-ns" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand exec-in-ns" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand exec-in-ns" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand exec-in-ns" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand exec-in-ns" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand exec-in-ns" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand lease; and not __fish_seen_subcommand_from ls list" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand lease; and not __fish_seen_subcommand_from ls list" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand lease; and not __fish_seen_subcommand_from ls list" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand lease; and not __fish_seen_subcommand_from ls list" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand lease; and not __fish_seen_subcommand_from ls list" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand lease; and not __fish_seen_subcommand_from ls list" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand lease; and not __fish_seen_subcommand_from ls list" -f -a "ls" -d 'List leases, of one network or of all'
complete -c cnet -n "__fish_cnet_using_subcommand lease; and not __fish_seen_subcommand_from ls list" -f -a "list" -d 'List leases, of one network or of all'
complete -c cnet -n "__fish_cnet_using_subcommand lease; and __fish_seen_subcommand_from ls" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand lease; and __fish_seen_subcommand_from ls" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand lease; and __fish_seen_subcommand_from ls" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand lease; and __fish_seen_subcommand_from ls" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand lease; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand lease; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Print addresses only, one per line'
complete -c cnet -n "__fish_cnet_using_subcommand lease; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand lease; and __fish_seen_subcommand_from list" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand lease; and __fish_seen_subcommand_from list" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand lease; and __fish_seen_subcommand_from list" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand lease; and __fish_seen_subcommand_from list" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand lease; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand lease; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print addresses only, one per line'
complete -c cnet -n "__fish_cnet_using_subcommand lease; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and not __fish_seen_subcommand_from ls list rm remove" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand ns; and not __fish_seen_subcommand_from ls list rm remove" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand ns; and not __fish_seen_subcommand_from ls list rm remove" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand ns; and not __fish_seen_subcommand_from ls list rm remove" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and not __fish_seen_subcommand_from ls list rm remove" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and not __fish_seen_subcommand_from ls list rm remove" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and not __fish_seen_subcommand_from ls list rm remove" -f -a "ls" -d 'List network namespaces and the networks they are attached to'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and not __fish_seen_subcommand_from ls list rm remove" -f -a "list" -d 'List network namespaces and the networks they are attached to'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and not __fish_seen_subcommand_from ls list rm remove" -f -a "rm" -d 'Detach a namespace from every network, then delete it if cnet created it'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and not __fish_seen_subcommand_from ls list rm remove" -f -a "remove" -d 'Detach a namespace from every network, then delete it if cnet created it'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from ls" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from ls" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from ls" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from ls" -s o -l output -d '`wide`: one row per endpoint, with its MAC, host veth, bridge, default route, ports' -r -f -a "wide\t''"
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from ls" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Print namespace names only'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from ls" -l wide -d 'As -o wide'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from list" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from list" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from list" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from list" -s o -l output -d '`wide`: one row per endpoint, with its MAC, host veth, bridge, default route, ports' -r -f -a "wide\t''"
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from list" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print namespace names only'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from list" -l wide -d 'As -o wide'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from rm" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from rm" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from rm" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from rm" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from rm" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from rm" -l wait -d 'Return only when the kernel has deleted the links too (see detach --wait)'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from remove" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from remove" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from remove" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from remove" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from remove" -l wait -d 'Return only when the kernel has deleted the links too (see detach --wait)'
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand firewall; and not __fish_seen_subcommand_from reload status" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand firewall; and not __fish_seen_subcommand_from reload status" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand firewall; and not __fish_seen_subcommand_from reload status" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand firewall; and not __fish_seen_subcommand_from reload status" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand firewall; and not __fish_seen_subcommand_from reload status" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand firewall; and not __fish_seen_subcommand_from reload status" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand firewall; and not __fish_seen_subcommand_from reload status" -f -a "reload" -d 'Re-create every rule cnet should have, from its state (after nft flush ruleset, iptables -F or a firewall manager\'s reload): table inet cnet is rebuilt whole, in one transaction'
complete -c cnet -n "__fish_cnet_using_subcommand firewall; and not __fish_seen_subcommand_from reload status" -f -a "status" -d 'Show the firewall backend (nftables, or iptables where nf_tables is missing; CNET_FIREWALL=iptables|iptables-legacy|nftables forces one), whether table inet cnet is there, and how many networks, published ports and rules it holds (with iptables: its rules in iptables and in ip6tables, and which iptables it runs: the legacy commands where nf_tables is missing)'
complete -c cnet -n "__fish_cnet_using_subcommand firewall; and __fish_seen_subcommand_from reload" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand firewall; and __fish_seen_subcommand_from reload" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand firewall; and __fish_seen_subcommand_from reload" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand firewall; and __fish_seen_subcommand_from reload" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand firewall; and __fish_seen_subcommand_from reload" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand firewall; and __fish_seen_subcommand_from reload" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand firewall; and __fish_seen_subcommand_from status" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand firewall; and __fish_seen_subcommand_from status" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand firewall; and __fish_seen_subcommand_from status" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand firewall; and __fish_seen_subcommand_from status" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand firewall; and __fish_seen_subcommand_from status" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand firewall; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand gc" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand gc" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand gc" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand gc" -l grace -d 'With the etcd store: how long a host must have been down before its leases are released' -r
complete -c cnet -n "__fish_cnet_using_subcommand gc" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand gc" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand gc" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnet -n "__fish_cnet_using_subcommand restore" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand restore" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand restore" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand restore" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand restore" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand restore" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand agent" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand agent" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand agent" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand agent" -l ttl -d 'Seconds this host stays alive for the others after its agent stops (the etcd lease the agent renews)' -r
complete -c cnet -n "__fish_cnet_using_subcommand agent" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand agent" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand agent" -l once -d 'Bring the overlays in step once and exit'
complete -c cnet -n "__fish_cnet_using_subcommand agent" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnet -n "__fish_cnet_using_subcommand lab; and not __fish_seen_subcommand_from up down ls list" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand lab; and not __fish_seen_subcommand_from up down ls list" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand lab; and not __fish_seen_subcommand_from up down ls list" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand lab; and not __fish_seen_subcommand_from up down ls list" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand lab; and not __fish_seen_subcommand_from up down ls list" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand lab; and not __fish_seen_subcommand_from up down ls list" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand lab; and not __fish_seen_subcommand_from up down ls list" -f -a "up" -d 'Create the networks and attachments of FILE that are missing, then run its commands'
complete -c cnet -n "__fish_cnet_using_subcommand lab; and not __fish_seen_subcommand_from up down ls list" -f -a "down" -d 'Remove what FILE made: detach its namespaces, remove its networks, delete its namespaces'
complete -c cnet -n "__fish_cnet_using_subcommand lab; and not __fish_seen_subcommand_from up down ls list" -f -a "ls" -d 'List the lab\'s attachments: namespace, network, interface, address, MAC, default route, ports'
complete -c cnet -n "__fish_cnet_using_subcommand lab; and not __fish_seen_subcommand_from up down ls list" -f -a "list" -d 'List the lab\'s attachments: namespace, network, interface, address, MAC, default route, ports'
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from up" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from up" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from up" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from up" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from up" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from up" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from down" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from down" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from down" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from down" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from down" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from down" -l wait -d 'Return only when the kernel has deleted the lab\'s links too (see detach --wait)'
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from down" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from ls" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from ls" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from ls" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from ls" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from list" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from list" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from list" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from list" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand lab; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand graph" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand graph" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand graph" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand graph" -l style -d 'How to draw: text (80 columns), dot (Graphviz) or mermaid (a `graph LR` block)' -r -f -a "text\t''
dot\t''
mermaid\t''"
complete -c cnet -n "__fish_cnet_using_subcommand graph" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand graph" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand graph" -s h -l help -d 'Print help'
complete -c cnet -n "__fish_cnet_using_subcommand reset" -l state-dir -d 'Directory holding cnet\'s state' -r -F
complete -c cnet -n "__fish_cnet_using_subcommand reset" -l store -d 'Where overlay networks shared by several hosts are kept: etcd://HOST:PORT[,HOST:PORT...] (default: this host\'s files only; also `store = "..."` in /etc/cnet/config.toml)' -r
complete -c cnet -n "__fish_cnet_using_subcommand reset" -l format -d 'Output format: table (default) or json; `net inspect` prints json unless given table' -r -f -a "table\t''
json\t''"
complete -c cnet -n "__fish_cnet_using_subcommand reset" -l dry-run -d 'Print the equivalent ip/iptables commands and change nothing'
complete -c cnet -n "__fish_cnet_using_subcommand reset" -s v -l verbose -d 'Say more: the DHCP-style lease steps, the commands applied, error causes'
complete -c cnet -n "__fish_cnet_using_subcommand reset" -s y -l yes -d 'Do not ask (required when standard input is not a terminal)'
complete -c cnet -n "__fish_cnet_using_subcommand reset" -s h -l help -d 'Print help'

# Names, drivers, modes and interfaces come from cnet itself (`cnet __complete KIND`).

# How many positional words the command line has before the cursor, after cnet's command
# (options and their values left out): which argument is being completed.
function __fish_cnet_positionals
    set -l value_opts --alias --driver --dstport --format --gateway --gateway6 --grace --gw-priority --ifname --ip --ip-range --ip6 --local --mac --mode --mtu --name --opt --output --parent --peer --publish --state-dir --store --style --subnet --subnet6 --ttl --underlay --vni -d -o -p
    set -l words (commandline -opc)
    set -l n 0
    set -l skip 0
    for word in $words[2..-1]
        if test $skip = 1
            set skip 0
        else if string match -q -- '-*' $word
            contains -- $word $value_opts; and set skip 1
        else
            set n (math $n + 1)
        end
    end
    # The command itself (attach, detach...) is the first.
    math $n - 1
end

complete -c cnet -n "__fish_cnet_using_subcommand attach; and test (__fish_cnet_positionals) = 0" -f -a "(cnet __complete networks; cnet __complete namespaces)"
complete -c cnet -n "__fish_cnet_using_subcommand attach; and test (__fish_cnet_positionals) = 1" -f -a "(cnet __complete namespaces)"
complete -c cnet -n "__fish_cnet_using_subcommand detach; and test (__fish_cnet_positionals) = 0" -f -a "(cnet __complete networks)"
complete -c cnet -n "__fish_cnet_using_subcommand detach; and test (__fish_cnet_positionals) = 1" -f -a "(cnet __complete namespaces)"
complete -c cnet -n "__fish_cnet_using_subcommand exec-in-ns; and test (__fish_cnet_positionals) = 0" -f -a "(cnet __complete namespaces)"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from rm remove inspect" -f -a "(cnet __complete networks)"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from add rm remove; and __fish_seen_subcommand_from peer" -f -a "(cnet __complete networks)"
complete -c cnet -n "__fish_cnet_using_subcommand lease; and __fish_seen_subcommand_from ls list" -f -a "(cnet __complete networks)"
complete -c cnet -n "__fish_cnet_using_subcommand ns; and __fish_seen_subcommand_from rm remove" -f -a "(cnet __complete namespaces)"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -s d -l driver -x -a "(cnet __complete drivers)"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l mode -x -a "(cnet __complete modes)"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l parent -x -a "(cnet __complete parents)"
complete -c cnet -n "__fish_cnet_using_subcommand net; and __fish_seen_subcommand_from create" -l underlay -x -a "(cnet __complete parents)"
