//! The shipped pattern files, routes file and sample events, compiled into
//! the binaries: the CLI runs on a fresh machine with nothing else, and the
//! Lambda functions carry exactly the routes that were validated when they
//! were built (`build.rs` refuses to build with a broken routes file).

macro_rules! files {
    ($dir:literal: $($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../../", $dir, "/", $name)))),*]
    };
}

/// `patterns/*.json`, as (file name, text).
pub const PATTERNS: &[(&str, &str)] = files!("patterns":
    "attack-sequences.json",
    "attack-sequences-workloads.json",
    "guardduty-samples.json",
    "malware-protection-containers.json",
    "runtime-command-and-control.json",
    "runtime-container-escape.json",
    "runtime-crypto-mining.json",
    "runtime-findings-high-critical.json",
    "runtime-findings.json",
    "runtime-protection-healthy.json",
    "runtime-protection-unhealthy.json",
);

/// `tests/fixtures/events/*.json`, as (file name, text).
pub const SAMPLE_EVENTS: &[(&str, &str)] = files!("tests/fixtures/events":
    "attack-sequence-ecs-compromised-cluster.json",
    "runtime-fargate-c2-high.json",
    "runtime-eks-reverse-shell-high.json",
    "runtime-ec2-cryptominer-high.json",
    "runtime-fargate-docker-socket-medium.json",
    "runtime-eks-new-binary-low-sample.json",
    "runtime-protection-unhealthy-ecs-fargate.real.json",
    "runtime-protection-healthy-ecs-fargate.real.json",
    "runtime-protection-unhealthy-eks.real.json",
    "runtime-protection-healthy-ec2.real.json",
    "eks-auditlog-malicious-ip-caller.real.json",
    "ec2-recon-portprobe.json",
    "malware-ecs-malicious-file.json",
);

/// `patterns/routes.toml`: the shipped routes (the log, and the stack's alert topic).
pub const ROUTES: (&str, &str) = ("routes.toml", include_str!("../../../patterns/routes.toml"));

/// The shipped patterns as the map `Config::load` takes.
pub fn pattern_map() -> std::collections::BTreeMap<String, String> {
    PATTERNS
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect()
}

/// The built-in configuration, for `gdalert_pipeline::load::load`.
pub const BUILTIN: gdalert_pipeline::load::Builtin = gdalert_pipeline::load::Builtin {
    routes: ROUTES,
    patterns: PATTERNS,
};

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    fn on_disk(dir: &str) -> BTreeSet<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(dir);
        std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".json"))
            .collect()
    }

    /// Regression: a pattern file added to `patterns/` but not here built
    /// fine and failed at the functions' first invocation ("no pattern file").
    #[test]
    fn every_pattern_file_in_patterns_is_compiled_in() {
        let shipped: BTreeSet<String> =
            super::PATTERNS.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(shipped, on_disk("patterns"));
    }

    #[test]
    fn every_fixture_event_is_compiled_in() {
        let shipped: BTreeSet<String> = super::SAMPLE_EVENTS
            .iter()
            .map(|(n, _)| n.to_string())
            .collect();
        assert_eq!(shipped, on_disk("tests/fixtures/events"));
    }
}
