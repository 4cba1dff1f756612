//! `POST /Bulk` (RFC 7644 §3.7), within the limits `/ServiceProviderConfig` advertises.

use axum::http::StatusCode;

use super::auth::Scim;
use super::input::ScimBytes;
use super::reply::{json, ScimResult};

pub(crate) async fn bulk(scim: Scim, ScimBytes(body): ScimBytes) -> ScimResult {
    let doc = scim.svc.bulk(&scim.scope, &body).await?;
    Ok(json(StatusCode::OK, &doc))
}
