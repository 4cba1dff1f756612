//! The service account's token endpoint (`POST /token`, RFC 7523 JWT bearer
//! grant) and the bearer check in front of the APIs.
//!
//! An assertion is accepted when: it is an RS256 JWT whose header `kid`
//! (if any) is the key's `private_key_id` and whose signature verifies with
//! the service account's public key; `iss` is the `client_email`; `aud` is
//! the token URI (`{base}/token`, or one of [`super::GoogleConfig::token_audiences`]);
//! `iat`/`exp` span at most an hour, `exp` is not past and `iat` not in the
//! future (beyond the configured skew); `scope` is non-empty and every scope
//! is authorized for the client by domain-wide delegation; `sub`, if given,
//! is an existing user. Refusals use Google's OAuth error texts.

use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

use super::errors::{GoogleError, OAuthError};
use super::model::IssuedToken;
use super::GoogleSim;

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const SIGNATURE: &str = "Invalid JWT Signature.";
const TIMEFRAME: &str = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.";
const UNAUTHORIZED_CLIENT: &str = "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.";

/// Who called an API, once the bearer token is accepted.
#[derive(Debug, Clone)]
pub struct Caller {
    pub scopes: BTreeSet<String>,
    /// Index of the impersonated user.
    pub subject: Option<usize>,
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn field<'a>(f: &'a [(String, String)], name: &str) -> Option<&'a str> {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `POST /token`.
pub async fn issue(State(sim): State<GoogleSim>, headers: HeaderMap, body: Bytes) -> Response {
    match grant(&sim, &headers, &body) {
        Ok(v) => {
            let mut resp = (StatusCode::OK, v.to_string()).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            resp.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache, no-store, max-age=0, must-revalidate"),
            );
            resp
        }
        Err(e) => e.into_response(),
    }
}

fn grant(sim: &GoogleSim, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
    let f = form(body);
    let grant_type = field(&f, "grant_type").unwrap_or_default();
    if grant_type != JWT_BEARER {
        return Err(OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "unsupported_grant_type",
            description: format!("Invalid grant_type: {grant_type}"),
        });
    }
    let Some(assertion) = field(&f, "assertion").filter(|a| !a.is_empty()) else {
        return Err(OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description: "Missing required parameter: assertion".into(),
        });
    };
    let cfg = sim.config();
    let sa = &cfg.service_account;
    let jwt_header =
        jsonwebtoken::decode_header(assertion).map_err(|_| OAuthError::invalid_grant(SIGNATURE))?;
    if jwt_header.alg != Algorithm::RS256 {
        return Err(OAuthError::invalid_grant(SIGNATURE));
    }
    if jwt_header
        .kid
        .as_deref()
        .is_some_and(|k| k != sa.private_key_id)
    {
        return Err(OAuthError::invalid_grant(SIGNATURE));
    }
    let key = DecodingKey::from_rsa_pem(sa.public_key_pem.as_bytes())
        .map_err(|_| OAuthError::invalid_grant(SIGNATURE))?;
    let mut v = Validation::new(Algorithm::RS256);
    v.validate_exp = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Value>(assertion, &key, &v)
        .map_err(|_| OAuthError::invalid_grant(SIGNATURE))?
        .claims;
    if claims["iss"].as_str() != Some(sa.client_email.as_str()) {
        return Err(OAuthError::invalid_grant(
            "Invalid grant: account not found",
        ));
    }
    let own_uri = format!(
        "{}/token",
        crate::common::http::base_url(headers, cfg.public_base_url.as_deref())
    );
    let aud = claims["aud"].as_str().unwrap_or_default();
    if aud != own_uri && !cfg.token_audiences.iter().any(|a| a == aud) {
        return Err(OAuthError::invalid_grant(&format!(
            "Invalid JWT: Failed audience check. The right audience is {own_uri}"
        )));
    }
    let now_s = sim.clock().now().timestamp();
    let skew = cfg.assertion_skew.as_secs() as i64;
    let (Some(iat), Some(exp)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
        return Err(OAuthError::invalid_grant(TIMEFRAME));
    };
    if exp - iat > 3600 || exp < iat || exp <= now_s - skew || iat > now_s + skew {
        return Err(OAuthError::invalid_grant(TIMEFRAME));
    }
    let scopes: BTreeSet<String> = claims["scope"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect();
    if scopes.is_empty() {
        return Err(OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_scope",
            description: "Empty or missing scope not allowed.".into(),
        });
    }
    let mut store = sim.store();
    let subject = match claims["sub"].as_str() {
        Some(sub) => match store.user(sub) {
            Some(u) => Some(u.id.clone()),
            None => return Err(OAuthError::invalid_grant("Invalid email or User ID")),
        },
        None => None,
    };
    if !scopes.iter().all(|s| cfg.authorized_scopes.contains(s)) {
        return Err(OAuthError {
            status: StatusCode::UNAUTHORIZED,
            error: "unauthorized_client",
            description: UNAUTHORIZED_CLIENT.into(),
        });
    }
    let lifetime = cfg.token_lifetime.as_secs() as i64;
    let token = format!("ya29.sim{}", store.rng.base62(120));
    store.tokens.insert(
        token.clone(),
        IssuedToken {
            scopes,
            subject,
            expires_ms: sim.clock().now_ms() + lifetime * 1000,
        },
    );
    Ok(json!({
        "access_token": token,
        "expires_in": lifetime,
        "token_type": "Bearer",
    }))
}

/// Checks the bearer token of an API call: 401 when missing, unknown or
/// expired; 403 `forbidden` when no admin is impersonated.
pub fn check(sim: &GoogleSim, headers: &HeaderMap) -> Result<Caller, GoogleError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(GoogleError::unauthenticated)?;
    let now = sim.clock().now_ms();
    let store = sim.store();
    let issued = store
        .tokens
        .get(token)
        .filter(|t| t.expires_ms > now)
        .ok_or_else(GoogleError::unauthenticated)?;
    let subject = issued.subject.as_deref().and_then(|s| store.user_index(s));
    let admin = subject
        .and_then(|i| store.users.get(i))
        .is_some_and(|u| u.is_admin && !u.suspended);
    if !admin {
        return Err(GoogleError::not_authorized());
    }
    Ok(Caller {
        scopes: issued.scopes.clone(),
        subject,
    })
}

/// 403 `insufficientPermissions` unless the caller holds one of `accepted`.
pub fn require(caller: &Caller, accepted: &[&str]) -> Result<(), GoogleError> {
    if accepted.iter().any(|s| caller.scopes.contains(*s)) {
        Ok(())
    } else {
        Err(GoogleError::insufficient_scopes())
    }
}
