//! Warm handler latency when every state call takes 5 ms (about a
//! same-region DynamoDB round trip from Lambda): the in-memory store behind a
//! wrapper that waits 5 ms per call. Each `Store` method is one DynamoDB
//! request (`get_many` one `BatchGetItem`, `put_all` one `TransactWriteItems`),
//! so this measures what the state model's round trips cost an event, without
//! the local AWS API server's own time. Senders only take the payload.
//!
//! `cargo bench -p gdalert-lambda --bench state_latency`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use gdalert_lambda::{App, FunctionEnv, Role};
use gdalert_pipeline::store::{Record, StoreError, Versioned, Write};
use gdalert_pipeline::{
    Alert, Config, Destination, Failure, MemoryStore, Payload, Pipeline, Sender, Store,
};

const CALL: Duration = Duration::from_millis(5);

/// The in-memory store, 5 ms per call.
#[derive(Default)]
struct Remote(MemoryStore);

#[async_trait::async_trait]
impl Store for Remote {
    async fn get(&self, key: &str, now: DateTime<Utc>) -> Result<Option<Versioned>, StoreError> {
        tokio::time::sleep(CALL).await;
        self.0.get(key, now).await
    }
    async fn get_many(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<Versioned>>, StoreError> {
        tokio::time::sleep(CALL).await;
        self.0.get_many(keys, now).await
    }
    async fn put(
        &self,
        key: &str,
        expected: Option<u64>,
        record: Record,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        tokio::time::sleep(CALL).await;
        self.0.put(key, expected, record, now).await
    }
    async fn put_all(
        &self,
        writes: &[Write],
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u64>>, StoreError> {
        tokio::time::sleep(CALL).await;
        self.0.put_all(writes, now).await
    }
    async fn due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(String, Versioned)>, StoreError> {
        tokio::time::sleep(CALL).await;
        self.0.due(now, limit).await
    }
}

struct Taken;

#[async_trait::async_trait]
impl Sender for Taken {
    async fn send(&self, _: &Destination, _: &Alert, p: &Payload) -> Result<String, Failure> {
        black_box(p);
        Ok("ok".into())
    }
}

const ROUTES: &str = r#"
[settings]
storm_threshold = 1000000

[destinations.topic]
kind = "sns"
topic_arn = "arn:aws:sns:us-east-1:123456789012:gdalert"

[[routes]]
name = "runtime"
match = "runtime-findings.json"
destinations = ["topic"]
"#;

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let env = FunctionEnv::read(|n| match n {
        "GDALERT_STATE_TABLE" => Some("bench".to_string()),
        "GDALERT_METRICS" => Some("off".to_string()),
        _ => None,
    })
    .unwrap();
    let config = Config::load("routes.toml", ROUTES, &gdalert_shipped::pattern_map()).unwrap();
    let app = App::new(
        Role::Findings,
        Pipeline::new(config),
        Arc::new(Remote::default()),
        Arc::new(Taken),
        env,
    );
    let event: serde_json::Value = serde_json::from_str(include_str!(
        "../../../tests/fixtures/events/runtime-fargate-c2-high.json"
    ))
    .unwrap();
    let with = |id: &str, finding: &str, count: u64| {
        let mut e = event.clone();
        e["id"] = serde_json::json!(id);
        e["detail"]["id"] = serde_json::json!(finding);
        e["detail"]["service"]["count"] = serde_json::json!(count);
        e["detail"]["resource"]["ecsClusterDetails"]["name"] = serde_json::json!(finding);
        e.to_string()
    };
    let mut group = c.benchmark_group("handler_dynamodb_5ms");
    group.sample_size(30);
    let mut n = 0u64;
    group.bench_function("new_finding_sent", |b| {
        b.iter_batched(
            || {
                n += 1;
                with(&format!("new-{n}"), &format!("finding-{n}"), 1)
            },
            |text| black_box(runtime.block_on(app.handle_text(&text)).unwrap()),
            BatchSize::SmallInput,
        )
    });
    let seen = with("seen", "finding-seen", 1);
    runtime.block_on(app.handle_text(&seen)).unwrap();
    group.bench_function("same_event_again", |b| {
        b.iter(|| black_box(runtime.block_on(app.handle_text(&seen)).unwrap()))
    });
    let mut bump = 1u64;
    group.bench_function("count_bump_suppressed", |b| {
        b.iter_batched(
            || {
                bump += 1;
                with(&format!("bump-{bump}"), "finding-seen", bump)
            },
            |text| black_box(runtime.block_on(app.handle_text(&text)).unwrap()),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
