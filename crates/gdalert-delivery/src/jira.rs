//! Jira Cloud (REST API v3): an issue for a new alert, a comment for what
//! follows (update, escalation, resolution).
//!
//! The alert's issue is found in two ways, in order: the key remembered in
//! the store (`jira-issue/<destination>/<label>`, as Slack remembers its
//! thread), then a JQL search for the alert's label (`gdalert-<digest>`,
//! set on every issue gdalert creates). The search is what makes a retry
//! safe: an attempt that created the issue but never heard the answer (or
//! a run cut off before the store write) finds it and comments or stops,
//! instead of creating a second issue. Jira's search index can lag a
//! freshly created issue by a few seconds; the delivery claim's lease and
//! EventBridge's retry delay are both longer than that.
//!
//! A comment cannot be made idempotent this way (Jira has no request id
//! for it): a comment whose answer never arrived may appear twice.

use std::sync::Arc;

use base64::Engine;
use chrono::Utc;
use gdalert_pipeline::config::{Destination, DestinationKind, Jira, KindSettings};
use gdalert_pipeline::store::{expiry, Record, Store};
use gdalert_pipeline::{Alert, Payload};
use serde_json::{json, Value};

use crate::http::HttpClient;
use crate::retry::Failure;
use crate::senders::{json_body, json_bytes, wrong_kind, DestinationClient};

/// How long an issue key is remembered (as long as a finding's state).
const KEY_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// Jira Cloud client.
#[derive(Clone)]
pub struct JiraClient {
    http: HttpClient,
    keys: Option<Arc<dyn Store>>,
}

impl std::fmt::Debug for JiraClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiraClient").finish_non_exhaustive()
    }
}

impl JiraClient {
    /// `keys` remembers each alert's issue key; without a store every
    /// follow-up finds its issue by search.
    pub fn new(http: HttpClient, keys: Option<Arc<dyn Store>>) -> JiraClient {
        JiraClient { http, keys }
    }

    fn store_key(destination: &Destination, label: &str) -> String {
        format!("jira-issue/{}/{label}", destination.name)
    }

    async fn remembered(&self, destination: &Destination, label: &str) -> Option<String> {
        let store = self.keys.as_ref()?;
        let record = store
            .get(&Self::store_key(destination, label), Utc::now())
            .await
            .ok()??;
        record.record.value["key"].as_str().map(str::to_string)
    }

    async fn remember(&self, destination: &Destination, label: &str, key: &str) {
        let Some(store) = &self.keys else { return };
        let now = Utc::now();
        let record = Record {
            value: json!({ "key": key }),
            expires_at: expiry(now, KEY_TTL),
            due_at: None,
        };
        // First writer wins; the search finds the issue either way.
        let _ = store
            .put(&Self::store_key(destination, label), None, record, now)
            .await;
    }

    async fn post(
        &self,
        url: &str,
        auth: &str,
        body: &Value,
    ) -> Result<crate::http::Answer, Failure> {
        self.http
            .post_json(
                DestinationKind::Jira,
                url,
                &[
                    ("authorization", auth.to_string()),
                    ("accept", "application/json".to_string()),
                ],
                &json_bytes(body)?,
            )
            .await
    }

    /// The key of the issue labelled `label` in the project, oldest first.
    async fn search(
        &self,
        jira: &Jira,
        auth: &str,
        label: &str,
    ) -> Result<Option<String>, Failure> {
        // The label is gdalert's own digest and the project key is checked
        // at load: neither can end the JQL string.
        let query = json!({
            "jql": format!("project = \"{}\" AND labels = \"{label}\" ORDER BY created ASC", jira.project),
            "maxResults": 1,
            "fields": ["key"],
        });
        let url = format!("{}/rest/api/3/search/jql", jira.site);
        let answer = self.post(&url, auth, &query).await?;
        let found = answer
            .json()
            .and_then(|v| v["issues"][0]["key"].as_str().map(str::to_string));
        Ok(found)
    }
}

#[async_trait::async_trait]
impl DestinationClient for JiraClient {
    async fn attempt(
        &self,
        destination: &Destination,
        _alert: &Alert,
        payload: &Payload,
    ) -> Result<String, Failure> {
        let KindSettings::Jira(jira) = &destination.settings else {
            return Err(wrong_kind(destination, "Jira"));
        };
        let body = json_body(payload, "Jira")?;
        let label = body["label"]
            .as_str()
            .ok_or_else(|| Failure::fatal("the Jira payload has no label"))?;
        let token = self.http.secret(&jira.api_token).await?;
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                jira.email,
                token.expose()
            ))
        );
        let known = match self.remembered(destination, label).await {
            Some(key) => Some(key),
            None => {
                let found = self.search(jira, &auth, label).await?;
                if let Some(key) = &found {
                    self.remember(destination, label, key).await;
                }
                found
            }
        };
        match known {
            // The first alert's issue exists: an earlier attempt created it
            // and its answer was lost. Done, not a second issue or comment.
            Some(key) if body["opens"] == json!(true) => {
                Ok(format!("jira:{key} (already created)"))
            }
            Some(key) => {
                let url = format!("{}/rest/api/3/issue/{key}/comment", jira.site);
                let answer = self.post(&url, &auth, &body["comment"]).await?;
                let id = answer
                    .json()
                    .and_then(|v| v["id"].as_str().map(str::to_string))
                    .unwrap_or_default();
                Ok(format!("jira:{key}/comment/{id}"))
            }
            None if body["closes"] == json!(true) => {
                // A resolution with no issue to close: nothing to open.
                Ok("jira:no issue to comment on".to_string())
            }
            None => {
                let url = format!("{}/rest/api/3/issue", jira.site);
                let answer = self.post(&url, &auth, &body["issue"]).await?;
                let key = answer
                    .json()
                    .and_then(|v| v["key"].as_str().map(str::to_string))
                    .unwrap_or_default();
                if !key.is_empty() {
                    self.remember(destination, label, &key).await;
                }
                Ok(format!("jira:{key}"))
            }
        }
    }
}
