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
pub use env::{FunctionEnv, InitError, StateConfig};

use gdalert_delivery::{DestinationClient, Failure};
use gdalert_pipeline::config::Destination;
use gdalert_pipeline::{Alert, Payload};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::value::RawValue;

/// Logging as the Lambda runtime sets it up (its own helper): level from
/// `AWS_LAMBDA_LOG_LEVEL`, then `RUST_LOG`, else `INFO`; JSON lines when
/// `AWS_LAMBDA_LOG_FORMAT` is `JSON` (the template sets it), text otherwise.
/// Every line of an invocation carries the runtime's span with its
/// `requestId`.
pub fn init_tracing() {
    lambda_runtime::tracing::init_default_subscriber();
}

/// A function's whole life: logging, init (configuration validated, clients
/// built once), then invocations until the runtime stops. An init failure is
/// posted to the Runtime API's init error endpoint with a message that names
/// what to set (so `cargo lambda invoke` and the Lambda console show it), and
/// printed.
pub async fn main(role: Role) -> Result<(), lambda_runtime::Error> {
    init_tracing();
    match App::from_env(role).await {
        Ok(app) => run(app).await,
        Err(e) => {
            let message = e.to_string();
            tracing::error!(error = %message, "init failed");
            report_init_error(&message).await;
            Err(message.into())
        }
    }
}

/// Posts `message` to `/runtime/init/error` (best effort: without a Runtime
/// API, as when run by hand, there is nobody to tell but the log).
async fn report_init_error(message: &str) {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        return;
    };
    let body = serde_json::json!({"errorType": "gdalert.InitError", "errorMessage": message});
    let sent = reqwest::Client::new()
        .post(format!("http://{api}/2018-06-01/runtime/init/error"))
        .header("Lambda-Runtime-Function-Error-Type", "gdalert.InitError")
        .json(&body)
        .send()
        .await;
    if let Err(e) = sent {
        tracing::error!(error = %e, "could not report the init error to the Runtime API");
    }
}

/// Serves invocations until the runtime stops.
pub async fn run(app: App) -> Result<(), lambda_runtime::Error> {
    let app = Arc::new(app);
    // The payload stays raw JSON text: the event model and the pattern
    // engine each read it once, with no `Value` in between.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let app = app.clone();
        // The runtime's deadline is wall-clock milliseconds; deliveries get
        // what is left of it.
        let left = std::time::Duration::from_millis(
            event.context.deadline.saturating_sub(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64),
            ),
        );
        let deadline = std::time::Instant::now() + left;
        async move { app.handle_within(event.payload.get(), Some(deadline)).await }
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
