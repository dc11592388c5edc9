//! `patterns/routes.toml`: routes and destinations, owned by security teams.
//!
//! The file is read once, checked as a whole, and compiled: every route's
//! `match` becomes one pattern in a single [`PatternSet`], so routing an event
//! costs one pass of the pattern machine however many routes there are.
//! Every problem is reported with file, line and column, all at once, so a
//! team fixes the file in one go rather than one error per run.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use gdalert_pattern::{json::line_column, PatternSet, PatternSetBuilder};
use jsonpath_rust::parser::model::JpQuery;
use serde::Deserialize;
use toml::de::DeValue;
use toml::Spanned;

use crate::alert::EnrichOptions;

mod destination;

pub use destination::{
    Destination, DestinationKind, Email, EmailTransport, Eventbridge, File, IncomingWebhook, Jira,
    KindSettings, Pagerduty, Reach, SecretRef, Slack, Smtp, Sns, Templates, Webhook, WebhookTarget,
};

/// One problem in the configuration, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// Everything wrong with a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum RawMatch {
    /// A pattern file name in the patterns directory, or pattern JSON text.
    Text(String),
    /// An inline pattern as a TOML table.
    Table(toml::Table),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    name: Spanned<String>,
    #[serde(rename = "match")]
    match_: Option<Spanned<RawMatch>>,
    #[serde(default)]
    destinations: Vec<Spanned<String>>,
    #[serde(default)]
    group_by: Vec<Spanned<String>>,
    repeat_interval: Option<Spanned<String>>,
    group_window: Option<Spanned<String>>,
    #[serde(default, rename = "continue")]
    continue_: bool,
    #[serde(default)]
    fallback: bool,
    /// Send GuardDuty sample findings on this route too.
    #[serde(default)]
    samples: bool,
    /// Send archived findings on this route too.
    #[serde(default)]
    archived: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    repeat_interval: Option<Spanned<String>>,
    group_window: Option<Spanned<String>>,
    storm_threshold: Option<Spanned<u32>>,
    storm_window: Option<Spanned<String>>,
    flap_hold: Option<Spanned<String>>,
    state_ttl: Option<Spanned<String>>,
    fallback_destination: Option<Spanned<String>>,
    coverage_report_route: Option<Spanned<String>>,
    coverage_report_every: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    settings: RawSettings,
    #[serde(default)]
    accounts: BTreeMap<String, String>,
    #[serde(default)]
    destinations: BTreeMap<String, toml::Table>,
    #[serde(default)]
    routes: Vec<Spanned<RawRoute>>,
}

/// Pipeline-wide settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a plain update (count bump) stays quiet. Default 24 h.
    pub repeat_interval: Duration,
    /// How long later alerts of a group are held after its first. Default 15 min.
    pub group_window: Duration,
    /// Alerts per destination per `storm_window` above which a digest is sent instead.
    pub storm_threshold: u32,
    pub storm_window: Duration,
    /// How long coverage must stay back before "resolved" is sent. 0 = at once.
    pub flap_hold: Duration,
    /// How long state about a finding or incident is kept. Default 30 days.
    pub state_ttl: Duration,
    /// Where a short "delivery failed" notice goes when a destination gives up.
    pub fallback_destination: Option<String>,
    /// The route whose destinations get the coverage report (resources
    /// GuardDuty says are unmonitored now); no report when `None`.
    pub coverage_report_route: Option<String>,
    /// How often one unmonitored resource is reported again. Default 24 h.
    pub coverage_report_every: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            repeat_interval: Duration::from_secs(24 * 3600),
            group_window: Duration::from_secs(15 * 60),
            storm_threshold: 20,
            storm_window: Duration::from_secs(10 * 60),
            flap_hold: Duration::ZERO,
            state_ttl: Duration::from_secs(30 * 24 * 3600),
            fallback_destination: None,
            coverage_report_route: None,
            coverage_report_every: Duration::from_secs(24 * 3600),
        }
    }
}

/// A route, checked.
#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    pub destinations: Vec<String>,
    /// Compiled JSONPath expressions; empty = default group key.
    pub group_by: Vec<(String, JpQuery)>,
    pub repeat_interval: Duration,
    pub group_window: Duration,
    pub continue_: bool,
    pub fallback: bool,
    pub samples: bool,
    pub archived: bool,
}

/// A checked, compiled configuration.
#[derive(Debug)]
pub struct Config {
    pub settings: Settings,
    pub accounts: BTreeMap<String, String>,
    pub destinations: BTreeMap<String, Destination>,
    pub routes: Vec<Route>,
    /// The routes' patterns, one per route with a `match`.
    patterns: PatternSet,
    /// The route (index into `routes`) of each pattern id.
    route_of_pattern: Vec<usize>,
    /// Routes without `match`: they take every event.
    match_all: Vec<usize>,
    /// What `gdalert validate` warns about (the configuration still loads).
    pub warnings: Vec<Problem>,
}

impl Config {
    /// Reads `text` (the routes file called `file`); `patterns` maps pattern
    /// file names (as `match` may name them) to their text.
    pub fn load(
        file: &str,
        text: &str,
        patterns: &BTreeMap<String, String>,
    ) -> Result<Config, ConfigError> {
        Loader {
            file,
            text,
            problems: Vec::new(),
            warnings: Vec::new(),
        }
        .load(patterns)
    }

    pub fn enrich_options(&self) -> EnrichOptions {
        EnrichOptions {
            account_names: self.accounts.clone(),
        }
    }

    /// The routes an event takes, in file order: each matching route, up to
    /// the first one without `continue`; the fallback route when none match.
    pub fn routes_for(&self, node: &gdalert_pattern::ParsedEvent<'_>) -> Vec<&Route> {
        let mut matched: Vec<usize> = self
            .patterns
            .matches(node)
            .into_iter()
            .filter_map(|id| self.route_of_pattern.get(id).copied())
            .chain(self.match_all.iter().copied())
            .collect();
        matched.sort_unstable();
        let mut routes = Vec::new();
        for index in matched {
            let Some(route) = self.routes.get(index) else {
                continue;
            };
            routes.push(route);
            if !route.continue_ {
                break;
            }
        }
        if routes.is_empty() {
            routes.extend(self.routes.iter().filter(|r| r.fallback));
        }
        routes
    }

    pub fn route(&self, name: &str) -> Option<&Route> {
        self.routes.iter().find(|r| r.name == name)
    }

    /// Whether any destination in use needs the network or an AWS API.
    pub fn has_remote_destination(&self) -> bool {
        self.destinations.values().any(|d| d.kind().is_remote())
    }
}

struct Loader<'a> {
    file: &'a str,
    text: &'a str,
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
}

impl Loader<'_> {
    fn warning(&mut self, offset: usize, message: impl Into<String>) {
        let (line, column) = line_column(self.text, offset);
        self.warnings.push(Problem {
            file: self.file.to_string(),
            line,
            column,
            message: format!("warning: {}", message.into()),
        });
    }

    /// Warns when `route` can take GuardDuty events that have no view (they
    /// are sent with the generic view: their time and scalar fields).
    /// `pattern` is the route's pattern text, `None` for a route with no
    /// `match` (it takes everything).
    fn views_check(&mut self, offset: usize, route: &str, pattern: Option<&str>) {
        let unviewed = match pattern {
            None => UNVIEWED_PROBES.to_vec(),
            Some(text) => unviewed_detail_types(text),
        };
        if unviewed.is_empty() {
            return;
        }
        let shown: Vec<String> = unviewed.iter().map(|t| format!("{t:?}")).collect();
        self.warning(
            offset,
            format!(
                "route {route:?} can take GuardDuty events gdalert has no view for ({}): they are sent with the generic view (their time and fields); give the route a \"detail-type\" of {} to keep them out",
                shown.join(", ").replace(&format!("{ANY_OTHER:?}"), "and any other detail-type"),
                VIEWED_DETAIL_TYPES.iter().map(|t| format!("{t:?}")).collect::<Vec<_>>().join(", ")
            ),
        );
    }

    fn problem(&mut self, offset: usize, message: impl Into<String>) {
        let (line, column) = line_column(self.text, offset);
        self.problems.push(Problem {
            file: self.file.to_string(),
            line,
            column,
            message: message.into(),
        });
    }

    fn duration(&mut self, value: &Option<Spanned<String>>, default: Duration) -> Duration {
        let Some(value) = value else { return default };
        match humantime::parse_duration(value.get_ref()) {
            Ok(d) => d,
            Err(e) => {
                self.problem(
                    value.span().start,
                    format!(
                        "bad duration {:?}: {e} (write e.g. \"15m\", \"6h\", \"1d\")",
                        value.get_ref()
                    ),
                );
                default
            }
        }
    }

    /// A duration that must not be zero; `what` says why in the problem.
    fn nonzero_duration(
        &mut self,
        value: &Option<Spanned<String>>,
        default: Duration,
        what: &str,
    ) -> Duration {
        let d = self.duration(value, default);
        if let Some(v) = value.as_ref().filter(|_| d.is_zero()) {
            let why = if what.contains(' ') {
                what.to_string()
            } else {
                format!("{what} cannot be zero")
            };
            self.problem(v.span().start, why);
            return default;
        }
        d
    }

    fn secret(&mut self, value: &Option<Spanned<String>>, field: &str) -> Option<SecretRef> {
        let value = value.as_ref()?;
        match SecretRef::parse(value.get_ref()) {
            Some(secret) => Some(secret),
            None => {
                self.problem(
                    value.span().start,
                    format!(
                        "inline secret in `{field}`: give a Secrets Manager secret ARN or an SSM parameter name (\"/gdalert/...\"), never the value itself"
                    ),
                );
                None
            }
        }
    }

    fn load(mut self, patterns: &BTreeMap<String, String>) -> Result<Config, ConfigError> {
        let raw: RawConfig = match toml::from_str(self.text) {
            Ok(raw) => raw,
            Err(e) => {
                let offset = e.span().map_or(0, |s| s.start);
                self.problem(offset, e.message().to_string());
                return Err(ConfigError {
                    problems: self.problems,
                });
            }
        };
        let defaults = Settings::default();
        let mut settings = Settings {
            repeat_interval: self.duration(&raw.settings.repeat_interval, defaults.repeat_interval),
            group_window: self.duration(&raw.settings.group_window, defaults.group_window),
            storm_threshold: match &raw.settings.storm_threshold {
                Some(t) if *t.get_ref() == 0 => {
                    self.problem(
                        t.span().start,
                        "storm_threshold = 0 would hold every alert for the digest; use at least 1",
                    );
                    defaults.storm_threshold
                }
                Some(t) => *t.get_ref(),
                None => defaults.storm_threshold,
            },
            storm_window: self.nonzero_duration(
                &raw.settings.storm_window,
                defaults.storm_window,
                "storm_window",
            ),
            flap_hold: self.duration(&raw.settings.flap_hold, defaults.flap_hold),
            state_ttl: self.nonzero_duration(
                &raw.settings.state_ttl,
                defaults.state_ttl,
                "state_ttl = \"0s\" would forget every alert at once (no dedupe)",
            ),
            fallback_destination: None,
            coverage_report_route: None,
            coverage_report_every: self.nonzero_duration(
                &raw.settings.coverage_report_every,
                defaults.coverage_report_every,
                "coverage_report_every",
            ),
        };

        let mut destinations = BTreeMap::new();
        // Destinations are read again with their spans, each by its kind.
        if let Ok(document) = toml::de::DeTable::parse(self.text) {
            if let Some(DeValue::Table(tables)) =
                document.get_ref().get("destinations").map(|d| d.get_ref())
            {
                for (name, table) in tables {
                    if let Some(destination) = self.destination(name.get_ref(), table) {
                        destinations.insert(name.get_ref().to_string(), destination);
                    }
                }
            }
        }
        if let Some(fallback) = &raw.settings.fallback_destination {
            if raw.destinations.contains_key(fallback.get_ref()) {
                settings.fallback_destination = Some(fallback.get_ref().clone());
            } else {
                self.problem(
                    fallback.span().start,
                    format!("unknown destination {:?}", fallback.get_ref()),
                );
            }
        }

        let mut routes = Vec::new();
        let mut builder = PatternSetBuilder::new();
        let mut names = BTreeSet::new();
        let mut shadowed_by: Option<String> = None;
        let mut fallback_seen = false;
        let mut match_all = Vec::new();
        let mut route_of_pattern = Vec::new();
        for (index, spanned) in raw.routes.iter().enumerate() {
            let r = spanned.get_ref();
            let name = r.name.get_ref().clone();
            if !names.insert(name.clone()) {
                self.problem(
                    r.name.span().start,
                    format!("route {name:?} is defined twice"),
                );
            }
            if fallback_seen {
                self.problem(
                    r.name.span().start,
                    format!(
                        "route {name:?} comes after the fallback route; the fallback must be last"
                    ),
                );
            } else if let Some(earlier) = &shadowed_by {
                if !r.fallback {
                    self.problem(
                        r.name.span().start,
                        format!("route {name:?} is unreachable: route {earlier:?} before it matches every event and has no `continue = true`"),
                    );
                }
            }
            if r.destinations.is_empty() {
                self.problem(
                    r.name.span().start,
                    format!("route {name:?} has no destinations"),
                );
            }
            for destination in &r.destinations {
                if !raw.destinations.contains_key(destination.get_ref()) {
                    let known: Vec<&str> = raw.destinations.keys().map(String::as_str).collect();
                    self.problem(
                        destination.span().start,
                        format!(
                            "unknown destination {:?} (defined: {})",
                            destination.get_ref(),
                            known.join(", ")
                        ),
                    );
                }
            }
            let mut group_by = Vec::new();
            for expr in &r.group_by {
                match jsonpath_rust::parser::parse_json_path(expr.get_ref()) {
                    Ok(query) => group_by.push((expr.get_ref().clone(), query)),
                    Err(e) => {
                        let reason = e
                            .to_string()
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ");
                        self.problem(
                            expr.span().start,
                            format!("bad JSONPath {:?}: {reason}", expr.get_ref()),
                        )
                    }
                }
            }
            if r.fallback {
                fallback_seen = true;
                if let Some(m) = &r.match_ {
                    self.problem(m.span().start, "the fallback route takes every event nothing else matched; remove its `match`");
                }
            } else {
                let catch_all = match &r.match_ {
                    None => {
                        self.views_check(r.name.span().start, &name, None);
                        match_all.push(index);
                        true
                    }
                    Some(m) => self.pattern(m, patterns, &name, &mut builder).is_some_and(
                        |(id, catch_all)| {
                            debug_assert_eq!(id, route_of_pattern.len());
                            route_of_pattern.push(index);
                            catch_all
                        },
                    ),
                };
                if catch_all && !r.continue_ && shadowed_by.is_none() {
                    shadowed_by = Some(name.clone());
                }
            }
            routes.push(Route {
                name,
                destinations: r.destinations.iter().map(|d| d.get_ref().clone()).collect(),
                group_by,
                repeat_interval: self.duration(&r.repeat_interval, settings.repeat_interval),
                group_window: self.duration(&r.group_window, settings.group_window),
                continue_: r.continue_,
                fallback: r.fallback,
                samples: r.samples,
                archived: r.archived,
            });
        }
        if routes.is_empty() {
            self.problem(0, "no routes: add at least one [[routes]] table");
        }
        if let Some(name) = &raw.settings.coverage_report_route {
            if routes.iter().any(|r| r.name == *name.get_ref()) {
                settings.coverage_report_route = Some(name.get_ref().clone());
            } else {
                self.problem(
                    name.span().start,
                    format!(
                        "coverage_report_route: unknown route {:?}; name a [[routes]] table",
                        name.get_ref()
                    ),
                );
            }
        }
        if !self.problems.is_empty() {
            return Err(ConfigError {
                problems: self.problems,
            });
        }
        Ok(Config {
            settings,
            accounts: raw.accounts,
            destinations,
            routes,
            patterns: builder.build(),
            route_of_pattern,
            match_all,
            warnings: self.warnings,
        })
    }

    /// Compiles a route's `match` into `builder`; returns its pattern id and
    /// whether it matches every event (`None` after a problem).
    fn pattern(
        &mut self,
        m: &Spanned<RawMatch>,
        patterns: &BTreeMap<String, String>,
        route: &str,
        builder: &mut PatternSetBuilder,
    ) -> Option<(gdalert_pattern::PatternId, bool)> {
        let start = m.span().start;
        let (label, text) = match m.get_ref() {
            RawMatch::Table(table) => {
                let json = match serde_json::to_string(table) {
                    Ok(json) => json,
                    Err(e) => {
                        self.problem(start, format!("`match` cannot be turned into JSON: {e}"));
                        return None;
                    }
                };
                ("inline pattern".to_string(), json)
            }
            RawMatch::Text(text) if text.trim_start().starts_with('{') => {
                ("inline pattern".to_string(), text.clone())
            }
            RawMatch::Text(file) => match patterns.get(file) {
                Some(text) => (file.clone(), text.clone()),
                None => {
                    let known: Vec<&str> = patterns.keys().map(String::as_str).collect();
                    self.problem(
                        start,
                        format!(
                            "no pattern file {file:?} in the patterns directory (found: {})",
                            known.join(", ")
                        ),
                    );
                    return None;
                }
            },
        };
        match gdalert_pattern::compile(&text) {
            Ok(rule) => {
                self.views_check(start, route, Some(&text));
                let catch_all = is_catch_all(&text);
                Some((builder.add(route, rule), catch_all))
            }
            Err(e) => {
                let at = if e.pointer.is_empty() {
                    "(document)".to_string()
                } else {
                    e.pointer.clone()
                };
                self.problem(start, format!("{label}: at {at}: {e}"));
                None
            }
        }
    }
}

/// The detail-types gdalert has a view for; any other event a route takes is
/// shown by the generic view.
pub const VIEWED_DETAIL_TYPES: &[&str] = &[
    gdalert_event::FINDING,
    gdalert_event::RUNTIME_UNHEALTHY,
    gdalert_event::RUNTIME_HEALTHY,
];

/// Stands for "a detail-type nobody listed" when probing a pattern.
const ANY_OTHER: &str = "gdalert: any other detail-type";

/// Detail-types GuardDuty sends that have no view, and the stand-in for the
/// rest: what [`unviewed_detail_types`] probes a pattern with.
const UNVIEWED_PROBES: &[&str] = &["GuardDuty Malware Protection Object Scan Result", ANY_OTHER];

/// The probes of [`UNVIEWED_PROBES`] that the pattern's top-level
/// `detail-type` admits (all of them when it has none). A pattern that
/// constrains `detail-type` only inside `$or` is not judged (empty).
fn unviewed_detail_types(text: &str) -> Vec<&'static str> {
    let Ok(serde_json::Value::Object(pattern)) = serde_json::from_str::<serde_json::Value>(text)
    else {
        return Vec::new();
    };
    let Some(detail_type) = pattern.get("detail-type") else {
        return if text.contains("\"detail-type\"") {
            Vec::new()
        } else {
            UNVIEWED_PROBES.to_vec()
        };
    };
    let probe = serde_json::json!({ "detail-type": detail_type }).to_string();
    let Ok(rule) = gdalert_pattern::compile(&probe) else {
        return Vec::new();
    };
    let mut builder = PatternSetBuilder::new();
    builder.add("probe", rule);
    let set = builder.build();
    UNVIEWED_PROBES
        .iter()
        .copied()
        .filter(|t| {
            let event = serde_json::json!({ "detail-type": t }).to_string();
            set.matches_json(&event).is_ok_and(|m| !m.is_empty())
        })
        .collect()
}

/// A pattern that takes every GuardDuty event: only `source: aws.guardduty`.
fn is_catch_all(text: &str) -> bool {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return false;
    };
    let Some(object) = value.as_object() else {
        return false;
    };
    object.is_empty()
        || (object.len() == 1
            && object
                .get("source")
                .and_then(|s| s.as_array())
                .is_some_and(|s| s.iter().any(|v| v.as_str() == Some("aws.guardduty"))))
}

#[cfg(test)]
mod tests {
    use super::destination::{is_email_address, is_event_bus, url_has_credentials};
    use super::*;

    #[test]
    fn settings_that_cannot_work_are_refused_where_they_are_written() {
        let cases = [
            ("[settings]\nstorm_threshold = 0\n", "storm_threshold = 0"),
            ("[settings]\nstate_ttl = \"0s\"\n", "state_ttl"),
            ("[settings]\nstorm_window = \"0s\"\n", "storm_window cannot be zero"),
            (
                "[destinations.slow]\nkind = \"stdout\"\ntimeout = \"0s\"\n",
                "fail every delivery",
            ),
            (
                "[destinations.mail]\nkind = \"email\"\nto = [\"security team\"]\nfrom = \"gdalert@example.com\"\n",
                "not an email address",
            ),
            (
                "[destinations.bus]\nkind = \"eventbridge\"\nevent_bus = \"my bus!\"\n",
                "not an event bus",
            ),
        ];
        for (extra, expected) in cases {
            let found = problems(&format!("{extra}{OK}"));
            assert!(
                found
                    .iter()
                    .any(|p| p.contains(expected) && p.starts_with("routes.toml:")),
                "{extra}: {found:?}"
            );
        }
        let broken = "[destinations.chat]\nkind = \"stdout\"\n[destinations.chat.templates]\ntitle = \"{{ alert.title \"\n";
        let found = problems(
            &format!("{broken}{OK}")
                .replace("[destinations.out]", "[destinations.out2]")
                .replace("destinations = [\"out\"]", "destinations = [\"chat\"]"),
        );
        assert!(
            found
                .iter()
                .any(|p| p.contains("`title` template does not compile")),
            "a template that cannot compile is refused at load: {found:?}"
        );
        assert!(is_email_address("soc+gd@corp.example.com"));
        assert!(is_event_bus(
            "arn:aws:events:us-east-1:123456789012:event-bus/sec"
        ));
    }

    fn patterns() -> BTreeMap<String, String> {
        BTreeMap::from([(
            "runtime.json".to_string(),
            r#"{"source":["aws.guardduty"],"detail-type":["GuardDuty Finding"],"detail":{"type":[{"wildcard":"*:Runtime/*"}]}}"#.to_string(),
        )])
    }

    fn problems(text: &str) -> Vec<String> {
        match Config::load("routes.toml", text, &patterns()) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems.iter().map(ToString::to_string).collect(),
        }
    }

    const OK: &str = r#"
[destinations.out]
kind = "stdout"

[[routes]]
name = "runtime"
match = "runtime.json"
destinations = ["out"]
"#;

    #[test]
    fn a_good_file_loads() {
        let config = Config::load("routes.toml", OK, &patterns()).unwrap();
        assert_eq!(config.routes.len(), 1);
        assert_eq!(config.settings.repeat_interval, Duration::from_secs(86400));
    }

    #[test]
    fn unknown_destination_is_located() {
        let text = OK.replace(
            r#"destinations = ["out"]"#,
            r#"destinations = ["out", "pager"]"#,
        );
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("routes.toml:8:24: unknown destination \"pager\""),
            "{}",
            found[0]
        );
    }

    #[test]
    fn route_after_a_catch_all_is_unreachable() {
        let text = r#"
[destinations.out]
kind = "stdout"

[[routes]]
name = "everything"
destinations = ["out"]

[[routes]]
name = "never"
match = "runtime.json"
destinations = ["out"]
"#;
        let found = problems(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("routes.toml:10:8: route \"never\" is unreachable"),
            "{}",
            found[0]
        );
        // With `continue`, the later route is reachable.
        assert!(problems(&text.replace(
            "name = \"everything\"",
            "name = \"everything\"\ncontinue = true"
        ))
        .is_empty());
    }

    #[test]
    fn bad_jsonpath_bad_duration_and_inline_secret_are_each_located() {
        let text = r#"
[destinations.chat]
kind = "slack"
webhook_url = "https://hooks.slack.com/services/T000/B000/XXXX"

[destinations.out]
kind = "stdout"

[[routes]]
name = "runtime"
match = "runtime.json"
destinations = ["out"]
group_by = ["$.detail..[?("]
repeat_interval = "6 hours-ish"
"#;
        let found = problems(text);
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("routes.toml:4:15: inline secret `webhook_url`")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("routes.toml:2:1: destination \"chat\" (slack) needs")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("routes.toml:13:13: bad JSONPath")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("routes.toml:14:19: bad duration")),
            "{found:?}"
        );
    }

    #[test]
    fn secret_references_must_be_arns_or_parameter_names() {
        assert!(SecretRef::parse(
            "arn:aws:secretsmanager:eu-west-1:111122223333:secret:gdalert/slack-AbCdEf"
        )
        .is_some());
        assert!(SecretRef::parse("/gdalert/slack-webhook").is_some());
        assert!(
            SecretRef::parse("arn:aws:ssm:eu-west-1:111122223333:parameter/gdalert/x").is_some()
        );
        assert!(SecretRef::parse("https://hooks.slack.com/services/T/B/X").is_none());
        assert!(SecretRef::parse("xoxb-123").is_none());
        assert!(url_has_credentials("https://user:pw@example.com/hook"));
        assert!(url_has_credentials("https://example.com/hook?token=abc"));
        assert!(!url_has_credentials("https://example.com/hook?team=sec"));
    }

    #[test]
    fn invalid_pattern_and_missing_file_are_reported_with_the_reason() {
        let text = OK.replace(
            "match = \"runtime.json\"",
            "match = '{\"detail\": {\"severity\": [{\"numeric\": [\">\"]}]}}'",
        );
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("Event pattern is not valid. Reason:"),
            "{}",
            found[0]
        );
        let found = problems(&OK.replace("runtime.json", "nope.json"));
        assert!(
            found[0].contains("no pattern file \"nope.json\""),
            "{}",
            found[0]
        );
    }

    #[test]
    fn toml_syntax_errors_are_located() {
        let found = problems("[[routes]\nname = 1\n");
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("routes.toml:1:"), "{}", found[0]);
    }
}

/// Replaces `${NAME}` inside the TOML strings of a routes file with
/// `lookup(NAME)` (the process environment; in Lambda the SAM template
/// passes the topic ARN and such this way).
///
/// The file is read as TOML tokens, not as lines: only text inside a string
/// is expanded, and the value is escaped for that string's kind, so a value
/// can neither end the string nor add keys. Comments are never expanded (so
/// examples may show `${NAME}`), and a `${NAME}` outside any string is an
/// error, as is an unset variable; errors give the line and column. `NAME`
/// is upper-case letters, digits and `_`; `$${` writes a literal `${`.
pub fn expand_variables(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    #[derive(Clone, Copy, PartialEq)]
    enum In {
        Toml,
        Comment,
        Basic,
        Literal,
        MultiBasic,
        MultiLiteral,
    }
    let mut out = String::with_capacity(text.len());
    let mut state = In::Toml;
    let mut i = 0;
    let at = |i: usize| {
        let (line, column) = gdalert_pattern::json::line_column(text, i);
        format!("line {line}, column {column}")
    };
    while let Some(c) = text[i..].chars().next() {
        let rest = &text[i..];
        // Token boundaries first.
        let (next, consumed) = match state {
            In::Toml if rest.starts_with("\"\"\"") => (In::MultiBasic, 3),
            In::Toml if rest.starts_with("'''") => (In::MultiLiteral, 3),
            In::Toml if c == '"' => (In::Basic, 1),
            In::Toml if c == '\'' => (In::Literal, 1),
            In::Toml if c == '#' => (In::Comment, 1),
            In::Comment | In::Basic | In::Literal if c == '\n' => (In::Toml, 1),
            In::Basic if c == '"' => (In::Toml, 1),
            In::Literal if c == '\'' => (In::Toml, 1),
            In::MultiBasic if rest.starts_with("\"\"\"") => (In::Toml, 3),
            In::MultiLiteral if rest.starts_with("'''") => (In::Toml, 3),
            // An escape in a basic string is copied whole (`\"` does not end it).
            In::Basic | In::MultiBasic if c == '\\' => (
                state,
                1 + rest[1..].chars().next().map_or(0, char::len_utf8),
            ),
            _ => (state, 0),
        };
        if consumed > 0 {
            out.push_str(&rest[..consumed]);
            state = next;
            i += consumed;
            continue;
        }
        let in_string = matches!(
            state,
            In::Basic | In::Literal | In::MultiBasic | In::MultiLiteral
        );
        if in_string && rest.starts_with("$${") {
            out.push_str("${");
            i += 3;
            continue;
        }
        if !rest.starts_with("${") || state == In::Comment {
            out.push(c);
            i += c.len_utf8();
            continue;
        }
        let end = rest
            .find('}')
            .filter(|&e| !rest[..e].contains('\n'))
            .ok_or_else(|| format!("{}: `${{` without a closing `}}`", at(i)))?;
        let name = &rest[2..end];
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(format!(
                "{}: `${{{name}}}`: variable names are upper-case letters, digits and `_`",
                at(i)
            ));
        }
        if !in_string {
            return Err(format!(
                "{}: ${{{name}}} is outside a string; variables are expanded only inside quotes (key = \"${{{name}}}\")",
                at(i)
            ));
        }
        let value = lookup(name).ok_or_else(|| {
            format!(
                "{}: the routes file uses ${{{name}}}, but the environment variable {name} is not set",
                at(i)
            )
        })?;
        if matches!(state, In::Basic | In::MultiBasic) {
            for v in value.chars() {
                match v {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
                    c => out.push(c),
                }
            }
        } else if value.contains('\'') || value.chars().any(char::is_control) {
            return Err(format!(
                "{}: the value of {name} has a quote or a control character, which a 'literal string' cannot hold; use \"double quotes\"",
                at(i)
            ));
        } else {
            out.push_str(&value);
        }
        i += end + 1;
    }
    Ok(out)
}

#[cfg(test)]
mod variable_tests {
    use super::expand_variables;

    #[test]
    fn variables_are_replaced_and_unset_ones_are_named() {
        let env = |n: &str| (n == "TOPIC").then(|| "arn:aws:sns:eu-west-1:1:t".to_string());
        assert_eq!(
            expand_variables("topic_arn = \"${TOPIC}\"", env).as_deref(),
            Ok("topic_arn = \"arn:aws:sns:eu-west-1:1:t\"")
        );
        let err = expand_variables("x = \"${MISSING}\"", env).unwrap_err();
        assert!(err.contains("MISSING"), "{err}");
        assert_eq!(
            expand_variables("x = \"a $${TOPIC}\"", env).as_deref(),
            Ok("x = \"a ${TOPIC}\"")
        );
        assert!(expand_variables("x = \"${lower}\"", env).is_err());
        assert_eq!(
            expand_variables("  # topic_arn = \"${UNSET}\"\nx = 1\n", env).as_deref(),
            Ok("  # topic_arn = \"${UNSET}\"\nx = 1\n"),
            "whole-line comments are not expanded"
        );
    }

    #[test]
    fn variables_expand_only_inside_strings_never_in_trailing_comments() {
        // Regression: a trailing comment's ${UNSET} failed the load.
        let env = |n: &str| (n == "T").then(|| "v".to_string());
        assert_eq!(
            expand_variables("x = \"${T}\" # was ${UNSET}\n", env).as_deref(),
            Ok("x = \"v\" # was ${UNSET}\n")
        );
        assert_eq!(
            expand_variables("a = '${T}'\nb = \"\"\"\n${T}\"\"\"\nc = \"\\\"${T}\"", env)
                .as_deref(),
            Ok("a = 'v'\nb = \"\"\"\nv\"\"\"\nc = \"\\\"v\"")
        );
        let err = expand_variables("x = 1\ny = ${T}\n", env).unwrap_err();
        assert!(
            err.starts_with("line 2, column 5:") && err.contains("inside quotes"),
            "{err}"
        );
        let err = expand_variables("x = 1\n  y = \"${NOPE}\"", env).unwrap_err();
        assert!(
            err.starts_with("line 2, column 8:") && err.contains("NOPE"),
            "{err}"
        );
    }

    #[test]
    fn a_variable_value_cannot_end_its_string_or_add_keys() {
        // Regression: values were pasted into the TOML unescaped.
        let env = |_: &str| Some("x\"\nadmin = true\n#".to_string());
        let text = expand_variables("url = \"${V}\"\n", env).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(table.len(), 1, "{text}");
        assert_eq!(table["url"].as_str(), Some("x\"\nadmin = true\n#"));
        assert!(expand_variables("url = '${V}'\n", env).is_err());
    }

    #[test]
    fn routes_that_can_take_events_without_a_view_are_warned_about_with_their_line() {
        let warnings = |matcher: &str| -> Vec<String> {
            let text = format!(
                "[destinations.out]\nkind = \"stdout\"\n\n[[routes]]\nname = \"r\"\n{matcher}destinations = [\"out\"]\n"
            );
            let patterns = std::collections::BTreeMap::from([(
                "runtime.json".to_string(),
                r#"{"detail-type":["GuardDuty Finding"],"detail":{"type":[{"wildcard":"*:Runtime/*"}]}}"#.to_string(),
            )]);
            match crate::config::Config::load("routes.toml", &text, &patterns) {
                Ok(config) => config.warnings.iter().map(ToString::to_string).collect(),
                Err(e) => panic!("{matcher}: {e:?}"),
            }
        };
        // Narrowed to what has a view: quiet.
        assert!(warnings("match = \"runtime.json\"\n").is_empty());
        assert!(warnings(
            "match = '{\"detail-type\": [\"GuardDuty Runtime Protection Unhealthy\", \"GuardDuty Finding\"]}'\n"
        )
        .is_empty());
        // No match, no detail-type, a prefix, anything-but: each can take them.
        for matcher in [
            "",
            "match = '{\"source\": [\"aws.guardduty\"]}'\n",
            "match = '{\"detail-type\": [{\"prefix\": \"GuardDuty\"}]}'\n",
            "match = '{\"detail-type\": [{\"anything-but\": [\"GuardDuty Finding\"]}]}'\n",
        ] {
            let found = warnings(matcher);
            assert_eq!(found.len(), 1, "{matcher}: {found:?}");
            assert!(
                found[0].starts_with("routes.toml:")
                    && found[0].contains("warning: route \"r\"")
                    && found[0].contains("GuardDuty Malware Protection Object Scan Result"),
                "{matcher}: {found:?}"
            );
        }
        // Exactly the type with no view: named, without "any other".
        let found = warnings(
            "match = '{\"detail-type\": [\"GuardDuty Malware Protection Object Scan Result\"]}'\n",
        );
        assert!(
            found.len() == 1 && !found[0].contains("any other"),
            "{found:?}"
        );
    }
}
