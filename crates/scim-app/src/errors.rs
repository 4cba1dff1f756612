//! SCIM error answers (RFC 7644 §3.12: `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:
//! Error"], "status": "409", "scimType": "uniqueness", "detail": "…"}`) turned into
//! [`ConnectorError`]s. Apps also answer with HTML or empty bodies (a gateway in front), which
//! are named by their status alone. Messages carry the status, `scimType` and a bounded
//! `detail`, never a request's headers (the token).

use gatehouse_core::provider::ConnectorError;
use http::StatusCode;
use serde_json::Value;

/// The longest error text passed on.
const MAX_MESSAGE: usize = 300;

/// A SCIM error body as far as it could be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimErrorBody {
    pub scim_type: Option<String>,
    pub detail: Option<String>,
}

impl ScimErrorBody {
    pub fn parse(body: &[u8]) -> Self {
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return Self::default();
        };
        let text = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Self {
            scim_type: text("scimType"),
            detail: text("detail").or_else(|| text("message")),
        }
    }

    fn describe(&self, status: StatusCode) -> String {
        let text = match (&self.scim_type, &self.detail) {
            (Some(t), Some(d)) => format!("{t}: {d}"),
            (Some(t), None) => t.clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => format!("HTTP {}", status.as_u16()),
        };
        gatehouse_connect::redact::clip(text, MAX_MESSAGE)
    }
}

/// The [`ConnectorError`] for a non-success answer to `what`: 401 → `Unauthorized`, 403 →
/// `Forbidden`, 404 → `NotFound`, 429 → `RateLimited`, 501 → `Unsupported`, 5xx →
/// `Unavailable`, anything else → `Protocol`.
pub fn error_from_response(status: StatusCode, body: &[u8], what: &str) -> ConnectorError {
    let message = format!("{what}: {}", ScimErrorBody::parse(body).describe(status));
    match status {
        StatusCode::UNAUTHORIZED => ConnectorError::Unauthorized(format!(
            "{message} (check the app's SCIM token or OAuth client)"
        )),
        StatusCode::FORBIDDEN => ConnectorError::Forbidden(message),
        StatusCode::NOT_FOUND => ConnectorError::NotFound(message),
        StatusCode::TOO_MANY_REQUESTS => ConnectorError::RateLimited { retry_after: None },
        StatusCode::NOT_IMPLEMENTED => ConnectorError::Unsupported("this operation at the app"),
        s if s.is_server_error() => ConnectorError::Unavailable(message),
        s => ConnectorError::Protocol(format!("the app answered {}: {message}", s.as_u16())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn scim_error_bodies_by_status() {
        let body = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/error_uniqueness.json"
        ))
        .unwrap();
        assert!(matches!(
            error_from_response(StatusCode::CONFLICT, &body, "creating a user"),
            ConnectorError::Protocol(m) if m.contains("uniqueness: userName")
        ));
        assert!(matches!(
            error_from_response(StatusCode::UNAUTHORIZED, b"<html>", "x"),
            ConnectorError::Unauthorized(m) if m.starts_with("x: HTTP 401")
        ));
        assert!(matches!(
            error_from_response(StatusCode::NOT_IMPLEMENTED, b"", "x"),
            ConnectorError::Unsupported(_)
        ));
        assert!(matches!(
            error_from_response(StatusCode::BAD_GATEWAY, b"", "x"),
            ConnectorError::Unavailable(_)
        ));
    }
}
