//! The function's handler against DynamoDB on the local AWS API server,
//! through a proxy that counts every call: the state budget per event
//! (issue 11) holds, and the state model holds under real concurrency
//! (concurrent HTTP calls, DynamoDB's own conditional writes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use gdalert_aws::{AwsClients, DynamoStore};
use gdalert_event::GuardDutyEvent;
use gdalert_lambda::{App, FunctionEnv, Role};
use gdalert_pipeline::{
    Alert, Config, Destination, Failure, Payload, Pipeline, RunOptions, Sender, Status,
};
use gdalert_testkit::{fixture, moto_url, sdk_config, unique, CountingProxy};
use serde_json::{json, Value};

/// Accepts everything, records who got what.
#[derive(Default)]
struct Recording {
    sent: Mutex<Vec<(String, String)>>,
}

#[async_trait::async_trait]
impl Sender for Recording {
    async fn send(&self, d: &Destination, alert: &Alert, _: &Payload) -> Result<String, Failure> {
        // A receiver takes a moment: concurrent runs really overlap.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut sent = self.sent.lock().unwrap();
        sent.push((d.name.clone(), alert.event_id.clone()));
        Ok(format!("r{}", sent.len()))
    }
}

fn routes(destinations: usize, settings: &str) -> String {
    let names: Vec<String> = (0..destinations).map(|i| format!("d{i}")).collect();
    let mut text = format!("[settings]\n{settings}\n\n");
    for name in &names {
        text.push_str(&format!("[destinations.{name}]\nkind = \"stdout\"\n\n"));
    }
    text.push_str(&format!(
        "[[routes]]\nname = \"runtime\"\ndestinations = {names:?}\n"
    ));
    text
}

/// A function's settings with a DynamoDB table and no metrics.
fn function_env() -> FunctionEnv {
    FunctionEnv::read(|n| match n {
        "GDALERT_STATE_TABLE" => Some("t".into()),
        "GDALERT_METRICS" => Some("off".into()),
        _ => None,
    })
    .unwrap()
}

struct Setup {
    proxy: CountingProxy,
    store: Arc<DynamoStore>,
    sender: Arc<Recording>,
    pipeline_text: String,
}

async fn setup(destinations: usize, settings: &str) -> Setup {
    let proxy = CountingProxy::start(&moto_url(), Duration::from_millis(5)).await;
    let aws = AwsClients::from_config(&sdk_config(&proxy.base).await);
    let store = DynamoStore::new(aws.dynamodb.clone(), unique("gdalert-calls"));
    store.create_table().await.unwrap();
    proxy.reset();
    Setup {
        proxy,
        store: Arc::new(store),
        sender: Arc::new(Recording::default()),
        pipeline_text: routes(destinations, settings),
    }
}

impl Setup {
    fn pipeline(&self) -> Pipeline {
        Pipeline::new(Config::load("routes.toml", &self.pipeline_text, &BTreeMap::new()).unwrap())
    }

    fn app(&self) -> App {
        let env = function_env();
        App::new(
            Role::Findings,
            self.pipeline(),
            self.store.clone(),
            self.sender.clone(),
            env,
        )
    }

    /// Runs the handler on `event`; returns its answer, the DynamoDB calls
    /// and the sequential round trips it made.
    async fn handle(&self, app: &App, event: &Value) -> (Value, Vec<String>, usize) {
        self.proxy.reset();
        let answer = app.handle_text(&event.to_string()).await.unwrap();
        (answer, self.proxy.operations(), self.proxy.round_trips())
    }
}

fn decisions(answer: &Value) -> Vec<String> {
    answer["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["decision"].as_str().unwrap().to_string())
        .collect()
}

fn event(id: &str, finding: &str, count: u64) -> Value {
    let mut e: Value = serde_json::from_str(&fixture("runtime-fargate-c2-high.json")).unwrap();
    e["id"] = json!(id);
    e["detail"]["id"] = json!(finding);
    e["detail"]["service"]["count"] = json!(count);
    e
}

#[tokio::test]
async fn dynamodb_calls_per_event_meet_the_budget() {
    for destinations in [1usize, 5] {
        let s = setup(destinations, "").await;
        let app = s.app();
        let d = destinations;

        let first = event(&unique("e"), "finding-1", 1);
        let (answer, calls, trips) = s.handle(&app, &first).await;
        assert_eq!(decisions(&answer), vec!["sent"; d], "{answer}");
        // Each budget counts one GetItem of the silences record first.
        assert!(calls.len() <= 4 + 2 * d, "new finding, D={d}: {calls:?}");
        assert!(
            trips <= 5,
            "new finding, D={d}: {trips} round trips ({calls:?})"
        );
        println!(
            "D={d} new finding sent: {} calls, {trips} round trips: {calls:?}",
            calls.len()
        );

        let (answer, calls, trips) = s.handle(&app, &first).await;
        assert_eq!(decisions(&answer), vec!["already_delivered"; d], "{answer}");
        assert!(
            calls.len() <= 2 && trips <= 2,
            "same event again: {calls:?}"
        );
        println!("D={d} same event again: {} calls: {calls:?}", calls.len());

        let bump = event(&unique("e"), "finding-1", 2);
        let (answer, calls, trips) = s.handle(&app, &bump).await;
        assert_eq!(decisions(&answer), vec!["suppressed"; d], "{answer}");
        assert!(calls.len() <= 3 && trips <= 3, "count bump: {calls:?}");
        println!(
            "D={d} count bump suppressed: {} calls: {calls:?}",
            calls.len()
        );

        let grouped = event(&unique("e"), "finding-2", 1);
        let (answer, calls, trips) = s.handle(&app, &grouped).await;
        assert_eq!(decisions(&answer), vec!["grouped"; d], "{answer}");
        assert!(
            calls.len() <= 4 && trips <= 3,
            "new finding of an open group: {calls:?}"
        );
        println!(
            "D={d} new finding of an open group: {} calls: {calls:?}",
            calls.len()
        );
        assert_eq!(
            s.sender.sent.lock().unwrap().len(),
            d,
            "one alert per destination"
        );
    }
}

fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-20T10:10:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + chrono::Duration::minutes(minutes)
}

async fn run(
    s: &Setup,
    pipeline: &Pipeline,
    e: &Value,
    now: DateTime<Utc>,
    owner: &str,
) -> Vec<Status> {
    let text = e.to_string();
    let event = GuardDutyEvent::from_json(&text).unwrap();
    let node = gdalert_pattern::parse_event(&text).unwrap();
    let report = pipeline
        .run_event(
            s.store.as_ref(),
            s.sender.as_ref(),
            &event,
            &node,
            now,
            &RunOptions::deliver(owner),
        )
        .await;
    assert!(report.store_error.is_none(), "{:?}", report.store_error);
    report.deliveries.iter().map(|d| d.status).collect()
}

#[tokio::test]
async fn twenty_copies_of_one_event_post_once_and_use_one_unit_of_the_storm_budget() {
    let s = setup(1, "storm_threshold = 2\ngroup_window = \"0s\"").await;
    let pipeline = s.pipeline();
    let copy = event("copied", "finding-copied", 1);
    // EventBridge delivers at least once: 20 invocations of one event at once.
    let owners: Vec<String> = (0..20).map(|i| format!("copy-{i}")).collect();
    let runs = owners.iter().map(|o| run(&s, &pipeline, &copy, at(0), o));
    let statuses: Vec<Vec<Status>> = futures_util::future::join_all(runs).await;
    assert_eq!(
        s.sender.sent.lock().unwrap().len(),
        1,
        "posted once: {statuses:?}"
    );
    // The copies left one unit of the budget of 2: the next, different
    // finding is sent, not held as a storm.
    let mut other = event("reverse-shell", "finding-other", 1);
    other["detail"]["type"] = json!("Execution:Runtime/ReverseShell");
    assert_eq!(
        run(&s, &pipeline, &other, at(1), "next").await,
        vec![Status::Sent]
    );
    assert_eq!(s.sender.sent.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn concurrent_count_bumps_after_the_repeat_interval_post_once() {
    let s = setup(1, "group_window = \"0s\"").await;
    let pipeline = s.pipeline();
    assert_eq!(
        run(
            &s,
            &pipeline,
            &event("first", "finding-bumped", 1),
            at(0),
            "a"
        )
        .await,
        vec![Status::Sent]
    );
    // A day later two republications arrive at once: one message, not two.
    let later = at(25 * 60);
    let bumps = [
        event("bump-1", "finding-bumped", 5),
        event("bump-2", "finding-bumped", 6),
    ];
    let (x, y) = tokio::join!(
        run(&s, &pipeline, &bumps[0], later, "b"),
        run(&s, &pipeline, &bumps[1], later, "c")
    );
    let sent = x.iter().chain(&y).filter(|st| **st == Status::Sent).count();
    assert_eq!(sent, 1, "{x:?} {y:?}");
    assert_eq!(s.sender.sent.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_group_key_from_a_huge_attacker_field_still_groups_in_dynamodb() {
    let s = setup(1, "").await;
    let text = s.pipeline_text.replace(
        "name = \"runtime\"\n",
        "name = \"runtime\"\ngroup_by = [\"$.detail.description\"]\n",
    );
    let pipeline = Pipeline::new(Config::load("routes.toml", &text, &BTreeMap::new()).unwrap());
    let huge = "x&<".repeat(3000);
    let mut first = event("huge-1", "finding-huge-1", 1);
    first["detail"]["description"] = json!(huge);
    let mut second = event("huge-2", "finding-huge-2", 1);
    second["detail"]["description"] = json!(huge);
    // `run` asserts the store answered (no fail-open).
    assert_eq!(
        run(&s, &pipeline, &first, at(0), "a").await,
        vec![Status::Sent]
    );
    assert_eq!(
        run(&s, &pipeline, &second, at(1), "a").await,
        vec![Status::Grouped]
    );
}

#[tokio::test]
async fn the_digest_against_a_missing_table_is_a_one_line_configuration_error() {
    // It answered gdalert.Retryable with a 40-line SDK debug dump: retries
    // cannot create a table.
    let aws = AwsClients::from_config(&sdk_config(&moto_url()).await);
    let env = function_env();
    let app = App::new(
        Role::Digest,
        Pipeline::new(Config::load("routes.toml", &routes(1, ""), &BTreeMap::new()).unwrap()),
        Arc::new(DynamoStore::new(aws.dynamodb, unique("no-such-table"))),
        Arc::new(Recording::default()),
        env,
    );
    let err = app.handle_text("{}").await.unwrap_err();
    assert!(!err.retryable, "{}", err.message);
    assert!(err.message.contains("ResourceNotFound"), "{}", err.message);
    assert_eq!(err.message.lines().count(), 1, "{}", err.message);
    assert!(!err.message.contains("Error {"), "{}", err.message);
}

#[tokio::test]
async fn concurrent_muted_events_are_each_counted_once_in_dynamodb_and_the_digest_says_how_many() {
    let s = setup(2, "group_window = \"0s\"").await;
    let pipeline = s.pipeline();
    let silence = gdalert_pipeline::silence::NewSilence {
        pattern: r#"{"detail": {"type": ["Backdoor:Runtime/C&CActivity.B"]}}"#.into(),
        route: None,
        destination: Some("d1".into()),
        owner: "alice".into(),
        reason: "red team exercise".into(),
        ticket: Some("SEC-7".into()),
        expires_at: at(0) + chrono::Duration::days(3),
    }
    .check("sil-ddb".into(), at(0))
    .unwrap();
    gdalert_pipeline::silence::update(s.store.as_ref(), at(0), |list| {
        list.silences.push(silence.clone());
        Ok(())
    })
    .await
    .unwrap();
    // Five findings at once, each delivered twice (EventBridge's at least
    // once): d0 gets each once, d1 none, and the count is five.
    let events: Vec<Value> = (0..5)
        .map(|i| event(&format!("muted-{i}"), &format!("finding-muted-{i}"), 1))
        .collect();
    let runs = events
        .iter()
        .chain(&events)
        .enumerate()
        .map(|(i, e)| run(&s, &pipeline, e, at(1), ["a", "b"][i % 2]));
    let statuses = futures_util::future::join_all(runs).await;
    for st in &statuses {
        assert_eq!(st[1], Status::Suppressed, "{statuses:?}");
    }
    let sent = s.sender.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 5, "{sent:?}");
    assert!(sent.iter().all(|(d, _)| d == "d0"), "{sent:?}");

    // A day later the digest tells d1 (the destination muted) how many.
    let reports = pipeline
        .run_digest(
            s.store.as_ref(),
            s.sender.as_ref(),
            at(1) + chrono::Duration::days(1),
            &RunOptions::deliver("digest"),
        )
        .await
        .unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(
        reports[0].alert.title,
        "Muted by silence sil-ddb: 5 alert(s)"
    );
    assert_eq!(reports[0].deliveries[0].destination, "d1");
    assert_eq!(reports[0].deliveries[0].status, Status::Sent);
}

#[tokio::test]
async fn the_digest_function_reports_unmonitored_resources_once_from_guardduty_coverage() {
    let s = setup(1, "coverage_report_route = \"runtime\"").await;
    let coverage = r#"{"resources": [
        {"accountId": "111122223333", "resourceId": "payments-prod", "coverageStatus": "UNHEALTHY",
         "issue": "Sidecar container image could not be pulled",
         "resourceDetails": {"resourceType": "ECS", "ecsClusterDetails": {"clusterName": "payments-prod"}}}
    ]}"#;
    let api =
        gdalert_testkit::Receiver::start(vec![gdalert_testkit::Reply::Json(200, coverage.into())])
            .await;
    let guardduty = AwsClients::from_config(&sdk_config(&api.base).await).guardduty;
    let env = function_env();
    let app = App::new(
        Role::Digest,
        s.pipeline(),
        s.store.clone(),
        s.sender.clone(),
        env,
    )
    .with_coverage(Arc::new(gdalert_aws::GuardDutyCoverage::new(
        guardduty,
        Some("det-1".into()),
    )));
    let answer = app.handle_text("{}").await.unwrap();
    let report = &answer["coverage_report"];
    assert!(
        report["event_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("coverage-report/")),
        "{answer}"
    );
    assert_eq!(report["deliveries"][0]["decision"], "sent", "{answer}");
    assert_eq!(s.sender.sent.lock().unwrap().len(), 1);
    // The next run (minutes later): still unhealthy, not reported again.
    let answer = app.handle_text("{}").await.unwrap();
    assert!(answer["coverage_report"].is_null(), "{answer}");
    assert_eq!(s.sender.sent.lock().unwrap().len(), 1);
    assert_eq!(api.seen().len(), 2, "GuardDuty asked at each run");

    // GuardDuty refusing does not fail the digest.
    api.rescript(vec![gdalert_testkit::Reply::Json(
        403,
        r#"{"__type": "AccessDeniedException", "message": "not authorized"}"#.into(),
    )]);
    let answer = app.handle_text("{}").await.unwrap();
    assert!(answer["coverage_report"].is_null(), "{answer}");
}
