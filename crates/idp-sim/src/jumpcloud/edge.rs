//! What every request goes through: injected faults, the `x-api-key` check
//! (401 `{"message":"Unauthorized"}`), the multi-tenant `x-org-id` rules
//! (401 without it for an MSP key, 400 for a malformed id, 404 for an
//! organization the key cannot select), the key's rate-limit bucket (429),
//! JumpCloud's error body for framework rejections, and the call log.
//! JumpCloud documents no `Retry-After` nor rate-limit headers, so none are
//! sent unless [`super::JumpCloudConfig`] asks for them.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::errors::{JcError, JcWords};
use super::model::{fmt_ts, is_object_id};
use super::{Bucket, JumpCloudSim};
use crate::common::faults::{answer, reset_connection, truncate, Action};
use crate::common::RateHeaders;

/// One call the simulator received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedCall {
    pub method: String,
    pub path: String,
    /// The raw query string.
    pub query: Option<String>,
    /// HTTP status answered (0 for a reset connection).
    pub status: u16,
    /// The `x-org-id` values sent, in order.
    pub org_ids: Vec<String>,
    /// The JSON body of a POST/PUT, if it had one.
    pub body: Option<Value>,
    /// Simulated time of arrival.
    pub at: String,
}

/// Who is calling, as the handlers see it.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The request is for the simulated organization (not an empty other org
    /// a multi-tenant key selected).
    pub home: bool,
}

const RATE_HEADERS: RateHeaders = RateHeaders {
    limit: "X-RateLimit-Limit",
    remaining: "X-RateLimit-Remaining",
    reset: "X-RateLimit-Reset",
};

fn org_ids(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("x-org-id")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

/// Checks the key and the organization headers.
fn authenticate(
    sim: &JumpCloudSim,
    headers: &HeaderMap,
    orgs: &[String],
) -> Result<Caller, JcError> {
    let cfg = sim.config();
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    if key != Some(cfg.api_key.as_str()) {
        return Err(JcError::unauthorized());
    }
    if orgs.is_empty() {
        return if cfg.multi_tenant_key {
            Err(JcError::no_org_selected())
        } else {
            Ok(Caller { home: true })
        };
    }
    for o in orgs {
        if !is_object_id(o) {
            return Err(JcError::bare(StatusCode::BAD_REQUEST, "Malformed ID"));
        }
        let known = *o == cfg.org_id || (cfg.multi_tenant_key && cfg.other_orgs.contains(o));
        if !known {
            return Err(JcError::bare(
                StatusCode::NOT_FOUND,
                "Organization ID Not Found",
            ));
        }
    }
    Ok(Caller {
        home: orgs.contains(&cfg.org_id),
    })
}

/// The middleware (installed with `from_fn_with_state`).
pub async fn edge(State(sim): State<JumpCloudSim>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(String::from);
    let arrived = sim.clock().now();
    let orgs = org_ids(req.headers());

    let (delay, action) = sim.fault_queue().take(&path);
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }

    let (req, body) = if method != Method::GET {
        let (parts, b) = req.into_parts();
        let bytes = axum::body::to_bytes(b, 4 * 1024 * 1024)
            .await
            .unwrap_or_default();
        let json = serde_json::from_slice::<Value>(&bytes).ok();
        (Request::from_parts(parts, Body::from(bytes)), json)
    } else {
        (req, None)
    };

    let cfg = sim.config();
    let mut quota = None;
    let mut resp = match &action {
        Some(Action::Reset) => {
            let resp = reset_connection(&req);
            record(&sim, &method, &path, query, 0, orgs, body, arrived);
            return resp;
        }
        Some(a @ (Action::Burst429 | Action::Status(_) | Action::Respond(_))) => {
            let mut r = answer(a, &JcWords)
                .unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response());
            if matches!(a, Action::Burst429) {
                add_retry_after(&sim, &mut r);
            }
            r
        }
        Some(Action::Truncate(_)) | None => match authenticate(&sim, req.headers(), &orgs) {
            Err(e) => e.into_response(),
            Ok(caller) => {
                let now_ms = sim.clock().now_ms();
                let taken = sim.limiter().take(Bucket::Key, now_ms);
                match taken {
                    Err(q) => {
                        quota = Some(q);
                        let mut r = JcError::too_many_requests().into_response();
                        add_retry_after(&sim, &mut r);
                        r
                    }
                    Ok(q) => {
                        quota = Some(q);
                        let mut req = req;
                        req.extensions_mut().insert(caller);
                        next.run(req).await
                    }
                }
            }
        },
    };
    if let (true, Some(q)) = (cfg.rate_limit_headers, quota) {
        RATE_HEADERS.apply(resp.headers_mut(), q);
    }
    resp = jumpcloud_shaped(resp).await;
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
        orgs,
        body,
        arrived,
    );
    resp
}

fn add_retry_after(sim: &JumpCloudSim, resp: &mut Response) {
    if let Some(s) = sim.config().retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
}

/// Gives framework rejections (bad JSON, wrong method, bad path) JumpCloud's error body.
async fn jumpcloud_shaped(resp: Response) -> Response {
    if resp.status().as_u16() < 400 {
        return resp;
    }
    let (mut parts, b) = resp.into_parts();
    let bytes = axum::body::to_bytes(b, 4 * 1024 * 1024)
        .await
        .unwrap_or_default();
    if serde_json::from_slice::<Value>(&bytes)
        .ok()
        .is_some_and(|v| v.get("message").is_some())
    {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    let message = if text.is_empty() {
        parts
            .status
            .canonical_reason()
            .unwrap_or("Error")
            .to_string()
    } else {
        text
    };
    let body = JcError::new(parts.status, message).body();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    Response::from_parts(parts, Body::from(body.to_string()))
}

#[allow(clippy::too_many_arguments)]
fn record(
    sim: &JumpCloudSim,
    method: &Method,
    path: &str,
    query: Option<String>,
    status: u16,
    org_ids: Vec<String>,
    body: Option<Value>,
    at: chrono::DateTime<chrono::Utc>,
) {
    sim.shared.calls.push(RecordedCall {
        method: method.to_string(),
        path: path.to_string(),
        query,
        status,
        org_ids,
        body,
        at: fmt_ts(at),
    });
}
