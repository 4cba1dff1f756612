//! Request extractors that answer in the API's JSON error shape: the caller's identity, JSON
//! bodies (415 for other content types, 413 past the limit) and query strings.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use gatehouse_core::TenantId;
use gatehouse_engine::Principal;
use gatehouse_store::Locatable;
use secrecy::ExposeSecret as _;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::console::session::{self, Sessions};
use crate::throttle::AuthThrottle;
use crate::{ApiError, AppState};

/// The bearer token from `Authorization`, if the header has one.
pub(crate) fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// An authenticated `/v1/*` caller: the operator or one tenant.
#[derive(Debug, Clone)]
pub(crate) enum Caller {
    Operator,
    Tenant(TenantId),
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(token) = bearer(parts) {
            let token = token.to_owned();
            return authenticate_key(parts, state, &token).await;
        }
        // The console's session cookie (console/session.rs) stands for the key it was exchanged
        // for; a state-changing call must also carry the session's CSRF token.
        if let Some(id) = session::cookie_value(&parts.headers) {
            throttled(parts)?;
            let found = parts
                .extensions
                .get::<Arc<Sessions>>()
                .and_then(|sessions| sessions.get(&id, Instant::now()));
            let Some(found) = found else {
                record_failure(parts);
                return Err(ApiError::unauthorized(
                    "the console session has expired or was signed out; sign in again",
                ));
            };
            if !parts.method.is_safe() {
                let presented = parts
                    .headers
                    .get(session::CSRF_HEADER)
                    .and_then(|v| v.to_str().ok());
                if !presented.is_some_and(|token| found.csrf_matches(token)) {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "csrf_failed",
                        "a state-changing call with the console session needs its X-CSRF-Token",
                    ));
                }
            }
            return authenticate_key(parts, state, found.key.expose_secret()).await;
        }
        Err(ApiError::unauthorized(
            "missing credentials: send Authorization: Bearer <operator or tenant API key>",
        ))
    }
}

/// The client address and the bad-token throttle of a request, when both are known.
fn peer_and_throttle(parts: &Parts) -> Option<(IpAddr, Arc<AuthThrottle>)> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())?;
    let throttle = parts.extensions.get::<Arc<AuthThrottle>>().cloned()?;
    Some((peer, throttle))
}

/// 429 while the client address is throttled for bad tokens (throttle.rs): checked before the
/// key is, so a throttled address learns nothing about the keys it tries.
fn throttled(parts: &Parts) -> Result<(), ApiError> {
    if let Some((peer, throttle)) = peer_and_throttle(parts) {
        if let Err(seconds) = throttle.check(peer, Instant::now()) {
            let mut error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "too many invalid API keys from this address; retry later",
            );
            error.retry_after = Some(seconds);
            return Err(error);
        }
    }
    Ok(())
}

fn record_failure(parts: &Parts) {
    if let Some((peer, throttle)) = peer_and_throttle(parts) {
        throttle.record_failure(peer, Instant::now());
    }
}

/// The caller an operator or tenant API key stands for, throttled and counted like a bearer
/// token (the console's sign-in exchanges a key through here too).
pub(crate) async fn authenticate_key(
    parts: &Parts,
    state: &AppState,
    token: &str,
) -> Result<Caller, ApiError> {
    throttled(parts)?;
    match state.gateway.authenticate(token).await? {
        Some(Principal::Operator) => Ok(Caller::Operator),
        Some(Principal::Tenant(tenant)) => Ok(Caller::Tenant(tenant)),
        Some(Principal::Ingest { .. } | Principal::Scim { .. }) => Err(ApiError::unauthorized(
            "this token is for push ingest or SCIM, not for the management API",
        )),
        None => {
            record_failure(parts);
            Err(ApiError::unauthorized("invalid API key"))
        }
    }
}

impl Caller {
    /// Who asked, for audit trails.
    pub(crate) fn label(&self) -> String {
        match self {
            Self::Operator => "operator".to_owned(),
            Self::Tenant(tenant) => format!("tenant_api_key:{tenant}"),
        }
    }

    pub(crate) fn require_operator(&self) -> Result<(), ApiError> {
        match self {
            Self::Operator => Ok(()),
            Self::Tenant(_) => Err(ApiError::forbidden("only the operator key may do this")),
        }
    }

    /// The tenant a tenant-scoped request acts on. The operator must name it; a tenant key acts
    /// on its own tenant, and naming any other answers 404 as if it did not exist.
    pub(crate) fn scope(&self, requested: Option<&str>) -> Result<TenantId, ApiError> {
        match (self, requested) {
            (Self::Operator, None) => Err(ApiError::invalid(
                "tenant_id",
                "tenant_id is required with the operator key",
            )),
            (Self::Operator, Some(id)) => {
                TenantId::parse(id).ok_or_else(|| ApiError::not_found(format!("tenant {id}")))
            }
            (Self::Tenant(own), None) => Ok(own.clone()),
            (Self::Tenant(own), Some(id)) if own.as_str() == id => Ok(own.clone()),
            (Self::Tenant(_), Some(id)) => Err(ApiError::not_found(format!("tenant {id}"))),
        }
    }

    /// The tenant owning a resource addressed by id alone.
    pub(crate) async fn owner_of(
        &self,
        state: &AppState,
        kind: Locatable,
        id: &str,
        what: &str,
    ) -> Result<TenantId, ApiError> {
        match self {
            Self::Tenant(own) => Ok(own.clone()),
            Self::Operator => state
                .gateway
                .store()
                .locate(kind, id)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("{what} {id}"))),
        }
    }

    /// The tenant named in a path, checked against the caller (404 for a tenant key's neighbour).
    pub(crate) fn tenant_in_path(&self, id: &str) -> Result<TenantId, ApiError> {
        self.scope(Some(id))
    }
}

/// A JSON request body.
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    status,
                    "payload_too_large",
                    "the request body is larger than the limit",
                )
            } else {
                ApiError::bad_request("the request body could not be read")
            }
        })?;
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|err| json_error(dotted_path(err.path()), err.inner()))?;
        deserializer.end().map_err(|err| json_error(None, &err))?;
        Ok(Self(value))
    }
}

/// Turns a JSON body's serde error into a 400 naming the field at fault: the path to the value
/// that did not fit (`config`, `credentials.domain`), or for a missing or unknown key the path
/// of the key itself. A syntax error keeps serde's line and column, since there is no field to
/// name; a value of the wrong kind drops them, the field says where.
fn json_error(parent: Option<String>, inner: &serde_json::Error) -> ApiError {
    let message = inner.to_string();
    let field = field_at(parent, &message);
    let detail = match inner.classify() {
        serde_json::error::Category::Data => without_position(&message),
        _ => message.as_str(),
    };
    let mut error = ApiError::bad_request(format!("invalid JSON body: {detail}"));
    error.field = field;
    error
}

/// The field a serde error is about: the path to the value that did not fit, with the key a
/// missing- or unknown-field message names (serde_path_to_error already ends the path with an
/// unknown key, not with a missing one).
fn field_at(path: Option<String>, message: &str) -> Option<String> {
    match (path, named_key(message)) {
        (Some(path), Some(key)) if path == key || path.ends_with(&format!(".{key}")) => Some(path),
        (Some(parent), Some(key)) => Some(format!("{parent}.{key}")),
        (None, Some(key)) => Some(key.to_owned()),
        (path, None) => path,
    }
}

/// The key serde names in a missing- or unknown-field message.
fn named_key(message: &str) -> Option<&str> {
    message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("unknown field") || message.starts_with("missing field"))
}

/// A path as API errors name fields (`credentials.domain`, `events.2.uuid`); `None` at the root.
fn dotted_path(path: &serde_path_to_error::Path) -> Option<String> {
    let segments: Vec<String> = path
        .iter()
        .filter_map(|segment| match segment {
            serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
            serde_path_to_error::Segment::Map { key } => Some(key.clone()),
            serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
            serde_path_to_error::Segment::Unknown => None,
        })
        .collect();
    (!segments.is_empty()).then(|| segments.join("."))
}

/// serde's message without its ` at line L column C` suffix.
fn without_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(at) if message[at..].contains(" column ") => &message[..at],
        _ => message,
    }
}

/// A raw request body (push ingest), with 413 in the API's error shape past the limit.
pub(crate) struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(Self)
            .map_err(|rejection| {
                let status = rejection.status();
                if status == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        status,
                        "payload_too_large",
                        "the request body is larger than the limit",
                    )
                } else {
                    ApiError::bad_request("the request body could not be read")
                }
            })
    }
}

/// The longest query parameter value accepted, in bytes.
pub(crate) const MAX_QUERY_VALUE: usize = 2048;

/// A query string, with the API's error shape when it does not parse.
pub(crate) struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        // No parameter of this API is longer than an id, a cursor or a search term; a huge one
        // is refused before it reaches a lookup, a filter or a log line.
        if let Some((key, _)) = form_urlencoded::parse(query.as_bytes())
            .find(|(_, value)| value.len() > MAX_QUERY_VALUE)
        {
            return Err(ApiError::invalid(
                key.into_owned(),
                format!("is longer than {MAX_QUERY_VALUE} bytes"),
            ));
        }
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(Self)
            .map_err(|err| {
                let message = err.inner().to_string();
                let field = field_at(dotted_path(err.path()), &message);
                let mut error = ApiError::bad_request(format!("invalid query string: {message}"));
                error.field = field;
                error
            })
    }
}

/// The optional `user_id` filter of the lists (400 naming the field when it is no user id).
pub(crate) fn user_id_filter(
    value: Option<&str>,
) -> Result<Option<gatehouse_core::UserId>, ApiError> {
    value
        .map(|u| {
            gatehouse_core::UserId::parse(u)
                .ok_or_else(|| ApiError::invalid("user_id", "is not a user id"))
        })
        .transpose()
}

/// `tenant_id`, `limit` and `cursor` of every list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Required with the operator key.
    pub tenant_id: Option<String>,
    /// Page size: default 100, at most 1000.
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}
