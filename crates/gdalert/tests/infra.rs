//! The deployed rules are the pattern files, and the template grants no
//! wildcard access beyond its documented exceptions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value as Json;
use serde_norway::Value as Yaml;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn gdalert(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gdalert"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn template(name: &str) -> Yaml {
    serde_norway::from_str(&std::fs::read_to_string(root().join("infra").join(name)).unwrap())
        .unwrap()
}

fn resources(t: &Yaml) -> Vec<(String, &Yaml)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_string(), v))
        .collect()
}

fn to_json(y: &Yaml) -> Json {
    serde_json::to_value(y).unwrap()
}

/// (rule name, pattern file) from patterns/rules.toml.
fn rules() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("patterns/rules.toml")).unwrap();
    let v: toml::Value = toml::from_str(&text).unwrap();
    v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["pattern"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_templates_are_in_sync_with_the_pattern_files() {
    let o = gdalert(&["infra", "sync", "--check"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn every_deployed_rule_pattern_equals_its_pattern_file_and_is_valid() {
    let rules = rules();
    assert!(!rules.is_empty());
    for (file, prefix) in [("template.yaml", "Rule"), ("forwarder.yaml", "Forward")] {
        let t = template(file);
        let deployed: Vec<(String, &Yaml)> = resources(&t)
            .into_iter()
            .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Events::Rule"))
            .collect();
        assert_eq!(
            deployed.len(),
            rules.len(),
            "{file}: one rule per rules.toml entry"
        );
        for (name, pattern) in &rules {
            let resource = deployed
                .iter()
                .find(|(id, _)| *id == format!("{prefix}{name}"))
                .unwrap_or_else(|| panic!("{file}: no rule {prefix}{name}"))
                .1;
            let text = std::fs::read_to_string(root().join("patterns").join(pattern)).unwrap();
            let expected: Json = serde_json::from_str(&text).unwrap();
            let got = to_json(&resource["Properties"]["EventPattern"]);
            assert_eq!(
                got, expected,
                "{file}: {prefix}{name} differs from patterns/{pattern}"
            );
            gdalert_pattern::compile(&got.to_string())
                .unwrap_or_else(|e| panic!("{file}: {prefix}{name}: {e}"));
        }
    }
}

#[test]
fn a_stale_template_fails_the_check() {
    // The check can fail: edit a pattern in a copy and it must notice.
    let dir = tempfile::tempdir().unwrap();
    let patterns = dir.path().join("patterns");
    let infra = dir.path().join("infra");
    std::fs::create_dir_all(&patterns).unwrap();
    std::fs::create_dir_all(&infra).unwrap();
    for entry in std::fs::read_dir(root().join("patterns")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, patterns.join(p.file_name().unwrap())).unwrap();
    }
    for f in ["template.yaml", "forwarder.yaml"] {
        std::fs::copy(root().join("infra").join(f), infra.join(f)).unwrap();
    }
    std::fs::write(
        patterns.join("runtime-protection-healthy.json"),
        r#"{"source": ["aws.guardduty"], "detail-type": ["GuardDuty Runtime Protection Healthy"], "region": ["eu-west-1"]}"#,
    )
    .unwrap();
    let args = |check: bool| {
        let mut a = vec![
            "infra".to_string(),
            "sync".into(),
            "--patterns".into(),
            patterns.display().to_string(),
            "--infra".into(),
            infra.display().to_string(),
        ];
        if check {
            a.push("--check".into());
        }
        a
    };
    let run = |a: Vec<String>| {
        Command::new(env!("CARGO_BIN_EXE_gdalert"))
            .args(a)
            .output()
            .unwrap()
    };
    let stale = run(args(true));
    assert_eq!(stale.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&stale.stderr).contains("gdalert infra sync"));
    assert!(run(args(false)).status.success());
    assert!(run(args(true)).status.success(), "sync fixes it");
}

/// Every IAM statement in a template: (resource id, where, statement).
fn statements(t: &Yaml) -> Vec<(String, String, Json)> {
    let mut out = Vec::new();
    for (id, r) in resources(t) {
        let props = to_json(&r["Properties"]);
        let mut docs: Vec<(String, Json)> = Vec::new();
        match r["Type"].as_str().unwrap_or_default() {
            "AWS::IAM::Role" => {
                for p in props["Policies"].as_array().into_iter().flatten() {
                    docs.push((
                        format!("policy {}", p["PolicyName"]),
                        p["PolicyDocument"].clone(),
                    ));
                }
            }
            "AWS::KMS::Key" => docs.push(("key policy".into(), props["KeyPolicy"].clone())),
            "AWS::SQS::QueuePolicy" | "AWS::SNS::TopicPolicy" | "AWS::IAM::Policy" => {
                docs.push(("policy".into(), props["PolicyDocument"].clone()))
            }
            _ => {}
        }
        for (place, doc) in docs {
            for s in doc["Statement"].as_array().into_iter().flatten() {
                // `!If [cond, statement, AWS::NoValue]` arrives tagged; look inside.
                let s = match ["!If", "If", "Fn::If"].iter().find_map(|k| s.get(*k)) {
                    Some(branches) => branches[1].clone(),
                    None => s.clone(),
                };
                out.push((id.clone(), place.clone(), s));
            }
        }
    }
    out
}

fn as_list(v: &Json) -> Vec<Json> {
    match v {
        Json::Array(a) => a.clone(),
        Json::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// Documented exceptions: in a KMS key policy, `Resource: "*"` means "this key".
fn wildcard_allowed(resource_type: &str) -> bool {
    resource_type == "key policy"
}

/// Actions AWS authorises only on `Resource: "*"` (no resource-level
/// permissions); a statement of these alone may use it.
const ACTIONS_WITHOUT_RESOURCES: &[&str] = &["guardduty:ListDetectors"];

fn only_unscoped_actions(statement: &Json) -> bool {
    let actions = as_list(&statement["Action"]);
    !actions.is_empty()
        && actions
            .iter()
            .all(|a| ACTIONS_WITHOUT_RESOURCES.contains(&a.as_str().unwrap_or_default()))
}

#[test]
fn no_wildcard_iam_resources_beyond_the_documented_exceptions() {
    let mut seen = 0;
    for file in ["template.yaml", "forwarder.yaml"] {
        let t = template(file);
        for (id, place, s) in statements(&t) {
            seen += 1;
            for r in as_list(&s["Resource"]) {
                if r == Json::String("*".into()) {
                    assert!(
                        wildcard_allowed(&place) || only_unscoped_actions(&s),
                        "{file}: {id} ({place}) grants Resource \"*\": {s}"
                    );
                }
            }
            for a in as_list(&s["Action"]) {
                let a = a.as_str().unwrap_or_default().to_string();
                if a == "*" || a.ends_with(":*") {
                    assert!(
                        wildcard_allowed(&place),
                        "{file}: {id} ({place}) grants Action {a}: {s}"
                    );
                }
            }
        }
    }
    assert!(seen > 10, "the walk found the policies ({seen} statements)");
    // Conditional statements (`!If`) are checked too, not skipped.
    let t = template("template.yaml");
    assert!(
        statements(&t)
            .iter()
            .any(|(_, _, s)| s["Action"] == "ses:SendEmail"),
        "the conditional SES statement was not seen"
    );
}

#[test]
fn the_wildcard_check_catches_a_wildcard() {
    let t: Yaml = serde_norway::from_str(
        r#"
Resources:
  Bad:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: sns:Publish
                Resource: "*"
"#,
    )
    .unwrap();
    let found = statements(&t)
        .into_iter()
        .any(|(_, place, s)| !wildcard_allowed(&place) && s["Resource"] == "*");
    assert!(found);
}

#[test]
fn every_function_may_make_the_state_calls_the_store_makes() {
    let t = template("template.yaml");
    let roles = ["FindingAlertsRole", "CoverageAlertsRole", "DigestRole"];
    for role in roles {
        let granted: Vec<String> = statements(&t)
            .into_iter()
            .filter(|(id, _, s)| id == role && s["Resource"].to_string().contains("StateTable"))
            .flat_map(|(_, _, s)| as_list(&s["Action"]))
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect();
        for action in gdalert_aws::dynamodb::STATE_ACTIONS {
            assert!(
                granted.iter().any(|g| g == action),
                "{role} lacks {action} on the state table (granted: {granted:?})"
            );
        }
    }
}
