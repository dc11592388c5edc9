//! Function configuration, read from the environment once at init.

use std::path::PathBuf;
use std::time::Duration;

/// Why a function cannot start. Each message names the variable or file
/// to fix.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("environment variable {name} is not set: {what}")]
    Missing {
        name: &'static str,
        what: &'static str,
    },
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("the routes file is invalid:\n{0}")]
    Routes(String),
}

/// Where the function keeps its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateConfig {
    /// `GDALERT_STATE_TABLE`: a DynamoDB table (deployed; the template sets it).
    Dynamo(String),
    /// `GDALERT_STATE=sqlite:PATH`, with no table: one SQLite file, for
    /// running the function locally (`cargo lambda watch`) with no AWS account.
    Sqlite(PathBuf),
}

/// Everything a function reads from its environment.
#[derive(Debug, Clone)]
pub struct FunctionEnv {
    /// Where state lives.
    pub state: StateConfig,
    /// Remote destinations are contacted (`GDALERT_DELIVER`, default: yes
    /// with a DynamoDB table, no with a local store, as `gdalert replay`:
    /// rendered and shown, not sent).
    pub deliver: bool,
    /// `GDALERT_ROUTES_FILE`: a routes file to use instead of the one built in.
    pub routes_file: Option<PathBuf>,
    /// `GDALERT_PATTERNS_DIR`: pattern files the routes file names (default:
    /// the routes file's directory, or the built-in patterns).
    pub patterns_dir: Option<PathBuf>,
    /// `GDALERT_WEBHOOK_ALLOWED_HOSTS` (extra webhook hosts, comma-separated)
    /// and `GDALERT_ALLOW_LOOPBACK_HTTP` (accept `http://127.0.0.1` webhooks;
    /// tests only).
    pub url_policy: gdalert_delivery::UrlPolicy,
    /// `GDALERT_SECRET_TTL`: how long a secret value is cached (default 5m).
    pub secret_ttl: Duration,
    /// `GDALERT_SLACK_API_BASE`: Slack Web API base URL (tests only).
    pub slack_api_base: Option<String>,
    /// `GDALERT_METRICS_NAMESPACE`: CloudWatch namespace (default `gdalert`).
    pub metrics_namespace: String,
    /// `AWS_LAMBDA_FUNCTION_NAME`: the `Function` metric dimension.
    pub function_name: String,
    /// `GDALERT_METRICS`: `emf` (default) prints metric lines; `off` does not.
    pub emit_metrics: bool,
}

impl FunctionEnv {
    /// Reads the configuration through `var` (the process environment in
    /// production, a map in tests).
    pub fn read(var: impl Fn(&str) -> Option<String>) -> Result<FunctionEnv, InitError> {
        let state = match (
            var("GDALERT_STATE_TABLE").filter(|v| !v.is_empty()),
            var("GDALERT_STATE").filter(|v| !v.is_empty()),
        ) {
            (Some(table), _) => StateConfig::Dynamo(table),
            (None, Some(local)) => match local.strip_prefix("sqlite:") {
                Some(path) if !path.is_empty() => StateConfig::Sqlite(PathBuf::from(path)),
                _ => {
                    return Err(InitError::Invalid {
                        name: "GDALERT_STATE",
                        reason: format!("{local:?}: write sqlite:PATH (e.g. sqlite:.gdalert/function-state.db)"),
                    })
                }
            },
            (None, None) => {
                return Err(InitError::Missing {
                    name: "GDALERT_STATE_TABLE",
                    what: "the DynamoDB table for dedupe state (the SAM template sets it); to run locally without AWS, set GDALERT_STATE=sqlite:.gdalert/function-state.db instead",
                })
            }
        };
        let deliver = match var("GDALERT_DELIVER").as_deref() {
            None | Some("") => matches!(state, StateConfig::Dynamo(_)),
            Some("1") | Some("true") => true,
            Some("0") | Some("false") => false,
            Some(other) => {
                return Err(InitError::Invalid {
                    name: "GDALERT_DELIVER",
                    reason: format!("{other:?}: use true or false"),
                })
            }
        };
        let secret_ttl = match var("GDALERT_SECRET_TTL") {
            Some(v) => humantime::parse_duration(&v).map_err(|e| InitError::Invalid {
                name: "GDALERT_SECRET_TTL",
                reason: format!("{v:?} is not a duration like 5m ({e})"),
            })?,
            None => Duration::from_secs(300),
        };
        let url_policy =
            gdalert_delivery::UrlPolicy::from_vars(&var).map_err(|e| InitError::Invalid {
                name: e.name,
                reason: e.reason,
            })?;
        Ok(FunctionEnv {
            state,
            deliver,
            routes_file: var("GDALERT_ROUTES_FILE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            patterns_dir: var("GDALERT_PATTERNS_DIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            url_policy,
            secret_ttl,
            slack_api_base: var("GDALERT_SLACK_API_BASE").filter(|v| !v.is_empty()),
            metrics_namespace: var("GDALERT_METRICS_NAMESPACE")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "gdalert".into()),
            function_name: var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|| "gdalert".into()),
            emit_metrics: match var("GDALERT_METRICS").as_deref() {
                None | Some("") | Some("emf") => true,
                Some("off") => false,
                Some(other) => {
                    return Err(InitError::Invalid {
                        name: "GDALERT_METRICS",
                        reason: format!("{other:?}: use emf or off"),
                    })
                }
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn a_missing_table_names_the_variable() {
        let err = FunctionEnv::read(env(&[])).unwrap_err().to_string();
        assert!(err.contains("GDALERT_STATE_TABLE"), "{err}");
    }

    #[test]
    fn a_bad_duration_names_the_variable() {
        let err = FunctionEnv::read(env(&[
            ("GDALERT_STATE_TABLE", "t"),
            ("GDALERT_SECRET_TTL", "five minutes"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("GDALERT_SECRET_TTL"), "{err}");
    }

    #[test]
    fn a_local_store_runs_without_aws_and_dry_by_default() {
        let e = FunctionEnv::read(env(&[("GDALERT_STATE", "sqlite:/tmp/s.db")]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.state, StateConfig::Sqlite(PathBuf::from("/tmp/s.db")));
        assert!(!e.deliver);
        let err = FunctionEnv::read(env(&[("GDALERT_STATE", "postgres://x")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("sqlite:PATH"), "{err}");
        let missing = FunctionEnv::read(env(&[])).unwrap_err().to_string();
        assert!(
            missing.contains("GDALERT_STATE=sqlite:"),
            "says how to run locally: {missing}"
        );
    }

    #[test]
    fn defaults_apply() {
        let e = FunctionEnv::read(env(&[
            ("GDALERT_STATE_TABLE", "t"),
            ("GDALERT_WEBHOOK_ALLOWED_HOSTS", " Chat.Corp.Example ,"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.secret_ttl, Duration::from_secs(300));
        assert!(!e.url_policy.allow_loopback_http);
        assert_eq!(
            e.url_policy.extra_hosts,
            vec!["chat.corp.example".to_string()]
        );
    }
}
