//! `/v1/integrations`: register (validated against the provider descriptor), read, change,
//! delete, check, sync, and rotate the ingest and SCIM tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use gatehouse_core::model::{IntegrationStatus, SyncStatus, TokenKind};
use gatehouse_core::{IntegrationId, TenantId};
use gatehouse_engine::{Gateway, IntegrationPatch, NewIntegration};
use gatehouse_store::Locatable;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::extract::{Caller, JsonBody, ListParams, QueryParams};
use crate::paging::List;
use crate::views::{Accepted, CheckView, IntegrationView, ListResponse};
use crate::{ApiError, AppState};

/// `POST /v1/integrations`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateIntegration {
    /// `okta`, `entra`, `google_workspace`, `jumpcloud`, `saml` or `scim`.
    #[serde(rename = "type")]
    kind: String,
    /// Optional with a tenant API key (its own tenant); required with the operator key.
    tenant_id: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    credentials: Map<String, Value>,
    #[serde(default)]
    #[schema(value_type = Object)]
    config: Map<String, Value>,
}

/// `PATCH /v1/integrations/{id}`: rotate credentials (given keys replace stored ones) or change
/// config (a `null` removes a key).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatchIntegration {
    #[schema(value_type = Option<Object>)]
    credentials: Option<Map<String, Value>>,
    #[schema(value_type = Option<Object>)]
    config: Option<Map<String, Value>>,
    status: Option<IntegrationStatus>,
}

/// Resolves `{id}` to the tenant and typed id the caller may act on (404 otherwise).
async fn target(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(TenantId, IntegrationId), ApiError> {
    let typed =
        IntegrationId::parse(id).ok_or_else(|| ApiError::not_found(format!("integration {id}")))?;
    let tenant = caller
        .owner_of(state, Locatable::Integration, id, "integration")
        .await?;
    Ok((tenant, typed))
}

#[utoipa::path(post, path = "/v1/integrations", tag = "integrations", request_body = CreateIntegration,
    security(("bearer" = [])),
    responses((status = 201, body = IntegrationView, description = "with the ingest or SCIM token, shown once"),
              (status = 400, body = crate::error::ErrorBody), (status = 404, description = "no such tenant")))]
pub(crate) async fn create_integration(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateIntegration>,
) -> Result<impl IntoResponse, ApiError> {
    let tenant_id = caller.scope(body.tenant_id.as_deref())?;
    let created = state
        .gateway
        .create_integration(NewIntegration {
            kind: body.kind,
            tenant_id,
            credentials: body.credentials,
            config: body.config,
        })
        .await?;
    state.engine.integration_changed(&created.integration).await;
    let view = IntegrationView::new(
        &created.integration,
        SyncStatus::default(),
        created.ingest_token.as_ref().map(Gateway::reveal),
        created.scim_token.as_ref().map(Gateway::reveal),
    )
    .with_notes(state.gateway.integration_notes(&created.integration));
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/v1/integrations", tag = "integrations", params(ListParams),
    security(("bearer" = [])), responses((status = 200, body = ListResponse<IntegrationView>)))]
pub(crate) async fn list_integrations(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Json<ListResponse<IntegrationView>>, ApiError> {
    let tenant = caller.scope(params.tenant_id.as_deref())?;
    state.gateway.tenant(&tenant).await?;
    let list = List::Integrations;
    let request = list.request(params.limit, params.cursor.as_deref())?;
    let page = state.gateway.list_integrations(&tenant, &request).await?;
    let mut views = Vec::with_capacity(page.items.len());
    for integration in &page.items {
        let sync = state.gateway.sync_status(integration).await?;
        views.push(
            IntegrationView::new(integration, sync, None, None)
                .with_notes(state.gateway.integration_notes(integration)),
        );
    }
    let views = gatehouse_store::Page {
        items: views,
        next_cursor: page.next_cursor,
    };
    Ok(Json(list.response(views, |view| view)))
}

#[utoipa::path(get, path = "/v1/integrations/{id}", tag = "integrations", security(("bearer" = [])),
    responses((status = 200, body = IntegrationView), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn get_integration(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<IntegrationView>, ApiError> {
    let (tenant, id) = target(&state, &caller, &id).await?;
    let integration = state.gateway.integration(&tenant, &id).await?;
    let sync = state.gateway.sync_status(&integration).await?;
    let notes = state.gateway.integration_notes(&integration);
    Ok(Json(
        IntegrationView::new(&integration, sync, None, None).with_notes(notes),
    ))
}

#[utoipa::path(patch, path = "/v1/integrations/{id}", tag = "integrations", request_body = PatchIntegration,
    security(("bearer" = [])), responses((status = 200, body = IntegrationView)))]
pub(crate) async fn patch_integration(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PatchIntegration>,
) -> Result<Json<IntegrationView>, ApiError> {
    let (tenant, id) = target(&state, &caller, &id).await?;
    let patch = IntegrationPatch {
        credentials: body.credentials,
        config: body.config,
        status: body.status,
    };
    let integration = state.gateway.patch_integration(&tenant, &id, patch).await?;
    state.engine.integration_changed(&integration).await;
    let sync = state.gateway.sync_status(&integration).await?;
    let notes = state.gateway.integration_notes(&integration);
    Ok(Json(
        IntegrationView::new(&integration, sync, None, None).with_notes(notes),
    ))
}

#[utoipa::path(delete, path = "/v1/integrations/{id}", tag = "integrations", security(("bearer" = [])),
    responses((status = 204, description = "deleted with its tokens and cursors")))]
pub(crate) async fn delete_integration(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (tenant, id) = target(&state, &caller, &id).await?;
    state.gateway.delete_integration(&tenant, &id).await?;
    state.engine.integration_removed(&id).await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/integrations/{id}/test", tag = "integrations", security(("bearer" = [])),
    responses((status = 200, body = CheckView), (status = 422, description = "the provider refused the credentials"),
              (status = 501, description = "no connector for this type in this build")))]
pub(crate) async fn test_integration(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CheckView>, ApiError> {
    let (tenant, id) = target(&state, &caller, &id).await?;
    let report = state.gateway.test_integration(&tenant, &id).await?;
    Ok(Json(CheckView {
        ok: true,
        principal: report.principal,
        notes: report.notes,
    }))
}

/// What `/sync` pulls.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SyncQuery {
    /// `true`: a full directory pull (every account; those the provider no longer lists are
    /// marked deprovisioned) instead of the accounts changed since the last pull.
    #[serde(default)]
    full: bool,
}

#[utoipa::path(post, path = "/v1/integrations/{id}/sync", tag = "integrations", security(("bearer" = [])),
    params(SyncQuery),
    responses((status = 202, body = Accepted), (status = 501, description = "no connector for this type in this build")))]
pub(crate) async fn sync_integration(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<SyncQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (tenant, id) = target(&state, &caller, &id).await?;
    state.engine.sync_now(&tenant, &id, query.full).await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted { status: "queued" })))
}

async fn rotate(
    state: &AppState,
    caller: &Caller,
    id: &str,
    kind: TokenKind,
) -> Result<Json<IntegrationView>, ApiError> {
    let (tenant, id) = target(state, caller, id).await?;
    let (integration, secret) = state.gateway.rotate_token(&tenant, &id, kind).await?;
    let token = Gateway::reveal(&secret);
    let sync = state.gateway.sync_status(&integration).await?;
    let view = match kind {
        TokenKind::Scim => IntegrationView::new(&integration, sync, None, Some(token)),
        _ => IntegrationView::new(&integration, sync, Some(token), None),
    };
    Ok(Json(view))
}

#[utoipa::path(post, path = "/v1/integrations/{id}/ingest-token", tag = "integrations", security(("bearer" = [])),
    responses((status = 200, body = IntegrationView, description = "the new token in `ingest`, shown once"),
              (status = 409, description = "this type receives no pushes")))]
pub(crate) async fn rotate_ingest_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<IntegrationView>, ApiError> {
    rotate(&state, &caller, &id, TokenKind::Ingest).await
}

#[utoipa::path(post, path = "/v1/integrations/{id}/scim-token", tag = "integrations", security(("bearer" = [])),
    responses((status = 200, body = IntegrationView, description = "the new token in `scim`, shown once"),
              (status = 409, description = "not a scim integration")))]
pub(crate) async fn rotate_scim_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<IntegrationView>, ApiError> {
    rotate(&state, &caller, &id, TokenKind::Scim).await
}
