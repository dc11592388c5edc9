//! `--deliver`: the same senders the Lambda functions use, built for a laptop.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use gdalert_aws::{AwsClients, AwsSecrets};
use gdalert_delivery::{
    CachedSecrets, Channel, DestinationClient, Failure, HttpClient, SecretSource, Senders,
    StaticSecrets, UrlPolicy,
};
use gdalert_pipeline::config::{Config, Destination};
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
        // One failure type on both sides: nothing to translate.
        self.send(destination, alert, payload).await
    }
}

/// Every destination kind: AWS kinds through the SDK's standard
/// configuration, webhooks and SMTP directly, `stdout`/`file` locally.
/// Secrets come from `secrets_file` when given, else from AWS. Fails
/// before anything is sent when a destination of `config` cannot be served
/// (see `Senders::ready`).
pub async fn senders(config: &Config, secrets_file: Option<&Path>) -> Result<Senders> {
    let aws = AwsClients::load().await;
    let secrets: Arc<dyn SecretSource> = match secrets_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let map = read_secrets_file(path, &text)?;
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
    let senders = gdalert_aws::remote_senders(&aws, &http, secrets, slack, None)
        .with(Channel::Stdout, local.clone())
        .with(Channel::File, local);
    senders.ready(config).map_err(|problems| {
        anyhow::anyhow!(
            "cannot deliver to every destination of the routes file:\n  {}",
            problems.join("\n  ")
        )
    })?;
    Ok(senders)
}

/// Parses a secrets file. An error gives file:line:col and the parser's own
/// message, never the TOML error's display, which quotes the source line
/// (and with it a webhook URL or a key).
pub fn read_secrets_file(path: &Path, text: &str) -> Result<BTreeMap<String, String>> {
    toml::from_str(text).map_err(|e: toml::de::Error| {
        let (line, column) = e
            .span()
            .map(|s| gdalert_pattern::json::line_column(text, s.start))
            .unwrap_or((1, 1));
        anyhow::anyhow!(
            "{}:{line}:{column}: {} (expected `\"<secret reference>\" = \"<value>\"` lines; the line is not shown because it may hold a secret)",
            path.display(),
            e.message()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secrets_file_error_never_prints_the_line() {
        // Regression: an unquoted SSM name as key printed the whole line,
        // webhook URL included.
        let text = "/gdalert/slack = \"https://hooks.slack.com/services/T0/B0/SECRETPART\"\n";
        let err = read_secrets_file(Path::new("secrets.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("secrets.toml:1:"), "{err}");
        assert!(
            !err.contains("SECRETPART") && !err.contains("hooks.slack"),
            "{err}"
        );
    }
}
