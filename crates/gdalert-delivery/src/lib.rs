//! gdalert's delivery path: how an alert leaves the process.
//!
//! Design, after Vector's sinks: one small client per destination kind
//! ([`SlackClient`], [`TeamsClient`], [`GoogleChatClient`],
//! [`PagerDutyClient`], [`JiraClient`], [`WebhookClient`], [`SmtpClient`];
//! the AWS kinds live in `gdalert-aws`), each making exactly one attempt,
//! behind one shared path ([`Senders`]) that owns deadlines, retries,
//! `Retry-After` and the retryable/fatal verdict. A client reads its kind's
//! checked settings (`gdalert_pipeline::config::KindSettings`), in which what
//! the kind needs is not optional, and every failure is one
//! [`Failure`]. Every remote kind, the AWS kinds and SMTP included, passes
//! one compliance harness (`gdalert-aws/tests/compliance.rs`: one line in
//! `KINDS` and the service's answers), which goes through the production
//! registry; `tests/smtp.rs` and `gdalert-aws/tests/moto.rs` add the real
//! servers' side (a real SMTP sink, the local AWS API server).
//!
//! What a new kind takes (Jira took this): one module per layer, each with
//! its registration line. In the pipeline, `config/destination/<kind>.rs`
//! (its settings, their check, and `REACH`, which hosts it may reach; there
//! is no "any host" default), registered in `DestinationKind`,
//! `KindSettings` and the loader's dispatch; `render/<kind>.rs`, registered
//! in `render::render_noting`. Here, a client module, registered in
//! [`channel_of`]; and in `gdalert_aws::remote_senders`. The compiler
//! points at every `match` a new variant must fill; the registration is the
//! one line it cannot check: [`Senders::ready`] refuses a routes file with
//! a destination no client serves at start-up, and the harness fails.
//!
//! Secrets are resolved at send time through a [`SecretSource`] and wrapped
//! in [`Secret`], which never prints its value. Webhook URLs are checked by
//! [`UrlPolicy`] before any byte is sent, and redirects are never followed.

pub mod google_chat;
pub mod http;
pub mod jira;
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
pub use jira::JiraClient;
pub use pagerduty::PagerDutyClient;
pub use retry::{Failure, RetryPolicy};
pub use secret::{CachedSecrets, Secret, SecretSource, StaticSecrets};
pub use senders::{channel_of, Channel, DestinationClient, Senders};
pub use slack::SlackClient;
pub use smtp::SmtpClient;
pub use teams::TeamsClient;
pub use url_policy::{InvalidPolicyVar, UrlPolicy};
pub use webhook::WebhookClient;
