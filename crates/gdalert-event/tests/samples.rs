//! Every shared sample parses; malformed events say which field and why.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::path::PathBuf;

use gdalert_event::{CoverageResource, Detail, EventError, GuardDutyEvent, ProtectionStatus};

fn samples_dir() -> PathBuf {
    std::env::var_os("GDALERT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
        .join("samples/guardduty")
}

fn load(name: &str) -> GuardDutyEvent {
    let text = std::fs::read_to_string(samples_dir().join(name)).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let value = if name.starts_with("finding-only-") {
        GuardDutyEvent::wrap_finding(value)
    } else {
        value
    };
    GuardDutyEvent::from_value(value).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_sample_event_and_finding_parses() {
    let mut parsed = 0;
    for entry in std::fs::read_dir(samples_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with("eb-") || name.starts_with("finding-only-") {
            let event = load(&name);
            match &event.detail {
                Detail::Finding(f) => assert!(!f.finding_type.is_empty(), "{name}"),
                Detail::Coverage(_) => {}
                Detail::Other => panic!("{name}: detail-type {} not recognised", event.detail_type),
            }
            parsed += 1;
        }
    }
    assert!(
        parsed >= 12,
        "only {parsed} samples found in {}",
        samples_dir().display()
    );
}

#[test]
fn real_unhealthy_fargate_event_has_account_issue_and_millis() {
    let event = load("eb-runtime-protection-unhealthy-ecs-fargate.real.json");
    let c = event.coverage().unwrap();
    assert_eq!(c.account_id.as_deref(), Some("CHILD-EXAMPLE"));
    assert_eq!(c.current_status, ProtectionStatus::Unhealthy);
    assert_eq!(c.previous_status, Some(ProtectionStatus::Healthy));
    assert!(
        matches!(&c.resource, CoverageResource::EcsCluster { name } if name.starts_with("buildkite-deploy-dev"))
    );
    assert_eq!(c.issues.len(), 1);
    assert_eq!(c.issues[0].kind, "Others");
    assert_eq!(
        c.last_updated_at.unwrap().to_string(),
        "2024-06-03T07:52:53.897Z"
    );
}

#[test]
fn real_eks_event_uses_microseconds() {
    let event = load("eb-runtime-protection-unhealthy-eks.real.json");
    let c = event.coverage().unwrap();
    assert_eq!(
        c.resource,
        CoverageResource::EksCluster {
            name: "eks-demo".into()
        }
    );
    assert_eq!(
        c.last_updated_at.unwrap().to_string(),
        "2024-05-31T09:22:38.760Z"
    );
}

#[test]
fn e_notation_timestamps_and_runtime_detection() {
    let eks = load("eb-finding-eks-auditlog-discovery-kubernetes-maliciousipcaller.real.json");
    let f = eks.finding().unwrap();
    assert!(
        !f.is_runtime(),
        "an EKS audit-log finding is not a runtime finding"
    );
    // The E-notation value is `resource.eksClusterDetails.createdAt`; it must parse too.
    assert_eq!(
        f.created_at.unwrap().to_string(),
        "2024-05-28T17:51:52.721Z"
    );
    let t: gdalert_event::Timestamp = serde_json::from_value(
        eks.raw["detail"]["resource"]["eksClusterDetails"]["createdAt"].clone(),
    )
    .unwrap();
    assert_eq!(t.to_string(), "2024-05-28T00:04:16.938Z");
    let rt = load("finding-only-runtime-privesc-dockersocketaccessed-container.synthetic.json");
    let f = rt.finding().unwrap();
    assert!(f.is_runtime());
    assert_eq!(f.service.count, Some(9));
    let p = f
        .service
        .runtime_details
        .as_ref()
        .unwrap()
        .process
        .as_ref()
        .unwrap();
    assert_eq!(p.name.as_deref(), Some("sshd"));
    assert!(
        load("finding-only-runtime-execution-newbinaryexecuted-ec2instance.synthetic.json")
            .finding()
            .unwrap()
            .is_sample()
    );
}

#[test]
fn upper_case_status_and_resource_account_id_are_accepted() {
    let text = r#"{"id":"1","account":"1","source":"aws.guardduty","region":"us-east-1","time":"2024-01-01T00:00:00Z",
        "detail-type":"GuardDuty Runtime Protection Healthy",
        "detail":{"resourceAccountId":"123","currentStatus":"HEALTHY","previousStatus":"UNHEALTHY",
        "resourceDetails":{"resourceType":"EC2","ec2InstanceDetails":{"instanceId":"i-1"}},"lastUpdatedAt":"2024-01-01T00:00:00Z"}}"#;
    let event = GuardDutyEvent::from_json(text).unwrap();
    let c = event.coverage().unwrap();
    assert_eq!(c.current_status, ProtectionStatus::Healthy);
    assert_eq!(c.account_id.as_deref(), Some("123"));
}

#[test]
fn malformed_events_name_the_field() {
    let missing_type = r#"{"detail-type":"GuardDuty Finding","detail":{"id":"x"}}"#;
    match GuardDutyEvent::from_json(missing_type) {
        Err(EventError::Field { field, reason }) => {
            assert_eq!(field, "detail");
            assert!(reason.contains("type"), "{reason}");
        }
        other => panic!("expected a field error, got {other:?}"),
    }
    // A mistyped *optional* field no longer costs the alert: it is left out
    // and named in a warning (it used to fail the whole event).
    let bad_time = r#"{"detail-type":"GuardDuty Finding","detail":{"id":"x","type":"T","updatedAt":"yesterday"}}"#;
    let event = GuardDutyEvent::from_json(bad_time).unwrap();
    assert_eq!(event.warnings.len(), 1, "{:?}", event.warnings);
    assert!(
        event.warnings[0].contains("detail.updatedAt") && event.warnings[0].contains("yesterday"),
        "{:?}",
        event.warnings
    );
    assert!(matches!(
        GuardDutyEvent::from_json("{nope"),
        Err(EventError::Json(_))
    ));
    assert!(
        GuardDutyEvent::from_json(r#"{"source":"x"}"#).is_err(),
        "detail-type is required"
    );
}

#[test]
fn present_but_mistyped_optional_fields_become_absent_with_a_warning() {
    // Regression: each of these sent a valid, matched event to the
    // dead-letter queue as NotRetryable.
    let base: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/fixtures/events/runtime-fargate-c2-high.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let cases: [(&str, &[&str], serde_json::Value); 4] = [
        (
            "startTime",
            &["service", "runtimeDetails", "process"],
            serde_json::json!(""),
        ),
        (
            "containers",
            &["resource", "ecsClusterDetails", "taskDetails"],
            serde_json::Value::Null,
        ),
        (
            "tags",
            &["resource", "instanceDetails"],
            serde_json::Value::Null,
        ),
        ("count", &["service"], serde_json::json!("many")),
    ];
    for (field, parents, bad) in cases {
        let mut event = base.clone();
        let mut at = &mut event["detail"];
        for p in parents {
            at = &mut at[*p];
        }
        at[field] = bad;
        let parsed = GuardDutyEvent::from_value(event)
            .unwrap_or_else(|e| panic!("{field}: the alert was lost: {e}"));
        assert!(matches!(parsed.detail, Detail::Finding(_)));
        assert!(
            parsed.warnings.iter().any(|w| w.contains(field)),
            "{field}: no warning names it: {:?}",
            parsed.warnings
        );
    }
    // Required fields still fail, naming the field.
    let mut no_id = base.clone();
    no_id["detail"]["id"] = serde_json::json!(7);
    assert!(matches!(
        GuardDutyEvent::from_value(no_id),
        Err(EventError::Field { field, .. }) if field == "detail.id"
    ));
}
