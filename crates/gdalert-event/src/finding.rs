//! A GuardDuty finding (the `detail` of a `GuardDuty Finding` event).
//!
//! Field names follow the EventBridge wire format (camelCase). Everything but
//! `id` and `type` is optional: findings of every type parse, runtime or not.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::{lenient_string, Timestamp};

fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => Some(
            s.trim()
                .parse::<f64>()
                .map_err(|_| serde::de::Error::custom(format!("`{s}` is not a number")))?,
        ),
        None | Some(Value::Null) => None,
        Some(other) => {
            return Err(serde::de::Error::custom(format!(
                "expected a number, found {other}"
            )))
        }
    })
}

fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(lenient_f64(d)?.filter(|v| *v >= 0.0).map(|v| v as u64))
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Bool(b)) => b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    })
}

/// A GuardDuty finding.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub id: String,
    #[serde(rename = "type")]
    pub finding_type: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub schema_version: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub account_id: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub partition: Option<String>,
    #[serde(default)]
    pub arn: Option<String>,
    #[serde(default, deserialize_with = "lenient_f64")]
    pub severity: Option<f64>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    #[serde(default)]
    pub resource: Resource,
    #[serde(default)]
    pub service: Service,
}

impl Finding {
    /// Whether this is a Runtime Monitoring finding (`*:Runtime/*`).
    pub fn is_runtime(&self) -> bool {
        self.finding_type.contains(":Runtime/")
            || self.service.feature_name.as_deref() == Some("RuntimeMonitoring")
    }

    /// Whether GuardDuty marked this as a sample finding
    /// (`service.additionalInfo.sample`, directly or inside the JSON text of
    /// `additionalInfo.value` as the API returns it).
    pub fn is_sample(&self) -> bool {
        let Some(info) = &self.service.additional_info else {
            return false;
        };
        let truthy = |v: &Value| v.as_bool() == Some(true) || v.as_str() == Some("true");
        if info.get("sample").is_some_and(truthy) {
            return true;
        }
        info.get("value")
            .and_then(Value::as_str)
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
            .and_then(|v| v.get("sample").cloned())
            .is_some_and(|v| truthy(&v))
    }
}

/// `service`: how GuardDuty saw the activity.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    #[serde(default)]
    pub service_name: Option<String>,
    #[serde(default)]
    pub feature_name: Option<String>,
    #[serde(default)]
    pub detector_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub archived: bool,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub count: Option<u64>,
    #[serde(default)]
    pub event_first_seen: Option<Timestamp>,
    #[serde(default)]
    pub event_last_seen: Option<Timestamp>,
    #[serde(default)]
    pub resource_role: Option<String>,
    #[serde(default)]
    pub additional_info: Option<Value>,
    #[serde(default)]
    pub runtime_details: Option<RuntimeDetails>,
}

/// `service.runtimeDetails`: the process and what it did.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeDetails {
    #[serde(default)]
    pub process: Option<Process>,
    /// Type-specific context (socket path, module name, address family...).
    #[serde(default)]
    pub context: Option<Value>,
}

/// A process, as GuardDuty's agent observed it. All of it is attacker-influenced.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub executable_path: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub executable_sha256: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub pid: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub namespace_pid: Option<u64>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub pwd: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub user: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub uuid: Option<String>,
    #[serde(default)]
    pub start_time: Option<Timestamp>,
    #[serde(default)]
    pub lineage: Vec<LineageEntry>,
}

/// One ancestor of a process.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineageEntry {
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub executable_path: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub pid: Option<u64>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub user: Option<String>,
}

/// `resource`: what was affected.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    #[serde(default)]
    pub resource_type: Option<String>,
    #[serde(default)]
    pub instance_details: Option<InstanceDetails>,
    #[serde(default)]
    pub ecs_cluster_details: Option<EcsClusterDetails>,
    #[serde(default)]
    pub eks_cluster_details: Option<EksClusterDetails>,
    #[serde(default)]
    pub kubernetes_details: Option<KubernetesDetails>,
    #[serde(default)]
    pub container_details: Option<ContainerDetails>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceDetails {
    #[serde(default)]
    pub instance_id: Option<String>,
    #[serde(default)]
    pub instance_type: Option<String>,
    #[serde(default)]
    pub image_id: Option<String>,
    #[serde(default)]
    pub tags: Vec<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EcsClusterDetails {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arn: Option<String>,
    #[serde(default)]
    pub task_details: Option<EcsTaskDetails>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EcsTaskDetails {
    #[serde(default)]
    pub arn: Option<String>,
    #[serde(default)]
    pub definition_arn: Option<String>,
    /// `service:<name>` for tasks started by a service.
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub launch_type: Option<String>,
    #[serde(default)]
    pub containers: Vec<ContainerDetails>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EksClusterDetails {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arn: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesDetails {
    #[serde(default)]
    pub kubernetes_workload_details: Option<Value>,
    #[serde(default)]
    pub kubernetes_user_details: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDetails {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub container_runtime: Option<String>,
}
