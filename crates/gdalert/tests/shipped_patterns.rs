//! Fixture tests for the shipped pattern files: what each must and must not match.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::path::{Path, PathBuf};

use gdalert_pattern::{compile, PatternSetBuilder};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shared() -> PathBuf {
    std::env::var("GDALERT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("../shared"))
}

/// The matching pattern names for an event text.
fn matching(event: &str) -> Vec<String> {
    let mut builder = PatternSetBuilder::new();
    let mut entries: Vec<_> = std::fs::read_dir(root().join("patterns"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    entries.sort();
    for path in entries {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        builder.add(
            name,
            compile(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        );
    }
    let set = builder.build();
    set.matches_json(event)
        .unwrap()
        .into_iter()
        .map(|id| set.name(id).to_string())
        .collect()
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(root().join("tests/fixtures/events").join(name)).unwrap()
}

fn shared_finding(name: &str) -> String {
    let text = std::fs::read_to_string(shared().join("samples/guardduty").join(name)).unwrap();
    let finding: serde_json::Value = serde_json::from_str(&text).unwrap();
    gdalert_event::GuardDutyEvent::wrap_finding(finding).to_string()
}

#[test]
fn fargate_c2_finding_hits_runtime_high_and_c2_only() {
    assert_eq!(
        matching(&fixture("runtime-fargate-c2-high.json")),
        [
            "runtime-command-and-control",
            "runtime-findings-high-critical",
            "runtime-findings"
        ]
    );
}

#[test]
fn medium_docker_socket_finding_is_not_high() {
    assert_eq!(
        matching(&fixture("runtime-fargate-docker-socket-medium.json")),
        ["runtime-container-escape", "runtime-findings"]
    );
}

#[test]
fn ec2_and_eks_runtime_findings_route_by_type() {
    assert!(matching(&fixture("runtime-ec2-cryptominer-high.json"))
        .contains(&"runtime-crypto-mining".to_string()));
    assert!(matching(&fixture("runtime-eks-reverse-shell-high.json"))
        .contains(&"runtime-container-escape".to_string()));
    assert_eq!(
        matching(&fixture("runtime-eks-new-binary-low-sample.json")),
        ["guardduty-samples", "runtime-findings"]
    );
}

#[test]
fn eks_audit_log_finding_is_not_a_runtime_finding() {
    // It carries EKSCluster like runtime findings on EKS do, but is not one.
    assert!(matching(&fixture("eks-auditlog-malicious-ip-caller.real.json")).is_empty());
}

#[test]
fn non_runtime_findings_match_nothing() {
    assert!(matching(&fixture("ec2-recon-portprobe.json")).is_empty());
    for name in [
        "finding-only-ec2-trojan-blackholetraffic-dns.aws-sample.json",
        "finding-only-s3-impact-maliciousipcaller.aws-sample.json",
        "finding-only-iam-privesc-administrativepermissions.retired-type.json",
    ] {
        assert!(matching(&shared_finding(name)).is_empty(), "{name}");
    }
}

#[test]
fn attack_sequences_are_taken_by_the_sequence_patterns_only() {
    // Regression: no shipped pattern took them (featureName Correlation, a
    // type without Runtime), so no rule invoked the function for them.
    assert_eq!(
        matching(&shared_finding(
            "finding-only-attacksequence-iam-compromisedcredentials.panther-normalized.json"
        )),
        ["attack-sequences"]
    );
    assert_eq!(
        matching(&fixture("attack-sequence-ecs-compromised-cluster.json")),
        ["attack-sequences-workloads", "attack-sequences"]
    );
}

#[test]
fn shared_synthetic_runtime_findings_match_runtime_patterns() {
    let docker = matching(&shared_finding(
        "finding-only-runtime-privesc-dockersocketaccessed-container.synthetic.json",
    ));
    assert_eq!(docker, ["runtime-container-escape", "runtime-findings"]);
    let new_binary = matching(&shared_finding(
        "finding-only-runtime-execution-newbinaryexecuted-ec2instance.synthetic.json",
    ));
    assert!(
        new_binary.contains(&"runtime-findings".to_string()),
        "{new_binary:?}"
    );
}

#[test]
fn coverage_events_route_to_their_own_patterns() {
    for (file, want) in [
        (
            "runtime-protection-unhealthy-ecs-fargate.real.json",
            "runtime-protection-unhealthy",
        ),
        (
            "runtime-protection-unhealthy-eks.real.json",
            "runtime-protection-unhealthy",
        ),
        (
            "runtime-protection-healthy-ecs-fargate.real.json",
            "runtime-protection-healthy",
        ),
        (
            "runtime-protection-healthy-ec2.real.json",
            "runtime-protection-healthy",
        ),
    ] {
        assert_eq!(matching(&fixture(file)), [want], "{file}");
    }
}

/// The ECS sequence fixture made into another sequence type, with that
/// type's resource in place of the cluster.
fn sequence_of_type(finding_type: &str, resource_type: &str, name: &str) -> String {
    let mut event: serde_json::Value =
        serde_json::from_str(&fixture("attack-sequence-ecs-compromised-cluster.json")).unwrap();
    event["detail"]["type"] = serde_json::json!(finding_type);
    event["detail"]["service"]["detection"]["sequence"]["resources"] =
        serde_json::json!([{"uid": name, "name": name, "resourceType": resource_type}]);
    event.to_string()
}

#[test]
fn every_attack_sequence_type_is_taken_and_shown_with_its_resource() {
    let config = gdalert_pipeline::Config::load(
        "routes.toml",
        gdalert_shipped::ROUTES.1,
        &gdalert_shipped::pattern_map(),
    )
    .unwrap();
    let cases = [
        (
            "AttackSequence:ECS/CompromisedCluster",
            "ECS_CLUSTER",
            "payments-prod",
            true,
        ),
        (
            "AttackSequence:EKS/CompromisedCluster",
            "EKS_CLUSTER",
            "platform-eks",
            true,
        ),
        (
            "AttackSequence:EC2/CompromisedInstanceGroup",
            "EC2_INSTANCE",
            "i-0a1b2c3d4e5f60718",
            true,
        ),
        (
            "AttackSequence:IAM/CompromisedCredentials",
            "ACCESS_KEY",
            "AKIAEXAMPLEKEY",
            false,
        ),
        (
            "AttackSequence:S3/CompromisedData",
            "S3_BUCKET",
            "payments-exports",
            false,
        ),
    ];
    for (finding_type, resource_type, name, workload) in cases {
        let text = sequence_of_type(finding_type, resource_type, name);
        let want: &[&str] = if workload {
            &["attack-sequences-workloads", "attack-sequences"]
        } else {
            &["attack-sequences"]
        };
        assert_eq!(matching(&text), want, "{finding_type}");
        let node = gdalert_pattern::parse_event(&text).unwrap();
        let routes: Vec<&str> = config
            .routes_for(&node)
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(routes, ["attack-sequence"], "{finding_type}");
        let event = gdalert_event::GuardDutyEvent::from_json(&text).unwrap();
        let alert = gdalert_pipeline::alert::enrich(
            &event,
            gdalert_pipeline::Lifecycle::New,
            &Default::default(),
        );
        let resources = alert
            .sections
            .iter()
            .find(|s| s.heading == "Resources")
            .unwrap();
        assert_eq!(resources.items[0].lead, resource_type, "{finding_type}");
        assert_eq!(resources.items[0].text, name, "{finding_type}");
        if workload {
            // The workload sequences name where: the title and the SNS
            // `cluster`/`instance` attributes use it.
            assert!(
                alert.title.ends_with(name),
                "{finding_type}: {}",
                alert.title
            );
            assert_eq!(alert.place(), name);
        }
    }
}

#[test]
fn malware_protection_findings_are_taken_by_their_own_pattern_only() {
    assert_eq!(
        matching(&fixture("malware-ecs-malicious-file.json")),
        ["malware-protection-containers"]
    );
}

/// Regression: the command-and-control pattern left out the DGA type. Each
/// themed pattern is checked against the catalogue, so a type added there
/// and missing here fails.
#[test]
fn themed_patterns_take_every_catalogue_type_of_their_theme() {
    let themes: [(&str, &[&str]); 2] = [
        (
            "runtime-command-and-control",
            &["C&CActivity", "DGADomain", "DropPoint", "BlackholeTraffic"],
        ),
        (
            "runtime-crypto-mining",
            &["BitcoinTool", "CryptoMiner", "BitcoinDomain"],
        ),
    ];
    for (pattern, words) in themes {
        let types = gdalert_pipeline::catalogue::RUNTIME_FINDING_KINDS
            .iter()
            .map(|k| k.finding_type)
            .filter(|t| words.iter().any(|w| t.contains(w)));
        let mut checked = 0;
        for finding_type in types {
            let mut event: serde_json::Value =
                serde_json::from_str(&fixture("runtime-fargate-c2-high.json")).unwrap();
            event["detail"]["type"] = serde_json::json!(finding_type);
            assert!(
                matching(&event.to_string()).contains(&pattern.to_string()),
                "{pattern} does not take {finding_type}"
            );
            checked += 1;
        }
        assert!(checked >= 3, "{pattern}: {checked}");
    }
}
