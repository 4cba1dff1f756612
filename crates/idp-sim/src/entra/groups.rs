//! Groups: the list, one group, members with `$top`/`$skiptoken` paging,
//! and adding a member by reference (`POST /groups/{id}/members/$ref`,
//! 400 when the reference already exists).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::errors::GraphError;
use super::odata::{self, Query};
use super::token::Caller;
use super::users::{base, render_group, Answer};
use super::EntraSim;

const GROUP_READ: &[&str] = &[
    "Group.Read.All",
    "GroupMember.Read.All",
    "Directory.Read.All",
    "Group.ReadWrite.All",
    "GroupMember.ReadWrite.All",
    "Directory.ReadWrite.All",
];

#[derive(Serialize, Deserialize)]
struct Cursor {
    p: usize,
}

fn start(q: &Query) -> Result<usize, GraphError> {
    match q.get("$skiptoken") {
        Some(t) => odata::open::<Cursor>(t)
            .map(|c| c.p)
            .ok_or_else(|| GraphError::bad_request("Request_BadRequest", "Invalid skip token.")),
        None => Ok(0),
    }
}

/// `GET /v1.0/groups`.
pub async fn list(
    State(sim): State<EntraSim>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Answer {
    caller.require(GROUP_READ)?;
    let q = Query::parse(raw.as_deref());
    let top = odata::top(&q, 999)?.unwrap_or(sim.config().page_size);
    let filter = match q.get("$filter") {
        Some(t) => Some(odata::parse_filter(t).map_err(|t| {
            GraphError::bad_request(
                "BadRequest",
                format!("Invalid filter clause: syntax error near '{t}'."),
            )
        })?),
        None => None,
    };
    let from = start(&q)?;
    let store = sim.store();
    let mut value = Vec::new();
    let mut pos = from;
    let mut more = false;
    while pos < store.groups.len() {
        let g = render_group(&store.groups[pos]);
        let keep = filter
            .as_ref()
            .is_none_or(|f| odata::eval(f, &|p| g.get(p).cloned()));
        if keep {
            if value.len() == top {
                more = true;
                break;
            }
            value.push(g);
        }
        pos += 1;
    }
    drop(store);
    let b = base(&sim, &headers);
    let mut body = json!({"@odata.context": format!("{b}/v1.0/$metadata#groups")});
    if more {
        body["@odata.nextLink"] = json!(q.link(
            &b,
            "/v1.0/groups",
            ("$skiptoken", &odata::seal(&Cursor { p: pos }))
        ));
    }
    body["value"] = Value::Array(value);
    Ok(Json(body).into_response())
}

/// `GET /v1.0/groups/{id}`.
pub async fn get_one(
    State(sim): State<EntraSim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    caller.require(GROUP_READ)?;
    let store = sim.store();
    let g = store
        .group_index
        .get(&id)
        .copied()
        .ok_or_else(|| GraphError::not_found(&id))?;
    let mut obj = render_group(&store.groups[g]);
    drop(store);
    obj["@odata.context"] = json!(format!(
        "{}/v1.0/$metadata#groups/$entity",
        base(&sim, &headers)
    ));
    Ok(Json(obj).into_response())
}

/// `GET /v1.0/groups/{id}/members`.
pub async fn members(
    State(sim): State<EntraSim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Answer {
    caller.require(GROUP_READ)?;
    let q = Query::parse(raw.as_deref());
    let top = odata::top(&q, 999)?.unwrap_or(sim.config().page_size);
    let select = odata::select(
        &q,
        super::model::USER_PROPERTIES,
        "microsoft.graph.directoryObject",
    )?;
    let from = start(&q)?;
    let domain = sim.config().domain.clone();
    let store = sim.store();
    let g = store
        .group_index
        .get(&id)
        .copied()
        .ok_or_else(|| GraphError::not_found(&id))?;
    let group = &store.groups[g];
    let mut value = Vec::new();
    let mut pos = from;
    let mut more = false;
    while pos < group.members.len() {
        let Some(u) = store.users.get(group.members[pos]).filter(|u| u.visible()) else {
            pos += 1;
            continue;
        };
        if value.len() == top {
            more = true;
            break;
        }
        let mut o = Map::new();
        o.insert("@odata.type".into(), json!("#microsoft.graph.user"));
        o.extend(u.render(select.as_deref(), &domain));
        value.push(Value::Object(o));
        pos += 1;
    }
    drop(store);
    let b = base(&sim, &headers);
    let mut body = json!({"@odata.context": format!("{b}/v1.0/$metadata#directoryObjects")});
    if more {
        body["@odata.nextLink"] = json!(q.link(
            &b,
            &format!("/v1.0/groups/{id}/members"),
            ("$skiptoken", &odata::seal(&Cursor { p: pos }))
        ));
    }
    body["value"] = Value::Array(value);
    Ok(Json(body).into_response())
}

/// `POST /v1.0/groups/{id}/members/$ref`.
pub async fn add_member(
    State(sim): State<EntraSim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: String,
) -> Answer {
    caller.require(&[
        "GroupMember.ReadWrite.All",
        "Group.ReadWrite.All",
        "Directory.ReadWrite.All",
    ])?;
    let v: Value = serde_json::from_str(&body).map_err(|_| {
        GraphError::bad_request("BadRequest", "Empty Payload. JSON content expected.")
    })?;
    let reference = v.get("@odata.id").and_then(Value::as_str).ok_or_else(|| {
        GraphError::bad_request("Request_BadRequest", "Invalid object identifier ''.")
    })?;
    let member_id = reference
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .trim_start_matches("directoryObjects(")
        .trim_end_matches(')')
        .trim_matches('\'')
        .to_string();
    let now = sim.clock().now();
    let mut store = sim.store();
    let g = store
        .group_index
        .get(&id)
        .copied()
        .ok_or_else(|| GraphError::not_found(&id))?;
    let u = store
        .live_user(&member_id)
        .ok_or_else(|| GraphError::not_found(&member_id))?;
    let group = &mut store.groups[g];
    if !group.member_set.insert(u) {
        return Err(GraphError::bad_request(
            "Request_BadRequest",
            "One or more added object references already exist for the following modified properties: 'members'.",
        ));
    }
    group.members.push(u);
    // A membership change is a change of the group, not of the user's
    // own properties; the user delta query does not report it.
    let _ = now;
    Ok(StatusCode::NO_CONTENT.into_response())
}
