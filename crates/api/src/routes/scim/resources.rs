//! `/Users` and `/Groups`: create, read, list and search, replace, patch, delete, with ETags
//! (`If-Match` → 412 when stale, `If-None-Match` → 304 when current).

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use gatehouse_scim::resource::etag_matches;
use gatehouse_scim::{ResourceKind, SearchRequest};
use serde_json::Value;

use super::auth::Scim;
use super::input::{ScimBody, ScimQuery};
use super::reply::{header_text, json, resource, ScimResult};

/// The resource as stored (for headers) and as projected (for the body).
fn answer(
    scim: &Scim,
    kind: ResourceKind,
    query: &ScimQuery,
    status: StatusCode,
    stored: &Value,
    location: bool,
) -> ScimResult {
    let projection = query.projection()?;
    let body = projection.apply(&scim.scope.registry, kind, stored);
    Ok(resource(status, &body, stored, location))
}

pub(crate) async fn create(
    kind: ResourceKind,
    scim: Scim,
    query: ScimQuery,
    ScimBody(body): ScimBody,
) -> ScimResult {
    let created = scim.svc.create(&scim.scope, kind, &body).await?;
    answer(&scim, kind, &query, StatusCode::CREATED, &created, true)
}

pub(crate) async fn get(
    kind: ResourceKind,
    id: String,
    scim: Scim,
    query: ScimQuery,
    headers: HeaderMap,
) -> ScimResult {
    let found = scim.svc.get(&scim.scope, kind, &id).await?;
    let version = found
        .get("meta")
        .and_then(|m| m.get("version"))
        .and_then(Value::as_str);
    if let (Some(tag), Some(version)) = (header_text(&headers, header::IF_NONE_MATCH), version) {
        if etag_matches(tag, version) {
            let mut response = StatusCode::NOT_MODIFIED.into_response();
            if let Ok(v) = header::HeaderValue::from_str(version) {
                response.headers_mut().insert(header::ETAG, v);
            }
            return Ok(response);
        }
    }
    answer(&scim, kind, &query, StatusCode::OK, &found, false)
}

pub(crate) async fn list(kind: ResourceKind, scim: Scim, query: ScimQuery) -> ScimResult {
    let req = SearchRequest::from_query(query.pairs())?;
    let doc = scim.svc.search(&scim.scope, kind, &req).await?;
    Ok(json(StatusCode::OK, &doc))
}

pub(crate) async fn search(kind: ResourceKind, scim: Scim, ScimBody(body): ScimBody) -> ScimResult {
    let req = SearchRequest::from_json(&body)?;
    let doc = scim.svc.search(&scim.scope, kind, &req).await?;
    Ok(json(StatusCode::OK, &doc))
}

/// `POST /.search` at the root (RFC 7644 §3.4.3): Users and Groups together. A filter must make
/// sense for both (attributes of one type simply do not match the other's resources).
pub(crate) async fn search_all(scim: Scim, ScimBody(body): ScimBody) -> ScimResult {
    let req = SearchRequest::from_json(&body)?;
    let mut each = req.clone();
    each.start_index = 1;
    each.count = None;
    let mut resources = Vec::new();
    for kind in [ResourceKind::User, ResourceKind::Group] {
        let mut one = each.clone();
        if let Some(filter) = &req.filter {
            if filter.validate(&scim.scope.registry, kind).is_err() {
                continue;
            }
        } else {
            one.filter = None;
        }
        let doc = scim.svc.search(&scim.scope, kind, &one).await?;
        if let Some(found) = doc.get("Resources").and_then(serde_json::Value::as_array) {
            resources.extend(found.iter().cloned());
        }
    }
    let total = resources.len();
    let start = req.start_index.max(1);
    let page: Vec<serde_json::Value> = resources
        .into_iter()
        .skip(start - 1)
        .take(req.count.unwrap_or(usize::MAX))
        .collect();
    let doc = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": page.len(),
        "Resources": page,
    });
    Ok(json(StatusCode::OK, &doc))
}

pub(crate) async fn replace(
    kind: ResourceKind,
    id: String,
    scim: Scim,
    query: ScimQuery,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> ScimResult {
    let if_match = header_text(&headers, header::IF_MATCH);
    let done = scim
        .svc
        .replace(&scim.scope, kind, &id, &body, if_match)
        .await?;
    answer(&scim, kind, &query, StatusCode::OK, &done, false)
}

pub(crate) async fn patch(
    kind: ResourceKind,
    id: String,
    scim: Scim,
    query: ScimQuery,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> ScimResult {
    let if_match = header_text(&headers, header::IF_MATCH);
    let done = scim
        .svc
        .patch(&scim.scope, kind, &id, &body, if_match)
        .await?;
    answer(&scim, kind, &query, StatusCode::OK, &done, false)
}

pub(crate) async fn delete(
    kind: ResourceKind,
    id: String,
    scim: Scim,
    headers: HeaderMap,
) -> ScimResult {
    let if_match = header_text(&headers, header::IF_MATCH);
    scim.svc.delete(&scim.scope, kind, &id, if_match).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
