//! Destinations: one variant per kind, each holding only its own settings.
//!
//! A `[destinations.NAME]` table is read in four steps, each with one home:
//!
//! 1. its `kind` picks the variant ([`DestinationKind::parse`]);
//! 2. one check over every key of the table refuses inline secrets
//!    ([`inline_secret`]), whatever the kind;
//! 3. the common keys (`timeout`, `templates`) are taken out;
//! 4. the rest is read as that kind's own table (unknown keys are an error
//!    that lists the kind's keys) and checked into the kind's settings, in
//!    which what the kind needs is not an `Option`.
//!
//! Clients therefore never re-check what validation checked: a Slack bot
//! destination has its token and channel by construction.
//!
//! Adding a kind: a variant in [`DestinationKind`] and [`KindSettings`], its
//! raw table and check below; the compiler then points at the renderer
//! dispatch, the vendor hosts and the delivery dispatch, each an exhaustive
//! `match`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::Loader;
use crate::severity::Band;

/// Where an alert can go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DestinationKind {
    Sns,
    Email,
    Slack,
    Teams,
    /// A Google Chat space's incoming webhook.
    GoogleChat,
    Pagerduty,
    Webhook,
    Eventbridge,
    Stdout,
    File,
    /// Jira Cloud: an issue per alert, comments for what follows.
    Jira,
}

impl DestinationKind {
    pub const ALL: [DestinationKind; 11] = [
        DestinationKind::Sns,
        DestinationKind::Email,
        DestinationKind::Slack,
        DestinationKind::Teams,
        DestinationKind::GoogleChat,
        DestinationKind::Pagerduty,
        DestinationKind::Webhook,
        DestinationKind::Eventbridge,
        DestinationKind::Stdout,
        DestinationKind::File,
        DestinationKind::Jira,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DestinationKind::Sns => "sns",
            DestinationKind::Email => "email",
            DestinationKind::Slack => "slack",
            DestinationKind::Teams => "teams",
            DestinationKind::GoogleChat => "google_chat",
            DestinationKind::Pagerduty => "pagerduty",
            DestinationKind::Webhook => "webhook",
            DestinationKind::Eventbridge => "eventbridge",
            DestinationKind::Stdout => "stdout",
            DestinationKind::File => "file",
            DestinationKind::Jira => "jira",
        }
    }

    /// The kind written `text` in a routes file.
    pub fn parse(text: &str) -> Option<DestinationKind> {
        DestinationKind::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
    }

    /// Whether delivering needs something outside this process (an AWS API,
    /// a webhook, a mail server). `stdout` and `file` do not.
    pub fn is_remote(self) -> bool {
        !matches!(self, DestinationKind::Stdout | DestinationKind::File)
    }
}

/// A reference to a secret, never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SecretRef {
    /// A Secrets Manager secret ARN.
    SecretsManager(String),
    /// An SSM Parameter Store parameter name (`/path/name`) or ARN.
    Parameter(String),
}

impl SecretRef {
    /// Accepts a Secrets Manager ARN or an SSM parameter name/ARN; anything else
    /// is taken to be an inline secret and refused.
    pub fn parse(text: &str) -> Option<SecretRef> {
        let arn = |service: &str| {
            text.starts_with("arn:")
                && text.split(':').nth(2) == Some(service)
                && text.split(':').count() >= 6
        };
        if arn("secretsmanager") {
            Some(SecretRef::SecretsManager(text.to_string()))
        } else if arn("ssm")
            || (text.starts_with('/') && text.len() > 1 && !text.contains(char::is_whitespace))
        {
            Some(SecretRef::Parameter(text.to_string()))
        } else {
            None
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            SecretRef::SecretsManager(s) | SecretRef::Parameter(s) => s,
        }
    }
}

/// Template overrides for a destination (minijinja). Values from the finding
/// are escaped for the destination's output format whatever the template says.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Templates {
    /// Replaces the headline (Slack header, email subject, SNS subject...).
    pub title: Option<String>,
    /// Replaces the main text block.
    pub text: Option<String>,
}

/// A destination, checked.
#[derive(Debug, Clone, Serialize)]
pub struct Destination {
    pub name: String,
    #[serde(skip)]
    pub timeout: Duration,
    pub templates: Templates,
    #[serde(flatten)]
    pub settings: KindSettings,
}

impl Destination {
    pub fn kind(&self) -> DestinationKind {
        self.settings.kind()
    }
}

/// What one kind needs, checked: one variant per kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KindSettings {
    Sns(Sns),
    Email(Email),
    Slack(Slack),
    Teams(IncomingWebhook),
    GoogleChat(IncomingWebhook),
    Pagerduty(Pagerduty),
    Webhook(Webhook),
    Eventbridge(Eventbridge),
    Stdout,
    File(File),
    Jira(Jira),
}

impl KindSettings {
    pub fn kind(&self) -> DestinationKind {
        match self {
            KindSettings::Sns(_) => DestinationKind::Sns,
            KindSettings::Email(_) => DestinationKind::Email,
            KindSettings::Slack(_) => DestinationKind::Slack,
            KindSettings::Teams(_) => DestinationKind::Teams,
            KindSettings::GoogleChat(_) => DestinationKind::GoogleChat,
            KindSettings::Pagerduty(_) => DestinationKind::Pagerduty,
            KindSettings::Webhook(_) => DestinationKind::Webhook,
            KindSettings::Eventbridge(_) => DestinationKind::Eventbridge,
            KindSettings::Stdout => DestinationKind::Stdout,
            KindSettings::File(_) => DestinationKind::File,
            KindSettings::Jira(_) => DestinationKind::Jira,
        }
    }
}

/// `kind = "sns"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sns {
    pub topic_arn: String,
}

/// `kind = "email"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Email {
    /// At least one address.
    pub to: Vec<String>,
    pub from: String,
    pub transport: EmailTransport,
}

/// How email leaves: SES (default) or an SMTP server.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "transport", rename_all = "snake_case")]
pub enum EmailTransport {
    Ses,
    Smtp(Smtp),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Smtp {
    pub host: String,
    pub port: Option<u16>,
    pub username: Option<String>,
    pub password: Option<SecretRef>,
}

/// `kind = "slack"`: an incoming webhook, or a bot token and channel
/// (`chat.postMessage`, which threads updates under the first alert).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Slack {
    Webhook {
        webhook_url: SecretRef,
    },
    Bot {
        bot_token: SecretRef,
        channel: String,
    },
}

/// `kind = "teams"` and `kind = "google_chat"`: an incoming webhook whose
/// URL is a secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncomingWebhook {
    pub webhook_url: SecretRef,
}

/// `kind = "pagerduty"` (Events API v2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pagerduty {
    pub routing_key: SecretRef,
    /// The Events API URL (`url`); PagerDuty's US endpoint when not given
    /// (`https://events.eu.pagerduty.com/v2/enqueue` for EU accounts).
    pub events_url: Option<String>,
}

/// `kind = "webhook"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Webhook {
    pub target: WebhookTarget,
    /// Key of the `x-gdalert-signature` HMAC.
    pub hmac_key: Option<SecretRef>,
}

/// Where a generic webhook posts: a URL without credentials, or one kept as
/// a secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookTarget {
    Url(String),
    Secret(SecretRef),
}

/// `kind = "eventbridge"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Eventbridge {
    /// Bus name or ARN; `default` when not given.
    pub event_bus: Option<String>,
}

/// `kind = "file"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct File {
    pub path: String,
}

/// `kind = "jira"`: Jira Cloud's REST API v3.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Jira {
    /// `https://<site>.atlassian.net`, without a path.
    pub site: String,
    /// The account the API token belongs to.
    pub email: String,
    pub api_token: SecretRef,
    /// Project key (`SEC`).
    pub project: String,
    /// Issue type name; default `Task`.
    pub issue_type: String,
    /// Labels added to every issue, besides gdalert's own.
    pub labels: Vec<String>,
    /// Priority name per severity band; a band not named sets no priority.
    pub priorities: BTreeMap<Band, String>,
}

impl Jira {
    /// Jira Cloud's default priority scheme.
    pub fn default_priorities() -> BTreeMap<Band, String> {
        [
            (Band::Critical, "Highest"),
            (Band::High, "High"),
            (Band::Medium, "Medium"),
            (Band::Low, "Low"),
            (Band::Informational, "Lowest"),
        ]
        .into_iter()
        .map(|(b, p)| (b, p.to_string()))
        .collect()
    }
}

/// Keys that hold a credential when written inline, and what to write
/// instead. Any other key ending in `_token`, `_key` or `_password` (and not
/// `_secret`) is taken for one too.
const INLINE_SECRET_KEYS: &[(&str, &str)] = &[
    ("webhook_url", "webhook_url_secret"),
    ("bot_token", "bot_token_secret"),
    ("routing_key", "routing_key_secret"),
    ("integration_key", "routing_key_secret"),
    ("password", "smtp_password_secret"),
    ("smtp_password", "smtp_password_secret"),
    ("token", "bot_token_secret"),
    ("secret", "<name>_secret"),
    ("hmac_key", "hmac_secret"),
    ("api_key", "<name>_secret"),
    ("api_token", "api_token_secret"),
];

/// Whether `key` holds a credential written inline, and what to write instead.
fn inline_secret(key: &str) -> Option<String> {
    if let Some((_, instead)) = INLINE_SECRET_KEYS.iter().find(|(k, _)| *k == key) {
        return Some(instead.to_string());
    }
    (["_token", "_key", "_password"]
        .iter()
        .any(|end| key.ends_with(end)))
    .then(|| format!("{key}_secret"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSns {
    topic_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmail {
    to: Option<Vec<String>>,
    from: Option<String>,
    /// `ses` (default) or `smtp`.
    transport: Option<Spanned<String>>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    smtp_username: Option<String>,
    smtp_password_secret: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlack {
    webhook_url_secret: Option<Spanned<String>>,
    bot_token_secret: Option<Spanned<String>>,
    channel: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIncomingWebhook {
    webhook_url_secret: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPagerduty {
    routing_key_secret: Option<Spanned<String>>,
    url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    url: Option<Spanned<String>>,
    url_secret: Option<Spanned<String>>,
    hmac_secret: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEventbridge {
    event_bus: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStdout {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    path: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJira {
    site: Option<Spanned<String>>,
    email: Option<String>,
    api_token_secret: Option<Spanned<String>>,
    project: Option<Spanned<String>>,
    issue_type: Option<String>,
    #[serde(default)]
    labels: Vec<Spanned<String>>,
    priorities: Option<BTreeMap<String, String>>,
}

impl Loader<'_> {
    /// Reads and checks `[destinations.NAME]`; `None` after reporting its
    /// problems.
    pub(super) fn destination(
        &mut self,
        name: &str,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<Destination> {
        let start = value.span().start;
        let DeValue::Table(table) = value.get_ref() else {
            self.problem(
                start,
                format!("destination {name:?} must be a table ([destinations.{name}])"),
            );
            return None;
        };
        let mut table = table.clone();
        let before = self.problems.len();
        let kinds = DestinationKind::ALL
            .map(|k| format!("{:?}", k.as_str()))
            .join(", ");
        let kind = match table.remove("kind") {
            None => {
                self.problem(
                    start,
                    format!("destination {name:?} needs `kind` (one of {kinds})"),
                );
                return None;
            }
            Some(kind) => match kind.get_ref().as_str().and_then(DestinationKind::parse) {
                Some(kind) => kind,
                None => {
                    self.problem(
                        kind.span().start,
                        format!("destination {name:?}: unknown kind; use one of {kinds}"),
                    );
                    return None;
                }
            },
        };
        // One check over every key, whatever the kind.
        // (The problem points at the value: that is what must not be there.)
        let keys: Vec<Spanned<String>> = table
            .iter()
            .map(|(k, v)| Spanned::new(v.span(), k.get_ref().to_string()))
            .collect();
        for key in keys {
            if let Some(instead) = inline_secret(key.get_ref()) {
                self.problem(
                    key.span().start,
                    format!(
                        "inline secret `{}` in destination {name:?}: secrets are given by reference only; write `{instead} = \"<Secrets Manager ARN or SSM parameter name>\"`",
                        key.get_ref()
                    ),
                );
                table.remove(key.get_ref().as_str());
            }
        }
        let timeout: Option<Spanned<String>> = self.take(name, kind, &mut table, "timeout");
        let templates: Option<Templates> = self.take(name, kind, &mut table, "templates");
        let timeout = self.nonzero_duration(
            &timeout,
            Duration::from_secs(10),
            "timeout = \"0s\" would fail every delivery at once",
        );
        let templates = templates.unwrap_or_default();
        self.check_templates(name, start, &templates);
        let rest = Spanned::new(value.span(), DeValue::Table(table));
        let settings = match kind {
            DestinationKind::Sns => self
                .read(name, kind, rest)
                .and_then(|r| self.sns(name, start, r)),
            DestinationKind::Email => self
                .read(name, kind, rest)
                .and_then(|r| self.email(name, start, r)),
            DestinationKind::Slack => self
                .read(name, kind, rest)
                .and_then(|r| self.slack(name, start, r)),
            DestinationKind::Teams => self
                .read(name, kind, rest)
                .and_then(|r| self.incoming_webhook(name, kind, start, r))
                .map(KindSettings::Teams),
            DestinationKind::GoogleChat => self
                .read(name, kind, rest)
                .and_then(|r| self.incoming_webhook(name, kind, start, r))
                .map(KindSettings::GoogleChat),
            DestinationKind::Pagerduty => self
                .read(name, kind, rest)
                .and_then(|r| self.pagerduty(name, start, r)),
            DestinationKind::Webhook => self
                .read(name, kind, rest)
                .and_then(|r| self.webhook(name, start, r)),
            DestinationKind::Eventbridge => self
                .read(name, kind, rest)
                .and_then(|r| self.eventbridge(name, start, r)),
            DestinationKind::Stdout => self
                .read::<RawStdout>(name, kind, rest)
                .map(|_| KindSettings::Stdout),
            DestinationKind::File => self
                .read(name, kind, rest)
                .and_then(|r| self.file(name, start, r)),
            DestinationKind::Jira => self
                .read(name, kind, rest)
                .and_then(|r| self.jira(name, start, r)),
        };
        if self.problems.len() > before {
            return None;
        }
        Some(Destination {
            name: name.to_string(),
            timeout,
            templates,
            settings: settings?,
        })
    }

    /// Takes `key` out of a destination's table and reads it.
    fn take<T: DeserializeOwned>(
        &mut self,
        name: &str,
        kind: DestinationKind,
        table: &mut DeTable<'_>,
        key: &str,
    ) -> Option<T> {
        let value = table.remove(key)?;
        self.read(name, kind, value)
    }

    /// Reads `value` as `T`, reporting where it does not fit.
    fn read<T: DeserializeOwned>(
        &mut self,
        name: &str,
        kind: DestinationKind,
        value: Spanned<DeValue<'_>>,
    ) -> Option<T> {
        let start = value.span().start;
        match T::deserialize(ValueDeserializer::from(value)) {
            Ok(value) => Some(value),
            Err(e) => {
                self.problem(
                    e.span().map_or(start, |s| s.start),
                    format!(
                        "destination {name:?} ({}): {}",
                        kind.as_str(),
                        e.message().trim_end()
                    ),
                );
                None
            }
        }
    }

    /// Reports that destination `name` of `kind` lacks `what`.
    fn needs(&mut self, name: &str, kind: DestinationKind, start: usize, what: &str) {
        self.problem(
            start,
            format!("destination {name:?} ({}) needs {what}", kind.as_str()),
        );
    }

    fn check_templates(&mut self, name: &str, start: usize, templates: &Templates) {
        for (which, template) in [("title", &templates.title), ("text", &templates.text)] {
            if let Some(Err(e)) = template.as_deref().map(|t| {
                minijinja::Environment::new()
                    .template_from_str(t)
                    .map(|_| ())
            }) {
                self.problem(
                    start,
                    format!("destination {name:?}: the `{which}` template does not compile: {e}"),
                );
            }
        }
    }

    fn sns(&mut self, name: &str, start: usize, raw: RawSns) -> Option<KindSettings> {
        let Some(topic_arn) = raw.topic_arn else {
            self.needs(name, DestinationKind::Sns, start, "`topic_arn`");
            return None;
        };
        Some(KindSettings::Sns(Sns { topic_arn }))
    }

    fn email(&mut self, name: &str, start: usize, raw: RawEmail) -> Option<KindSettings> {
        let kind = DestinationKind::Email;
        let to = raw.to.unwrap_or_default();
        if to.is_empty() {
            self.needs(name, kind, start, "`to = [\"team@example.com\"]`");
        }
        if raw.from.is_none() {
            self.needs(name, kind, start, "`from`");
        }
        for address in to.iter().chain(raw.from.iter()) {
            if !is_email_address(address) {
                self.problem(
                    start,
                    format!("destination {name:?}: {address:?} is not an email address (name@domain.example)"),
                );
            }
        }
        let password = self.secret(&raw.smtp_password_secret, "smtp_password_secret");
        let smtp = |host: String| {
            EmailTransport::Smtp(Smtp {
                host,
                port: raw.smtp_port,
                username: raw.smtp_username.clone(),
                password: password.clone(),
            })
        };
        let transport = match (
            raw.transport.as_ref().map(|t| t.get_ref().as_str()),
            raw.smtp_host.clone(),
        ) {
            (Some("ses"), _) => EmailTransport::Ses,
            (Some("smtp") | None, Some(host)) => smtp(host),
            (None, None) => EmailTransport::Ses,
            (Some("smtp"), None) => {
                self.needs(name, kind, start, "`smtp_host` for transport \"smtp\"");
                return None;
            }
            (Some(other), _) => {
                let at = raw.transport.as_ref().map_or(start, |t| t.span().start);
                self.problem(
                    at,
                    format!("unknown email transport {other:?}: \"ses\" or \"smtp\""),
                );
                return None;
            }
        };
        Some(KindSettings::Email(Email {
            to,
            from: raw.from?,
            transport,
        }))
    }

    fn slack(&mut self, name: &str, start: usize, raw: RawSlack) -> Option<KindSettings> {
        let kind = DestinationKind::Slack;
        let webhook_url = self.secret(&raw.webhook_url_secret, "webhook_url_secret");
        let bot_token = self.secret(&raw.bot_token_secret, "bot_token_secret");
        if raw.bot_token_secret.is_some() {
            let Some(channel) = raw.channel else {
                self.needs(name, kind, start, "`channel` with `bot_token_secret`");
                return None;
            };
            return Some(KindSettings::Slack(Slack::Bot {
                bot_token: bot_token?,
                channel,
            }));
        }
        if raw.webhook_url_secret.is_none() {
            self.needs(
                name,
                kind,
                start,
                "`webhook_url_secret`, or `bot_token_secret` with `channel`",
            );
        }
        Some(KindSettings::Slack(Slack::Webhook {
            webhook_url: webhook_url?,
        }))
    }

    fn incoming_webhook(
        &mut self,
        name: &str,
        kind: DestinationKind,
        start: usize,
        raw: RawIncomingWebhook,
    ) -> Option<IncomingWebhook> {
        if raw.webhook_url_secret.is_none() {
            self.needs(name, kind, start, "`webhook_url_secret`");
        }
        Some(IncomingWebhook {
            webhook_url: self.secret(&raw.webhook_url_secret, "webhook_url_secret")?,
        })
    }

    fn pagerduty(&mut self, name: &str, start: usize, raw: RawPagerduty) -> Option<KindSettings> {
        if raw.routing_key_secret.is_none() {
            self.needs(
                name,
                DestinationKind::Pagerduty,
                start,
                "`routing_key_secret`",
            );
        }
        Some(KindSettings::Pagerduty(Pagerduty {
            routing_key: self.secret(&raw.routing_key_secret, "routing_key_secret")?,
            events_url: raw.url,
        }))
    }

    fn webhook(&mut self, name: &str, start: usize, raw: RawWebhook) -> Option<KindSettings> {
        let hmac_key = self.secret(&raw.hmac_secret, "hmac_secret");
        let target = match (&raw.url, self.secret(&raw.url_secret, "url_secret")) {
            (_, Some(secret)) => WebhookTarget::Secret(secret),
            (Some(url), None) => {
                if url_has_credentials(url.get_ref()) {
                    self.problem(
                        url.span().start,
                        format!("inline secret in `url` of destination {name:?}: the URL carries credentials; put it in Secrets Manager and write `url_secret = \"<ARN>\"`"),
                    );
                }
                WebhookTarget::Url(url.get_ref().clone())
            }
            (None, None) => {
                if raw.url_secret.is_none() {
                    self.needs(
                        name,
                        DestinationKind::Webhook,
                        start,
                        "`url` or `url_secret`",
                    );
                }
                return None;
            }
        };
        Some(KindSettings::Webhook(Webhook { target, hmac_key }))
    }

    fn eventbridge(
        &mut self,
        name: &str,
        start: usize,
        raw: RawEventbridge,
    ) -> Option<KindSettings> {
        if let Some(bus) = raw.event_bus.as_deref().filter(|b| !is_event_bus(b)) {
            self.problem(
                start,
                format!("destination {name:?}: {bus:?} is not an event bus name or ARN (letters, digits, . - _ /, up to 256)"),
            );
        }
        Some(KindSettings::Eventbridge(Eventbridge {
            event_bus: raw.event_bus,
        }))
    }

    fn file(&mut self, name: &str, start: usize, raw: RawFile) -> Option<KindSettings> {
        let Some(path) = raw.path else {
            self.needs(name, DestinationKind::File, start, "`path`");
            return None;
        };
        Some(KindSettings::File(File { path }))
    }

    fn jira(&mut self, name: &str, start: usize, raw: RawJira) -> Option<KindSettings> {
        let kind = DestinationKind::Jira;
        for (missing, what) in [
            (
                raw.site.is_none(),
                "`site = \"https://<your-site>.atlassian.net\"`",
            ),
            (
                raw.email.is_none(),
                "`email` (the account the API token belongs to)",
            ),
            (raw.api_token_secret.is_none(), "`api_token_secret`"),
            (
                raw.project.is_none(),
                "`project` (a project key such as \"SEC\")",
            ),
        ] {
            if missing {
                self.needs(name, kind, start, what);
            }
        }
        let api_token = self.secret(&raw.api_token_secret, "api_token_secret");
        if let Some(site) = &raw.site {
            if !is_jira_site(site.get_ref()) {
                self.problem(
                    site.span().start,
                    format!("destination {name:?}: site {:?} is not a Jira Cloud site; write `https://<your-site>.atlassian.net` (no path)", site.get_ref()),
                );
            }
        }
        if let Some(email) = raw.email.as_deref().filter(|e| !is_email_address(e)) {
            self.problem(
                start,
                format!(
                    "destination {name:?}: {email:?} is not an email address (name@domain.example)"
                ),
            );
        }
        if let Some(project) = &raw.project {
            let p = project.get_ref();
            let ok = p.len() <= 255
                && p.starts_with(|c: char| c.is_ascii_uppercase())
                && p.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                self.problem(
                    project.span().start,
                    format!("destination {name:?}: project {p:?} is not a Jira project key (upper-case letters, digits and _, starting with a letter)"),
                );
            }
        }
        for label in &raw.labels {
            let l = label.get_ref();
            if l.is_empty() || l.len() > 255 || l.contains(char::is_whitespace) {
                self.problem(
                    label.span().start,
                    format!("destination {name:?}: label {l:?} cannot be a Jira label (no spaces, 1 to 255 characters)"),
                );
            }
        }
        let mut priorities = Jira::default_priorities();
        if let Some(given) = raw.priorities {
            priorities.clear();
            for (band, priority) in given {
                match Band::parse(&band) {
                    Some(band) => {
                        priorities.insert(band, priority);
                    }
                    None => self.problem(
                        start,
                        format!("destination {name:?}: priorities.{band} is not a severity band (critical, high, medium, low, informational)"),
                    ),
                }
            }
        }
        Some(KindSettings::Jira(Jira {
            site: raw.site?.into_inner().trim_end_matches('/').to_string(),
            email: raw.email?,
            api_token: api_token?,
            project: raw.project?.into_inner(),
            issue_type: raw.issue_type.unwrap_or_else(|| "Task".into()),
            labels: raw.labels.into_iter().map(Spanned::into_inner).collect(),
            priorities,
        }))
    }
}

/// A site URL: `https://NAME.atlassian.net` in production, with no path,
/// query or credentials. Which hosts may be reached is the URL policy's
/// call (`*.atlassian.net`, or a loopback test site where allowed).
fn is_jira_site(text: &str) -> bool {
    let text = text.trim_end_matches('/');
    let Some(rest) = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
    else {
        return false;
    };
    !rest.is_empty() && !rest.contains(['/', '?', '#', '@', ' '])
}

/// A URL with a user/password or a token-like query parameter.
pub(crate) fn url_has_credentials(url: &str) -> bool {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return true;
    }
    let Some((_, query)) = url.split_once('?') else {
        return false;
    };
    query.split('&').any(|pair| {
        let key = pair.split('=').next().unwrap_or("").to_ascii_lowercase();
        [
            "token",
            "key",
            "secret",
            "sig",
            "signature",
            "password",
            "code",
            "apikey",
            "api_key",
        ]
        .iter()
        .any(|word| key == *word || key.ends_with(&format!("_{word}")))
    })
}

/// `name@domain.tld`, no spaces or control characters: what SES and SMTP
/// servers accept as an address (display names are not taken here).
pub(crate) fn is_email_address(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c))
}

/// An EventBridge bus name (`[/.\-_A-Za-z0-9]{1,256}`) or a bus ARN.
pub(crate) fn is_event_bus(text: &str) -> bool {
    if text.starts_with("arn:") {
        return text.contains(":events:") && text.contains(":event-bus/");
    }
    !text.is_empty()
        && text.len() <= 256
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_name() {
        for kind in DestinationKind::ALL {
            assert_eq!(DestinationKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(DestinationKind::parse("googlechat"), None);
    }

    #[test]
    fn keys_that_hold_credentials_are_caught_by_name_for_every_kind() {
        for key in [
            "webhook_url",
            "token",
            "api_token",
            "oauth_token",
            "signing_key",
            "smtp_password",
        ] {
            assert!(inline_secret(key).is_some(), "{key}");
        }
        for key in [
            "webhook_url_secret",
            "api_token_secret",
            "channel",
            "url",
            "site",
            "email",
        ] {
            assert!(inline_secret(key).is_none(), "{key}");
        }
        assert_eq!(
            inline_secret("api_token").as_deref(),
            Some("api_token_secret")
        );
    }

    fn problems(destination: &str) -> Vec<String> {
        let text = format!(
            "[destinations.d]\n{destination}\n\n[[routes]]\nname = \"all\"\ndestinations = [\"d\"]\n"
        );
        match crate::config::Config::load("routes.toml", &text, &BTreeMap::new()) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn a_jira_destination_says_what_it_lacks_and_refuses_an_inline_token() {
        let found = problems("kind = \"jira\"\nsite = \"https://acme.atlassian.net/jira\"\napi_token = \"ATATT3x\"\nproject = \"sec\"");
        let all = found.join("\n");
        assert!(all.contains("routes.toml:4:13: inline secret `api_token` in destination \"d\": secrets are given by reference only; write `api_token_secret = "), "{all}");
        assert!(all.contains("needs `email`"), "{all}");
        assert!(all.contains("needs `api_token_secret`"), "{all}");
        assert!(all.contains("routes.toml:3:8: destination \"d\": site \"https://acme.atlassian.net/jira\" is not a Jira Cloud site"), "{all}");
        assert!(
            all.contains(
                "routes.toml:5:11: destination \"d\": project \"sec\" is not a Jira project key"
            ),
            "{all}"
        );
        let ok = "kind = \"jira\"\nsite = \"https://acme.atlassian.net\"\nemail = \"bot@acme.example\"\napi_token_secret = \"/gdalert/jira\"\nproject = \"SEC\"";
        assert_eq!(problems(ok), Vec::<String>::new());
        let bad_band = format!("{ok}\npriorities = {{ urgent = \"Highest\" }}");
        assert!(
            problems(&bad_band)[0].contains("priorities.urgent is not a severity band"),
            "{:?}",
            problems(&bad_band)
        );
    }

    #[test]
    fn a_key_of_another_kind_is_an_error_that_lists_the_kinds_own_keys() {
        let found = problems("kind = \"teams\"\nwebhook_url_secret = \"/t\"\nchannel = \"C1\"");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("routes.toml:4:1: destination \"d\" (teams): unknown field `channel`, expected `webhook_url_secret`"), "{found:?}");
        let found = problems("kind = \"slak\"");
        assert!(
            found[0].contains("unknown kind; use one of \"sns\", \"email\""),
            "{found:?}"
        );
        let found = problems("kind = \"slack\"\nbot_token_secret = \"/b\"");
        assert!(
            found[0].contains("needs `channel` with `bot_token_secret`"),
            "{found:?}"
        );
    }

    #[test]
    fn a_jira_site_is_a_bare_origin() {
        assert!(is_jira_site("https://acme.atlassian.net"));
        assert!(is_jira_site("https://acme-sec.atlassian.net/"));
        assert!(!is_jira_site("acme.atlassian.net"));
        assert!(!is_jira_site("https://acme.atlassian.net/jira"));
        assert!(!is_jira_site("https://user:pw@acme.atlassian.net"));
        assert!(!is_jira_site("https://acme.atlassian.net?x=1"));
    }
}
