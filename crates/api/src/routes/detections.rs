//! `/v1/detections`: what the risk engine found.

use axum::extract::{Path, State};
use axum::Json;
use gatehouse_core::model::{Detection, Severity};
use gatehouse_core::DetectionId;
use gatehouse_store::{DetectionFilter, Locatable};
use serde::Deserialize;

use crate::extract::{Caller, QueryParams};
use crate::paging::List;
use crate::routes::inventory::time;
use crate::views::ListResponse;
use crate::{ApiError, AppState};

/// Query of `GET /v1/detections`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DetectionQuery {
    tenant_id: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
    user_id: Option<String>,
    kind: Option<String>,
    severity: Option<Severity>,
    /// RFC 3339: detections whose last evidence is at or after.
    since: Option<String>,
}

#[utoipa::path(get, path = "/v1/detections", tag = "detections", params(DetectionQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<Detection>)))]
pub(crate) async fn list_detections(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<DetectionQuery>,
) -> Result<Json<ListResponse<Detection>>, ApiError> {
    let tenant = caller.scope(query.tenant_id.as_deref())?;
    let user_id = crate::extract::user_id_filter(query.user_id.as_deref())?;
    let filter = DetectionFilter {
        user_id,
        kind: query.kind,
        severity: query.severity,
        since: time("since", query.since.as_deref())?,
    };
    let list = List::Detections;
    let page = list.request(query.limit, query.cursor.as_deref())?;
    let found = state
        .gateway
        .store()
        .list_detections(&tenant, &filter, &page)
        .await?;
    Ok(Json(list.response(found, |detection| detection)))
}

#[utoipa::path(get, path = "/v1/detections/{id}", tag = "detections", security(("bearer" = [])),
    responses((status = 200, body = Detection), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn get_detection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Detection>, ApiError> {
    let typed =
        DetectionId::parse(&id).ok_or_else(|| ApiError::not_found(format!("detection {id}")))?;
    let tenant = caller
        .owner_of(&state, Locatable::Detection, &id, "detection")
        .await?;
    let detection = state
        .gateway
        .store()
        .get_detection(&tenant, &typed)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("detection {id}")))?;
    Ok(Json(detection))
}
