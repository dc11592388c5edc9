//! GuardDuty's view of runtime coverage: which clusters and instances its
//! agent watches, and why the others are not watched.
//!
//! Unhealthy and Healthy events tell when coverage changes; they never tell
//! about coverage that was never there (a Fargate task started before
//! Runtime Monitoring was enabled stays unmonitored until it is replaced, and
//! no event says so). GuardDuty's coverage API (`ListCoverage`) does: the
//! digest function asks it on its schedule, and `gdalert coverage report`
//! locally. This module is the API's answer as data; fetching it is an
//! adapter's job (`gdalert-aws`), sending the report is the engine's
//! ([`crate::Pipeline::run_coverage_report`]).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// One resource GuardDuty assesses for runtime coverage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageResource {
    pub account_id: String,
    pub resource_id: String,
    pub kind: ResourceKind,
    /// The ECS or EKS cluster (for EC2, the cluster the instance is in, if any).
    pub cluster: Option<String>,
    pub instance: Option<String>,
    pub healthy: bool,
    /// Why it is not covered, in GuardDuty's words (the API's `issue`, and
    /// Fargate's `issues`).
    pub issues: Vec<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// What kind of resource (`resourceDetails.resourceType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ResourceKind {
    Ecs,
    Eks,
    Ec2,
    Other,
}

impl ResourceKind {
    pub fn parse(s: &str) -> ResourceKind {
        match s {
            "ECS" => ResourceKind::Ecs,
            "EKS" => ResourceKind::Eks,
            "EC2" => ResourceKind::Ec2,
            _ => ResourceKind::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Ecs => "ECS cluster",
            ResourceKind::Eks => "EKS cluster",
            ResourceKind::Ec2 => "EC2 instance",
            ResourceKind::Other => "resource",
        }
    }
}

impl CoverageResource {
    /// Its identity across reports: account and resource id.
    pub fn key(&self) -> String {
        format!("{}/{}", self.account_id, self.resource_id)
    }

    /// Where it is, for grouping: the cluster, else the instance, else the id.
    pub fn place(&self) -> String {
        match (self.kind, &self.cluster, &self.instance) {
            (ResourceKind::Ec2, Some(cluster), _) => format!("cluster {cluster}"),
            (ResourceKind::Ec2, None, _) => "EC2 instances".into(),
            (kind, Some(cluster), _) => format!("{} {cluster}", kind.as_str()),
            (_, None, Some(instance)) => format!("instance {instance}"),
            _ => self.resource_id.clone(),
        }
    }
}

/// The cluster name in an ECS cluster ARN (`arn:…:cluster/NAME`), as
/// `ec2InstanceDetails.clusterArn` gives it.
pub fn cluster_of_arn(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// GuardDuty's reasons, in its order: the resource's `issue`, then each of
/// Fargate's `issues` not already given.
pub fn merge_issues<'a>(
    issue: Option<&str>,
    fargate: impl IntoIterator<Item = &'a String>,
) -> Vec<String> {
    let mut issues: Vec<String> = issue
        .filter(|i| !i.is_empty())
        .map(str::to_string)
        .into_iter()
        .collect();
    for i in fargate {
        if !issues.contains(i) {
            issues.push(i.clone());
        }
    }
    issues
}

/// Where coverage comes from: GuardDuty's API deployed, a saved answer locally.
#[async_trait::async_trait]
pub trait CoverageSource: Send + Sync {
    /// Every resource GuardDuty assesses (the caller picks the unhealthy).
    async fn resources(&self) -> Result<Vec<CoverageResource>, String>;
}

/// `ListCoverage`'s answer as JSON (`{"resources": [...]}`), one page or a
/// list of pages, as `aws guardduty list-coverage` prints it. Items with
/// the wrong shape are skipped, not fatal: a report with one resource
/// missing beats no report.
pub fn parse_list_coverage(text: &str) -> Result<Vec<CoverageResource>, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("not a ListCoverage answer: {e}"))?;
    let pages = match value {
        Value::Array(pages) => pages,
        page => vec![page],
    };
    let mut out = Vec::new();
    for page in pages {
        let items = page
            .get("resources")
            .or_else(|| page.get("Resources"))
            .and_then(Value::as_array)
            .ok_or("a ListCoverage answer has a `resources` list")?;
        out.extend(
            items
                .iter()
                .filter_map(|item| serde_json::from_value::<ApiResource>(item.clone()).ok())
                .map(ApiResource::into_resource),
        );
    }
    Ok(out)
}

/// The API's `CoverageResource`, as far as the report reads it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiResource {
    #[serde(default)]
    account_id: String,
    #[serde(default)]
    resource_id: String,
    #[serde(default)]
    coverage_status: String,
    #[serde(default)]
    issue: Option<String>,
    #[serde(default)]
    updated_at: Option<Value>,
    #[serde(default)]
    resource_details: ApiDetails,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiDetails {
    #[serde(default)]
    resource_type: String,
    #[serde(default)]
    eks_cluster_details: Option<ApiCluster>,
    #[serde(default)]
    ecs_cluster_details: Option<ApiCluster>,
    #[serde(default)]
    ec2_instance_details: Option<ApiInstance>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiCluster {
    #[serde(default)]
    cluster_name: Option<String>,
    #[serde(default)]
    fargate_details: Option<ApiFargate>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiFargate {
    #[serde(default)]
    issues: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiInstance {
    #[serde(default)]
    instance_id: Option<String>,
    #[serde(default)]
    cluster_arn: Option<String>,
}

impl ApiResource {
    fn into_resource(self) -> CoverageResource {
        let d = self.resource_details;
        let cluster_of = |c: &Option<ApiCluster>| c.as_ref().and_then(|c| c.cluster_name.clone());
        let instance = d
            .ec2_instance_details
            .as_ref()
            .and_then(|i| i.instance_id.clone());
        let cluster = cluster_of(&d.ecs_cluster_details)
            .or_else(|| cluster_of(&d.eks_cluster_details))
            .or_else(|| {
                d.ec2_instance_details
                    .as_ref()
                    .and_then(|i| i.cluster_arn.as_deref())
                    .map(|arn| cluster_of_arn(arn).to_string())
            });
        let issues = merge_issues(
            self.issue.as_deref(),
            [&d.ecs_cluster_details, &d.eks_cluster_details]
                .into_iter()
                .flatten()
                .filter_map(|c| c.fargate_details.as_ref())
                .flat_map(|f| &f.issues),
        );
        CoverageResource {
            account_id: self.account_id,
            resource_id: self.resource_id,
            kind: ResourceKind::parse(&d.resource_type),
            cluster,
            instance,
            healthy: self.coverage_status == "HEALTHY",
            issues,
            updated_at: self.updated_at.and_then(|v| match v {
                // The JSON protocol gives epoch seconds; the CLI prints RFC 3339.
                Value::Number(n) => n
                    .as_f64()
                    .and_then(|s| DateTime::from_timestamp(s as i64, 0)),
                Value::String(s) => DateTime::parse_from_rfc3339(&s)
                    .ok()
                    .map(|t| t.with_timezone(&Utc)),
                _ => None,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_coverage_answer_reads_into_resources_and_a_bad_item_is_skipped() {
        let text = r#"{"resources": [
            {"accountId": "111122223333", "resourceId": "payments-prod", "coverageStatus": "UNHEALTHY",
             "issue": "Some tasks are not covered",
             "updatedAt": 1764670000,
             "resourceDetails": {"resourceType": "ECS", "ecsClusterDetails": {"clusterName": "payments-prod",
                "fargateDetails": {"issues": ["Sidecar container image could not be pulled", "Some tasks are not covered"]}}}},
            {"accountId": "111122223333", "resourceId": "i-0abc", "coverageStatus": "HEALTHY",
             "resourceDetails": {"resourceType": "EC2", "ec2InstanceDetails": {"instanceId": "i-0abc",
                "clusterArn": "arn:aws:ecs:eu-west-1:111122223333:cluster/batch"}}},
            {"accountId": 7}
        ]}"#;
        let r = parse_list_coverage(text).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].kind, ResourceKind::Ecs);
        assert!(!r[0].healthy);
        assert_eq!(
            r[0].issues,
            [
                "Some tasks are not covered",
                "Sidecar container image could not be pulled"
            ]
        );
        assert_eq!(r[0].place(), "ECS cluster payments-prod");
        assert!(r[0].updated_at.is_some());
        assert!(r[1].healthy);
        assert_eq!(r[1].cluster.as_deref(), Some("batch"));
        assert_eq!(r[1].place(), "cluster batch");
        assert!(parse_list_coverage("{}").is_err());
    }
}
