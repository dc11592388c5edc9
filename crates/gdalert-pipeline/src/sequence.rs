//! The attack-sequence view: what an Extended Threat Detection finding's
//! `service.detection.sequence` says, as sections every renderer lists.
//!
//! GuardDuty writes the identifiers, types, times and indicator names; the
//! signal descriptions, resource and user names, processes and endpoints can
//! carry text a workload chose. The first go in an [`Item`]'s `lead` (shown as
//! written), the second in its `text` (defanged by every renderer).

use gdalert_event::{Actor, NetworkEndpoint, Sequence, Signal};
use serde_json::Value;

use crate::alert::{Alert, Item, Section};

const TIME: &str = "%Y-%m-%d %H:%M UTC";

/// Fills `alert` from `sequence`: the description when the finding has none,
/// where it happened, and the sections (signals as a timeline, resources,
/// actors, endpoints, indicators), each empty one left out.
pub(crate) fn apply(alert: &mut Alert, sequence: &Sequence) {
    if alert.description.is_none() {
        alert.description = sequence.description.clone().filter(|d| !d.is_empty());
    }
    place(alert, sequence);
    let sections = [
        Section::of("Signals", timeline(&sequence.signals)),
        Section::of(
            "Resources",
            sequence
                .resources
                .iter()
                .filter_map(|r| {
                    let text = r.name.clone().or_else(|| r.uid.clone())?;
                    Some(Item {
                        lead: r
                            .resource_type
                            .clone()
                            .filter(|t| is_aws_name(t))
                            .unwrap_or_default(),
                        text,
                    })
                })
                .collect(),
        ),
        Section::of("Actors", sequence.actors.iter().filter_map(actor).collect()),
        Section::of(
            "Network endpoints",
            sequence.endpoints.iter().filter_map(endpoint).collect(),
        ),
        Section::of(
            "Indicators",
            sequence
                .sequence_indicators
                .iter()
                .filter(|i| !i.values.is_empty())
                .map(|i| {
                    // The title is GuardDuty's wording ("MITRE ATT&CK
                    // tactics"), the values may be an attacker's domain: both
                    // are shown as text, the key as written.
                    let values = i.values.join(", ");
                    match (&i.title, i.key.as_deref().filter(|k| is_aws_name(k))) {
                        (Some(title), _) => Item {
                            lead: String::new(),
                            text: format!("{title}: {values}"),
                        },
                        (None, Some(key)) => Item {
                            lead: key.to_string(),
                            text: values,
                        },
                        (None, None) => Item {
                            lead: String::new(),
                            text: values,
                        },
                    }
                })
                .collect(),
        ),
    ];
    alert.sections.extend(
        sections
            .into_iter()
            .filter(|s| !s.items.is_empty() || s.left_out > 0),
    );
}

/// The cluster or instance the sequence is about, when the finding's own
/// `resource` (type `AttackSequence`) does not say.
fn place(alert: &mut Alert, sequence: &Sequence) {
    let named = |kind: &str| {
        sequence
            .resources
            .iter()
            .find(|r| r.resource_type.as_deref() == Some(kind))
            .and_then(|r| r.name.clone().or_else(|| r.uid.clone()))
    };
    let r = &mut alert.resource;
    if r.cluster.is_none() {
        if let Some(cluster) = named("ECS_CLUSTER") {
            r.cluster = Some(last_segment(&cluster));
            r.platform = Some("ECS".into());
        } else if let Some(cluster) = named("EKS_CLUSTER") {
            r.cluster = Some(last_segment(&cluster));
            r.platform = Some("EKS".into());
        }
    }
    if r.cluster.is_none() && r.instance.is_none() {
        r.instance = named("EC2_INSTANCE").map(|i| last_segment(&i));
    }
}

fn last_segment(text: &str) -> String {
    text.rsplit('/').next().unwrap_or(text).to_string()
}

/// Signals in the order they began (undated ones last), one line each:
/// when, how often, what (finding type or API), which finding.
fn timeline(signals: &[Signal]) -> Vec<Item> {
    let mut ordered: Vec<&Signal> = signals.iter().collect();
    ordered.sort_by_key(|s| {
        let start = s.first_seen_at.or(s.created_at);
        (start.is_none(), start)
    });
    ordered
        .into_iter()
        .map(|s| {
            let mut lead = Vec::new();
            match (s.first_seen_at.or(s.created_at), s.last_seen_at) {
                (Some(first), Some(last)) if last.0 > first.0 => {
                    let end = if last.0.date_naive() == first.0.date_naive() {
                        last.0.format("%H:%M UTC")
                    } else {
                        last.0.format(TIME)
                    };
                    lead.push(format!("{} → {end}", first.0.format("%Y-%m-%d %H:%M")))
                }
                (Some(first), _) => lead.push(first.0.format(TIME).to_string()),
                (None, Some(last)) => lead.push(last.0.format(TIME).to_string()),
                (None, None) => {}
            }
            if let Some(count) = s.count.filter(|c| *c > 1) {
                lead.push(format!("{count}×"));
            }
            // A finding type or API name is shown as written; anything else
            // GuardDuty put there is shown as text (defanged).
            let mut text = Vec::new();
            match s.name.as_deref().filter(|n| !n.is_empty()) {
                Some(name) if is_aws_name(name) => lead.push(name.to_string()),
                Some(name) => text.push(name.to_string()),
                None => {
                    if let Some(kind) = s.signal_type.as_deref().filter(|k| is_aws_name(k)) {
                        lead.push(kind.to_string());
                    }
                }
            }
            if let Some(id) = s.finding_id() {
                lead.push(format!("finding {id}"));
            }
            text.extend(s.description.clone());
            Item {
                lead: lead.join(" · "),
                text: text.join(": "),
            }
        })
        .collect()
}

/// A finding type (`Backdoor:Runtime/C&CActivity.B!DNS`), an API name
/// (`iam:CreateRole`) or a signal kind (`CLOUD_TRAIL`): GuardDuty's own
/// vocabulary, never a link or markup.
fn is_aws_name(name: &str) -> bool {
    name.len() <= 128
        && !name.contains("//")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":/.!&_-".contains(c))
}

fn text<'a>(value: Option<&'a Value>, path: &[&str]) -> Option<&'a str> {
    let mut cur = value?;
    for key in path {
        cur = cur.get(*key)?;
    }
    cur.as_str().filter(|s| !s.is_empty())
}

/// `user (type)`, `process name (path)`, `session from …`: who acted.
fn actor(a: &Actor) -> Option<Item> {
    let mut parts = Vec::new();
    if let Some(name) = text(a.user.as_ref(), &["name"]) {
        match text(a.user.as_ref(), &["type"]) {
            Some(kind) => parts.push(format!("{name} ({kind})")),
            None => parts.push(name.to_string()),
        }
    }
    if let Some(account) = text(a.user.as_ref(), &["account", "uid"]) {
        parts.push(format!("account {account}"));
    }
    match (
        text(a.process.as_ref(), &["name"]),
        text(a.process.as_ref(), &["path"]),
    ) {
        (Some(name), Some(path)) => parts.push(format!("process {name} ({path})")),
        (Some(one), None) | (None, Some(one)) => parts.push(format!("process {one}")),
        (None, None) => {}
    }
    if parts.is_empty() {
        parts.push(a.id.clone()?);
    }
    Some(Item {
        lead: String::new(),
        text: parts.join(", "),
    })
}

/// `ip:port domain, AS name (number), city, country`.
fn endpoint(e: &NetworkEndpoint) -> Option<Item> {
    let mut parts = Vec::new();
    match (&e.ip, e.port) {
        (Some(ip), Some(port)) => parts.push(format!("{ip}:{port}")),
        (Some(ip), None) => parts.push(ip.clone()),
        (None, Some(port)) => parts.push(format!("port {port}")),
        (None, None) => {}
    }
    if let Some(domain) = e.domain.as_deref().filter(|d| !d.is_empty()) {
        parts.push(domain.to_string());
    }
    if let Some(asn) = text(e.autonomous_system.as_ref(), &["name"]) {
        match e
            .autonomous_system
            .as_ref()
            .and_then(|a| a.get("number"))
            .and_then(Value::as_u64)
        {
            Some(number) => parts.push(format!("AS{number} {asn}")),
            None => parts.push(asn.to_string()),
        }
    }
    for key in ["city", "country"] {
        if let Some(place) = text(e.location.as_ref(), &[key]) {
            parts.push(place.to_string());
        }
    }
    if parts.is_empty() {
        parts.push(e.id.clone()?);
    }
    Some(Item {
        lead: String::new(),
        text: parts.join(", "),
    })
}

/// How many of a sequence's findings the engine looks up in its state.
pub(crate) const SIGNALS_LOOKED_UP: usize = 25;

/// The sequence's signals that are GuardDuty findings, as (state key, label),
/// the first [`SIGNALS_LOOKED_UP`]: the engine reads them with the
/// sequence's own record to say which were alerted before. A signal's ARN
/// gives its account and region; the sequence's are used otherwise.
pub(crate) fn signal_findings(
    sequence: &Sequence,
    account: &str,
    region: &str,
) -> Vec<(String, String)> {
    sequence
        .signals
        .iter()
        .filter_map(|s| {
            let id = s.finding_id()?;
            let arn: Vec<&str> = s.uid.as_deref().unwrap_or_default().split(':').collect();
            let (account, region) = match arn.as_slice() {
                ["arn", _, "guardduty", region, account, ..] => (*account, *region),
                _ => (account, region),
            };
            let name = s
                .name
                .as_deref()
                .filter(|n| is_aws_name(n))
                .unwrap_or("finding");
            Some((
                crate::alert::finding_key(account, region, id),
                format!("{name} · finding {id}"),
            ))
        })
        .take(SIGNALS_LOOKED_UP)
        .collect()
}
