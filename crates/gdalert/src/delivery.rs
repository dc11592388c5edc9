//! `--deliver`: the same senders the Lambda functions use, built for a laptop.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use gdalert_aws::{AwsClients, AwsSecrets};
use gdalert_delivery::{
    CachedSecrets, DestinationClient, Failure, HttpClient, SecretSource, Senders, StaticSecrets,
    UrlPolicy,
};
use gdalert_pipeline::config::Destination;
use gdalert_pipeline::{Alert, Payload, Sender};

use crate::local::LocalSender;

#[async_trait::async_trait]
impl DestinationClient for LocalSender {
    async fn attempt(
        &self,
        destination: &Destination,
        alert: &Alert,
        payload: &Payload,
    ) -> Result<String, Failure> {
        self.send(destination, alert, payload).await.map_err(|e| {
            if e.retryable {
                Failure::retry(e.message)
            } else {
                Failure::fatal(e.message)
            }
        })
    }
}

/// Every destination kind: AWS kinds through the SDK's standard
/// configuration, webhooks and SMTP directly, `stdout`/`file` locally.
/// Secrets come from `secrets_file` when given, else from AWS.
pub async fn senders(secrets_file: Option<&Path>) -> Result<Senders> {
    let aws = AwsClients::load().await;
    let secrets: Arc<dyn SecretSource> = match secrets_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let map: BTreeMap<String, String> = toml::from_str(&text).with_context(|| {
                format!(
                    "{}: expected `\"<secret reference>\" = \"<value>\"` lines",
                    path.display()
                )
            })?;
            Arc::new(
                map.iter()
                    .fold(StaticSecrets::new(), |s, (k, v)| s.with(k, v)),
            )
        }
        None => Arc::new(CachedSecrets::new(
            AwsSecrets::new(aws.secrets_manager.clone(), aws.ssm.clone()),
            Duration::from_secs(300),
        )),
    };
    let policy = UrlPolicy::from_vars(|n| std::env::var(n).ok())?;
    let http = HttpClient::new(policy, secrets.clone()).map_err(anyhow::Error::msg)?;
    let local = Arc::new(LocalSender);
    let slack = gdalert_aws::slack_client(&http, None, None);
    Ok(gdalert_aws::remote_senders(&aws, &http, secrets, slack)
        .with("stdout", local.clone())
        .with("file", local))
}
