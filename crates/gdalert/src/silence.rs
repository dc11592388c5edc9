//! `gdalert silence add|list|show|expire`: mutes that expire, kept in the
//! state store the functions read (a SQLite file locally, the DynamoDB
//! table with `--state-table`). See [`gdalert_pipeline::silence`] for what a
//! silence mutes and why it never touches GuardDuty.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Result};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use gdalert_pipeline::alert::enrich;
use gdalert_pipeline::silence::{self, ActiveSilences, NewSilence, Silence, SilenceList};
use gdalert_pipeline::store::Store;
use gdalert_pipeline::{Lifecycle, Pipeline};
use sha2::{Digest, Sha256};

use crate::local;

#[derive(Debug, Subcommand)]
pub enum SilenceCommand {
    /// Mute alerts matching a pattern until an expiry (with an owner and a reason).
    Add(AddArgs),
    /// The silences in force (with --all, also those ended in the last 30 days).
    List(ListArgs),
    /// One silence, in full (JSON).
    Show(ShowArgs),
    /// End a silence now.
    Expire(ExpireArgs),
}

/// Where the silences live.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The local state file (SQLite) that `gdalert replay` uses.
    #[arg(long, default_value = ".gdalert/state.db")]
    store: PathBuf,
    /// The deployed functions' DynamoDB table (`GDALERT_STATE_TABLE`);
    /// AWS credentials and region from the usual places.
    #[arg(long, conflicts_with = "store")]
    state_table: Option<String>,
}

impl StoreArgs {
    async fn open(&self) -> Result<Box<dyn Store>> {
        Ok(match &self.state_table {
            Some(table) => {
                let aws = gdalert_aws::AwsClients::load().await;
                Box::new(gdalert_aws::DynamoStore::new(aws.dynamodb.clone(), table))
            }
            None => {
                if let Some(dir) = self.store.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| anyhow!("cannot create {}: {e}", dir.display()))?;
                }
                Box::new(gdalert_store_sqlite::SqliteStore::open(&self.store)?)
            }
        })
    }
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// What to mute: an EventBridge pattern, as a file or inline JSON
    /// (`'{"detail": {"type": ["Execution:Runtime/SuspiciousTool"]}}'`).
    #[arg(long = "match")]
    pattern: String,
    /// Who owns the silence (who to ask before it is extended).
    #[arg(long)]
    owner: String,
    /// Why muting is safe.
    #[arg(long)]
    reason: String,
    /// How long: `4h`, `7d`, `2w` (at most 90 days).
    #[arg(
        long = "for",
        conflicts_with = "until",
        required_unless_present = "until"
    )]
    duration: Option<String>,
    /// Until when (RFC 3339: `2026-12-09T17:00:00Z`).
    #[arg(long)]
    until: Option<String>,
    /// A ticket reference (`SEC-1234`).
    #[arg(long)]
    ticket: Option<String>,
    /// Mute on this route only (default: every route).
    #[arg(long)]
    route: Option<String>,
    /// Mute sending to this destination only (default: every destination),
    /// e.g. stop paging but keep the channel.
    #[arg(long)]
    destination: Option<String>,
    /// Show what the silence would have muted in these events (files,
    /// directories, JSON Lines, a findings export) and save nothing.
    #[arg(long, num_args = 1..)]
    preview: Vec<PathBuf>,
    /// Directory with routes.toml and pattern files (default: `patterns/` if
    /// present, else the built-in configuration).
    #[arg(long)]
    patterns: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Also list silences that ended in the last 30 days.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    id: String,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ExpireArgs {
    id: String,
    /// Who ends it (default: $USER).
    #[arg(long)]
    by: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
}

pub async fn run(cmd: SilenceCommand) -> Result<ExitCode> {
    let now = Utc::now();
    match cmd {
        SilenceCommand::Add(args) => add(args, now).await,
        SilenceCommand::List(args) => {
            let store = args.store.open().await?;
            let (list, _) = silence::load(store.as_ref(), now).await?;
            let shown: Vec<&Silence> = list
                .silences
                .iter()
                .filter(|s| args.all || s.is_active(now))
                .collect();
            if shown.is_empty() {
                crate::out!("no silences in force")?;
            }
            for s in shown {
                crate::out!("{}", line(s, now))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        SilenceCommand::Show(args) => {
            let store = args.store.open().await?;
            let (list, _) = silence::load(store.as_ref(), now).await?;
            let found = list.find(&args.id).ok_or_else(|| {
                anyhow!(
                    "no silence {:?} (see `gdalert silence list --all`)",
                    args.id
                )
            })?;
            crate::out!("{}", serde_json::to_string_pretty(found)?)?;
            Ok(ExitCode::SUCCESS)
        }
        SilenceCommand::Expire(args) => {
            let by = args
                .by
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "unknown".into());
            let store = args.store.open().await?;
            let id = args.id.clone();
            silence::update(store.as_ref(), now, |list| {
                let found = list
                    .silences
                    .iter_mut()
                    .find(|s| s.id == id)
                    .ok_or_else(|| {
                        format!("no silence {id:?} (see `gdalert silence list --all`)")
                    })?;
                if found.expires_at > now {
                    found.expires_at = now;
                    found.expired_by = Some(by.clone());
                }
                Ok(())
            })
            .await
            .map_err(|e| anyhow!(e))?;
            crate::out!("silence {} ended", args.id)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One line per silence: id, state, until, owner, route, reason, ticket, pattern.
fn line(s: &Silence, now: DateTime<Utc>) -> String {
    let state = if s.is_active(now) { "active" } else { "ended" };
    format!(
        "{}  {state} until {}  owner {}  on {}  reason {:?}{}  match {}",
        s.id,
        s.expires_at.format("%Y-%m-%d %H:%M UTC"),
        s.owner,
        s.scope(),
        s.reason,
        s.ticket
            .as_deref()
            .map(|t| format!("  ticket {t}"))
            .unwrap_or_default(),
        s.pattern
    )
}

fn pattern_text(arg: &str) -> Result<String> {
    if arg.trim_start().starts_with('{') {
        return Ok(arg.to_string());
    }
    std::fs::read_to_string(arg)
        .map_err(|e| anyhow!("--match {arg:?} is neither inline JSON nor a readable file: {e}"))
}

fn expiry(args: &AddArgs, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    match (&args.duration, &args.until) {
        (Some(d), _) => {
            let d = humantime::parse_duration(d)
                .map_err(|e| anyhow!("--for {d:?}: {e} (try 4h, 7d, 2w)"))?;
            Ok(now + chrono::Duration::from_std(d).map_err(|e| anyhow!("--for: {e}"))?)
        }
        (None, Some(u)) => DateTime::parse_from_rfc3339(u)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| anyhow!("--until {u:?} is not RFC 3339 (2026-12-09T17:00:00Z): {e}")),
        (None, None) => bail!("give --for (4h, 7d) or --until: a silence always ends"),
    }
}

async fn add(args: AddArgs, now: DateTime<Utc>) -> Result<ExitCode> {
    let pattern = pattern_text(&args.pattern)?;
    let loaded = local::load_config_dry(args.patterns.as_deref())?;
    if let Some(route) = &args.route {
        if loaded.config.route(route).is_none() {
            let known: Vec<&str> = loaded
                .config
                .routes
                .iter()
                .map(|r| r.name.as_str())
                .collect();
            bail!(
                "no route {route:?} in {} (routes: {})",
                loaded.source,
                known.join(", ")
            );
        }
    }
    if let Some(destination) = &args.destination {
        if !loaded.config.destinations.contains_key(destination) {
            let known: Vec<&str> = loaded
                .config
                .destinations
                .keys()
                .map(String::as_str)
                .collect();
            bail!(
                "no destination {destination:?} in {} (destinations: {})",
                loaded.source,
                known.join(", ")
            );
        }
    }
    let request = NewSilence {
        pattern,
        route: args.route.clone(),
        destination: args.destination.clone(),
        owner: args.owner.clone(),
        reason: args.reason.clone(),
        ticket: args.ticket.clone(),
        expires_at: expiry(&args, now)?,
    };
    let digest = Sha256::digest(format!("{}{}{now:?}", request.pattern, request.owner));
    let id = format!(
        "sil-{}",
        digest
            .iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let silence = request.check(id, now).map_err(|e| anyhow!(e))?;
    if !args.preview.is_empty() {
        preview(&silence, &args.preview, Pipeline::new(loaded.config))?;
        crate::out!("not saved: run the same command without --preview to add it")?;
        return Ok(ExitCode::SUCCESS);
    }
    let store = args.store.open().await?;
    let added = silence.clone();
    silence::update(store.as_ref(), now, move |list: &mut SilenceList| {
        list.silences.push(added.clone());
        Ok(())
    })
    .await
    .map_err(|e| anyhow!(e))?;
    crate::out!("added {}", line(&silence, now))?;
    Ok(ExitCode::SUCCESS)
}

/// Where a silence may apply on `route`: the whole route, or one destination.
fn scope(route: &gdalert_pipeline::config::Route) -> Vec<Option<&str>> {
    std::iter::once(None)
        .chain(route.destinations.iter().map(|d| Some(d.as_str())))
        .collect()
}

/// What `silence` would have muted in the events at `paths`, through the
/// current routes: one line per muted alert (type, severity, where, route),
/// then the counts by type, and the Critical alerts it would let through.
fn preview(silence: &Silence, paths: &[PathBuf], pipeline: Pipeline) -> Result<()> {
    for path in paths {
        local::must_exist(path)?;
    }
    let read = local::read_inputs(paths)?;
    let inputs = local::pasted_to_events(read.events);
    // Compiled once. Whether a silence mutes does not depend on the time it
    // is asked (the store's reader checks that), so the preview asks as if
    // it were in force when each event happened.
    let active = ActiveSilences::new(
        &SilenceList {
            silences: vec![silence.clone()],
        },
        silence.created_at,
    );
    let mut muted_by_type = std::collections::BTreeMap::<String, usize>::new();
    let (mut events, mut routed, mut muted, mut passed) = (0, 0, 0, 0);
    for input in &inputs {
        let Ok(read) = gdalert_pipeline::read(&input.text) else {
            continue;
        };
        events += 1;
        let alert = enrich(&read.event, Lifecycle::New, &Default::default());
        let routes = pipeline.routes_sending(&read.node, &alert);
        if routes.is_empty() {
            continue;
        }
        routed += 1;
        // Where it mutes: whole routes, or single destinations of a route.
        let muting: Vec<String> = routes
            .iter()
            .flat_map(|r| scope(r).into_iter().map(move |d| (r, d)))
            .filter(|(r, d)| active.muting(&read.node, &alert, &r.name, *d).is_some())
            .map(|(r, d)| match d {
                None => r.name.clone(),
                Some(d) => format!("{}→{d}", r.name),
            })
            .collect();
        if muting.is_empty() {
            // Matched the pattern on its route but protected: say so, it
            // would be a surprise otherwise.
            let matched = routes
                .iter()
                .flat_map(|r| scope(r).into_iter().map(move |d| (r, d)))
                .any(|(r, d)| !active.matching(&read.node, &r.name, d).is_empty());
            if silence::protected(&alert) && matched {
                passed += 1;
                crate::out!(
                    "passes  {} {} {}  (Critical and attack sequences are muted only when the pattern names their type or id)",
                    alert.band.as_str(),
                    alert.finding_type.as_deref().unwrap_or(&alert.title),
                    alert.place()
                )?;
            }
            continue;
        }
        muted += 1;
        let kind = alert
            .finding_type
            .clone()
            .unwrap_or_else(|| alert.title.clone());
        *muted_by_type.entry(kind.clone()).or_default() += 1;
        crate::out!(
            "muted   {} {} {} {}  route {}",
            alert.band.as_str(),
            kind,
            alert.place(),
            read.event
                .time
                .map(|t| t.0.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default(),
            muting.join(",")
        )?;
    }
    for (kind, n) in &muted_by_type {
        crate::out!("{n:>6}  {kind}")?;
    }
    crate::out!(
        "{events} event(s), {routed} routed: {silence_id} would have muted {muted}; {passed} matched but would still be sent (Critical or attack sequence)",
        silence_id = silence.id
    )?;
    Ok(())
}
