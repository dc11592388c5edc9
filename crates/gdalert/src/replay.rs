//! `gdalert replay`: the main job, locally. Runs exactly the pipeline the
//! Lambda functions run (route, classify, dedupe, group, render, deliver)
//! with the embedded store, and prints what happened to every alert.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use gdalert_pipeline::store::Store;
use gdalert_pipeline::{MemoryStore, Payload, Pipeline, Report, RunOptions, Status};
use gdalert_store_sqlite::SqliteStore;
use serde_json::json;

use crate::embedded;
use crate::local::{self, Input, LocalSender};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A readable block per delivery.
    Text,
    /// One JSON object per line per delivery.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Clock {
    /// "Now" is each event's own time: replays of old events behave as they did live.
    Event,
    /// "Now" is the wall clock.
    Wall,
}

/// Dry run (local destinations only) or real delivery.
#[derive(Debug)]
pub(crate) enum Mode {
    DryRun(LocalSender),
    Deliver(gdalert_delivery::Senders),
}

impl Mode {
    fn sender(&self) -> &dyn gdalert_pipeline::Sender {
        match self {
            Mode::DryRun(local) => local,
            Mode::Deliver(senders) => senders,
        }
    }
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Event files, directories, JSON Lines files, or `-` for stdin.
    /// With none, replays the sample events built into gdalert.
    events: Vec<PathBuf>,
    /// Directory with routes.toml and pattern files (default: `patterns/` if
    /// present, else the built-in configuration).
    #[arg(long)]
    patterns: Option<PathBuf>,
    /// State file (SQLite). Replaying into the same file remembers what was sent.
    #[arg(long, default_value = ".gdalert/state.db", conflicts_with = "fresh")]
    store: PathBuf,
    /// Keep state in memory only: every run starts from nothing.
    #[arg(long)]
    fresh: bool,
    /// Print payloads for remote destinations instead of sending them (the
    /// default when the configuration has no local destination to deliver to).
    #[arg(long, conflicts_with = "deliver")]
    dry_run: bool,
    /// Deliver to every destination, remote ones included, with the same
    /// senders the Lambda functions use (AWS credentials from the usual
    /// places; secrets from AWS or `--secrets-file`).
    #[arg(long)]
    deliver: bool,
    /// With `--deliver`: a TOML file mapping secret references to values
    /// (`"/gdalert/slack" = "https://hooks.slack.com/..."`), for laptops
    /// without access to Secrets Manager. Keep it out of version control.
    #[arg(long, requires = "deliver")]
    secrets_file: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[arg(long, value_enum, default_value = "event")]
    clock: Clock,
    /// At the end, send every pending group/storm digest and held resolved
    /// message, as if their windows had passed.
    #[arg(long)]
    flush: bool,
    /// Compare two routes files (or directories holding routes.toml) over
    /// the events: which alerts move to other routes or destinations,
    /// appear, or disappear. Routing only; nothing is sent or stored.
    #[arg(long, num_args = 2, value_names = ["ROUTES_A", "ROUTES_B"])]
    compare: Vec<PathBuf>,
}

#[derive(Debug, Default)]
struct Tally {
    events: usize,
    invalid: usize,
    sent: usize,
    dry_run: usize,
    suppressed: usize,
    grouped: usize,
    dropped: usize,
    failed: usize,
}

struct Printer<'a> {
    format: Format,
    out: std::io::StdoutLock<'a>,
}

/// What an event is, for people scanning a replay: "what would we have
/// missed?" needs the type, the severity and the place on every line,
/// dropped ones most of all.
fn what(alert: &gdalert_pipeline::Alert) -> (String, String, String) {
    let kind = alert
        .finding_type
        .clone()
        .unwrap_or_else(|| alert.title.clone());
    let severity = match alert.severity {
        Some(s) => format!("{} {s:.1}", alert.band.as_str()),
        None => alert.band.as_str().to_string(),
    };
    (kind, severity, alert.place())
}

impl Printer<'_> {
    fn event_header(&mut self, outcome: &Report) -> std::io::Result<()> {
        if self.format != Format::Text {
            return Ok(());
        }
        let finding = outcome
            .alert
            .finding_id
            .as_deref()
            .map(|f| format!(" · finding {f}"))
            .unwrap_or_default();
        let (kind, severity, place) = what(&outcome.alert);
        writeln!(
            self.out,
            "── {}{finding} · {} · {severity} {kind} · {place}",
            outcome.alert.event_id,
            outcome.alert.verdict.lifecycle.as_str()
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn line(
        &mut self,
        outcome: &Report,
        route: &str,
        destination: &str,
        decision: &str,
        reason: &str,
        payload: Option<&Payload>,
    ) -> std::io::Result<()> {
        match self.format {
            Format::Json => {
                let (kind, _, place) = what(&outcome.alert);
                let line = json!({
                    "event_id": outcome.alert.event_id,
                    "finding_id": outcome.alert.finding_id,
                    "type": kind,
                    "severity": outcome.alert.severity,
                    "band": outcome.alert.band.as_str(),
                    "resource": place,
                    "lifecycle": outcome.alert.verdict.lifecycle.as_str(),
                    "route": route,
                    "destination": destination,
                    "decision": decision,
                    "reason": reason,
                    "payload": payload,
                });
                writeln!(self.out, "{line}")
            }
            Format::Text => {
                writeln!(
                    self.out,
                    "   {route} → {destination}: {decision} ({reason})"
                )?;
                match payload {
                    Some(Payload::Text { text }) => write!(self.out, "{text}"),
                    Some(other) => {
                        let pretty = serde_json::to_string_pretty(other).unwrap_or_default();
                        for l in pretty.lines() {
                            writeln!(self.out, "      {l}")?;
                        }
                        Ok(())
                    }
                    None => Ok(()),
                }
            }
        }
    }
}

pub async fn run(args: ReplayArgs) -> Result<ExitCode> {
    if let [a, b] = args.compare.as_slice() {
        return crate::compare::run(a, b, &args.events);
    }
    let loaded = if args.deliver {
        local::load_config(args.patterns.as_deref())?
    } else {
        local::load_config_dry(args.patterns.as_deref())?
    };
    let mode = if args.deliver {
        Mode::Deliver(crate::delivery::senders(&loaded.config, args.secrets_file.as_deref()).await?)
    } else {
        Mode::DryRun(LocalSender)
    };
    let mode = &mode;
    let dry_run = !args.deliver;
    let (inputs, unreadable) = if args.events.is_empty() {
        let events = embedded::SAMPLE_EVENTS
            .iter()
            .map(|(name, text)| Input {
                origin: format!("(built in) tests/fixtures/events/{name}"),
                text: text.to_string(),
            })
            .collect();
        (events, Vec::new())
    } else {
        for path in &args.events {
            local::must_exist(path)?;
        }
        let read = local::read_inputs(&args.events)?;
        (local::pasted_to_events(read.events), read.unreadable)
    };
    let has_remote = loaded.config.has_remote_destination();
    let pipeline = Pipeline::new(loaded.config);
    let memory;
    let sqlite;
    let store: &dyn Store = if args.fresh {
        memory = MemoryStore::new();
        &memory
    } else {
        sqlite = SqliteStore::open(&args.store)?;
        &sqlite
    };
    let options = RunOptions {
        owner: format!("gdalert-replay-{}", std::process::id()),
        dry_run,
        deadline: None,
    };
    let progress = (std::io::stderr().is_terminal() && inputs.len() > 1000)
        .then(|| indicatif::ProgressBar::new(inputs.len() as u64));

    let stdout = std::io::stdout();
    let mut printer = Printer {
        format: args.format,
        out: stdout.lock(),
    };
    let mut tally = Tally::default();
    for (origin, why) in &unreadable {
        tally.events += 1;
        tally.invalid += 1;
        eprintln!("{origin}: skipped, {why}");
    }
    let mut clock: Option<DateTime<Utc>> = None;
    let mut last_digest: Option<DateTime<Utc>> = None;
    for input in &inputs {
        if let Some(p) = &progress {
            p.inc(1);
        }
        tally.events += 1;
        let (event, node) = match gdalert_pipeline::read(&input.text) {
            Ok(read) => (read.event, read.node),
            Err(gdalert_pipeline::InputError::Event(e)) => {
                tally.invalid += 1;
                eprintln!("{}: skipped, not a GuardDuty event: {e}", input.origin);
                continue;
            }
            Err(e) => {
                tally.invalid += 1;
                eprintln!("{}: skipped: {e}", input.origin);
                continue;
            }
        };
        for warning in &event.warnings {
            eprintln!("{}: warning: {warning}", input.origin);
        }
        let now = match args.clock {
            Clock::Wall => Utc::now(),
            Clock::Event => {
                let t = event
                    .time
                    .map(|t| t.0)
                    .or_else(|| event.finding().and_then(|f| f.updated_at).map(|t| t.0))
                    .unwrap_or_else(Utc::now);
                let now = clock.map_or(t, |c| c.max(t));
                clock = Some(now);
                now
            }
        };
        if last_digest.is_none_or(|d| now - d >= chrono::Duration::minutes(1)) {
            digest(
                &pipeline,
                store,
                now,
                mode,
                &options,
                &mut printer,
                &mut tally,
            )
            .await?;
            last_digest = Some(now);
        }
        let report = pipeline
            .run_event(store, mode.sender(), &event, &node, now, &options)
            .await;
        print_report(&report, &mut printer, &mut tally)?;
    }
    let last = clock.unwrap_or_else(Utc::now);
    let end = if args.flush {
        // Every window still open has passed, and no record has expired.
        let settings = &pipeline.config.settings;
        let longest = pipeline
            .config
            .routes
            .iter()
            .map(|r| r.group_window)
            .chain([settings.storm_window, settings.flap_hold])
            .max()
            .unwrap_or_default();
        last + chrono::Duration::from_std(longest).unwrap_or_default()
            + chrono::Duration::seconds(1)
    } else {
        last
    };
    digest(
        &pipeline,
        store,
        end,
        mode,
        &options,
        &mut printer,
        &mut tally,
    )
    .await?;
    if let Some(p) = progress {
        p.finish_and_clear();
    }
    let where_ = if args.fresh {
        "in memory".to_string()
    } else {
        args.store.display().to_string()
    };
    eprintln!(
        "replayed {} event(s) with {}: {} sent, {}{} suppressed, {} grouped, {} dropped, {} failed, {} invalid (state {where_}{})",
        tally.events,
        loaded.source,
        tally.sent,
        if tally.dry_run > 0 {
            format!("{} rendered for remote destinations (dry run), ", tally.dry_run)
        } else {
            String::new()
        },
        tally.suppressed,
        tally.grouped,
        tally.dropped,
        tally.failed,
        tally.invalid,
        if dry_run && has_remote { "; dry run: remote destinations not contacted" } else { "" },
    );
    Ok(if tally.failed > 0 || tally.invalid > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn digest(
    pipeline: &Pipeline,
    store: &dyn Store,
    now: DateTime<Utc>,
    mode: &Mode,
    options: &RunOptions,
    printer: &mut Printer<'_>,
    tally: &mut Tally,
) -> Result<()> {
    match pipeline
        .run_digest(store, mode.sender(), now, options)
        .await
    {
        Ok(reports) => {
            for report in &reports {
                print_report(report, printer, tally)?;
            }
        }
        Err(e) => eprintln!("digest skipped: {e}"),
    }
    Ok(())
}

/// Prints one report and counts it, in the report's own words.
fn print_report(report: &Report, printer: &mut Printer<'_>, tally: &mut Tally) -> Result<()> {
    printer.event_header(report)?;
    if let Some(e) = &report.store_error {
        eprintln!(
            "{}: state store unavailable, handled without dedupe: {e}",
            report.alert.event_id
        );
    }
    if report.deliveries.is_empty() {
        tally.dropped += 1;
        return Ok(printer.line(
            report,
            "-",
            "-",
            "dropped",
            "no route matched and there is no fallback route",
            None,
        )?);
    }
    for d in report.deliveries.iter().chain(&report.fallback) {
        for e in &d.template_errors {
            eprintln!(
                "{}: warning: the template of destination {:?} failed, the built-in text was used: {e}",
                report.alert.event_id, d.destination
            );
        }
        match d.status {
            Status::Sent => tally.sent += 1,
            Status::DryRun => tally.dry_run += 1,
            Status::AlreadyDelivered | Status::Suppressed => tally.suppressed += 1,
            Status::Grouped => tally.grouped += 1,
            Status::Dropped => tally.dropped += 1,
            Status::Failed => tally.failed += 1,
        }
        let payload = matches!(d.status, Status::Sent | Status::DryRun)
            .then_some(d.payload.as_ref())
            .flatten();
        printer.line(
            report,
            &d.route,
            &d.destination,
            d.status.as_str(),
            &d.reason,
            payload,
        )?;
    }
    Ok(())
}
