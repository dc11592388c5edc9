//! gdalert's delivery path: how an alert leaves the process.
//!
//! Design, after Vector's sinks: one small client per destination kind
//! ([`SlackClient`], [`TeamsClient`], [`GoogleChatClient`],
//! [`PagerDutyClient`], [`WebhookClient`], [`SmtpClient`]; the AWS kinds live
//! in `gdalert-aws`), each making exactly one attempt, behind one shared path
//! ([`Senders`]) that owns deadlines, retries, `Retry-After` and the
//! retryable/fatal verdict. A new kind is a [`DestinationClient`] of a few
//! dozen lines. Every HTTP kind is held to the same fault tests
//! (`tests/fault_matrix.rs`, one line in `KINDS`); SMTP has its own
//! (`tests/smtp.rs`) and the AWS kinds theirs (`gdalert-aws/tests/moto.rs`).
//!
//! What a new kind takes today (Google Chat took this): a variant of
//! `DestinationKind` with its name and required settings
//! (`gdalert-pipeline/src/config.rs`), a renderer module and its line in
//! `render::render_noting`, a client module here, its line in
//! [`channel_of`], its vendor hosts in [`url_policy::vendor_hosts`], and
//! its registration in `gdalert_aws::remote_senders`. The compiler points
//! at the first three; the last three are strings and a list it cannot
//! check, which the fault matrix and the renderers' corpus catch.
//!
//! Secrets are resolved at send time through a [`SecretSource`] and wrapped
//! in [`Secret`], which never prints its value. Webhook URLs are checked by
//! [`UrlPolicy`] before any byte is sent, and redirects are never followed.

pub mod google_chat;
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

pub use google_chat::GoogleChatClient;
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
