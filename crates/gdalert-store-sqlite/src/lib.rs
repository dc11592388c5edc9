//! The embedded, file-backed state store: gdalert's local default.
//!
//! One SQLite file (WAL mode). Each conditional write is its own immediate
//! transaction, so two `gdalert replay` processes sharing a file serialise on
//! SQLite's lock instead of overwriting each other. Bulk runs may wrap many
//! events in one transaction with [`SqliteStore::batch`]: far fewer commits,
//! and a crash mid-batch only forgets state (alerts may repeat, never vanish).
//!
//! Why SQLite: it is the one embedded store with real multi-process locking
//! on every platform, and `bundled` needs only a C compiler.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use gdalert_pipeline::store::{Record, Store, StoreError, Versioned, Write};
use rusqlite::{params, Connection, OptionalExtension};

/// A stored row: value text, version, expiry and due time (µs since the epoch).
type Row = (String, u64, i64, Option<i64>);

/// State in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
    in_batch: AtomicBool,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("sqlite: {e}"))
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(v).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`, and its parent directory.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| unavailable(format!("cannot create {}: {e}", parent.display())))?;
        }
        let conn = Connection::open(path)
            .map_err(|e| unavailable(format!("cannot open {}: {e}", path.display())))?;
        Self::init(conn)
    }

    /// A private in-memory database (tests, benchmarks).
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        Self::init(Connection::open_in_memory().map_err(unavailable)?)
    }

    fn init(conn: Connection) -> Result<SqliteStore, StoreError> {
        // Another process may hold the write lock for a batch: wait, don't fail.
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(unavailable)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(unavailable)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(unavailable)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS records (
                 key        TEXT PRIMARY KEY,
                 value      TEXT NOT NULL,
                 version    INTEGER NOT NULL,
                 expires_at INTEGER NOT NULL,
                 due_at     INTEGER
             ) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS records_due ON records(due_at) WHERE due_at IS NOT NULL;",
        )
        .map_err(unavailable)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            in_batch: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn
            .lock()
            .map_err(|_| unavailable("connection lock poisoned"))
    }

    /// Runs `f` inside one write transaction (committed if `f` returns).
    pub async fn batch<R>(&self, f: impl AsyncFnOnce(&Self) -> R) -> Result<R, StoreError> {
        self.lock()?
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(unavailable)?;
        self.in_batch.store(true, Ordering::SeqCst);
        let result = f(self).await;
        self.in_batch.store(false, Ordering::SeqCst);
        self.lock()?.execute_batch("COMMIT").map_err(unavailable)?;
        Ok(result)
    }

    /// Deletes expired records; returns how many.
    pub fn purge(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        self.lock()?
            .execute(
                "DELETE FROM records WHERE expires_at <= ?1",
                params![micros(now)],
            )
            .map_err(unavailable)
    }

    fn read(conn: &Connection, key: &str) -> Result<Option<Row>, StoreError> {
        conn.prepare_cached("SELECT value, version, expires_at, due_at FROM records WHERE key = ?1")
            .map_err(unavailable)?
            .query_row(params![key], |row| {
                Ok((
                    row.get(0)?,
                    row.get::<_, i64>(1)? as u64,
                    row.get(2)?,
                    row.get(3)?,
                ))
            })
            .optional()
            .map_err(unavailable)
    }

    fn conditional_write(
        conn: &Connection,
        key: &str,
        expected: Option<u64>,
        record: &Record,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, StoreError> {
        let current = Self::read(conn, key)?;
        let live = current.as_ref().filter(|c| c.2 > micros(now));
        let ok = match (expected, live) {
            (None, None) => true,
            (Some(e), Some(c)) => c.1 == e,
            _ => false,
        };
        if ok {
            let version = current.as_ref().map_or(1, |c| c.1 + 1);
            conn.prepare_cached(
                "INSERT INTO records (key, value, version, expires_at, due_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = excluded.version,
                     expires_at = excluded.expires_at, due_at = excluded.due_at",
            )
            .map_err(unavailable)?
            .execute(params![
                key,
                record.value.to_string(),
                version as i64,
                micros(record.expires_at),
                record.due_at.map(micros)
            ])
            .map_err(unavailable)?;
            return Ok(Some(version));
        }
        Ok(None)
    }

    fn versioned(
        key: &str,
        value: String,
        version: u64,
        expires: i64,
        due: Option<i64>,
    ) -> Result<Versioned, StoreError> {
        let value = serde_json::from_str(&value).map_err(|e| StoreError::Corrupt {
            key: key.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Versioned {
            record: Record {
                value,
                expires_at: from_micros(expires),
                due_at: due.map(from_micros),
            },
            version,
        })
    }
}

// Each call is a short local-file transaction, done inline: the CLI that uses
// this store has nothing else to run meanwhile, and a thread hop per call
// would cost more than the write.
#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn get(&self, key: &str, now: DateTime<Utc>) -> Result<Option<Versioned>, StoreError> {
        let conn = self.lock()?;
        match Self::read(&conn, key)? {
            Some((value, version, expires, due)) if expires > micros(now) => {
                Self::versioned(key, value, version, expires, due).map(Some)
            }
            _ => Ok(None),
        }
    }

    async fn put(
        &self,
        key: &str,
        expected: Option<u64>,
        record: Record,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let conn = self.lock()?;
        let own_transaction = !self.in_batch.load(Ordering::SeqCst);
        if own_transaction {
            conn.execute_batch("BEGIN IMMEDIATE").map_err(unavailable)?;
        }
        let result = Self::conditional_write(&conn, key, expected, &record, now);
        if own_transaction {
            let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
            conn.execute_batch(end).map_err(unavailable)?;
        }
        result.map(|v| v.is_some())
    }

    async fn put_all(
        &self,
        writes: &[Write],
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u64>>, StoreError> {
        let conn = self.lock()?;
        // Inside a batch the outer transaction is already open: a savepoint
        // undoes a partial set there; otherwise one immediate transaction.
        let own_transaction = !self.in_batch.load(Ordering::SeqCst);
        let (begin, commit, rollback) = if own_transaction {
            ("BEGIN IMMEDIATE", "COMMIT", "ROLLBACK")
        } else {
            (
                "SAVEPOINT put_all",
                "RELEASE put_all",
                "ROLLBACK TO put_all; RELEASE put_all",
            )
        };
        conn.execute_batch(begin).map_err(unavailable)?;
        let mut versions = Vec::with_capacity(writes.len());
        let mut result = Ok(true);
        for w in writes {
            match Self::conditional_write(&conn, &w.key, w.expected, &w.record, now) {
                Ok(Some(v)) => versions.push(v),
                Ok(None) => {
                    result = Ok(false);
                    break;
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let end = if matches!(result, Ok(true)) {
            commit
        } else {
            rollback
        };
        conn.execute_batch(end).map_err(unavailable)?;
        Ok(result?.then_some(versions))
    }

    async fn due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(String, Versioned)>, StoreError> {
        let conn = self.lock()?;
        let mut statement = conn
            .prepare_cached(
                "SELECT key, value, version, expires_at, due_at FROM records
                 WHERE due_at IS NOT NULL AND due_at <= ?1 AND expires_at > ?1
                 ORDER BY due_at LIMIT ?2",
            )
            .map_err(unavailable)?;
        let rows = statement
            .query_map(params![micros(now), limit as i64], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)? as u64,
                    row.get(3)?,
                    row.get(4)?,
                ))
            })
            .map_err(unavailable)?;
        let mut out = Vec::new();
        for row in rows {
            let (key, value, version, expires, due) = row.map_err(unavailable)?;
            let versioned = Self::versioned(&key, value, version, expires, due)?;
            out.push((key, versioned));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdalert_pipeline::store::contract;

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[tokio::test]
    async fn sqlite_store_meets_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        contract::check(&SqliteStore::open(&dir.path().join("state.db")).unwrap()).await;
        contract::check(&SqliteStore::in_memory().unwrap()).await;
    }

    #[tokio::test]
    async fn concurrent_claims_through_one_handle_have_one_winner() {
        let dir = tempfile::tempdir().unwrap();
        contract::check_concurrent_claims(
            &SqliteStore::open(&dir.path().join("state.db")).unwrap(),
            8,
        )
        .await;
    }

    #[test]
    fn two_handles_on_one_file_have_one_winner() {
        // Separate connections behave like separate processes: SQLite's file lock decides.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let a = SqliteStore::open(&path).unwrap();
        let b = SqliteStore::open(&path).unwrap();
        let now = Utc::now();
        let ttl = Duration::from_secs(60);
        let wins = std::thread::scope(|s| {
            let ha = s.spawn(|| block_on(a.claim("k", "a", ttl, ttl, now)).unwrap());
            let hb = s.spawn(|| block_on(b.claim("k", "b", ttl, ttl, now)).unwrap());
            [ha.join().unwrap(), hb.join().unwrap()]
        });
        let won = wins
            .iter()
            .filter(|c| **c == gdalert_pipeline::store::Claim::Won)
            .count();
        assert_eq!(won, 1, "{wins:?}");
    }

    #[test]
    fn state_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/state.db");
        let now = Utc::now();
        let record = Record {
            value: serde_json::json!({"a": 1}),
            expires_at: now + chrono::Duration::hours(1),
            due_at: None,
        };
        block_on(
            SqliteStore::open(&path)
                .unwrap()
                .put("k", None, record, now),
        )
        .unwrap();
        let again = SqliteStore::open(&path).unwrap();
        assert_eq!(
            block_on(again.get("k", now)).unwrap().unwrap().record.value,
            serde_json::json!({"a": 1})
        );
    }
}
