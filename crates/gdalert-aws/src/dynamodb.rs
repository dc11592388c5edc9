//! The pipeline's state in DynamoDB.
//!
//! Table layout (the SAM template creates it):
//! - partition key `pk` (S): the record key;
//! - `value` (S, JSON), `version` (N), `expires_us` (N, µs since the epoch);
//! - `ttl` (N, seconds): DynamoDB's TTL attribute, so expired state is
//!   deleted for free (TTL deletion is lazy, hence `expires_us` is also
//!   checked on every read and write);
//! - `due_us` (N) and `due` (S, always `"due"`) only on records the digest
//!   must visit; the sparse global secondary index `due-index` (`due`,
//!   `due_us`) lets [`Store::due`] query instead of scan.
//!
//! Every write is conditional on the version read (or on absence), so
//! claim/complete inherit DynamoDB's single-winner conditional writes.
//! [`Store::get_many`] is one `BatchGetItem` (strongly consistent) and
//! [`Store::put_all`] one `PutItem` or one `TransactWriteItems`, which is
//! what keeps an event to a handful of requests (see `gdalert-pipeline`'s
//! engine docs for the budget).
//!
//! A silent store must not hang the function: the client built by
//! [`crate::AwsClients`] bounds every attempt and every operation
//! ([`STORE_ATTEMPT_TIMEOUT`], [`STORE_OPERATION_TIMEOUT`]), so a DynamoDB
//! endpoint that accepts connections and never answers fails the call within
//! seconds and the pipeline fails open.

use std::collections::HashMap;

use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use gdalert_pipeline::store::{Record, Store, StoreError, Versioned, Write};

use crate::sdk_error::{describe, is_retryable};

/// The GSI that lists due records.
pub const DUE_INDEX: &str = "due-index";

/// Longest one DynamoDB attempt may take (connect, send, answer).
pub const STORE_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest one DynamoDB operation may take, retries included.
pub const STORE_OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

/// The IAM actions the event functions need on the state table
/// (`TransactWriteItems` puts are authorised as `PutItem`). The digest also
/// needs `dynamodb:Query` on the table's `due-index`. The template's policies
/// are checked against these.
pub const STATE_ACTIONS: &[&str] = &[
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
];

/// Most writes one `TransactWriteItems` takes.
const TRANSACT_MAX: usize = 100;

/// Largest `BatchGetItem` request DynamoDB accepts.
const BATCH_GET_MAX: usize = 100;

/// State in one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("DynamoDB {what}: {e}"))
}

/// One line for an SDK error, classed: throttling, 5xx, timeouts and
/// connection failures are `Unavailable` (a retry may work); anything else
/// (no such table, access denied, validation) is `Config`. Never the SDK's
/// multi-line debug form.
fn sdk_failure<E>(
    what: &str,
    err: SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let message = format!("DynamoDB {what}: {}", describe(&err));
    if is_retryable(&err) {
        StoreError::Unavailable(message)
    } else {
        StoreError::Config(message)
    }
}

fn num(item: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(v).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl DynamoStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    /// Creates the table with the template's schema: key, `due-index`, TTL
    /// (`gdalert state create-table`, tests; deployed tables come from the
    /// SAM template).
    pub async fn create_table(&self) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
            Projection, ProjectionType, ScalarAttributeType,
        };
        let attr = |name: &str, t: ScalarAttributeType| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(t)
                .build()
                .map_err(|e| unavailable("CreateTable", e))
        };
        let key = |name: &str, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(t)
                .build()
                .map_err(|e| unavailable("CreateTable", e))
        };
        let index = GlobalSecondaryIndex::builder()
            .index_name(DUE_INDEX)
            .key_schema(key("due", KeyType::Hash)?)
            .key_schema(key("due_us", KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(|e| unavailable("CreateTable", e))?;
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk", ScalarAttributeType::S)?)
            .attribute_definitions(attr("due", ScalarAttributeType::S)?)
            .attribute_definitions(attr("due_us", ScalarAttributeType::N)?)
            .key_schema(key("pk", KeyType::Hash)?)
            .global_secondary_indexes(index)
            .send()
            .await
            .map_err(|e| sdk_failure("CreateTable", e))?;
        // As the template: expired state is deleted by DynamoDB for free.
        let ttl = aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
            .attribute_name("ttl")
            .enabled(true)
            .build()
            .map_err(|e| unavailable("UpdateTimeToLive", e))?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(|e| sdk_failure("UpdateTimeToLive", e))?;
        Ok(())
    }

    /// The conditional put of one write, at `version`.
    fn conditional_put(
        &self,
        w: &Write,
        version: u64,
        now: DateTime<Utc>,
    ) -> Result<Put, StoreError> {
        let value = serde_json::to_string(&w.record.value).map_err(|e| StoreError::Corrupt {
            key: w.key.clone(),
            reason: e.to_string(),
        })?;
        let mut put = Put::builder()
            .table_name(&self.table)
            .item("pk", s(&w.key))
            .item("value", s(&value))
            .item("version", n(version as i64))
            .item("expires_us", n(micros(w.record.expires_at)))
            .item("ttl", n(w.record.expires_at.timestamp()))
            .expression_attribute_values(":now", n(micros(now)));
        if let Some(due) = w.record.due_at {
            put = put.item("due", s("due")).item("due_us", n(micros(due)));
        }
        put = match w.expected {
            None => put.condition_expression("attribute_not_exists(pk) OR expires_us <= :now"),
            Some(v) => put
                .condition_expression("version = :v AND expires_us > :now")
                .expression_attribute_values(":v", n(v as i64)),
        };
        put.build().map_err(|e| unavailable("PutItem", e))
    }

    fn versioned(
        key: &str,
        item: &HashMap<String, AttributeValue>,
    ) -> Result<Versioned, StoreError> {
        let corrupt = |reason: &str| StoreError::Corrupt {
            key: key.to_string(),
            reason: reason.to_string(),
        };
        let text = item
            .get("value")
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| corrupt("no `value`"))?;
        let value = serde_json::from_str(text).map_err(|e| corrupt(&e.to_string()))?;
        Ok(Versioned {
            record: Record {
                value,
                expires_at: from_micros(
                    num(item, "expires_us").ok_or_else(|| corrupt("no `expires_us`"))?,
                ),
                due_at: num(item, "due_us").map(from_micros),
            },
            version: num(item, "version").ok_or_else(|| corrupt("no `version`"))? as u64,
        })
    }
}

#[async_trait::async_trait]
impl Store for DynamoStore {
    async fn get(&self, key: &str, now: DateTime<Utc>) -> Result<Option<Versioned>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_failure("GetItem", e))?;
        let Some(item) = out.item() else {
            return Ok(None);
        };
        let versioned = Self::versioned(key, item)?;
        Ok((versioned.record.expires_at > now).then_some(versioned))
    }

    async fn put(
        &self,
        key: &str,
        expected: Option<u64>,
        record: Record,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let write = Write {
            key: key.to_string(),
            expected,
            record,
        };
        Ok(self.put_all(&[write], now).await?.is_some())
    }

    async fn get_many(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<Versioned>>, StoreError> {
        if keys.len() == 1 {
            return Ok(vec![self.get(&keys[0], now).await?]);
        }
        let mut found: HashMap<String, Versioned> = HashMap::new();
        let mut distinct: Vec<&String> = keys.iter().collect();
        distinct.sort();
        distinct.dedup();
        for chunk in distinct.chunks(BATCH_GET_MAX) {
            let mut request = KeysAndAttributes::builder().consistent_read(true);
            for key in chunk {
                request = request.keys(HashMap::from([("pk".to_string(), s(key))]));
            }
            let mut pending = Some(HashMap::from([(
                self.table.clone(),
                request
                    .build()
                    .map_err(|e| unavailable("BatchGetItem", e))?,
            )]));
            // DynamoDB may leave keys unprocessed under load: ask again for those.
            while let Some(items) = pending.take().filter(|p| !p.is_empty()) {
                let out = self
                    .client
                    .batch_get_item()
                    .set_request_items(Some(items))
                    .send()
                    .await
                    .map_err(|e| sdk_failure("BatchGetItem", e))?;
                for item in out
                    .responses()
                    .and_then(|r| r.get(&self.table))
                    .into_iter()
                    .flatten()
                {
                    let Some(key) = item.get("pk").and_then(|v| v.as_s().ok()) else {
                        continue;
                    };
                    let versioned = Self::versioned(key, item)?;
                    if versioned.record.expires_at > now {
                        found.insert(key.clone(), versioned);
                    }
                }
                pending = out.unprocessed_keys().cloned();
            }
        }
        Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
    }

    async fn put_all(
        &self,
        writes: &[Write],
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u64>>, StoreError> {
        let versions: Vec<u64> = writes
            .iter()
            .map(|w| w.expected.map_or(1, |v| v + 1))
            .collect();
        if writes.is_empty() {
            return Ok(Some(versions));
        }
        if writes.len() > TRANSACT_MAX {
            // Not atomic past DynamoDB's limit: refuse, and the event fails open.
            return Err(unavailable(
                "TransactWriteItems",
                format!(
                    "one decision touches {} records, more than DynamoDB's {TRANSACT_MAX} per transaction; use fewer routes or destinations per event",
                    writes.len()
                ),
            ));
        }
        let mut puts = Vec::with_capacity(writes.len());
        for (w, version) in writes.iter().zip(&versions) {
            puts.push(self.conditional_put(w, *version, now)?);
        }
        if puts.len() == 1 {
            let put = puts.remove(0);
            let result = self
                .client
                .put_item()
                .table_name(put.table_name())
                .set_item(Some(put.item().clone()))
                .set_condition_expression(put.condition_expression().map(str::to_string))
                .set_expression_attribute_values(put.expression_attribute_values().cloned())
                .send()
                .await;
            return match result {
                Ok(_) => Ok(Some(versions)),
                Err(SdkError::ServiceError(e))
                    if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
                {
                    Ok(None)
                }
                Err(e) => Err(sdk_failure("PutItem", e)),
            };
        }
        let items = puts
            .into_iter()
            .map(|p| TransactWriteItem::builder().put(p).build())
            .collect();
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(Some(versions)),
            Err(SdkError::ServiceError(e))
                if matches!(
                    e.err(),
                    TransactWriteItemsError::TransactionCanceledException(c)
                        if c.cancellation_reasons().iter().any(|r| r.code() == Some("ConditionalCheckFailed"))
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(sdk_failure("TransactWriteItems", e)),
        }
    }

    async fn due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(String, Versioned)>, StoreError> {
        // `Limit` counts items read, before the expiry check, so page until
        // enough live records are found (expired ones linger until TTL deletes them).
        let mut due = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(DUE_INDEX)
                .key_condition_expression("#due = :due AND due_us <= :now")
                .expression_attribute_names("#due", "due")
                .expression_attribute_values(":due", s("due"))
                .expression_attribute_values(":now", n(micros(now)))
                .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_failure("Query", e))?;
            for item in out.items() {
                let Some(key) = item.get("pk").and_then(|v| v.as_s().ok()) else {
                    continue;
                };
                let versioned = Self::versioned(key, item)?;
                if versioned.record.expires_at > now && due.len() < limit {
                    due.push((key.clone(), versioned));
                }
            }
            start = out.last_evaluated_key().cloned();
            if due.len() >= limit || start.is_none() {
                break;
            }
        }
        Ok(due)
    }
}
