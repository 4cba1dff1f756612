//! What every request goes through before and after its handler: injected
//! faults, the rate-limit bucket of its endpoint family, token check, the
//! `X-Rate-Limit-*` and `X-Okta-Request-Id` headers on every answer, and the
//! record of mutating calls.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::clock::fmt_ts;
use super::errors::{random_base62, OktaError};
use super::faults::{Action, ConnHandle, Truncation};
use super::http::decode;
use super::ratelimit::{EndpointFamily, Quota};
use super::state::RecordedCall;
use super::OktaSim;

/// The middleware function (installed with `from_fn_with_state`).
pub async fn edge(State(sim): State<OktaSim>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(String::from);
    let arrived = sim.clock().now();
    let family = EndpointFamily::of(&method, &path);

    let (delay, action) = sim.fault_queue().take(&path);
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    let now_ms = sim.clock().now_ms();

    let (mut resp, quota) = match action {
        Some(Action::Reset) => {
            let conn = req
                .extensions()
                .get::<ConnectInfo<ConnHandle>>()
                .map(|c| c.0.clone());
            if mutating(&method) {
                record(&sim, &method, &path, query, 0, arrived);
            }
            return match conn {
                Some(c) => {
                    c.reset();
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                }
                // Not served by our listener: the best we can do is abort the body.
                None => aborted(),
            };
        }
        Some(Action::Burst429) => {
            let mut q = sim.limiter().peek(family, now_ms);
            q.remaining = 0;
            (OktaError::rate_limited().into_response(), q)
        }
        Some(Action::Status(s)) => {
            let status = StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let q = sim.limiter().peek(family, now_ms);
            (OktaError::with_status(status).into_response(), q)
        }
        Some(Action::Truncate(_)) | None => {
            let taken = sim.limiter().take(family, now_ms);
            match taken {
                Err(q) => (OktaError::rate_limited().into_response(), q),
                Ok(q) if !authorized(req.headers(), &sim.config().api_token) => {
                    (OktaError::invalid_token().into_response(), q)
                }
                Ok(q) if sim.config().require_content_length && needs_length(&req) => {
                    (OktaError::length_required().into_response(), q)
                }
                Ok(q) => (okta_shaped(next.run(req).await).await, q),
            }
        }
    };
    if let Some(Action::Truncate(mode)) = action {
        resp = truncate(resp, mode).await;
    }
    add_headers(resp.headers_mut(), quota);
    if mutating(&method) {
        record(&sim, &method, &path, query, resp.status().as_u16(), arrived);
    }
    resp
}

fn mutating(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Okta answers 411 to a POST or PUT that has neither `Content-Length` nor a body.
fn needs_length(req: &Request) -> bool {
    (req.method() == Method::POST || req.method() == Method::PUT)
        && !req.headers().contains_key(header::CONTENT_LENGTH)
        && !req.headers().contains_key(header::TRANSFER_ENCODING)
}

/// Errors produced by the framework itself (a path segment that is not valid
/// UTF-8…) come as plain text; give them Okta's JSON error body instead.
async fn okta_shaped(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.as_u16() < 400 || is_json {
        return resp;
    }
    let text = axum::body::to_bytes(resp.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let mut err = if status.is_server_error() {
        OktaError::internal()
    } else {
        OktaError::validation("request")
    };
    err.status = status;
    let text = String::from_utf8_lossy(&text).trim().to_string();
    if !text.is_empty() {
        err = err.with_cause(text);
    }
    err.into_response()
}

/// `Authorization: SSWS <token>` or `Bearer <token>` (schemes case-insensitive).
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, given)) = value.trim().split_once(' ') else {
        return false;
    };
    (scheme.eq_ignore_ascii_case("SSWS") || scheme.eq_ignore_ascii_case("Bearer"))
        && given.trim() == token
}

fn add_headers(h: &mut HeaderMap, q: Quota) {
    h.insert("x-rate-limit-limit", HeaderValue::from(q.limit));
    h.insert("x-rate-limit-remaining", HeaderValue::from(q.remaining));
    h.insert("x-rate-limit-reset", HeaderValue::from(q.reset_epoch_s));
    if let Ok(v) = HeaderValue::from_str(&random_base62(27)) {
        h.insert("x-okta-request-id", v);
    }
}

fn record(
    sim: &OktaSim,
    method: &Method,
    path: &str,
    query: Option<String>,
    status: u16,
    at: chrono::DateTime<chrono::Utc>,
) {
    let segs: Vec<String> = path.split('/').map(decode).collect();
    let mut store = sim.store();
    // /api/v1/users/{id}/… and /api/v1/groups/{gid}/users/{uid}
    let (user_key, group_id) = match segs.get(3).map(String::as_str) {
        Some("users") => (segs.get(4).cloned(), None),
        Some("groups") => (segs.get(6).cloned(), segs.get(4).cloned()),
        _ => (None, None),
    };
    let user_id = user_key.map(|k| store.user_id(&k).unwrap_or(k));
    store.mutations.push(RecordedCall {
        method: method.to_string(),
        path: path.to_string(),
        query,
        user_id,
        group_id,
        status,
        at: fmt_ts(at),
    });
}

/// A response whose body fails at once, so the client gets no usable answer.
fn aborted() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        ))
    });
    Response::new(Body::from_stream(stream))
}

async fn truncate(resp: Response, mode: Truncation) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let cut = bytes.len() / 2;
    match mode {
        Truncation::CutJson => {
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(cut));
            Response::from_parts(parts, Body::from(bytes.slice(..cut)))
        }
        Truncation::ContentLengthTooLong => {
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
            let head = bytes.slice(..cut);
            // Send half, give the server a moment to flush it, then fail the body.
            let stream = futures::stream::unfold(0u8, move |step| {
                let head = head.clone();
                async move {
                    match step {
                        0 => Some((Ok(head), 1)),
                        1 => {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Some((
                                Err(std::io::Error::new(
                                    std::io::ErrorKind::UnexpectedEof,
                                    "truncated",
                                )),
                                2,
                            ))
                        }
                        _ => None,
                    }
                }
            });
            Response::from_parts(parts, Body::from_stream(stream))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_both_schemes() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("SSWS abc"));
        assert!(authorized(&h, "abc"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert!(authorized(&h, "abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert!(!authorized(&h, "abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("SSWS abd"));
        assert!(!authorized(&h, "abc"));
        assert!(!authorized(&HeaderMap::new(), "abc"));
    }
}
