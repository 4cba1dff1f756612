//! Error answers in Microsoft's two wire formats: the identity platform's
//! token-endpoint errors (`error`, `error_description` starting with the
//! `AADSTS` code, `error_codes`, `timestamp`, `trace_id`, `correlation_id`)
//! and Microsoft Graph's `{"error":{"code","message","innerError":{…}}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::common::FaultAnswers;

/// A Microsoft Graph error answer.
#[derive(Debug, Clone)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// Extra headers (`Retry-After`, `WWW-Authenticate`, `Location`).
    pub headers: Vec<(&'static str, String)>,
}

impl GraphError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_string(),
            message: message.into(),
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// 401 for a missing, malformed, foreign or expired token, with the
    /// `WWW-Authenticate` challenge Graph sends.
    pub fn invalid_token(message: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        )
        .with_header(
            "www-authenticate",
            "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
        )
    }

    /// 403 when the app lacks the application permission.
    pub fn denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }

    /// 403 for reports that need Microsoft Entra ID P1/P2.
    pub fn non_premium() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Neither tenant is B2C or tenant doesn't have premium license",
        )
    }

    /// 404 for an unknown directory object.
    pub fn not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
        )
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 429 with `Retry-After` in seconds.
    pub fn throttled(retry_after_s: i64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests.",
        )
        .with_header("retry-after", retry_after_s.max(1).to_string())
    }

    pub fn no_route(path: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!(
                "Resource not found for the segment '{}'.",
                last_segment(path)
            ),
        )
    }
}

fn last_segment(path: &str) -> &str {
    path.rsplit('/').find(|s| !s.is_empty()).unwrap_or(path)
}

/// `innerError.date` as Graph writes it (no fractional seconds, no zone).
pub fn inner_date(now: chrono::DateTime<chrono::Utc>) -> String {
    now.format("%Y-%m-%dT%H:%M:%S").to_string()
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        // The edge replaces the placeholder innerError with the request's own
        // ids and the simulated date (see `edge::finish_error`).
        let body = json!({"error": {"code": self.code, "message": self.message}});
        let mut resp = (self.status, body.to_string()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (name, value) in &self.headers {
            if let Ok(v) = HeaderValue::from_str(value) {
                resp.headers_mut().insert(*name, v);
            }
        }
        resp
    }
}

/// Graph's words for injected faults.
pub struct GraphWords;

impl FaultAnswers for GraphWords {
    fn too_many_requests(&self) -> Response {
        GraphError::throttled(1).into_response()
    }

    fn error_status(&self, status: StatusCode) -> Response {
        let (code, message) = match status.as_u16() {
            503 => (
                "serviceNotAvailable",
                "The service is temporarily unavailable. Retry the request after a delay.",
            ),
            504 => (
                "UnknownError",
                "The gateway did not receive a timely response.",
            ),
            502 => ("UnknownError", "Bad gateway."),
            s if s >= 500 => ("generalException", "An unspecified error has occurred."),
            _ => ("BadRequest", "The request failed."),
        };
        let mut err = GraphError::new(status, code, message);
        if status.as_u16() == 503 {
            err = err.with_header("retry-after", "1");
        }
        err.into_response()
    }
}

/// A token-endpoint (identity platform) error answer.
#[derive(Debug, Clone)]
pub struct StsError {
    pub status: StatusCode,
    pub error: &'static str,
    pub code: u32,
    pub description: String,
}

impl StsError {
    pub fn new(status: StatusCode, error: &'static str, code: u32, description: String) -> Self {
        Self {
            status,
            error,
            code,
            description,
        }
    }

    /// The JSON body, with the trace/correlation ids and timestamp appended to
    /// the description as the identity platform does.
    pub fn body(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        trace_id: &str,
        correlation_id: &str,
    ) -> serde_json::Value {
        let stamp = now.format("%Y-%m-%d %H:%M:%SZ");
        json!({
            "error": self.error,
            "error_description": format!(
                "AADSTS{}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {stamp}",
                self.code, self.description
            ),
            "error_codes": [self.code],
            "timestamp": stamp.to_string(),
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code),
        })
    }
}
