//! Man pages and shell completions, generated from cnet's clap definition. Used by `cargo xtask
//! docs` and by tests/docs_current.rs (which checks the committed ones are current).

use clap::Command;
use clap_complete::Shell;
use clap_mangen::Man;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Write `man/` and `completions/` under `dir`.
pub fn generate(cmd: Command, dir: &Path) -> io::Result<()> {
    let man = dir.join("man");
    let comp = dir.join("completions");
    fs::create_dir_all(&man)?;
    fs::create_dir_all(&comp)?;
    let mut cmd = without_help_subcommands(cmd);
    cmd.build();
    write_man_pages(&cmd, &man)?;
    write_completions(&mut cmd, &comp)
}

/// `cnet help ...` is for the terminal; it needs no man pages or completions of its own.
fn without_help_subcommands(cmd: Command) -> Command {
    cmd.disable_help_subcommand(true)
        .mut_subcommands(without_help_subcommands)
}

fn visible_subcommands(cmd: &Command) -> impl Iterator<Item = &Command> {
    cmd.get_subcommands().filter(|s| !s.is_hide_set())
}

fn page_name(cmd: &Command) -> String {
    cmd.get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_string()
}

fn write_man_pages(cmd: &Command, dir: &Path) -> io::Result<()> {
    for sub in visible_subcommands(cmd) {
        write_man_pages(sub, dir)?;
    }
    let name = page_name(cmd);
    let mut out = Vec::new();
    let man = Man::new(cmd.clone());
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut out)?;
    }
    out.write_all(extra_sections(cmd, &name).as_bytes())?;
    if cmd.get_version().is_some() {
        man.render_version_section(&mut out)?;
    }
    fs::write(dir.join(format!("{name}.1")), out)
}

/// Text as roff: hyphens as minus signs (so they copy as `-`), backslashes escaped, and no
/// line taken for a request.
fn roff(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    text.lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

fn section(title: &str, body: &str) -> String {
    format!(".SH \"{title}\"\n{body}")
}

fn paragraph(text: &str) -> String {
    format!(".PP\n{}", roff(text))
}

/// Lines shown as typed, with a comment paragraph before each.
fn examples_body(examples: &[(&str, &str)]) -> String {
    examples
        .iter()
        .map(|(what, cmd)| {
            format!(
                "{}.PP\n.RS 4\n.nf\n{}.fi\n.RE\n",
                paragraph(what),
                roff(cmd)
            )
        })
        .collect()
}

fn extra_sections(cmd: &Command, name: &str) -> String {
    let mut s = String::new();
    s += &section("EXAMPLES", &examples_body(examples(name)));
    s += &section("EXIT STATUS", &exit_status(name));
    s += &section("FILES", &files());
    s += &section("ENVIRONMENT", &environment());
    s += &section("SEE ALSO", &see_also(cmd, name));
    s
}

fn exit_status(name: &str) -> String {
    if name == "cnet-exec-in-ns" {
        return paragraph(
            "The command's own exit status; 127 if there is no such command, 126 if it cannot \
             be run; 2 for bad usage (nothing was run), 1 if cnet could not enter the namespace.",
        );
    }
    paragraph("0: success.")
        + &paragraph(
            "1: a runtime failure (a kernel, firewall or file operation failed; what was done is rolled back), or output that could not be written.",
        )
        + &paragraph("2: bad usage or bad input; nothing was changed.")
}

fn files() -> String {
    paragraph(
        "/var/lib/cnet: cnet's state, as TOML files (networks, endpoints, leases, held ports, namespaces it created).",
    ) + &paragraph("/run/netns/NAME: the network namespaces, as ip netns makes them.")
        + &paragraph(
            "/etc/netns/NAME/hosts, /etc/netns/NAME/resolv.conf: a namespace's files, as ip netns exec and cnet exec-in-ns show them.",
        )
        + &paragraph("/run/cnet/hosts/NETWORK: the hosts file shared by a network's members.")
}

fn environment() -> String {
    paragraph("CNET_STATE_DIR: the state directory (as --state-dir).")
        + &paragraph("CNET_STORE: where shared overlays are kept (as --store).")
        + &paragraph(
            "CNET_CONFIG: the configuration file (default /etc/cnet/config.toml; key store = \"etcd://HOST:PORT\").",
        )
        + &paragraph("CNET_TIMING=1: print on standard error where a command spends its time.")
}

fn see_also(cmd: &Command, name: &str) -> String {
    let mut pages: Vec<String> = Vec::new();
    if name != "cnet" {
        // The parent page: the name without its last part.
        let parent = name.rsplit_once('-').map_or("cnet", |(p, _)| p);
        pages.push(format!("{parent}(1)"));
    }
    pages.extend(visible_subcommands(cmd).map(|s| format!("{}(1)", page_name(s))));
    pages.extend(["ip-netns(8)", "bridge(8)", "iptables(8)", "nft(8)"].map(String::from));
    paragraph(&pages.join(", "))
}

/// Each page's examples: what it shows, and the command line.
fn examples(name: &str) -> &'static [(&'static str, &'static str)] {
    match name {
        "cnet" => &[
            (
                "A network, two namespaces on it, and a ping by name:",
                "cnet net create lab --subnet 10.1.0.0/24\ncnet attach lab ns1\ncnet attach lab ns2 --alias web\ncnet exec-in-ns ns1 ping -c1 web",
            ),
            (
                "What an attach would do, as ip commands, changing nothing:",
                "cnet --dry-run attach lab ns3",
            ),
            ("Everything cnet made, removed:", "cnet reset --yes"),
        ],
        "cnet-net" => &[(
            "Create, list and remove a network:",
            "cnet net create lab\ncnet net ls\ncnet net rm lab",
        )],
        "cnet-net-create" => &[
            (
                "A bridge network with NAT on the first free subnet:",
                "cnet net create lab",
            ),
            (
                "An internal network: nothing leaves it:",
                "cnet net create vault --subnet 10.9.0.0/24 --internal",
            ),
            (
                "A dual-stack network (IPv6 beside IPv4); without --subnet6 it takes a /64 of this host's ULA /48:",
                "cnet net create lab6 --subnet 10.6.0.0/24 --ipv6 --subnet6 fd00:6::/64",
            ),
            (
                "A macvlan network on the LAN of eth0:",
                "cnet net create lan -d macvlan --parent eth0 --subnet 192.168.1.0/24 --ip-range 192.168.1.192/27",
            ),
            (
                "A VXLAN overlay to two other hosts:",
                "cnet net create ov -d overlay --vni 5000 --subnet 10.20.0.0/24 --underlay eth1 --peer 192.0.2.2 --peer 192.0.2.3",
            ),
            (
                "The same overlay on every host, VNI, subnet and peers kept in etcd:",
                "cnet --store etcd://10.9.0.5:2379 net create ov -d overlay",
            ),
        ],
        "cnet-net-rm" => &[
            (
                "Remove a network, detaching its namespaces first:",
                "cnet net rm --force lab",
            ),
            (
                "Remove every network (predefined ones with nothing to remove are left alone):",
                "cnet net rm -f $(cnet net ls -q)",
            ),
        ],
        "cnet-net-ls" => &[
            (
                "The networks, as a table and as JSON:",
                "cnet net ls\ncnet --format json net ls",
            ),
            ("Their names only:", "cnet net ls -q"),
        ],
        "cnet-net-inspect" => &[
            (
                "A network in detail, by name or by ID prefix:",
                "cnet net inspect lab\ncnet net inspect 3f2a",
            ),
            (
                "Its endpoints as a table:",
                "cnet --format table net inspect lab",
            ),
        ],
        "cnet-net-prune" => &[(
            "Remove every network no namespace is attached to, without asking:",
            "cnet net prune -f",
        )],
        "cnet-net-peer" => &[(
            "Change the peers of a live overlay:",
            "cnet net peer add ov 192.0.2.4\ncnet net peer rm ov 192.0.2.3",
        )],
        "cnet-net-peer-add" => &[("Flood to one more host:", "cnet net peer add ov 192.0.2.4")],
        "cnet-net-peer-rm" => &[("Cut a host off:", "cnet net peer rm ov 192.0.2.3")],
        "cnet-attach" => &[
            (
                "Attach ns1 to network lab (creating ns1 if needed):",
                "cnet attach lab ns1",
            ),
            (
                "Join the default bridge network, as docker run does:",
                "cnet attach ns1",
            ),
            (
                "A static address, an alias and a published port:",
                "cnet attach lab web --ip 10.1.0.10 --alias www -p 8080:80",
            ),
            (
                "On an overlay (not --internal), a published port, through a second interface on the gateway bridge cnet_gwbridge:",
                "cnet attach ov web -p 8081:80",
            ),
            (
                "Static addresses of both families on a dual-stack network:",
                "cnet attach lab6 web --ip 10.6.0.10 --ip6 fd00:6::10",
            ),
            (
                "A process's namespace:",
                "cnet attach lab /proc/1234/ns/net",
            ),
            (
                "The same, named app from then on (as ip netns attach app 1234):",
                "cnet attach lab /proc/1234/ns/net --name app",
            ),
        ],
        "cnet-detach" => &[(
            "Detach ns2; its address is kept for it:",
            "cnet detach lab ns2",
        )],
        "cnet-exec-in-ns" => &[(
            "Run a command in a namespace (the -- is optional):",
            "cnet exec-in-ns ns1 ping -c1 ns2\ncnet exec-in-ns ns1 -- ip -4 addr",
        )],
        "cnet-lease" => &[("The leases of every network:", "cnet lease ls")],
        "cnet-lease-ls" => &[(
            "The leases of one network, and its leased addresses only:",
            "cnet lease ls lab\ncnet lease ls lab -q",
        )],
        "cnet-ns" => &[("The namespaces and their networks:", "cnet ns ls")],
        "cnet-ns-ls" => &[
            (
                "The namespaces, and one row per endpoint:",
                "cnet ns ls\ncnet ns ls -o wide",
            ),
            ("Their names only:", "cnet ns ls -q"),
        ],
        "cnet-ns-rm" => &[(
            "Detach ns1 and ns2 from every network and delete them:",
            "cnet ns rm ns1 ns2",
        )],
        "cnet-firewall" => &[
            (
                "Put cnet's rules back after a flush:",
                "cnet firewall reload",
            ),
            (
                "Which backend, and what is installed:",
                "cnet firewall status",
            ),
        ],
        "cnet-firewall-reload" => &[(
            "Put cnet's rules back after a flush:",
            "nft flush ruleset\ncnet firewall reload",
        )],
        "cnet-firewall-status" => &[
            (
                "The backend and the table's contents:",
                "cnet firewall status",
            ),
            (
                "Force the iptables fallback, and see it:",
                "CNET_FIREWALL=iptables cnet firewall status",
            ),
        ],
        "cnet-lab" => &[(
            "Bring a lab up, list who has what, take it down:",
            "cnet lab up examples/lab.toml\ncnet lab ls examples/lab.toml\ncnet lab down examples/lab.toml",
        )],
        "cnet-lab-up" => &[(
            "Create what the file describes and is missing (twice changes nothing):",
            "cnet lab up examples/lab.toml",
        )],
        "cnet-lab-down" => &[
            (
                "Remove what the file describes (the kernel frees the links in the background):",
                "cnet lab down examples/lab.toml",
            ),
            (
                "The same, returning only once the kernel has deleted the links:",
                "cnet lab down --wait examples/lab.toml",
            ),
        ],
        "cnet-lab-ls" => &[(
            "The instructor's table, and the same as JSON:",
            "cnet lab ls examples/lab.toml\ncnet --format json lab ls examples/lab.toml",
        )],
        "cnet-graph" => &[
            ("Every network, drawn for a terminal:", "cnet graph"),
            (
                "Two networks as an SVG, and as a Mermaid block for Markdown:",
                "cnet graph --style dot front back | dot -Tsvg > lab.svg\ncnet graph --style mermaid",
            ),
        ],
        "cnet-gc" => &[
            (
                "See what disagrees between state and kernel, and what gc would do:",
                "cnet --dry-run gc",
            ),
            ("Repair it:", "cnet gc"),
        ],
        "cnet-restore" => &[(
            "After a reboot (examples/cnet-restore.service runs it at boot):",
            "cnet restore",
        )],
        "cnet-agent" => &[(
            "On every host of overlays shared through etcd:",
            "cnet --store etcd://10.9.0.5:2379 agent",
        )],
        "cnet-reset" => &[
            ("Remove everything cnet made, asking first:", "cnet reset"),
            ("The same in a script:", "cnet reset --yes"),
        ],
        _ => &[],
    }
}

/// The clap-generated scripts, with names, drivers, modes and interfaces completed by
/// `cnet __complete KIND` (the hand-written parts are in completions/).
fn write_completions(cmd: &mut Command, dir: &Path) -> io::Result<()> {
    let value_opts = options_with_values(cmd);
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let mut text = Vec::new();
        clap_complete::generate(shell, cmd, "cnet", &mut text);
        let text = String::from_utf8(text).expect("completion scripts are UTF-8");
        let (file, script) = match shell {
            Shell::Bash => ("cnet.bash", bash(&text, &value_opts)),
            Shell::Zsh => ("_cnet", zsh(&text)),
            _ => ("cnet.fish", fish(&text, &value_opts)),
        };
        fs::write(dir.join(file), script)?;
    }
    Ok(())
}

/// Every option that takes a value, as typed (`--subnet`, `-p`), anywhere in the CLI.
fn options_with_values(cmd: &Command) -> Vec<String> {
    let mut out = Vec::new();
    for arg in cmd.get_arguments() {
        if arg.is_positional() || !arg.get_action().takes_values() {
            continue;
        }
        out.extend(arg.get_long().map(|l| format!("--{l}")));
        out.extend(arg.get_short().map(|c| format!("-{c}")));
    }
    for sub in cmd.get_subcommands() {
        out.extend(options_with_values(sub));
    }
    out.sort();
    out.dedup();
    out
}

fn bash(generated: &str, value_opts: &[String]) -> String {
    // The generated script ends registering its function: the wrapper below does that.
    let body = generated
        .split("\nif [[ \"${BASH_VERSINFO")
        .next()
        .unwrap_or(generated);
    let renamed = body.replace("_cnet() {", "_cnet_clap() {");
    format!(
        "{renamed}\n{}",
        include_str!("completions/cnet.bash").replace("@VALUE_OPTS@", &value_opts.join(" "))
    )
}

/// Positionals and options by their id or value name, with the kind `cnet __complete` gives.
const ZSH_KINDS: [(&str, &str); 10] = [
    ("':network ", "networks"),
    ("'*::networks ", "networks"),
    ("':netns ", "namespaces"),
    ("'*::namespaces ", "namespaces"),
    (":DRIVER:", "drivers"),
    (":MODE:", "modes"),
    (":PARENT:", "parents"),
    (":UNDERLAY:", "parents"),
    ("'::network ", "networks"),
    ("'::netns ", "namespaces"),
];

fn zsh(generated: &str) -> String {
    let mut out = String::new();
    for line in generated.lines() {
        let kind = ZSH_KINDS
            .iter()
            .find(|(needle, _)| line.contains(needle) && line.ends_with(":' \\"))
            .map(|(_, kind)| kind);
        match kind {
            Some(kind) => {
                let head = &line[..line.len() - "' \\".len()];
                out += &format!("{head}_cnet_complete {kind}' \\\n");
            }
            None => {
                out += line;
                out.push('\n');
            }
        }
    }
    // The command as typed, for `_cnet_complete`: inside a subcommand `words` starts at it.
    out.replacen(
        "#compdef cnet\n",
        &format!("#compdef cnet\n{}", include_str!("completions/_cnet")),
        1,
    )
    .replacen(
        "_cnet() {\n",
        "_cnet() {\n    local _cnet_command=${words[1]}\n",
        1,
    )
}

fn fish(generated: &str, value_opts: &[String]) -> String {
    format!(
        "{generated}{}",
        include_str!("completions/cnet.fish").replace("@VALUE_OPTS@", &value_opts.join(" "))
    )
}
