//! Runtime Protection coverage changes (`GuardDuty Runtime Protection
//! Healthy` / `Unhealthy`).

use std::fmt;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::{lenient_string, Timestamp};

/// Coverage status; real events say `Healthy`, documentation says `HEALTHY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtectionStatus {
    Healthy,
    Unhealthy,
    Other(String),
}

impl<'de> Deserialize<'de> for ProtectionStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.to_ascii_lowercase().as_str() {
            "healthy" => ProtectionStatus::Healthy,
            "unhealthy" => ProtectionStatus::Unhealthy,
            _ => ProtectionStatus::Other(s),
        })
    }
}

impl fmt::Display for ProtectionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtectionStatus::Healthy => f.write_str("Healthy"),
            ProtectionStatus::Unhealthy => f.write_str("Unhealthy"),
            ProtectionStatus::Other(s) => f.write_str(s),
        }
    }
}

/// One coverage issue, from `"<Issue type> : <detail>"`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CoverageIssue {
    pub kind: String,
    pub detail: String,
}

impl CoverageIssue {
    pub fn parse(text: &str) -> CoverageIssue {
        match text.split_once(" : ").or_else(|| text.split_once(':')) {
            Some((kind, detail)) => CoverageIssue {
                kind: kind.trim().into(),
                detail: detail.trim().into(),
            },
            None => CoverageIssue {
                kind: text.trim().into(),
                detail: String::new(),
            },
        }
    }
}

/// What lost or regained coverage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoverageResource {
    EcsCluster {
        name: String,
    },
    EksCluster {
        name: String,
    },
    Ec2Instance {
        instance_id: String,
        cluster_arn: Option<String>,
    },
    Unknown {
        resource_type: Option<String>,
    },
}

impl CoverageResource {
    /// A stable key for this resource (used to pair Unhealthy and Healthy).
    pub fn key(&self) -> String {
        match self {
            CoverageResource::EcsCluster { name } => format!("ecs/{name}"),
            CoverageResource::EksCluster { name } => format!("eks/{name}"),
            CoverageResource::Ec2Instance { instance_id, .. } => format!("ec2/{instance_id}"),
            CoverageResource::Unknown { resource_type } => {
                format!("unknown/{}", resource_type.as_deref().unwrap_or("-"))
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    #[serde(
        default,
        alias = "resourceAccountId",
        deserialize_with = "lenient_string"
    )]
    account_id: Option<String>,
    #[serde(default)]
    resource_details: Value,
    previous_status: Option<ProtectionStatus>,
    current_status: ProtectionStatus,
    #[serde(default)]
    issue: Option<String>,
    #[serde(default)]
    last_updated_at: Option<Timestamp>,
}

/// A Runtime Protection coverage change.
#[derive(Debug, Clone)]
pub struct CoverageChange {
    pub account_id: Option<String>,
    pub resource: CoverageResource,
    pub previous_status: Option<ProtectionStatus>,
    pub current_status: ProtectionStatus,
    /// Top-level `issue` and `fargateDetails.issues[]`, parsed.
    pub issues: Vec<CoverageIssue>,
    pub last_updated_at: Option<Timestamp>,
}

impl<'de> Deserialize<'de> for CoverageChange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        let r = &w.resource_details;
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let resource_type = text(r, "resourceType");
        let resource = if let Some(ecs) = r.get("ecsClusterDetails") {
            CoverageResource::EcsCluster {
                name: text(ecs, "clusterName").unwrap_or_default(),
            }
        } else if let Some(eks) = r.get("eksClusterDetails") {
            CoverageResource::EksCluster {
                name: text(eks, "clusterName").unwrap_or_default(),
            }
        } else if let Some(ec2) = r.get("ec2InstanceDetails") {
            CoverageResource::Ec2Instance {
                instance_id: text(ec2, "instanceId").unwrap_or_default(),
                cluster_arn: text(ec2, "clusterArn"),
            }
        } else {
            CoverageResource::Unknown { resource_type }
        };
        let mut issues: Vec<CoverageIssue> = w
            .issue
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| CoverageIssue::parse(s))
            .collect();
        let fargate_issues = r
            .get("ecsClusterDetails")
            .and_then(|e| e.get("fargateDetails"))
            .and_then(|f| f.get("issues"))
            .and_then(Value::as_array);
        for issue in fargate_issues
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            issues.push(CoverageIssue::parse(issue));
        }
        Ok(CoverageChange {
            account_id: w.account_id,
            resource,
            previous_status: w.previous_status,
            current_status: w.current_status,
            issues,
            last_updated_at: w.last_updated_at,
        })
    }
}
