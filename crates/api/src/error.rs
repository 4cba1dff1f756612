//! The JSON error shape of API.md, and how engine and store errors map onto statuses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_core::provider::ConnectorError;
use gatehouse_engine::EngineError;
use gatehouse_store::journal::JournalError;
use gatehouse_store::StoreError;
use serde::Serialize;

/// `Retry-After` for a write refused after a durability failure: the daemon exits on it and its
/// supervisor restarts it, which takes seconds.
pub(crate) const RETRY_AFTER_RESTART_SECS: u64 = 10;

/// An error answer: `{"error": {"code", "message", "field"?}}` with its status.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Seconds to send as `Retry-After`.
    pub retry_after: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorDetail {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{} not found", what.into()),
        )
    }

    /// A 503 with `Retry-After`, for writes refused after a durability failure.
    pub fn unavailable_until_restart(message: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message);
        error.retry_after = Some(RETRY_AFTER_RESTART_SECS);
        error
    }

    /// The code used for a bare status (no handler produced a body).
    pub fn code_for(status: StatusCode) -> &'static str {
        match status.as_u16() {
            400 => "invalid_request",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            405 => "method_not_allowed",
            408 => "request_timeout",
            409 => "conflict",
            413 => "payload_too_large",
            415 => "unsupported_media_type",
            422 => "provider_refused",
            429 => "too_many_requests",
            501 => "not_implemented",
            503 => "unavailable",
            _ if status.is_server_error() => "internal",
            _ => "error",
        }
    }

    pub(crate) fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message.clone(),
                field: self.field.clone(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(what) => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("{what} already exists"),
            ),
            StoreError::NotFound(what) => Self::not_found(what),
            StoreError::Contended(what) => {
                tracing::warn!(%what, "a write kept losing to concurrent ones");
                let mut error = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the store is busy with concurrent writes to the same records; retry",
                );
                error.retry_after = Some(1);
                error
            }
            StoreError::Failed(reason) => {
                tracing::error!(%reason, "write refused after a durability failure");
                Self::unavailable_until_restart(
                    "the store cannot make writes durable; the daemon is restarting, retry later",
                )
            }
            other => {
                tracing::error!(error = %other, "store failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the store failed; see the daemon log",
                )
            }
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(err: EngineError) -> Self {
        match err {
            EngineError::Invalid(e) => Self::invalid(e.field, e.message),
            EngineError::NotFound(what) => Self::not_found(what),
            EngineError::Conflict(message) => Self::new(StatusCode::CONFLICT, "conflict", message),
            EngineError::NotImplemented(message) => {
                Self::new(StatusCode::NOT_IMPLEMENTED, "not_implemented", message)
            }
            EngineError::Provider(e) => provider_error(&e),
            EngineError::Store(e) => e.into(),
            EngineError::Inbox(JournalError::Full { backlog }) => {
                tracing::warn!(backlog, "push inbox full: delivery refused");
                let mut error = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the push inbox is full; retry later",
                );
                error.retry_after = Some(5);
                error
            }
            EngineError::Inbox(JournalError::Failed(reason)) => {
                tracing::error!(%reason, "push refused after a durability failure");
                Self::unavailable_until_restart(
                    "the push inbox cannot make deliveries durable; the daemon is restarting, retry later",
                )
            }
            EngineError::TenantBacklog {
                tenant,
                backlog,
                limit,
            } => {
                tracing::warn!(tenant_id = %tenant, backlog, limit, "tenant past its share of the push inbox: delivery refused");
                let mut error = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "this tenant's pushed deliveries are waiting to be stored; retry later",
                );
                error.retry_after = Some(5);
                error
            }
            EngineError::Inbox(error) => {
                tracing::error!(%error, "push inbox failure");
                let mut error = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the push inbox could not store the delivery; see the daemon log",
                );
                error.retry_after = Some(5);
                error
            }
            EngineError::Crypto(message) => {
                tracing::error!(%message, "credentials could not be opened");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "stored credentials could not be opened (is the master key the one they were sealed with?)",
                )
            }
        }
    }
}

fn provider_error(err: &ConnectorError) -> ApiError {
    let status = match err {
        ConnectorError::Unauthorized(_)
        | ConnectorError::Forbidden(_)
        | ConnectorError::NotFound(_)
        | ConnectorError::InvalidConfig(_) => StatusCode::UNPROCESSABLE_ENTITY,
        ConnectorError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        ConnectorError::Unavailable(_)
        | ConnectorError::Protocol(_)
        | ConnectorError::SyncStateExpired(_) => StatusCode::BAD_GATEWAY,
        ConnectorError::Unsupported(_) => StatusCode::NOT_IMPLEMENTED,
        ConnectorError::BadPush(_) => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, ApiError::code_for(status), err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write PostgreSQL kept giving up to concurrent ones is the sender's to retry, soon.
    #[test]
    fn a_contended_write_answers_503_with_a_retry_after() {
        let error = ApiError::from(StoreError::Contended("users".into()));
        assert_eq!(error.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.retry_after, Some(1));
        let other = ApiError::from(StoreError::Backend("disk".into()));
        assert_eq!(other.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
