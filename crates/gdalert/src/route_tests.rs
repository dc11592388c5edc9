//! `gdalert test`: route fixtures. Each file under `tests/routes/` holds
//! cases; a case is a sequence of events (each optionally edited and moved in
//! time) with the deliveries expected for each, as `route/destination:
//! decision`. Every case starts from empty state.
//!
//! ```toml
//! [[case]]
//! name = "a count bump is suppressed"
//! [[case.step]]
//! event = "../fixtures/events/runtime-fargate-c2-high.json"
//! expect = ["runtime-high-critical/console: sent"]
//! [[case.step]]
//! event = "../fixtures/events/runtime-fargate-c2-high.json"
//! set = { "id" = "republished", "detail.service.count" = 4 }
//! after = "15m"
//! expect = ["runtime-high-critical/console: suppressed"]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, Utc};
use clap::Args;
use gdalert_pipeline::{
    Alert, Destination, Failure, MemoryStore, Payload, Pipeline, RunOptions, Sender,
};
use serde::Deserialize;
use serde_json::Value;

use crate::local;

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Fixture files or directories (default: `tests/routes/`).
    paths: Vec<PathBuf>,
    /// Directory with routes.toml and pattern files (default: `patterns/`).
    #[arg(long)]
    patterns: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    #[serde(rename = "case")]
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(rename = "step")]
    steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    /// Event file, relative to the fixture file.
    event: String,
    /// Edits: dotted JSON path → new value.
    #[serde(default)]
    set: BTreeMap<String, toml::Value>,
    /// Clock advance since the previous step.
    after: Option<String>,
    /// `route/destination: decision`, in order.
    expect: Vec<String>,
}

/// Every delivery succeeds, nothing leaves the process.
struct Accepting;

#[async_trait::async_trait]
impl Sender for Accepting {
    async fn send(
        &self,
        destination: &Destination,
        _: &Alert,
        _: &Payload,
    ) -> Result<String, Failure> {
        Ok(format!("test:{}", destination.name))
    }
}

fn set_path(value: &mut Value, path: &str, new: Value) -> Result<()> {
    let mut cur = value;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        // A number steps into an array's element (`threatNames.0.name`).
        let index = part.parse::<usize>().ok().filter(|_| cur.is_array());
        if let Some(index) = index {
            let item = match cur {
                Value::Array(items) => items.get_mut(index),
                _ => None,
            }
            .ok_or_else(|| anyhow!("`{path}`: no element {index} in the array"))?;
            if last {
                *item = new;
                return Ok(());
            }
            cur = item;
            continue;
        }
        let object = cur
            .as_object_mut()
            .ok_or_else(|| anyhow!("`{path}`: {part:?} is not inside an object"))?;
        if last {
            object.insert(part.to_string(), new);
            return Ok(());
        }
        cur = object
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Default::default()));
    }
    Ok(())
}

fn fixture_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let paths = if paths.is_empty() {
        vec![PathBuf::from("tests/routes")]
    } else {
        paths.to_vec()
    };
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(&path)
                .with_context(|| format!("cannot list {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            local::must_exist(&path)?;
            files.push(path);
        }
    }
    Ok(files)
}

pub async fn run(args: TestArgs) -> Result<ExitCode> {
    let files = fixture_files(&args.paths)?;
    if files.is_empty() {
        bail!(
            "no route fixtures found (looked for *.toml in {:?})",
            args.paths
        );
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let fixture: Fixture =
            toml::from_str(&text).map_err(|e| anyhow!("{}: {e}", file.display()))?;
        let base = file.parent().unwrap_or(Path::new("."));
        for case in &fixture.cases {
            let pipeline = Pipeline::new(local::load_config_dry(args.patterns.as_deref())?.config);
            match run_case(&pipeline, base, case).await {
                Ok(()) => {
                    passed += 1;
                    crate::out!("ok   {}: {}", file.display(), case.name)?;
                }
                Err(e) => {
                    failed += 1;
                    crate::out!("FAIL {}: {}\n     {e:#}", file.display(), case.name)?;
                }
            }
        }
    }
    crate::out!("{passed} passed, {failed} failed")?;
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn run_case(pipeline: &Pipeline, base: &Path, case: &Case) -> Result<()> {
    let store = MemoryStore::new();
    let mut clock: Option<DateTime<Utc>> = None;
    for (n, step) in case.steps.iter().enumerate() {
        let path = base.join(&step.event);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("step {}: cannot read {}", n + 1, path.display()))?;
        let mut value: Value = serde_json::from_str(&text)
            .with_context(|| format!("step {}: {}", n + 1, path.display()))?;
        for (key, new) in &step.set {
            set_path(&mut value, key, serde_json::to_value(new)?)?;
        }
        let text = value.to_string();
        let gdalert_pipeline::Input { event, node } =
            gdalert_pipeline::read(&text).with_context(|| format!("step {}", n + 1))?;
        let after = match &step.after {
            Some(after) => humantime::parse_duration(after)
                .with_context(|| format!("step {}: bad `after`", n + 1))?,
            None => std::time::Duration::ZERO,
        };
        let now = match clock {
            Some(c) => c + chrono::Duration::from_std(after)?,
            None => event.time.map(|t| t.0).unwrap_or_else(Utc::now),
        };
        clock = Some(now);
        let outcome = pipeline
            .run_event(
                &store,
                &Accepting,
                &event,
                &node,
                now,
                &RunOptions::deliver("gdalert-test"),
            )
            .await;
        let got: Vec<String> = outcome
            .deliveries
            .iter()
            .map(|d| format!("{}/{}: {}", d.route, d.destination, d.status.as_str()))
            .collect();
        if got != step.expect {
            let reasons: Vec<String> = outcome
                .deliveries
                .iter()
                .map(|d| format!("{}/{}: {}", d.route, d.destination, d.reason))
                .collect();
            bail!(
                "step {} ({}): expected {:?}, got {:?} (lifecycle {}; reasons: {:?})",
                n + 1,
                step.event,
                step.expect,
                got,
                outcome.alert.verdict.lifecycle.as_str(),
                reasons
            );
        }
    }
    Ok(())
}
