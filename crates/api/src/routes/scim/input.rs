//! SCIM request input: bodies as `application/scim+json` or `application/json` (415 otherwise,
//! 413 past the body limit, 400 `invalidSyntax` for bad JSON) and query-string pairs.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use gatehouse_scim::{Projection, ScimError};
use serde_json::Value;

use super::reply::ScimFail;

/// A raw SCIM body (Bulk checks its own size limit on the bytes).
pub(crate) struct ScimBytes(pub Bytes);

/// A parsed SCIM JSON body.
pub(crate) struct ScimBody(pub Value);

fn is_scim_media(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim();
            m.eq_ignore_ascii_case("application/scim+json")
                || m.eq_ignore_ascii_case("application/json")
        })
        .unwrap_or(false)
}

impl<S: Send + Sync> FromRequest<S> for ScimBytes {
    type Rejection = ScimFail;

    async fn from_request(req: Request, state: &S) -> Result<Self, ScimFail> {
        if !is_scim_media(&req) {
            return Err(ScimFail(ScimError::new(
                415,
                None,
                "send the body as Content-Type: application/scim+json or application/json",
            )));
        }
        Bytes::from_request(req, state)
            .await
            .map(Self)
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ScimFail(ScimError::too_many(
                        "the request body is larger than the limit",
                    ))
                } else {
                    ScimFail(ScimError::invalid_syntax(
                        "the request body could not be read",
                    ))
                }
            })
    }
}

impl<S: Send + Sync> FromRequest<S> for ScimBody {
    type Rejection = ScimFail;

    async fn from_request(req: Request, state: &S) -> Result<Self, ScimFail> {
        let ScimBytes(bytes) = ScimBytes::from_request(req, state).await?;
        serde_json::from_slice(&bytes).map(Self).map_err(|e| {
            ScimFail(ScimError::invalid_syntax(format!(
                "the body is not valid JSON: {e}"
            )))
        })
    }
}

/// The query string as name/value pairs, in order.
pub(crate) struct ScimQuery(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for ScimQuery {
    type Rejection = ScimFail;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ScimFail> {
        Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map(|Query(pairs)| Self(pairs))
            .map_err(|e| {
                ScimFail(ScimError::invalid_syntax(format!(
                    "invalid query string: {}",
                    e.body_text()
                )))
            })
    }
}

impl ScimQuery {
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// `attributes` / `excludedAttributes`, which every resource answer honours.
    pub(crate) fn projection(&self) -> Result<Projection, ScimFail> {
        Ok(Projection::parse(
            self.get("attributes"),
            self.get("excludedAttributes"),
        )?)
    }
}
