//! `gdalert patterns ...`: the interface other tools call, so its output and
//! exit codes are part of the contract:
//! - 0: success (`test` printed `true` or `false`; nothing invalid found);
//! - 1: an invalid pattern or event, a failing conformance case, or a file
//!   that failed validation;
//! - 2: could not run at all (unreadable file, bad arguments).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use gdalert_pattern::conformance::{self, Report};
use gdalert_pattern::{check_envelope, compile, parse_event, PatternSet, PatternSetBuilder};

use crate::embedded;

#[derive(Debug, Subcommand)]
pub enum PatternsCommand {
    /// Check pattern files (default: `patterns/`); errors name file, line,
    /// column, JSON pointer and EventBridge's reason.
    Validate {
        /// Pattern files or directories of `*.json` files.
        paths: Vec<PathBuf>,
        /// Also ask EventBridge (`TestEventPattern`) whether it accepts each
        /// pattern, and report any disagreement (needs AWS credentials).
        #[arg(long)]
        aws: bool,
    },
    /// Like `aws events test-event-pattern`: prints `true` or `false`.
    Test {
        /// A pattern file, or the pattern's JSON text.
        #[arg(long)]
        pattern: String,
        /// An event file, or the event's JSON text.
        #[arg(long)]
        event: String,
        /// Also ask EventBridge (`TestEventPattern`) and report any
        /// disagreement, exit 1 (needs AWS credentials; skipped with a note
        /// when there are none).
        #[arg(long)]
        aws: bool,
    },
    /// For each event, the pattern files that match it. With no events, runs
    /// the shipped patterns over the shipped sample events.
    Match {
        /// Event files (JSON).
        events: Vec<PathBuf>,
        /// Pattern files or directories (default: `patterns/` if present,
        /// else the patterns built into this binary).
        #[arg(long = "patterns", short = 'p')]
        patterns: Vec<PathBuf>,
    },
    /// Runs conformance cases (JSON Lines); the last line is `N passed, M failed`.
    Conformance {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub async fn run(cmd: PatternsCommand) -> Result<ExitCode> {
    match cmd {
        PatternsCommand::Validate { paths, aws } => {
            let code = validate(paths.clone())?;
            if aws && code == ExitCode::SUCCESS {
                return validate_with_aws(paths).await;
            }
            Ok(code)
        }
        PatternsCommand::Test {
            pattern,
            event,
            aws,
        } => {
            let ours = test(&pattern, &event)?;
            if aws {
                return test_with_aws(&pattern, &event, ours).await;
            }
            Ok(ours.code)
        }
        PatternsCommand::Match { events, patterns } => match_events(events, patterns),
        PatternsCommand::Conformance { files } => run_conformance(files),
    }
}

/// A pattern or event given on the command line: inline JSON or a file path.
fn file_or_json(arg: &str) -> Result<String> {
    let trimmed = arg.trim_start();
    if trimmed.starts_with('{')
        || trimmed.starts_with('[')
        || !Path::new(arg).exists() && !arg.ends_with(".json")
    {
        return Ok(arg.to_string());
    }
    std::fs::read_to_string(arg).with_context(|| format!("cannot read {arg}"))
}

/// Expands directories to their `*.json` files, sorted.
fn pattern_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot list {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "json"))
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn pattern_name(path: &str) -> String {
    Path::new(path)
        .file_stem()
        .map_or_else(|| path.to_string(), |s| s.to_string_lossy().into_owned())
}

/// Loads named pattern texts from paths, or the built-in ones.
fn load_patterns(paths: Vec<PathBuf>) -> Result<Vec<(String, String)>> {
    let paths = if paths.is_empty() && Path::new("patterns").is_dir() {
        vec![PathBuf::from("patterns")]
    } else {
        paths
    };
    if paths.is_empty() {
        return Ok(embedded::PATTERNS
            .iter()
            .map(|(f, t)| (format!("patterns/{f}"), t.to_string()))
            .collect());
    }
    pattern_files(&paths)?
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f)
                .with_context(|| format!("cannot read {}", f.display()))?;
            Ok((f.display().to_string(), text))
        })
        .collect()
}

/// Compiles every pattern, printing each error; `None` if any was invalid.
fn compile_all(patterns: &[(String, String)]) -> Option<PatternSet> {
    let mut builder = PatternSetBuilder::new();
    let mut ok = true;
    for (file, text) in patterns {
        match compile(text) {
            Ok(rule) => {
                builder.add(pattern_name(file), rule);
            }
            Err(e) => {
                eprintln!("{}", e.located(file, text));
                ok = false;
            }
        }
    }
    ok.then(|| builder.build())
}

pub(crate) fn validate(paths: Vec<PathBuf>) -> Result<ExitCode> {
    let patterns = load_patterns(paths)?;
    if patterns.is_empty() {
        anyhow::bail!("no pattern files found");
    }
    match compile_all(&patterns) {
        Some(set) => {
            crate::out!("{} pattern file(s) valid", set.len())?;
            Ok(ExitCode::SUCCESS)
        }
        None => Ok(ExitCode::from(1)),
    }
}

/// Our answer to `patterns test`: the exit code and, when valid, the result.
struct TestAnswer {
    code: ExitCode,
    matched: Option<bool>,
}

fn test(pattern: &str, event: &str) -> Result<TestAnswer> {
    let pattern_text = file_or_json(pattern)?;
    let event_text = file_or_json(event)?;
    let rule = match compile(&pattern_text) {
        Ok(rule) => rule,
        Err(e) => {
            eprintln!(
                "{}",
                e.located(
                    if pattern_text == pattern {
                        "<pattern>"
                    } else {
                        pattern
                    },
                    &pattern_text
                )
            );
            return Ok(TestAnswer {
                code: ExitCode::from(1),
                matched: None,
            });
        }
    };
    let node = match parse_event(&event_text).and_then(|n| check_envelope(&n).map(|()| n)) {
        Ok(node) => node,
        Err(e) => {
            eprintln!("{e}");
            return Ok(TestAnswer {
                code: ExitCode::from(1),
                matched: None,
            });
        }
    };
    let mut builder = PatternSetBuilder::new();
    builder.add("pattern", rule);
    let matched = !builder.build().matches(&node).is_empty();
    crate::out!("{matched}")?;
    Ok(TestAnswer {
        code: ExitCode::SUCCESS,
        matched: Some(matched),
    })
}

/// An EventBridge client, or `None` (with a note) when no credentials are found.
async fn eventbridge() -> Option<aws_sdk_eventbridge::Client> {
    use aws_config::BehaviorVersion;
    use aws_credential_types::provider::ProvideCredentials;
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let credentials = config.credentials_provider()?;
    if let Err(e) = credentials.provide_credentials().await {
        eprintln!("note: --aws skipped, no AWS credentials ({e})");
        return None;
    }
    Some(aws_sdk_eventbridge::Client::new(&config))
}

async fn test_with_aws(pattern: &str, event: &str, ours: TestAnswer) -> Result<ExitCode> {
    let Some(client) = eventbridge().await else {
        return Ok(ours.code);
    };
    let aws = gdalert_aws::pattern_check::test_event_pattern(
        &client,
        &file_or_json(pattern)?,
        &file_or_json(event)?,
    )
    .await;
    let agree = match (&aws, ours.matched) {
        (Ok(a), Some(o)) => *a == o,
        (Err(_), None) => true,
        _ => false,
    };
    let said = |r: &Result<bool, String>| match r {
        Ok(b) => b.to_string(),
        Err(e) => format!("invalid ({e})"),
    };
    let ours_said = ours
        .matched
        .map_or("invalid".to_string(), |b| b.to_string());
    if agree {
        eprintln!("EventBridge agrees: {}", said(&aws));
        Ok(ours.code)
    } else {
        eprintln!(
            "DISAGREEMENT: EventBridge says {}, gdalert says {ours_said}",
            said(&aws)
        );
        Ok(ExitCode::from(1))
    }
}

/// A minimal valid event for asking EventBridge whether it accepts a pattern.
const PROBE_EVENT: &str = r#"{"id":"00000000-0000-0000-0000-000000000000","detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"123456789012","time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{}}"#;

async fn validate_with_aws(paths: Vec<PathBuf>) -> Result<ExitCode> {
    let Some(client) = eventbridge().await else {
        return Ok(ExitCode::SUCCESS);
    };
    let mut disagreements = 0;
    for (file, text) in load_patterns(paths)? {
        if let Err(e) =
            gdalert_aws::pattern_check::test_event_pattern(&client, &text, PROBE_EVENT).await
        {
            disagreements += 1;
            eprintln!("DISAGREEMENT: {file}: gdalert accepts it, EventBridge rejects it: {e}");
        }
    }
    if disagreements == 0 {
        eprintln!("EventBridge accepts every pattern too");
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(1))
    }
}

fn match_events(events: Vec<PathBuf>, patterns: Vec<PathBuf>) -> Result<ExitCode> {
    let patterns = load_patterns(patterns)?;
    let Some(set) = compile_all(&patterns) else {
        return Ok(ExitCode::from(1));
    };
    let mut code = ExitCode::SUCCESS;
    // The same reading as replay: files, directories, arrays, JSON Lines,
    // stdin; what cannot be read is reported and the rest is matched.
    let (events, unreadable) = crate::local::events_or_samples(&events)?;
    if unreadable {
        code = ExitCode::from(1);
    }
    for crate::local::Input { origin: file, text } in &events {
        match set.matches_json(text) {
            Ok(ids) => {
                let names: Vec<&str> = ids.iter().map(|&id| set.name(id)).collect();
                let shown = if names.is_empty() {
                    "(no pattern)".to_string()
                } else {
                    names.join(", ")
                };
                crate::out!("{file}: {shown}")?;
            }
            Err(e) => {
                eprintln!("{file}: {e}");
                code = ExitCode::from(1);
            }
        }
    }
    Ok(code)
}

fn run_conformance(files: Vec<PathBuf>) -> Result<ExitCode> {
    let mut report = Report::default();
    for f in &files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        conformance::run(&text, &f.display().to_string(), &mut report);
    }
    for (name, why) in &report.failed {
        crate::out!("FAIL {name}: {why}")?;
    }
    for (name, why) in &report.skipped {
        crate::out!("SKIP {name}: {why}")?;
    }
    crate::out!("{}", report.summary())?;
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
