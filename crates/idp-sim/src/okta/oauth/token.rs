//! `POST /oauth2/v1/token` of the org authorization server: the client
//! credentials grant with a `private_key_jwt` assertion, DPoP when the app
//! requires it, and Okta's OAuth error bodies (`{"error","error_description"}`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::jwk::Jwk;
use serde_json::{json, Value};

use super::jwt::{allowed, dpop_proof, verify};
use super::{Issued, ServiceApp, TokenRequest, JWT_BEARER, TOKEN_PATH};
use crate::okta::clock::fmt_ts;
use crate::okta::errors::random_base62;
use crate::okta::routes::base;
use crate::okta::OktaSim;

/// An OAuth error answer.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    error: &'static str,
    description: String,
    nonce: Option<String>,
}

fn refuse(status: StatusCode, error: &'static str, description: impl Into<String>) -> Refusal {
    Refusal {
        status,
        error,
        description: description.into(),
        nonce: None,
    }
}

fn invalid_client(description: impl Into<String>) -> Refusal {
    refuse(StatusCode::UNAUTHORIZED, "invalid_client", description)
}

fn bad_request(error: &'static str, description: impl Into<String>) -> Refusal {
    refuse(StatusCode::BAD_REQUEST, error, description)
}

/// Okta's token answers must not be cached.
fn no_store(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = json!({"error": self.error, "error_description": self.description});
        let mut resp = (self.status, axum::Json(body)).into_response();
        no_store(&mut resp);
        if let Some(n) = self.nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
            resp.headers_mut().insert("dpop-nonce", n);
        }
        resp
    }
}

/// The form fields the endpoint reads.
#[derive(Debug, Default)]
struct Form {
    grant_type: Option<String>,
    scope: Option<String>,
    assertion_type: Option<String>,
    assertion: Option<String>,
    client_id: Option<String>,
}

fn form(body: &[u8]) -> Form {
    let mut f = Form::default();
    for (k, v) in url::form_urlencoded::parse(body) {
        let slot = match k.as_ref() {
            "grant_type" => &mut f.grant_type,
            "scope" => &mut f.scope,
            "client_assertion_type" => &mut f.assertion_type,
            "client_assertion" => &mut f.assertion,
            "client_id" => &mut f.client_id,
            _ => continue,
        };
        slot.get_or_insert_with(|| v.into_owned());
    }
    f
}

/// The handler.
pub async fn issue(State(sim): State<OktaSim>, headers: HeaderMap, body: Bytes) -> Response {
    let f = form(&body);
    let scopes: Vec<String> = f
        .scope
        .as_deref()
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let proof = headers.get("dpop").and_then(|v| v.to_str().ok());
    let mut client_id = None;
    let outcome = grant(&sim, &headers, &f, &scopes, proof, &mut client_id);
    let (resp, status, error) = match outcome {
        Ok(ok) => (ok, 200, None),
        Err(r) => {
            let (status, error) = (r.status.as_u16(), r.error.to_string());
            (r.into_response(), status, Some(error))
        }
    };
    let at = fmt_ts(sim.clock().now());
    sim.oauth().requests.push(TokenRequest {
        client_id,
        scopes,
        dpop: proof.is_some(),
        status,
        error,
        at,
    });
    resp
}

fn grant(
    sim: &OktaSim,
    headers: &HeaderMap,
    f: &Form,
    scopes: &[String],
    proof: Option<&str>,
    client_id: &mut Option<String>,
) -> Result<Response, Refusal> {
    if f.grant_type.as_deref() != Some("client_credentials") {
        return Err(bad_request(
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server. Service apps use client_credentials.",
        ));
    }
    if f.assertion_type.as_deref() != Some(JWT_BEARER) {
        return Err(invalid_client(format!(
            "client_assertion_type must be {JWT_BEARER} (private_key_jwt)."
        )));
    }
    let assertion = f
        .assertion
        .as_deref()
        .ok_or_else(|| invalid_client("The client_assertion is missing."))?;
    let token_url = format!("{}{TOKEN_PATH}", base(sim, headers));
    let app = authenticate(
        sim,
        assertion,
        &token_url,
        f.client_id.as_deref(),
        client_id,
    )?;
    if scopes.is_empty() {
        return Err(bad_request(
            "invalid_scope",
            "The 'scope' parameter is required.",
        ));
    }
    let refused: Vec<&str> = scopes
        .iter()
        .filter(|s| !app.scopes.contains(s))
        .map(String::as_str)
        .collect();
    if !refused.is_empty() {
        return Err(bad_request(
            "invalid_scope",
            format!(
                "The following scopes are not allowed: {}",
                refused.join(" ")
            ),
        ));
    }
    let jkt = if app.require_dpop {
        Some(dpop_for_token(sim, proof, &token_url)?)
    } else {
        None
    };
    let now_ms = sim.clock().now_ms();
    let token = random_base62(48);
    let lifetime_s = app.token_lifetime.num_seconds().max(1);
    let token_type = if jkt.is_some() { "DPoP" } else { "Bearer" };
    sim.oauth().tokens.insert(
        token.clone(),
        Issued {
            scopes: scopes.to_vec(),
            expires_ms: now_ms + lifetime_s * 1000,
            jkt,
        },
    );
    let body = json!({
        "token_type": token_type,
        "expires_in": lifetime_s,
        "access_token": token,
        "scope": scopes.join(" "),
    });
    let mut resp = axum::Json(body).into_response();
    no_store(&mut resp);
    Ok(resp)
}

/// Verifies the client assertion and returns the app it authenticates.
fn authenticate(
    sim: &OktaSim,
    assertion: &str,
    token_url: &str,
    form_client: Option<&str>,
    client_id: &mut Option<String>,
) -> Result<ServiceApp, Refusal> {
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| invalid_client("The client_assertion is not a well-formed JWT."))?;
    if !allowed(header.alg) {
        return Err(invalid_client(
            "The client_assertion signature algorithm is not supported.",
        ));
    }
    // The claims name the client; they are trusted only once the signature holds.
    let unverified = unverified_claims(assertion)
        .ok_or_else(|| invalid_client("The client_assertion is not a well-formed JWT."))?;
    let iss = unverified["iss"].as_str().unwrap_or_default().to_string();
    *client_id = Some(iss.clone());
    let app = sim
        .config()
        .service_apps
        .iter()
        .find(|a| a.client_id == iss)
        .cloned()
        .ok_or_else(|| invalid_client("The client_id is invalid."))?;
    if form_client.is_some_and(|c| c != app.client_id) {
        return Err(invalid_client(
            "The client_id does not match the client_assertion issuer.",
        ));
    }
    let jwk = key_for(&app, header.kid.as_deref())?;
    let claims = verify(assertion, header.alg, &jwk)
        .map_err(|_| invalid_client("The client_assertion signature is invalid."))?;
    if claims["sub"].as_str() != Some(app.client_id.as_str()) {
        return Err(invalid_client(
            "The client_assertion sub claim must be the client_id.",
        ));
    }
    let aud_ok = match &claims["aud"] {
        Value::String(a) => a == token_url,
        Value::Array(items) => items.iter().any(|a| a.as_str() == Some(token_url)),
        _ => false,
    };
    if !aud_ok {
        return Err(invalid_client(format!(
            "The audience [aud] claim in the client_assertion is invalid. It must be {token_url}."
        )));
    }
    let now_s = sim.clock().now().timestamp();
    let exp = claims["exp"]
        .as_i64()
        .ok_or_else(|| invalid_client("The client_assertion has no exp claim."))?;
    if exp <= now_s {
        return Err(invalid_client("The client_assertion token is expired."));
    }
    if exp > now_s + 3600 {
        return Err(invalid_client(
            "The client_assertion token has an expiration too far into the future.",
        ));
    }
    if let Some(jti) = claims["jti"].as_str() {
        let key = format!("assertion:{}:{jti}", app.client_id);
        if !sim.oauth().first_use(&key, exp * 1000, now_s * 1000) {
            return Err(invalid_client(
                "The client_assertion token has already been used.",
            ));
        }
    }
    Ok(app)
}

fn unverified_claims(jwt: &str) -> Option<Value> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The app's key the assertion names by `kid` (or its only key).
fn key_for(app: &ServiceApp, kid: Option<&str>) -> Result<Jwk, Refusal> {
    let keys: Vec<Jwk> = app
        .keys
        .iter()
        .filter_map(|k| serde_json::from_value(k.clone()).ok())
        .collect();
    let found = match kid {
        Some(kid) => keys
            .into_iter()
            .find(|k| k.common.key_id.as_deref() == Some(kid)),
        None if keys.len() == 1 => keys.into_iter().next(),
        None => None,
    };
    found.ok_or_else(|| invalid_client("The client_assertion JWT kid is invalid."))
}

/// Checks the token request's DPoP proof and returns the key thumbprint.
fn dpop_for_token(sim: &OktaSim, proof: Option<&str>, token_url: &str) -> Result<String, Refusal> {
    let proof = proof.ok_or_else(|| {
        bad_request(
            "invalid_dpop_proof",
            "The DPoP proof JWT header is missing.",
        )
    })?;
    let now_s = sim.clock().now().timestamp();
    let checked = dpop_proof(proof, "POST", token_url, now_s)
        .map_err(|why| bad_request("invalid_dpop_proof", format!("Invalid DPoP proof: {why}.")))?;
    let mut oauth = sim.oauth();
    if oauth.nonce.is_empty() {
        oauth.nonce = random_base62(32);
    }
    if checked.claims["nonce"].as_str() != Some(oauth.nonce.as_str()) {
        return Err(Refusal {
            nonce: Some(oauth.nonce.clone()),
            ..bad_request(
                "use_dpop_nonce",
                "Authorization server requires nonce in DPoP proof.",
            )
        });
    }
    let key = format!("dpop:{}", checked.jti);
    if !oauth.first_use(&key, (now_s + 600) * 1000, now_s * 1000) {
        return Err(bad_request(
            "invalid_dpop_proof",
            "The DPoP proof jti has already been used.",
        ));
    }
    Ok(checked.jkt)
}
