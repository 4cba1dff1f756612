//! The Management API side of OAuth: which scopes a call needs (from the
//! `security` blocks of Okta's management spec), and whether the access token
//! a call carries was issued here, is still valid, holds one of those scopes
//! and, when DPoP-bound, comes with a valid proof of its key.

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::jwt::{ath, dpop_proof};
use crate::okta::errors::OktaError;
use crate::okta::routes::base;
use crate::okta::OktaSim;

/// The scopes of which a call needs one (`okta.*.manage` also allows the
/// matching reads); empty for paths no scope opens.
pub fn required_scopes(method: &Method, path: &str) -> &'static [&'static str] {
    let read = *method == Method::GET || *method == Method::HEAD;
    if path.starts_with("/api/v1/logs") {
        return &["okta.logs.read"];
    }
    if path.starts_with("/api/v1/iam/")
        || (path.starts_with("/api/v1/users/") && path.ends_with("/roles"))
    {
        return if read {
            &["okta.roles.read", "okta.roles.manage"]
        } else {
            &["okta.roles.manage"]
        };
    }
    if path.starts_with("/api/v1/groups") {
        return if read {
            &["okta.groups.read", "okta.groups.manage"]
        } else {
            &["okta.groups.manage"]
        };
    }
    if path.starts_with("/api/v1/users") {
        return if read {
            &["okta.users.read", "okta.users.manage"]
        } else {
            &["okta.users.manage"]
        };
    }
    &[]
}

/// What an `Authorization` header that is not the API token means.
pub enum Verdict {
    /// Not an OAuth access token of this org at all (the API-token check decides).
    NotOAuth,
    /// A valid token with the scope the call needs.
    Allowed,
    /// Refused, with the answer to send.
    Refused(Response),
}

fn www_authenticate(resp: &mut Response, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
}

fn invalid_token(scheme: &str, error: &str, description: &str) -> Response {
    let mut resp = OktaError::invalid_token().into_response();
    www_authenticate(
        &mut resp,
        format!("{scheme} error=\"{error}\", error_description=\"{description}\""),
    );
    resp
}

/// Checks a `Bearer` or `DPoP` access token on a Management API call.
pub fn check(sim: &OktaSim, req: &Request) -> Verdict {
    let Some((scheme, token)) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
    else {
        return Verdict::NotOAuth;
    };
    let token = token.trim();
    let dpop = scheme.eq_ignore_ascii_case("DPoP");
    if !dpop && !scheme.eq_ignore_ascii_case("Bearer") {
        return Verdict::NotOAuth;
    }
    let now_ms = sim.clock().now_ms();
    let issued = sim.oauth().tokens.get(token).cloned();
    let Some(issued) = issued else {
        // Okta takes an API token only as `SSWS`: as a Bearer token it is one the org never
        // issued, refused like any other.
        return Verdict::Refused(invalid_token(
            if dpop { "DPoP" } else { "Bearer" },
            "invalid_token",
            "The access token is invalid.",
        ));
    };
    if issued.expires_ms <= now_ms {
        return Verdict::Refused(invalid_token(
            if dpop { "DPoP" } else { "Bearer" },
            "invalid_token",
            "The token has expired.",
        ));
    }
    match (&issued.jkt, dpop) {
        (Some(_), false) => {
            return Verdict::Refused(invalid_token(
                "DPoP",
                "invalid_token",
                "The access token is DPoP-bound and must be sent with the DPoP scheme.",
            ))
        }
        (None, true) => {
            return Verdict::Refused(invalid_token(
                "Bearer",
                "invalid_token",
                "The access token is not DPoP-bound.",
            ))
        }
        (Some(jkt), true) => {
            if let Err(why) = proof_for(sim, req, token, jkt) {
                return Verdict::Refused(invalid_token("DPoP", "invalid_dpop_proof", &why));
            }
        }
        (None, false) => {}
    }
    let path = req.uri().path();
    let needed = required_scopes(req.method(), path);
    if !needed.is_empty() && !needed.iter().any(|s| issued.scopes.iter().any(|h| h == s)) {
        let org = base(sim, req.headers());
        let mut resp = OktaError::forbidden().into_response();
        *resp.status_mut() = StatusCode::FORBIDDEN;
        www_authenticate(
            &mut resp,
            format!(
                "Bearer authorization_uri=\"{org}/oauth2/v1/authorize\", realm=\"{org}\", scope=\"{}\", error=\"insufficient_scope\", error_description=\"The access token provided does not contain the required scopes.\", resource=\"{path}\"",
                needed.join(" ")
            ),
        );
        return Verdict::Refused(resp);
    }
    Verdict::Allowed
}

/// The call's DPoP proof: signed by the token's key, for this method and
/// URL, carrying the token's hash, not seen before.
fn proof_for(sim: &OktaSim, req: &Request, token: &str, jkt: &str) -> Result<(), String> {
    let proof = req
        .headers()
        .get("dpop")
        .and_then(|v| v.to_str().ok())
        .ok_or("the DPoP proof header is missing")?;
    let url = format!("{}{}", base(sim, req.headers()), req.uri().path());
    let now_s = sim.clock().now().timestamp();
    let checked = dpop_proof(proof, req.method().as_str(), &url, now_s)?;
    if checked.jkt != jkt {
        return Err("the proof is not signed by the key the token is bound to".into());
    }
    if checked.claims["ath"].as_str() != Some(ath(token).as_str()) {
        return Err("ath does not match the access token".into());
    }
    let key = format!("dpop:{}", checked.jti);
    if !sim
        .oauth()
        .first_use(&key, (now_s + 600) * 1000, now_s * 1000)
    {
        return Err("the proof's jti has already been used".into());
    }
    Ok(())
}
