//! The alert: everything a renderer may show, built once per event.
//!
//! Fields holding text from the finding (process names, paths, command lines,
//! domains, image names, tags) are kept **raw** here. They were written by
//! whoever controls the container, so escaping belongs to each renderer,
//! which knows its output's syntax (see [`crate::render::text`]).

use chrono::{DateTime, Utc};
use gdalert_event::{CoverageIssue, CoverageResource, Detail, GuardDutyEvent};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalogue;
use crate::lifecycle::Lifecycle;
pub use crate::severity::Band;

/// What the alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    Finding,
    CoverageLost,
    CoverageRestored,
    /// Counts of alerts held back by grouping or the storm guard.
    Digest,
    /// Resources GuardDuty's coverage API says are not monitored now.
    CoverageReport,
    /// Any other event a route matched (kept generic, never an error).
    Other,
}

/// A console link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub label: String,
    pub url: String,
}

/// The process that did it, with its parents.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProcessSummary {
    pub name: Option<String>,
    pub executable_path: Option<String>,
    pub executable_sha256: Option<String>,
    pub user: Option<String>,
    pub pid: Option<u64>,
    pub command_line: Option<String>,
    /// Parent first: `name (path)` per ancestor.
    pub lineage: Vec<String>,
}

/// Where it happened.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResourceSummary {
    /// `ECS on Fargate`, `ECS on EC2`, `EKS`, `EC2`, or GuardDuty's resource type.
    pub platform: Option<String>,
    pub cluster: Option<String>,
    /// ECS service, from the task group `service:<name>`.
    pub service: Option<String>,
    pub task: Option<String>,
    pub namespace: Option<String>,
    pub workload: Option<String>,
    pub container: Option<String>,
    pub image: Option<String>,
    pub instance: Option<String>,
    pub process: Option<ProcessSummary>,
    /// Remote IP address or domain the workload talked to.
    pub remote: Option<String>,
    /// Other runtime context GuardDuty gave (tool, script, file, mount...).
    pub context: Vec<(String, String)>,
}

/// One alert, ready for any renderer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Alert {
    pub kind: AlertKind,
    /// What the pipeline decided about this alert (the rest is what it says).
    #[serde(flatten)]
    pub verdict: Verdict,
    pub event_id: String,
    pub finding_id: Option<String>,
    /// Identity used for dedupe (`account/region/finding id` or the coverage resource).
    pub dedupe_key: String,
    /// The identity of the attack sequence this finding is a signal of: its
    /// alert's thread and incident are this one's too (Slack threads, the
    /// PagerDuty incident), so the sequence and its findings fold together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_of: Option<String>,
    pub title: String,
    pub finding_type: Option<String>,
    pub severity: Option<f64>,
    pub band: Band,
    pub account_id: String,
    pub account_name: Option<String>,
    pub region: String,
    pub partition: String,
    pub tactic: Option<String>,
    pub meaning: String,
    pub triage: Vec<String>,
    pub description: Option<String>,
    pub resource: ResourceSummary,
    pub links: Vec<Link>,
    pub count: Option<u64>,
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub sample: bool,
    pub archived: bool,
    pub coverage_issues: Vec<CoverageIssue>,
    /// Lists shown after the facts: an attack sequence's signals, resources,
    /// actors, endpoints and indicators; a digest's held-back alerts.
    #[serde(default)]
    pub sections: Vec<Section>,
}

/// A titled list in an alert. Each renderer shows every section the same
/// way (a heading, then one line per item) within its own size limits, and
/// says how many items it left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    pub heading: String,
    pub items: Vec<Item>,
    /// Items the event had beyond those kept here.
    #[serde(default)]
    pub left_out: usize,
}

/// One line of a section: `lead` is what AWS wrote (finding types, times,
/// resource kinds), shown as written; `text` may hold text an attacker chose
/// (domains, process and user names) and is shown defanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub lead: String,
    pub text: String,
}

/// The heading of an attack sequence's list of its findings gdalert alerted
/// on before the sequence arrived.
pub const ALERTED_BEFORE: &str = "Already alerted as findings";

/// The heading of a digest's list of held-back alerts.
pub const HELD_BACK: &str = "Held back";

/// The heading of a digest's list of alerts silences muted.
pub const MUTED: &str = "Muted by silences";

/// How many items of one list an alert keeps (renderers may show fewer).
pub const SECTION_ITEMS: usize = 10;

/// Characters of one item's text an alert keeps (the rest is cut with `…`).
pub const ITEM_CHARS: usize = 1000;

impl Section {
    /// A section of `items`, keeping the first [`SECTION_ITEMS`], each cut
    /// to [`ITEM_CHARS`]: what every renderer then fits is bounded whatever
    /// the event held.
    pub fn of(heading: impl Into<String>, mut items: Vec<Item>) -> Section {
        let left_out = items.len().saturating_sub(SECTION_ITEMS);
        items.truncate(SECTION_ITEMS);
        for item in &mut items {
            for text in [&mut item.lead, &mut item.text] {
                if let Some((cut, _)) = text.char_indices().nth(ITEM_CHARS) {
                    text.truncate(cut);
                    text.push('…');
                }
            }
        }
        Section {
            heading: heading.into(),
            items,
            left_out,
        }
    }
}

impl Alert {
    /// An alert of gdalert's own (a digest, a notice), with nothing from an event.
    pub fn summary(id: &str, title: String, meaning: String) -> Alert {
        Alert {
            kind: AlertKind::Other,
            verdict: Verdict::new(Lifecycle::Other),
            event_id: id.to_string(),
            finding_id: None,
            dedupe_key: id.to_string(),
            part_of: None,
            title,
            finding_type: None,
            severity: None,
            band: Band::Informational,
            account_id: String::new(),
            account_name: None,
            region: String::new(),
            partition: "aws".into(),
            tactic: None,
            meaning,
            triage: Vec::new(),
            description: None,
            resource: ResourceSummary::default(),
            links: Vec::new(),
            count: None,
            first_seen: None,
            last_seen: None,
            updated_at: None,
            sample: false,
            archived: false,
            coverage_issues: Vec::new(),
            sections: Vec::new(),
        }
    }

    /// The alert as sent: what it says, with what the pipeline decided. The
    /// one place a decision changes what an alert says: an archived finding
    /// is titled as such and loses its triage steps (nobody needs to act).
    pub fn decided(mut self, verdict: Verdict) -> Alert {
        if verdict.lifecycle == Lifecycle::Archived && self.kind == AlertKind::Finding {
            if !self.title.starts_with("Archived: ") {
                self.title = format!("Archived: {}", self.title);
            }
            self.meaning = "GuardDuty archived this finding (by hand or by a suppression rule); no action is needed unless that was a mistake.".into();
            self.triage.clear();
        }
        for (i, gap) in verdict.coverage_gaps.iter().enumerate() {
            self.resource
                .context
                .insert(i, ("Coverage".to_string(), gap.clone()));
        }
        if !verdict.alerted_before.is_empty() {
            let items = verdict
                .alerted_before
                .iter()
                .map(|line| Item {
                    lead: line.clone(),
                    text: String::new(),
                })
                .collect();
            self.sections.retain(|s| s.heading != ALERTED_BEFORE);
            self.sections.insert(0, Section::of(ALERTED_BEFORE, items));
        }
        self.verdict = verdict;
        self
    }
}

/// What the pipeline decided about an alert, kept apart from what the alert
/// says: [`enrich`] builds the second from the event, the engine decides the
/// first, and [`Alert::decided`] puts them together once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub lifecycle: Lifecycle,
    /// Alerts held back since the last message (count bumps, a group's alerts).
    pub suppressed_since_last: u64,
    /// For a resolved coverage incident: how long coverage was lost.
    pub outage_secs: Option<u64>,
    /// The state store could not be used: this alert may be a repeat.
    pub dedupe_unavailable: bool,
    /// For an attack sequence: its signals gdalert already alerted on, one
    /// line each (finding type, finding id, when).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerted_before: Vec<String>,
    /// For a runtime finding: where GuardDuty's runtime coverage was lost
    /// during the finding's activity, or is lost now, one line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coverage_gaps: Vec<String>,
}

impl Verdict {
    pub fn new(lifecycle: Lifecycle) -> Verdict {
        Verdict {
            lifecycle,
            suppressed_since_last: 0,
            outage_secs: None,
            dedupe_unavailable: false,
            alerted_before: Vec::new(),
            coverage_gaps: Vec::new(),
        }
    }
}

/// Settings enrichment needs from the configuration.
#[derive(Debug, Clone, Default)]
pub struct EnrichOptions {
    /// Account id → display name.
    pub account_names: std::collections::BTreeMap<String, String>,
}

const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

fn enc(text: &str) -> String {
    utf8_percent_encode(text, PATH_SEGMENT).to_string()
}

/// The console's host for a partition and region.
pub fn console_base(partition: &str, region: &str) -> String {
    let region = enc(region);
    match partition {
        "aws-cn" => format!("https://{region}.console.amazonaws.cn"),
        "aws-us-gov" => format!("https://{region}.console.amazonaws-us-gov.com"),
        _ => format!("https://{region}.console.aws.amazon.com"),
    }
}

fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn last_segment(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn text_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = value;
    for key in path {
        cur = cur.get(*key)?;
    }
    cur.as_str().filter(|s| !s.is_empty())
}

/// Builds the alert for an event. `lifecycle` comes from the dedupe engine.
pub fn enrich(event: &GuardDutyEvent, lifecycle: Lifecycle, options: &EnrichOptions) -> Alert {
    let mut alert = Alert::summary(&event.id, event.detail_type.clone(), String::new());
    alert.verdict = Verdict::new(lifecycle);
    alert.dedupe_key = format!("event/{}", event.id);
    alert.account_id = event.account.clone();
    alert.region = event.region.clone();
    alert.partition = partition_of_region(&event.region).to_string();
    match &event.detail {
        Detail::Finding(finding) => {
            let finding = finding.as_ref();
            alert.kind = AlertKind::Finding;
            if let Some(account) = finding.account_id.as_ref().filter(|a| !a.is_empty()) {
                alert.account_id = account.clone();
            }
            if let Some(region) = finding.region.as_ref().filter(|r| !r.is_empty()) {
                alert.region = region.clone();
            }
            alert.partition = finding
                .partition
                .clone()
                .unwrap_or_else(|| partition_of_region(&alert.region).to_string());
            alert.finding_id = Some(finding.id.clone());
            alert.dedupe_key = finding_key(&alert.account_id, &alert.region, &finding.id);
            alert.finding_type = Some(finding.finding_type.clone());
            alert.severity = finding.severity;
            alert.band = finding.severity.map_or(Band::Informational, Band::of);
            alert.description = finding.description.clone().filter(|d| !d.is_empty());
            alert.count = finding.service.count;
            alert.first_seen = finding.service.event_first_seen.map(|t| t.0);
            alert.last_seen = finding.service.event_last_seen.map(|t| t.0);
            alert.updated_at = finding.updated_at.map(|t| t.0);
            alert.sample = finding.is_sample();
            alert.archived = finding.service.archived;
            match catalogue::lookup(&finding.finding_type) {
                Some(kind) => {
                    alert.tactic = Some(format!("{} ({})", kind.tactic.name, kind.tactic.id));
                    alert.meaning = kind.meaning.to_string();
                    alert.triage = kind.triage.iter().map(|s| s.to_string()).collect();
                }
                None => {
                    let generic = catalogue::generic(&finding.finding_type);
                    alert.tactic = generic.tactic.map(|t| format!("{} ({})", t.name, t.id));
                    alert.meaning = finding
                        .title
                        .clone()
                        .filter(|t| !t.is_empty())
                        .unwrap_or_else(|| generic.meaning.to_string());
                    alert.triage = generic.triage.iter().map(|s| s.to_string()).collect();
                }
            }
            alert.resource = finding_resource(finding, &event.raw);
            if let Some(sequence) = sequence_of(finding) {
                alert
                    .resource
                    .context
                    .push(("Part of attack sequence".into(), sequence.to_string()));
                alert.part_of = Some(finding_key(&alert.account_id, &alert.region, sequence));
            }
            if let Some(sequence) = finding
                .service
                .detection
                .as_ref()
                .and_then(|d| d.sequence.as_ref())
            {
                crate::sequence::apply(&mut alert, sequence);
            }
            if catalogue::is_malware(&finding.finding_type) {
                let threats = malware_threats(&event.raw);
                for threat in &threats {
                    alert
                        .resource
                        .context
                        .push(("Threat".into(), threat.name.clone()));
                    for (path, hash) in threat.files.iter().take(5) {
                        alert.resource.context.push(("File".into(), path.clone()));
                        if let Some(hash) = hash {
                            alert
                                .resource
                                .context
                                .push(("File hash".into(), hash.clone()));
                        }
                    }
                }
                alert.dedupe_key =
                    malware_key(&alert.account_id, &alert.region, &alert.resource, &threats)
                        .unwrap_or(alert.dedupe_key);
            }
            alert.title = finding_title(&alert);
            alert.links = finding_links(&alert, finding);
        }
        Detail::Coverage(change) => {
            if let Some(account) = change.account_id.as_ref().filter(|a| !a.is_empty()) {
                alert.account_id = account.clone();
            }
            alert.kind = match change.current_status {
                gdalert_event::ProtectionStatus::Healthy => AlertKind::CoverageRestored,
                _ => AlertKind::CoverageLost,
            };
            alert.dedupe_key = coverage_key(&alert.account_id, &alert.region, &change.resource);
            alert.coverage_issues = change.issues.clone();
            alert.updated_at = change.last_updated_at.map(|t| t.0);
            let base = console_base(&alert.partition, &alert.region);
            let region_q = enc(&alert.region);
            let (platform, name) = match &change.resource {
                CoverageResource::EcsCluster { name } => {
                    alert.resource.cluster = Some(name.clone());
                    alert.links.push(Link {
                        label: "ECS cluster".into(),
                        url: format!(
                            "{base}/ecs/v2/clusters/{}/services?region={region_q}",
                            enc(name)
                        ),
                    });
                    ("ECS", name.clone())
                }
                CoverageResource::EksCluster { name } => {
                    alert.resource.cluster = Some(name.clone());
                    alert.links.push(Link {
                        label: "EKS cluster".into(),
                        url: format!("{base}/eks/home?region={region_q}#/clusters/{}", enc(name)),
                    });
                    ("EKS", name.clone())
                }
                CoverageResource::Ec2Instance {
                    instance_id,
                    cluster_arn,
                } => {
                    alert.resource.instance = Some(instance_id.clone());
                    alert.resource.cluster =
                        cluster_arn.as_deref().map(|a| last_segment(a).to_string());
                    alert.links.push(ec2_link(&base, &region_q, instance_id));
                    ("EC2", instance_id.clone())
                }
                CoverageResource::Unknown { resource_type } => (
                    "resource",
                    resource_type.clone().unwrap_or_else(|| "unknown".into()),
                ),
            };
            alert.resource.platform = Some(platform.to_string());
            alert.links.push(Link {
                label: "Runtime coverage".into(),
                url: format!("{base}/guardduty/home?region={region_q}#/runtime-monitoring"),
            });
            alert.title = match alert.kind {
                AlertKind::CoverageRestored => {
                    format!("Runtime protection restored: {platform} {name}")
                }
                _ => format!("Runtime protection lost: {platform} {name}"),
            };
            alert.meaning = match alert.kind {
                AlertKind::CoverageRestored => "The GuardDuty security agent reports again for this resource.".into(),
                _ => "The GuardDuty security agent no longer covers this resource: runtime threats there go unseen until it is fixed.".into(),
            };
            alert.triage = match alert.kind {
                AlertKind::CoverageRestored => Vec::new(),
                _ => vec![
                    "Read the reported issue: it names what broke (agent, VPC endpoint, permissions, add-on).".into(),
                    "Check the GuardDuty Runtime coverage page for this resource.".into(),
                    "Fix the cause; gdalert sends a resolved message when coverage returns.".into(),
                ],
            };
        }
        Detail::Other => {
            // The generic view: what the envelope says and the detail's
            // scalar fields, rather than an empty alert. Values are shown as
            // untrusted text (defanged), since nothing here is known.
            alert.meaning = format!(
                "A {} event from {} that gdalert has no specific view of; its fields follow.",
                event.detail_type, event.source
            );
            alert.updated_at = event.time.map(|t| t.0);
            if let Some(t) = event.time {
                alert.resource.context.push((
                    "Time".into(),
                    t.0.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                ));
            }
            let mut fields = Vec::new();
            if let Some(detail) = event.raw.get("detail") {
                scalar_fields(detail, String::new(), 0, &mut fields);
            }
            let shown = fields.len().min(GENERIC_FIELDS);
            let left = fields.len() - shown;
            alert
                .resource
                .context
                .extend(fields.into_iter().take(shown));
            if left > 0 {
                alert
                    .resource
                    .context
                    .push(("More".into(), format!("{left} more field(s) in the event")));
            }
        }
    }
    alert.account_name = options.account_names.get(&alert.account_id).cloned();
    alert
}

impl Alert {
    /// Where it happened, in one word: the cluster, else the instance, else
    /// the account and region.
    pub fn place(&self) -> String {
        self.resource
            .cluster
            .clone()
            .or_else(|| self.resource.instance.clone())
            .unwrap_or_else(|| format!("{}/{}", self.account_id, self.region))
    }
}

/// How many of an unknown event's fields the generic view shows.
const GENERIC_FIELDS: usize = 20;

/// The scalar fields of `value` as (dotted path, text), in document order,
/// four levels deep at most; empty strings and nulls are left out.
fn scalar_fields(value: &Value, path: String, depth: usize, out: &mut Vec<(String, String)>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::Object(map) if depth < 4 => {
            for (key, v) in map {
                scalar_fields(v, join(key), depth + 1, out);
            }
        }
        Value::Array(items) if depth < 4 => {
            for (i, v) in items.iter().enumerate().take(5) {
                scalar_fields(v, join(&i.to_string()), depth + 1, out);
            }
        }
        Value::String(s) if !s.is_empty() => out.push((path, s.clone())),
        Value::Number(n) => out.push((path, n.to_string())),
        Value::Bool(b) => out.push((path, b.to_string())),
        _ => {}
    }
}

/// A threat a malware scan found, with its files (path, SHA-256).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Threat {
    pub name: String,
    pub files: Vec<(String, Option<String>)>,
}

/// The threats of a Malware Protection finding, from
/// `service.ebsVolumeScanDetails.scanDetections.threatDetectedByName` (EC2,
/// ECS and EKS volume scans) or `service.malwareScanDetails.threats`.
pub fn malware_threats(raw: &Value) -> Vec<Threat> {
    let service = raw.get("detail").and_then(|d| d.get("service"));
    let by_name = service
        .and_then(|s| {
            s.pointer("/ebsVolumeScanDetails/scanDetections/threatDetectedByName/threatNames")
        })
        .and_then(Value::as_array);
    let listed = service
        .and_then(|s| s.pointer("/malwareScanDetails/threats"))
        .and_then(Value::as_array);
    let mut threats = Vec::new();
    for threat in by_name.into_iter().chain(listed).flatten() {
        let Some(name) = text_at(threat, &["name"]) else {
            continue;
        };
        let files = threat
            .get("filePaths")
            .or_else(|| threat.get("itemPaths"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|file| {
                let path = text_at(file, &["filePath"])
                    .or_else(|| text_at(file, &["nestedItemPath"]))
                    .or_else(|| text_at(file, &["fileName"]))?;
                Some((
                    path.to_string(),
                    text_at(file, &["hash"]).map(str::to_string),
                ))
            })
            .collect();
        threats.push(Threat {
            name: name.to_string(),
            files,
        });
    }
    threats
}

/// Dedupe identity of a Malware Protection finding: GuardDuty makes a new
/// finding id for every scan, so a re-scan finding the same threats on the
/// same resource must be the same alert (an update, not a new page). `None`
/// when the finding names neither resource nor threat (the finding id is
/// kept then).
pub fn malware_key(
    account: &str,
    region: &str,
    resource: &ResourceSummary,
    threats: &[Threat],
) -> Option<String> {
    let place: Vec<&str> = [
        &resource.cluster,
        &resource.task,
        &resource.namespace,
        &resource.workload,
        &resource.instance,
        &resource.container,
    ]
    .into_iter()
    .filter_map(|part| part.as_deref())
    .collect();
    let mut names: Vec<&str> = threats.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    if place.is_empty() || names.is_empty() {
        return None;
    }
    Some(format!(
        "finding/{account}/{region}/malware/{}/{}",
        place.join("/"),
        names.join(",")
    ))
}

/// Dedupe identity of a finding: (account, region, finding id).
pub fn finding_key(account: &str, region: &str, finding_id: &str) -> String {
    format!("finding/{account}/{region}/{finding_id}")
}

/// Identity of a coverage incident: (account, region, cluster or instance).
pub fn coverage_key(account: &str, region: &str, resource: &CoverageResource) -> String {
    format!("coverage/{account}/{region}/{}", resource.key())
}

fn finding_title(alert: &Alert) -> String {
    let finding_type = alert.finding_type.as_deref().unwrap_or("GuardDuty finding");
    let r = &alert.resource;
    let place = match (&r.cluster, &r.service, &r.instance) {
        (Some(cluster), Some(service), _) => format!(" in {cluster}/{service}"),
        (Some(cluster), None, _) => match &r.namespace {
            Some(ns) => format!(" in {cluster}/{ns}"),
            None => format!(" in {cluster}"),
        },
        (None, _, Some(instance)) => format!(" on {instance}"),
        _ => String::new(),
    };
    let sample = if alert.sample { "[SAMPLE] " } else { "" };
    format!("{sample}{} {finding_type}{place}", alert.band.as_str())
}

fn ec2_link(base: &str, region_q: &str, instance_id: &str) -> Link {
    Link {
        label: "EC2 instance".into(),
        url: format!(
            "{base}/ec2/home?region={region_q}#InstanceDetails:instanceId={}",
            enc(instance_id)
        ),
    }
}

fn finding_links(alert: &Alert, finding: &gdalert_event::Finding) -> Vec<Link> {
    let base = console_base(&alert.partition, &alert.region);
    let region_q = enc(&alert.region);
    let is_sequence = finding.finding_type.starts_with("AttackSequence:");
    let mut links = vec![Link {
        label: if is_sequence {
            "Attack sequence"
        } else {
            "Finding"
        }
        .into(),
        url: format!(
            "{base}/guardduty/home?region={region_q}#/findings?macros=current&fId={}",
            enc(&finding.id)
        ),
    }];
    if let Some(sequence) = sequence_of(finding) {
        links.push(Link {
            label: "Attack sequence".into(),
            url: format!(
                "{base}/guardduty/home?region={region_q}#/findings?macros=current&fId={}",
                enc(sequence)
            ),
        });
    }
    let resource = &finding.resource;
    if let Some(ecs) = &resource.ecs_cluster_details {
        if let Some(name) = ecs.name.as_deref().filter(|n| !n.is_empty()) {
            links.push(Link {
                label: "ECS cluster".into(),
                url: format!(
                    "{base}/ecs/v2/clusters/{}/services?region={region_q}",
                    enc(name)
                ),
            });
            if let Some(task_arn) = ecs.task_details.as_ref().and_then(|t| t.arn.as_deref()) {
                links.push(Link {
                    label: "ECS task".into(),
                    url: format!(
                        "{base}/ecs/v2/clusters/{}/tasks/{}/configuration?region={region_q}",
                        enc(name),
                        enc(last_segment(task_arn))
                    ),
                });
            }
        }
    }
    if let Some(name) = resource
        .eks_cluster_details
        .as_ref()
        .and_then(|e| e.name.as_deref())
        .filter(|n| !n.is_empty())
    {
        links.push(Link {
            label: "EKS cluster".into(),
            url: format!("{base}/eks/home?region={region_q}#/clusters/{}", enc(name)),
        });
    }
    if let Some(instance) = resource
        .instance_details
        .as_ref()
        .and_then(|i| i.instance_id.as_deref())
        .filter(|n| !n.is_empty())
    {
        links.push(ec2_link(&base, &region_q, instance));
    }
    links
}

/// The id of the attack sequence a finding is part of, if GuardDuty says.
pub fn sequence_of(finding: &gdalert_event::Finding) -> Option<&str> {
    let arn = finding.associated_attack_sequence_arn.as_deref()?;
    Some(last_segment(arn)).filter(|id| !id.is_empty())
}

/// Runtime context keys worth showing, with their labels.
const CONTEXT_FIELDS: &[(&str, &str)] = &[
    ("commandLineExample", "Command line"),
    ("toolName", "Tool"),
    ("toolCategory", "Tool category"),
    ("scriptPath", "Script"),
    ("threatFilePath", "Threat file"),
    ("modifiedAt", "Modified at"),
    ("libraryPath", "Library"),
    ("moduleName", "Kernel module"),
    ("moduleFilePath", "Module file"),
    ("mountSource", "Mount source"),
    ("mountTarget", "Mount target"),
    ("socketPath", "Socket"),
    ("releaseAgentPath", "Release agent"),
    ("runcBinaryPath", "runc binary"),
    ("shellHistoryFilePath", "Shell history"),
    ("targetProcess", "Target process"),
    ("addressFamily", "Address family"),
    ("fileSystemType", "File system"),
    ("flags", "Flags"),
    ("memoryRegions", "Memory regions"),
    ("ianaProtocolNumber", "Protocol"),
    ("filePath", "File"),
    ("fileOperation", "File operation"),
    ("ldPreloadValue", "LD_PRELOAD"),
];

fn finding_resource(finding: &gdalert_event::Finding, raw: &Value) -> ResourceSummary {
    let resource = &finding.resource;
    let mut summary = ResourceSummary {
        platform: resource.resource_type.clone(),
        ..ResourceSummary::default()
    };
    if let Some(ecs) = &resource.ecs_cluster_details {
        summary.cluster = ecs.name.clone();
        if let Some(task) = &ecs.task_details {
            summary.platform = Some(match task.launch_type.as_deref() {
                Some(lt) if lt.eq_ignore_ascii_case("FARGATE") => "ECS on Fargate".into(),
                Some(_) => "ECS on EC2".into(),
                None => "ECS".into(),
            });
            summary.service = task
                .group
                .as_deref()
                .and_then(|g| g.strip_prefix("service:"))
                .map(str::to_string);
            summary.task = task.arn.as_deref().map(|a| last_segment(a).to_string());
            if let Some(container) = task.containers.first() {
                summary.container = container.name.clone();
                summary.image = container.image.clone();
            }
        }
    }
    if let Some(eks) = &resource.eks_cluster_details {
        summary.platform = Some("EKS".into());
        summary.cluster = eks.name.clone();
    }
    if let Some(workload) = resource
        .kubernetes_details
        .as_ref()
        .and_then(|k| k.kubernetes_workload_details.as_ref())
    {
        summary.namespace = text_at(workload, &["namespace"]).map(str::to_string);
        summary.workload = text_at(workload, &["name"]).map(str::to_string);
        if let Some(first) = workload
            .get("containers")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
        {
            summary.container = summary
                .container
                .take()
                .or_else(|| text_at(first, &["name"]).map(str::to_string));
            summary.image = summary
                .image
                .take()
                .or_else(|| text_at(first, &["image"]).map(str::to_string));
        }
    }
    if let Some(container) = &resource.container_details {
        summary.container = container.name.clone().or(summary.container.take());
        summary.image = container.image.clone().or(summary.image.take());
    }
    if let Some(instance) = &resource.instance_details {
        summary.instance = instance.instance_id.clone();
        if summary.platform.as_deref() == Some("Instance") {
            summary.platform = Some("EC2".into());
        }
    }
    if let Some(runtime) = &finding.service.runtime_details {
        if let Some(process) = &runtime.process {
            summary.process = Some(ProcessSummary {
                name: process.name.clone(),
                executable_path: process.executable_path.clone(),
                executable_sha256: process.executable_sha256.clone(),
                user: process.user.clone(),
                pid: process.pid,
                command_line: runtime
                    .context
                    .as_ref()
                    .and_then(|c| text_at(c, &["commandLineExample"]))
                    .map(str::to_string),
                lineage: process
                    .lineage
                    .iter()
                    .map(|entry| match (&entry.name, &entry.executable_path) {
                        (Some(name), Some(path)) => format!("{name} ({path})"),
                        (Some(name), None) => name.clone(),
                        (None, Some(path)) => path.clone(),
                        (None, None) => "?".into(),
                    })
                    .collect(),
            });
        }
        if let Some(context) = runtime.context.as_ref().and_then(Value::as_object) {
            for (key, label) in CONTEXT_FIELDS {
                if *key == "commandLineExample" && summary.process.is_some() {
                    continue;
                }
                if let Some(value) = context.get(*key) {
                    let shown = match value {
                        Value::String(s) if !s.is_empty() => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Array(a) if !a.is_empty() => value.to_string(),
                        Value::Object(o) if !o.is_empty() => value.to_string(),
                        _ => continue,
                    };
                    summary.context.push((label.to_string(), shown));
                }
            }
        }
    }
    let action = raw
        .get("detail")
        .and_then(|d| d.get("service"))
        .and_then(|s| s.get("action"));
    if let Some(action) = action {
        summary.remote = text_at(
            action,
            &["networkConnectionAction", "remoteIpDetails", "ipAddressV4"],
        )
        .or_else(|| {
            text_at(
                action,
                &["networkConnectionAction", "remoteIpDetails", "ipAddressV6"],
            )
        })
        .or_else(|| text_at(action, &["dnsRequestAction", "domain"]))
        .or_else(|| {
            text_at(
                action,
                &["awsApiCallAction", "remoteIpDetails", "ipAddressV4"],
            )
        })
        .or_else(|| {
            text_at(
                action,
                &["kubernetesApiCallAction", "remoteIpDetails", "ipAddressV4"],
            )
        })
        .map(str::to_string);
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_follow_guardduty_ranges() {
        assert_eq!(Band::of(1.0), Band::Low);
        assert_eq!(Band::of(3.9), Band::Low);
        assert_eq!(Band::of(4.0), Band::Medium);
        assert_eq!(Band::of(6.9), Band::Medium);
        assert_eq!(Band::of(7.0), Band::High);
        assert_eq!(Band::of(8.9), Band::High);
        assert_eq!(Band::of(9.0), Band::Critical);
        assert_eq!(Band::of(10.0), Band::Critical);
        assert_eq!(Band::of(f64::NAN), Band::Informational);
        assert!(Band::Critical > Band::High);
    }

    #[test]
    fn console_links_follow_the_partition() {
        assert_eq!(
            console_base("aws-cn", "cn-north-1"),
            "https://cn-north-1.console.amazonaws.cn"
        );
        assert_eq!(
            console_base("aws-us-gov", "us-gov-west-1"),
            "https://us-gov-west-1.console.amazonaws-us-gov.com"
        );
        assert_eq!(
            console_base("aws", "eu-west-1"),
            "https://eu-west-1.console.aws.amazon.com"
        );
        assert_eq!(partition_of_region("cn-northwest-1"), "aws-cn");
    }
}
