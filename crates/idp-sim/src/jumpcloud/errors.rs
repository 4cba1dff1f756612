//! Error answers in JumpCloud's wire formats: the v1/v2 `Error` schema
//! `{"code": <status>, "message": "...", "status": "<reason phrase>"}` for
//! bad parameters and unknown ids, and the bare `{"message": "..."}` JumpCloud
//! answers on authentication failures (e.g. `{"message":"Unauthorized: no
//! organization selected"}` for a multi-tenant key without `x-org-id`) and
//! on Directory Insights query errors.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::common::FaultAnswers;

/// A JumpCloud error answer.
#[derive(Debug, Clone)]
pub struct JcError {
    pub status: StatusCode,
    pub message: String,
    /// Bare `{"message"}` body instead of the `Error` schema.
    pub bare: bool,
    pub headers: Vec<(&'static str, String)>,
}

impl JcError {
    /// The `Error` schema body with `status`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            bare: false,
            headers: Vec::new(),
        }
    }

    /// A bare `{"message"}` body with `status`.
    pub fn bare(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            bare: true,
            ..Self::new(status, message)
        }
    }

    /// 400 for a bad parameter or body.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404 for an unknown object id.
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }

    /// 401 for a missing or wrong `x-api-key`.
    pub fn unauthorized() -> Self {
        Self::bare(StatusCode::UNAUTHORIZED, "Unauthorized")
    }

    /// 401 for a multi-tenant key without `x-org-id`.
    pub fn no_org_selected() -> Self {
        Self::bare(
            StatusCode::UNAUTHORIZED,
            "Unauthorized: no organization selected",
        )
    }

    /// 429 past the rate limit.
    pub fn too_many_requests() -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests")
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        if self.bare {
            json!({"message": self.message})
        } else {
            json!({
                "code": self.status.as_u16(),
                "message": self.message,
                "status": self.status.canonical_reason().unwrap_or("Error"),
            })
        }
    }
}

impl IntoResponse for JcError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, self.body().to_string()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        for (name, value) in &self.headers {
            if let Ok(v) = HeaderValue::from_str(value) {
                resp.headers_mut().insert(*name, v);
            }
        }
        resp
    }
}

/// How JumpCloud words injected faults.
pub struct JcWords;

impl FaultAnswers for JcWords {
    fn too_many_requests(&self) -> Response {
        JcError::too_many_requests().into_response()
    }

    fn error_status(&self, status: StatusCode) -> Response {
        match status.as_u16() {
            401 => JcError::unauthorized().into_response(),
            429 => self.too_many_requests(),
            _ => JcError::new(status, status.canonical_reason().unwrap_or("Error")).into_response(),
        }
    }
}
