//! `gdalert render EVENT --destination NAME`: the exact payload a destination
//! would receive for an event, as a first alert (no state involved).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use gdalert_pipeline::{render, Payload};

use crate::local;

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// An event file (JSON).
    event: PathBuf,
    /// A destination name from routes.toml.
    #[arg(long)]
    destination: String,
    /// Directory with routes.toml (default: `patterns/` or the built-in one).
    #[arg(long)]
    patterns: Option<PathBuf>,
}

pub fn run(args: RenderArgs) -> Result<ExitCode> {
    let loaded = local::load_config_dry(args.patterns.as_deref())?;
    let pipeline = gdalert_pipeline::Pipeline::new(loaded.config);
    let config = &pipeline.config;
    let destination = config.destinations.get(&args.destination).ok_or_else(|| {
        let known: Vec<&str> = config.destinations.keys().map(String::as_str).collect();
        anyhow!(
            "no destination {:?} in {} (defined: {})",
            args.destination,
            loaded.source,
            known.join(", ")
        )
    })?;
    let text = std::fs::read_to_string(&args.event)
        .with_context(|| format!("cannot read {}", args.event.display()))?;
    let text = match local::as_eventbridge(&text) {
        Some((mut events, note)) if events.len() == 1 => {
            eprintln!("{}: {note}", args.event.display());
            events.remove(0)
        }
        Some((events, _)) => bail!(
            "{} holds {} findings; render takes one (use `gdalert preview` or `replay` for many)",
            args.event.display(),
            events.len()
        ),
        None => text,
    };
    let event = gdalert_pipeline::read(&text)
        .with_context(|| format!("{} is not a GuardDuty event", args.event.display()))?
        .event;
    let alert = pipeline.first_alert(&event);
    let payload = render(&alert, destination)?;
    match payload {
        Payload::Text { text } => {
            use std::io::Write as _;
            write!(std::io::stdout().lock(), "{text}")?
        }
        Payload::Json { body } => crate::out!("{}", serde_json::to_string_pretty(&body)?)?,
        other => crate::out!("{}", serde_json::to_string_pretty(&other)?)?,
    }
    Ok(ExitCode::SUCCESS)
}
