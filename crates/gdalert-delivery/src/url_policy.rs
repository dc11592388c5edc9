//! Where webhooks may point.
//!
//! A webhook URL is a credential and a destination in one; a typo or a
//! tampered secret must not send alerts (attacker text included) to an
//! arbitrary host. By default each vendor kind may only reach that vendor's
//! hosts (its module under `gdalert_pipeline::config` says which, as a
//! `Reach`), over https. The allowlist is configurable
//! (`GDALERT_WEBHOOK_ALLOWED_HOSTS`); plain http is accepted only for
//! loopback and only when explicitly allowed (local test receivers).
//!
//! No kind may reach a loopback, private, link-local (the instance metadata
//! service at 169.254.169.254), carrier-grade NAT, unique-local or other
//! non-public address unless `GDALERT_WEBHOOK_ALLOWED_HOSTS` names the host:
//! IP literals in any spelling (`2130706433`, `[::ffff:10.0.0.1]`) are
//! refused by [`UrlPolicy::check`], and names are resolved by
//! [`PublicOnlyResolver`], so the address actually connected to is the
//! address that was checked (no DNS rebinding between check and connect).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use gdalert_pipeline::config::{DestinationKind, Reach};
use url::{Host, Url};

/// Whether `ip` is on the public internet: not loopback, private,
/// link-local, shared (CGNAT), unspecified, multicast, broadcast,
/// documentation, benchmarking or reserved space, in v4 or v6 (v4-mapped
/// and NAT64 addresses are judged by the v4 address inside).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                let o = v6.octets();
                return is_public_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || v6 == Ipv6Addr::from([0u16, 0, 0, 0, 0, 0, 0, 1]))
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0 // "this network"
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // shared address space 100.64/10
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18/15
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || o[0] >= 240) // reserved
}

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
        let named = self.extra_hosts.iter().any(|p| host_matches(p, &host_text));
        let ip = match &host {
            Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
            Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
            Host::Domain(d) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                // `localhost.`, `x.localhost`: loopback by definition.
                (d == "localhost" || d.ends_with(".localhost"))
                    .then_some(IpAddr::V4(Ipv4Addr::LOCALHOST))
            }
        };
        if let Some(ip) = ip.filter(|ip| !is_public(*ip) && !named) {
            return Err(format!(
                "host {host_text} is a loopback, private or link-local address ({ip}); webhooks go to public hosts only, unless GDALERT_WEBHOOK_ALLOWED_HOSTS names it"
            ));
        }
        if parsed.scheme() != "https" {
            return Err(format!(
                "webhook URLs must use https (got {}:// to {host_text})",
                parsed.scheme()
            ));
        }
        let (vendor, any_host): (&[&str], bool) = match kind.reach() {
            Reach::Vendor(hosts) => (hosts, false),
            Reach::AnyPublicHost => (&[], true),
            Reach::NotHttp => {
                return Err(format!(
                    "{} destinations do not post over HTTP",
                    kind.as_str()
                ))
            }
        };
        let allowed = vendor
            .iter()
            .copied()
            .chain(self.extra_hosts.iter().map(String::as_str))
            .any(|p| host_matches(p, &host_text));
        let open = any_host && self.extra_hosts.is_empty();
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

/// Resolves webhook host names, keeping only public addresses unless the
/// name is on the allowlist (or is `localhost` with loopback allowed). The
/// HTTP client connects only to what this returns.
#[derive(Debug, Clone)]
pub struct PublicOnlyResolver {
    pub policy: UrlPolicy,
}

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        let named = self
            .policy
            .extra_hosts
            .iter()
            .any(|p| host_matches(p, &host));
        let loopback_ok = self.policy.allow_loopback_http && host == "localhost";
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = all
                .iter()
                .copied()
                .filter(|a| named || loopback_ok || is_public(a.ip()))
                .collect();
            if kept.is_empty() {
                let err: Box<dyn std::error::Error + Send + Sync> = format!(
                    "{host} resolves only to loopback, private or link-local addresses; webhooks go to public hosts only, unless GDALERT_WEBHOOK_ALLOWED_HOSTS names it"
                )
                .into();
                return Err(err);
            }
            let addrs: reqwest::dns::Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_in_every_spelling() {
        let policy = UrlPolicy::default();
        for url in [
            "https://169.254.169.254/latest/meta-data/",
            "https://10.0.0.1/hook",
            "https://127.0.0.1/hook",
            "https://[::1]/hook",
            "https://2130706433/hook",
            "https://0x7f.1/hook",
            "https://localhost./hook",
            "https://a.localhost/hook",
            "https://[::ffff:10.0.0.1]/hook",
            "https://[fd00::1]/hook",
            "https://100.64.0.1/hook",
        ] {
            let err = policy.check(DestinationKind::Webhook, url).expect_err(url);
            assert!(err.contains("public hosts only"), "{url}: {err}");
        }
        assert!(policy
            .check(DestinationKind::Webhook, "https://203.0.114.7/hook")
            .is_ok());
        // Named on the allowlist: an internal receiver is the owner's choice.
        let internal = UrlPolicy {
            extra_hosts: vec!["10.0.0.1".into()],
            allow_loopback_http: false,
        };
        assert!(internal
            .check(DestinationKind::Webhook, "https://10.0.0.1/hook")
            .is_ok());
    }

    #[tokio::test]
    async fn names_that_resolve_to_internal_addresses_are_refused() {
        use reqwest::dns::Resolve;
        let resolver = PublicOnlyResolver {
            policy: UrlPolicy::default(),
        };
        let name: reqwest::dns::Name = "localhost".parse().unwrap_or_else(|_| unreachable!());
        let err = match resolver.resolve(name).await {
            Ok(_) => panic!("localhost resolved for a webhook"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("public hosts only"), "{err}");
        let allowed = PublicOnlyResolver {
            policy: UrlPolicy {
                extra_hosts: vec!["localhost".into()],
                allow_loopback_http: false,
            },
        };
        let name: reqwest::dns::Name = "localhost".parse().unwrap_or_else(|_| unreachable!());
        assert!(allowed.resolve(name).await.is_ok());
    }

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
