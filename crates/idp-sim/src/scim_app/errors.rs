//! Error answers as RFC 7644 §3.12 words them: `{"schemas":
//! ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "409", "scimType": "uniqueness",
//! "detail": "…"}` (`status` is a string), with `application/scim+json`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::common::FaultAnswers;

/// The error message schema URN.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A SCIM error answer.
#[derive(Debug, Clone)]
pub struct ScimError {
    pub status: StatusCode,
    /// `scimType` (`uniqueness`, `invalidFilter`, `invalidValue`, `mutability`, …).
    pub scim_type: Option<&'static str>,
    pub detail: String,
    pub headers: Vec<(header::HeaderName, String)>,
}

impl ScimError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type: None,
            detail: detail.into(),
            headers: Vec::new(),
        }
    }

    pub fn typed(status: StatusCode, scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self {
            scim_type: Some(scim_type),
            ..Self::new(status, detail)
        }
    }

    pub fn unauthorized() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "Authorization failure: the bearer token is missing or not valid",
        );
        e.headers
            .push((header::WWW_AUTHENTICATE, "Bearer realm=\"scim\"".into()));
        e
    }

    pub fn not_found(id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("Resource {id} not found"))
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
        e.headers
            .push((header::RETRY_AFTER, retry_after_secs.to_string()));
        e
    }

    pub fn body(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = Value::String(t.into());
        }
        body
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, self.body().to_string()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/scim+json"),
        );
        for (name, value) in &self.headers {
            if let Ok(v) = HeaderValue::from_str(value) {
                resp.headers_mut().insert(name.clone(), v);
            }
        }
        resp
    }
}

/// How the application words injected faults.
pub struct ScimWords {
    pub retry_after_secs: u64,
}

impl FaultAnswers for ScimWords {
    fn too_many_requests(&self) -> Response {
        ScimError::too_many_requests(self.retry_after_secs).into_response()
    }

    fn error_status(&self, status: StatusCode) -> Response {
        match status.as_u16() {
            401 => ScimError::unauthorized().into_response(),
            429 => self.too_many_requests(),
            _ => {
                ScimError::new(status, status.canonical_reason().unwrap_or("Error")).into_response()
            }
        }
    }
}
