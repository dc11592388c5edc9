//! Replay throughput: JSON Lines bytes → parse → match → classify/dedupe in
//! the SQLite store → enrich → render for three destinations (Slack, SNS,
//! PagerDuty). Budget (issue 3): at least 20,000 findings/s on one core.
//!
//! `cargo bench -p gdalert --bench replay`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::hint::black_box;

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use gdalert_event::GuardDutyEvent;
use gdalert_pipeline::{
    Alert, Config, Destination, Failure, MemoryStore, Payload, Pipeline, RunOptions, Sender, Status,
};
use gdalert_store_sqlite::SqliteStore;

const FINDINGS: usize = 10_000;

const ROUTES: &str = r#"
[settings]
group_window = "0s"
storm_threshold = 1000000

[destinations.slack]
kind = "slack"
webhook_url_secret = "/gdalert/slack"

[destinations.sns]
kind = "sns"
topic_arn = "arn:aws:sns:eu-west-1:111122223333:gdalert"

[destinations.pagerduty]
kind = "pagerduty"
routing_key_secret = "/gdalert/pagerduty"

[[routes]]
name = "runtime"
match = '{"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"], "detail": {"type": [{"wildcard": "*:Runtime/*"}]}}'
destinations = ["slack", "sns", "pagerduty"]
samples = true
"#;

/// Discards payloads (rendering already happened in `deliver`).
struct Discard;

#[async_trait::async_trait]
impl Sender for Discard {
    async fn send(&self, _: &Destination, _: &Alert, payload: &Payload) -> Result<String, Failure> {
        black_box(payload);
        Ok(String::new())
    }
}

/// 10,000 distinct runtime findings (~3 KB each) as JSON Lines.
fn jsonl() -> String {
    let samples: Vec<serde_json::Value> = gdalert_pipeline::samples::all()
        .into_iter()
        .map(|(_, v)| v)
        .filter(|v| v["detail-type"] == "GuardDuty Finding")
        .collect();
    let mut out = String::new();
    for i in 0..FINDINGS {
        let mut event = samples[i % samples.len()].clone();
        event["id"] = serde_json::json!(format!("bench-event-{i}"));
        event["detail"]["id"] = serde_json::json!(format!("bench-finding-{i:08}"));
        out.push_str(&event.to_string());
        out.push('\n');
    }
    out
}

/// The CLI's runtime: one thread.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn replay(pipeline: &Pipeline, store: &SqliteStore, lines: &str, now: DateTime<Utc>) -> usize {
    block_on(store.batch(async |store| {
        let mut sent = 0;
        for line in lines.lines() {
            let event = GuardDutyEvent::from_json(line).unwrap();
            let node = gdalert_pattern::parse_event(line).unwrap();
            let report = pipeline
                .run_event(
                    store,
                    &Discard,
                    &event,
                    &node,
                    now,
                    &RunOptions::deliver("bench"),
                )
                .await;
            sent += report
                .deliveries
                .iter()
                .filter(|d| d.status == Status::Sent)
                .count();
        }
        sent
    }))
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let config = Config::load("routes.toml", ROUTES, &BTreeMap::new()).unwrap();
    let pipeline = Pipeline::new(config);
    let lines = jsonl();
    let now = DateTime::parse_from_rfc3339("2026-11-20T10:15:00Z")
        .unwrap()
        .with_timezone(&Utc);
    // Sanity: every finding is sent to all three destinations.
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        replay(
            &pipeline,
            &SqliteStore::open(&dir.path().join("check.db")).unwrap(),
            &lines,
            now
        ),
        3 * FINDINGS
    );

    let mut group = c.benchmark_group("replay");
    group.sample_size(10);
    group.throughput(Throughput::Elements(FINDINGS as u64));
    group.bench_function("jsonl_to_three_payloads_sqlite_file", |b| {
        let mut n = 0;
        b.iter_batched(
            || {
                n += 1;
                SqliteStore::open(&dir.path().join(format!("run-{n}.db"))).unwrap()
            },
            |store| black_box(replay(&pipeline, &store, &lines, now)),
            BatchSize::PerIteration,
        )
    });
    // Where the time goes: the same work without the store, and parsing alone.
    group.bench_function("jsonl_to_three_payloads_memory_store", |b| {
        b.iter_batched(
            MemoryStore::new,
            |store| {
                block_on(async {
                    let mut sent = 0;
                    for line in lines.lines() {
                        let event = GuardDutyEvent::from_json(line).unwrap();
                        let node = gdalert_pattern::parse_event(line).unwrap();
                        let report = pipeline
                            .run_event(
                                &store,
                                &Discard,
                                &event,
                                &node,
                                now,
                                &RunOptions::deliver("bench"),
                            )
                            .await;
                        sent += report.deliveries.len();
                    }
                    black_box(sent)
                })
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("parse_only", |b| {
        b.iter(|| {
            for line in lines.lines() {
                black_box(GuardDutyEvent::from_json(line).unwrap());
                black_box(gdalert_pattern::parse_event(line).unwrap());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
