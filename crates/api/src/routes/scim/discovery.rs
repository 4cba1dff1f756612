//! Discovery (RFC 7644 §4): `/ServiceProviderConfig`, `/Schemas`, `/ResourceTypes`, read-only.

use axum::extract::Path;
use axum::http::StatusCode;
use gatehouse_scim::schema::{resource_types_json, schemas_json, service_provider_config_json};

use super::auth::Scim;
use super::reply::{json, ScimResult};

pub(crate) async fn service_provider_config(scim: Scim) -> ScimResult {
    let doc = service_provider_config_json(scim.svc.config(), &scim.scope.base_url);
    Ok(json(StatusCode::OK, &doc))
}

pub(crate) async fn schemas(scim: Scim) -> ScimResult {
    let doc = schemas_json(&scim.scope.registry, &scim.scope.base_url, None)?;
    Ok(json(StatusCode::OK, &doc))
}

pub(crate) async fn schema(scim: Scim, Path(id): Path<String>) -> ScimResult {
    let doc = schemas_json(&scim.scope.registry, &scim.scope.base_url, Some(&id))?;
    Ok(json(StatusCode::OK, &doc))
}

pub(crate) async fn resource_types(scim: Scim) -> ScimResult {
    let doc = resource_types_json(&scim.scope.registry, &scim.scope.base_url, None)?;
    Ok(json(StatusCode::OK, &doc))
}

pub(crate) async fn resource_type(scim: Scim, Path(name): Path<String>) -> ScimResult {
    let doc = resource_types_json(&scim.scope.registry, &scim.scope.base_url, Some(&name))?;
    Ok(json(StatusCode::OK, &doc))
}
