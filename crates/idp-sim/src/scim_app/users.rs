//! `/Users` (RFC 7644 §3.3–3.6): list with `startIndex` (1-based) and `count` capped at the
//! maximum page size, `filter` of the form `attribute eq "value"` on `userName`, `externalId`,
//! `id` or `emails.value` (anything else 400 `invalidFilter`); create (`userName` required and
//! unique, case-insensitively: 409 `uniqueness`); get; PUT (the whole resource; `id` and
//! `meta` are the server's); PATCH with `add`/`replace`/`remove` on a simple path (`active`,
//! `name.givenName`) or a value object without a path (501 when the app has no PATCH); DELETE.
//! With ETags on, `meta.version` moves with every change, is sent as `ETag`, and a stale
//! `If-Match` is 412.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::discovery::{list_of, scim_json};
use super::errors::ScimError;
use super::{fmt_ts, located, without_nulls, ScimAppSim, USER_SCHEMA};
use crate::common::http::{base_url, Params};

pub(crate) const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Sets `meta.lastModified` and `meta.version` after a change.
pub(crate) fn touch(user: &mut Value, now: &str, version: String) {
    if let Some(meta) = user.get_mut("meta").and_then(Value::as_object_mut) {
        meta.insert("lastModified".into(), Value::String(now.to_owned()));
        meta.insert("version".into(), Value::String(version));
    }
}

fn text<'a>(user: &'a Value, pointer: &str) -> Option<&'a str> {
    user.pointer(pointer).and_then(Value::as_str)
}

/// Whether a user matches `attribute eq "value"`.
fn matches(user: &Value, attribute: &str, value: &str) -> bool {
    match attribute.to_ascii_lowercase().as_str() {
        "username" => text(user, "/userName").is_some_and(|v| v.eq_ignore_ascii_case(value)),
        "externalid" => text(user, "/externalId") == Some(value),
        "id" => text(user, "/id") == Some(value),
        "emails.value" | "emails" => {
            user.get("emails")
                .and_then(Value::as_array)
                .is_some_and(|emails| {
                    emails.iter().any(|e| {
                        e.get("value")
                            .and_then(Value::as_str)
                            .is_some_and(|v| v.eq_ignore_ascii_case(value))
                    })
                })
        }
        _ => false,
    }
}

/// `attribute eq "value"`, the only filter form this app implements.
fn parse_filter(filter: &str) -> Result<(String, String), ScimError> {
    let invalid = || {
        ScimError::typed(
            StatusCode::BAD_REQUEST,
            "invalidFilter",
            "Only `attribute eq \"value\"` on userName, externalId, id or emails.value is supported",
        )
    };
    let filter = filter.trim();
    let (attribute, rest) = filter.split_once(char::is_whitespace).ok_or_else(invalid)?;
    let (op, value) = rest
        .trim_start()
        .split_once(char::is_whitespace)
        .ok_or_else(invalid)?;
    let known = ["username", "externalid", "id", "emails.value", "emails"];
    if !op.eq_ignore_ascii_case("eq") || !known.contains(&attribute.to_ascii_lowercase().as_str()) {
        return Err(invalid());
    }
    let value: String = serde_json::from_str(value.trim()).map_err(|_| invalid())?;
    Ok((attribute.to_owned(), value))
}

fn with_etag(mut resp: Response, sim: &ScimAppSim, user: &Value) -> Response {
    if sim.config().etag {
        if let Some(v) = text(user, "/meta/version").and_then(|v| HeaderValue::from_str(v).ok()) {
            resp.headers_mut().insert(header::ETAG, v);
        }
    }
    resp
}

fn render(sim: &ScimAppSim, headers: &HeaderMap, user: &Value, status: StatusCode) -> Response {
    let base = base_url(headers, None);
    let body = located(user.clone(), &base);
    let mut resp = with_etag(scim_json(status, &body), sim, user);
    if status == StatusCode::CREATED {
        if let Some(loc) = text(&body, "/meta/location").and_then(|l| HeaderValue::from_str(l).ok())
        {
            resp.headers_mut().insert(header::LOCATION, loc);
        }
    }
    resp
}

pub async fn list(
    State(sim): State<ScimAppSim>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ScimError> {
    let params = Params::parse(query.as_deref());
    let config = sim.config();
    let number = |name: &str| -> Result<Option<i64>, ScimError> {
        params
            .get(name)
            .map(|v| {
                v.trim().parse::<i64>().map_err(|_| {
                    ScimError::typed(
                        StatusCode::BAD_REQUEST,
                        "invalidValue",
                        format!("{name} is not an integer"),
                    )
                })
            })
            .transpose()
    };
    // RFC 7644 §3.4.2.4: startIndex below 1 is 1; a negative count is 0; past the maximum the
    // provider returns at most its maximum.
    let start = number("startIndex")?.unwrap_or(1).max(1) as usize;
    let count = number("count")?
        .map_or(config.default_page_size, |c| c.max(0) as usize)
        .min(config.max_page_size);
    let filter = match params.get("filter") {
        Some(f) if config.filter => Some(parse_filter(f)?),
        _ => None,
    };
    let store = sim.store();
    let selected: Vec<&Value> = store
        .order
        .iter()
        .filter_map(|id| store.users.get(id))
        .filter(|u| {
            filter
                .as_ref()
                .is_none_or(|(attribute, value)| matches(u, attribute, value))
        })
        .collect();
    let total = selected.len();
    let base = base_url(&headers, None);
    let items: Vec<Value> = selected
        .into_iter()
        .skip(start - 1)
        .take(count)
        .map(|u| located(u.clone(), &base))
        .collect();
    Ok(scim_json(StatusCode::OK, &list_of(items, total, start)))
}

pub async fn get_one(
    State(sim): State<ScimAppSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    let user = sim.user(&id).ok_or_else(|| ScimError::not_found(&id))?;
    Ok(render(&sim, &headers, &user, StatusCode::OK))
}

pub(crate) fn body_object(body: &[u8]) -> Result<Map<String, Value>, ScimError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ScimError::typed(
            StatusCode::BAD_REQUEST,
            "invalidSyntax",
            "The request body is not a JSON object",
        )),
    }
}

fn user_name_of(map: &Map<String, Value>) -> Result<String, ScimError> {
    map.get("userName")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            ScimError::typed(
                StatusCode::BAD_REQUEST,
                "invalidValue",
                "userName is required",
            )
        })
}

fn conflict(name: &str) -> ScimError {
    ScimError::typed(
        StatusCode::CONFLICT,
        "uniqueness",
        format!("userName {name} is already taken"),
    )
}

/// 412 when `If-Match` names another version than the user's.
pub(crate) fn check_if_match(
    sim: &ScimAppSim,
    headers: &HeaderMap,
    user: &Value,
) -> Result<(), ScimError> {
    if !sim.config().etag {
        return Ok(());
    }
    let Some(wanted) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let current = text(user, "/meta/version").unwrap_or_default();
    if wanted.trim() == "*" || wanted.split(',').any(|w| w.trim() == current) {
        Ok(())
    } else {
        Err(ScimError::new(
            StatusCode::PRECONDITION_FAILED,
            "The resource changed since that version",
        ))
    }
}

/// Copies the client's attributes onto a resource, keeping what is the server's.
fn client_attributes(mut map: Map<String, Value>) -> Map<String, Value> {
    for readonly in ["id", "meta"] {
        map.remove(readonly);
    }
    map.insert(
        "schemas".into(),
        Value::Array(vec![Value::from(USER_SCHEMA)]),
    );
    without_nulls(&mut map);
    map
}

pub async fn create(
    State(sim): State<ScimAppSim>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ScimError> {
    let map = body_object(&body)?;
    let name = user_name_of(&map)?;
    let now = fmt_ts(sim.clock().now());
    let mut store = sim.store();
    if store.by_user_name(&name).is_some() {
        return Err(conflict(&name));
    }
    let id = store.rng.uuid().replace('-', "");
    let mut user = client_attributes(map);
    user.entry("active").or_insert(Value::Bool(true));
    user.insert("id".into(), Value::String(id.clone()));
    let version = store.next_version();
    user.insert(
        "meta".into(),
        serde_json::json!({"resourceType": "User", "created": now, "lastModified": now,
            "version": version}),
    );
    let user = Value::Object(user);
    store.order.push(id.clone());
    store.users.insert(id, user.clone());
    drop(store);
    Ok(render(&sim, &headers, &user, StatusCode::CREATED))
}

pub async fn replace(
    State(sim): State<ScimAppSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ScimError> {
    let map = body_object(&body)?;
    let name = user_name_of(&map)?;
    if map
        .get("id")
        .and_then(Value::as_str)
        .is_some_and(|i| i != id)
    {
        return Err(ScimError::typed(
            StatusCode::BAD_REQUEST,
            "mutability",
            "id cannot change",
        ));
    }
    let now = fmt_ts(sim.clock().now());
    let mut store = sim.store();
    let current = store
        .users
        .get(&id)
        .cloned()
        .ok_or_else(|| ScimError::not_found(&id))?;
    check_if_match(&sim, &headers, &current)?;
    if store.by_user_name(&name).is_some_and(|other| other != id) {
        return Err(conflict(&name));
    }
    let mut user = client_attributes(map);
    user.insert("id".into(), Value::String(id.clone()));
    if let Some(meta) = current.get("meta") {
        user.insert("meta".into(), meta.clone());
    }
    let mut user = Value::Object(user);
    let version = store.next_version();
    touch(&mut user, &now, version);
    store.users.insert(id, user.clone());
    drop(store);
    Ok(render(&sim, &headers, &user, StatusCode::OK))
}

pub(crate) fn invalid_patch(detail: impl Into<String>) -> ScimError {
    ScimError::typed(StatusCode::BAD_REQUEST, "invalidSyntax", detail)
}

/// `active` may come as a boolean or, as some clients send it, the strings "true"/"false".
fn normalised(path: &str, value: Value) -> Result<Value, ScimError> {
    if !path.eq_ignore_ascii_case("active") {
        return Ok(value);
    }
    match value {
        Value::Bool(b) => Ok(Value::Bool(b)),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
        _ => Err(ScimError::typed(
            StatusCode::BAD_REQUEST,
            "invalidValue",
            "active must be a boolean",
        )),
    }
}

/// The attribute's key as the resource spells it (paths are case-insensitive).
fn key_in(map: &Map<String, Value>, name: &str) -> String {
    map.keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_owned())
}

fn apply_operation(user: &mut Map<String, Value>, op: &Value) -> Result<(), ScimError> {
    let kind = op
        .get("op")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| invalid_patch("An operation has no op"))?;
    let path = op.get("path").and_then(Value::as_str).map(str::trim);
    let value = op.get("value").cloned();
    if path.is_some_and(|p| p.contains('[')) {
        return Err(ScimError::typed(
            StatusCode::BAD_REQUEST,
            "invalidPath",
            "Value filters in paths are not supported",
        ));
    }
    let readonly =
        |p: &str| p.eq_ignore_ascii_case("id") || p.to_ascii_lowercase().starts_with("meta");
    match (kind.as_str(), path) {
        ("add" | "replace", None) => {
            let Some(Value::Object(fields)) = value else {
                return Err(invalid_patch(
                    "An operation without a path needs an object value",
                ));
            };
            for (k, v) in fields {
                if readonly(&k) {
                    return Err(ScimError::typed(
                        StatusCode::BAD_REQUEST,
                        "mutability",
                        format!("{k} is read-only"),
                    ));
                }
                let v = normalised(&k, v)?;
                let key = key_in(user, &k);
                user.insert(key, v);
            }
            Ok(())
        }
        ("add" | "replace", Some(path)) => {
            if readonly(path) {
                return Err(ScimError::typed(
                    StatusCode::BAD_REQUEST,
                    "mutability",
                    format!("{path} is read-only"),
                ));
            }
            let value = normalised(path, value.ok_or_else(|| invalid_patch("No value"))?)?;
            match path.split_once('.') {
                Some((parent, child)) => {
                    let key = key_in(user, parent);
                    let entry = user.entry(key).or_insert_with(|| Value::Object(Map::new()));
                    let Some(inner) = entry.as_object_mut() else {
                        return Err(ScimError::typed(
                            StatusCode::BAD_REQUEST,
                            "invalidPath",
                            "Not a complex attribute",
                        ));
                    };
                    let child_key = key_in(inner, child);
                    inner.insert(child_key, value);
                }
                None => {
                    let key = key_in(user, path);
                    user.insert(key, value);
                }
            }
            Ok(())
        }
        ("remove", None) => Err(ScimError::typed(
            StatusCode::BAD_REQUEST,
            "noTarget",
            "remove needs a path",
        )),
        ("remove", Some(path)) => {
            if readonly(path) || path.eq_ignore_ascii_case("userName") {
                return Err(ScimError::typed(
                    StatusCode::BAD_REQUEST,
                    "mutability",
                    format!("{path} cannot be removed"),
                ));
            }
            match path.split_once('.') {
                Some((parent, child)) => {
                    let key = key_in(user, parent);
                    if let Some(inner) = user.get_mut(&key).and_then(Value::as_object_mut) {
                        let child_key = key_in(inner, child);
                        inner.remove(&child_key);
                    }
                }
                None => {
                    let key = key_in(user, path);
                    user.remove(&key);
                }
            }
            Ok(())
        }
        (other, _) => Err(invalid_patch(format!("Unknown op {other}"))),
    }
}

pub async fn patch(
    State(sim): State<ScimAppSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ScimError> {
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
        .users
        .get(&id)
        .cloned()
        .ok_or_else(|| ScimError::not_found(&id))?;
    check_if_match(&sim, &headers, &current)?;
    let Value::Object(mut user) = current.clone() else {
        return Err(ScimError::not_found(&id));
    };
    for op in operations {
        apply_operation(&mut user, op)?;
    }
    let name = user_name_of(&user)?;
    if store.by_user_name(&name).is_some_and(|other| other != id) {
        return Err(conflict(&name));
    }
    let mut user = Value::Object(user);
    if user != current {
        let version = store.next_version();
        touch(&mut user, &now, version);
        store.users.insert(id, user.clone());
    }
    drop(store);
    Ok(render(&sim, &headers, &user, StatusCode::OK))
}

pub async fn delete(
    State(sim): State<ScimAppSim>,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    if sim.remove_user(&id) {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ScimError::not_found(&id))
    }
}
