//! What every request goes through before and after its handler: injected
//! faults, the rate-limit bucket of its endpoint family, token check, the
//! `X-Rate-Limit-*` and `X-Okta-Request-Id` headers on every answer, and the
//! record of mutating calls.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::clock::fmt_ts;
use super::errors::{random_base62, OktaError, OktaWords};
use super::http::decode;
use super::ratelimit::{EndpointFamily, HEADERS};
use super::state::RecordedCall;
use super::{oauth, OktaSim};
use crate::common::faults::{answer, reset_connection, truncate, Action};
use crate::common::Quota;

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

    let (mut resp, quota) = match &action {
        Some(Action::Reset) => {
            let resp = reset_connection(&req);
            record(&sim, &method, &path, query, 0, arrived, &HeaderMap::new());
            return resp;
        }
        Some(Action::Burst429) => {
            let mut q = sim.limiter().peek(family, now_ms);
            q.remaining = 0;
            (OktaError::rate_limited().into_response(), q)
        }
        Some(a @ (Action::Status(_) | Action::Respond(_))) => {
            let q = sim.limiter().peek(family, now_ms);
            let resp =
                answer(a, &OktaWords).unwrap_or_else(|| OktaError::internal().into_response());
            (resp, q)
        }
        Some(Action::Truncate(_)) | None => {
            let taken = sim.limiter().take(family, now_ms);
            match taken {
                Err(q) => (OktaError::rate_limited().into_response(), q),
                Ok(q) => match authenticate(&sim, &req) {
                    Some(refused) => (refused, q),
                    None if sim.config().require_content_length && needs_length(&req) => {
                        (OktaError::length_required().into_response(), q)
                    }
                    None => (okta_shaped(next.run(req).await).await, q),
                },
            }
        }
    };
    add_headers(resp.headers_mut(), quota, sim.clock().now());
    match action {
        Some(Action::Truncate(mode)) => resp = truncate(resp, mode).await,
        // A canned answer's own headers win over the ones just added.
        Some(Action::Respond(canned)) => canned.apply_headers(&mut resp),
        _ => {}
    }
    record(
        &sim,
        &method,
        &path,
        query,
        resp.status().as_u16(),
        arrived,
        resp.headers(),
    );
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

/// Who may call: the token endpoint authenticates its clients itself; the
/// Management API takes access tokens the org issued (their scopes and
/// lifetime checked) or the API token.
/// `None` when the call may go on, else the refusal to send.
fn authenticate(sim: &OktaSim, req: &Request) -> Option<Response> {
    if req.uri().path() == oauth::TOKEN_PATH {
        return None;
    }
    match oauth::check(sim, req) {
        oauth::Verdict::Allowed => None,
        oauth::Verdict::Refused(resp) => Some(resp),
        oauth::Verdict::NotOAuth if authorized(req.headers(), &sim.config().api_token) => None,
        oauth::Verdict::NotOAuth => Some(OktaError::invalid_token().into_response()),
    }
}

/// `Authorization: SSWS <token>` (scheme case-insensitive). An API token is never a Bearer
/// token at Okta: `Bearer` carries only access tokens the org issued, checked by `oauth::check`.
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
    scheme.eq_ignore_ascii_case("SSWS") && given.trim() == token
}

fn add_headers(h: &mut HeaderMap, q: Quota, now: chrono::DateTime<chrono::Utc>) {
    HEADERS.apply(h, q);
    // Okta's `Date` and `X-Rate-Limit-Reset` come from one clock, the org's: set it from the
    // simulated clock (the HTTP server would stamp the machine's).
    let date = now.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    if let Ok(v) = HeaderValue::from_str(&date) {
        h.insert(header::DATE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&random_base62(27)) {
        h.insert("x-okta-request-id", v);
    }
}

/// Records every call in the call log, and mutating ones (token requests
/// aside) in the org's record of mutations as before.
fn record(
    sim: &OktaSim,
    method: &Method,
    path: &str,
    query: Option<String>,
    status: u16,
    at: chrono::DateTime<chrono::Utc>,
    answered: &HeaderMap,
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
    let call = RecordedCall {
        method: method.to_string(),
        path: path.to_string(),
        query,
        user_id,
        group_id,
        status,
        at: fmt_ts(at),
        link: answered
            .get_all(header::LINK)
            .iter()
            .filter_map(|v| v.to_str().ok().map(String::from))
            .collect(),
    };
    if mutating(method) && !path.starts_with("/oauth2/") {
        store.mutations.push(call.clone());
    }
    drop(store);
    sim.shared.calls.push(call);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_token_is_accepted_only_as_ssws() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("SSWS abc"));
        assert!(authorized(&h, "abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("ssws abc"));
        assert!(authorized(&h, "abc"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert!(!authorized(&h, "abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert!(!authorized(&h, "abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("SSWS abd"));
        assert!(!authorized(&h, "abc"));
        assert!(!authorized(&HeaderMap::new(), "abc"));
    }
}
