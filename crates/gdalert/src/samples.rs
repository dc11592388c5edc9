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
}

pub fn run(args: SamplesArgs) -> Result<ExitCode> {
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
