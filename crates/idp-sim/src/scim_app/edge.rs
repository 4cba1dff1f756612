//! The router and what every request goes through: injected faults, the bearer token (401 with
//! a SCIM error body and `WWW-Authenticate`), the token's rate limit (429 with `Retry-After`),
//! SCIM error bodies for framework rejections (unknown path, wrong method), and the call log.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::Value;

use super::errors::{ScimError, ScimWords};
use super::{discovery, fmt_ts, groups, users, Bucket, ScimAppSim};
use crate::common::faults::{answer, reset_connection, truncate, Action};

/// One call the application received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedCall {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// HTTP status answered (0 for a reset connection).
    pub status: u16,
    /// The JSON body of a write, if it had one.
    pub body: Option<Value>,
    /// The `If-Match` header sent, if any.
    pub if_match: Option<String>,
    pub at: String,
}

pub fn router(sim: ScimAppSim) -> Router {
    Router::new()
        .route(
            "/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route("/Schemas", get(discovery::schemas))
        .route("/ResourceTypes", get(discovery::resource_types))
        .route("/Users", get(users::list).post(users::create))
        .route(
            "/Users/{id}",
            get(users::get_one)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete),
        )
        .route("/Groups", get(groups::list).post(groups::create))
        .route(
            "/Groups/{id}",
            get(groups::get_one)
                .put(groups::replace)
                .patch(groups::patch)
                .delete(groups::delete),
        )
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(from_fn_with_state(sim.clone(), edge))
        .with_state(sim)
}

async fn no_route() -> ScimError {
    ScimError::new(StatusCode::NOT_FOUND, "No such endpoint")
}

async fn wrong_method() -> ScimError {
    ScimError::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
}

fn authorized(sim: &ScimAppSim, headers: &HeaderMap) -> bool {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(rest.trim())
        });
    token == Some(sim.config().token.as_str())
}

async fn edge(State(sim): State<ScimAppSim>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let if_match = req
        .headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let at = fmt_ts(sim.clock().now());
    let (delay, action) = sim.fault_queue().take(&path);
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    let (req, body) = if method == Method::GET {
        (req, None)
    } else {
        let (parts, b) = req.into_parts();
        let bytes = axum::body::to_bytes(b, 4 * 1024 * 1024)
            .await
            .unwrap_or_default();
        let json = serde_json::from_slice::<Value>(&bytes).ok();
        (Request::from_parts(parts, Body::from(bytes)), json)
    };
    let record = |status: u16, body: Option<Value>| {
        sim.record(RecordedCall {
            method: method.to_string(),
            path: path.clone(),
            query: query.clone(),
            status,
            body,
            if_match: if_match.clone(),
            at: at.clone(),
        });
    };
    let words = ScimWords {
        retry_after_secs: sim.config().retry_after_secs,
    };
    let mut resp = match &action {
        Some(Action::Reset) => {
            let resp = reset_connection(&req);
            record(0, body);
            return resp;
        }
        Some(a @ (Action::Burst429 | Action::Status(_) | Action::Respond(_))) => {
            answer(a, &words).unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        Some(Action::Truncate(_)) | None => {
            if !authorized(&sim, req.headers()) {
                ScimError::unauthorized().into_response()
            } else {
                let now_ms = sim.clock().now_ms();
                let taken = sim.limiter().take(Bucket::Token, now_ms);
                match taken {
                    Err(_) => {
                        ScimError::too_many_requests(sim.config().retry_after_secs).into_response()
                    }
                    Ok(_) => next.run(req).await,
                }
            }
        }
    };
    match action {
        Some(Action::Truncate(mode)) => resp = truncate(resp, mode).await,
        Some(Action::Respond(canned)) => canned.apply_headers(&mut resp),
        _ => {}
    }
    record(resp.status().as_u16(), body);
    resp
}
