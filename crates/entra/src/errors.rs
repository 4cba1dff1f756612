//! Microsoft's error answers turned into [`ConnectorError`]s.
//!
//! Graph answers `{"error": {"code", "message", "innerError": {…}}}` (Graph docs, "Microsoft
//! Graph error responses and resource types"); the token service answers RFC 6749's
//! `{"error", "error_description": "AADSTS7000215: …", "error_codes": [7000215], …}`
//! (Microsoft identity platform, client credentials flow). Messages name the code and a
//! bounded message, never the request's credentials and never a body that is not such an
//! error object.

use gatehouse_connect::redact::clip;
use gatehouse_core::provider::ConnectorError;
use http::StatusCode;
use serde_json::Value;

/// The longest error text passed on.
const MAX_MESSAGE: usize = 400;

/// Graph's codes for a delta or sync token it no longer knows (Graph docs, errors: "code
/// values": `syncStateNotFound`, `resyncRequired`; also seen as `SyncStateNotFound` and inside
/// `innerError`).
const SYNC_STATE_CODES: &[&str] = &["syncstatenotfound", "resyncrequired", "syncstateinvalid"];

/// Graph's error object, as far as it could be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphError {
    pub code: Option<String>,
    pub message: Option<String>,
    /// A nested `innerError.code` (some services put the precise code there).
    pub inner_code: Option<String>,
}

impl GraphError {
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
        let inner = error.get("innerError").or_else(|| error.get("innererror"));
        Self {
            code: text(error.get("code")),
            message: text(error.get("message")),
            inner_code: text(inner.and_then(|i| i.get("code"))),
        }
    }

    /// Whether the code says the delta token is gone and a full round must start over.
    pub fn is_sync_state_lost(&self) -> bool {
        [&self.code, &self.inner_code]
            .into_iter()
            .flatten()
            .any(|c| SYNC_STATE_CODES.contains(&c.to_ascii_lowercase().as_str()))
    }

    pub fn has_code(&self, code: &str) -> bool {
        [&self.code, &self.inner_code]
            .into_iter()
            .flatten()
            .any(|c| c.eq_ignore_ascii_case(code))
    }

    pub fn describe(&self, status: StatusCode) -> String {
        let text = match (&self.code, &self.message) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.clone(),
            (None, Some(message)) => message.clone(),
            (None, None) => format!("HTTP {}", status.as_u16()),
        };
        clip(text, MAX_MESSAGE)
    }
}

/// The [`ConnectorError`] for a non-success Graph answer to `what`: 401 → `Unauthorized`,
/// 403 → `Forbidden`, 404 → `NotFound`, 410 or a sync-state code → `SyncStateExpired`,
/// 429 → `RateLimited`, 5xx → `Unavailable`, any other status → `Protocol`.
pub fn error_from_response(status: StatusCode, body: &[u8], what: &str) -> ConnectorError {
    let graph = GraphError::parse(body);
    let message = format!("{what}: {}", graph.describe(status));
    if status == StatusCode::GONE || graph.is_sync_state_lost() {
        return crate::contract::sync_state_expired(message);
    }
    match status {
        StatusCode::UNAUTHORIZED => ConnectorError::Unauthorized(message),
        StatusCode::FORBIDDEN => ConnectorError::Forbidden(message),
        StatusCode::NOT_FOUND => ConnectorError::NotFound(message),
        StatusCode::TOO_MANY_REQUESTS => ConnectorError::RateLimited { retry_after: None },
        s if s.is_server_error() => ConnectorError::Unavailable(message),
        s => ConnectorError::Protocol(format!("Graph answered {}: {message}", s.as_u16())),
    }
}

/// The AADSTS code of a token-service error (`error_codes[0]`, else the `AADSTSnnnn` that opens
/// `error_description`), and the OAuth `error`.
pub fn token_error(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return (None, None);
    };
    let error = value
        .get("error")
        .and_then(Value::as_str)
        .filter(|e| e.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .map(str::to_owned);
    let from_codes = value
        .get("error_codes")
        .and_then(Value::as_array)
        .and_then(|codes| codes.first())
        .and_then(Value::as_u64)
        .map(|code| format!("AADSTS{code}"));
    let from_text = value
        .get("error_description")
        .and_then(Value::as_str)
        .and_then(|d| {
            let digits: String = d
                .strip_prefix("AADSTS")?
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            (!digits.is_empty()).then(|| format!("AADSTS{digits}"))
        });
    (from_codes.or(from_text), error)
}

/// What a refused token request means: the codes that say the credentials, the tenant or the
/// app are wrong are `Unauthorized`; anything else is `Protocol` (a malformed request is ours).
pub fn token_refusal(status: StatusCode, body: &[u8]) -> ConnectorError {
    let (code, error) = token_error(body);
    let named = match (&code, &error) {
        (Some(code), Some(error)) => format!("{code} ({error})"),
        (Some(code), None) => code.clone(),
        (None, Some(error)) => error.clone(),
        (None, None) => format!("HTTP {}", status.as_u16()),
    };
    let hint = match code.as_deref() {
        Some("AADSTS7000215") => {
            "; the client secret is invalid (give the secret's value, not its id)"
        }
        Some("AADSTS7000222") => "; the client secret has expired",
        Some("AADSTS700016") => "; the application (client id) is not found in the directory",
        Some("AADSTS90002") | Some("AADSTS900023") => "; the tenant is not found",
        Some("AADSTS70011") => "; the scope is invalid",
        _ => "",
    };
    let message =
        format!("the Microsoft token service refused the client credentials: {named}{hint}");
    if status.is_server_error() {
        ConnectorError::Unavailable(message)
    } else if matches!(
        status,
        StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
    ) {
        ConnectorError::Unauthorized(message)
    } else {
        ConnectorError::Protocol(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aadsts_codes_are_named_and_the_secret_never_is() {
        // The shape of the token service's error (Microsoft identity platform docs).
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app 'c'.\r\nTrace ID: 1\r\nCorrelation ID: 2\r\nTimestamp: 2024-01-01 00:00:00Z","error_codes":[7000215],"timestamp":"2024-01-01 00:00:00Z","trace_id":"1","correlation_id":"2"}"#;
        let err = token_refusal(StatusCode::UNAUTHORIZED, body);
        assert!(
            matches!(err, ConnectorError::Unauthorized(ref m) if m.contains("AADSTS7000215") && m.contains("invalid_client")),
            "{err}"
        );
        let no_codes = br#"{"error":"unauthorized_client","error_description":"AADSTS700016: Application with identifier 'x' was not found"}"#;
        assert!(token_refusal(StatusCode::BAD_REQUEST, no_codes)
            .to_string()
            .contains("AADSTS700016"));
        assert!(matches!(
            token_refusal(StatusCode::BAD_GATEWAY, b"<html>"),
            ConnectorError::Unavailable(_)
        ));
    }

    #[test]
    fn graph_statuses_and_codes() {
        let denied = br#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"date":"2024-01-01T00:00:00","request-id":"r","client-request-id":"c"}}}"#;
        assert!(matches!(
            error_from_response(StatusCode::FORBIDDEN, denied, "x"),
            ConnectorError::Forbidden(m) if m.contains("Authorization_RequestDenied")
        ));
        let gone =
            br#"{"error":{"code":"syncStateNotFound","message":"The sync state is not found."}}"#;
        let err = error_from_response(StatusCode::GONE, gone, "users delta");
        assert!(crate::contract::is_sync_state_expired(&err), "{err}");
        let resync = br#"{"error":{"code":"Request_BadRequest","message":"x","innerError":{"code":"resyncRequired"}}}"#;
        assert!(crate::contract::is_sync_state_expired(
            &error_from_response(StatusCode::BAD_REQUEST, resync, "x")
        ));
        assert!(matches!(
            error_from_response(StatusCode::SERVICE_UNAVAILABLE, b"", "x"),
            ConnectorError::Unavailable(m) if m == "x: HTTP 503"
        ));
        let long =
            serde_json::json!({"error": {"code": "X", "message": "é".repeat(1000)}}).to_string();
        assert!(
            error_from_response(StatusCode::BAD_REQUEST, long.as_bytes(), "x")
                .to_string()
                .len()
                < 600
        );
    }
}
