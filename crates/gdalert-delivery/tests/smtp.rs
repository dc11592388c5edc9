//! Email over SMTP to a real SMTP server on loopback (aiosmtpd).
//!
//! `.ci/run` starts the sink; see `gdalert_testkit::smtp_sink`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use gdalert_delivery::{Channel, RetryPolicy, Senders, SmtpClient, StaticSecrets};
use gdalert_event::GuardDutyEvent;
use gdalert_pipeline::{Config, MemoryStore, Pipeline, RunOptions};
use gdalert_testkit::{deliveries, Delivery};

fn sink() -> (String, std::path::PathBuf) {
    gdalert_testkit::smtp_sink()
}

fn event(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let text = gdalert_testkit::fixture(name);
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    edit(&mut value);
    value.to_string()
}

async fn send(addr: &str, text: &str) -> Delivery {
    let (host, port) = addr.rsplit_once(':').unwrap();
    let routes = format!(
        r#"
[destinations.mail]
kind = "email"
transport = "smtp"
smtp_host = "{host}"
smtp_port = {port}
from = "gdalert@example.com"
to = ["soc@example.com"]
timeout = "3s"

[[routes]]
name = "all"
destinations = ["mail"]
"#
    );
    let pipeline = Pipeline::new(Config::load("routes.toml", &routes, &BTreeMap::new()).unwrap());
    let senders = Senders::new(RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
    })
    .with(
        Channel::EmailSmtp,
        Arc::new(SmtpClient::new(Arc::new(StaticSecrets::new()))),
    );
    let store = MemoryStore::new();
    let event = GuardDutyEvent::from_json(text).unwrap();
    let node = gdalert_pattern::parse_event(text).unwrap();
    let now = Utc::now();
    let report = pipeline
        .run_event(
            &store,
            &senders,
            &event,
            &node,
            now,
            &RunOptions::deliver("smtp-test"),
        )
        .await;
    deliveries(&report).remove(0)
}

#[tokio::test]
async fn an_alert_arrives_at_the_smtp_server_with_attacker_text_escaped() {
    let (addr, log) = sink();
    let marker = format!("m{}x{}", std::process::id(), Utc::now().timestamp_micros());
    let text = event("runtime-fargate-c2-high.json", |v| {
        v["id"] = serde_json::json!(marker.clone());
        v["detail"]["id"] = serde_json::json!(marker.clone());
        v["detail"]["service"]["runtimeDetails"]["process"]["name"] =
            serde_json::json!("<script>alert(1)</script>");
    });
    let delivery = send(&addr, &text).await;
    assert!(
        matches!(&delivery, Delivery::Delivered { receipt } if receipt.starts_with("smtp:250")),
        "{delivery:?}"
    );
    let mut printed = String::new();
    for _ in 0..50 {
        printed = std::fs::read_to_string(&log).unwrap_or_default();
        if printed.contains(&marker) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let start = printed
        .find(&marker)
        .unwrap_or_else(|| panic!("mail for {marker} not seen by the sink:\n{printed}"));
    let mail = &printed[printed[..start]
        .rfind("---------- MESSAGE FOLLOWS ----------")
        .unwrap_or(0)..];
    assert!(mail.contains("Subject:"), "{mail}");
    assert!(mail.contains("text/html"), "{mail}");
    // Plain text may show the name as written; the HTML part must escape it.
    let html = &mail[mail
        .find("Content-Type: text/html")
        .unwrap_or_else(|| panic!("no HTML part:\n{mail}"))..];
    let html = html.replace("=\n", "");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(
        !html.contains("<script>"),
        "raw script reached the HTML part:\n{html}"
    );
}

#[tokio::test]
async fn a_refused_smtp_connection_fails_retryably() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let text = event("runtime-fargate-c2-high.json", |_| {});
    match send(&format!("127.0.0.1:{port}"), &text).await {
        Delivery::Failed(e) => assert!(e.is_retryable(), "{}", e.message()),
        other => panic!("{other:?}"),
    }
}
