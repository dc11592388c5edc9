//! A scripted HTTP receiver on loopback (real TCP): answers each request
//! with the next scripted reply and records what arrived.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(u16, &'static str),
    /// 429 with `Retry-After: secs`.
    RateLimited(u64),
    /// Accept the connection, never answer.
    Hang,
    /// `code` with a body that echoes the request line and headers, as
    /// Express's default 404 page and many proxies do.
    Echo(u16),
    /// 2xx, then the connection is cut before the promised body arrives.
    CutBody(u16),
    /// `code` with a JSON body (an API's answer).
    Json(u16, String),
}

/// What arrived.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: serde_json::Value,
    pub at: Instant,
}

#[derive(Debug, Default)]
struct State {
    script: VecDeque<Reply>,
    last: Option<Reply>,
    seen: Vec<Request>,
}

/// A running receiver.
#[derive(Debug, Clone)]
pub struct Receiver {
    pub base: String,
    state: Arc<Mutex<State>>,
}

impl Receiver {
    /// Starts a receiver answering `script` in order, then its last reply forever.
    pub async fn start(script: Vec<Reply>) -> Receiver {
        let state = Arc::new(Mutex::new(State {
            last: script.last().cloned(),
            script: script.into(),
            seen: Vec::new(),
        }));
        let shared = state.clone();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
                let state = shared.clone();
                async move {
                    let query = uri.query().map(str::to_string);
                    answer(state, uri.path().to_string(), query, headers, body).await
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { base, state }
    }

    /// Requests received so far.
    pub fn seen(&self) -> Vec<Request> {
        self.state.lock().unwrap().seen.clone()
    }

    /// Replaces the script (a webhook coming back up).
    pub fn rescript(&self, script: Vec<Reply>) {
        let mut state = self.state.lock().unwrap();
        state.last = script.last().cloned();
        state.script = script.into();
    }
}

async fn answer(
    state: Arc<Mutex<State>>,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let echo = format!(
        "<pre>Cannot POST {path}</pre> headers: {:?} body: {}",
        headers,
        String::from_utf8_lossy(&body)
    );
    let reply = {
        let mut state = state.lock().unwrap();
        state.seen.push(Request {
            path,
            query,
            headers,
            body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
            at: Instant::now(),
        });
        let next = state.script.pop_front();
        next.or_else(|| state.last.clone())
            .unwrap_or(Reply::Status(200, "ok"))
    };
    match reply {
        Reply::Status(code, body) => {
            (StatusCode::from_u16(code).unwrap(), body.to_string()).into_response()
        }
        Reply::RateLimited(secs) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", secs.to_string())],
            "rate limited",
        )
            .into_response(),
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
        Reply::Echo(code) => (StatusCode::from_u16(code).unwrap(), echo).into_response(),
        Reply::Json(code, body) => (
            StatusCode::from_u16(code).unwrap(),
            [("content-type", "application/json")],
            body,
        )
            .into_response(),
        Reply::CutBody(code) => {
            // Promise 1 KB, send the status and 2 bytes, then cut the stream.
            let stream = futures_util::stream::unfold(0u8, |step| async move {
                match step {
                    0 => Some((Ok(Bytes::from_static(b"ok")), 1)),
                    1 => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Some((Err(std::io::Error::other("cut")), 2))
                    }
                    _ => None,
                }
            });
            let body = axum::body::Body::from_stream(stream);
            axum::response::Response::builder()
                .status(code)
                .header("content-length", "1024")
                .body(body)
                .unwrap()
        }
    }
}

/// An address where nothing listens (connection refused).
pub async fn refused_base() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}
