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
    /// The attack sequence this finding is a signal of (Extended Threat Detection).
    #[serde(default, deserialize_with = "lenient_string")]
    pub associated_attack_sequence_arn: Option<String>,
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
    /// `service.detection`: an attack sequence's chain (Extended Threat Detection).
    #[serde(default, deserialize_with = "lenient")]
    pub detection: Option<Detection>,
}

/// Reads a part GuardDuty documents loosely: a part that does not have the
/// expected shape is left out rather than costing the whole finding (and so
/// the alert).
fn lenient<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.and_then(|v| serde_json::from_value(v).ok()))
}

/// A list whose items are read one by one: an item of the wrong shape is
/// skipped, the others kept.
fn lenient_vec<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect(),
        _ => Vec::new(),
    })
}

fn lenient_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

/// `service.detection`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Detection {
    #[serde(default, deserialize_with = "lenient")]
    pub sequence: Option<Sequence>,
}

/// An attack sequence: the signals GuardDuty correlated, and what they share.
/// Everything but the identifiers and GuardDuty's own wording may carry text
/// an attacker chose (process names, domains, user names).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sequence {
    #[serde(default, deserialize_with = "lenient_string")]
    pub uid: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "lenient_vec")]
    pub signals: Vec<Signal>,
    #[serde(default, deserialize_with = "lenient_vec")]
    pub resources: Vec<SequenceResource>,
    #[serde(default, deserialize_with = "lenient_vec")]
    pub actors: Vec<Actor>,
    #[serde(default, deserialize_with = "lenient_vec")]
    pub endpoints: Vec<NetworkEndpoint>,
    #[serde(default, deserialize_with = "lenient_vec")]
    pub sequence_indicators: Vec<Indicator>,
    #[serde(default, deserialize_with = "lenient_strings")]
    pub additional_sequence_types: Vec<String>,
}

/// One signal of a sequence: a finding, or API or runtime activity.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Signal {
    #[serde(default, deserialize_with = "lenient_string")]
    pub uid: Option<String>,
    /// `FINDING`, `CLOUD_TRAIL`, `RUNTIME_MONITORING`, ...
    #[serde(default, rename = "type", deserialize_with = "lenient_string")]
    pub signal_type: Option<String>,
    /// The finding type for a finding signal, the API name for an API one.
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub first_seen_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient")]
    pub last_seen_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient")]
    pub created_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient_f64")]
    pub severity: Option<f64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub count: Option<u64>,
    #[serde(default, deserialize_with = "lenient_strings")]
    pub resource_uids: Vec<String>,
}

impl Signal {
    /// The finding id, for a signal that is a GuardDuty finding (`uid` is
    /// then the finding's ARN, or its id), when it has the shape of one
    /// (letters and digits, 64 at most): it is shown and used in state keys.
    pub fn finding_id(&self) -> Option<&str> {
        if self.signal_type.as_deref() != Some("FINDING") {
            return None;
        }
        let uid = self.uid.as_deref()?;
        let id = uid.rsplit('/').next().unwrap_or(uid);
        (!id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric()))
            .then_some(id)
    }
}

/// A resource involved in a sequence (`ResourceV2`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SequenceResource {
    #[serde(default, deserialize_with = "lenient_string")]
    pub uid: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    /// `ECS_CLUSTER`, `ECS_TASK`, `CONTAINER`, `EC2_INSTANCE`, `EKS_CLUSTER`...
    #[serde(default, deserialize_with = "lenient_string")]
    pub resource_type: Option<String>,
}

/// An actor: who or what acted (a user, a session, a process).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(default)]
    pub user: Option<Value>,
    #[serde(default)]
    pub process: Option<Value>,
    #[serde(default)]
    pub session: Option<Value>,
}

/// A network endpoint a sequence used.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkEndpoint {
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub ip: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub domain: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub port: Option<u64>,
    #[serde(default)]
    pub autonomous_system: Option<Value>,
    #[serde(default)]
    pub location: Option<Value>,
}

/// An indicator: a MITRE tactic or technique, a malicious domain, ...
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Indicator {
    #[serde(default, deserialize_with = "lenient_string")]
    pub key: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient_strings")]
    pub values: Vec<String>,
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
