//! What gdalert's Lambda functions share. Each `functions/*/src/main.rs`
//! only wires: tracing, [`App::from_env`] (config validated, clients built
//! once), then [`run`].
//!
//! Errors: a malformed event or a configuration error is `NotRetryable`; a
//! destination that is down or throttled is `Retryable`. Either way the
//! invocation fails, so EventBridge's retry policy and the dead-letter
//! queue keep the event, and deliveries already done are not repeated
//! (they are claimed in DynamoDB).

pub mod app;
pub mod emf;
pub mod env;

use std::sync::Arc;

pub use app::{App, HandlerError, Role};
pub use env::{FunctionEnv, InitError};

use gdalert_delivery::{DestinationClient, Failure};
use gdalert_pipeline::config::Destination;
use gdalert_pipeline::{Alert, Payload};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::value::RawValue;

/// JSON logs (one object per line, with the event span's fields), level
/// from `RUST_LOG` or `AWS_LAMBDA_LOG_LEVEL` (default `info`).
pub fn init_tracing() {
    let level = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL").map(|l| l.to_ascii_lowercase()))
        .unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .try_init();
}

/// Serves invocations until the runtime stops.
pub async fn run(app: App) -> Result<(), lambda_runtime::Error> {
    let app = Arc::new(app);
    // The payload stays raw JSON text: the event model and the pattern
    // engine each read it once, with no `Value` in between.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let app = app.clone();
        async move { app.handle_text(event.payload.get()).await }
    }))
    .await
}

/// `stdout` destinations in Lambda: the rendered text goes to the log.
#[derive(Debug, Clone, Copy)]
pub struct LogClient;

#[async_trait::async_trait]
impl DestinationClient for LogClient {
    async fn attempt(
        &self,
        destination: &Destination,
        _: &Alert,
        payload: &Payload,
    ) -> Result<String, Failure> {
        let text = match payload {
            Payload::Text { text } => text.clone(),
            other => serde_json::to_string(other).unwrap_or_default(),
        };
        tracing::info!(destination = %destination.name, alert = %text, "alert");
        Ok("log".into())
    }
}
