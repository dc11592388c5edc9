//! Refuses to build when `patterns/routes.toml` or a pattern it names is
//! broken, so a deployment package can only carry a valid routes file. It
//! loads through the same loader as the functions and the CLI.

use std::path::Path;

use gdalert_pipeline::load::{load, Builtin, Source};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let patterns_dir = root.join("patterns");
    println!("cargo:rerun-if-changed={}", patterns_dir.display());
    if let Ok(entries) = std::fs::read_dir(&patterns_dir) {
        for entry in entries.flatten() {
            println!("cargo:rerun-if-changed={}", entry.path().display());
        }
    }
    let source = Source {
        routes_file: Some(patterns_dir.join("routes.toml")),
        patterns_dir: Some(patterns_dir),
    };
    // Variables are filled in at init; here any value of the right shape will do.
    let vars = |name: &str| Some(format!("arn:aws:sns:us-east-1:000000000000:{name}"));
    if let Err(e) = load(&source, Builtin::NONE, vars) {
        panic!("patterns/routes.toml is invalid; fix it before building:\n{e}");
    }
}
