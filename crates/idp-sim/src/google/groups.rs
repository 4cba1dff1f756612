//! Directory API groups and members: `groups.list` (`customer`/`domain`,
//! `maxResults` 1–200, `pageToken`), `members.list` and `members.insert`
//! (409 `duplicate` "Member already exists." when already a member).

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::errors::GoogleError;
use super::model::User;
use super::token::{require, Caller};
use super::users::{check_customer, decode_token, encode_token, max_results};
use super::{
    GoogleSim, SCOPE_GROUP, SCOPE_GROUP_MEMBER, SCOPE_GROUP_MEMBER_READONLY, SCOPE_GROUP_READONLY,
};
use crate::common::http::{decode, Params};

fn offset(p: &Params) -> Result<usize, GoogleError> {
    match p.get("pageToken").filter(|t| !t.is_empty()) {
        None => Ok(0),
        Some(t) => decode_token(t)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| GoogleError::invalid("Invalid Input: pageToken")),
    }
}

/// `GET /admin/directory/v1/groups`.
pub async fn list(
    State(sim): State<GoogleSim>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, GoogleError> {
    require(&caller, &[SCOPE_GROUP_READONLY, SCOPE_GROUP])?;
    let p = Params::parse(raw.as_deref());
    check_customer(&sim, &p)?;
    let limit = max_results(&p, 200, 200)?;
    let start = offset(&p)?;
    let store = sim.store();
    let groups: Vec<Value> = store
        .groups
        .iter()
        .skip(start)
        .take(limit)
        .map(|g| g.render())
        .collect();
    let mut body = json!({"kind": "admin#directory#groups", "etag": "\"simgroups\""});
    if start + groups.len() < store.groups.len() {
        body["nextPageToken"] = json!(encode_token(&(start + groups.len()).to_string()));
    }
    if !groups.is_empty() {
        body["groups"] = Value::Array(groups);
    }
    Ok(Json(body).into_response())
}

fn member(u: &User) -> Value {
    json!({
        "kind": "admin#directory#member",
        "etag": format!("\"simm{}/{:x}\"", u.id, u.version),
        "id": u.id,
        "email": u.primary_email,
        "role": "MEMBER",
        "type": "USER",
        "status": if u.suspended { "SUSPENDED" } else { "ACTIVE" },
    })
}

/// `GET /admin/directory/v1/groups/{groupKey}/members`.
pub async fn members(
    State(sim): State<GoogleSim>,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, GoogleError> {
    require(
        &caller,
        &[
            SCOPE_GROUP_READONLY,
            SCOPE_GROUP,
            SCOPE_GROUP_MEMBER_READONLY,
            SCOPE_GROUP_MEMBER,
        ],
    )?;
    let p = Params::parse(raw.as_deref());
    let limit = max_results(&p, 200, 200)?;
    let start = offset(&p)?;
    let store = sim.store();
    let g = store
        .group_index(&decode(&key))
        .and_then(|i| store.groups.get(i))
        .ok_or_else(|| GoogleError::not_found("groupKey"))?;
    let page: Vec<Value> = g
        .members
        .iter()
        .skip(start)
        .take(limit)
        .filter_map(|id| store.user(id).map(member))
        .collect();
    let mut body = json!({"kind": "admin#directory#members", "etag": "\"simmembers\""});
    if start + limit < g.members.len() {
        body["nextPageToken"] = json!(encode_token(&(start + limit).to_string()));
    }
    if !page.is_empty() {
        body["members"] = Value::Array(page);
    }
    Ok(Json(body).into_response())
}

/// `POST /admin/directory/v1/groups/{groupKey}/members`.
pub async fn insert_member(
    State(sim): State<GoogleSim>,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, GoogleError> {
    require(&caller, &[SCOPE_GROUP, SCOPE_GROUP_MEMBER])?;
    let req: Value = serde_json::from_slice(&body).map_err(|_| {
        GoogleError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "parseError",
            "Parse Error",
        )
    })?;
    let mut store = sim.store();
    let gi = store
        .group_index(&decode(&key))
        .ok_or_else(|| GoogleError::not_found("groupKey"))?;
    let who = req["email"]
        .as_str()
        .or_else(|| req["id"].as_str())
        .ok_or_else(|| GoogleError::invalid("Missing required field: memberKey"))?;
    let (uid, rendered) = store
        .user(who)
        .map(|u| (u.id.clone(), member(u)))
        .ok_or_else(|| GoogleError::not_found("memberKey"))?;
    let g = store
        .groups
        .get_mut(gi)
        .ok_or_else(|| GoogleError::not_found("groupKey"))?;
    if g.members.contains(&uid) {
        return Err(GoogleError::duplicate("Member already exists."));
    }
    g.members.push(uid);
    let mut rendered = rendered;
    if let Some(role) = req["role"].as_str() {
        rendered["role"] = json!(role);
    }
    Ok(Json(rendered).into_response())
}
