//! A counting proxy in front of the local AWS API server (real TCP both
//! ways): every request is forwarded as it came, after an optional delay,
//! and recorded with its operation (`X-Amz-Target`) and when it started and
//! ended, so a test can count calls and sequential round trips.
//!
//! It also gives the local AWS API server what DynamoDB guarantees and it
//! lacks: the server handles requests on threads without a lock, so two
//! concurrent `TransactWriteItems` with the same condition can both pass
//! their checks and both apply (seen as two posts of one alert in the
//! concurrency tests, under load). Real DynamoDB applies conditional writes
//! atomically; the proxy forwards write operations one at a time, which
//! restores that (reads still overlap).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One forwarded call.
#[derive(Debug, Clone)]
pub struct Call {
    /// `X-Amz-Target` without the service prefix (`GetItem`, `TransactWriteItems`...).
    pub operation: String,
    pub started: Instant,
    pub ended: Instant,
}

#[derive(Debug)]
struct State {
    upstream: String,
    delay: Duration,
    calls: Vec<Call>,
}

/// DynamoDB operations whose conditions must be checked and applied as one
/// step: forwarded one at a time (see the module docs).
const WRITES: &[&str] = &[
    "TransactWriteItems",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
];

/// A running proxy.
#[derive(Debug, Clone)]
pub struct CountingProxy {
    /// Point `AWS_ENDPOINT_URL` (or a client's endpoint) here.
    pub base: String,
    state: Arc<Mutex<State>>,
}

impl CountingProxy {
    /// Forwards to `upstream`, holding each request `delay` first.
    pub async fn start(upstream: &str, delay: Duration) -> CountingProxy {
        let state = Arc::new(Mutex::new(State {
            upstream: upstream.trim_end_matches('/').to_string(),
            delay,
            calls: Vec::new(),
        }));
        let http = reqwest::Client::new();
        let shared = state.clone();
        let writes = Arc::new(tokio::sync::Mutex::new(()));
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = shared.clone();
                let http = http.clone();
                let writes = writes.clone();
                async move { forward(state, writes, http, method, uri, headers, body).await }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        CountingProxy { base, state }
    }

    /// The calls so far, in the order they ended.
    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Forgets the calls so far.
    pub fn reset(&self) {
        self.state.lock().unwrap().calls.clear();
    }

    /// The operations so far, in the order they ended.
    pub fn operations(&self) -> Vec<String> {
        self.calls().into_iter().map(|c| c.operation).collect()
    }

    /// Sequential round trips: the calls grouped into runs that overlap in
    /// time (calls made concurrently count once).
    pub fn round_trips(&self) -> usize {
        let mut calls = self.calls();
        calls.sort_by_key(|c| c.started);
        let mut trips = 0;
        let mut end: Option<Instant> = None;
        for call in calls {
            if end.is_none_or(|e| call.started >= e) {
                trips += 1;
                end = Some(call.ended);
            } else if let Some(e) = end.as_mut() {
                *e = (*e).max(call.ended);
            }
        }
        trips
    }
}

async fn forward(
    state: Arc<Mutex<State>>,
    writes: Arc<tokio::sync::Mutex<()>>,
    http: reqwest::Client,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let (upstream, delay) = {
        let s = state.lock().unwrap();
        (s.upstream.clone(), s.delay)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let operation = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(|t| t.rsplit('.').next().unwrap_or(t).to_string())
        .unwrap_or_else(|| format!("{method} {}", uri.path()));
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = http.request(method, format!("{upstream}{path}")).body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let _one_write_at_a_time = if WRITES.contains(&operation.as_str()) {
        Some(writes.lock().await)
    } else {
        None
    };
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = response.status();
    let mut out_headers = HeaderMap::new();
    for (name, value) in response.headers() {
        if name != "content-length" && name != "transfer-encoding" && name != "connection" {
            out_headers.insert(name.clone(), value.clone());
        }
    }
    let bytes = response.bytes().await.unwrap_or_default();
    state.lock().unwrap().calls.push(Call {
        operation,
        started,
        ended: Instant::now(),
    });
    (status, out_headers, bytes).into_response()
}

/// A TCP listener that accepts connections and never answers (a brownout,
/// a broken VPC endpoint route). Returns its `http://` base; it lives as
/// long as the process.
pub fn silent_listener() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    base
}
