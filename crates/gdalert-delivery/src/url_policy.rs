//! Where webhooks may point.
//!
//! A webhook URL is a credential and a destination in one; a typo or a
//! tampered secret must not send alerts (attacker text included) to an
//! arbitrary host. By default each vendor kind may only reach that vendor's
//! hosts, over https. The allowlist is configurable
//! (`GDALERT_WEBHOOK_ALLOWED_HOSTS`); plain http is accepted only for
//! loopback and only when explicitly allowed (local test receivers).

use gdalert_pipeline::config::DestinationKind;
use url::{Host, Url};

/// Rules a webhook URL must pass before anything is sent.
#[derive(Debug, Clone, Default)]
pub struct UrlPolicy {
    /// Extra hosts (exact, or `*.suffix`) allowed for every webhook kind.
    pub extra_hosts: Vec<String>,
    /// Accept `http://127.0.0.1`/`localhost`/`[::1]` (tests, local receivers).
    pub allow_loopback_http: bool,
}

/// An environment variable of the URL policy with a value it cannot take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {name} is invalid: {reason}")]
pub struct InvalidPolicyVar {
    /// The variable.
    pub name: &'static str,
    /// What is wrong, and what to write instead.
    pub reason: String,
}

impl UrlPolicy {
    /// The policy from `GDALERT_WEBHOOK_ALLOWED_HOSTS` (comma-separated hosts
    /// or `*.suffix`) and `GDALERT_ALLOW_LOOPBACK_HTTP` (`true`/`1` or
    /// `false`/`0`; anything else is an error, not a silent `false`), read
    /// through `var` so the functions and the CLI read them alike.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<UrlPolicy, InvalidPolicyVar> {
        let allow_loopback_http = match var("GDALERT_ALLOW_LOOPBACK_HTTP").as_deref() {
            None | Some("") | Some("0") | Some("false") => false,
            Some("1") | Some("true") => true,
            Some(other) => {
                return Err(InvalidPolicyVar {
                    name: "GDALERT_ALLOW_LOOPBACK_HTTP",
                    reason: format!("{other:?}: use true or false"),
                })
            }
        };
        Ok(UrlPolicy {
            extra_hosts: var("GDALERT_WEBHOOK_ALLOWED_HOSTS")
                .map(|v| {
                    v.split(',')
                        .map(|h| h.trim().to_ascii_lowercase())
                        .filter(|h| !h.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            allow_loopback_http,
        })
    }
}

/// Each vendor's webhook hosts (exact or `*.suffix`).
pub fn vendor_hosts(kind: DestinationKind) -> &'static [&'static str] {
    match kind {
        DestinationKind::Slack => &["hooks.slack.com", "slack.com"],
        DestinationKind::Teams => &[
            "*.logic.azure.com",
            "*.webhook.office.com",
            "*.powerplatform.com",
            "*.api.powerplatform.com",
        ],
        DestinationKind::Pagerduty => &["events.pagerduty.com", "events.eu.pagerduty.com"],
        _ => &[],
    }
}

fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
        None => pattern.eq_ignore_ascii_case(host),
    }
}

impl UrlPolicy {
    /// Checks `url` for a destination of `kind`. Generic webhooks may go to
    /// any https host unless an allowlist is set. The error never repeats the
    /// URL (it may hold a token); it names the host and the rule.
    pub fn check(&self, kind: DestinationKind, url: &str) -> Result<Url, String> {
        let parsed =
            Url::parse(url).map_err(|e| format!("the webhook URL does not parse ({e})"))?;
        let host = parsed
            .host()
            .ok_or_else(|| "the webhook URL has no host".to_string())?;
        let loopback = match &host {
            Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
            Host::Ipv4(ip) => ip.is_loopback(),
            Host::Ipv6(ip) => ip.is_loopback(),
        };
        let host_text = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
        if loopback && self.allow_loopback_http {
            return Ok(parsed);
        }
        if parsed.scheme() != "https" {
            return Err(format!(
                "webhook URLs must use https (got {}:// to {host_text})",
                parsed.scheme()
            ));
        }
        let vendor = vendor_hosts(kind);
        let allowed = vendor
            .iter()
            .copied()
            .chain(self.extra_hosts.iter().map(String::as_str))
            .any(|p| host_matches(p, &host_text));
        let open = vendor.is_empty() && self.extra_hosts.is_empty();
        if allowed || open {
            Ok(parsed)
        } else {
            Err(format!(
                "host {host_text} is not allowed for {} webhooks (allowed: {}); add it to GDALERT_WEBHOOK_ALLOWED_HOSTS if it is yours",
                kind.as_str(),
                vendor
                    .iter()
                    .copied()
                    .chain(self.extra_hosts.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn a_loopback_flag_that_is_not_a_boolean_is_an_error_not_false() {
        let err =
            UrlPolicy::from_vars(vars(&[("GDALERT_ALLOW_LOOPBACK_HTTP", "yes")])).unwrap_err();
        assert_eq!(err.name, "GDALERT_ALLOW_LOOPBACK_HTTP");
        let policy = UrlPolicy::from_vars(vars(&[
            ("GDALERT_ALLOW_LOOPBACK_HTTP", "1"),
            ("GDALERT_WEBHOOK_ALLOWED_HOSTS", "A.example, *.b.example,"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(policy.allow_loopback_http);
        assert_eq!(policy.extra_hosts, ["a.example", "*.b.example"]);
    }

    #[test]
    fn vendor_kinds_reach_only_their_vendor_over_https() {
        let p = UrlPolicy::default();
        assert!(p
            .check(
                DestinationKind::Slack,
                "https://hooks.slack.com/services/T/B/X"
            )
            .is_ok());
        let err = p
            .check(
                DestinationKind::Slack,
                "https://evil.example/services/T/B/X",
            )
            .unwrap_err();
        assert!(
            err.contains("evil.example") && !err.contains("/services/"),
            "{err}"
        );
        assert!(p
            .check(
                DestinationKind::Slack,
                "http://hooks.slack.com/services/T/B/X"
            )
            .is_err());
        assert!(p
            .check(
                DestinationKind::Teams,
                "https://prod-01.westus.logic.azure.com/workflows/x"
            )
            .is_ok());
        assert!(p
            .check(
                DestinationKind::Teams,
                "https://logic.azure.com.evil.example/x"
            )
            .is_err());
        assert!(p
            .check(
                DestinationKind::Pagerduty,
                "https://events.pagerduty.com/v2/enqueue"
            )
            .is_ok());
        assert!(p
            .check(DestinationKind::Webhook, "https://siem.example/in")
            .is_ok());
    }

    #[test]
    fn loopback_http_needs_an_explicit_allowance() {
        let strict = UrlPolicy::default();
        assert!(strict
            .check(DestinationKind::Slack, "http://127.0.0.1:9000/hook")
            .is_err());
        let local = UrlPolicy {
            allow_loopback_http: true,
            ..UrlPolicy::default()
        };
        assert!(local
            .check(DestinationKind::Slack, "http://127.0.0.1:9000/hook")
            .is_ok());
        assert!(local
            .check(DestinationKind::Slack, "http://10.0.0.1:9000/hook")
            .is_err());
    }

    #[test]
    fn an_allowlist_extends_vendors_and_restricts_generic_webhooks() {
        let p = UrlPolicy {
            extra_hosts: vec!["*.corp.example".into()],
            allow_loopback_http: false,
        };
        assert!(p
            .check(DestinationKind::Slack, "https://chat.corp.example/x")
            .is_ok());
        assert!(p
            .check(DestinationKind::Webhook, "https://siem.corp.example/x")
            .is_ok());
        assert!(p
            .check(DestinationKind::Webhook, "https://other.example/x")
            .is_err());
    }
}
