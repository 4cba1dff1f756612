//! `/v1/actions`: ask for a response action at the provider and follow it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use gatehouse_core::model::{Action, ActionKind, ActionStatus};
use gatehouse_core::{ActionId, UserId};
use gatehouse_engine::actions::ActionRequest;
use gatehouse_store::{ActionFilter, Locatable};
use serde::Deserialize;

use crate::extract::{Caller, JsonBody, QueryParams};
use crate::paging::List;
use crate::views::ListResponse;
use crate::{ApiError, AppState};

/// `POST /v1/actions`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateAction {
    tenant_id: Option<String>,
    user_id: String,
    action: ActionKind,
    reason: Option<String>,
    #[serde(default)]
    dry_run: bool,
    /// Repeating a request with the same key returns the first action instead of a second one.
    idempotency_key: Option<String>,
}

/// Query of `GET /v1/actions`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ActionQuery {
    tenant_id: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
    status: Option<ActionStatus>,
    user_id: Option<String>,
}

#[utoipa::path(post, path = "/v1/actions", tag = "actions", request_body = CreateAction, security(("bearer" = [])),
    responses((status = 202, body = Action, description = "queued durably; follow it with GET /v1/actions/{id}"),
              (status = 404, description = "no such user")))]
pub(crate) async fn create_action(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateAction>,
) -> Result<impl IntoResponse, ApiError> {
    let tenant = caller.scope(body.tenant_id.as_deref())?;
    let user_id = UserId::parse(&body.user_id)
        .ok_or_else(|| ApiError::not_found(format!("user {}", body.user_id)))?;
    if body
        .idempotency_key
        .as_ref()
        .is_some_and(|k| k.is_empty() || k.len() > 200)
    {
        return Err(ApiError::invalid(
            "idempotency_key",
            "must be 1 to 200 characters",
        ));
    }
    let action = state
        .engine
        .actions
        .request(ActionRequest {
            tenant,
            user_id,
            kind: body.action,
            reason: body.reason,
            dry_run: body.dry_run,
            requested_by: caller.label(),
            detection_id: None,
            idempotency_key: body.idempotency_key,
            automatic: false,
            needs_approval: false,
        })
        .await?;
    Ok((StatusCode::ACCEPTED, Json(action)))
}

#[utoipa::path(get, path = "/v1/actions", tag = "actions", params(ActionQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<Action>)))]
pub(crate) async fn list_actions(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<ActionQuery>,
) -> Result<Json<ListResponse<Action>>, ApiError> {
    let tenant = caller.scope(query.tenant_id.as_deref())?;
    let user_id = crate::extract::user_id_filter(query.user_id.as_deref())?;
    let filter = ActionFilter {
        status: query.status,
        user_id,
    };
    let list = List::Actions;
    let page = list.request(query.limit, query.cursor.as_deref())?;
    let found = state
        .gateway
        .store()
        .list_actions(&tenant, &filter, &page)
        .await?;
    Ok(Json(list.response(found, |action| action)))
}

#[utoipa::path(get, path = "/v1/actions/{id}", tag = "actions", security(("bearer" = [])),
    responses((status = 200, body = Action), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn get_action(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Action>, ApiError> {
    let typed = ActionId::parse(&id).ok_or_else(|| ApiError::not_found(format!("action {id}")))?;
    let tenant = caller
        .owner_of(&state, Locatable::Action, &id, "action")
        .await?;
    let action = state
        .gateway
        .store()
        .get_action(&tenant, &typed)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("action {id}")))?;
    Ok(Json(action))
}

async fn decide(
    state: &AppState,
    caller: &Caller,
    id: &str,
    approve: bool,
) -> Result<Json<Action>, ApiError> {
    let typed = ActionId::parse(id).ok_or_else(|| ApiError::not_found(format!("action {id}")))?;
    let tenant = caller
        .owner_of(state, Locatable::Action, id, "action")
        .await?;
    let action = state
        .engine
        .actions
        .decide(&tenant, &typed, approve, &caller.label())
        .await?;
    Ok(Json(action))
}

#[utoipa::path(post, path = "/v1/actions/{id}/approve", tag = "actions", security(("bearer" = [])),
    responses((status = 200, body = Action, description = "queued to run"), (status = 409, description = "not awaiting approval")))]
pub(crate) async fn approve_action(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Action>, ApiError> {
    decide(&state, &caller, &id, true).await
}

#[utoipa::path(post, path = "/v1/actions/{id}/reject", tag = "actions", security(("bearer" = [])),
    responses((status = 200, body = Action), (status = 409, description = "not awaiting approval")))]
pub(crate) async fn reject_action(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Action>, ApiError> {
    decide(&state, &caller, &id, false).await
}
