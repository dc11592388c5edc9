//! Silences: mutes that expire by themselves, kept in the state store.
//!
//! A silence is an EventBridge pattern (the routes' engine and error
//! messages), an optional route and an optional destination it is limited
//! to, an owner, a reason, an optional ticket and a required expiry. The functions read the one
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

/// How long before its end a silence is announced in the digest.
pub const ANNOUNCE_BEFORE: Duration = Duration::days(1);

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
    /// Only this destination is muted (all when `None`): "stop paging for
    /// this, keep it in the channel".
    #[serde(default)]
    pub destination: Option<String>,
    pub owner: String,
    pub reason: String,
    #[serde(default)]
    pub ticket: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Who ended it early, if someone did.
    #[serde(default)]
    pub expired_by: Option<String>,
    /// When the digest announced that it ends within a day.
    #[serde(default)]
    pub announced_at: Option<DateTime<Utc>>,
}

impl Silence {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.created_at <= now && now < self.expires_at
    }

    /// Whether the digest should say now that this silence ends within
    /// [`ANNOUNCE_BEFORE`] (once: not yet announced, still active).
    pub fn ends_soon(&self, now: DateTime<Utc>) -> bool {
        self.is_active(now)
            && self.announced_at.is_none()
            && self.expires_at - now <= ANNOUNCE_BEFORE
    }

    /// Whether this silence applies to deliveries of `route` to
    /// `destination` (`None`: the whole route, so only silences without a
    /// destination scope).
    fn scoped_to(&self, route: &str, destination: Option<&str>) -> bool {
        self.route.as_deref().is_none_or(|r| r == route)
            && self.destination.as_deref() == destination
    }

    /// Where it applies, in words: `route runtime`, `destination pager`,
    /// `route runtime → destination pager`, or `every route`.
    pub fn scope(&self) -> String {
        match (&self.route, &self.destination) {
            (None, None) => "every route".into(),
            (Some(r), None) => format!("route {r}"),
            (None, Some(d)) => format!("destination {d}"),
            (Some(r), Some(d)) => format!("route {r} → destination {d}"),
        }
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
    pub destination: Option<String>,
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
            destination: self.destination,
            owner: self.owner.trim().to_string(),
            reason: self.reason.trim().to_string(),
            ticket: self.ticket.filter(|t| !t.trim().is_empty()),
            created_at: now,
            expires_at: self.expires_at,
            expired_by: None,
            announced_at: None,
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

    /// The silences whose pattern matches the event and whose scope is
    /// `route` (and `destination`, or the whole route when `None`), before
    /// the protection of Critical alerts and sequences.
    pub fn matching(
        &self,
        node: &ParsedEvent<'_>,
        route: &str,
        destination: Option<&str>,
    ) -> Vec<&Silence> {
        if self.silences.is_empty() {
            return Vec::new();
        }
        self.set
            .matches(node)
            .into_iter()
            .filter_map(|id| self.silences.get(id))
            .filter(|s| s.scoped_to(route, destination))
            .collect()
    }

    /// The silence that mutes `alert` on `route` (to `destination`, or the
    /// whole route when `None`), if one does. Critical alerts and attack
    /// sequences are muted only by a silence naming them.
    pub fn muting(
        &self,
        node: &ParsedEvent<'_>,
        alert: &Alert,
        route: &str,
        destination: Option<&str>,
    ) -> Option<&Silence> {
        let protected = protected(alert);
        self.matching(node, route, destination)
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
