//! `/v1/providers`: the catalog of integration types this build knows — for each, what its
//! credentials and config are made of, as JSON Schemas derived from the provider crate's typed
//! structs (the same ones that validate `POST /v1/integrations`), whether it takes pushes and
//! whether its connector is in this build.

use axum::extract::{Path, State};
use axum::Json;
use gatehouse_core::catalog::ProviderDescriptor;
use serde::Serialize;
use serde_json::Value;

use crate::extract::Caller;
use crate::{ApiError, AppState};

/// One integration type.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ProviderView {
    /// The `type` of `POST /v1/integrations`.
    id: &'static str,
    display_name: &'static str,
    /// Receives pushed events at `/v1/idp/{id}` (its integrations get an ingest token).
    push: bool,
    /// Is provisioned into over SCIM (its integrations get a SCIM token).
    scim_server: bool,
    /// The config flag that turns the sign-in pull off, when the type pulls sign-ins.
    signins_flag: Option<&'static str>,
    /// Whether this build has its connector (`/test` and `/sync` answer 501 otherwise).
    connector: bool,
    /// JSON Schema of `credentials`.
    #[schema(value_type = Object)]
    credentials: Value,
    /// JSON Schema of `config`.
    #[schema(value_type = Object)]
    config: Value,
}

/// The catalog's answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ProviderList {
    data: Vec<ProviderView>,
}

fn view(state: &AppState, descriptor: &'static ProviderDescriptor) -> ProviderView {
    ProviderView {
        id: descriptor.id,
        display_name: descriptor.display_name,
        push: descriptor.push_capable,
        scim_server: descriptor.scim_server,
        signins_flag: descriptor.signins_flag,
        connector: state.gateway.registry().factory(descriptor.id).is_some(),
        credentials: descriptor.credentials.schema(),
        config: descriptor.config.schema(),
    }
}

/// Every integration type, sorted by id.
#[utoipa::path(get, path = "/v1/providers", tag = "integrations",
    responses((status = 200, body = ProviderList)), security(("bearer" = [])))]
pub(crate) async fn list_providers(
    State(state): State<AppState>,
    _caller: Caller,
) -> Json<ProviderList> {
    let registry = state.gateway.registry();
    let data = registry
        .type_ids()
        .into_iter()
        .filter_map(|id| registry.descriptor(id))
        .map(|descriptor| view(&state, descriptor))
        .collect();
    Json(ProviderList { data })
}

/// One integration type.
#[utoipa::path(get, path = "/v1/providers/{id}", tag = "integrations",
    params(("id" = String, Path, description = "the integration type id, as in GET /v1/providers")),
    responses((status = 200, body = ProviderView), (status = 404, description = "no such type")),
    security(("bearer" = [])))]
pub(crate) async fn get_provider(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ProviderView>, ApiError> {
    let descriptor = state
        .gateway
        .registry()
        .descriptor(&id)
        .ok_or_else(|| ApiError::not_found(format!("integration type {id}")))?;
    Ok(Json(view(&state, descriptor)))
}
