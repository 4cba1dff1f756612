//! `/v1/idp/{provider}`: where identity providers push events. The ingest token (wherever the
//! provider's descriptor says it travels: `Authorization`, the URL, a header of its own) selects
//! the tenant and integration; the answer (200) comes only after the delivery is durable in the
//! push inbox, whose consumer stores its events. A connector may answer a handshake itself, with
//! any status, content type and body; a type that takes no pushes answers 404.

use std::sync::Arc;

use axum::extract::{FromRequest, Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_core::model::Integration;
use gatehouse_core::records::{PushRequest, TokenPlace};
use gatehouse_engine::ingest::PushResult;
use serde::Deserialize;

use crate::extract::{QueryParams, RawBody};
use crate::{ApiError, AppState};

/// Query parameters of a push delivery.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct IngestParams {
    /// The tenant the ingest URL was issued for.
    tenant_id: Option<String>,
    /// The ingest token, when the provider cannot send headers.
    // Documents the parameter; the token is read from the raw query by the type's token places.
    #[allow(dead_code)]
    token: Option<String>,
}

/// The request as it arrived, for token lookup and handshakes.
fn arrived(method: &Method, headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> PushRequest {
    PushRequest {
        method: method.as_str().to_owned(),
        query: form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        headers: headers
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect(),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(PushRequest::media_type),
        body: body.to_vec(),
    }
}

/// The ingest token, from the first of the provider's places that holds one.
fn presented_token<'a>(request: &'a PushRequest, places: &[TokenPlace]) -> Option<&'a str> {
    places.iter().find_map(|place| {
        let value = match place {
            TokenPlace::Authorization => request.header("authorization").map(|v| {
                let v = v.trim();
                match v.split_once(' ') {
                    Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
                    _ => v,
                }
            }),
            TokenPlace::Query(name) => request.query_param(name),
            TokenPlace::Header(name) => request.header(name),
        };
        value.filter(|v| !v.is_empty())
    })
}

/// The request as the connector sees it: the token (wherever the provider put it),
/// `Authorization` and cookies stay out.
fn for_connector(mut request: PushRequest, places: &[TokenPlace]) -> PushRequest {
    request.headers.retain(|(name, _)| {
        name != "authorization"
            && name != "cookie"
            && !places
                .iter()
                .any(|p| matches!(p, TokenPlace::Header(h) if h.eq_ignore_ascii_case(name)))
    });
    request.query.retain(|(name, _)| {
        !places
            .iter()
            .any(|p| matches!(p, TokenPlace::Query(q) if q == name))
    });
    request
}

/// Authenticates a push and returns the integration it is for (401 for a bad token, 404 when
/// the token belongs to an integration of another provider).
async fn authenticate_push(
    state: &AppState,
    provider: &str,
    token: Option<&str>,
    params: &IngestParams,
) -> Result<Arc<Integration>, ApiError> {
    let token = token.ok_or_else(|| ApiError::unauthorized("missing ingest token"))?;
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

fn answer(result: PushResult) -> Response {
    match result {
        PushResult::Respond(reply) => {
            let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
            let content_type = HeaderValue::from_str(&reply.content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
            (status, [(header::CONTENT_TYPE, content_type)], reply.body).into_response()
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
              (status = 404, description = "the type takes no pushes, or the token is another type's"),
              (status = 501, description = "no push decoder for this provider in this build")))]
pub(crate) async fn push(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    QueryParams(params): QueryParams<IngestParams>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Request,
) -> Result<Response, ApiError> {
    // A type that takes no pushes has no push route, whatever the token says.
    let Some(descriptor) = state
        .gateway
        .registry()
        .descriptor(&provider)
        .filter(|d| d.push_capable)
    else {
        return Err(ApiError::not_found(format!("push ingest for {provider}")));
    };
    // The token is checked before the body is read: an unauthenticated sender costs no body
    // read, whatever it sends. Handshakes carry their challenge in headers or the query.
    let arrived = arrived(&method, &headers, query.as_deref(), &[]);
    let token = presented_token(&arrived, descriptor.push_token);
    let authenticated = authenticate_push(&state, &provider, token, &params).await;
    let mut request = for_connector(arrived, descriptor.push_token);
    let integration = match authenticated {
        Ok(integration) => integration,
        Err(error) => {
            // A handshake (Okta's verification GET, Graph's validation POST) may arrive
            // without the token.
            if let Some(result) = state.engine.ingest.handshake(&provider, &request) {
                return Ok(answer(result));
            }
            return Err(error);
        }
    };
    let RawBody(bytes) = RawBody::from_request(body, &state).await?;
    request.body = bytes.to_vec();
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
    responses((status = 200, description = "the provider's handshake answer, as its connector shapes it")))]
pub(crate) async fn handshake(
    state: State<AppState>,
    provider: Path<String>,
    params: QueryParams<IngestParams>,
    query: RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Request,
) -> Result<Response, ApiError> {
    push(state, provider, params, query, method, headers, body).await
}
