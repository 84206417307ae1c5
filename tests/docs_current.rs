//! man/ and completions/ are generated from the CLI definition; this keeps them current.

use std::path::Path;
use std::process::Command;

#[test]
fn man_pages_and_completions_match_the_cli() {
    let out = std::env::temp_dir().join(format!("cnet-docs-{}", std::process::id()));
    let status = Command::new(env!("CARGO_BIN_EXE_cnet"))
        .arg("generate-docs")
        .arg(&out)
        .status()
        .expect("run cnet generate-docs");
    assert!(status.success());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["man", "completions"] {
        let mut generated: Vec<_> = std::fs::read_dir(out.join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        generated.sort();
        assert!(!generated.is_empty(), "nothing generated in {dir}/");
        for name in generated {
            let fresh = std::fs::read(out.join(dir).join(&name)).unwrap();
            let committed = std::fs::read(root.join(dir).join(&name)).unwrap_or_default();
            assert!(
                fresh == committed,
                "{dir}/{} is out of date: run `cargo run -- generate-docs .` and commit",
                name.to_string_lossy()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&out);
}
