//! Error answers in Google's two wire formats: the OAuth token endpoint's
//! `{"error","error_description"}` and the APIs' standard JSON error
//! `{"error":{"code","message","errors":[{"message","domain","reason"}],"status"}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::common::{CannedResponse, FaultAnswers};

/// A Google API error answer (boxed: it travels in `Result`s).
#[derive(Debug, Clone)]
pub struct GoogleError(Box<ErrorParts>);

/// What a [`GoogleError`] says.
#[derive(Debug, Clone)]
pub struct ErrorParts {
    pub status: StatusCode,
    pub message: String,
    pub reason: String,
    pub domain: String,
    /// The canonical status (`NOT_FOUND`, `PERMISSION_DENIED`…).
    pub grpc_status: String,
    /// Extra fields of the `errors[]` item (`location`, `locationType`).
    pub item_extra: Vec<(&'static str, String)>,
    /// `errors[0].message` when it differs from the top message.
    pub item_message: Option<String>,
    pub details: Option<Value>,
    pub headers: Vec<(&'static str, String)>,
}

fn grpc_of(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
        412 => "FAILED_PRECONDITION",
        429 => "RESOURCE_EXHAUSTED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    }
}

impl std::ops::Deref for GoogleError {
    type Target = ErrorParts;
    fn deref(&self) -> &ErrorParts {
        &self.0
    }
}

impl std::ops::DerefMut for GoogleError {
    fn deref_mut(&mut self) -> &mut ErrorParts {
        &mut self.0
    }
}

impl GoogleError {
    pub fn new(status: StatusCode, reason: &str, message: impl Into<String>) -> Self {
        Self(Box::new(ErrorParts {
            status,
            message: message.into(),
            reason: reason.to_string(),
            domain: "global".into(),
            grpc_status: grpc_of(status).into(),
            item_extra: Vec::new(),
            item_message: None,
            details: None,
            headers: Vec::new(),
        }))
    }

    /// 404 `notFound` "Resource Not Found: {what}".
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "notFound",
            format!("Resource Not Found: {what}"),
        )
    }

    /// 400 `invalid` for a bad parameter value.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", message)
    }

    /// 400 `badRequest` "Bad Request".
    pub fn bad_request() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "badRequest", "Bad Request")
    }

    /// 401 for a missing, unknown or expired access token.
    pub fn unauthenticated() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "authError",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        );
        e.item_message = Some("Invalid Credentials".into());
        e.item_extra = vec![
            ("location", "Authorization".into()),
            ("locationType", "header".into()),
        ];
        e.headers.push((
            "www-authenticate",
            "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"".into(),
        ));
        e
    }

    /// 403 when the token lacks every scope the method accepts.
    pub fn insufficient_scopes() -> Self {
        let mut e = Self::new(
            StatusCode::FORBIDDEN,
            "insufficientPermissions",
            "Request had insufficient authentication scopes.",
        );
        e.item_message = Some("Insufficient Permission".into());
        e.details = Some(json!([{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
            "domain": "googleapis.com",
            "metadata": {"service": "admin.googleapis.com", "method": "sim"},
        }]));
        e.headers.push((
            "www-authenticate",
            "Bearer realm=\"https://accounts.google.com/\", error=\"insufficient_scope\"".into(),
        ));
        e
    }

    /// 403 `forbidden` when the impersonated user may not use the API.
    pub fn not_authorized() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Not Authorized to access this resource/api",
        )
    }

    /// 403 `userRateLimitExceeded` (the Directory API's per-user quota).
    pub fn user_rate_limited() -> Self {
        let mut e = Self::new(
            StatusCode::FORBIDDEN,
            "userRateLimitExceeded",
            "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'admin.googleapis.com' for consumer 'project_number:000000000000'.",
        );
        e.domain = "usageLimits".into();
        e
    }

    /// 403 `rateLimitExceeded`: the older answer to a project past its rate, still sent by the
    /// Admin SDK (Google's "Standard error responses" list `rateLimitExceeded` under 403 as
    /// well as 429); clients back off exponentially, as for 429.
    pub fn rate_limited_forbidden() -> Self {
        let mut e = Self::new(
            StatusCode::FORBIDDEN,
            "rateLimitExceeded",
            "Rate Limit Exceeded",
        );
        e.domain = "usageLimits".into();
        e
    }

    /// This answer as a [`CannedResponse`] (for [`crate::common::Fault::Respond`]).
    pub fn canned(&self) -> CannedResponse {
        let mut canned = CannedResponse::json(self.status.as_u16(), &self.body());
        canned.headers.push((
            "content-type".into(),
            "application/json; charset=UTF-8".into(),
        ));
        for (name, value) in &self.headers {
            canned.headers.push(((*name).to_string(), value.clone()));
        }
        canned
    }

    /// 429 `rateLimitExceeded` (the project's quota).
    pub fn rate_limited() -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rateLimitExceeded",
            "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'admin.googleapis.com' for consumer 'project_number:000000000000'.",
        );
        e.domain = "usageLimits".into();
        e
    }

    /// 409 `duplicate`.
    pub fn duplicate(message: &str) -> Self {
        Self::new(StatusCode::CONFLICT, "duplicate", message)
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut item = json!({
            "message": self.item_message.clone().unwrap_or_else(|| self.message.clone()),
            "domain": self.domain,
            "reason": self.reason,
        });
        if let Some(o) = item.as_object_mut() {
            for (k, v) in &self.item_extra {
                o.insert((*k).to_string(), json!(v));
            }
        }
        let mut err = json!({
            "code": self.status.as_u16(),
            "message": self.message,
            "errors": [item],
            "status": self.grpc_status,
        });
        if let (Some(d), Some(o)) = (&self.details, err.as_object_mut()) {
            o.insert("details".into(), d.clone());
        }
        json!({ "error": err })
    }
}

impl IntoResponse for GoogleError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, self.body().to_string()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=UTF-8"),
        );
        for (name, value) in &self.headers {
            if let Ok(v) = HeaderValue::from_str(value) {
                resp.headers_mut().insert(*name, v);
            }
        }
        resp
    }
}

/// An OAuth token-endpoint error.
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn invalid_grant(description: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_grant",
            description: description.to_string(),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.error, "error_description": self.description});
        let mut resp = (self.status, body.to_string()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        resp
    }
}

/// How Google words injected faults.
pub struct GoogleWords;

impl FaultAnswers for GoogleWords {
    fn too_many_requests(&self) -> Response {
        GoogleError::rate_limited().into_response()
    }

    fn error_status(&self, status: StatusCode) -> Response {
        let (reason, message) = match status.as_u16() {
            500 => ("backendError", "Internal error encountered."),
            502 => ("backendError", "Bad Gateway"),
            503 => ("backendError", "The service is currently unavailable."),
            504 => ("backendError", "The request timed out."),
            429 => return self.too_many_requests(),
            403 => return GoogleError::user_rate_limited().into_response(),
            401 => return GoogleError::unauthenticated().into_response(),
            404 => ("notFound", "Resource Not Found"),
            _ => ("backendError", "Backend Error"),
        };
        GoogleError::new(status, reason, message).into_response()
    }
}
