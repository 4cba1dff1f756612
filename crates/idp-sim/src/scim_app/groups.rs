//! `/Groups` (RFC 7643 §4.2, RFC 7644 §3.3–3.6), served when [`super::ScimAppConfig::groups`]
//! is on (404 otherwise): list with `startIndex`/`count` and the filter `attribute eq "value"`
//! on `displayName`, `externalId` or `id`; create (`displayName` required and unique, as many
//! apps make it: 409 `uniqueness`); get; PUT; PATCH (`add` of `members` values, `remove` of
//! `members[value eq "…"]` or of every member, `replace` of `members` or `displayName`, an
//! object without a path; 501 when the app has no PATCH); DELETE. `members` are
//! `[{"value": "<user id>", "display": "<userName>"}]`; a member that is no user of the app is
//! 400 `invalidValue`. With ETags, `meta.version` moves with each change and a stale
//! `If-Match` is 412.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::discovery::{list_of, scim_json};
use super::errors::ScimError;
use super::users::{body_object, check_if_match, invalid_patch, touch, PATCH_SCHEMA};
use super::{fmt_ts, located_in, ScimAppSim, Store, GROUP_SCHEMA};
use crate::common::http::{base_url, Params};

/// A `members` entry for user `id` (with its `userName` as `display` when known).
pub(crate) fn member(store: &Store, id: &str) -> Value {
    let display = store
        .users
        .get(id)
        .and_then(|u| u.get("userName"))
        .cloned()
        .unwrap_or(Value::Null);
    let mut entry = json!({"value": id, "type": "User"});
    if !display.is_null() {
        entry["display"] = display;
    }
    entry
}

fn served(sim: &ScimAppSim) -> Result<(), ScimError> {
    if sim.config().groups {
        Ok(())
    } else {
        Err(ScimError::new(StatusCode::NOT_FOUND, "No such endpoint"))
    }
}

fn text<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn parse_filter(filter: &str) -> Result<(String, String), ScimError> {
    let invalid = || {
        ScimError::typed(
            StatusCode::BAD_REQUEST,
            "invalidFilter",
            "Only `attribute eq \"value\"` on displayName, externalId or id is supported",
        )
    };
    let (attribute, rest) = filter
        .trim()
        .split_once(char::is_whitespace)
        .ok_or_else(invalid)?;
    let (op, value) = rest
        .trim_start()
        .split_once(char::is_whitespace)
        .ok_or_else(invalid)?;
    let attribute = attribute.to_ascii_lowercase();
    if !op.eq_ignore_ascii_case("eq") || !["displayname", "externalid", "id"].contains(&&*attribute)
    {
        return Err(invalid());
    }
    let value: String = serde_json::from_str(value.trim()).map_err(|_| invalid())?;
    Ok((attribute, value))
}

fn matches(group: &Value, attribute: &str, value: &str) -> bool {
    match attribute {
        "displayname" => text(group, "/displayName") == Some(value),
        "externalid" => text(group, "/externalId") == Some(value),
        _ => text(group, "/id") == Some(value),
    }
}

fn render(sim: &ScimAppSim, headers: &HeaderMap, group: &Value, status: StatusCode) -> Response {
    let body = located_in(group.clone(), &base_url(headers, None), "Groups");
    let mut resp = scim_json(status, &body);
    if sim.config().etag {
        if let Some(v) = text(group, "/meta/version").and_then(|v| HeaderValue::from_str(v).ok()) {
            resp.headers_mut().insert(header::ETAG, v);
        }
    }
    resp
}

pub async fn list(
    State(sim): State<ScimAppSim>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ScimError> {
    served(&sim)?;
    let params = Params::parse(query.as_deref());
    let config = sim.config();
    let number = |name: &str, default: usize| -> Result<usize, ScimError> {
        match params.get(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<i64>()
                .map(|n| n.max(0) as usize)
                .map_err(|_| {
                    ScimError::typed(
                        StatusCode::BAD_REQUEST,
                        "invalidValue",
                        format!("{name} is not an integer"),
                    )
                }),
        }
    };
    let start = number("startIndex", 1)?.max(1);
    let count = number("count", config.default_page_size)?.min(config.max_page_size);
    let filter = match params.get("filter") {
        Some(f) if config.filter => Some(parse_filter(f)?),
        _ => None,
    };
    let store = sim.store();
    let selected: Vec<&Value> = store
        .group_order
        .iter()
        .filter_map(|id| store.groups.get(id))
        .filter(|g| filter.as_ref().is_none_or(|(a, v)| matches(g, a, v)))
        .collect();
    let total = selected.len();
    let base = base_url(&headers, None);
    let items: Vec<Value> = selected
        .into_iter()
        .skip(start - 1)
        .take(count)
        .map(|g| located_in(g.clone(), &base, "Groups"))
        .collect();
    Ok(scim_json(StatusCode::OK, &list_of(items, total, start)))
}

pub async fn get_one(
    State(sim): State<ScimAppSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    served(&sim)?;
    let group = sim.group(&id).ok_or_else(|| ScimError::not_found(&id))?;
    Ok(render(&sim, &headers, &group, StatusCode::OK))
}

fn display_name_of(map: &Map<String, Value>) -> Result<String, ScimError> {
    map.get("displayName")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            ScimError::typed(
                StatusCode::BAD_REQUEST,
                "invalidValue",
                "displayName is required",
            )
        })
}

fn by_name(store: &Store, name: &str) -> Option<String> {
    store
        .group_order
        .iter()
        .find(|id| {
            store
                .groups
                .get(*id)
                .is_some_and(|g| text(g, "/displayName") == Some(name))
        })
        .cloned()
}

fn conflict(name: &str) -> ScimError {
    ScimError::typed(
        StatusCode::CONFLICT,
        "uniqueness",
        format!("A group named {name} already exists"),
    )
}

/// `members` values as entries, each a known user, without duplicates.
fn members_of(store: &Store, value: Option<&Value>) -> Result<Vec<Value>, ScimError> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        Some(_) => return Err(invalid_patch("members must be a list of {value}")),
    };
    let mut out: Vec<Value> = Vec::new();
    for item in items {
        let id = item
            .get("value")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid_patch("A member has no value"))?;
        if !store.users.contains_key(id) {
            return Err(ScimError::typed(
                StatusCode::BAD_REQUEST,
                "invalidValue",
                format!("No user {id}"),
            ));
        }
        if !out.iter().any(|m| text(m, "/value") == Some(id)) {
            out.push(member(store, id));
        }
    }
    Ok(out)
}

/// The group made of the client's attributes (`id` and `meta` are the server's).
fn from_client(
    store: &Store,
    map: &Map<String, Value>,
    name: &str,
) -> Result<Map<String, Value>, ScimError> {
    let mut group = Map::new();
    group.insert("schemas".into(), json!([GROUP_SCHEMA]));
    group.insert("displayName".into(), Value::from(name));
    if let Some(external) = map.get("externalId").and_then(Value::as_str) {
        group.insert("externalId".into(), Value::from(external));
    }
    group.insert(
        "members".into(),
        Value::Array(members_of(store, map.get("members"))?),
    );
    Ok(group)
}

pub async fn create(
    State(sim): State<ScimAppSim>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ScimError> {
    served(&sim)?;
    let map = body_object(&body)?;
    let name = display_name_of(&map)?;
    let now = fmt_ts(sim.clock().now());
    let mut store = sim.store();
    if by_name(&store, &name).is_some() {
        return Err(conflict(&name));
    }
    let mut group = from_client(&store, &map, &name)?;
    let id = store.rng.uuid().replace('-', "");
    group.insert("id".into(), Value::String(id.clone()));
    let version = store.next_version();
    group.insert(
        "meta".into(),
        json!({"resourceType": "Group", "created": now, "lastModified": now,
            "version": version}),
    );
    let group = Value::Object(group);
    store.group_order.push(id.clone());
    store.groups.insert(id, group.clone());
    drop(store);
    Ok(render(&sim, &headers, &group, StatusCode::CREATED))
}

pub async fn replace(
    State(sim): State<ScimAppSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ScimError> {
    served(&sim)?;
    let map = body_object(&body)?;
    let name = display_name_of(&map)?;
    let now = fmt_ts(sim.clock().now());
    let mut store = sim.store();
    let current = store
        .groups
        .get(&id)
        .cloned()
        .ok_or_else(|| ScimError::not_found(&id))?;
    check_if_match(&sim, &headers, &current)?;
    if by_name(&store, &name).is_some_and(|other| other != id) {
        return Err(conflict(&name));
    }
    let mut group = from_client(&store, &map, &name)?;
    group.insert("id".into(), Value::String(id.clone()));
    if let Some(meta) = current.get("meta") {
        group.insert("meta".into(), meta.clone());
    }
    let mut group = Value::Object(group);
    let version = store.next_version();
    touch(&mut group, &now, version);
    store.groups.insert(id, group.clone());
    drop(store);
    Ok(render(&sim, &headers, &group, StatusCode::OK))
}

/// `members[value eq "…"]`: the value, when `path` is that filter.
fn member_filter(path: &str) -> Result<Option<String>, ScimError> {
    if !path.to_ascii_lowercase().starts_with("members[") {
        return Ok(None);
    }
    let bad = || {
        ScimError::typed(
            StatusCode::BAD_REQUEST,
            "invalidFilter",
            "Only `members[value eq \"…\"]` selects members",
        )
    };
    let inner = path["members[".len()..].strip_suffix(']').ok_or_else(bad)?;
    let mut parts = inner.trim().splitn(3, char::is_whitespace);
    let attribute = parts.next().unwrap_or_default();
    let op = parts.next().unwrap_or_default();
    let value = parts.next().unwrap_or_default().trim();
    if !attribute.eq_ignore_ascii_case("value") || !op.eq_ignore_ascii_case("eq") {
        return Err(bad());
    }
    serde_json::from_str(value).map(Some).map_err(|_| bad())
}

fn member_list(group: &mut Map<String, Value>) -> &mut Vec<Value> {
    let entry = group
        .entry("members")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !entry.is_array() {
        *entry = Value::Array(Vec::new());
    }
    match entry {
        Value::Array(items) => items,
        _ => unreachable!("just made an array"),
    }
}

fn apply_operation(
    store: &Store,
    group: &mut Map<String, Value>,
    op: &Value,
) -> Result<(), ScimError> {
    let kind = op
        .get("op")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| invalid_patch("An operation has no op"))?;
    let path = op.get("path").and_then(Value::as_str).map(str::trim);
    let value = op.get("value");
    match (kind.as_str(), path) {
        ("add" | "replace", None) => {
            let Some(Value::Object(fields)) = value else {
                return Err(invalid_patch(
                    "An operation without a path needs an object value",
                ));
            };
            for (k, v) in fields {
                let single = json!({"op": kind, "path": k, "value": v});
                apply_operation(store, group, &single)?;
            }
            Ok(())
        }
        (kind @ ("add" | "replace"), Some(path)) if path.eq_ignore_ascii_case("members") => {
            let new = members_of(store, value)?;
            let list = member_list(group);
            if kind == "replace" {
                list.clear();
            }
            for m in new {
                if !list.iter().any(|e| e.get("value") == m.get("value")) {
                    list.push(m);
                }
            }
            Ok(())
        }
        ("add" | "replace", Some(path)) if path.eq_ignore_ascii_case("displayName") => {
            let name = value
                .and_then(Value::as_str)
                .filter(|n| !n.trim().is_empty())
                .ok_or_else(|| invalid_patch("displayName must be a string"))?;
            group.insert("displayName".into(), Value::from(name));
            Ok(())
        }
        ("add" | "replace", Some(path)) if path.eq_ignore_ascii_case("externalId") => {
            group.insert("externalId".into(), value.cloned().unwrap_or(Value::Null));
            Ok(())
        }
        ("remove", Some(path)) if path.eq_ignore_ascii_case("members") => {
            member_list(group).clear();
            Ok(())
        }
        ("remove", Some(path)) => match member_filter(path)? {
            Some(id) => {
                member_list(group).retain(|m| text(m, "/value") != Some(id.as_str()));
                Ok(())
            }
            None => Err(ScimError::typed(
                StatusCode::BAD_REQUEST,
                "invalidPath",
                format!("{path} cannot be removed"),
            )),
        },
        (_, Some(path)) => Err(ScimError::typed(
            StatusCode::BAD_REQUEST,
            "invalidPath",
            format!("Unknown path {path}"),
        )),
        (other, None) => Err(invalid_patch(format!("Unknown op {other} without a path"))),
    }
}

pub async fn patch(
    State(sim): State<ScimAppSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ScimError> {
    served(&sim)?;
    if !sim.config().patch {
        return Err(ScimError::new(
            StatusCode::NOT_IMPLEMENTED,
            "PATCH is not supported; replace the resource with PUT",
        ));
    }
    let map = body_object(&body)?;
    let is_patch_op = map
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(PATCH_SCHEMA)));
    if !is_patch_op {
        return Err(invalid_patch("The body is not a PatchOp message"));
    }
    let operations = map
        .get("Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid_patch("No Operations"))?;
    let now = fmt_ts(sim.clock().now());
    let mut store = sim.store();
    let current = store
        .groups
        .get(&id)
        .cloned()
        .ok_or_else(|| ScimError::not_found(&id))?;
    check_if_match(&sim, &headers, &current)?;
    let Value::Object(mut group) = current.clone() else {
        return Err(ScimError::not_found(&id));
    };
    for op in operations {
        apply_operation(&store, &mut group, op)?;
    }
    let name = display_name_of(&group)?;
    if by_name(&store, &name).is_some_and(|other| other != id) {
        return Err(conflict(&name));
    }
    let mut group = Value::Object(group);
    if group != current {
        let version = store.next_version();
        touch(&mut group, &now, version);
        store.groups.insert(id, group.clone());
    }
    drop(store);
    Ok(render(&sim, &headers, &group, StatusCode::OK))
}

pub async fn delete(
    State(sim): State<ScimAppSim>,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    served(&sim)?;
    let mut store = sim.store();
    store.group_order.retain(|i| *i != id);
    if store.groups.remove(&id).is_some() {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ScimError::not_found(&id))
    }
}
