//! Cold start of the built `finding-alerts` binary against a local Lambda
//! Runtime API, with its AWS clients on the local AWS API server:
//! - init: process start → first `GET …/invocation/next` (routes validated,
//!   clients built; no network);
//! - first event: that request → the response (includes loopback calls to
//!   the local AWS API server, reported separately so they can be
//!   subtracted);
//! - peak RSS (`VmHWM`) after the first event, and the binary's size.
//!
//! Budgets (issue 4): start → first event handled ≤ 15 ms excluding
//! network; peak RSS ≤ 32 MB.
//!
//! `cargo bench -p finding-alerts --bench cold_start` (needs `moto_server`
//! on PATH, or `GDALERT_MOTO_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gdalert_aws::{AwsClients, DynamoStore};
use gdalert_testkit::{fixture, moto_url, sdk_config, unique, RuntimeApi};

const RUNS: usize = 15;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let binary = env!("CARGO_BIN_EXE_finding-alerts");
    let config = sdk_config(&moto_url()).await;
    let aws = AwsClients::from_config(&config);
    let table = unique("gdalert-bench");
    let store = DynamoStore::new(aws.dynamodb.clone(), &table);
    store.create_table().await.unwrap();
    let dir = std::env::temp_dir().join(unique("gdalert-bench"));
    std::fs::create_dir_all(&dir).unwrap();
    let routes = dir.join("routes.toml");
    std::fs::write(
        &routes,
        "[destinations.log]\nkind = \"stdout\"\n\n[[routes]]\nname = \"runtime\"\nmatch = \"runtime-findings.json\"\ndestinations = [\"log\"]\n",
    )
    .unwrap();
    let event: serde_json::Value =
        serde_json::from_str(&fixture("runtime-fargate-c2-high.json")).unwrap();

    // Network share: one warm DynamoDB round trip to the local server.
    let mut rtts = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        aws.dynamodb
            .get_item()
            .table_name(&table)
            .key("pk", aws_sdk_dynamodb_key("probe"))
            .send()
            .await
            .unwrap();
        rtts.push(t.elapsed());
    }
    let rtt = median(rtts);

    let (mut inits, mut firsts, mut rss) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..RUNS {
        let api = RuntimeApi::start().await;
        let mut e = event.clone();
        e["id"] = serde_json::json!(format!("cold-{run}"));
        e["detail"]["id"] = serde_json::json!(unique("finding"));
        api.invoke(&format!("req-{run}"), e);
        let started = Instant::now();
        let mut child = Command::new(binary)
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "finding-alerts")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/finding-alerts")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_ENDPOINT_URL", moto_url())
            .env("GDALERT_STATE_TABLE", &table)
            .env("GDALERT_ROUTES_FILE", &routes)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let answers = api.answers(1).await;
        let done = started.elapsed();
        assert!(answers[0].result.is_ok(), "{:?}", answers[0]);
        let first_poll = api.first_poll().expect("the function polled");
        inits.push(first_poll.duration_since(started));
        firsts.push(done - first_poll.duration_since(started));
        rss.push(peak_rss_kb(child.id()));
        let _ = child.kill();
        let _ = child.wait();
    }
    rss.sort();
    let size = std::fs::metadata(binary).map(|m| m.len()).unwrap_or(0);
    println!("finding-alerts cold start, median of {RUNS} runs (binary: {binary})");
    println!(
        "  init (start → first poll, no network):      {:?}",
        median(inits.clone())
    );
    println!(
        "  first event (poll → response, with network): {:?}",
        median(firsts.clone())
    );
    println!("  one DynamoDB round trip to the local server: {rtt:?}");
    println!(
        "  peak RSS after the first event:               {} KiB",
        rss[rss.len() / 2]
    );
    println!(
        "  binary size:                                  {} bytes",
        size
    );
}

fn aws_sdk_dynamodb_key(v: &str) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::S(v.to_string())
}
