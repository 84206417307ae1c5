//! man/ and completions/ are generated from the CLI definition (`cargo xtask docs`); this keeps
//! them current, and checks what every man page must have.

#[path = "../xtask/src/docs.rs"]
mod docs;

use clap::CommandFactory;
use std::path::Path;

fn generated() -> std::path::PathBuf {
    let out = std::env::temp_dir().join(format!("cnet-docs-{}", std::process::id()));
    docs::generate(cnet::cli::Cli::command(), &out).expect("generate docs");
    out
}

#[test]
fn man_pages_and_completions_match_the_cli() {
    let out = generated();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["man", "completions"] {
        let mut generated: Vec<_> = std::fs::read_dir(out.join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        generated.sort();
        assert!(!generated.is_empty(), "nothing generated in {dir}/");
        let mut committed: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        committed.sort();
        assert_eq!(
            generated, committed,
            "{dir}/ has other files than the CLI makes: run `cargo xtask docs` and commit"
        );
        for name in generated {
            let fresh = std::fs::read(out.join(dir).join(&name)).unwrap();
            let committed = std::fs::read(root.join(dir).join(&name)).unwrap_or_default();
            assert!(
                fresh == committed,
                "{dir}/{} is out of date: run `cargo xtask docs` and commit",
                name.to_string_lossy()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn every_man_page_has_every_section_and_no_hidden_command() {
    let man = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let sections = [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "EXAMPLES",
        "EXIT STATUS",
        "FILES",
        "ENVIRONMENT",
        "SEE ALSO",
    ];
    let mut pages = 0;
    for entry in std::fs::read_dir(&man).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for s in sections {
            assert!(
                text.contains(&format!(".SH {s}\n")) || text.contains(&format!(".SH \"{s}\"\n")),
                "{} has no {s} section",
                path.display()
            );
        }
        // Every example section holds at least one command.
        let examples = text.split(".SH \"EXAMPLES\"").nth(1).unwrap_or_default();
        let examples = examples.split(".SH ").next().unwrap_or_default();
        assert!(
            examples.contains("cnet"),
            "{} has no example",
            path.display()
        );
        assert!(!text.contains("__complete") && !text.contains("generate\\-docs"));
        pages += 1;
    }
    for name in ["cnet-reset.1", "cnet-net-prune.1", "cnet-attach.1"] {
        assert!(man.join(name).exists(), "no man/{name}");
    }
    assert!(pages >= 21, "only {pages} man pages");
    let completions = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    // Each shell asks `cnet __complete` for network names.
    for (f, networks) in [
        ("cnet.bash", "echo networks"),
        ("_cnet", "_cnet_complete networks"),
        ("cnet.fish", "cnet __complete networks"),
    ] {
        let text = std::fs::read_to_string(completions.join(f)).unwrap();
        assert!(!text.contains("generate-docs"), "{f} offers generate-docs");
        assert!(
            text.contains(" __complete ") && text.contains(networks),
            "{f} completes no network names"
        );
    }
}
