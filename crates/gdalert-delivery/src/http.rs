//! The HTTP client every webhook destination shares, and how its answers
//! are classified.

use std::sync::Arc;
use std::time::Duration;

use gdalert_pipeline::config::{DestinationKind, SecretRef};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use serde_json::Value;

use crate::retry::{parse_retry_after, Failure};
use crate::secret::{Secret, SecretSource};
use crate::url_policy::UrlPolicy;

/// One reqwest client (connection pool, rustls), the URL policy and the
/// secret source, built once per process and shared by all webhook clients.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    pub policy: UrlPolicy,
    pub secrets: Arc<dyn SecretSource>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// A webhook's answer, read in full (bodies are small).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

impl HttpClient {
    pub fn new(policy: UrlPolicy, secrets: Arc<dyn SecretSource>) -> Result<HttpClient, String> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("gdalert/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(5))
            // Never follow a redirect: a webhook that redirects elsewhere would
            // carry the alert past the host allowlist.
            .redirect(reqwest::redirect::Policy::none())
            // Names resolve to public addresses only (see `url_policy`).
            .dns_resolver(Arc::new(crate::url_policy::PublicOnlyResolver {
                policy: policy.clone(),
            }))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(HttpClient {
            client,
            policy,
            secrets,
        })
    }

    pub async fn secret(&self, reference: &SecretRef) -> Result<Secret, Failure> {
        self.secrets.read(reference).await
    }

    /// The destination's incoming-webhook URL (Slack, Teams, Google Chat),
    /// read from its secret reference.
    pub async fn webhook_url(
        &self,
        destination: &gdalert_pipeline::config::Destination,
    ) -> Result<Secret, Failure> {
        use gdalert_pipeline::config::{KindSettings, Slack};
        let hook = match &destination.settings {
            KindSettings::Teams(hook) | KindSettings::GoogleChat(hook) => &hook.webhook_url,
            KindSettings::Slack(Slack::Webhook { webhook_url }) => webhook_url,
            _ => return Err(crate::senders::wrong_kind(destination, "incoming-webhook")),
        };
        self.secret(hook).await
    }

    /// POSTs `body` as JSON to `url` (checked against the policy for
    /// `kind`) and classifies the answer: 2xx is returned, 429 and 5xx are
    /// retryable (with `Retry-After`), other statuses are fatal. Errors name
    /// the host, never the URL (webhook URLs are secrets).
    pub async fn post_json(
        &self,
        kind: DestinationKind,
        url: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<Answer, Failure> {
        let url = self.policy.check(kind, url).map_err(Failure::fatal)?;
        let host = url.host_str().unwrap_or_default().to_string();
        let secrets = secret_parts(&url, headers, body);
        let mut map = HeaderMap::new();
        map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| Failure::fatal(format!("bad header name {name}: {e}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| Failure::fatal(format!("bad header value for {name}: {e}")))?;
            map.insert(name, value);
        }
        let response = self
            .client
            .post(url)
            .headers(map)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| {
                let what = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "could not connect"
                } else {
                    "request failed"
                };
                // reqwest's Display includes the URL; keep only the kind of failure.
                Failure::retry(format!("{host}: {what}"))
            })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
        let body = match response.text().await {
            Ok(body) => body,
            // A 2xx is delivered whatever happens to its body after: retrying
            // would post the alert twice.
            Err(_) if (200..300).contains(&status) => String::new(),
            Err(_) => {
                return Err(Failure::retry(format!(
                    "{host}: HTTP {status}, body unreadable"
                )))
            }
        };
        let snippet: String = scrub(&body, &secrets).chars().take(200).collect();
        match status {
            200..=299 => Ok(Answer { status, body }),
            429 => Err(Failure::Retry {
                after: retry_after,
                message: format!(
                    "{host}: HTTP 429 rate limited{}",
                    match retry_after {
                        Some(d) => format!(" (Retry-After {}s)", d.as_secs()),
                        None => String::new(),
                    }
                ),
            }),
            500..=599 | 408 => Err(Failure::Retry {
                after: retry_after,
                message: format!("{host}: HTTP {status} {snippet}"),
            }),
            _ => Err(Failure::fatal(format!("{host}: HTTP {status} {snippet}"))),
        }
    }
}

/// What a receiver must never get to echo into our errors and logs: the
/// URL's path and query (webhook URLs are secrets), their longer segments,
/// header values (tokens), and request-body strings under secret-looking
/// keys (PagerDuty's `routing_key`).
fn secret_parts(url: &url::Url, headers: &[(&str, String)], body: &[u8]) -> Vec<String> {
    let mut parts = Vec::new();
    let path = url.path();
    if path.len() > 1 {
        parts.push(path.to_string());
        parts.extend(path.split('/').filter(|s| s.len() >= 6).map(str::to_string));
    }
    if let Some(query) = url.query().filter(|q| !q.is_empty()) {
        parts.push(query.to_string());
        parts.extend(
            query
                .split('&')
                .filter(|s| s.len() >= 6)
                .map(str::to_string),
        );
    }
    parts.extend(
        headers
            .iter()
            .map(|(_, v)| v.clone())
            .filter(|v| v.len() >= 8),
    );
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body) {
        for (key, value) in map {
            let key = key.to_ascii_lowercase();
            if key.contains("key") || key.contains("token") || key.contains("secret") {
                if let Some(v) = value.as_str().filter(|v| v.len() >= 6) {
                    parts.push(v.to_string());
                }
            }
        }
    }
    // Longest first, so a part inside another is not left half-shown.
    parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
    parts.dedup();
    parts
}

/// `text` with every secret part (and its percent-encoded form) replaced.
fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets {
        let encoded =
            percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        for form in [secret.as_str(), encoded.as_str()] {
            if !form.is_empty() && out.contains(form) {
                out = out.replace(form, "[redacted]");
            }
        }
    }
    out
}
