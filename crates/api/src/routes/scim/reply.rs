//! SCIM answers: `application/scim+json` bodies, and every error in the RFC 7644 §3.12 shape
//! (never the management API's `{"error": …}` shape).

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_scim::ScimError;
use serde_json::Value;

pub(crate) const SCIM_JSON: &str = "application/scim+json";

/// A SCIM error as a response.
#[derive(Debug)]
pub(crate) struct ScimFail(pub ScimError);

impl From<ScimError> for ScimFail {
    fn from(err: ScimError) -> Self {
        Self(err)
    }
}

impl IntoResponse for ScimFail {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = json(status, &self.0.to_json());
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"gatehouse-scim\""),
            );
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // A store that refused the write after a durability failure: the daemon is about
            // to be restarted, and the client should try again then.
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(crate::error::RETRY_AFTER_RESTART_SECS),
            );
        }
        response
    }
}

pub(crate) type ScimResult = Result<Response, ScimFail>;

/// A SCIM JSON body with its status.
pub(crate) fn json(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}

/// A resource with its `ETag` (= `meta.version`) and, when asked, its `Location`.
pub(crate) fn resource(
    status: StatusCode,
    body: &Value,
    stored: &Value,
    location: bool,
) -> Response {
    let mut response = json(status, body);
    let meta = stored.get("meta");
    let mut set = |name: HeaderName, key: &str| {
        if let Some(v) = meta
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            response.headers_mut().insert(name, v);
        }
    };
    set(header::ETAG, "version");
    if location {
        set(header::LOCATION, "location");
    }
    response
}

/// A header's text, if present and readable.
pub(crate) fn header_text(headers: &HeaderMap, name: HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// 405 for a method the endpoint does not serve.
pub(crate) async fn method_not_allowed() -> ScimFail {
    ScimFail(ScimError::new(
        405,
        None,
        "this endpoint does not support that method",
    ))
}

/// 404 for a path under the SCIM root that is no endpoint.
pub(crate) async fn no_endpoint() -> ScimFail {
    ScimFail(ScimError::not_found("no such SCIM endpoint"))
}
