//! Okta's error body (`errorCode`, `errorSummary`, `errorLink`, `errorId`,
//! `errorCauses`) and the specific errors the simulator answers with.
//!
//! Codes and summaries come from Okta's published error-code catalogue; the
//! detail text in causes is the simulator's own, because Okta says only
//! `errorCode` is stable.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde_json::json;

use crate::common::FaultAnswers;

/// An Okta API error ready to be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct OktaError {
    pub status: StatusCode,
    pub code: &'static str,
    pub summary: String,
    pub causes: Vec<String>,
}

impl OktaError {
    fn new(status: StatusCode, code: &'static str, summary: impl Into<String>) -> Self {
        Self {
            status,
            code,
            summary: summary.into(),
            causes: Vec::new(),
        }
    }

    /// Adds one `errorCauses[].errorSummary`.
    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.causes.push(cause.into());
        self
    }

    /// 401 E0000011: missing, malformed or wrong token.
    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "E0000011",
            "Invalid token provided",
        )
    }

    /// 404 E0000007 for a user, group or other typed resource.
    pub fn not_found(id: &str, kind: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "E0000007",
            format!("Not found: Resource not found: {id} ({kind})"),
        )
    }

    /// 404 E0000007 for a path the simulator does not serve.
    pub fn no_route(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "E0000007",
            format!("Not found: Resource not found: {path} (Path)"),
        )
    }

    /// 405 E0000022.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "E0000022",
            "The endpoint does not support the provided HTTP method",
        )
    }

    /// 400 E0000001 "Api validation failed: {0}".
    pub fn validation(what: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "E0000001",
            format!("Api validation failed: {what}"),
        )
    }

    /// 403 E0000038: the operation is not allowed in the user's current status.
    pub fn wrong_status() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "E0000038",
            "This operation is not allowed in the user's current status.",
        )
    }

    /// 403 E0000006.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "E0000006",
            "You do not have permission to perform the requested action",
        )
    }

    /// 400 E0000031 "Invalid search criteria." (users/groups `filter` and `search`).
    pub fn invalid_search(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "E0000031",
            "Invalid search criteria.",
        )
        .with_cause(detail)
    }

    /// 400 E0000031 with the System Log's operator/field wording.
    pub fn unsupported_combination(op: &str, field: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "E0000031",
            format!(
                "The supplied combination of operator and field is not currently supported. Operator: {op}, Field: {field}"
            ),
        )
    }

    /// 400 E0000030: a date literal Okta cannot read.
    pub fn invalid_date() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "E0000030",
            "Bad request. Invalid date. Dates must be of the form yyyy-MM-dd'T'HH:mm:ss.SSSZZ, e.g. 2013-01-01T12:00:00.000-07:00.",
        )
    }

    /// 400 E0000033: `search` and `filter` in one request.
    pub fn search_and_filter() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "E0000033",
            "Bad request. Can't specify a search query and filter in the same request.",
        )
    }

    /// 400 E0000053 with a free summary (System Log filter and parameter errors).
    pub fn scim(summary: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "E0000053", summary)
    }

    /// 400 E0000063: parameters that cannot be combined (`since` with `after`).
    pub fn bad_combination(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "E0000063",
            "Invalid combination of parameters specified.",
        )
        .with_cause(detail)
    }

    /// 411 for a POST/PUT without `Content-Length` (Okta documents the status, not a body).
    pub fn length_required() -> Self {
        Self::new(
            StatusCode::LENGTH_REQUIRED,
            "E0000001",
            "Api validation failed: Content-Length",
        )
        .with_cause("Content-Length: a POST or PUT without a body must send Content-Length: 0")
    }

    /// 429 E0000047.
    pub fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
        )
    }

    /// 500 E0000009 (injected server faults).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "E0000009",
            "Internal Server Error",
        )
    }

    /// 503 for injected outages; Okta documents no code of its own for it.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "E0000009",
            "Service Unavailable",
        )
    }

    /// An arbitrary status with the E0000009 body, for injected faults.
    pub fn with_status(status: StatusCode) -> Self {
        let mut e = Self::internal();
        e.status = status;
        e
    }

    /// The JSON body Okta sends.
    pub fn body(&self) -> serde_json::Value {
        let causes: Vec<_> = self
            .causes
            .iter()
            .map(|c| json!({ "errorSummary": c }))
            .collect();
        json!({
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": error_id(),
            "errorCauses": causes,
        })
    }
}

impl IntoResponse for OktaError {
    fn into_response(self) -> Response {
        let body = self.body().to_string();
        let mut resp = (self.status, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp
    }
}

/// Okta's wording of injected faults: 429 E0000047, and E0000009 bodies on
/// any other status.
#[derive(Debug, Clone, Copy)]
pub struct OktaWords;

impl FaultAnswers for OktaWords {
    fn too_many_requests(&self) -> Response {
        OktaError::rate_limited().into_response()
    }

    fn error_status(&self, status: StatusCode) -> Response {
        OktaError::with_status(status).into_response()
    }
}

/// A random `errorId` shaped like Okta's (`oae` + 22 base62 characters).
pub fn error_id() -> String {
    format!("oae{}", random_base62(22))
}

/// Random base62 text from the thread RNG (not the seeded one: ids in errors
/// and request ids need not be reproducible).
pub fn random_base62(len: usize) -> String {
    const CHARS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| char::from(CHARS[rng.gen_range(0..CHARS.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_okta_fields() {
        let b = OktaError::validation("status")
            .with_cause("status: nope")
            .body();
        assert_eq!(b["errorCode"], "E0000001");
        assert_eq!(b["errorLink"], "E0000001");
        assert_eq!(b["errorSummary"], "Api validation failed: status");
        assert_eq!(b["errorCauses"][0]["errorSummary"], "status: nope");
        assert_eq!(b["errorId"].as_str().unwrap().len(), 25);
    }
}
