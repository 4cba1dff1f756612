//! `/v1/tenants`: create, list, read, update settings, delete with all data, and API keys.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use gatehouse_core::model::{ApiKey, Tenant, TenantSettings};
use gatehouse_core::ApiKeyId;
use gatehouse_engine::Gateway;
use gatehouse_store::Page;
use serde::Deserialize;

use crate::extract::{Caller, JsonBody, ListParams, QueryParams};
use crate::paging::List;
use crate::views::{ApiKeyCreated, ListResponse};
use crate::{ApiError, AppState};

/// `POST /v1/tenants`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTenant {
    name: String,
    /// Chosen id (1–64 of `A-Za-z0-9_-`); `ten_` + ULID when absent.
    id: Option<String>,
}

/// `PATCH /v1/tenants/{id}`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatchTenant {
    name: Option<String>,
    settings: Option<TenantSettings>,
}

#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", request_body = CreateTenant,
    security(("bearer" = [])),
    responses((status = 201, body = Tenant), (status = 400, body = crate::error::ErrorBody),
              (status = 403, description = "not the operator key"), (status = 409, description = "id taken")))]
pub(crate) async fn create_tenant(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateTenant>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_operator()?;
    let tenant = state
        .gateway
        .create_tenant(&body.name, body.id.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(tenant)))
}

#[utoipa::path(get, path = "/v1/tenants", tag = "tenants", params(ListParams),
    security(("bearer" = [])), responses((status = 200, body = ListResponse<Tenant>)))]
pub(crate) async fn list_tenants(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Json<ListResponse<Tenant>>, ApiError> {
    let list = List::Tenants;
    let page = match caller {
        Caller::Operator => {
            let request = list.request(params.limit, params.cursor.as_deref())?;
            state.gateway.list_tenants(&request).await?
        }
        Caller::Tenant(own) => Page {
            items: vec![state.gateway.tenant(&own).await?],
            next_cursor: None,
        },
    };
    Ok(Json(list.response(page, |tenant| tenant)))
}

#[utoipa::path(get, path = "/v1/tenants/{id}", tag = "tenants", security(("bearer" = [])),
    responses((status = 200, body = Tenant), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn get_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Tenant>, ApiError> {
    let id = caller.tenant_in_path(&id)?;
    Ok(Json(state.gateway.tenant(&id).await?))
}

#[utoipa::path(patch, path = "/v1/tenants/{id}", tag = "tenants", request_body = PatchTenant,
    security(("bearer" = [])), responses((status = 200, body = Tenant)))]
pub(crate) async fn patch_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PatchTenant>,
) -> Result<Json<Tenant>, ApiError> {
    let id = caller.tenant_in_path(&id)?;
    let tenant = state
        .gateway
        .update_tenant(&id, body.name.as_deref(), body.settings)
        .await?;
    Ok(Json(tenant))
}

#[utoipa::path(delete, path = "/v1/tenants/{id}", tag = "tenants", security(("bearer" = [])),
    responses((status = 204, description = "deleted with all its data"), (status = 403, description = "not the operator key")))]
pub(crate) async fn delete_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = caller.tenant_in_path(&id)?;
    caller.require_operator()?;
    state.gateway.delete_tenant(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/tenants/{id}/api-keys", tag = "tenants", security(("bearer" = [])),
    responses((status = 201, body = ApiKeyCreated)))]
pub(crate) async fn create_api_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = caller.tenant_in_path(&id)?;
    let (key, secret) = state.gateway.create_api_key(&id).await?;
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyCreated::new(&key, Gateway::reveal(&secret))),
    ))
}

#[utoipa::path(get, path = "/v1/tenants/{id}/api-keys", tag = "tenants", security(("bearer" = [])),
    responses((status = 200, body = ListResponse<ApiKey>)))]
pub(crate) async fn list_api_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ListResponse<ApiKey>>, ApiError> {
    let id = caller.tenant_in_path(&id)?;
    Ok(Json(ListResponse {
        data: state.gateway.list_api_keys(&id).await?,
        next_cursor: None,
    }))
}

#[utoipa::path(delete, path = "/v1/tenants/{id}/api-keys/{key_id}", tag = "tenants", security(("bearer" = [])),
    responses((status = 204, description = "revoked")))]
pub(crate) async fn delete_api_key(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, key_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = caller.tenant_in_path(&id)?;
    let key_id =
        ApiKeyId::parse(&key_id).ok_or_else(|| ApiError::not_found(format!("API key {key_id}")))?;
    state.gateway.delete_api_key(&id, &key_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
