//! `gdalert coverage report`: the digest function's coverage report, run
//! here. Resources GuardDuty's coverage API lists as unmonitored now (or a
//! saved `aws guardduty list-coverage` answer with `--from`), grouped by
//! account and cluster, sent to `settings.coverage_report_route`'s
//! destinations through the same engine step the function runs.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use chrono::Utc;
use clap::{Args, Subcommand};
use gdalert_pipeline::coverage::{parse_list_coverage, CoverageResource, CoverageSource};
use gdalert_pipeline::store::Store;
use gdalert_pipeline::{MemoryStore, Pipeline, RunOptions};

use crate::local::{self, LocalSender};

#[derive(Debug, Subcommand)]
pub enum CoverageCommand {
    /// Report the resources GuardDuty's runtime coverage lists as unmonitored.
    Report(ReportArgs),
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A saved ListCoverage answer (`aws guardduty list-coverage
    /// --detector-id ID > coverage.json`); without it, GuardDuty is asked
    /// (AWS credentials and region from the usual places).
    #[arg(long)]
    from: Option<PathBuf>,
    /// The detector to ask (default: the region's detector).
    #[arg(long, conflicts_with = "from")]
    detector: Option<String>,
    /// Remember what was reported in this state file, so the next run lists
    /// only what is new or due again (as the digest function does); default:
    /// report every unmonitored resource and remember nothing.
    #[arg(long)]
    store: Option<PathBuf>,
    /// Send to remote destinations too (default: show them, send nothing).
    #[arg(long)]
    deliver: bool,
    /// Directory with routes.toml and pattern files (default: `patterns/` if
    /// present, else the built-in configuration).
    #[arg(long)]
    patterns: Option<PathBuf>,
}

pub async fn run(cmd: CoverageCommand) -> Result<ExitCode> {
    match cmd {
        CoverageCommand::Report(args) => report(args).await,
    }
}

async fn report(args: ReportArgs) -> Result<ExitCode> {
    let loaded = if args.deliver {
        local::load_config(args.patterns.as_deref())?
    } else {
        local::load_config_dry(args.patterns.as_deref())?
    };
    let Some(route) = loaded.config.settings.coverage_report_route.clone() else {
        bail!(
            "{} sets no coverage_report_route: add `coverage_report_route = \"ROUTE\"` to [settings] to say where the report goes",
            loaded.source
        );
    };
    let resources: Vec<CoverageResource> = match &args.from {
        Some(path) => {
            local::must_exist(path)?;
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            parse_list_coverage(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?
        }
        None => {
            let aws = gdalert_aws::AwsClients::load().await;
            gdalert_aws::GuardDutyCoverage::new(aws.guardduty, args.detector.clone())
                .resources()
                .await
                .map_err(|e| anyhow!(e))?
        }
    };
    let unhealthy = resources.iter().filter(|r| !r.healthy).count();
    let pipeline = Pipeline::new(loaded.config);
    let memory;
    let sqlite;
    let store: &dyn Store = match &args.store {
        Some(path) => {
            sqlite = gdalert_store_sqlite::SqliteStore::open(path)?;
            &sqlite
        }
        None => {
            memory = MemoryStore::new();
            &memory
        }
    };
    let options = RunOptions {
        owner: format!("gdalert-coverage-{}", std::process::id()),
        dry_run: !args.deliver,
        deadline: None,
    };
    let senders;
    let sender: &dyn gdalert_pipeline::Sender = if args.deliver {
        senders = crate::delivery::senders(&pipeline.config, None).await?;
        &senders
    } else {
        &LocalSender
    };
    let report = pipeline
        .run_coverage_report(store, sender, &resources, Utc::now(), &options)
        .await?;
    let Some(report) = report else {
        crate::out!(
            "{} resource(s) assessed, {unhealthy} not monitored: nothing due for a report on route {route}",
            resources.len()
        )?;
        return Ok(ExitCode::SUCCESS);
    };
    for d in &report.deliveries {
        crate::out!("{} -> {}: {}", d.route, d.destination, d.status.as_str())?;
        // The terminal's own destination shows the report itself.
        if let Some(gdalert_pipeline::Payload::Text { text }) = &d.payload {
            crate::out!("{text}")?;
        }
    }
    crate::out!(
        "{} resource(s) assessed, {unhealthy} not monitored: {}",
        resources.len(),
        report.alert.title
    )?;
    Ok(if report.failures().next().is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
