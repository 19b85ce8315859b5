//! Compiles every `checks/*.toml` page into the binary, so that an SRE edits knowledge as data and a
//! new page cannot be forgotten in a hand-written list.

use std::{env, fs, path::Path};

/// The file that names and orders the report's groups, the one that describes vantage points, and
/// the agent's log signatures; every other file is a check's page.
const AREAS: &str = "areas.toml";
const VANTAGES: &str = "vantages.toml";
/// What the SSM agent's known log lines mean.
const SIGNATURES: &str = "agent-signatures.toml";

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("checks");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("checks/ directory")
        .map(|e| e.expect("checks/ entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n != AREAS && n != VANTAGES && n != SIGNATURES)
        })
        .collect();
    files.sort();
    let mut out = String::from("pub static CHECK_PAGES: &[(&str, &str)] = &[\n");
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_name().unwrap().to_string_lossy();
        out.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    out.push_str("];\n");
    out.push_str(&format!(
        "pub static AREAS: &str = include_str!({:?});\n",
        dir.join(AREAS).display().to_string()
    ));
    out.push_str(&format!(
        "pub static VANTAGES: &str = include_str!({:?});\n",
        dir.join(VANTAGES).display().to_string()
    ));
    out.push_str(&format!(
        "pub static SIGNATURES: &str = include_str!({:?});\n",
        dir.join(SIGNATURES).display().to_string()
    ));
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("check_pages.rs");
    fs::write(dest, out).expect("write check_pages.rs");
}
