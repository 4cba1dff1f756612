//! What every request goes through: injected faults, the bearer-token check
//! (Graph paths), the per-app rate-limit bucket (429 + `Retry-After`),
//! Graph's `request-id`/`client-request-id` headers and `innerError` on
//! every error body, and the call log.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::errors::{inner_date, GraphError, GraphWords};
use super::model::fmt_ts;
use super::{token, Bucket, EntraSim};
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
    /// The calling app's client id, when its token was accepted.
    pub client_id: Option<String>,
    /// The JSON body of a write, if it had one.
    pub body: Option<Value>,
    /// Simulated time of arrival.
    pub at: String,
}

fn bucket_of(path: &str) -> Bucket {
    if path.starts_with("/v1.0/identityProtection") {
        Bucket::IdentityProtection
    } else if path.starts_with("/v1.0/auditLogs") {
        Bucket::AuditLogs
    } else {
        Bucket::Graph
    }
}

/// The middleware (installed with `from_fn_with_state`).
pub async fn edge(State(sim): State<EntraSim>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(String::from);
    let arrived = sim.clock().now();
    let graph = path.starts_with("/v1.0/") || path == "/v1.0";
    let request_id = sim.store().rng.uuid();
    let client_request_id = req
        .headers()
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(String::from)
        .unwrap_or_else(|| request_id.clone());

    let (delay, action) = sim.fault_queue().take(&path);
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }

    // Keep the body of writes for the call log.
    let (req, body) = if method != Method::GET && graph {
        let (parts, b) = req.into_parts();
        let bytes = axum::body::to_bytes(b, 4 * 1024 * 1024)
            .await
            .unwrap_or_default();
        let json = serde_json::from_slice::<Value>(&bytes).ok();
        (Request::from_parts(parts, Body::from(bytes)), json)
    } else {
        (req, None)
    };

    let mut client_id = None;
    let mut resp = match &action {
        Some(Action::Reset) => {
            let resp = reset_connection(&req);
            record(&sim, &method, &path, query, 0, None, body, arrived);
            return resp;
        }
        Some(Action::Burst429) => GraphError::throttled(1).into_response(),
        Some(a @ (Action::Status(_) | Action::Respond(_))) => answer(a, &GraphWords)
            .unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        Some(Action::Truncate(_)) | None if graph => match token::check(&sim, req.headers()) {
            Err(e) => e.into_response(),
            Ok(caller) => {
                client_id = Some(caller.client_id.clone());
                let now_ms = sim.clock().now_ms();
                let taken = sim.limiter().take((caller.app, bucket_of(&path)), now_ms);
                match taken {
                    Err(q) => {
                        // Seconds until the window resets, rounded up.
                        let wait = (q.reset_epoch_s * 1000 - now_ms + 999).div_euclid(1000);
                        GraphError::throttled(wait).into_response()
                    }
                    Ok(_) => {
                        let mut req = req;
                        req.extensions_mut().insert(caller);
                        next.run(req).await
                    }
                }
            }
        },
        Some(Action::Truncate(_)) | None => next.run(req).await,
    };
    if graph {
        resp = graph_shaped(resp, &request_id, &client_request_id, sim.clock().now()).await;
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
        client_id,
        body,
        arrived,
    );
    resp
}

/// Adds Graph's request ids, and gives every error body its `innerError`
/// (framework rejections in plain text become Graph error bodies).
async fn graph_shaped(
    resp: Response,
    request_id: &str,
    client_request_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Response {
    let mut resp = if resp.status().as_u16() >= 400 {
        let (mut parts, b) = resp.into_parts();
        let bytes = axum::body::to_bytes(b, 1024 * 1024)
            .await
            .unwrap_or_default();
        let mut body = match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) if v.get("error").is_some_and(Value::is_object) => v,
            _ => {
                let text = String::from_utf8_lossy(&bytes).trim().to_string();
                let code = if parts.status.is_server_error() {
                    "generalException"
                } else {
                    "BadRequest"
                };
                json!({"error": {"code": code, "message": text}})
            }
        };
        if let Some(err) = body.get_mut("error").and_then(Value::as_object_mut) {
            err.insert(
                "innerError".into(),
                json!({
                    "date": inner_date(now),
                    "request-id": request_id,
                    "client-request-id": client_request_id,
                }),
            );
        }
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Response::from_parts(parts, Body::from(body.to_string()))
    } else {
        resp
    };
    for (name, value) in [
        ("request-id", request_id),
        ("client-request-id", client_request_id),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            resp.headers_mut().insert(name, v);
        }
    }
    resp
}

#[allow(clippy::too_many_arguments)]
fn record(
    sim: &EntraSim,
    method: &Method,
    path: &str,
    query: Option<String>,
    status: u16,
    client_id: Option<String>,
    body: Option<Value>,
    at: chrono::DateTime<chrono::Utc>,
) {
    sim.shared.calls.push(RecordedCall {
        method: method.to_string(),
        path: path.to_string(),
        query,
        status,
        client_id,
        body,
        at: fmt_ts(at),
    });
}
