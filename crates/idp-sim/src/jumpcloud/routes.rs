//! The router: v1 system users, v2 user groups and Directory Insights
//! paths behind the `edge` middleware; unknown paths get JumpCloud's 404
//! `Error` body, wrong methods its 405.

use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;

use super::edge::edge;
use super::errors::JcError;
use super::{groups, insights, users, JumpCloudSim};

pub fn router(sim: JumpCloudSim) -> Router {
    Router::new()
        .route("/api/systemusers", get(users::list))
        .route("/api/systemusers/{id}", get(users::get_one).put(users::put))
        .route("/api/systemusers/{id}/resetmfa", post(users::reset_mfa))
        .route("/api/systemusers/{id}/expire", post(users::expire))
        .route("/api/systemusers/{id}/unlock", post(users::unlock))
        .route("/api/v2/usergroups", get(groups::list))
        .route(
            "/api/v2/usergroups/{id}/members",
            get(groups::members).post(groups::change_members),
        )
        .route("/api/v2/users/{id}/memberof", get(groups::member_of))
        .route("/insights/directory/v1/events", post(insights::events))
        .route("/insights/directory/v1/events/count", post(insights::count))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(from_fn_with_state(sim.clone(), edge))
        .with_state(sim)
}

async fn no_route() -> JcError {
    JcError::new(StatusCode::NOT_FOUND, "Not Found")
}

async fn wrong_method() -> JcError {
    JcError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
}
