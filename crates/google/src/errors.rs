//! Google's error answers turned into [`ConnectorError`]s.
//!
//! The Admin SDK answers the standard Google JSON error
//! `{"error": {"code": 404, "message": "Resource Not Found: userKey", "errors": [{"message",
//! "domain", "reason": "notFound"}], "status": "NOT_FOUND"}}`; its quota errors come as
//! `403` with reason `userRateLimitExceeded`/`rateLimitExceeded`/`quotaExceeded` (Directory API
//! "Limits and quotas": back off and retry). The token endpoint answers RFC 6749's
//! `{"error": "invalid_grant", "error_description": "…"}`. Messages carry the code, the reason
//! and a bounded message, never a request's credentials.

use gatehouse_connect::redact::clip;
use gatehouse_core::provider::ConnectorError;
use http::StatusCode;
use serde_json::Value;

/// The longest error text passed on.
const MAX_MESSAGE: usize = 400;

/// Reasons of a `403` that mean "slow down", not "not allowed".
const QUOTA_REASONS: &[&str] = &[
    "userratelimitexceeded",
    "ratelimitexceeded",
    "quotaexceeded",
    "dailylimitexceeded",
];

/// Google's error object, as far as it could be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoogleError {
    pub message: Option<String>,
    /// `errors[0].reason`.
    pub reason: Option<String>,
    /// `status` (`PERMISSION_DENIED`, …), on newer answers.
    pub status: Option<String>,
}

impl GoogleError {
    pub fn parse(body: &[u8]) -> Self {
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return Self::default();
        };
        let Some(error) = value.get("error").filter(|e| e.is_object()) else {
            return Self::default();
        };
        let text = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Self {
            message: text(error.get("message")),
            reason: text(
                error
                    .get("errors")
                    .and_then(Value::as_array)
                    .and_then(|e| e.first())
                    .and_then(|e| e.get("reason")),
            ),
            status: text(error.get("status")),
        }
    }

    pub fn is_quota(&self) -> bool {
        self.reason
            .as_deref()
            .is_some_and(|r| QUOTA_REASONS.contains(&r.to_ascii_lowercase().as_str()))
    }

    pub fn describe(&self, status: StatusCode) -> String {
        let code = self.reason.as_ref().or(self.status.as_ref());
        let text = match (code, &self.message) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.clone(),
            (None, Some(message)) => message.clone(),
            (None, None) => format!("HTTP {}", status.as_u16()),
        };
        clip(text, MAX_MESSAGE)
    }
}

/// The [`ConnectorError`] for a non-success Admin SDK answer to `what`: 401 →
/// `Unauthorized`, 403 quota reasons and 429 → `RateLimited`, other 403 → `Forbidden`, 404 →
/// `NotFound`, 5xx → `Unavailable`, anything else → `Protocol`.
pub fn error_from_response(status: StatusCode, body: &[u8], what: &str) -> ConnectorError {
    let google = GoogleError::parse(body);
    let message = format!("{what}: {}", google.describe(status));
    match status {
        StatusCode::UNAUTHORIZED => ConnectorError::Unauthorized(message),
        StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
            if google.is_quota() || status == StatusCode::TOO_MANY_REQUESTS =>
        {
            ConnectorError::RateLimited { retry_after: None }
        }
        StatusCode::FORBIDDEN => ConnectorError::Forbidden(message),
        StatusCode::NOT_FOUND => ConnectorError::NotFound(message),
        s if s.is_server_error() => ConnectorError::Unavailable(message),
        s => ConnectorError::Protocol(format!("Google answered {}: {message}", s.as_u16())),
    }
}

/// What a refused token request means. `invalid_grant` (a bad `sub`, signature or clock),
/// `unauthorized_client` (domain-wide delegation not granted for these scopes),
/// `invalid_client` and `access_denied` are `Unauthorized`, named with Google's code and
/// description and a hint; a 5xx is `Unavailable`.
pub fn token_refusal(status: StatusCode, body: &[u8]) -> ConnectorError {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error = value
        .get("error")
        .and_then(Value::as_str)
        .filter(|e| e.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .map(str::to_owned);
    let description = value
        .get("error_description")
        .and_then(Value::as_str)
        .map(|d| clip(d.trim().to_owned(), MAX_MESSAGE));
    let named = match (&error, &description) {
        (Some(e), Some(d)) => format!("{e}: {d}"),
        (Some(e), None) => e.clone(),
        (None, _) => format!("HTTP {}", status.as_u16()),
    };
    let hint = match error.as_deref() {
        Some("unauthorized_client") => {
            "; grant the service account's client id these scopes in the Admin console \
             (Security > API controls > Domain-wide delegation)"
        }
        Some("invalid_grant") => {
            "; check admin_email (an existing admin of the domain), the key (not deleted) and \
             the gateway's clock"
        }
        _ => "",
    };
    let message = format!("Google's token endpoint refused the service account: {named}{hint}");
    if status.is_server_error() {
        ConnectorError::Unavailable(message)
    } else if error.is_some() || status.is_client_error() {
        ConnectorError::Unauthorized(message)
    } else {
        ConnectorError::Protocol(message)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn token_errors_name_the_code() {
        let err = token_refusal(
            StatusCode::UNAUTHORIZED,
            &fixture("token_unauthorized_client.json"),
        );
        assert!(
            matches!(&err, ConnectorError::Unauthorized(m) if m.contains("unauthorized_client") && m.contains("Domain-wide delegation")),
            "{err}"
        );
        let err = token_refusal(
            StatusCode::BAD_REQUEST,
            &fixture("token_invalid_grant.json"),
        );
        assert!(
            matches!(&err, ConnectorError::Unauthorized(m) if m.contains("invalid_grant: Invalid email or User ID")),
            "{err}"
        );
        assert!(matches!(
            token_refusal(StatusCode::BAD_GATEWAY, b"<html>"),
            ConnectorError::Unavailable(_)
        ));
    }

    #[test]
    fn api_errors_by_status_and_reason() {
        let not_found = fixture("error_not_found.json");
        assert!(matches!(
            error_from_response(StatusCode::NOT_FOUND, &not_found, "reading a user"),
            ConnectorError::NotFound(m) if m == "reading a user: notFound: Resource Not Found: userKey"
        ));
        let quota = br#"{"error":{"code":403,"message":"Quota exceeded for quota metric 'Queries'","errors":[{"message":"x","domain":"usageLimits","reason":"userRateLimitExceeded"}]}}"#;
        assert!(matches!(
            error_from_response(StatusCode::FORBIDDEN, quota, "x"),
            ConnectorError::RateLimited { .. }
        ));
        let forbidden = br#"{"error":{"code":403,"message":"Not Authorized to access this resource/api","errors":[{"message":"Not Authorized to access this resource/api","domain":"global","reason":"forbidden"}]}}"#;
        assert!(matches!(
            error_from_response(StatusCode::FORBIDDEN, forbidden, "x"),
            ConnectorError::Forbidden(m) if m.contains("forbidden")
        ));
        assert!(matches!(
            error_from_response(StatusCode::SERVICE_UNAVAILABLE, b"", "x"),
            ConnectorError::Unavailable(m) if m == "x: HTTP 503"
        ));
    }
}
