//! The coverage report's source, aws-sdk-guardduty, against a loopback
//! endpoint that answers GuardDuty's coverage API as JSON (the local AWS API
//! server does not serve `ListCoverage`): the detector is looked up, every
//! page is read, and the API's fields land where the report reads them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gdalert_aws::{AwsClients, GuardDutyCoverage};
use gdalert_pipeline::coverage::{CoverageSource, ResourceKind};
use gdalert_testkit::receiver::{Receiver, Reply};
use gdalert_testkit::sdk_config;

#[tokio::test]
async fn list_coverage_is_read_page_by_page_from_the_regions_detector() {
    let detectors = r#"{"detectorIds": ["det-1"]}"#;
    let page1 = r#"{"resources": [
        {"accountId": "111122223333", "detectorId": "det-1", "resourceId": "payments-prod",
         "coverageStatus": "UNHEALTHY", "issue": "Some tasks are not covered",
         "updatedAt": 1764670000,
         "resourceDetails": {"resourceType": "ECS", "ecsClusterDetails": {"clusterName": "payments-prod",
            "fargateDetails": {"issues": ["Sidecar container image could not be pulled"], "managementType": "AUTO_MANAGED"}}}}
    ], "nextToken": "p2"}"#;
    let page2 = r#"{"resources": [
        {"accountId": "111122223333", "detectorId": "det-1", "resourceId": "i-0abc",
         "coverageStatus": "HEALTHY",
         "resourceDetails": {"resourceType": "EC2", "ec2InstanceDetails": {"instanceId": "i-0abc",
            "clusterArn": "arn:aws:ecs:us-east-1:111122223333:cluster/batch"}}}
    ]}"#;
    let api = Receiver::start(vec![
        Reply::Json(200, detectors.into()),
        Reply::Json(200, page1.into()),
        Reply::Json(200, page2.into()),
    ])
    .await;
    let aws = AwsClients::from_config(&sdk_config(&api.base).await);
    let source = GuardDutyCoverage::new(aws.guardduty, None);
    let resources = source.resources().await.unwrap();

    let seen = api.seen();
    let paths: Vec<&str> = seen.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/detector",
            "/detector/det-1/coverage",
            "/detector/det-1/coverage"
        ]
    );
    assert_eq!(seen[2].body["nextToken"], "p2");
    assert!(seen[1]
        .headers
        .get("authorization")
        .is_some_and(|v| v.to_str().unwrap().starts_with("AWS4-HMAC-SHA256")));

    assert_eq!(resources.len(), 2);
    let ecs = &resources[0];
    assert_eq!(ecs.kind, ResourceKind::Ecs);
    assert!(!ecs.healthy);
    assert_eq!(ecs.cluster.as_deref(), Some("payments-prod"));
    assert_eq!(
        ecs.issues,
        [
            "Some tasks are not covered",
            "Sidecar container image could not be pulled"
        ]
    );
    assert!(ecs.updated_at.is_some());
    let ec2 = &resources[1];
    assert!(ec2.healthy);
    assert_eq!(ec2.instance.as_deref(), Some("i-0abc"));
    assert_eq!(ec2.cluster.as_deref(), Some("batch"));
}

#[tokio::test]
async fn no_detector_and_access_denied_say_what_to_fix() {
    let api = Receiver::start(vec![Reply::Json(200, r#"{"detectorIds": []}"#.into())]).await;
    let aws = AwsClients::from_config(&sdk_config(&api.base).await);
    let e = GuardDutyCoverage::new(aws.guardduty, None)
        .resources()
        .await
        .unwrap_err();
    assert!(e.contains("enable GuardDuty"), "{e}");

    let denied = r#"{"message": "User is not authorized to perform: guardduty:ListCoverage", "__type": "AccessDeniedException"}"#;
    let api = Receiver::start(vec![Reply::Json(403, denied.into())]).await;
    let aws = AwsClients::from_config(&sdk_config(&api.base).await);
    let e = GuardDutyCoverage::new(aws.guardduty, Some("det-1".into()))
        .resources()
        .await
        .unwrap_err();
    assert!(
        e.contains("ListCoverage") && e.contains("not authorized"),
        "{e}"
    );
}
