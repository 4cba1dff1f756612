//! The router: the token endpoint on the login paths and the Graph v1.0
//! paths, behind the `edge` middleware; unknown paths get Graph's error body.

use axum::http::{StatusCode, Uri};
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;

use super::edge::edge;
use super::errors::GraphError;
use super::{groups, signins, subscriptions, token, users, writes, EntraSim};

pub fn router(sim: EntraSim) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token::issue))
        .route("/v1.0/users", get(users::list))
        .route("/v1.0/users/delta", get(users::delta))
        .route("/v1.0/users/delta()", get(users::delta))
        .route("/v1.0/users/microsoft.graph.delta()", get(users::delta))
        .route(
            "/v1.0/users/{id}",
            get(users::get_one).patch(writes::patch_user),
        )
        .route("/v1.0/users/{id}/manager", get(users::manager))
        .route(
            "/v1.0/users/{id}/transitiveMemberOf",
            get(users::transitive_member_of),
        )
        .route(
            "/v1.0/users/{id}/memberOf",
            get(users::transitive_member_of),
        )
        .route(
            "/v1.0/users/{id}/authentication/methods",
            get(users::methods),
        )
        .route(
            "/v1.0/users/{id}/revokeSignInSessions",
            post(writes::revoke_sessions),
        )
        .route("/v1.0/organization", get(users::organization))
        .route("/v1.0/groups", get(groups::list))
        .route("/v1.0/groups/{id}", get(groups::get_one))
        .route("/v1.0/groups/{id}/members", get(groups::members))
        .route("/v1.0/groups/{id}/members/$ref", post(groups::add_member))
        .route("/v1.0/auditLogs/signIns", get(signins::list))
        .route(
            "/v1.0/identityProtection/riskyUsers/confirmCompromised",
            post(writes::confirm_compromised),
        )
        .route(
            "/v1.0/subscriptions",
            get(subscriptions::list).post(subscriptions::create),
        )
        .route(
            "/v1.0/subscriptions/{id}",
            get(subscriptions::get_one)
                .patch(subscriptions::renew)
                .delete(subscriptions::delete),
        )
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(from_fn_with_state(sim.clone(), edge))
        .with_state(sim)
}

async fn no_route(uri: Uri) -> GraphError {
    GraphError::no_route(uri.path())
}

async fn wrong_method() -> impl IntoResponse {
    GraphError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Request_BadRequest",
        "The requested HTTP method is not supported for this resource.",
    )
}
