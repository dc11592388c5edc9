//! `gdalert redrive`: replays the dead-letter queue through the deployed
//! pipeline, then deletes what was handled.
//!
//! It runs the same pipeline as the functions, against the deployment's
//! DynamoDB state table and with the same senders, so an alert that was
//! already delivered before the event failed is not delivered again. A
//! message is deleted only once every destination accepted its alert (or
//! had it already); the rest stay in the queue, and the command exits 1.
//!
//! Both kinds of dead letter are understood: the bare event (an EventBridge
//! rule target's dead-letter queue) and Lambda's on-failure record, whose
//! `requestPayload` is the event.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::Utc;
use clap::Args;
use gdalert_aws::{AwsClients, DynamoStore};
use gdalert_pipeline::{Pipeline, RunOptions};
use serde_json::Value;

use crate::local;

#[derive(Debug, Args)]
pub struct RedriveArgs {
    /// The dead-letter queue's URL (the stack's `DeadLetterQueueUrl` output).
    #[arg(long)]
    queue_url: String,
    /// The deployment's state table (the stack's `StateTableName` output).
    #[arg(long)]
    state_table: String,
    /// Directory with routes.toml and pattern files (default: `patterns/`
    /// if present, else the built-in configuration). `${VAR}`s are read from
    /// the environment, as in the functions (e.g. `GDALERT_TOPIC_ARN`).
    #[arg(long)]
    patterns: Option<PathBuf>,
    /// Secrets file, as for `replay --deliver` (default: read from AWS).
    #[arg(long)]
    secrets_file: Option<PathBuf>,
    /// Stop after this many messages.
    #[arg(long, default_value_t = 1000)]
    max: usize,
}

/// The event inside a dead letter.
pub fn event_of(body: &str) -> Result<Value> {
    let value: Value = serde_json::from_str(body).context("dead letter is not JSON")?;
    Ok(match value.get("requestPayload") {
        Some(payload) => payload.clone(),
        None => value,
    })
}

pub async fn run(args: RedriveArgs) -> Result<ExitCode> {
    let loaded = local::load_config(args.patterns.as_deref())?;
    let pipeline = Pipeline::new(loaded.config);
    let aws = AwsClients::load().await;
    let sqs = aws_sdk_sqs::Client::new(
        &aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await,
    );
    let store = DynamoStore::new(aws.dynamodb.clone(), &args.state_table);
    let senders = crate::delivery::senders(&pipeline.config, args.secrets_file.as_deref()).await?;
    let options = RunOptions::deliver(format!("gdalert-redrive-{}", std::process::id()));
    let (mut handled, mut kept) = (0usize, 0usize);
    while handled + kept < args.max {
        let batch = sqs
            .receive_message()
            .queue_url(&args.queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(300)
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot read {}: {}",
                    args.queue_url,
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                )
            })?;
        let messages = batch.messages();
        if messages.is_empty() {
            break;
        }
        for message in messages {
            let id = message.message_id().unwrap_or_default();
            let outcome = async {
                let event_value = event_of(message.body().unwrap_or_default())?;
                let text = event_value.to_string();
                let gdalert_pipeline::Input { event, node } = gdalert_pipeline::read(&text)?;
                let now = Utc::now();
                let report = pipeline
                    .run_event(&store, &senders, &event, &node, now, &options)
                    .await;
                if let Some(e) = &report.store_error {
                    eprintln!(
                        "{}: state store unavailable, sent without dedupe: {e}",
                        event.id
                    );
                }
                anyhow::ensure!(
                    report.failures().next().is_none(),
                    "{}",
                    report.failure_summary()
                );
                Ok::<_, anyhow::Error>(event.id)
            }
            .await;
            match outcome {
                Ok(event_id) => {
                    if let Some(handle) = message.receipt_handle() {
                        sqs.delete_message()
                            .queue_url(&args.queue_url)
                            .receipt_handle(handle)
                            .send()
                            .await
                            .map_err(|e| {
                                anyhow::anyhow!(
                                    "handled {event_id} but cannot delete it: {}",
                                    aws_sdk_sqs::error::DisplayErrorContext(e)
                                )
                            })?;
                    }
                    handled += 1;
                    crate::out!("redriven: {event_id}")?;
                }
                Err(e) => {
                    kept += 1;
                    eprintln!("kept {id}: {e:#}");
                }
            }
        }
    }
    eprintln!("{handled} redriven, {kept} kept in the queue");
    Ok(if kept > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
