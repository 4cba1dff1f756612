//! The router: the token endpoint, the Directory and Reports API paths,
//! behind the `edge` middleware; unknown paths get Google's 404 body.

use axum::http::{StatusCode, Uri};
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;

use super::edge::edge;
use super::errors::GoogleError;
use super::{channels, groups, reports, token, users, GoogleSim};

pub fn router(sim: GoogleSim) -> Router {
    Router::new()
        .route("/token", post(token::issue))
        .route("/admin/directory/v1/users", get(users::list))
        .route(
            "/admin/directory/v1/users/{key}",
            get(users::get_one).put(users::update).patch(users::update),
        )
        .route(
            "/admin/directory/v1/users/{key}/signOut",
            post(users::sign_out),
        )
        .route("/admin/directory/v1/groups", get(groups::list))
        .route(
            "/admin/directory/v1/groups/{key}/members",
            get(groups::members).post(groups::insert_member),
        )
        .route(
            "/admin/reports/v1/activity/users/{user}/applications/{app}",
            get(reports::list),
        )
        .route(
            "/admin/reports/v1/activity/users/{user}/applications/{app}/watch",
            post(channels::watch),
        )
        .route("/admin/reports_v1/channels/stop", post(channels::stop))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(from_fn_with_state(sim.clone(), edge))
        .with_state(sim)
}

async fn no_route(uri: Uri) -> GoogleError {
    GoogleError::new(
        StatusCode::NOT_FOUND,
        "notFound",
        format!(
            "The requested URL {} was not found on this server.",
            uri.path()
        ),
    )
}

async fn wrong_method() -> GoogleError {
    GoogleError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "httpMethodNotAllowed",
        "Method Not Allowed",
    )
}
