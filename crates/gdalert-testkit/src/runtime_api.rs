//! A local Lambda Runtime API: hands queued events to a function binary
//! through `GET /2018-06-01/runtime/invocation/next` and records what it
//! answers (`…/response` or `…/error`), as Lambda's own service does.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::Notify;

/// What a function answered for one invocation.
#[derive(Debug, Clone)]
pub struct Answer {
    pub request_id: String,
    /// `Ok(response)` or `Err(error body)`.
    pub result: Result<Value, Value>,
}

#[derive(Debug, Default)]
struct Inner {
    first_poll: Mutex<Option<std::time::Instant>>,
    queue: Mutex<VecDeque<(String, String, u64)>>,
    answers: Mutex<Vec<Answer>>,
    queued: Notify,
    answered: Notify,
}

/// A running Runtime API on loopback.
#[derive(Debug, Clone)]
pub struct RuntimeApi {
    /// `host:port`, the value for `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    inner: Arc<Inner>,
}

impl RuntimeApi {
    pub async fn start() -> RuntimeApi {
        let inner = Arc::new(Inner::default());
        let app = axum::Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RuntimeApi { address, inner }
    }

    /// Queues an invocation.
    pub fn invoke(&self, request_id: &str, event: Value) {
        self.invoke_text(request_id, &event.to_string());
    }

    /// Queues an invocation whose payload is this exact text (for events a
    /// `serde_json::Value` cannot hold, such as `1e400`).
    pub fn invoke_text(&self, request_id: &str, payload: &str) {
        self.invoke_within(request_id, payload, std::time::Duration::from_secs(60));
    }

    /// Queues an invocation that must finish within `time` (its
    /// `Lambda-Runtime-Deadline-Ms`).
    pub fn invoke_within(&self, request_id: &str, payload: &str, time: std::time::Duration) {
        self.inner.queue.lock().unwrap().push_back((
            request_id.to_string(),
            payload.to_string(),
            time.as_millis() as u64,
        ));
        self.inner.queued.notify_one();
    }

    /// When the function first asked for an invocation (its init was done).
    pub fn first_poll(&self) -> Option<std::time::Instant> {
        *self.inner.first_poll.lock().unwrap()
    }

    /// Waits until `n` answers have arrived; returns them all.
    pub async fn answers(&self, n: usize) -> Vec<Answer> {
        loop {
            let notified = self.inner.answered.notified();
            {
                let answers = self.inner.answers.lock().unwrap();
                if answers.len() >= n {
                    return answers.clone();
                }
            }
            notified.await;
        }
    }
}

async fn next(State(inner): State<Arc<Inner>>) -> Response {
    inner
        .first_poll
        .lock()
        .unwrap()
        .get_or_insert_with(std::time::Instant::now);
    loop {
        let notified = inner.queued.notified();
        let item = inner.queue.lock().unwrap().pop_front();
        if let Some((id, event, within)) = item {
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() + u128::from(within))
                .unwrap_or_default();
            let mut headers = HeaderMap::new();
            headers.insert("lambda-runtime-aws-request-id", id.parse().unwrap());
            headers.insert(
                "lambda-runtime-deadline-ms",
                deadline.to_string().parse().unwrap(),
            );
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:gdalert-test"
                    .parse()
                    .unwrap(),
            );
            headers.insert(
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000".parse().unwrap(),
            );
            return (StatusCode::OK, headers, event).into_response();
        }
        notified.await;
    }
}

fn record(inner: &Inner, request_id: String, result: Result<Value, Value>) {
    inner
        .answers
        .lock()
        .unwrap()
        .push(Answer { request_id, result });
    inner.answered.notify_waiters();
}

async fn response(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    body: String,
) -> StatusCode {
    record(
        &inner,
        id,
        Ok(serde_json::from_str(&body).unwrap_or(Value::String(body))),
    );
    StatusCode::ACCEPTED
}

async fn error(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    body: String,
) -> StatusCode {
    record(
        &inner,
        id,
        Err(serde_json::from_str(&body).unwrap_or(Value::String(body))),
    );
    StatusCode::ACCEPTED
}

async fn init_error(State(inner): State<Arc<Inner>>, body: String) -> StatusCode {
    record(
        &inner,
        "init".into(),
        Err(serde_json::from_str(&body).unwrap_or(Value::String(body))),
    );
    StatusCode::ACCEPTED
}
