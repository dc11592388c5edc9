//! Email over SMTP (lettre), for teams without SES.
//!
//! STARTTLS is required for every host but loopback; a relay on
//! `localhost` (a sidecar, a test sink) is spoken to in plain text.

use std::net::IpAddr;
use std::sync::Arc;

use gdalert_pipeline::config::{Destination, Email, EmailTransport, KindSettings};
use gdalert_pipeline::{Alert, Payload};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::retry::Failure;
use crate::secret::SecretSource;
use crate::senders::{wrong_kind, DestinationClient};

/// SMTP client.
#[derive(Clone)]
pub struct SmtpClient {
    secrets: Arc<dyn SecretSource>,
}

impl std::fmt::Debug for SmtpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpClient").finish_non_exhaustive()
    }
}

impl SmtpClient {
    pub fn new(secrets: Arc<dyn SecretSource>) -> SmtpClient {
        SmtpClient { secrets }
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Builds the message; addresses come from the routes file.
pub fn message(
    settings: &Email,
    subject: &str,
    text: &str,
    html: &str,
) -> Result<Message, Failure> {
    let from: Mailbox = settings
        .from
        .parse()
        .map_err(|e| Failure::fatal(format!("bad `from` address: {e}")))?;
    let mut builder = Message::builder().from(from).subject(subject);
    for to in &settings.to {
        let to: Mailbox = to
            .parse()
            .map_err(|e| Failure::fatal(format!("bad `to` address {to:?}: {e}")))?;
        builder = builder.to(to);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            text.to_string(),
            html.to_string(),
        ))
        .map_err(|e| Failure::fatal(format!("cannot build the email: {e}")))
}

#[async_trait::async_trait]
impl DestinationClient for SmtpClient {
    async fn attempt(
        &self,
        destination: &Destination,
        _alert: &Alert,
        payload: &Payload,
    ) -> Result<String, Failure> {
        let Payload::Email {
            subject,
            text,
            html,
        } = payload
        else {
            return Err(Failure::fatal("email needs an email payload"));
        };
        let KindSettings::Email(
            settings @ Email {
                transport: EmailTransport::Smtp(smtp),
                ..
            },
        ) = &destination.settings
        else {
            return Err(wrong_kind(destination, "SMTP email"));
        };
        let email = message(settings, subject, text, html)?;
        let host = smtp.host.as_str();
        let mut builder = if is_loopback(host) {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        } else {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| Failure::fatal(format!("SMTP TLS setup for {host}: {e}")))?
        };
        if let Some(port) = smtp.port {
            builder = builder.port(port);
        }
        builder = builder.timeout(Some(destination.timeout));
        if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
            let password = self.secrets.read(password).await?;
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose().to_string(),
            ));
        }
        let transport = builder.build();
        match transport.send(email).await {
            Ok(response) => Ok(format!("smtp:{}", response.code())),
            // A 5xx reply, or a client-side refusal such as "no compatible
            // authentication mechanism": the settings must change.
            Err(e) if e.is_permanent() || e.is_client() => {
                Err(Failure::fatal(format!("SMTP {host}: {e}")))
            }
            Err(e) => Err(Failure::retry(format!("SMTP {host}: {e}"))),
        }
    }
}
