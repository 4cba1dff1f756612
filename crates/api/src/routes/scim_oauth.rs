//! `POST /v1/scim/oauth/token`: OAuth 2.0 client credentials (RFC 6749 §4.4) for identity
//! providers configured to fetch SCIM bearer tokens rather than hold a long-lived one. The client
//! authenticates with HTTP Basic or `client_id`/`client_secret` form fields; errors use RFC 6749
//! §5.2's shape.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use gatehouse_engine::{ClientRefusal, Gateway};
use serde_json::json;

use crate::AppState;

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"gatehouse-scim\""),
        );
    }
    response
}

/// `client_id:client_secret` from `Authorization: Basic …`.
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(B64.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

#[utoipa::path(post, path = "/v1/scim/oauth/token", tag = "scim",
    responses((status = 200, description = "{access_token, token_type: Bearer, expires_in}"),
              (status = 400, description = "invalid_request or unsupported_grant_type"),
              (status = 401, description = "invalid_client")))]
pub(crate) async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(fields)) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send an application/x-www-form-urlencoded body",
        );
    };
    if fields.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials is supported",
        );
    }
    let credentials = basic(&headers).or_else(|| {
        Some((
            fields.get("client_id")?.clone(),
            fields.get("client_secret")?.clone(),
        ))
    });
    let Some((client_id, client_secret)) = credentials else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication is required",
        );
    };
    match state
        .gateway
        .scim_access_token(&client_id, &client_secret)
        .await
    {
        Ok(Ok((token, expires_in))) => {
            let mut response = Json(json!({
                "access_token": Gateway::reveal(&token),
                "token_type": "Bearer",
                "expires_in": expires_in,
            }))
            .into_response();
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            response
        }
        Ok(Err(ClientRefusal::InvalidClient)) => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        ),
        Ok(Err(ClientRefusal::TooManyAttempts { retry_after_secs })) => {
            let mut response = oauth_error(
                StatusCode::TOO_MANY_REQUESTS,
                "invalid_client",
                "too many failed attempts for this client; retry later",
            );
            response.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(retry_after_secs),
            );
            response
        }
        Err(error) => {
            tracing::error!(%error, "SCIM token request failed");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "see the daemon log",
            )
        }
    }
}
