//! The pipeline's promises, end to end through the engine with the in-memory
//! store: one alert per real thing, updates only when they matter, resolved
//! messages, and never a lost or doubled delivery.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use gdalert_event::GuardDutyEvent;
use gdalert_pipeline::coverage::{CoverageResource, ResourceKind};
use gdalert_pipeline::{
    Alert, Config, Decision, Destination, Failure, Lifecycle, MemoryStore, Payload, Pipeline,
    Report, RunOptions, Sender, Status,
};
use serde_json::{json, Value};

/// The engine is async (its stores and senders do I/O); these tests drive it
/// one step at a time.
fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const ROUTES: &str = r#"
[settings]
group_window = "15m"
storm_threshold = 100

[destinations.chat]
kind = "stdout"

[destinations.pager]
kind = "stdout"

[[routes]]
name = "runtime"
match = '{"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"], "detail": {"type": [{"wildcard": "*:Runtime/*"}]}}'
destinations = ["chat", "pager"]

[[routes]]
name = "coverage"
match = '{"detail-type": [{"prefix": "GuardDuty Runtime Protection"}]}'
destinations = ["chat"]
"#;

fn pipeline(routes: &str) -> Pipeline {
    Pipeline::new(Config::load("routes.toml", routes, &BTreeMap::new()).unwrap())
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-20T10:10:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// Records what was sent; fails destinations named in `failing`.
#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<(String, Alert)>>,
    failing: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl Sender for Recorder {
    async fn send(
        &self,
        destination: &Destination,
        alert: &Alert,
        _payload: &Payload,
    ) -> Result<String, Failure> {
        if self.failing.lock().unwrap().contains(&destination.name) {
            return Err(Failure::retry("HTTP 503"));
        }
        self.sent
            .lock()
            .unwrap()
            .push((destination.name.clone(), alert.clone()));
        Ok(format!("receipt-{}", self.sent.lock().unwrap().len()))
    }
}

struct Run {
    pipeline: Pipeline,
    store: MemoryStore,
    sender: Recorder,
}

impl Run {
    fn new(routes: &str) -> Run {
        Run {
            pipeline: pipeline(routes),
            store: MemoryStore::new(),
            sender: Recorder::default(),
        }
    }

    fn event(&self, event: &Value, now: DateTime<Utc>) -> (Report, Vec<Status>) {
        let text = event.to_string();
        let parsed = GuardDutyEvent::from_json(&text).unwrap();
        let node = gdalert_pattern::parse_event(&text).unwrap();
        let report = block_on(self.pipeline.run_event(
            &self.store,
            &self.sender,
            &parsed,
            &node,
            now,
            &RunOptions::deliver("test"),
        ));
        let statuses = report.deliveries.iter().map(|d| d.status).collect();
        (report, statuses)
    }

    fn digest(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<Report>, gdalert_pipeline::store::StoreError> {
        block_on(self.pipeline.run_digest(
            &self.store,
            &self.sender,
            now,
            &RunOptions::deliver("test"),
        ))
    }

    fn sent(&self) -> usize {
        self.sender.sent.lock().unwrap().len()
    }
}

fn decisions(outcome: &Report) -> Vec<(String, Decision)> {
    outcome
        .deliveries
        .iter()
        .map(|d| (d.destination.clone(), d.decision))
        .collect()
}

/// The coverage event as GuardDuty would stamp it at `t` (envelope `time`
/// and `detail.lastUpdatedAt`, in microseconds as the real events carry it).
fn stamped(event: &Value, t: DateTime<Utc>) -> Value {
    let mut e = event.clone();
    e["time"] = json!(t.to_rfc3339());
    e["detail"]["lastUpdatedAt"] = json!(t.timestamp_micros());
    e
}

fn republished(event: &Value, id: &str, count: u64, severity: f64) -> Value {
    let mut e = event.clone();
    e["id"] = json!(id);
    e["detail"]["service"]["count"] = json!(count);
    e["detail"]["severity"] = json!(severity);
    e
}

#[test]
fn replaying_the_same_findings_twice_sends_nothing_the_second_time() {
    let run = Run::new(ROUTES);
    let events = [
        "runtime-fargate-c2-high.json",
        "runtime-eks-reverse-shell-high.json",
        "runtime-ec2-cryptominer-high.json",
    ];
    for name in events {
        run.event(&fixture(name), t0());
    }
    assert_eq!(run.sent(), 6, "three findings to two destinations");
    for name in events {
        let (outcome, deliveries) = run.event(&fixture(name), t0() + Duration::minutes(1));
        assert!(outcome.replayed);
        assert!(
            deliveries.iter().all(|d| *d == Status::AlreadyDelivered),
            "{deliveries:?}"
        );
    }
    assert_eq!(run.sent(), 6, "nothing more sent on the second replay");
}

#[test]
fn a_count_bump_alone_is_suppressed_and_an_escalation_is_sent() {
    let run = Run::new(ROUTES);
    let first = fixture("runtime-fargate-docker-socket-medium.json");
    let (outcome, _) = run.event(&first, t0());
    assert_eq!(outcome.alert.verdict.lifecycle, Lifecycle::New);
    assert_eq!(run.sent(), 2);

    let (outcome, _) = run.event(
        &republished(&first, "bump-1", 5, 5.0),
        t0() + Duration::minutes(15),
    );
    assert_eq!(outcome.alert.verdict.lifecycle, Lifecycle::Update);
    assert!(
        decisions(&outcome)
            .iter()
            .all(|(_, d)| *d == Decision::Suppressed),
        "{outcome:?}"
    );
    assert_eq!(run.sent(), 2);

    let (outcome, _) = run.event(
        &republished(&first, "bump-2", 9, 8.0),
        t0() + Duration::minutes(30),
    );
    assert_eq!(outcome.alert.verdict.lifecycle, Lifecycle::Escalation);
    assert!(decisions(&outcome)
        .iter()
        .all(|(_, d)| *d == Decision::Sent));
    assert_eq!(run.sent(), 4);
    assert!(
        outcome.deliveries[0].reason.contains("from Medium to High"),
        "{}",
        outcome.deliveries[0].reason
    );
    // The held-back update is reported in the next message.
    assert_eq!(outcome.alert.verdict.suppressed_since_last, 1);
}

#[test]
fn an_update_is_sent_again_after_the_repeat_interval() {
    let run = Run::new(ROUTES);
    let first = fixture("runtime-fargate-c2-high.json");
    run.event(&first, t0());
    let (outcome, _) = run.event(
        &republished(&first, "later", 40, 8.0),
        t0() + Duration::hours(25),
    );
    assert_eq!(outcome.alert.verdict.lifecycle, Lifecycle::Update);
    assert!(
        decisions(&outcome)
            .iter()
            .all(|(_, d)| *d == Decision::Sent),
        "{outcome:?}"
    );
}

#[test]
fn unhealthy_then_healthy_gives_an_alert_then_a_resolved_message_with_the_duration() {
    let run = Run::new(ROUTES);
    let mut unhealthy = stamped(&fixture("runtime-protection-unhealthy-eks.real.json"), t0());
    let (outcome, _) = run.event(&unhealthy, t0());
    assert_eq!(outcome.alert.verdict.lifecycle, Lifecycle::Opened);
    assert_eq!(run.sent(), 1);

    unhealthy["id"] = json!("unhealthy-again");
    let (outcome, _) = run.event(&unhealthy, t0() + Duration::minutes(30));
    assert_eq!(outcome.alert.verdict.lifecycle, Lifecycle::Repeat);
    assert_eq!(
        decisions(&outcome),
        vec![("chat".to_string(), Decision::Suppressed)]
    );

    let mut healthy = unhealthy.clone();
    healthy["id"] = json!("healthy");
    healthy["detail-type"] = json!("GuardDuty Runtime Protection Healthy");
    healthy["detail"]["previousStatus"] = json!("Unhealthy");
    healthy["detail"]["currentStatus"] = json!("Healthy");
    // Healthy came 90 minutes after Unhealthy, but is handled two hours
    // later still (a late retry, a redrive): the outage is 90 minutes.
    let healthy = stamped(&healthy, t0() + Duration::minutes(90));
    let (outcome, _) = run.event(&healthy, t0() + Duration::minutes(210));
    assert_eq!(outcome.alert.verdict.lifecycle, Lifecycle::Resolved);
    assert_eq!(outcome.alert.verdict.outage_secs, Some(90 * 60));
    assert_eq!(run.sent(), 2);
    let sent = run.sender.sent.lock().unwrap();
    assert!(
        sent[1]
            .1
            .title
            .starts_with("Runtime protection restored: EKS eks-demo"),
        "{}",
        sent[1].1.title
    );
}

#[test]
fn the_flap_hold_sends_one_resolved_message_from_the_digest() {
    let routes = ROUTES.replace(
        "storm_threshold = 100",
        "storm_threshold = 100\nflap_hold = \"10m\"",
    );
    let run = Run::new(&routes);
    let unhealthy = stamped(&fixture("runtime-protection-unhealthy-eks.real.json"), t0());
    run.event(&unhealthy, t0());
    let mut healthy = unhealthy.clone();
    healthy["id"] = json!("healthy-1");
    healthy["detail"]["currentStatus"] = json!("Healthy");
    let healthy = stamped(&healthy, t0() + Duration::minutes(20));
    let (outcome, _) = run.event(&healthy, t0() + Duration::minutes(20));
    assert_eq!(outcome.alert.verdict.lifecycle, Lifecycle::Resolving);
    assert_eq!(
        decisions(&outcome),
        vec![("chat".to_string(), Decision::Grouped)]
    );
    assert!(
        run.digest(t0() + Duration::minutes(25)).unwrap().is_empty(),
        "not due yet"
    );
    let due = run.digest(t0() + Duration::minutes(31)).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].alert.verdict.lifecycle, Lifecycle::Resolved);
    assert_eq!(due[0].alert.verdict.outage_secs, Some(20 * 60));
    assert!(
        run.digest(t0() + Duration::minutes(40)).unwrap().is_empty(),
        "sent once"
    );
}

#[test]
fn sample_and_archived_findings_follow_the_defaults() {
    let run = Run::new(ROUTES);
    let (outcome, _) = run.event(&fixture("runtime-eks-new-binary-low-sample.json"), t0());
    assert_eq!(outcome.alert.verdict.lifecycle, Lifecycle::Sample);
    assert!(decisions(&outcome)
        .iter()
        .all(|(_, d)| *d == Decision::Dropped));
    assert!(outcome.deliveries[0].reason.contains("samples = true"));

    let mut archived = fixture("runtime-fargate-c2-high.json");
    archived["detail"]["service"]["archived"] = json!(true);
    let (outcome, _) = run.event(&archived, t0());
    assert_eq!(outcome.alert.verdict.lifecycle, Lifecycle::Archived);
    assert!(decisions(&outcome)
        .iter()
        .all(|(_, d)| *d == Decision::Dropped));
    assert_eq!(run.sent(), 0);

    // A route that opts in gets samples.
    let opted = Run::new(&ROUTES.replace(
        "destinations = [\"chat\", \"pager\"]",
        "destinations = [\"chat\", \"pager\"]\nsamples = true",
    ));
    opted.event(&fixture("runtime-eks-new-binary-low-sample.json"), t0());
    assert_eq!(opted.sent(), 2);
}

#[test]
fn later_findings_of_a_group_are_held_and_counted_for_the_digest() {
    let run = Run::new(ROUTES);
    let first = fixture("runtime-fargate-c2-high.json");
    run.event(&first, t0());
    let mut second = first.clone();
    second["id"] = json!("other-event");
    second["detail"]["id"] = json!("another-finding-same-type-same-cluster");
    let (outcome, _) = run.event(&second, t0() + Duration::minutes(2));
    assert_eq!(outcome.alert.verdict.lifecycle, Lifecycle::New);
    assert!(
        decisions(&outcome)
            .iter()
            .all(|(_, d)| *d == Decision::Grouped),
        "{outcome:?}"
    );
    assert_eq!(run.sent(), 2);

    let digests = run.digest(t0() + Duration::minutes(16)).unwrap();
    assert_eq!(digests.len(), 2, "one digest per destination");
    for digest in &digests {
        assert_eq!(digest.alert.verdict.suppressed_since_last, 1);
        assert!(
            digest.alert.title.starts_with("1 more alert(s) like:"),
            "{}",
            digest.alert.title
        );
        assert_eq!(digest.deliveries.len(), 1);
        assert_eq!(digest.deliveries[0].status, Status::Sent);
    }
    assert!(run.digest(t0() + Duration::minutes(17)).unwrap().is_empty());
}

#[test]
fn the_storm_guard_switches_a_destination_to_a_digest() {
    let routes = ROUTES
        .replace("storm_threshold = 100", "storm_threshold = 2")
        .replace("group_window = \"15m\"", "group_window = \"0s\"");
    let run = Run::new(&routes);
    let base = fixture("runtime-fargate-c2-high.json");
    for i in 0..5 {
        let mut e = base.clone();
        e["id"] = json!(format!("storm-{i}"));
        e["detail"]["id"] = json!(format!("finding-{i}"));
        run.event(&e, t0() + Duration::seconds(i));
    }
    assert_eq!(run.sent(), 4, "two per destination, then held");
    let digests = run.digest(t0() + Duration::hours(1)).unwrap();
    let storm: Vec<_> = digests
        .iter()
        .filter(|o| o.alert.title.starts_with("Alert storm"))
        .collect();
    assert_eq!(storm.len(), 2, "one storm digest per destination");
    assert_eq!(storm[0].alert.verdict.suppressed_since_last, 3);
}

#[test]
fn a_failed_destination_is_retried_without_reposting_the_ones_that_worked() {
    let run = Run::new(ROUTES);
    run.sender.failing.lock().unwrap().push("pager".into());
    let event = fixture("runtime-eks-reverse-shell-high.json");
    let (report, deliveries) = run.event(&event, t0());
    assert_eq!(deliveries, vec![Status::Sent, Status::Failed]);
    assert!(report.retryable());
    // EventBridge retries the same event.
    run.sender.failing.lock().unwrap().clear();
    let (outcome, deliveries) = run.event(&event, t0() + Duration::minutes(1));
    assert!(outcome.replayed);
    assert_eq!(
        deliveries,
        vec![Status::AlreadyDelivered, Status::Sent],
        "{deliveries:?}"
    );
    let sent = run.sender.sent.lock().unwrap();
    assert_eq!(sent.iter().filter(|(d, _)| d == "chat").count(), 1);
    assert_eq!(sent.iter().filter(|(d, _)| d == "pager").count(), 1);
}

#[test]
fn a_store_outage_delivers_anyway_and_says_dedupe_is_unavailable() {
    let run = Run::new(ROUTES);
    run.store.set_down(true);
    let (outcome, deliveries) = run.event(&fixture("runtime-fargate-c2-high.json"), t0());
    assert!(outcome.alert.verdict.dedupe_unavailable);
    assert!(
        deliveries.iter().all(|d| *d == Status::Sent),
        "{deliveries:?}"
    );
    assert!(outcome.store_error.is_some(), "the report says why");
    assert!(run
        .sender
        .sent
        .lock()
        .unwrap()
        .iter()
        .all(|(_, a)| a.verdict.dedupe_unavailable));
}

#[test]
fn an_event_no_route_takes_reaches_the_fallback_or_is_reported_unrouted() {
    let run = Run::new(ROUTES);
    let (outcome, _) = run.event(&fixture("ec2-recon-portprobe.json"), t0());
    assert!(outcome.deliveries.is_empty());
    let with_fallback = Run::new(&format!(
        "{ROUTES}\n[[routes]]\nname = \"rest\"\nfallback = true\ndestinations = [\"chat\"]\n"
    ));
    let (outcome, _) = with_fallback.event(&fixture("ec2-recon-portprobe.json"), t0());
    assert_eq!(outcome.deliveries.len(), 1);
    assert_eq!(outcome.deliveries[0].route, "rest");
}

#[test]
fn a_digest_that_fails_at_one_destination_stays_due_and_is_not_reposted_to_the_others() {
    let run = Run::new(ROUTES);
    let first = fixture("runtime-fargate-c2-high.json");
    run.event(&first, t0());
    let mut second = first.clone();
    second["id"] = json!("grouped-event");
    second["detail"]["id"] = json!("grouped-finding");
    run.event(&second, t0() + Duration::minutes(2));
    assert_eq!(run.sent(), 2);

    run.sender.failing.lock().unwrap().push("pager".into());
    let digests = run.digest(t0() + Duration::minutes(16)).unwrap();
    let statuses: Vec<(String, Status)> = digests
        .iter()
        .flat_map(|r| {
            r.deliveries
                .iter()
                .map(|d| (d.destination.clone(), d.status))
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("chat".to_string(), Status::Sent),
            ("pager".to_string(), Status::Failed)
        ]
    );
    assert_eq!(run.sent(), 3, "chat has its digest");

    // The next run, pager back: pager gets the digest, chat is not posted again.
    run.sender.failing.lock().unwrap().clear();
    let digests = run.digest(t0() + Duration::minutes(17)).unwrap();
    let statuses: Vec<(String, Status)> = digests
        .iter()
        .flat_map(|r| {
            r.deliveries
                .iter()
                .map(|d| (d.destination.clone(), d.status))
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("chat".to_string(), Status::AlreadyDelivered),
            ("pager".to_string(), Status::Sent)
        ]
    );
    let sent = run.sender.sent.lock().unwrap();
    assert_eq!(sent.iter().filter(|(d, _)| d == "chat").count(), 2);
    assert_eq!(sent.iter().filter(|(d, _)| d == "pager").count(), 2);
    drop(sent);
    assert!(
        run.digest(t0() + Duration::minutes(18)).unwrap().is_empty(),
        "delivered everywhere: cleared"
    );
}

#[test]
fn a_held_resolved_message_stays_due_until_every_destination_has_it() {
    let routes = ROUTES.replace(
        "storm_threshold = 100",
        "storm_threshold = 100\nflap_hold = \"10m\"",
    );
    let routes = routes.replace(
        "destinations = [\"chat\"]",
        "destinations = [\"chat\", \"pager\"]",
    );
    let run = Run::new(&routes);
    let unhealthy = stamped(&fixture("runtime-protection-unhealthy-eks.real.json"), t0());
    run.event(&unhealthy, t0());
    let mut healthy = unhealthy.clone();
    healthy["id"] = json!("healthy-1");
    healthy["detail"]["currentStatus"] = json!("Healthy");
    run.event(
        &stamped(&healthy, t0() + Duration::minutes(5)),
        t0() + Duration::minutes(5),
    );
    run.sender.failing.lock().unwrap().push("pager".into());
    let due = run.digest(t0() + Duration::minutes(16)).unwrap();
    assert_eq!(due.len(), 1);
    assert!(due[0].failures().count() == 1);
    run.sender.failing.lock().unwrap().clear();
    let due = run.digest(t0() + Duration::minutes(17)).unwrap();
    assert_eq!(due.len(), 1, "still due after the failure");
    let statuses: Vec<Status> = due[0].deliveries.iter().map(|d| d.status).collect();
    assert_eq!(statuses, vec![Status::AlreadyDelivered, Status::Sent]);
    assert!(
        run.digest(t0() + Duration::minutes(18)).unwrap().is_empty(),
        "closed once delivered everywhere"
    );
}

#[test]
fn a_storm_of_many_types_gives_one_digest_per_destination_per_run() {
    let routes = ROUTES
        .replace("storm_threshold = 100", "storm_threshold = 20")
        .replace("group_window = \"15m\"", "group_window = \"10m\"");
    let run = Run::new(&routes);
    let base = fixture("runtime-fargate-c2-high.json");
    // 200 findings of 25 types on one cluster, one every 2 seconds (within
    // one storm window).
    for i in 0..200 {
        let mut e = base.clone();
        e["id"] = json!(format!("storm-event-{i}"));
        e["detail"]["id"] = json!(format!("storm-finding-{i}"));
        e["detail"]["type"] = json!(format!("Execution:Runtime/Storm{}", i % 25));
        run.event(&e, t0() + Duration::seconds(2 * i));
    }
    let before = run.sent();
    assert_eq!(before, 2 * 20, "the storm budget: 20 per destination");
    let digests = run.digest(t0() + Duration::minutes(16)).unwrap();
    assert_eq!(
        digests.len(),
        2,
        "one digest per destination, not one per group"
    );
    for digest in &digests {
        assert_eq!(
            digest.alert.verdict.suppressed_since_last,
            200 - 20,
            "{}",
            digest.alert.title
        );
    }
    assert_eq!(run.sent(), before + 2);
}

#[test]
fn an_archive_is_sent_at_once_as_an_archive_and_resolves_pagerduty() {
    let routes = ROUTES.replace(
        "destinations = [\"chat\", \"pager\"]",
        "destinations = [\"chat\", \"pager\"]\narchived = true",
    );
    let run = Run::new(&routes);
    let first = fixture("runtime-fargate-c2-high.json");
    run.event(&first, t0());
    let mut archived = first.clone();
    archived["id"] = json!("archived-event");
    archived["detail"]["service"]["archived"] = json!(true);
    // Within the group window: still sent at once, not folded into a digest.
    let (report, statuses) = run.event(&archived, t0() + Duration::minutes(3));
    assert_eq!(report.alert.verdict.lifecycle, Lifecycle::Archived);
    assert_eq!(statuses, vec![Status::Sent, Status::Sent]);
    assert!(
        report.alert.title.starts_with("Archived: "),
        "{}",
        report.alert.title
    );
    assert!(report.alert.triage.is_empty());
    let pagerduty = Destination {
        settings: gdalert_pipeline::config::KindSettings::Pagerduty(
            gdalert_pipeline::config::Pagerduty {
                routing_key: gdalert_pipeline::config::SecretRef::Parameter("/pd".into()),
                events_url: None,
            },
        ),
        ..run.pipeline.config.destinations["pager"].clone()
    };
    let Payload::Json { body } = gdalert_pipeline::render(&report.alert, &pagerduty).unwrap()
    else {
        panic!("PagerDuty payloads are JSON");
    };
    assert_eq!(body["event_action"], "resolve", "{body}");
}

#[test]
fn past_the_invocation_deadline_remote_destinations_wait_for_the_retry_and_the_log_is_written() {
    // Regression (found by `.ci/run`'s `cargo lambda invoke`, whose first
    // invoke compiles the function and arrives past its emulated deadline):
    // the log destination was refused too.
    let routes = ROUTES.replace(
        "[destinations.pager]\nkind = \"stdout\"",
        "[destinations.pager]\nkind = \"webhook\"\nurl = \"https://hooks.example.com/x\"",
    );
    let run = Run::new(&routes);
    let event = fixture("runtime-eks-reverse-shell-high.json");
    let text = event.to_string();
    let options = RunOptions {
        deadline: Some(std::time::Instant::now()),
        ..RunOptions::deliver("test")
    };
    let report = block_on(run.pipeline.run_event(
        &run.store,
        &run.sender,
        &GuardDutyEvent::from_json(&text).unwrap(),
        &gdalert_pattern::parse_event(&text).unwrap(),
        t0(),
        &options,
    ));
    let statuses: Vec<Status> = report.deliveries.iter().map(|d| d.status).collect();
    assert_eq!(statuses, vec![Status::Sent, Status::Failed], "{report:?}");
    assert!(report.retryable());
    let sent = run.sender.sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "chat");
}

const SEQUENCE_ROUTES: &str = r#"
[destinations.chat]
kind = "stdout"

[destinations.pager]
kind = "pagerduty"
routing_key_secret = "/gdalert/pd"

[[routes]]
name = "sequences"
match = '{"detail": {"type": [{"prefix": "AttackSequence:"}]}}'
destinations = ["chat", "pager"]
group_window = "0s"

[[routes]]
name = "runtime"
match = '{"detail": {"type": [{"wildcard": "*:Runtime/*"}]}}'
destinations = ["chat", "pager"]
group_window = "0s"
"#;

#[test]
fn a_sequence_that_arrives_after_its_findings_lists_the_ones_already_alerted() {
    let run = Run::new(SEQUENCE_ROUTES);
    // The C&C finding (a signal of the sequence) was alerted at 10:10; the
    // reverse shell signal never reached gdalert.
    run.event(&fixture("runtime-fargate-c2-high.json"), t0());
    assert_eq!(run.sent(), 2);
    let (report, _) = run.event(
        &fixture("attack-sequence-ecs-compromised-cluster.json"),
        t0() + Duration::minutes(30),
    );
    let alert = &report.alert;
    assert_eq!(alert.verdict.lifecycle, Lifecycle::New);
    let section = alert
        .sections
        .iter()
        .find(|s| s.heading == gdalert_pipeline::alert::ALERTED_BEFORE)
        .expect("a list of the findings already alerted");
    let lines: Vec<&str> = section.items.iter().map(|i| i.lead.as_str()).collect();
    assert_eq!(
        lines,
        ["Backdoor:Runtime/C&CActivity.B · finding a1b2c3d4e5f60718293a4b5c6d7e8f90 · alerted 2026-11-20 10:10 UTC"]
    );
    // Every destination shows it.
    let sent = run.sender.sent.lock().unwrap();
    let (_, to_chat) = sent.iter().rev().find(|(d, _)| d == "chat").unwrap();
    assert_eq!(
        to_chat.sections[0].heading,
        gdalert_pipeline::alert::ALERTED_BEFORE
    );
}

#[test]
fn a_finding_that_arrives_after_its_sequence_joins_the_sequences_incident() {
    let run = Run::new(SEQUENCE_ROUTES);
    let sequence = fixture("attack-sequence-ecs-compromised-cluster.json");
    let (first, _) = run.event(&sequence, t0());
    let mut late = fixture("runtime-fargate-c2-high.json");
    late["detail"]["associatedAttackSequenceArn"] = sequence["detail"]["arn"].clone();
    let (report, _) = run.event(&late, t0() + Duration::minutes(5));
    assert_eq!(
        report.alert.part_of.as_deref(),
        Some(first.alert.dedupe_key.as_str())
    );
    let config = Config::load("routes.toml", SEQUENCE_ROUTES, &BTreeMap::new()).unwrap();
    let pager = &config.destinations["pager"];
    let dedup = |alert: &Alert| match gdalert_pipeline::render::render(alert, pager).unwrap() {
        Payload::Json { body } => body["dedup_key"].as_str().unwrap().to_string(),
        other => panic!("{other:?}"),
    };
    // One PagerDuty incident for the attack: the late finding is added to the
    // sequence's incident instead of paging again.
    assert_eq!(dedup(&report.alert), dedup(&first.alert));
    // Archiving that finding later resolves its own key, never the sequence's.
    let mut archived = late.clone();
    archived["id"] = json!("evt-archived");
    archived["detail"]["service"]["archived"] = json!(true);
    let (report, _) = run.event(&archived, t0() + Duration::minutes(50));
    assert_eq!(report.alert.verdict.lifecycle, Lifecycle::Archived);
    let resolve = match gdalert_pipeline::render::render(&report.alert, pager).unwrap() {
        Payload::Json { body } => body,
        other => panic!("{other:?}"),
    };
    assert_eq!(resolve["event_action"], "resolve");
    assert_ne!(resolve["dedup_key"].as_str().unwrap(), dedup(&first.alert));
}

fn add_silence(
    run: &Run,
    pattern: &str,
    route: Option<&str>,
    from: DateTime<Utc>,
    hours: i64,
) -> String {
    add_scoped_silence(run, pattern, route, None, from, hours)
}

fn add_scoped_silence(
    run: &Run,
    pattern: &str,
    route: Option<&str>,
    destination: Option<&str>,
    from: DateTime<Utc>,
    hours: i64,
) -> String {
    let silence = gdalert_pipeline::silence::NewSilence {
        pattern: pattern.into(),
        route: route.map(str::to_string),
        destination: destination.map(str::to_string),
        owner: "alice".into(),
        reason: "pentest".into(),
        ticket: Some("SEC-1".into()),
        expires_at: from + Duration::hours(hours),
    }
    .check(
        format!("sil-{}-{}", pattern.len(), destination.unwrap_or("all")),
        from,
    )
    .unwrap();
    let id = silence.id.clone();
    block_on(gdalert_pipeline::silence::update(
        &run.store,
        from,
        |list| {
            list.silences.push(silence.clone());
            Ok(())
        },
    ))
    .unwrap();
    id
}

#[test]
fn a_silence_mutes_what_it_matches_until_it_expires_and_never_a_critical_it_does_not_name() {
    let run = Run::new(ROUTES);
    let id = add_silence(
        &run,
        r#"{"detail": {"resource": {"ecsClusterDetails": {"name": ["payments-prod"]}}}}"#,
        None,
        t0(),
        4,
    );
    // Muted: counted as suppressed, with the silence named.
    let (report, statuses) = run.event(
        &fixture("runtime-fargate-c2-high.json"),
        t0() + Duration::minutes(5),
    );
    assert_eq!(statuses, [Status::Suppressed, Status::Suppressed]);
    assert!(report
        .deliveries
        .iter()
        .all(|d| d.reason.contains(&id) && d.reason.contains("alice")));
    assert_eq!(report.silence("runtime", "chat"), Some(id.as_str()));
    assert_eq!(report.silence("runtime", "pager"), Some(id.as_str()));
    assert_eq!(run.sent(), 0);
    // The same cluster at Critical passes: the silence does not name its type.
    let critical = republished(
        &fixture("runtime-fargate-docker-socket-medium.json"),
        "evt-crit",
        1,
        9.5,
    );
    let (report, statuses) = run.event(&critical, t0() + Duration::minutes(6));
    assert_eq!(
        statuses,
        [Status::Sent, Status::Sent],
        "{:?}",
        report.deliveries
    );
    assert!(report.silences.is_empty());
    // Another cluster is not muted.
    let (_, statuses) = run.event(
        &fixture("runtime-eks-reverse-shell-high.json"),
        t0() + Duration::minutes(7),
    );
    assert_eq!(statuses, [Status::Sent, Status::Sent]);
    // Past its expiry the silence mutes nothing: the finding's next
    // publication is alerted (the muted one left no state behind).
    let later = republished(
        &fixture("runtime-fargate-c2-high.json"),
        "evt-after",
        2,
        8.0,
    );
    let (report, statuses) = run.event(&later, t0() + Duration::hours(5));
    assert_eq!(statuses, [Status::Sent, Status::Sent]);
    assert_eq!(report.alert.verdict.lifecycle, Lifecycle::New);
}

#[test]
fn a_silence_that_names_a_critical_type_mutes_it_and_a_route_scope_is_kept() {
    let run = Run::new(SEQUENCE_ROUTES);
    add_silence(
        &run,
        r#"{"detail": {"type": ["AttackSequence:ECS/CompromisedCluster"]}}"#,
        None,
        t0(),
        4,
    );
    let (_, statuses) = run.event(
        &fixture("attack-sequence-ecs-compromised-cluster.json"),
        t0() + Duration::minutes(1),
    );
    assert_eq!(statuses, [Status::Suppressed, Status::Suppressed]);
    // Scoped to the sequences route: the runtime route still sends.
    add_silence(
        &run,
        r#"{"source": ["aws.guardduty"]}"#,
        Some("sequences"),
        t0(),
        4,
    );
    let (report, statuses) = run.event(
        &fixture("runtime-fargate-c2-high.json"),
        t0() + Duration::minutes(2),
    );
    assert_eq!(
        statuses,
        [Status::Sent, Status::Sent],
        "{:?}",
        report.deliveries
    );
}

#[test]
fn a_silence_scoped_to_one_destination_mutes_only_that_one_and_the_alert_is_still_remembered() {
    let run = Run::new(ROUTES);
    let id = add_scoped_silence(
        &run,
        r#"{"detail": {"type": ["Backdoor:Runtime/C&CActivity.B"]}}"#,
        None,
        Some("pager"),
        t0(),
        4,
    );
    let event = fixture("runtime-fargate-c2-high.json");
    let (report, statuses) = run.event(&event, t0() + Duration::minutes(1));
    assert_eq!(statuses, [Status::Sent, Status::Suppressed]);
    assert_eq!(report.silence("runtime", "pager"), Some(id.as_str()));
    assert_eq!(report.silence("runtime", "chat"), None);
    assert_eq!(run.sent(), 1);
    // The chat got the alert, so the same publication again is a duplicate
    // there, and still muted on the pager (not sent because of the retry).
    let (_, statuses) = run.event(&event, t0() + Duration::minutes(2));
    assert_eq!(statuses, [Status::AlreadyDelivered, Status::Suppressed]);
    assert_eq!(run.sent(), 1);
}

#[test]
fn the_digest_says_what_each_silence_muted_once_a_day_and_counts_a_retried_event_once() {
    let run = Run::new(ROUTES);
    let id = add_silence(
        &run,
        r#"{"detail": {"resource": {"ecsClusterDetails": {"name": ["payments-prod"]}}}}"#,
        None,
        t0(),
        72,
    );
    let first = fixture("runtime-fargate-c2-high.json");
    run.event(&first, t0() + Duration::minutes(1));
    // The same event again (a retry): not counted twice.
    run.event(&first, t0() + Duration::minutes(2));
    let second = republished(&first, "evt-second", 2, 8.0);
    run.event(&second, t0() + Duration::minutes(3));
    assert_eq!(run.sent(), 0);
    // Not reported at every digest run: the next report is a day later.
    let reports = run.digest(t0() + Duration::hours(1)).unwrap();
    assert!(reports.is_empty(), "{reports:?}");
    let reports = run
        .digest(t0() + Duration::minutes(1) + Duration::hours(24))
        .unwrap();
    assert_eq!(
        reports.len(),
        2,
        "one digest per destination muted: {reports:?}"
    );
    for report in &reports {
        let alert = &report.alert;
        assert_eq!(alert.title, format!("Muted by silence {id}: 2 alert(s)"));
        assert!(alert.meaning.contains("pentest"), "{}", alert.meaning);
        let muted = alert
            .sections
            .iter()
            .find(|s| s.heading == gdalert_pipeline::alert::MUTED)
            .expect("a list of the muted alerts");
        assert_eq!(muted.items.len(), 2);
        assert_eq!(report.deliveries[0].status, Status::Sent);
    }
    assert_eq!(run.sent(), 2);
    // Reported once: the next run has nothing to say.
    let reports = run.digest(t0() + Duration::hours(26)).unwrap();
    assert!(reports.is_empty(), "{reports:?}");
}

#[test]
fn a_silence_ending_within_a_day_is_announced_once_to_the_destinations_it_mutes() {
    let run = Run::new(ROUTES);
    let id = add_scoped_silence(
        &run,
        r#"{"detail": {"type": ["Backdoor:Runtime/C&CActivity.B"]}}"#,
        Some("runtime"),
        Some("pager"),
        t0(),
        48,
    );
    // More than a day left: nothing to announce.
    let reports = run.digest(t0() + Duration::hours(20)).unwrap();
    assert!(reports.is_empty(), "{reports:?}");
    let reports = run.digest(t0() + Duration::hours(30)).unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let report = &reports[0];
    assert_eq!(report.deliveries[0].destination, "pager");
    assert_eq!(report.deliveries[0].status, Status::Sent);
    assert!(
        report
            .alert
            .title
            .starts_with(&format!("Silence {id} ends ")),
        "{}",
        report.alert.title
    );
    assert!(report
        .alert
        .meaning
        .contains("route runtime → destination pager"));
    // Announced once.
    let reports = run.digest(t0() + Duration::hours(31)).unwrap();
    assert!(reports.is_empty(), "{reports:?}");
}

#[test]
fn an_unreadable_silences_record_mutes_nothing() {
    let run = Run::new(ROUTES);
    block_on(gdalert_pipeline::Store::put(
        &run.store,
        gdalert_pipeline::silence::SILENCES_KEY,
        None,
        gdalert_pipeline::store::Record {
            value: json!({"silences": "not a list"}),
            expires_at: t0() + Duration::days(1),
            due_at: None,
        },
        t0(),
    ))
    .unwrap();
    let (_, statuses) = run.event(&fixture("runtime-fargate-c2-high.json"), t0());
    assert_eq!(statuses, [Status::Sent, Status::Sent]);
}

/// The Fargate C&C finding, active `first`..`last`, on cluster `cluster`.
fn c2_finding_on(cluster: &str, id: &str, first: DateTime<Utc>, last: DateTime<Utc>) -> Value {
    let mut e = fixture("runtime-fargate-c2-high.json");
    e["id"] = json!(id);
    e["detail"]["id"] = json!(format!("finding-{id}"));
    e["detail"]["resource"]["ecsClusterDetails"]["name"] = json!(cluster);
    e["detail"]["service"]["eventFirstSeen"] = json!(first.to_rfc3339());
    e["detail"]["service"]["eventLastSeen"] = json!(last.to_rfc3339());
    e["detail"]["updatedAt"] = json!(last.to_rfc3339());
    e
}

#[test]
fn a_runtime_finding_says_when_guardduty_was_blind_where_it_happened() {
    let run = Run::new(ROUTES);
    let unhealthy = fixture("runtime-protection-unhealthy-ecs-fargate.real.json");
    let healthy = fixture("runtime-protection-healthy-ecs-fargate.real.json");
    let cluster = unhealthy["detail"]["resourceDetails"]["ecsClusterDetails"]["clusterName"]
        .as_str()
        .or_else(|| unhealthy["detail"]["ecsClusterDetails"]["clusterName"].as_str())
        .map(str::to_string);
    // The coverage fixture's cluster, as the pipeline keyed it.
    let (opened, _) = run.event(&stamped(&unhealthy, t0()), t0());
    let cluster = cluster.unwrap_or_else(|| opened.alert.resource.cluster.clone().unwrap());
    let account = opened.alert.account_id.clone();
    let region = opened.alert.region.clone();
    let on_cluster = |mut e: Value| {
        e["detail"]["accountId"] = json!(account);
        e["detail"]["region"] = json!(region);
        e["region"] = json!(region);
        e
    };

    // While coverage is lost: the alert says so.
    let now = t0() + Duration::minutes(30);
    let (report, _) = run.event(
        &on_cluster(c2_finding_on(&cluster, "during", now, now)),
        now,
    );
    let coverage: Vec<&(String, String)> = report
        .alert
        .resource
        .context
        .iter()
        .filter(|(l, _)| l == "Coverage")
        .collect();
    assert_eq!(coverage.len(), 1, "{:?}", report.alert.resource.context);
    assert!(
        coverage[0]
            .1
            .contains("is lost now (since 2026-11-20 10:10 UTC)"),
        "{coverage:?}"
    );

    // Coverage back at 11:40; a finding active 10:30–11:00 was in the gap.
    let back = t0() + Duration::minutes(90);
    run.event(&stamped(&healthy, back), back);
    let (report, _) = run.event(
        &on_cluster(c2_finding_on(
            &cluster,
            "in-gap",
            t0() + Duration::minutes(20),
            t0() + Duration::minutes(50),
        )),
        back + Duration::minutes(5),
    );
    let gap = report
        .alert
        .resource
        .context
        .iter()
        .find(|(l, _)| l == "Coverage");
    assert!(
        gap.is_some_and(
            |(_, v)| v.contains("was lost 2026-11-20 10:10 UTC to 2026-11-20 11:40 UTC")
        ),
        "{:?}",
        report.alert.resource.context
    );
    // A finding active only after coverage came back says nothing of it.
    let later = back + Duration::minutes(30);
    let (report, _) = run.event(
        &on_cluster(c2_finding_on(&cluster, "after", later, later)),
        later,
    );
    assert!(
        !report
            .alert
            .resource
            .context
            .iter()
            .any(|(l, _)| l == "Coverage"),
        "{:?}",
        report.alert.resource.context
    );
    // Another cluster: nothing.
    let (report, _) = run.event(
        &on_cluster(c2_finding_on("other-cluster", "other", now, now)),
        now,
    );
    assert!(!report
        .alert
        .resource
        .context
        .iter()
        .any(|(l, _)| l == "Coverage"));
}

fn unmonitored(account: &str, cluster: &str, id: &str, issue: &str) -> CoverageResource {
    CoverageResource {
        account_id: account.into(),
        resource_id: id.into(),
        kind: ResourceKind::Ecs,
        cluster: Some(cluster.into()),
        instance: None,
        healthy: false,
        issues: vec![issue.into()],
        updated_at: None,
    }
}

fn coverage_run(run: &Run, resources: &[CoverageResource], now: DateTime<Utc>) -> Option<Report> {
    block_on(run.pipeline.run_coverage_report(
        &run.store,
        &run.sender,
        resources,
        now,
        &RunOptions::deliver("test"),
    ))
    .unwrap()
}

#[test]
fn the_coverage_report_lists_unmonitored_resources_by_account_and_cluster_once_per_period() {
    let routes = ROUTES.replace(
        "storm_threshold = 100",
        "storm_threshold = 100\ncoverage_report_route = \"coverage\"",
    );
    let run = Run::new(&routes);
    let mut healthy = unmonitored("111122223333", "batch", "i-0ok", "");
    healthy.healthy = true;
    let mut resources = vec![
        unmonitored(
            "111122223333",
            "payments-prod",
            "payments-prod",
            "Sidecar container image could not be pulled",
        ),
        unmonitored(
            "444455556666",
            "web",
            "web",
            "Tasks started before Runtime Monitoring",
        ),
        healthy,
    ];
    let report = coverage_run(&run, &resources, t0()).expect("a report");
    assert_eq!(
        report.alert.title,
        "Runtime coverage: 2 resource(s) not monitored"
    );
    let headings: Vec<&str> = report
        .alert
        .sections
        .iter()
        .map(|s| s.heading.as_str())
        .collect();
    assert_eq!(
        headings,
        [
            "Account 111122223333 · ECS cluster payments-prod",
            "Account 444455556666 · ECS cluster web"
        ]
    );
    assert_eq!(
        report.alert.sections[0].items[0].text,
        "Sidecar container image could not be pulled"
    );
    assert_eq!(run.sent(), 1, "the coverage route's one destination");

    // Still unhealthy an hour later: not reported again.
    assert!(coverage_run(&run, &resources, t0() + Duration::hours(1)).is_none());
    // A new one is reported at once, alone.
    resources.push(unmonitored(
        "111122223333",
        "payments-prod",
        "payments-prod-2",
        "no agent",
    ));
    let report = coverage_run(&run, &resources, t0() + Duration::hours(2)).expect("the new one");
    assert_eq!(
        report.alert.title,
        "Runtime coverage: 1 resource(s) not monitored (2 reported before)"
    );
    // A day after the first report, the first two are due again.
    let report = coverage_run(&run, &resources, t0() + Duration::hours(24)).expect("again");
    assert_eq!(report.alert.count, Some(2));
    // Healthy again, then lost again: new again.
    let web = resources.remove(1);
    assert!(coverage_run(&run, &resources, t0() + Duration::hours(25)).is_none());
    resources.push(web);
    let report =
        coverage_run(&run, &resources, t0() + Duration::minutes(25 * 60 + 30)).expect("lost again");
    assert_eq!(report.alert.count, Some(1));
    assert_eq!(run.sent(), 4);
}

#[test]
fn a_coverage_report_a_destination_missed_is_sent_again_there_only() {
    let routes = ROUTES.replace(
        "storm_threshold = 100",
        "storm_threshold = 100\ncoverage_report_route = \"runtime\"",
    );
    let run = Run::new(&routes);
    let resources = [unmonitored(
        "111122223333",
        "payments-prod",
        "payments-prod",
        "x",
    )];
    run.sender.failing.lock().unwrap().push("pager".into());
    let report = coverage_run(&run, &resources, t0()).unwrap();
    let statuses: Vec<Status> = report.deliveries.iter().map(|d| d.status).collect();
    assert_eq!(statuses, [Status::Sent, Status::Failed]);
    run.sender.failing.lock().unwrap().clear();
    let report = coverage_run(&run, &resources, t0() + Duration::minutes(5)).unwrap();
    let statuses: Vec<Status> = report.deliveries.iter().map(|d| d.status).collect();
    assert_eq!(statuses, [Status::AlreadyDelivered, Status::Sent]);
    assert!(coverage_run(&run, &resources, t0() + Duration::minutes(10)).is_none());
    assert_eq!(run.sent(), 2);
}

#[test]
fn a_coverage_report_route_that_does_not_exist_is_a_config_error() {
    let routes = ROUTES.replace(
        "storm_threshold = 100",
        "storm_threshold = 100\ncoverage_report_route = \"nope\"",
    );
    let e = Config::load("routes.toml", &routes, &BTreeMap::new()).unwrap_err();
    assert!(
        e.to_string()
            .contains("coverage_report_route: unknown route \"nope\""),
        "{e}"
    );
}
