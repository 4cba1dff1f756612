//! SCIM 2.0 service provider routes (RFC 7644), nested at `/v1/scim/v2`. Every answer is
//! `application/scim+json`, every error the SCIM error shape, including 401, 404 for unknown
//! endpoints and 405 for unsupported methods. The work is the engine's `ScimService`.

mod auth;
mod bulk;
mod discovery;
mod input;
mod reply;
mod resources;

use axum::extract::Path;
use axum::http::HeaderMap;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use gatehouse_scim::ResourceKind;

use crate::AppState;
use auth::Scim;
use input::{ScimBody, ScimQuery};
use reply::{method_not_allowed, no_endpoint};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/ServiceProviderConfig",
            read_only(get(discovery::service_provider_config)),
        )
        .route("/Schemas", read_only(get(discovery::schemas)))
        .route("/Schemas/{id}", read_only(get(discovery::schema)))
        .route("/ResourceTypes", read_only(get(discovery::resource_types)))
        .route(
            "/ResourceTypes/{id}",
            read_only(get(discovery::resource_type)),
        )
        .route("/Users", collection(ResourceKind::User))
        .route("/.search", post(resources::search_all))
        .route("/Users/.search", search(ResourceKind::User))
        .route("/Users/{id}", member(ResourceKind::User))
        .route("/Groups", collection(ResourceKind::Group))
        .route("/Groups/.search", search(ResourceKind::Group))
        .route("/Groups/{id}", member(ResourceKind::Group))
        .route("/Bulk", post(bulk::bulk).fallback(method_not_allowed))
        .fallback(no_endpoint)
}

fn read_only(route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.fallback(method_not_allowed)
}

fn collection(kind: ResourceKind) -> MethodRouter<AppState> {
    get(move |scim: Scim, query: ScimQuery| resources::list(kind, scim, query))
        .post(move |scim: Scim, query: ScimQuery, body: ScimBody| {
            resources::create(kind, scim, query, body)
        })
        .fallback(method_not_allowed)
}

fn search(kind: ResourceKind) -> MethodRouter<AppState> {
    post(move |scim: Scim, body: ScimBody| resources::search(kind, scim, body))
        .fallback(method_not_allowed)
}

fn member(kind: ResourceKind) -> MethodRouter<AppState> {
    get(
        move |Path(id): Path<String>, scim: Scim, query: ScimQuery, headers: HeaderMap| {
            resources::get(kind, id, scim, query, headers)
        },
    )
    .put(
        move |Path(id): Path<String>,
              scim: Scim,
              query: ScimQuery,
              headers: HeaderMap,
              body: ScimBody| { resources::replace(kind, id, scim, query, headers, body) },
    )
    .patch(
        move |Path(id): Path<String>,
              scim: Scim,
              query: ScimQuery,
              headers: HeaderMap,
              body: ScimBody| { resources::patch(kind, id, scim, query, headers, body) },
    )
    .delete(
        move |Path(id): Path<String>, scim: Scim, headers: HeaderMap| {
            resources::delete(kind, id, scim, headers)
        },
    )
    .fallback(method_not_allowed)
}
