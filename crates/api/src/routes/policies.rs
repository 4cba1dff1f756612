//! `/v1/policies`: response policies (when → then, mode, scope).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use gatehouse_core::model::{ActionKind, Policy, PolicyMode, PolicyScope, PolicyWhen};
use gatehouse_core::PolicyId;
use gatehouse_engine::policies::PolicyInput;
use gatehouse_store::Locatable;
use serde::Deserialize;

use crate::extract::{Caller, JsonBody, ListParams, QueryParams};
use crate::views::ListResponse;
use crate::{ApiError, AppState};

/// `POST /v1/policies` and `PUT /v1/policies/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyBody {
    tenant_id: Option<String>,
    name: String,
    when: PolicyWhen,
    then: Vec<ActionKind>,
    mode: PolicyMode,
    #[serde(default = "account_scope")]
    scope: PolicyScope,
    #[serde(default = "yes")]
    enabled: bool,
}

fn account_scope() -> PolicyScope {
    PolicyScope::Account
}

fn yes() -> bool {
    true
}

impl PolicyBody {
    pub(crate) fn into_input(self) -> PolicyInput {
        self.input()
    }

    fn input(self) -> PolicyInput {
        PolicyInput {
            name: self.name,
            when: self.when,
            then: self.then,
            mode: self.mode,
            scope: self.scope,
            enabled: self.enabled,
        }
    }
}

async fn target(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(gatehouse_core::TenantId, PolicyId), ApiError> {
    let typed = PolicyId::parse(id).ok_or_else(|| ApiError::not_found(format!("policy {id}")))?;
    let tenant = caller
        .owner_of(state, Locatable::Policy, id, "policy")
        .await?;
    Ok((tenant, typed))
}

#[utoipa::path(post, path = "/v1/policies", tag = "policies", request_body = PolicyBody, security(("bearer" = [])),
    responses((status = 201, body = Policy), (status = 400, body = crate::error::ErrorBody)))]
pub(crate) async fn create_policy(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<PolicyBody>,
) -> Result<impl IntoResponse, ApiError> {
    let tenant = caller.scope(body.tenant_id.as_deref())?;
    let policy = state.gateway.create_policy(&tenant, body.input()).await?;
    Ok((StatusCode::CREATED, Json(policy)))
}

#[utoipa::path(get, path = "/v1/policies", tag = "policies", params(ListParams), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<Policy>)))]
pub(crate) async fn list_policies(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Json<ListResponse<Policy>>, ApiError> {
    let tenant = caller.scope(params.tenant_id.as_deref())?;
    // One page holds every policy, so this list gives out no cursor and none is valid (the
    // malformed-input sweep found any cursor accepted and ignored).
    if params.cursor.is_some() {
        return Err(ApiError::invalid(
            "cursor",
            "is not a cursor this list gave out (the policies list is one page)",
        ));
    }
    Ok(Json(ListResponse {
        data: state.gateway.policies(&tenant).await?,
        next_cursor: None,
    }))
}

#[utoipa::path(get, path = "/v1/policies/{id}", tag = "policies", security(("bearer" = [])),
    responses((status = 200, body = Policy), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn get_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Policy>, ApiError> {
    let (tenant, id) = target(&state, &caller, &id).await?;
    Ok(Json(state.gateway.policy(&tenant, &id).await?))
}

#[utoipa::path(put, path = "/v1/policies/{id}", tag = "policies", request_body = PolicyBody, security(("bearer" = [])),
    responses((status = 200, body = Policy)))]
pub(crate) async fn replace_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PolicyBody>,
) -> Result<Json<Policy>, ApiError> {
    let (tenant, id) = target(&state, &caller, &id).await?;
    if body
        .tenant_id
        .as_deref()
        .is_some_and(|t| t != tenant.as_str())
    {
        return Err(ApiError::invalid(
            "tenant_id",
            "a policy cannot move to another tenant",
        ));
    }
    Ok(Json(
        state
            .gateway
            .replace_policy(&tenant, &id, body.input())
            .await?,
    ))
}

#[utoipa::path(delete, path = "/v1/policies/{id}", tag = "policies", security(("bearer" = [])),
    responses((status = 204, description = "deleted")))]
pub(crate) async fn delete_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (tenant, id) = target(&state, &caller, &id).await?;
    state.gateway.delete_policy(&tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
