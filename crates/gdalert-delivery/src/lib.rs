//! gdalert's delivery path: how an alert leaves the process.
//!
//! Design, after Vector's sinks: one small client per destination kind
//! ([`SlackClient`], [`TeamsClient`], [`PagerDutyClient`], [`WebhookClient`],
//! [`SmtpClient`]; the AWS kinds live in `gdalert-aws`), each making exactly
//! one attempt, behind one shared path ([`Senders`]) that owns deadlines,
//! retries, `Retry-After` and the retryable/fatal verdict. A new kind is a
//! [`DestinationClient`] of a few dozen lines, and every kind is held to the
//! same fault tests (`tests/fault_matrix.rs`).
//!
//! Secrets are resolved at send time through a [`SecretSource`] and wrapped
//! in [`Secret`], which never prints its value. Webhook URLs are checked by
//! [`UrlPolicy`] before any byte is sent, and redirects are never followed.

pub mod http;
pub mod pagerduty;
pub mod retry;
pub mod secret;
pub mod senders;
pub mod slack;
pub mod smtp;
pub mod teams;
pub mod url_policy;
pub mod webhook;

pub use http::HttpClient;
pub use pagerduty::PagerDutyClient;
pub use retry::{Failure, RetryPolicy};
pub use secret::{CachedSecrets, Secret, SecretError, SecretSource, StaticSecrets};
pub use senders::{channel_of, DestinationClient, Senders};
pub use slack::SlackClient;
pub use smtp::SmtpClient;
pub use teams::TeamsClient;
pub use url_policy::{InvalidPolicyVar, UrlPolicy};
pub use webhook::WebhookClient;
