//! Warm handler time per event, excluding network: the `finding-alerts`
//! handler (parse, match, classify/dedupe, enrich, render for SNS and Slack,
//! claim/complete, metrics) with an in-memory store and senders that only
//! take the payload. Budget (issue 4): ≤ 1 ms per event.
//!
//! The two reads of the event text inside it are timed alone beside it
//! (`event_read/*`: the typed model and the pattern reader), to weigh what
//! reading the text once would save.
//!
//! `cargo bench -p gdalert-lambda --bench handler`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use gdalert_lambda::{App, FunctionEnv, Role};
use gdalert_pipeline::{
    Alert, Config, Destination, Failure, MemoryStore, Payload, Pipeline, Sender,
};

struct Taken;

#[async_trait::async_trait]
impl Sender for Taken {
    async fn send(&self, _: &Destination, _: &Alert, payload: &Payload) -> Result<String, Failure> {
        black_box(payload);
        Ok("ok".into())
    }
}

const ROUTES: &str = r#"
[settings]
group_window = "0s"
storm_threshold = 1000000

[destinations.topic]
kind = "sns"
topic_arn = "arn:aws:sns:us-east-1:123456789012:gdalert"

[destinations.chat]
kind = "slack"
webhook_url_secret = "/gdalert/slack"

[[routes]]
name = "runtime"
match = "runtime-findings.json"
destinations = ["topic", "chat"]
"#;

fn bench(c: &mut Criterion) {
    let config = Config::load("routes.toml", ROUTES, &gdalert_shipped::pattern_map()).unwrap();
    let env = FunctionEnv::read(|n| match n {
        "GDALERT_STATE_TABLE" => Some("bench".to_string()),
        "GDALERT_METRICS" => Some("off".to_string()),
        _ => None,
    })
    .unwrap();
    let app = App::new(
        Role::Findings,
        Pipeline::new(config),
        Arc::new(MemoryStore::new()),
        Arc::new(Taken),
        env,
    );
    let event: serde_json::Value = serde_json::from_str(include_str!(
        "../../../tests/fixtures/events/runtime-fargate-c2-high.json"
    ))
    .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut n = 0u64;
    c.bench_function("finding_alerts_warm_handler_new_finding", |b| {
        // A new finding each time, made outside the timing: the runtime hands
        // the handler text, so building it is not the handler's cost.
        b.iter_batched(
            || {
                n += 1;
                let mut e = event.clone();
                e["id"] = serde_json::json!(format!("bench-{n}"));
                e["detail"]["id"] = serde_json::json!(format!("finding-{n}"));
                e.to_string()
            },
            |text| black_box(runtime.block_on(app.handle_text(&text)).unwrap()),
            BatchSize::SmallInput,
        )
    });
}

/// Each of the handler's two reads of one finding's text, alone.
fn reads(c: &mut Criterion) {
    let text = include_str!("../../../tests/fixtures/events/runtime-fargate-c2-high.json");
    let mut group = c.benchmark_group("event_read");
    group.bench_function("typed_model", |b| {
        b.iter(|| black_box(gdalert_event::GuardDutyEvent::from_json(black_box(text)).unwrap()))
    });
    group.bench_function("pattern_reader", |b| {
        b.iter(|| black_box(gdalert_pattern::parse_event(black_box(text)).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, bench, reads);
criterion_main!(benches);
