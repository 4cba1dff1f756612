//! JumpCloud's error answers turned into [`ConnectorError`]s.
//!
//! The v1 API documents the error object `{"code": 404, "message": "…", "status": "Not
//! Found"}` (spec `Error`; a 400 on PUT may add `details[]`). Bodies of a refused key were not
//! documented, so anything else (an HTML page, an empty body) is named by its status alone.
//! Messages carry the status and a bounded message, never a request's headers (the API key).

use gatehouse_connect::redact::clip;
use gatehouse_core::provider::ConnectorError;
use http::StatusCode;
use serde_json::Value;

/// The longest error text passed on.
const MAX_MESSAGE: usize = 400;

/// JumpCloud's error object, as far as it could be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JumpCloudError {
    pub message: Option<String>,
    /// `status` (`Not Found`, `INVALID_ARGUMENT`, …).
    pub status: Option<String>,
}

impl JumpCloudError {
    pub fn parse(body: &[u8]) -> Self {
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return Self::default();
        };
        let text = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        // Some answers nest it as `{"error": {...}}` or give `{"error": "text"}`.
        let object = match value.get("error") {
            Some(inner @ Value::Object(_)) => inner,
            _ => &value,
        };
        Self {
            message: text(object.get("message")).or_else(|| text(value.get("error"))),
            status: text(object.get("status")),
        }
    }

    pub fn describe(&self, status: StatusCode) -> String {
        let text = match (&self.status, &self.message) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.clone(),
            (None, Some(message)) => message.clone(),
            (None, None) => format!("HTTP {}", status.as_u16()),
        };
        clip(text, MAX_MESSAGE)
    }
}

/// The [`ConnectorError`] for a non-success answer to `what`: 401 → `Unauthorized`, 403 →
/// `Forbidden`, 404 → `NotFound`, 429 → `RateLimited`, 5xx → `Unavailable`, anything else →
/// `Protocol`.
pub fn error_from_response(status: StatusCode, body: &[u8], what: &str) -> ConnectorError {
    let error = JumpCloudError::parse(body);
    let message = format!("{what}: {}", error.describe(status));
    match status {
        StatusCode::UNAUTHORIZED => ConnectorError::Unauthorized(format!(
            "{message} (check the API key, and org_id for a multi-tenant administrator)"
        )),
        StatusCode::FORBIDDEN => ConnectorError::Forbidden(message),
        StatusCode::NOT_FOUND => ConnectorError::NotFound(message),
        StatusCode::TOO_MANY_REQUESTS => ConnectorError::RateLimited { retry_after: None },
        s if s.is_server_error() => ConnectorError::Unavailable(message),
        s => ConnectorError::Protocol(format!("JumpCloud answered {}: {message}", s.as_u16())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn errors_by_status_with_the_documented_object() {
        let body = br#"{"code":404,"message":"User not found","status":"Not Found"}"#;
        assert!(matches!(
            error_from_response(StatusCode::NOT_FOUND, body, "reading a user"),
            ConnectorError::NotFound(m) if m == "reading a user: Not Found: User not found"
        ));
        assert!(matches!(
            error_from_response(StatusCode::UNAUTHORIZED, b"", "x"),
            ConnectorError::Unauthorized(m) if m.starts_with("x: HTTP 401")
        ));
        assert!(matches!(
            error_from_response(StatusCode::FORBIDDEN, br#"{"message":"Forbidden"}"#, "x"),
            ConnectorError::Forbidden(m) if m == "x: Forbidden"
        ));
        assert!(matches!(
            error_from_response(StatusCode::BAD_GATEWAY, b"<html>", "x"),
            ConnectorError::Unavailable(_)
        ));
        assert!(matches!(
            error_from_response(StatusCode::BAD_REQUEST, br#"{"error":"bad filter"}"#, "x"),
            ConnectorError::Protocol(m) if m.contains("bad filter")
        ));
    }
}
