//! Refuses to build when `patterns/routes.toml` or a pattern it names is
//! broken, so a deployment package can only carry a valid routes file.

use std::collections::BTreeMap;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let patterns_dir = root.join("patterns");
    println!("cargo:rerun-if-changed={}", patterns_dir.display());
    let mut patterns = BTreeMap::new();
    let entries = match std::fs::read_dir(&patterns_dir) {
        Ok(entries) => entries,
        Err(e) => panic!("cannot list {}: {e}", patterns_dir.display()),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        println!("cargo:rerun-if-changed={}", path.display());
        if path.extension().is_some_and(|e| e == "json") {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            patterns.insert(name, text);
        }
    }
    let routes = patterns_dir.join("routes.toml");
    let text =
        std::fs::read_to_string(&routes).unwrap_or_else(|e| panic!("{}: {e}", routes.display()));
    // Variables are filled in at init; here any value of the right shape will do.
    let text = gdalert_pipeline::config::expand_variables(&text, |name| {
        Some(format!("arn:aws:sns:us-east-1:000000000000:{name}"))
    })
    .unwrap_or_else(|e| panic!("patterns/routes.toml: {e}"));
    if let Err(e) = gdalert_pipeline::Config::load("patterns/routes.toml", &text, &patterns) {
        panic!("patterns/routes.toml is invalid; fix it before building:\n{e}");
    }
}
