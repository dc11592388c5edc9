//! `gdalert samples [--out DIR]`: sample events for every runtime finding
//! type on ECS Fargate, EKS and EC2, plus Unhealthy/Healthy pairs.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

#[derive(Debug, Args)]
pub struct SamplesArgs {
    /// Write one file per event here; without it, JSON Lines on stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Instead, write the local-invoke payloads (one folder per function)
    /// here: the repository's `events/` is this output.
    #[arg(long, conflicts_with = "out")]
    invoke_events: Option<PathBuf>,
}

/// The local-invoke payloads: the generated ones and the shipped attack
/// sequence, as (path under `events/`, pretty JSON text).
pub fn invoke_events() -> Result<Vec<(String, String)>> {
    let mut events = gdalert_pipeline::samples::invoke_events();
    let sequence = crate::embedded::SAMPLE_EVENTS
        .iter()
        .find(|(name, _)| *name == "attack-sequence-ecs-compromised-cluster.json")
        .context("the shipped attack-sequence fixture is missing")?;
    events.push((
        "finding-alerts/attack-sequence-ecs.json".to_string(),
        serde_json::from_str(sequence.1)?,
    ));
    events.sort_by(|a, b| a.0.cmp(&b.0));
    events
        .into_iter()
        .map(|(path, value)| Ok((path, serde_json::to_string_pretty(&value)? + "\n")))
        .collect()
}

pub fn run(args: SamplesArgs) -> Result<ExitCode> {
    if let Some(dir) = args.invoke_events {
        let events = invoke_events()?;
        for (path, text) in &events {
            let path = dir.join(path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        eprintln!(
            "wrote {} invoke payloads to {}",
            events.len(),
            dir.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let samples = gdalert_pipeline::samples::all();
    match args.out {
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            for (name, event) in &samples {
                let path = dir.join(name);
                std::fs::write(&path, serde_json::to_string_pretty(event)? + "\n")
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            eprintln!("wrote {} sample events to {}", samples.len(), dir.display());
        }
        None => {
            let mut out = std::io::stdout().lock();
            for (_, event) in &samples {
                writeln!(out, "{event}")?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
