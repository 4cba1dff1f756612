//! v2 user groups: `GET /api/v2/usergroups` (array of `UserGroup`, `limit`
//! 1–100 default 10, `skip`, `filter=name:$eq:…`), `GET
//! /api/v2/usergroups/{id}/members` (array of `GraphConnection`
//! `{"to":{"id","type":"user"}}`), `POST` the same path with a
//! `GraphOperation` `{"op":"add"|"remove","type":"user","id":…}` (204),
//! and `GET /api/v2/users/{id}/memberof` (array of `GraphObjectWithPaths`).

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;
use serde_json::{json, Value};

use super::edge::Caller;
use super::errors::JcError;
use super::users::{limit, project, skip, Filter, Query};
use super::JumpCloudSim;

/// `GET /api/v2/usergroups`.
pub async fn list(
    State(sim): State<JumpCloudSim>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, JcError> {
    let q = Query::parse(raw.as_deref());
    let cfg = sim.config();
    let limit = limit(&q, cfg.default_limit, cfg.max_limit)?;
    let skip = skip(&q)?;
    let filters = q
        .all("filter")
        .into_iter()
        .filter(|f| !f.is_empty())
        .map(Filter::parse)
        .collect::<Result<Vec<_>, _>>()?;
    let store = sim.store();
    let out: Vec<Value> = if caller.home {
        store
            .groups
            .iter()
            .map(|g| g.render())
            .filter(|v| filters.iter().all(|f| f.matches(v)))
            .skip(skip)
            .take(limit)
            .map(|v| project(v, q.get("fields"), "id"))
            .collect()
    } else {
        Vec::new()
    };
    Ok(Json(Value::Array(out)).into_response())
}

/// `GET /api/v2/usergroups/{id}/members`.
pub async fn members(
    State(sim): State<JumpCloudSim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, JcError> {
    let q = Query::parse(raw.as_deref());
    let cfg = sim.config();
    let limit = limit(&q, cfg.default_limit, cfg.max_limit)?;
    let skip = skip(&q)?;
    let store = sim.store();
    let g = store
        .group_index(&id)
        .and_then(|i| store.groups.get(i))
        .filter(|_| caller.home)
        .ok_or_else(|| JcError::not_found("User Group"))?;
    let out: Vec<Value> = g
        .members
        .iter()
        .skip(skip)
        .take(limit)
        .map(|m| json!({"attributes": null, "to": {"attributes": null, "id": m, "type": "user"}}))
        .collect();
    Ok(Json(Value::Array(out)).into_response())
}

/// `POST /api/v2/usergroups/{id}/members`.
pub async fn change_members(
    State(sim): State<JumpCloudSim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, JcError> {
    let b: Value =
        serde_json::from_slice(&body).map_err(|_| JcError::bad_request("invalid JSON body"))?;
    let op = b.get("op").and_then(Value::as_str).unwrap_or("");
    let member = b
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| JcError::bad_request("id is required"))?
        .to_string();
    match b.get("type").and_then(Value::as_str) {
        Some("user") => {}
        _ => return Err(JcError::bad_request("type must be user")),
    }
    if !matches!(op, "add" | "remove") {
        return Err(JcError::bad_request("op must be one of add, remove"));
    }
    let mut store = sim.store();
    let gi = store
        .group_index(&id)
        .filter(|_| caller.home)
        .ok_or_else(|| JcError::not_found("User Group"))?;
    if store.user(&member).is_none() {
        return Err(JcError::bad_request(format!("user {member} not found")));
    }
    let Some(g) = store.groups.get_mut(gi) else {
        return Err(JcError::not_found("User Group"));
    };
    let present = g.members.contains(&member);
    match op {
        "add" if present => {
            return Err(JcError::new(StatusCode::CONFLICT, "Already Exists"));
        }
        "add" => g.members.push(member),
        _ if !present => return Err(JcError::not_found("Association")),
        _ => g.members.retain(|m| *m != member),
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/v2/users/{id}/memberof`.
pub async fn member_of(
    State(sim): State<JumpCloudSim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, JcError> {
    let q = Query::parse(raw.as_deref());
    let cfg = sim.config();
    let limit = limit(&q, cfg.default_limit, cfg.max_limit)?;
    let skip = skip(&q)?;
    let store = sim.store();
    if !caller.home || store.user(&id).is_none() {
        return Err(JcError::not_found("User"));
    }
    let out: Vec<Value> = store
        .groups
        .iter()
        .filter(|g| g.members.contains(&id))
        .skip(skip)
        .take(limit)
        .map(|g| {
            json!({
                "id": g.id,
                "type": "user_group",
                "compiledAttributes": null,
                "paths": [[{"attributes": null, "to": {"attributes": null, "id": g.id, "type": "user_group"}}]],
            })
        })
        .collect();
    Ok(Json(Value::Array(out)).into_response())
}
