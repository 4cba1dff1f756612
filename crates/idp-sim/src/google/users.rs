//! Directory API users: `users.list` (`customer`/`domain`, `maxResults`
//! 1–500 default 100, `pageToken`, `projection`, `orderBy`/`sortOrder`,
//! `query` with `isSuspended=`, `isAdmin=`, `orgUnitPath=`, `email:`),
//! `users.get`, `users.update`/`users.patch` (patch semantics for both) and
//! `users.signOut`.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use super::errors::GoogleError;
use super::model::{Store, User};
use super::token::{require, Caller};
use super::{GoogleSim, SCOPE_USER, SCOPE_USER_READONLY, SCOPE_USER_SECURITY};
use crate::common::http::{decode, Params};

/// Parses `maxResults` in `1..=max`, Google's range message otherwise.
pub fn max_results(p: &Params, default: usize, max: usize) -> Result<usize, GoogleError> {
    match p.get("maxResults") {
        None => Ok(default),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(GoogleError::invalid(format!(
                "Invalid value '{s}'. Values must be within the range: [1, {max}]"
            ))),
        },
    }
}

pub fn encode_token(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s.as_bytes())
}

pub fn decode_token(s: &str) -> Option<String> {
    URL_SAFE_NO_PAD
        .decode(s.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

/// Checks `customer` (id or `my_customer`) or `domain`.
pub fn check_customer(sim: &GoogleSim, p: &Params) -> Result<(), GoogleError> {
    match (p.get("customer"), p.get("domain")) {
        (Some(c), _) if c == "my_customer" || c == sim.config().customer_id => Ok(()),
        (Some(_), _) => Err(GoogleError::bad_request()),
        (None, Some(d)) if d.eq_ignore_ascii_case(&sim.config().domain) => Ok(()),
        (None, Some(_)) => Err(GoogleError::not_authorized()),
        (None, None) => Err(GoogleError::bad_request()),
    }
}

fn query_matches(u: &User, query: &str) -> bool {
    query.split_whitespace().all(|clause| {
        if let Some((k, v)) = clause.split_once('=') {
            let v = v.trim_matches(|c| c == '\'' || c == '"');
            match k {
                "isSuspended" => u.suspended.to_string() == v,
                "isAdmin" => u.is_admin.to_string() == v,
                "orgUnitPath" => u.org_unit_path.eq_ignore_ascii_case(v),
                "isEnrolledIn2Sv" => u.enrolled_2sv.to_string() == v,
                _ => true,
            }
        } else if let Some((k, v)) = clause.split_once(':') {
            let v = v
                .trim_matches(|c| c == '\'' || c == '"')
                .to_ascii_lowercase();
            let hay = match k {
                "email" => u.primary_email.to_ascii_lowercase(),
                "givenName" => u.given_name.to_ascii_lowercase(),
                "familyName" => u.family_name.to_ascii_lowercase(),
                _ => return true,
            };
            match v.strip_suffix('*') {
                Some(prefix) => hay.starts_with(prefix),
                None => hay == v,
            }
        } else {
            true
        }
    })
}

/// Where a user sorts: by creation by default, which needs no text built for every user on
/// every page (a 100,000-user list would otherwise format 100,000 keys per page), or by the
/// chosen field's lower-case text.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SortKey {
    Created(u64),
    Text(String),
}

impl SortKey {
    fn of(u: &User, order: Option<&str>) -> SortKey {
        match order {
            Some("email") => SortKey::Text(u.primary_email.to_ascii_lowercase()),
            Some("givenName") => {
                SortKey::Text(format!("{}\u{0}{:020}", u.given_name.to_lowercase(), u.seq))
            }
            Some("familyName") => SortKey::Text(format!(
                "{}\u{0}{:020}",
                u.family_name.to_lowercase(),
                u.seq
            )),
            _ => SortKey::Created(u.seq),
        }
    }

    /// The key a page token carries, read back in the list's order.
    fn from_token(text: String, order: Option<&str>) -> Option<SortKey> {
        match order {
            None => text.parse().ok().map(SortKey::Created),
            Some(_) => Some(SortKey::Text(text)),
        }
    }

    fn token_text(&self) -> String {
        match self {
            SortKey::Created(seq) => format!("{seq:020}"),
            SortKey::Text(text) => text.clone(),
        }
    }
}

/// `GET /admin/directory/v1/users`.
pub async fn list(
    State(sim): State<GoogleSim>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, GoogleError> {
    require(&caller, &[SCOPE_USER_READONLY, SCOPE_USER])?;
    let p = Params::parse(raw.as_deref());
    check_customer(&sim, &p)?;
    let cfg = sim.config();
    let limit = max_results(&p, cfg.users_default_page, cfg.users_max_page)?;
    let order = match p.get("orderBy") {
        None => None,
        Some(o @ ("email" | "givenName" | "familyName")) => Some(o),
        Some(o) => return Err(GoogleError::invalid(format!("Invalid Input: orderBy {o}"))),
    };
    let descending = match p.get("sortOrder") {
        None | Some("ASCENDING") => false,
        Some("DESCENDING") => true,
        Some(_) => return Err(GoogleError::invalid("Invalid Input: sortOrder")),
    };
    let full = match p.get("projection") {
        None | Some("basic") | Some("BASIC") => false,
        Some("full") | Some("FULL") | Some("custom") | Some("CUSTOM") => true,
        Some(_) => return Err(GoogleError::invalid("Invalid Input: projection")),
    };
    let after = match p.get("pageToken").filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(
            decode_token(t)
                .and_then(|text| SortKey::from_token(text, order))
                .ok_or_else(|| GoogleError::invalid("Invalid Input: pageToken"))?,
        ),
    };
    let query = p.get("query").unwrap_or_default();
    let store = sim.store();
    let mut keyed: Vec<(SortKey, &User)> = store
        .users
        .iter()
        .filter(|u| query.is_empty() || query_matches(u, query))
        .map(|u| (SortKey::of(u, order), u))
        .collect();
    if order.is_some() {
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
    }
    if descending {
        keyed.reverse();
    }
    let start = match &after {
        None => 0,
        Some(k) => keyed
            .iter()
            .position(|(key, _)| if descending { key < k } else { key > k })
            .unwrap_or(keyed.len()),
    };
    let page: Vec<&(SortKey, &User)> = keyed.iter().skip(start).take(limit).collect();
    let more = start + page.len() < keyed.len();
    let users: Vec<Value> = page
        .iter()
        .map(|(_, u)| u.render(&cfg.customer_id, full))
        .collect();
    let mut body = json!({
        "kind": "admin#directory#users",
        "etag": format!("\"simusers/{}\"", store.users.len()),
    });
    if !users.is_empty() {
        body["users"] = Value::Array(users);
    }
    if more {
        if let Some((k, _)) = page.last() {
            body["nextPageToken"] = json!(encode_token(&k.token_text()));
        }
    }
    Ok(Json(body).into_response())
}

/// `GET /admin/directory/v1/users/{userKey}`.
pub async fn get_one(
    State(sim): State<GoogleSim>,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, GoogleError> {
    require(&caller, &[SCOPE_USER_READONLY, SCOPE_USER])?;
    let p = Params::parse(raw.as_deref());
    let full = matches!(p.get("projection"), Some("full" | "FULL" | "custom"));
    let store = sim.store();
    let u = store
        .user(&decode(&key))
        .ok_or_else(|| GoogleError::not_found("userKey"))?;
    Ok(Json(u.render(&sim.config().customer_id, full)).into_response())
}

/// Applies a patch to `store.users[i]`; returns `(old, new)` lower-case
/// emails when the primary email changed (the caller re-indexes).
pub fn apply_patch(store: &mut Store, i: usize, patch: &Value) -> Option<(String, String)> {
    let u = store.users.get_mut(i)?;
    let mut reindex = None;
    let obj = patch.as_object()?;
    for (k, v) in obj {
        match k.as_str() {
            "suspended" => {
                if let Some(b) = v.as_bool() {
                    u.suspended = b;
                    u.suspension_reason = b.then(|| "ADMIN".to_string());
                }
            }
            "archived" => u.archived = v.as_bool().unwrap_or(u.archived),
            "changePasswordAtNextLogin" => {
                u.change_password_at_next_login =
                    v.as_bool().unwrap_or(u.change_password_at_next_login)
            }
            "orgUnitPath" => {
                if let Some(s) = v.as_str() {
                    u.org_unit_path = s.to_string();
                }
            }
            "isAdmin" => u.is_admin = v.as_bool().unwrap_or(u.is_admin),
            "isEnrolledIn2Sv" => u.enrolled_2sv = v.as_bool().unwrap_or(u.enrolled_2sv),
            "lastLoginTime" => {
                u.last_login_time = v.as_str().and_then(super::model::parse_ts);
            }
            "name" => {
                if let Some(g) = v["givenName"].as_str() {
                    u.given_name = g.to_string();
                }
                if let Some(f) = v["familyName"].as_str() {
                    u.family_name = f.to_string();
                }
            }
            "primaryEmail" => {
                if let Some(e) = v.as_str() {
                    reindex = Some((u.primary_email.to_ascii_lowercase(), e.to_ascii_lowercase()));
                    u.primary_email = e.to_string();
                }
            }
            "relations" => {
                u.manager = v.as_array().and_then(|a| {
                    a.iter()
                        .find(|r| r["type"] == "manager")
                        .and_then(|r| r["value"].as_str().map(String::from))
                });
            }
            // Write-only or not echoed.
            "password" | "hashFunction" | "kind" | "id" | "etag" => {}
            _ => {
                if v.is_null() {
                    u.extra.remove(k);
                } else {
                    u.extra.insert(k.clone(), v.clone());
                }
            }
        }
    }
    u.version += 1;
    reindex
}

/// `PUT` and `PATCH /admin/directory/v1/users/{userKey}` (both keep absent fields).
pub async fn update(
    State(sim): State<GoogleSim>,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, GoogleError> {
    require(&caller, &[SCOPE_USER])?;
    let patch: Value = serde_json::from_slice(&body)
        .map_err(|_| GoogleError::new(StatusCode::BAD_REQUEST, "parseError", "Parse Error"))?;
    if !patch.is_object() {
        return Err(GoogleError::invalid("Invalid JSON payload received."));
    }
    let mut store = sim.store();
    let i = store
        .user_index(&decode(&key))
        .ok_or_else(|| GoogleError::not_found("userKey"))?;
    if let Some(e) = patch["primaryEmail"].as_str() {
        if store.user_index(e).is_some_and(|j| j != i) {
            return Err(GoogleError::duplicate("Entity already exists."));
        }
    }
    if let Some((old, new)) = apply_patch(&mut store, i, &patch) {
        store.by_email.remove(&old);
        store.by_email.insert(new, i);
    }
    let u = store
        .users
        .get(i)
        .ok_or_else(|| GoogleError::not_found("userKey"))?;
    Ok(Json(u.render(&sim.config().customer_id, true)).into_response())
}

/// `POST /admin/directory/v1/users/{userKey}/signOut`: 204, no body.
pub async fn sign_out(
    State(sim): State<GoogleSim>,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
) -> Result<Response, GoogleError> {
    require(&caller, &[SCOPE_USER_SECURITY])?;
    let mut store = sim.store();
    let id = store
        .user(&decode(&key))
        .map(|u| u.id.clone())
        .ok_or_else(|| GoogleError::not_found("userKey"))?;
    *store.signed_out.entry(id).or_insert(0) += 1;
    Ok(StatusCode::NO_CONTENT.into_response())
}
