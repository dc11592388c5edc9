//! Destinations: one variant per kind, each holding only its own settings.
//!
//! A `[destinations.NAME]` table is read in four steps, each with one home:
//!
//! 1. its `kind` picks the variant ([`DestinationKind::parse`]);
//! 2. one check over every key of the table refuses inline secrets
//!    ([`inline_secret`]), whatever the kind;
//! 3. the common keys (`timeout`, `templates`) are taken out;
//! 4. the rest is read as that kind's own table (`Raw` in the kind's module;
//!    unknown keys are an error that lists the kind's keys) and checked by
//!    the module's `check` into the kind's settings, in which what the kind
//!    needs is not an `Option`.
//!
//! Clients therefore never re-check what validation checked: a Slack bot
//! destination has its token and channel by construction.
//!
//! Each kind has one module here, named after it, holding its settings,
//! their validation and which hosts it may reach ([`Reach`]). Adding a
//! kind: that module, and a line in [`DestinationKind`], [`KindSettings`],
//! [`DestinationKind::reach`] and the dispatch in `Loader::destination`;
//! the compiler then points at the renderer and delivery dispatches, each an
//! exhaustive `match`.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::Loader;

mod email;
mod eventbridge;
mod file;
mod google_chat;
mod incoming_webhook;
mod jira;
mod pagerduty;
mod slack;
mod sns;
mod stdout;
mod teams;
mod webhook;

pub use email::{Email, EmailTransport, Smtp};
pub use eventbridge::Eventbridge;
pub use file::File;
pub use incoming_webhook::IncomingWebhook;
pub use jira::Jira;
pub use pagerduty::Pagerduty;
pub use slack::Slack;
pub use sns::Sns;
pub use webhook::{Webhook, WebhookTarget};

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

    /// Which hosts this kind's HTTP requests may reach, as its module says.
    pub fn reach(self) -> Reach {
        match self {
            DestinationKind::Sns => sns::REACH,
            DestinationKind::Email => email::REACH,
            DestinationKind::Slack => slack::REACH,
            DestinationKind::Teams => teams::REACH,
            DestinationKind::GoogleChat => google_chat::REACH,
            DestinationKind::Pagerduty => pagerduty::REACH,
            DestinationKind::Webhook => webhook::REACH,
            DestinationKind::Eventbridge => eventbridge::REACH,
            DestinationKind::Stdout => stdout::REACH,
            DestinationKind::File => file::REACH,
            DestinationKind::Jira => jira::REACH,
        }
    }

    /// Whether delivering needs something outside this process (an AWS API,
    /// a webhook, a mail server). `stdout` and `file` do not.
    pub fn is_remote(self) -> bool {
        !matches!(self, DestinationKind::Stdout | DestinationKind::File)
    }
}

/// Which hosts a kind's HTTP requests may reach: each kind says so in its
/// module, and there is no default, so a new kind cannot fall through to
/// "any host". The URL policy (in the delivery crate) enforces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Only its vendor's hosts (exact or `*.suffix`), plus any named in
    /// `GDALERT_WEBHOOK_ALLOWED_HOSTS`.
    Vendor(&'static [&'static str]),
    /// Any public https host, unless an allowlist is set (generic webhooks).
    AnyPublicHost,
    /// The kind sends nothing over HTTP (AWS SDK, SMTP, local output).
    NotHttp,
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
            DestinationKind::Sns => self.kind_table(name, kind, start, rest, sns::check),
            DestinationKind::Email => self.kind_table(name, kind, start, rest, email::check),
            DestinationKind::Slack => self.kind_table(name, kind, start, rest, slack::check),
            DestinationKind::Teams => self.kind_table(name, kind, start, rest, teams::check),
            DestinationKind::GoogleChat => {
                self.kind_table(name, kind, start, rest, google_chat::check)
            }
            DestinationKind::Pagerduty => {
                self.kind_table(name, kind, start, rest, pagerduty::check)
            }
            DestinationKind::Webhook => self.kind_table(name, kind, start, rest, webhook::check),
            DestinationKind::Eventbridge => {
                self.kind_table(name, kind, start, rest, eventbridge::check)
            }
            DestinationKind::Stdout => self.kind_table(name, kind, start, rest, stdout::check),
            DestinationKind::File => self.kind_table(name, kind, start, rest, file::check),
            DestinationKind::Jira => self.kind_table(name, kind, start, rest, jira::check),
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

    /// Reads the rest of a destination's table as its kind's own table
    /// (`Raw` in the kind's module) and checks it with the module's `check`.
    fn kind_table<R: DeserializeOwned>(
        &mut self,
        name: &str,
        kind: DestinationKind,
        start: usize,
        rest: Spanned<DeValue<'_>>,
        check: fn(&mut Self, &str, usize, R) -> Option<KindSettings>,
    ) -> Option<KindSettings> {
        let raw = self.read(name, kind, rest)?;
        check(self, name, start, raw)
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
    use std::collections::BTreeMap;

    #[test]
    fn every_kind_reads_back_from_its_name() {
        for kind in DestinationKind::ALL {
            assert_eq!(DestinationKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(DestinationKind::parse("googlechat"), None);
    }

    /// The layout this module's docs promise: a kind is found by its name.
    #[test]
    fn every_kind_has_its_own_module_named_after_it() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config/destination");
        for kind in DestinationKind::ALL {
            let module = dir.join(format!("{}.rs", kind.as_str()));
            assert!(
                module.is_file(),
                "{} has no module {}",
                kind.as_str(),
                module.display()
            );
            let text = std::fs::read_to_string(&module).unwrap_or_default();
            assert!(
                text.contains("pub const REACH: Reach"),
                "{} does not say which hosts it may reach",
                module.display()
            );
        }
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

    pub(super) fn problems(destination: &str) -> Vec<String> {
        let text = format!(
            "[destinations.d]\n{destination}\n\n[[routes]]\nname = \"all\"\ndestinations = [\"d\"]\n"
        );
        match crate::config::Config::load("routes.toml", &text, &BTreeMap::new()) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems.iter().map(|p| p.to_string()).collect(),
        }
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
}
