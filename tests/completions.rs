//! The completion scripts in completions/, loaded by the real shells: bash, zsh (driven through
//! a pseudo-terminal, as a user pressing TAB) and fish. Each must offer the network and
//! namespace names `cnet __complete` reads from the state, and driver names (not files) after
//! `-d`. A shell that is not installed is skipped with a printed reason (CI installs them all).

mod common;

use common::Sandbox;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/completions");

/// Networks `lab` and `other`, namespace `ns1` on lab, and files in the directory the shells
/// run in that a file completion would offer.
fn world() -> Sandbox {
    let sb = Sandbox::new();
    for (net, subnet) in [("lab", "10.1.0.0/24"), ("other", "10.2.0.0/24")] {
        sb.cnet(&["net", "create", net, "--subnet", subnet]).ok();
    }
    sb.cnet(&["attach", "lab", "ns1"]).ok();
    sb.sh("mkdir -p /run/cwd && touch /run/cwd/bridge.txt /run/cwd/notes")
        .ok();
    sb
}

/// Whether `shell` is installed; if not, say so (the test is then skipped, not passed).
fn have(sb: &Sandbox, shell: &str) -> bool {
    let found = sb.sh(&format!("command -v {shell}")).succeeded();
    if !found {
        eprintln!("skipped: {shell} is not installed (apt-get install {shell})");
    }
    found
}

/// The checks every shell must pass, given how it completes a command line.
fn check(shell: &str, complete: impl Fn(&str) -> Vec<String>) {
    let attach = complete("cnet attach ");
    for name in ["lab", "other"] {
        assert!(
            attach.iter().any(|w| w == name),
            "{shell}: attach <TAB>: {attach:?}"
        );
    }
    assert_eq!(complete("cnet attach o"), ["other"], "{shell}");
    assert_eq!(complete("cnet detach lab "), ["ns1"], "{shell}");
    assert_eq!(complete("cnet ns rm n"), ["ns1"], "{shell}");
    assert_eq!(complete("cnet net rm l"), ["lab"], "{shell}");
    let drivers = complete("cnet net create x -d ");
    assert_eq!(
        drivers,
        [
            "bridge", "host", "ipvlan", "macvlan", "none", "overlay", "vxlan"
        ],
        "{shell}: -d offers drivers, no file"
    );
    assert_eq!(
        complete("cnet net create x --mode pa"),
        ["passthru"],
        "{shell}"
    );
    let top = complete("cnet ");
    assert!(top.iter().any(|w| w == "attach"), "{shell}: {top:?}");
    assert!(
        !top.iter()
            .any(|w| w.contains("generate") || w.contains("__complete")),
        "{shell}: a hidden command offered: {top:?}"
    );
}

fn sorted(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default().trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn bash_completes_names_and_drivers() {
    let sb = world();
    if !have(&sb, "bash") {
        return;
    }
    check("bash", |line| {
        let r = sb.run(&[
            "bash",
            "-c",
            &format!(
                "cd /run/cwd; . {DIR}/cnet.bash; line='{line}'; COMP_LINE=$line; \
                 COMP_POINT=${{#line}}; read -ra COMP_WORDS <<<\"$line\"; \
                 [ \"${{line: -1}}\" = ' ' ] && COMP_WORDS+=(''); \
                 COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
                 _cnet cnet \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
                 printf '%s\\n' \"${{COMPREPLY[@]}}\""
            ),
        ]);
        sorted(&r.ok().stdout)
    });
}

/// Type `line` and TAB into an interactive zsh on a pseudo-terminal (zsh/zpty), with compinit
/// loading completions/_cnet; every candidate its completion adds is printed as `<<WORD>>`.
const ZSH_DRIVER: &str = r#"
zmodload zsh/zpty
zpty z zsh -f -i
drain() { local chunk; out=""; sleep $1; while zpty -r -t z chunk 2>/dev/null; do out+=$chunk; done }
zpty -w z "PS1='> '; cd /run/cwd; fpath=($DIR \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd () { if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi; typeset -a hits; builtin compadd -A hits "$@"; (( $#hits )) || return 1; local h; for h in $hits; do print -r -- "<<$h>>"; done; builtin compadd "$@" }'
drain 0.5
zpty -w -n z "$LINE"$'\t'
drain 1
print -r -- "$out" | grep -ao '<<[^>]*>>' | sed 's/^<<//; s/>>$//'
zpty -d z
"#;

#[test]
fn zsh_completes_names_and_drivers() {
    let sb = world();
    if !have(&sb, "zsh") {
        return;
    }
    check("zsh", |line| {
        let r = sb.run(&[
            "env",
            &format!("DIR={DIR}"),
            &format!("LINE={line}"),
            "zsh",
            "-f",
            "-c",
            ZSH_DRIVER,
        ]);
        sorted(&r.ok().stdout)
    });
}

#[test]
fn fish_completes_names_and_drivers() {
    let sb = world();
    if !have(&sb, "fish") {
        return;
    }
    check("fish", |line| {
        let r = sb.run(&[
            "fish",
            "--no-config",
            "-c",
            &format!("cd /run/cwd; source {DIR}/cnet.fish; complete -C '{line}'"),
        ]);
        sorted(&r.ok().stdout)
    });
}
