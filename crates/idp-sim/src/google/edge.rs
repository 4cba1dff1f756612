//! What every request goes through: injected faults, the bearer-token check
//! (API paths under `/admin/`), the project's rate-limit bucket (429
//! `rateLimitExceeded`) and the impersonated user's (403
//! `userRateLimitExceeded`), Google's error body for framework rejections,
//! and the call log. Google sends no `Retry-After` on these quota errors
//! (clients back off exponentially), so neither does the simulator.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::errors::{GoogleError, GoogleWords};
use super::model::fmt_ts;
use super::{token, Bucket, GoogleSim};
use crate::common::faults::{answer, reset_connection, truncate, Action};

/// One call the simulator received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedCall {
    pub method: String,
    pub path: String,
    /// The raw query string.
    pub query: Option<String>,
    /// HTTP status answered (0 for a reset connection).
    pub status: u16,
    /// The impersonated user's id, when the token was accepted.
    pub subject: Option<String>,
    /// The JSON body of a write, if it had one.
    pub body: Option<Value>,
    /// Simulated time of arrival.
    pub at: String,
}

/// The middleware (installed with `from_fn_with_state`).
pub async fn edge(State(sim): State<GoogleSim>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(String::from);
    let arrived = sim.clock().now();
    let api = path.starts_with("/admin/");

    let (delay, action) = sim.fault_queue().take(&path);
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }

    let (req, body) = if method != Method::GET && api {
        let (parts, b) = req.into_parts();
        let bytes = axum::body::to_bytes(b, 4 * 1024 * 1024)
            .await
            .unwrap_or_default();
        let json = serde_json::from_slice::<Value>(&bytes).ok();
        (Request::from_parts(parts, Body::from(bytes)), json)
    } else {
        (req, None)
    };

    let mut subject = None;
    let mut resp = match &action {
        Some(Action::Reset) => {
            let resp = reset_connection(&req);
            record(&sim, &method, &path, query, 0, None, body, arrived);
            return resp;
        }
        Some(a @ (Action::Burst429 | Action::Status(_) | Action::Respond(_))) => {
            answer(a, &GoogleWords)
                .unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        Some(Action::Truncate(_)) | None if api => match token::check(&sim, req.headers()) {
            Err(e) => e.into_response(),
            Ok(caller) => {
                subject = caller
                    .subject
                    .and_then(|i| sim.store().users.get(i).map(|u| u.id.clone()));
                let now_ms = sim.clock().now_ms();
                let verdict = {
                    let mut l = sim.limiter();
                    match l.take(Bucket::Project, now_ms) {
                        Err(_) => Err(GoogleError::rate_limited()),
                        Ok(_) => match caller.subject {
                            Some(i) => l
                                .take(Bucket::User(i), now_ms)
                                .map(|_| ())
                                .map_err(|_| GoogleError::user_rate_limited()),
                            None => Ok(()),
                        },
                    }
                };
                match verdict {
                    Err(e) => e.into_response(),
                    Ok(()) => {
                        let mut req = req;
                        req.extensions_mut().insert(caller);
                        next.run(req).await
                    }
                }
            }
        },
        Some(Action::Truncate(_)) | None => next.run(req).await,
    };
    if api {
        resp = google_shaped(resp).await;
    }
    match action {
        Some(Action::Truncate(mode)) => resp = truncate(resp, mode).await,
        Some(Action::Respond(canned)) => canned.apply_headers(&mut resp),
        _ => {}
    }
    record(
        &sim,
        &method,
        &path,
        query,
        resp.status().as_u16(),
        subject,
        body,
        arrived,
    );
    resp
}

/// Gives framework rejections (bad JSON, wrong method) Google's error body.
async fn google_shaped(resp: Response) -> Response {
    if resp.status().as_u16() < 400 {
        return resp;
    }
    let (mut parts, b) = resp.into_parts();
    let bytes = axum::body::to_bytes(b, 1024 * 1024)
        .await
        .unwrap_or_default();
    let body = match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) if v.get("error").is_some_and(Value::is_object) => v,
        _ => {
            let text = String::from_utf8_lossy(&bytes).trim().to_string();
            let reason = if parts.status.is_server_error() {
                "backendError"
            } else {
                "badRequest"
            };
            let message = if text.is_empty() {
                parts
                    .status
                    .canonical_reason()
                    .unwrap_or("Error")
                    .to_string()
            } else {
                text
            };
            GoogleError::new(parts.status, reason, message).body()
        }
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    Response::from_parts(parts, Body::from(body.to_string()))
}

#[allow(clippy::too_many_arguments)]
fn record(
    sim: &GoogleSim,
    method: &Method,
    path: &str,
    query: Option<String>,
    status: u16,
    subject: Option<String>,
    body: Option<Value>,
    at: chrono::DateTime<chrono::Utc>,
) {
    sim.shared.calls.push(RecordedCall {
        method: method.to_string(),
        path: path.to_string(),
        query,
        status,
        subject,
        body,
        at: fmt_ts(at),
    });
}
