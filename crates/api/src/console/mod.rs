//! The web console at `/console`: static assets embedded in the binary (one HTML page, one
//! vanilla JS module, one stylesheet) that call the JSON API with a session cookie, and the
//! session routes that exchange an operator or tenant API key for that cookie. See
//! docs/CONSOLE.md for the security model.

pub(crate) mod session;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::json;

use crate::extract::{authenticate_key, Caller, JsonBody};
use crate::{ApiError, AppState};
use session::{Session, Sessions};

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");
const FAVICON_SVG: &str = include_str!("assets/favicon.svg");

/// The Content-Security-Policy of every console response: nothing inline, nothing from
/// elsewhere, never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'self'";

/// Whether the console's cookie carries `Secure` on every response, not only on requests that
/// arrived over TLS (`X-Forwarded-Proto: https` from the TLS-terminating proxy).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CookiePolicy {
    pub always_secure: bool,
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(index))
        .route("/console/", get(index))
        .route("/console/assets/{name}", get(asset))
        .route(
            "/console/session",
            get(current_session).post(sign_in).delete(sign_out),
        )
        .layer(axum::middleware::map_response(security_headers))
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn index() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        INDEX_HTML,
    )
        .into_response()
}

async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "favicon.svg" => (FAVICON_SVG, "image/svg+xml"),
        _ => return ApiError::not_found(format!("console asset {name}")).into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    key: SecretString,
}

/// What the console knows of its session: who it acts as and the CSRF token to send.
fn session_body(caller: &Caller, session: &Session, now: Instant) -> serde_json::Value {
    let (kind, tenant) = match caller {
        Caller::Operator => ("operator", None),
        Caller::Tenant(tenant) => ("tenant", Some(tenant.to_string())),
    };
    json!({
        "caller": {"kind": kind, "tenant_id": tenant},
        "csrf_token": session.csrf,
        "expires_in": session.expires.saturating_duration_since(now).as_secs(),
    })
}

/// Whether the request reached the daemon over TLS (directly or through a proxy that says so).
fn over_tls(headers: &HeaderMap, uri: &axum::http::Uri) -> bool {
    uri.scheme_str() == Some("https")
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

fn cookie(value: &str, max_age: u64, secure: bool) -> HeaderValue {
    let mut text = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}",
        session::COOKIE
    );
    if secure {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text)
        .unwrap_or_else(|_| HeaderValue::from_static("gh_session=; Max-Age=0"))
}

/// `POST /console/session {"key": "…"}`: the key is checked exactly as a bearer token is
/// (throttled the same way); the answer sets the session cookie and carries the CSRF token.
async fn sign_in(
    State(state): State<AppState>,
    Extension(sessions): Extension<Arc<Sessions>>,
    Extension(policy): Extension<CookiePolicy>,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let JsonBody(SignIn { key }) =
        JsonBody::from_request(Request::from_parts(parts.clone(), body), &state).await?;
    let caller = authenticate_key(&parts, &state, key.expose_secret()).await?;
    let now = Instant::now();
    let (id, session) = sessions.open(key, now);
    let secure = policy.always_secure || over_tls(&parts.headers, &parts.uri);
    tracing::info!(caller = %caller.label(), "console sign-in");
    let mut response = (
        StatusCode::CREATED,
        Json(session_body(&caller, &session, now)),
    )
        .into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookie(&id, session::LIFETIME.as_secs(), secure),
    );
    Ok(response)
}

/// `GET /console/session`: the signed-in session (after a reload the page asks for its CSRF
/// token here; only a same-origin script can read the answer).
async fn current_session(
    State(state): State<AppState>,
    Extension(sessions): Extension<Arc<Sessions>>,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, _) = request.into_parts();
    let now = Instant::now();
    let found = session::cookie_value(&parts.headers).and_then(|id| sessions.get(&id, now));
    let Some(found) = found else {
        return Err(ApiError::unauthorized("not signed in to the console"));
    };
    let caller = authenticate_key(&parts, &state, found.key.expose_secret()).await?;
    Ok(Json(session_body(&caller, &found, now)).into_response())
}

/// `DELETE /console/session`: signs out (with the CSRF token) and clears the cookie.
async fn sign_out(
    Extension(sessions): Extension<Arc<Sessions>>,
    Extension(policy): Extension<CookiePolicy>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Response, ApiError> {
    let now = Instant::now();
    if let Some(id) = session::cookie_value(&headers) {
        if let Some(found) = sessions.get(&id, now) {
            let presented = headers
                .get(session::CSRF_HEADER)
                .and_then(|v| v.to_str().ok());
            if !presented.is_some_and(|token| found.csrf_matches(token)) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf_failed",
                    "signing out needs the session's X-CSRF-Token",
                ));
            }
            sessions.close(&id);
        }
    }
    let secure = policy.always_secure || over_tls(&headers, &uri);
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie("", 0, secure));
    Ok(response)
}
