//! GuardDuty's coverage API (`ListDetectors`, `ListCoverage`) as a
//! [`CoverageSource`]: every resource GuardDuty assesses for runtime
//! coverage in this account and region (an administrator account sees its
//! members too).

use aws_sdk_guardduty::types::{CoverageResource as ApiResource, CoverageStatus, ResourceType};
use gdalert_pipeline::coverage::{
    cluster_of_arn, merge_issues, CoverageResource, CoverageSource, ResourceKind,
};

use crate::sdk_error::describe;

/// Reads coverage through aws-sdk-guardduty.
#[derive(Debug, Clone)]
pub struct GuardDutyCoverage {
    client: aws_sdk_guardduty::Client,
    /// The detector, when known; else the region's one detector is looked up.
    detector: Option<String>,
}

impl GuardDutyCoverage {
    pub fn new(client: aws_sdk_guardduty::Client, detector: Option<String>) -> GuardDutyCoverage {
        GuardDutyCoverage { client, detector }
    }

    async fn detector(&self) -> Result<String, String> {
        if let Some(d) = &self.detector {
            return Ok(d.clone());
        }
        let out = self
            .client
            .list_detectors()
            .send()
            .await
            .map_err(|e| format!("GuardDuty ListDetectors: {}", describe(&e)))?;
        out.detector_ids().first().cloned().ok_or_else(|| {
            "GuardDuty has no detector in this region: enable GuardDuty (and Runtime Monitoring) first".to_string()
        })
    }
}

#[async_trait::async_trait]
impl CoverageSource for GuardDutyCoverage {
    async fn resources(&self) -> Result<Vec<CoverageResource>, String> {
        let detector = self.detector().await?;
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        // GuardDuty pages by at most 50; a large organisation has many pages.
        for _ in 0..1000 {
            let page = self
                .client
                .list_coverage()
                .detector_id(&detector)
                .max_results(50)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| format!("GuardDuty ListCoverage: {}", describe(&e)))?;
            out.extend(page.resources().iter().map(from_api));
            token = page
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        Ok(out)
    }
}

fn from_api(r: &ApiResource) -> CoverageResource {
    let details = r.resource_details();
    let kind = match details.and_then(|d| d.resource_type()) {
        Some(ResourceType::Ecs) => ResourceKind::Ecs,
        Some(ResourceType::Eks) => ResourceKind::Eks,
        Some(ResourceType::Ec2) => ResourceKind::Ec2,
        _ => ResourceKind::Other,
    };
    let ecs = details.and_then(|d| d.ecs_cluster_details());
    let eks = details.and_then(|d| d.eks_cluster_details());
    let ec2 = details.and_then(|d| d.ec2_instance_details());
    let cluster = ecs
        .and_then(|c| c.cluster_name())
        .or_else(|| eks.and_then(|c| c.cluster_name()))
        .or_else(|| ec2.and_then(|i| i.cluster_arn()).map(cluster_of_arn))
        .map(str::to_string);
    let issues = merge_issues(
        r.issue(),
        ecs.and_then(|c| c.fargate_details())
            .map(|f| f.issues())
            .unwrap_or_default(),
    );
    CoverageResource {
        account_id: r.account_id().unwrap_or_default().to_string(),
        resource_id: r.resource_id().unwrap_or_default().to_string(),
        kind,
        cluster,
        instance: ec2.and_then(|i| i.instance_id()).map(str::to_string),
        healthy: r.coverage_status() == Some(&CoverageStatus::Healthy),
        issues,
        updated_at: r
            .updated_at()
            .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), 0)),
    }
}
