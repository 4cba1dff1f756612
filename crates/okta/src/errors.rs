//! Okta's error answers turned into [`ConnectorError`]s.
//!
//! Every Okta 4xx/5xx carries `{"errorCode", "errorSummary", "errorLink", "errorId",
//! "errorCauses": [{"errorSummary"}]}` (management spec, schema `Error`); only `errorCode` is
//! stable enough for control flow. Messages name the code, the summary and the causes, never the
//! request's credentials and never a body that is not Okta's error object.

use gatehouse_connect::redact::clip;
use gatehouse_core::provider::ConnectorError;
use http::StatusCode;
use serde_json::Value;

/// The longest error text we pass on; Okta summaries are short, causes can repeat.
const MAX_MESSAGE: usize = 600;

/// Okta's error object, as far as it could be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OktaError {
    pub code: Option<String>,
    pub summary: Option<String>,
    pub causes: Vec<String>,
}

impl OktaError {
    pub(crate) fn parse(body: &[u8]) -> Self {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return Self::default();
        };
        let text = |key: &str| {
            map.get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let causes = map
            .get("errorCauses")
            .and_then(Value::as_array)
            .map(|causes| {
                causes
                    .iter()
                    .filter_map(|c| c.get("errorSummary").and_then(Value::as_str))
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        // OAuth answers (`invalid_token`, `invalid_dpop_proof`) use RFC 6749's names instead.
        Self {
            code: text("errorCode").or_else(|| text("error")),
            summary: text("errorSummary").or_else(|| text("error_description")),
            causes,
        }
    }

    /// `E0000007: Not found: Resource not found: x (User)`, with the causes appended.
    pub(crate) fn describe(&self, status: StatusCode) -> String {
        let mut text = match (&self.code, &self.summary) {
            (Some(code), Some(summary)) => format!("{code}: {summary}"),
            (Some(code), None) => code.clone(),
            (None, Some(summary)) => summary.clone(),
            (None, None) => format!("HTTP {}", status.as_u16()),
        };
        if !self.causes.is_empty() {
            text.push_str(" (");
            text.push_str(&self.causes.join("; "));
            text.push(')');
        }
        clip(text, MAX_MESSAGE)
    }
}

/// The [`ConnectorError`] for a non-success answer to `what` (`"listing users"`, …):
/// 401 → `Unauthorized`, 403 → `Forbidden`, 404 → `NotFound`, 429 → `RateLimited`,
/// 5xx → `Unavailable`, any other status → `Protocol`.
pub fn error_from_response(status: StatusCode, body: &[u8], what: &str) -> ConnectorError {
    let okta = OktaError::parse(body);
    let message = format!("{what}: {}", okta.describe(status));
    match status {
        StatusCode::UNAUTHORIZED => ConnectorError::Unauthorized(message),
        StatusCode::FORBIDDEN => ConnectorError::Forbidden(message),
        StatusCode::NOT_FOUND => ConnectorError::NotFound(message),
        StatusCode::TOO_MANY_REQUESTS => ConnectorError::RateLimited { retry_after: None },
        s if s.is_server_error() => ConnectorError::Unavailable(message),
        s => ConnectorError::Protocol(format!("Okta answered {}: {message}", s.as_u16())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_token_is_unauthorized_with_code_and_summary() {
        let body = br#"{"errorCode":"E0000011","errorSummary":"Invalid token provided","errorLink":"E0000011","errorId":"sampleQPivGUj_ND5v78vbYWW","errorCauses":[]}"#;
        let err = error_from_response(StatusCode::UNAUTHORIZED, body, "checking the API token");
        assert!(matches!(err, ConnectorError::Unauthorized(_)));
        assert_eq!(
            err.to_string(),
            "the provider rejected the credentials: checking the API token: E0000011: Invalid token provided"
        );
    }

    #[test]
    fn statuses_map_to_the_engine_words() {
        let denied = br#"{"errorCode":"E0000006","errorSummary":"You do not have permission to perform the requested action"}"#;
        assert!(matches!(
            error_from_response(StatusCode::FORBIDDEN, denied, "x"),
            ConnectorError::Forbidden(m) if m.contains("E0000006")
        ));
        let missing = br#"{"errorCode":"E0000007","errorSummary":"Not found: Resource not found: 00ubad (User)"}"#;
        assert!(matches!(
            error_from_response(StatusCode::NOT_FOUND, missing, "x"),
            ConnectorError::NotFound(m) if m.contains("00ubad")
        ));
        assert!(matches!(
            error_from_response(StatusCode::TOO_MANY_REQUESTS, b"{}", "x"),
            ConnectorError::RateLimited { .. }
        ));
        assert!(matches!(
            error_from_response(StatusCode::BAD_GATEWAY, b"<html>", "x"),
            ConnectorError::Unavailable(m) if m == "x: HTTP 502"
        ));
    }

    #[test]
    fn validation_causes_are_listed_and_other_bodies_are_not_echoed() {
        let body = br#"{"errorCode":"E0000001","errorSummary":"Api validation failed: until","errorCauses":[{"errorSummary":"until: The date format in your query is not recognized."},{"errorSummary":"until: must be a valid date-time or empty."}]}"#;
        let err = error_from_response(StatusCode::BAD_REQUEST, body, "reading the System Log");
        assert_eq!(
            err.to_string(),
            "the provider's answer was not understood: Okta answered 400: reading the System Log: E0000001: Api validation failed: until (until: The date format in your query is not recognized.; until: must be a valid date-time or empty.)"
        );
        let err = error_from_response(StatusCode::BAD_REQUEST, b"token=SSWS abc", "x");
        assert!(!err.to_string().contains("abc"), "{err}");
    }

    #[test]
    fn long_messages_are_cut() {
        let summary = "é".repeat(1000);
        let body =
            serde_json::json!({"errorCode": "E0000001", "errorSummary": summary}).to_string();
        let err = error_from_response(StatusCode::BAD_REQUEST, body.as_bytes(), "x");
        assert!(err.to_string().len() < 800);
    }
}
