//! The handlers: one event in, decisions made, deliveries done once,
//! metrics out; or an error classified retryable or not.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use gdalert_aws::{AwsClients, AwsSecrets, DynamoStore};
use gdalert_delivery::{CachedSecrets, Channel, HttpClient};
use gdalert_event::Detail;
use gdalert_pipeline::coverage::CoverageSource;
use gdalert_pipeline::{Config, Pipeline, Report, RunOptions, Sender, Status, Store};
use serde_json::{json, Value};
use tracing::Instrument;

use crate::emf::Metrics;
use crate::env::{FunctionEnv, InitError, StateConfig};
use gdalert_store_sqlite::SqliteStore;

/// Time kept back from an invocation's deadline to record delivery outcomes
/// and flush metrics: a send cut off by Lambda records nothing, and the
/// retry would post it again.
pub const RECORD_RESERVE: std::time::Duration = std::time::Duration::from_secs(3);

/// Which function this process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Target of the rules for `GuardDuty Finding`.
    Findings,
    /// Target of the rules for Runtime Protection Unhealthy / Healthy.
    Coverage,
    /// Runs on a schedule; sends group, storm and flap-hold summaries.
    Digest,
}

/// The function failed for this event; Lambda reports it, EventBridge (or
/// Lambda's async retries) retry it, then the dead-letter queue keeps it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct HandlerError {
    /// Another try may succeed (a destination was down, throttled...).
    pub retryable: bool,
    pub message: String,
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: if e.retryable {
                "gdalert.Retryable".into()
            } else {
                "gdalert.NotRetryable".into()
            },
            error_message: e.message,
        }
    }
}

/// Built once per cold start; shared by every invocation.
pub struct App {
    pub role: Role,
    pub pipeline: Pipeline,
    pub store: Arc<dyn Store>,
    pub sender: Arc<dyn Sender>,
    pub env: FunctionEnv,
    /// Where the digest reads coverage for the coverage report (GuardDuty's
    /// API when `settings.coverage_report_route` is set).
    pub coverage: Option<Arc<dyn CoverageSource>>,
    options: RunOptions,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("role", &self.role)
            .field("env", &self.env)
            .finish_non_exhaustive()
    }
}

/// Loads the routes: `GDALERT_ROUTES_FILE` or the built-in file, patterns
/// from `GDALERT_PATTERNS_DIR` over the built-in ones, `${VAR}` from the
/// environment (the one loader: [`gdalert_pipeline::load`]).
pub fn load_routes(env: &FunctionEnv) -> Result<Config, InitError> {
    let source = gdalert_pipeline::load::Source {
        routes_file: env.routes_file.clone(),
        patterns_dir: env.patterns_dir.clone(),
    };
    let vars = |n: &str| match env.deliver {
        true => std::env::var(n).ok(),
        // A local run contacts nothing: unset variables get a placeholder.
        false => gdalert_pipeline::load::dry_run_vars(n),
    };
    gdalert_pipeline::load::load(&source, gdalert_shipped::BUILTIN, vars)
        .map(|loaded| loaded.config)
        .map_err(|e| InitError::Routes(e.to_string()))
}

impl App {
    /// Reads the environment, validates the routes, builds every client once.
    pub async fn from_env(role: Role) -> Result<App, InitError> {
        let env = FunctionEnv::read(|n| std::env::var(n).ok())?;
        let config = load_routes(&env)?;
        for warning in &config.warnings {
            tracing::warn!(%warning, "routes file");
        }
        let aws = AwsClients::load().await;
        let store: Arc<dyn Store> = match &env.state {
            StateConfig::Dynamo(table) => Arc::new(DynamoStore::new(aws.dynamodb.clone(), table)),
            StateConfig::Sqlite(path) => {
                Arc::new(SqliteStore::open(path).map_err(|e| InitError::Invalid {
                    name: "GDALERT_STATE",
                    reason: e.to_string(),
                })?)
            }
        };
        let secrets = Arc::new(CachedSecrets::new(
            AwsSecrets::new(aws.secrets_manager.clone(), aws.ssm.clone()),
            env.secret_ttl,
        ));
        let http = HttpClient::new(env.url_policy.clone(), secrets.clone()).map_err(|reason| {
            InitError::Invalid {
                name: "GDALERT_WEBHOOK_ALLOWED_HOSTS",
                reason,
            }
        })?;
        let slack =
            gdalert_aws::slack_client(&http, Some(store.clone()), env.slack_api_base.as_deref());
        let senders = gdalert_aws::remote_senders(&aws, &http, secrets, slack, Some(store.clone()))
            .with(Channel::Stdout, Arc::new(crate::LogClient));
        // A destination this function cannot serve (no client, a URL the
        // policy refuses) fails the init, not the first alert.
        senders
            .ready(&config)
            .map_err(|problems| InitError::Routes(problems.join("\n")))?;
        let report_coverage =
            role == Role::Digest && config.settings.coverage_report_route.is_some();
        let app = App::new(role, Pipeline::new(config), store, Arc::new(senders), env);
        Ok(if report_coverage {
            app.with_coverage(Arc::new(gdalert_aws::GuardDutyCoverage::new(
                aws.guardduty.clone(),
                None,
            )))
        } else {
            app
        })
    }

    /// Assembles an app from parts (tests).
    pub fn new(
        role: Role,
        pipeline: Pipeline,
        store: Arc<dyn Store>,
        sender: Arc<dyn Sender>,
        env: FunctionEnv,
    ) -> App {
        App {
            role,
            pipeline,
            store,
            sender,
            coverage: None,
            options: RunOptions {
                owner: format!("{}-{}", env.function_name, std::process::id()),
                // Locally, as `gdalert replay`: remote destinations are shown, not sent.
                dry_run: !env.deliver,
                deadline: None,
            },
            env,
        }
    }

    /// The digest also sends the coverage report, from `source`.
    pub fn with_coverage(mut self, source: Arc<dyn CoverageSource>) -> App {
        self.coverage = Some(source);
        self
    }

    /// Handles one invocation payload.
    pub async fn handle(&self, payload: Value) -> Result<Value, HandlerError> {
        self.handle_text(&payload.to_string()).await
    }

    /// Handles one invocation payload as JSON text, as the runtime hands it
    /// over: the event is parsed once per reader, never re-serialised.
    pub async fn handle_text(&self, payload: &str) -> Result<Value, HandlerError> {
        self.handle_within(payload, None).await
    }

    /// Like [`App::handle_text`], with the invocation's deadline: deliveries
    /// stop [`RECORD_RESERVE`] before it, so their outcome is recorded.
    pub async fn handle_within(
        &self,
        payload: &str,
        deadline: Option<std::time::Instant>,
    ) -> Result<Value, HandlerError> {
        let options = RunOptions {
            deadline: deadline.map(|d| {
                d.checked_sub(RECORD_RESERVE)
                    .unwrap_or_else(std::time::Instant::now)
            }),
            ..self.options.clone()
        };
        let mut metrics = Metrics::default();
        let result = match self.role {
            Role::Digest => self.digest(Utc::now(), &options, &mut metrics).await,
            Role::Findings | Role::Coverage => {
                self.event(payload, Utc::now(), &options, &mut metrics)
                    .await
            }
        };
        if self.env.emit_metrics {
            metrics.flush(&self.env.metrics_namespace, &self.env.function_name);
        }
        result
    }

    async fn event(
        &self,
        text: &str,
        now: DateTime<Utc>,
        options: &RunOptions,
        metrics: &mut Metrics,
    ) -> Result<Value, HandlerError> {
        metrics.add("EventsReceived", None, 1.0);
        let (event, node) = match gdalert_pipeline::read(text) {
            Ok(read) => (read.event, read.node),
            Err(e) => {
                metrics.add("EventsInvalid", None, 1.0);
                tracing::error!(error = %e, "not a GuardDuty event; it goes to the dead-letter queue");
                return Err(HandlerError {
                    retryable: false,
                    message: format!("not a GuardDuty event: {e}"),
                });
            }
        };
        let finding_id = event.finding().map(|f| f.id.clone()).unwrap_or_default();
        let span = tracing::info_span!(
            "event",
            event_id = %event.id,
            finding_id = %finding_id,
            dedupe_key = tracing::field::Empty
        );
        async {
            if matches!(event.detail, Detail::Other) {
                tracing::warn!("event is neither a finding nor a coverage change");
            }
            for warning in &event.warnings {
                tracing::warn!(warning = %warning, "unreadable optional field left out of the alert");
                metrics.add("FieldsIgnored", None, 1.0);
            }
            let report = self
                .pipeline
                .run_event(
                    self.store.as_ref(),
                    self.sender.as_ref(),
                    &event,
                    &node,
                    now,
                    options,
                )
                .await;
            tracing::Span::current().record("dedupe_key", report.alert.dedupe_key.as_str());
            if let Some(updated) = event.finding().and_then(|f| f.updated_at) {
                if let Ok(latency) = (now - updated.0).to_std() {
                    metrics.millis("EndToEndLatency", latency.as_millis() as f64);
                }
            }
            if !report.deliveries.is_empty() {
                metrics.add("EventsMatched", None, 1.0);
            }
            self.account(&report, metrics)
        }
        .instrument(span)
        .await
    }

    async fn digest(
        &self,
        now: DateTime<Utc>,
        options: &RunOptions,
        metrics: &mut Metrics,
    ) -> Result<Value, HandlerError> {
        let reports = self
            .pipeline
            .run_digest(self.store.as_ref(), self.sender.as_ref(), now, options)
            .await
            .map_err(|e| {
                metrics.add("StoreUnavailable", None, 1.0);
                tracing::error!(error = %e, "digest could not read state");
                HandlerError {
                    retryable: e.retryable(),
                    message: format!("digest could not read state: {e}"),
                }
            })?;
        let mut results = Vec::new();
        let mut failure = None;
        for report in &reports {
            match self.account(report, metrics) {
                Ok(v) => results.push(v),
                Err(e) => failure = Some(e),
            }
        }
        let coverage = match self.coverage_report(now, options, metrics).await {
            Ok(report) => report,
            Err(e) => {
                failure.get_or_insert(e);
                None
            }
        };
        match failure {
            Some(e) => Err(e),
            None => Ok(json!({ "digests": results, "coverage_report": coverage })),
        }
    }

    /// The coverage report, when a source is set. GuardDuty's API failing
    /// (access denied, throttled) is logged and counted (`CoverageUnavailable`)
    /// but does not fail the digest: the summaries were sent, and the next
    /// run asks again.
    async fn coverage_report(
        &self,
        now: DateTime<Utc>,
        options: &RunOptions,
        metrics: &mut Metrics,
    ) -> Result<Option<Value>, HandlerError> {
        let Some(source) = &self.coverage else {
            return Ok(None);
        };
        let resources = match source.resources().await {
            Ok(resources) => resources,
            Err(e) => {
                metrics.add("CoverageUnavailable", None, 1.0);
                tracing::error!(error = %e, "coverage report skipped: GuardDuty's coverage could not be read");
                return Ok(None);
            }
        };
        let report = self
            .pipeline
            .run_coverage_report(
                self.store.as_ref(),
                self.sender.as_ref(),
                &resources,
                now,
                options,
            )
            .await
            .map_err(|e| {
                metrics.add("StoreUnavailable", None, 1.0);
                tracing::error!(error = %e, "coverage report could not read state");
                HandlerError {
                    retryable: e.retryable(),
                    message: format!("coverage report could not read state: {e}"),
                }
            })?;
        match report {
            Some(report) => self.account(&report, metrics).map(Some),
            None => Ok(None),
        }
    }

    /// Counts and logs what a run did, and turns failures into a classified
    /// error. Decides nothing: the report says it all.
    fn account(&self, report: &Report, metrics: &mut Metrics) -> Result<Value, HandlerError> {
        if let Some(e) = &report.store_error {
            metrics.add("StoreUnavailable", None, 1.0);
            tracing::error!(error = %e, "state store unavailable: delivered without dedupe, grouping or storm guard");
        }
        let mut rows = Vec::new();
        for d in &report.deliveries {
            let kind = d.kind.map_or("unknown", |k| k.as_str());
            if !d.template_errors.is_empty() {
                // Logged at ERROR where it failed; counted here, so an alarm
                // can say that a destination gets the built-in text.
                metrics.add(
                    "TemplateFailures",
                    Some(("DestinationKind", kind)),
                    d.template_errors.len() as f64,
                );
            }
            match d.status {
                Status::Sent => metrics.add("Sent", Some(("DestinationKind", kind)), 1.0),
                Status::AlreadyDelivered => {
                    metrics.add("Suppressed", Some(("Reason", "already_delivered")), 1.0)
                }
                Status::Failed => {
                    metrics.add("Failed", Some(("DestinationKind", kind)), 1.0);
                    let retryable = d.error.as_ref().is_some_and(|e| e.is_retryable());
                    tracing::error!(destination = %d.destination, retryable, error = %d.reason, "delivery failed");
                }
                Status::DryRun => {}
                Status::Suppressed if report.silence(&d.route, &d.destination).is_some() => {
                    metrics.add("Suppressed", Some(("Reason", "silence")), 1.0);
                    let silence = report.silence(&d.route, &d.destination).unwrap_or_default();
                    tracing::info!(silence = %silence, route = %d.route, destination = %d.destination, "muted by silence");
                }
                other => {
                    let reason = format!(
                        "{}/{}",
                        other.as_str(),
                        report.alert.verdict.lifecycle.as_str()
                    );
                    metrics.add("Suppressed", Some(("Reason", &reason)), 1.0);
                }
            }
            let mut row = json!({
                "route": d.route,
                "destination": d.destination,
                "decision": d.status.as_str(),
                "reason": d.reason,
            });
            if d.status == Status::DryRun {
                // A local run shows what would have been sent.
                row["payload"] = serde_json::to_value(&d.payload).unwrap_or_default();
            }
            rows.push(row);
        }
        let failed = report.failures().count();
        if failed == 0 {
            return Ok(json!({
                "event_id": report.alert.event_id,
                "dedupe_key": report.alert.dedupe_key,
                "lifecycle": report.alert.verdict.lifecycle.as_str(),
                "deliveries": rows,
            }));
        }
        Err(HandlerError {
            retryable: report.retryable(),
            message: format!(
                "{failed} of {} deliveries failed (already delivered ones will not repeat on retry): {}",
                report.deliveries.len(),
                report.failure_summary()
            ),
        })
    }
}
