//! `/v1/idp/{provider}`: where identity providers push events. The ingest token (in the URL, as
//! Okta is configured, or in `Authorization`) selects the tenant and integration; the answer (200)
//! comes only after the delivery is durable in the push inbox, whose consumer stores its events.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_core::model::Integration;
use gatehouse_core::records::PushRequest;
use gatehouse_engine::ingest::PushResult;
use serde::Deserialize;

use crate::extract::{QueryParams, RawBody};
use crate::{ApiError, AppState};

/// Query parameters of a push delivery.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub(crate) struct IngestParams {
    /// The tenant the ingest URL was issued for.
    tenant_id: Option<String>,
    /// The ingest token, when the provider cannot send headers.
    token: Option<String>,
}

/// The presented ingest token: `Authorization: Bearer <t>`, a bare `Authorization: <t>` (Okta
/// sends the configured header value verbatim), or `?token=`.
fn presented_token<'a>(headers: &'a HeaderMap, params: &'a IngestParams) -> Option<&'a str> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let v = v.trim();
            match v.split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
                _ => v,
            }
        });
    from_header.or(params.token.as_deref())
}

/// Authenticates a push and returns the integration it is for (401 for a bad token, 404 when
/// the token belongs to an integration of another provider).
async fn authenticate_push(
    state: &AppState,
    provider: &str,
    headers: &HeaderMap,
    params: &IngestParams,
) -> Result<Arc<Integration>, ApiError> {
    let token = presented_token(headers, params)
        .ok_or_else(|| ApiError::unauthorized("missing ingest token"))?;
    let Some(record) = state.gateway.ingest_target(token).await? else {
        return Err(ApiError::unauthorized("invalid ingest token"));
    };
    if params
        .tenant_id
        .as_deref()
        .is_some_and(|t| t != record.tenant_id.as_str())
    {
        return Err(ApiError::unauthorized("invalid ingest token"));
    }
    if record.kind != provider {
        return Err(ApiError::not_found(format!(
            "ingest endpoint {provider} for this token"
        )));
    }
    Ok(record)
}

/// The request as the connector sees it: credentials and cookies stay out.
fn push_request(method: &Method, headers: &HeaderMap, body: &[u8]) -> PushRequest {
    PushRequest {
        method: method.as_str().to_owned(),
        headers: headers
            .iter()
            .filter(|(name, _)| *name != header::AUTHORIZATION && *name != header::COOKIE)
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect(),
        body: body.to_vec(),
    }
}

fn answer(result: PushResult) -> Response {
    match result {
        PushResult::Respond { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            (status, Json(body)).into_response()
        }
        // Okta expects a bare 200; the counts ride in headers for people and tests.
        PushResult::Queued { received } => {
            let mut response = StatusCode::OK.into_response();
            let headers = response.headers_mut();
            headers.insert("x-gatehouse-received", HeaderValue::from(received));
            response
        }
        PushResult::Stored { received, stored } => {
            let mut response = StatusCode::OK.into_response();
            let headers = response.headers_mut();
            headers.insert("x-gatehouse-received", HeaderValue::from(received));
            headers.insert("x-gatehouse-stored", HeaderValue::from(stored));
            response
        }
    }
}

#[utoipa::path(post, path = "/v1/idp/{provider}", tag = "ingest", params(IngestParams),
    responses((status = 200, description = "the delivery is durable (its event count in x-gatehouse-received); its events are stored behind the answer, deduped by provider event id"),
              (status = 503, description = "the push inbox is full (Retry-After says when to retry)"),
              (status = 400, description = "not what the provider sends"),
              (status = 401, description = "missing or invalid ingest token"),
              (status = 501, description = "no push decoder for this provider in this build")))]
pub(crate) async fn push(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    QueryParams(params): QueryParams<IngestParams>,
    method: Method,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let request = push_request(&method, &headers, &body);
    let integration = match authenticate_push(&state, &provider, &headers, &params).await {
        Ok(integration) => integration,
        Err(error) => {
            // A handshake (Okta's verification GET) may arrive without the token.
            if method == Method::GET {
                if let Some(result) = state.engine.ingest.handshake(&provider, &request) {
                    return Ok(answer(result));
                }
            }
            return Err(error);
        }
    };
    let result = match state.engine.ingest.push_to(&integration, &request).await {
        Ok(result) => result,
        Err(error) => {
            let error = ApiError::from(error);
            // This route's request span is a debug span (see `middleware`): name the request.
            if error.status.is_server_error() || error.retry_after.is_some() {
                tracing::warn!(
                    request_id = request_id(&headers),
                    tenant_id = %integration.tenant_id, integration_id = %integration.id,
                    status = error.status.as_u16(), code = error.code, "push refused"
                );
            }
            return Err(error);
        }
    };
    if let PushResult::Queued { received } | PushResult::Stored { received, .. } = &result {
        tracing::debug!(
            tenant_id = %integration.tenant_id, integration_id = %integration.id,
            received, "push durable"
        );
    }
    Ok(answer(result))
}

fn request_id(headers: &HeaderMap) -> &str {
    headers
        .get(crate::middleware::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
}

#[utoipa::path(get, path = "/v1/idp/{provider}", tag = "ingest", params(IngestParams),
    responses((status = 200, description = "the handshake answer, e.g. {\"verification\": \"…\"} for Okta")))]
pub(crate) async fn handshake(
    state: State<AppState>,
    provider: Path<String>,
    params: QueryParams<IngestParams>,
    method: Method,
    headers: HeaderMap,
    body: RawBody,
) -> Result<Response, ApiError> {
    push(state, provider, params, method, headers, body).await
}
