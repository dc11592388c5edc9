//! `kind = "jira"`: an issue per alert in Jira Cloud, comments for what follows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::{is_email_address, DestinationKind, KindSettings, Reach, SecretRef};
use crate::config::Loader;
use crate::severity::Band;

/// Jira Cloud sites only; a Data Center server would be a `webhook`.
pub const REACH: Reach = Reach::Vendor(&["*.atlassian.net"]);

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    site: Option<Spanned<String>>,
    email: Option<String>,
    api_token_secret: Option<Spanned<String>>,
    project: Option<Spanned<String>>,
    issue_type: Option<String>,
    #[serde(default)]
    labels: Vec<Spanned<String>>,
    priorities: Option<BTreeMap<String, String>>,
}

pub(super) fn check(
    loader: &mut Loader<'_>,
    name: &str,
    start: usize,
    raw: Raw,
) -> Option<KindSettings> {
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
            loader.needs(name, kind, start, what);
        }
    }
    let api_token = loader.secret(&raw.api_token_secret, "api_token_secret");
    if let Some(site) = &raw.site {
        if !is_jira_site(site.get_ref()) {
            loader.problem(
                site.span().start,
                format!("destination {name:?}: site {:?} is not a Jira Cloud site; write `https://<your-site>.atlassian.net` (no path)", site.get_ref()),
            );
        }
    }
    if let Some(email) = raw.email.as_deref().filter(|e| !is_email_address(e)) {
        loader.problem(
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
            loader.problem(
                project.span().start,
                format!("destination {name:?}: project {p:?} is not a Jira project key (upper-case letters, digits and _, starting with a letter)"),
            );
        }
    }
    for label in &raw.labels {
        let l = label.get_ref();
        if l.is_empty() || l.len() > 255 || l.contains(char::is_whitespace) {
            loader.problem(
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
                None => loader.problem(
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

#[cfg(test)]
mod tests {
    use super::super::tests::problems;
    use super::*;

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
    fn a_jira_site_is_a_bare_origin() {
        assert!(is_jira_site("https://acme.atlassian.net"));
        assert!(is_jira_site("https://acme-sec.atlassian.net/"));
        assert!(!is_jira_site("acme.atlassian.net"));
        assert!(!is_jira_site("https://acme.atlassian.net/jira"));
        assert!(!is_jira_site("https://user:pw@acme.atlassian.net"));
        assert!(!is_jira_site("https://acme.atlassian.net?x=1"));
    }
}
