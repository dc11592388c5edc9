//! `kind = "email"`: mail through SES or an SMTP server.

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::{is_email_address, DestinationKind, KindSettings, Reach, SecretRef};
use crate::config::Loader;

/// SES is an AWS API and SMTP is not HTTP: no URL to police.
pub const REACH: Reach = Reach::NotHttp;

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    to: Option<Vec<String>>,
    from: Option<String>,
    /// `ses` (default) or `smtp`.
    transport: Option<Spanned<String>>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    smtp_username: Option<String>,
    smtp_password_secret: Option<Spanned<String>>,
}

pub(super) fn check(
    loader: &mut Loader<'_>,
    name: &str,
    start: usize,
    raw: Raw,
) -> Option<KindSettings> {
    let kind = DestinationKind::Email;
    let to = raw.to.unwrap_or_default();
    if to.is_empty() {
        loader.needs(name, kind, start, "`to = [\"team@example.com\"]`");
    }
    if raw.from.is_none() {
        loader.needs(name, kind, start, "`from`");
    }
    for address in to.iter().chain(raw.from.iter()) {
        if !is_email_address(address) {
            loader.problem(
                start,
                format!("destination {name:?}: {address:?} is not an email address (name@domain.example)"),
            );
        }
    }
    let password = loader.secret(&raw.smtp_password_secret, "smtp_password_secret");
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
            loader.needs(name, kind, start, "`smtp_host` for transport \"smtp\"");
            return None;
        }
        (Some(other), _) => {
            let at = raw.transport.as_ref().map_or(start, |t| t.span().start);
            loader.problem(
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
