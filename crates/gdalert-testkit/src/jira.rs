//! A loopback Jira Cloud site (real HTTP) that checks requests as Jira
//! would: Basic auth with the account's email and API token, the create
//! issue fields (project, issue type, one-line summary within 255
//! characters, labels without spaces), Atlassian Document Format bodies
//! (only known nodes and marks, no empty text nodes), and a JQL search by
//! label. It keeps the issues and comments it was given, and can be told to
//! create the next issue and then never answer (a lost answer).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use gdalert_pipeline::render::jira::adf_problem;
use serde_json::{json, Value};

/// An issue the site holds.
#[derive(Debug, Clone)]
pub struct Issue {
    pub key: String,
    pub fields: Value,
    pub comments: Vec<Value>,
}

#[derive(Debug, Default)]
struct State {
    auth: String,
    issues: Vec<Issue>,
    searches: usize,
    hang_after_next_create: bool,
}

/// A running site.
#[derive(Debug, Clone)]
pub struct JiraSite {
    pub base: String,
    state: Arc<Mutex<State>>,
}

impl JiraSite {
    /// Starts a site that accepts `email` with `token`.
    pub async fn start(email: &str, token: &str) -> JiraSite {
        let auth = format!("Basic {}", base64(&format!("{email}:{token}")));
        let state = Arc::new(Mutex::new(State {
            auth,
            ..State::default()
        }));
        let (s1, s2, s3) = (state.clone(), state.clone(), state.clone());
        let app = axum::Router::new()
            .route(
                "/rest/api/3/search/jql",
                post(move |h: HeaderMap, b: Bytes| search(s1.clone(), h, b)),
            )
            .route(
                "/rest/api/3/issue",
                post(move |h: HeaderMap, b: Bytes| create(s2.clone(), h, b)),
            )
            .route(
                "/rest/api/3/issue/{key}/comment",
                post(move |p: Path<String>, h: HeaderMap, b: Bytes| comment(s3.clone(), p.0, h, b)),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        JiraSite { base, state }
    }

    pub fn issues(&self) -> Vec<Issue> {
        self.state.lock().unwrap().issues.clone()
    }

    pub fn searches(&self) -> usize {
        self.state.lock().unwrap().searches
    }

    /// The next create stores the issue, then never answers.
    pub fn lose_next_create_answer(&self) {
        self.state.lock().unwrap().hang_after_next_create = true;
    }
}

fn base64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn error(status: u16, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        json!({"errorMessages": [message], "errors": {}}).to_string(),
    )
        .into_response()
}

fn authorised(state: &Mutex<State>, headers: &HeaderMap) -> bool {
    let want = state.lock().unwrap().auth.clone();
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(want.as_str())
}

async fn search(state: Arc<Mutex<State>>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorised(&state, &headers) {
        return error(401, "Client must be authenticated to access this resource.");
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let jql = body["jql"].as_str().unwrap_or_default().to_string();
    let quoted = |field: &str| {
        jql.split(&format!("{field} = \""))
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(str::to_string)
    };
    let (Some(project), Some(label)) = (quoted("project"), quoted("labels")) else {
        return error(400, "Error in the JQL Query");
    };
    let mut state = state.lock().unwrap();
    state.searches += 1;
    let found: Vec<Value> = state
        .issues
        .iter()
        .filter(|i| i.key.starts_with(&format!("{project}-")))
        .filter(|i| {
            i.fields["labels"]
                .as_array()
                .is_some_and(|l| l.iter().any(|x| x == label.as_str()))
        })
        .map(|i| json!({"id": i.key, "key": i.key}))
        .collect();
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        json!({"issues": found, "isLast": true}).to_string(),
    )
        .into_response()
}

async fn create(state: Arc<Mutex<State>>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorised(&state, &headers) {
        return error(401, "Client must be authenticated to access this resource.");
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let fields = &body["fields"];
    let summary = fields["summary"].as_str().unwrap_or_default();
    let problem = if fields["project"]["key"].as_str().is_none() {
        Some("project is required".to_string())
    } else if fields["issuetype"]["name"].as_str().is_none() {
        Some("issuetype is required".to_string())
    } else if summary.is_empty() || summary.chars().count() > 255 || summary.contains('\n') {
        Some("summary must be one line of 1 to 255 characters".to_string())
    } else if !fields["labels"].as_array().is_some_and(|l| {
        l.iter()
            .all(|x| x.as_str().is_some_and(|s| !s.contains(' ')))
    }) {
        Some("labels cannot contain spaces".to_string())
    } else {
        adf_problem(&fields["description"]).map(|p| format!("description: {p}"))
    };
    if let Some(problem) = problem {
        return error(400, &problem);
    }
    let (key, hang) = {
        let mut state = state.lock().unwrap();
        let project = fields["project"]["key"].as_str().unwrap_or_default();
        let key = format!("{project}-{}", state.issues.len() + 1);
        state.issues.push(Issue {
            key: key.clone(),
            fields: fields.clone(),
            comments: Vec::new(),
        });
        (key, std::mem::take(&mut state.hang_after_next_create))
    };
    if hang {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    (
        StatusCode::CREATED,
        [("content-type", "application/json")],
        json!({"id": "10001", "key": key, "self": "https://example.atlassian.net/rest/api/3/issue/10001"})
            .to_string(),
    )
        .into_response()
}

async fn comment(
    state: Arc<Mutex<State>>,
    key: String,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorised(&state, &headers) {
        return error(401, "Client must be authenticated to access this resource.");
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(problem) = adf_problem(&body["body"]) {
        return error(400, &format!("comment body: {problem}"));
    }
    let mut state = state.lock().unwrap();
    let Some(issue) = state.issues.iter_mut().find(|i| i.key == key) else {
        return error(
            404,
            "Issue does not exist or you do not have permission to see it.",
        );
    };
    issue.comments.push(body["body"].clone());
    let id = issue.comments.len();
    (
        StatusCode::CREATED,
        [("content-type", "application/json")],
        json!({"id": id.to_string()}).to_string(),
    )
        .into_response()
}
