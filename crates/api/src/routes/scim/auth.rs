//! The SCIM caller: `Authorization: Bearer <scim token>` or `Authorization: apikey <scim token>`
//! (scheme case-insensitive; some provisioning clients can only send the latter), resolved to
//! the tenant and SCIM integration the token belongs to. Nothing else authenticates here.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use gatehouse_engine::scim::{ScimScope, ScimService};
use gatehouse_engine::Principal;
use gatehouse_scim::ScimError;

use super::reply::ScimFail;
use crate::AppState;

/// The service and the caller's scope.
pub(crate) struct Scim {
    pub svc: ScimService,
    pub scope: ScimScope,
}

fn token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let ok = scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("apikey");
    ok.then(|| token.trim()).filter(|t| !t.is_empty())
}

/// The absolute SCIM root as the client addressed us, for `meta.location`: the `Host` header
/// (only host-name characters, so it cannot inject into headers) and `X-Forwarded-Proto`.
fn base_url(parts: &Parts) -> String {
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| parts.uri.authority().map(|a| a.as_str().to_owned()))
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c))
        })
        .unwrap_or_else(|| "localhost".to_owned());
    let proto = parts
        .headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|p| p == "https" || p == "http")
        .unwrap_or_else(|| "http".to_owned());
    format!("{proto}://{host}/v1/scim/v2")
}

impl FromRequestParts<AppState> for Scim {
    type Rejection = ScimFail;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ScimFail> {
        let unauthorized = |m: &str| ScimFail(ScimError::new(401, None, m));
        let Some(token) = token(parts) else {
            return Err(unauthorized(
                "send Authorization: Bearer <SCIM token> (or apikey <SCIM token>)",
            ));
        };
        let principal = state.gateway.authenticate(token).await.map_err(|e| {
            tracing::error!(error = %e, "SCIM authentication failed");
            ScimFail(ScimError::new(500, None, "authentication failed"))
        })?;
        let Some(Principal::Scim {
            tenant,
            integration,
        }) = principal
        else {
            return Err(unauthorized("the SCIM token is not valid"));
        };
        let svc = ScimService::new(state.gateway.clone());
        let scope = svc.scope(tenant, &integration, base_url(parts)).await?;
        Ok(Self { svc, scope })
    }
}
