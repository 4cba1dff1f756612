//! `/v1/idp/{provider}`: where identity providers push events. The ingest token (in the URL, as
//! Okta is configured, or in `Authorization`) selects the tenant and integration.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use gatehouse_core::{IntegrationId, TenantId};
use gatehouse_engine::Principal;
use serde::Deserialize;

use crate::extract::QueryParams;
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
pub(crate) async fn authenticate_push(
    state: &AppState,
    provider: &str,
    headers: &HeaderMap,
    params: &IngestParams,
) -> Result<(TenantId, IntegrationId), ApiError> {
    let token = presented_token(headers, params)
        .ok_or_else(|| ApiError::unauthorized("missing ingest token"))?;
    let Some(Principal::Ingest {
        tenant,
        integration,
    }) = state.gateway.authenticate(token).await?
    else {
        return Err(ApiError::unauthorized("invalid ingest token"));
    };
    if params
        .tenant_id
        .as_deref()
        .is_some_and(|t| t != tenant.as_str())
    {
        return Err(ApiError::unauthorized("invalid ingest token"));
    }
    let record = state.gateway.integration(&tenant, &integration).await?;
    if record.kind != provider {
        return Err(ApiError::not_found(format!(
            "ingest endpoint {provider} for this token"
        )));
    }
    Ok((tenant, integration))
}

#[utoipa::path(post, path = "/v1/idp/{provider}", tag = "ingest", params(IngestParams),
    responses((status = 200, description = "events stored durably"),
              (status = 401, description = "missing or invalid ingest token"),
              (status = 501, description = "no push decoder for this provider in this build")))]
pub(crate) async fn push(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    QueryParams(params): QueryParams<IngestParams>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let (_tenant, _integration) = authenticate_push(&state, &provider, &headers, &params).await?;
    Err(ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        "not_implemented",
        format!("push ingest for {provider} is not available in this build yet"),
    ))
}
