//! State behind a small trait: versioned records with compare-and-swap.
//!
//! Everything the pipeline remembers (findings seen, open coverage incidents,
//! group windows, storm counters, per-event plans, delivery claims) is a JSON
//! record under a string key. A store only has to offer `get`, a conditional
//! `put`, and `due` (records whose `due_at` has passed, for the digest). Claim
//! and complete are built on the conditional put, so every store gets the
//! same at-most-one-winner guarantee its `put` gives: DynamoDB's conditional
//! writes, SQLite's transactions, or a mutex in memory.
//!
//! `now` is passed in rather than read from a clock so replays of old events
//! and tests behave exactly like live traffic.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A stored value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub value: Value,
    /// After this instant the record reads as absent (and may be deleted).
    pub expires_at: DateTime<Utc>,
    /// When set, [`Store::due`] returns the record once `now >= due_at`.
    pub due_at: Option<DateTime<Utc>>,
}

/// A record with the version a conditional put must name.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned {
    pub record: Record,
    pub version: u64,
}

/// Why the store could not answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The store is down, slow or throttling; the caller fails open, and a
    /// retry may find it back.
    #[error("state store unavailable: {0}")]
    Unavailable(String),
    /// The store cannot work as configured (no such table, no permission,
    /// a request it refuses): the caller fails open, and retrying will not help
    /// until the configuration is fixed.
    #[error("state store unavailable (configuration): {0}")]
    Config(String),
    /// A record could not be read back (corrupt or from a newer version).
    #[error("state record {key:?} is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
}

impl StoreError {
    /// Whether trying again later may help (the store was down, slow or
    /// throttling), as opposed to a record that cannot be read.
    pub fn retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// Outcome of [`Store::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This caller holds the lease and must `complete` or `release`.
    Won,
    /// Someone completed it already; `receipt` is what they recorded.
    Done { receipt: String },
    /// Someone else holds an unexpired lease.
    Busy { until: DateTime<Utc> },
}

/// One conditional write of [`Store::put_all`]: `record` under `key` if the
/// current version is `expected` (`None`: absent or expired).
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    pub key: String,
    pub expected: Option<u64>,
    pub record: Record,
}

/// Versioned records with a conditional write.
///
/// Cost model (what the pipeline's call budget is built on): every method is
/// one request to the store, `get_many` and `put_all` included (DynamoDB's
/// `BatchGetItem` and `TransactWriteItems`). The provided `claim`, `complete`
/// and `release` read before they write; the pipeline itself uses them only
/// off the hot path.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// The record under `key`, unless absent or expired at `now`.
    async fn get(&self, key: &str, now: DateTime<Utc>) -> Result<Option<Versioned>, StoreError>;

    /// Writes `record` if the current version is `expected` (`None`: absent or
    /// expired). Returns `false`, writing nothing, if someone else wrote first.
    async fn put(
        &self,
        key: &str,
        expected: Option<u64>,
        record: Record,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// The records under `keys`, in order (`None` where absent or expired).
    /// One request; keys may repeat.
    async fn get_many(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<Versioned>>, StoreError> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(self.get(key, now).await?);
        }
        Ok(out)
    }

    /// All of `writes` or none: each is applied only if every condition holds
    /// at once. Returns the version each record now has, or `None` (nothing
    /// written) if any condition failed. Keys must be distinct.
    async fn put_all(
        &self,
        writes: &[Write],
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u64>>, StoreError>;

    /// Up to `limit` unexpired records with `due_at <= now`, oldest due first.
    async fn due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(String, Versioned)>, StoreError>;

    /// Takes a lease on `key` for `lease`, unless it is done or leased to
    /// someone else. Exactly one of several concurrent callers wins.
    async fn claim(
        &self,
        key: &str,
        owner: &str,
        lease: Duration,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        loop {
            let current = self.get(key, now).await?;
            if let Some(settled) = current.as_ref().and_then(|c| claim_settled(c, owner, now)) {
                return Ok(settled);
            }
            let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
            let record = Record {
                value: serde_json::json!({"state": "claimed", "owner": owner, "until": until.to_rfc3339()}),
                expires_at: expiry(now, ttl),
                due_at: None,
            };
            if self
                .put(key, current.map(|c| c.version), record, now)
                .await?
            {
                return Ok(Claim::Won);
            }
        }
    }

    /// Marks a claimed key done with a receipt (e.g. a message id). Done is final.
    async fn complete(
        &self,
        key: &str,
        receipt: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        loop {
            let current = self.get(key, now).await?;
            let record = Record {
                value: serde_json::json!({"state": "done", "receipt": receipt}),
                expires_at: expiry(now, ttl),
                due_at: None,
            };
            if self
                .put(key, current.map(|c| c.version), record, now)
                .await?
            {
                return Ok(());
            }
        }
    }

    /// Gives up a lease so a retry can claim at once.
    async fn release(&self, key: &str, owner: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let Some(current) = self.get(key, now).await? else {
            return Ok(());
        };
        if current.record.value.get("owner").and_then(Value::as_str) != Some(owner) {
            return Ok(());
        }
        let record = Record {
            value: serde_json::json!({"state": "released"}),
            expires_at: current.record.expires_at,
            due_at: None,
        };
        self.put(key, Some(current.version), record, now)
            .await
            .map(|_| ())
    }
}

/// What a claim record says for `owner` at `now`: `Done`, `Busy` (someone
/// else's live lease), or `None` when `owner` may take it (released,
/// expired, or already its own). One reading for every claimer.
pub fn claim_settled(current: &Versioned, owner: &str, now: DateTime<Utc>) -> Option<Claim> {
    let v = &current.record.value;
    if v.get("state").and_then(Value::as_str) == Some("done") {
        let receipt = v
            .get("receipt")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        return Some(Claim::Done { receipt });
    }
    let until = v
        .get("until")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc));
    let mine = v.get("owner").and_then(Value::as_str) == Some(owner);
    until
        .filter(|u| *u > now && !mine)
        .map(|until| Claim::Busy { until })
}

/// `now + ttl`, saturating.
pub fn expiry(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(ttl)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A store in memory, for unit tests and one-shot runs.
#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Mutex<BTreeMap<String, Versioned>>,
    /// When set, every call fails as if the store were down.
    down: std::sync::atomic::AtomicBool,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every later call fail with [`StoreError::Unavailable`] (or work again).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, BTreeMap<String, Versioned>>, StoreError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Unavailable("memory store switched off".into()));
        }
        self.records
            .lock()
            .map_err(|_| StoreError::Unavailable("memory store lock poisoned".into()))
    }
}

#[async_trait::async_trait]
impl Store for MemoryStore {
    async fn get(&self, key: &str, now: DateTime<Utc>) -> Result<Option<Versioned>, StoreError> {
        Ok(self
            .lock()?
            .get(key)
            .filter(|v| v.record.expires_at > now)
            .cloned())
    }

    async fn put(
        &self,
        key: &str,
        expected: Option<u64>,
        record: Record,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut records = self.lock()?;
        let current = records.get(key);
        let live = current.filter(|v| v.record.expires_at > now);
        let ok = match (expected, live) {
            (None, None) => true,
            (Some(e), Some(v)) => v.version == e,
            _ => false,
        };
        if ok {
            let version = current.map_or(1, |v| v.version + 1);
            records.insert(key.to_string(), Versioned { record, version });
        }
        Ok(ok)
    }

    async fn put_all(
        &self,
        writes: &[Write],
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u64>>, StoreError> {
        let mut records = self.lock()?;
        let holds = writes.iter().all(|w| {
            let live = records.get(&w.key).filter(|v| v.record.expires_at > now);
            match (w.expected, live) {
                (None, None) => true,
                (Some(e), Some(v)) => v.version == e,
                _ => false,
            }
        });
        if !holds {
            return Ok(None);
        }
        let mut versions = Vec::with_capacity(writes.len());
        for w in writes {
            let version = records.get(&w.key).map_or(1, |v| v.version + 1);
            records.insert(
                w.key.clone(),
                Versioned {
                    record: w.record.clone(),
                    version,
                },
            );
            versions.push(version);
        }
        Ok(Some(versions))
    }

    async fn due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(String, Versioned)>, StoreError> {
        let records = self.lock()?;
        let mut due: Vec<(String, Versioned)> = records
            .iter()
            .filter(|(_, v)| v.record.expires_at > now && v.record.due_at.is_some_and(|d| d <= now))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        due.sort_by_key(|(_, v)| v.record.due_at);
        due.truncate(limit);
        Ok(due)
    }
}

/// The behaviour every [`Store`] must have. Each store's tests call this, so
/// the in-memory, file-backed and DynamoDB stores are held to one contract.
// A test harness: panicking on a broken store is its whole job.
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub mod contract {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap_or_default()
    }

    fn rec(value: Value, expires: i64, due: Option<i64>) -> Record {
        Record {
            value,
            expires_at: at(expires),
            due_at: due.map(at),
        }
    }

    /// Panics (with a message naming the broken rule) if `store` breaks the contract.
    /// `store` must start empty.
    pub async fn check(store: &dyn Store) {
        async fn r(store: &dyn Store, x: i64) -> Option<Versioned> {
            store
                .get("k", at(x))
                .await
                .unwrap_or_else(|e| panic!("get failed: {e}"))
        }
        assert!(r(store, 0).await.is_none(), "an empty store has no record");
        assert!(
            store
                .put("k", None, rec(serde_json::json!(1), 100, None), at(0))
                .await
                .unwrap(),
            "put on absent key"
        );
        let first = r(store, 0)
            .await
            .unwrap_or_else(|| panic!("record written is readable"));
        assert_eq!(first.record.value, serde_json::json!(1));
        assert!(
            !store
                .put("k", None, rec(serde_json::json!(2), 100, None), at(0))
                .await
                .unwrap(),
            "put-if-absent on a live key must fail"
        );
        assert!(
            !store
                .put(
                    "k",
                    Some(first.version + 7),
                    rec(serde_json::json!(2), 100, None),
                    at(0)
                )
                .await
                .unwrap(),
            "stale version must fail"
        );
        assert!(
            store
                .put(
                    "k",
                    Some(first.version),
                    rec(serde_json::json!(2), 100, None),
                    at(0)
                )
                .await
                .unwrap(),
            "current version wins"
        );
        let second = r(store, 0).await.unwrap_or_else(|| panic!("still there"));
        assert_eq!(second.record.value, serde_json::json!(2));
        assert_ne!(second.version, first.version, "a write changes the version");
        assert!(
            r(store, 100).await.is_none(),
            "expired records read as absent"
        );
        assert!(
            store
                .put("k", None, rec(serde_json::json!(3), 300, None), at(150))
                .await
                .unwrap(),
            "an expired key counts as absent for put"
        );

        // due: only unexpired records whose due_at has passed, oldest first.
        assert!(store
            .put(
                "d1",
                None,
                rec(serde_json::json!("a"), 1000, Some(50)),
                at(0)
            )
            .await
            .unwrap());
        assert!(store
            .put(
                "d2",
                None,
                rec(serde_json::json!("b"), 1000, Some(20)),
                at(0)
            )
            .await
            .unwrap());
        assert!(store
            .put(
                "d3",
                None,
                rec(serde_json::json!("c"), 1000, Some(500)),
                at(0)
            )
            .await
            .unwrap());
        assert!(store
            .put("d4", None, rec(serde_json::json!("d"), 40, Some(10)), at(0))
            .await
            .unwrap());
        let due: Vec<String> = store
            .due(at(60), 10)
            .await
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            due,
            vec!["d2".to_string(), "d1".to_string()],
            "due returns passed, unexpired, oldest first"
        );
        assert_eq!(
            store.due(at(60), 1).await.unwrap().len(),
            1,
            "due honours the limit"
        );

        // claim / complete / release.
        let lease = Duration::from_secs(30);
        let ttl = Duration::from_secs(3600);
        assert_eq!(
            store.claim("c", "a", lease, ttl, at(0)).await.unwrap(),
            Claim::Won
        );
        assert!(
            matches!(
                store.claim("c", "b", lease, ttl, at(1)).await.unwrap(),
                Claim::Busy { .. }
            ),
            "a live lease blocks others"
        );
        assert_eq!(
            store.claim("c", "b", lease, ttl, at(31)).await.unwrap(),
            Claim::Won,
            "an expired lease can be taken over"
        );
        store.complete("c", "msg-1", ttl, at(32)).await.unwrap();
        assert_eq!(
            store.claim("c", "a", lease, ttl, at(40)).await.unwrap(),
            Claim::Done {
                receipt: "msg-1".into()
            },
            "done is final"
        );
        assert_eq!(
            store.claim("r", "a", lease, ttl, at(0)).await.unwrap(),
            Claim::Won
        );
        store.release("r", "a", at(1)).await.unwrap();
        assert_eq!(
            store.claim("r", "b", lease, ttl, at(2)).await.unwrap(),
            Claim::Won,
            "released keys can be claimed at once"
        );

        // get_many / put_all: one read of many keys; writes all or nothing.
        let w = |key: &str, expected: Option<u64>, v: i64| Write {
            key: key.to_string(),
            expected,
            record: rec(serde_json::json!(v), 1000, None),
        };
        let versions = store
            .put_all(&[w("t1", None, 1), w("t2", None, 2)], at(0))
            .await
            .unwrap()
            .expect("two absent keys are written together");
        let keys = ["t1".to_string(), "t2".to_string(), "t3".to_string()];
        let got = store.get_many(&keys, at(0)).await.unwrap();
        assert_eq!(got.len(), 3, "get_many answers every key, in order");
        assert_eq!(got[0].as_ref().map(|v| v.version), Some(versions[0]));
        assert_eq!(got[1].as_ref().map(|v| v.version), Some(versions[1]));
        assert!(got[2].is_none(), "an absent key reads as None");
        assert!(
            store
                .put_all(&[w("t1", Some(versions[0]), 10), w("t2", None, 20)], at(0))
                .await
                .unwrap()
                .is_none(),
            "one failed condition writes nothing"
        );
        let t1 = r_key(store, "t1").await;
        assert_eq!(
            t1.record.value,
            serde_json::json!(1),
            "put_all is all or nothing"
        );
        let next = store
            .put_all(
                &[
                    w("t1", Some(versions[0]), 10),
                    w("t2", Some(versions[1]), 20),
                ],
                at(0),
            )
            .await
            .unwrap()
            .expect("current versions win");
        assert_eq!(
            r_key(store, "t2").await.version,
            next[1],
            "put_all returns the versions written"
        );
        assert_ne!(next[0], versions[0], "a write changes the version");
    }

    async fn r_key(store: &dyn Store, key: &str) -> Versioned {
        store
            .get(key, at(0))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{key} is readable"))
    }

    /// Many claimers race for the same key at once: exactly one wins.
    pub async fn check_concurrent_claims(store: &dyn Store, claimers: usize) {
        let owners: Vec<String> = (0..claimers).map(|i| format!("worker-{i}")).collect();
        let claims = owners.iter().map(|owner| {
            store.claim(
                "race",
                owner,
                Duration::from_secs(60),
                Duration::from_secs(3600),
                at(0),
            )
        });
        let results = futures_util::future::join_all(claims).await;
        let mut wins = 0;
        for result in results {
            match result {
                Ok(Claim::Won) => wins += 1,
                Ok(_) => {}
                Err(e) => panic!("claim failed: {e}"),
            }
        }
        assert_eq!(wins, 1, "exactly one concurrent claim wins");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_store_meets_the_contract() {
        contract::check(&MemoryStore::new()).await;
        contract::check_concurrent_claims(&MemoryStore::new(), 8).await;
    }

    #[tokio::test]
    async fn a_down_store_says_so() {
        let store = MemoryStore::new();
        store.set_down(true);
        assert!(matches!(
            store.get("k", Utc::now()).await,
            Err(StoreError::Unavailable(_))
        ));
    }
}
