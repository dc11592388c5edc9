//! What every local command shares: finding the configuration, reading
//! events from files, directories, JSON Lines or stdin, and the senders that
//! need no network (`stdout`, `file`).

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use gdalert_pipeline::config::KindSettings;
use gdalert_pipeline::{Alert, Destination, Failure, Payload, Sender};

use crate::embedded;

pub use gdalert_pipeline::load::Loaded;

/// Loads `DIR/routes.toml` with `DIR/*.json` over the built-in patterns;
/// with no `dir`, `patterns/` if it exists here, else the configuration
/// built into the binary (the one loader: [`gdalert_pipeline::load`]).
pub fn load_config(dir: Option<&Path>) -> Result<Loaded> {
    let source = gdalert_pipeline::load::Source::cli(dir);
    Ok(gdalert_pipeline::load::load(
        &source,
        embedded::BUILTIN,
        |n| std::env::var(n).ok(),
    )?)
}

/// [`load_config`] for a run that contacts nothing: unset `${NAME}`s get a
/// placeholder instead of failing (see `gdalert_pipeline::load::dry_run_vars`).
pub fn load_config_dry(dir: Option<&Path>) -> Result<Loaded> {
    let source = gdalert_pipeline::load::Source::cli(dir);
    Ok(gdalert_pipeline::load::load(
        &source,
        embedded::BUILTIN,
        gdalert_pipeline::load::dry_run_vars,
    )?)
}

/// One event's text and where it came from (`file:line`).
#[derive(Debug, Clone)]
pub struct Input {
    pub origin: String,
    pub text: String,
}

/// Events read, and what could not be read (`file` or `file:line`, why).
#[derive(Debug, Default)]
pub struct Inputs {
    pub events: Vec<Input>,
    pub unreadable: Vec<(String, String)>,
}

/// Reads events: files (one JSON event, a JSON array of events, or JSON
/// Lines), directories (their `*.json` and `*.jsonl`, sorted), `-` for stdin.
/// A file or line that cannot be read (not UTF-8, no permission) is listed
/// in [`Inputs::unreadable`] and the rest is read: one bad file must not
/// stop a replay of thousands.
pub fn read_inputs(paths: &[PathBuf]) -> Result<Inputs> {
    let mut inputs = Inputs::default();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read stdin")?;
            split_bytes("stdin", &bytes, &mut inputs);
        } else if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot list {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json" || e == "jsonl"))
                .collect();
            files.sort();
            for file in files {
                read_file(&file, &mut inputs);
            }
        } else {
            read_file(path, &mut inputs);
        }
    }
    Ok(inputs)
}

fn read_file(path: &Path, inputs: &mut Inputs) {
    match std::fs::read(path) {
        Ok(bytes) => split_bytes(&path.display().to_string(), &bytes, inputs),
        Err(e) => inputs
            .unreadable
            .push((path.display().to_string(), format!("cannot read: {e}"))),
    }
}

/// Text as [`split_events`] takes it; where the bytes are not UTF-8, each
/// line that is still becomes an event and each line that is not is listed.
fn split_bytes(origin: &str, bytes: &[u8], inputs: &mut Inputs) {
    match std::str::from_utf8(bytes) {
        Ok(text) => split_events(origin, text, &mut inputs.events),
        Err(_) => {
            for (n, line) in bytes.split(|b| *b == b'\n').enumerate() {
                match std::str::from_utf8(line) {
                    Ok(text) if text.trim().is_empty() => {}
                    Ok(text) => inputs.events.push(Input {
                        origin: format!("{origin}:{}", n + 1),
                        text: text.to_string(),
                    }),
                    Err(e) => inputs.unreadable.push((
                        format!("{origin}:{}", n + 1),
                        format!("not UTF-8 text (byte {})", e.valid_up_to() + 1),
                    )),
                }
            }
        }
    }
}

/// One document, an array of documents, or one document per line.
pub fn split_events(origin: &str, text: &str, inputs: &mut Vec<Input>) {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        if let Ok(items) = serde_json::from_str::<Vec<serde_json::Value>>(text) {
            for (i, item) in items.into_iter().enumerate() {
                inputs.push(Input {
                    origin: format!("{origin}[{i}]"),
                    text: item.to_string(),
                });
            }
            return;
        }
    }
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    // JSON Lines only when the first line is a whole document by itself: a
    // pretty-printed file with one mistake is one document with one error at
    // its real line and column, not an error per line.
    let is_document = |t: &str| serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok();
    let one_document = lines.len() <= 1 || is_document(text) || !is_document(lines[0].1);
    if one_document {
        inputs.push(Input {
            origin: origin.to_string(),
            text: text.to_string(),
        });
    } else {
        for (n, line) in lines {
            inputs.push(Input {
                origin: format!("{origin}:{}", n + 1),
                text: line.to_string(),
            });
        }
    }
}

/// Delivers to `stdout` (the caller prints) and `file` (appends a JSON line);
/// refuses remote kinds (a dry run never hands it one; `--deliver` uses
/// the real senders).
#[derive(Debug, Default)]
pub struct LocalSender;

#[async_trait::async_trait]
impl Sender for LocalSender {
    async fn send(
        &self,
        destination: &Destination,
        _alert: &Alert,
        payload: &Payload,
    ) -> Result<String, Failure> {
        match &destination.settings {
            KindSettings::Stdout => Ok("stdout".into()),
            KindSettings::File(file) => {
                let path = file.path.as_str();
                let line =
                    serde_json::to_string(payload).map_err(|e| Failure::fatal(e.to_string()))?;
                let mut file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        // A missing directory or no permission stays so on
                        // retry: say what to fix instead of retrying.
                        use std::io::ErrorKind::{NotFound, PermissionDenied};
                        let fix = match e.kind() {
                            NotFound => {
                                " (the directory does not exist: create it or change `path`)"
                            }
                            PermissionDenied => " (no permission to write there)",
                            _ => "",
                        };
                        Failure::new(
                            !matches!(e.kind(), NotFound | PermissionDenied),
                            format!("cannot open {path}: {e}{fix}"),
                        )
                    })?;
                writeln!(file, "{line}")
                    .map_err(|e| Failure::retry(format!("cannot write {path}: {e}")))?;
                Ok(format!("file:{path}"))
            }
            kind => Err(Failure::fatal(format!(
                "this gdalert build has no {} sender; run with --dry-run to see the payload",
                kind.kind().as_str()
            ))),
        }
    }
}

/// Fails unless `path` names something that exists (for clearer errors).
pub fn must_exist(path: &Path) -> Result<()> {
    if path.as_os_str() != "-" && !path.exists() {
        bail!("{} does not exist", path.display());
    }
    Ok(())
}

/// The events named on the command line (unreadable ones reported on
/// stderr, `true` when there were any), or with none named, the shipped
/// sample events as `samples/NAME`.
pub fn events_or_samples(paths: &[PathBuf]) -> Result<(Vec<Input>, bool)> {
    if paths.is_empty() {
        let samples = embedded::SAMPLE_EVENTS
            .iter()
            .map(|(f, t)| Input {
                origin: format!("samples/{f}"),
                text: t.to_string(),
            })
            .collect();
        return Ok((samples, false));
    }
    let inputs = read_inputs(paths)?;
    for (origin, why) in &inputs.unreadable {
        eprintln!("{origin}: skipped, {why}");
    }
    Ok((inputs.events, !inputs.unreadable.is_empty()))
}

/// Findings as people paste them into the local tools, made into the
/// EventBridge events the functions receive: a finding copied from the
/// console, the CLI or an SDK (`Id`, `Type`, `Resource`: PascalCase keys
/// become camelCase), a bare finding without its envelope, or a
/// `get-findings` answer (`{"Findings": [...]}`). `None` when the text is
/// already an event (or not JSON: the reader will say why). The functions
/// never do this: they take only what EventBridge sends.
pub fn as_eventbridge(text: &str) -> Option<(Vec<String>, String)> {
    // Nearly every input is an event already: spare it a second parse.
    if text.contains("\"detail-type\"") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let object = value.as_object()?;
    if object.contains_key("detail-type") {
        return None;
    }
    let items: Vec<serde_json::Value> = match object
        .get("Findings")
        .or_else(|| object.get("findings"))
        .and_then(serde_json::Value::as_array)
    {
        Some(findings) => findings.clone(),
        None => vec![value.clone()],
    };
    let mut pascal = false;
    let mut events = Vec::with_capacity(items.len());
    for item in items {
        let item = if item.get("Id").is_some() && item.get("Type").is_some() {
            pascal = true;
            camel_case_keys(item)
        } else {
            item
        };
        if item.get("id").is_none() || item.get("type").is_none() {
            return None;
        }
        events.push(gdalert_event::GuardDutyEvent::wrap_finding(item).to_string());
    }
    let casing = if pascal {
        " in console/SDK casing (Id, Type, Resource), converted to the event's camelCase and"
    } else {
        ""
    };
    let note = format!(
        "{} finding(s){casing} wrapped in the EventBridge envelope the functions receive",
        events.len()
    );
    Some((events, note))
}

fn camel_case_keys(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let mut chars = k.chars();
                    let key = match chars.next() {
                        Some(first) => first.to_lowercase().chain(chars).collect(),
                        None => k,
                    };
                    (key, camel_case_keys(v))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(camel_case_keys).collect()),
        other => other,
    }
}

/// [`as_eventbridge`] over read inputs, saying once per input what was converted.
pub fn pasted_to_events(inputs: Vec<Input>) -> Vec<Input> {
    let mut out = Vec::with_capacity(inputs.len());
    for input in inputs {
        match as_eventbridge(&input.text) {
            Some((events, note)) => {
                eprintln!("{}: {note}", input.origin);
                let many = events.len() > 1;
                for (i, text) in events.into_iter().enumerate() {
                    out.push(Input {
                        origin: if many {
                            format!("{}[{i}]", input.origin)
                        } else {
                            input.origin.clone()
                        },
                        text,
                    });
                }
            }
            None => out.push(input),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_file_destination_in_a_missing_directory_is_not_retryable() {
        // Regression: it was reported retryable, so redrive retried forever.
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("missing/alerts.jsonl");
        let text = format!(
            "[destinations.f]\nkind = \"file\"\npath = {:?}\n[[routes]]\nname = \"r\"\ndestinations = [\"f\"]\n",
            path.display().to_string()
        );
        let config = gdalert_pipeline::Config::load("routes.toml", &text, &Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let alert = Alert::summary("e", "t".into(), "m".into());
        let payload = Payload::Text { text: "x".into() };
        let err = LocalSender
            .send(&config.destinations["f"], &alert, &payload)
            .await
            .expect_err("the directory is missing");
        assert!(!err.is_retryable(), "{}", err.message());
        assert!(
            err.message().contains("does not exist"),
            "{}",
            err.message()
        );
    }
}
