//! Silences: mutes that expire by themselves, kept in the state store.
//!
//! A silence is an EventBridge pattern (the routes' engine and error
//! messages), an optional route it is limited to, an owner, a reason, an
//! optional ticket and a required expiry. The functions read the one
//! silences record once per event (one `GetItem`, beside the decision's
//! batch read), so a silence added with `gdalert silence add` is honoured by
//! the next event, without a redeploy.
//!
//! **What a silence never does**: touch GuardDuty. GuardDuty's own
//! suppression rules archive findings, and archived findings are left out
//! of Extended Threat Detection's attack sequences; a silence only keeps
//! gdalert from sending, so GuardDuty keeps seeing everything.
//!
//! **Critical findings and attack sequences pass** unless the silence names
//! them explicitly: its pattern lists the exact finding type (`detail.type`)
//! or finding id (`detail.id`). A broad mute must not hide the one alert that
//! says a cluster is compromised.

use chrono::{DateTime, Duration, Utc};
use gdalert_pattern::{ParsedEvent, PatternSet, PatternSetBuilder};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::alert::{Alert, Band};
use crate::store::{Record, Store, StoreError};

/// The state key of the silences record.
pub const SILENCES_KEY: &str = "silence/all";

/// The longest a silence may last: a mute nobody remembers is a blind spot.
pub const MAX_SILENCE: Duration = Duration::days(90);

/// How long expired silences stay listed (`gdalert silence list --all`).
const KEEP_EXPIRED: Duration = Duration::days(30);

/// One silence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub id: String,
    /// An EventBridge pattern, as JSON text.
    pub pattern: String,
    /// Only this route is muted (all routes when `None`).
    #[serde(default)]
    pub route: Option<String>,
    pub owner: String,
    pub reason: String,
    #[serde(default)]
    pub ticket: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Who ended it early, if someone did.
    #[serde(default)]
    pub expired_by: Option<String>,
}

impl Silence {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.created_at <= now && now < self.expires_at
    }

    /// Whether the pattern names this alert's finding type or id exactly
    /// (what lets a silence mute a Critical finding or an attack sequence).
    fn names(&self, alert: &Alert) -> bool {
        let Ok(pattern) = serde_json::from_str::<Value>(&self.pattern) else {
            return false;
        };
        let listed = |field: &str, wanted: Option<&str>| {
            let Some(wanted) = wanted else { return false };
            pattern
                .pointer(&format!("/detail/{field}"))
                .and_then(Value::as_array)
                .is_some_and(|values| values.iter().any(|v| v.as_str() == Some(wanted)))
        };
        listed("type", alert.finding_type.as_deref()) || listed("id", alert.finding_id.as_deref())
    }
}

/// What a person asks for; [`NewSilence::check`] turns it into a [`Silence`].
#[derive(Debug, Clone)]
pub struct NewSilence {
    pub pattern: String,
    pub route: Option<String>,
    pub owner: String,
    pub reason: String,
    pub ticket: Option<String>,
    pub expires_at: DateTime<Utc>,
}

impl NewSilence {
    /// Checks the request: the pattern compiles (EventBridge's messages),
    /// owner and reason are given, the expiry is in the future and at most
    /// [`MAX_SILENCE`] away. `id` names the silence.
    pub fn check(self, id: String, now: DateTime<Utc>) -> Result<Silence, String> {
        if let Err(e) = gdalert_pattern::compile(&self.pattern) {
            let at = if e.pointer.is_empty() {
                String::new()
            } else {
                format!("at {}: ", e.pointer)
            };
            return Err(format!("the silence's pattern: {at}{e}"));
        }
        let compact = serde_json::from_str::<Value>(&self.pattern)
            .map(|v| v.to_string())
            .unwrap_or(self.pattern);
        if self.owner.trim().is_empty() {
            return Err("a silence needs an owner (--owner): who to ask about it".into());
        }
        if self.reason.trim().is_empty() {
            return Err("a silence needs a reason (--reason): why this is safe to mute".into());
        }
        if self.expires_at <= now {
            return Err(format!(
                "the expiry {} is already past: give --for 4h or a later --until",
                self.expires_at.to_rfc3339()
            ));
        }
        if self.expires_at - now > MAX_SILENCE {
            return Err(format!(
                "a silence lasts at most {} days; add a new one when it ends if it is still needed",
                MAX_SILENCE.num_days()
            ));
        }
        Ok(Silence {
            id,
            pattern: compact,
            route: self.route,
            owner: self.owner.trim().to_string(),
            reason: self.reason.trim().to_string(),
            ticket: self.ticket.filter(|t| !t.trim().is_empty()),
            created_at: now,
            expires_at: self.expires_at,
            expired_by: None,
        })
    }
}

/// The silences record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SilenceList {
    pub silences: Vec<Silence>,
}

impl SilenceList {
    /// The record to write: silences expired for a while are dropped, and
    /// the record lives as long as its longest silence plus that while.
    fn record(&self, now: DateTime<Utc>) -> (Record, SilenceList) {
        let kept = SilenceList {
            silences: self
                .silences
                .iter()
                .filter(|s| s.expires_at + KEEP_EXPIRED > now)
                .cloned()
                .collect(),
        };
        let until = kept
            .silences
            .iter()
            .map(|s| s.expires_at + KEEP_EXPIRED)
            .max()
            .unwrap_or(now + KEEP_EXPIRED);
        let value = serde_json::to_value(&kept).unwrap_or(Value::Null);
        (
            Record {
                value,
                expires_at: until,
                due_at: None,
            },
            kept,
        )
    }

    pub fn find(&self, id: &str) -> Option<&Silence> {
        self.silences.iter().find(|s| s.id == id)
    }
}

/// Reads the silences record (empty when there is none).
pub async fn load(
    store: &dyn Store,
    now: DateTime<Utc>,
) -> Result<(SilenceList, Option<u64>), StoreError> {
    match store.get(SILENCES_KEY, now).await? {
        None => Ok((SilenceList::default(), None)),
        Some(v) => {
            let list = serde_json::from_value(v.record.value).map_err(|e| StoreError::Corrupt {
                key: SILENCES_KEY.to_string(),
                reason: e.to_string(),
            })?;
            Ok((list, Some(v.version)))
        }
    }
}

/// Applies `change` to the silences record with a conditional write,
/// re-reading when another writer came first. Returns the list written.
pub async fn update(
    store: &dyn Store,
    now: DateTime<Utc>,
    mut change: impl FnMut(&mut SilenceList) -> Result<(), String>,
) -> Result<SilenceList, String> {
    for _ in 0..5 {
        let (mut list, version) = load(store, now).await.map_err(|e| e.to_string())?;
        change(&mut list)?;
        let (record, kept) = list.record(now);
        if store
            .put(SILENCES_KEY, version, record, now)
            .await
            .map_err(|e| e.to_string())?
        {
            return Ok(kept);
        }
    }
    Err("the silences record kept changing under concurrent writers; try again".into())
}

/// The silences in force at one instant, compiled once.
#[derive(Debug)]
pub struct ActiveSilences {
    set: PatternSet,
    silences: Vec<Silence>,
}

impl ActiveSilences {
    /// The active silences of `list` at `now`. A silence whose pattern no
    /// longer compiles is skipped (it was checked when added) and logged.
    pub fn new(list: &SilenceList, now: DateTime<Utc>) -> ActiveSilences {
        let mut builder = PatternSetBuilder::new();
        let mut silences = Vec::new();
        for silence in list.silences.iter().filter(|s| s.is_active(now)) {
            match gdalert_pattern::compile(&silence.pattern) {
                Ok(rule) => {
                    builder.add(silence.id.clone(), rule);
                    silences.push(silence.clone());
                }
                Err(e) => {
                    tracing::warn!(silence = %silence.id, error = %e, "silence skipped: its pattern does not compile")
                }
            }
        }
        ActiveSilences {
            set: builder.build(),
            silences,
        }
    }

    /// None in force.
    pub fn none() -> ActiveSilences {
        ActiveSilences::new(&SilenceList::default(), Utc::now())
    }

    pub fn is_empty(&self) -> bool {
        self.silences.is_empty()
    }

    /// The silences whose pattern matches the event and whose scope takes
    /// `route`, before the protection of Critical alerts and sequences.
    pub fn matching(&self, node: &ParsedEvent<'_>, route: &str) -> Vec<&Silence> {
        if self.silences.is_empty() {
            return Vec::new();
        }
        self.set
            .matches(node)
            .into_iter()
            .filter_map(|id| self.silences.get(id))
            .filter(|s| s.route.as_deref().is_none_or(|r| r == route))
            .collect()
    }

    /// The silence that mutes `alert` on `route`, if one does. Critical
    /// alerts and attack sequences are muted only by a silence naming them.
    pub fn muting(&self, node: &ParsedEvent<'_>, alert: &Alert, route: &str) -> Option<&Silence> {
        let protected = protected(alert);
        self.matching(node, route)
            .into_iter()
            .find(|s| !protected || s.names(alert))
    }
}

/// Whether only a silence naming it may mute `alert`: a Critical alert or an
/// attack sequence.
pub fn protected(alert: &Alert) -> bool {
    alert.band == Band::Critical
        || alert
            .finding_type
            .as_deref()
            .is_some_and(|t| t.starts_with("AttackSequence:"))
}

/// Why an alert was muted, in words (the delivery's reason).
pub fn reason(silence: &Silence) -> String {
    let ticket = silence
        .ticket
        .as_deref()
        .map(|t| format!(", ticket {t}"))
        .unwrap_or_default();
    format!(
        "muted by silence {} ({}; owner {}{ticket}; until {})",
        silence.id,
        silence.reason,
        silence.owner,
        silence.expires_at.format("%Y-%m-%d %H:%M UTC")
    )
}
