//! The router and the read endpoints for users, groups and factors, with
//! Okta's paging (`limit`, opaque `after`, `Link` headers) and its
//! `filter`/`search`/`q` semantics (DEPROVISIONED users hidden unless a
//! filter or search is given).

use std::ops::Bound;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, Uri};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde_json::Value;

use super::dialect::{self, Dialect};
use super::edge::edge;
use super::errors::OktaError;
use super::filter::Expr;
use super::http::{add_link, base_url, limit, url_with, Params};
use super::ratelimit::EndpointFamily;
use super::render::{self, Omit};
use super::state::{Store, UserStatus};
use super::{lifecycle, logs, oauth, roles, OktaSim};

/// Builds the Management API router.
pub fn router(sim: OktaSim) -> Router {
    Router::new()
        .route("/api/v1/users", get(list_users))
        .route("/api/v1/users/{id}", get(get_user))
        .route("/api/v1/users/{id}/groups", get(user_groups))
        .route("/api/v1/users/{id}/factors", get(user_factors))
        .route("/api/v1/users/{id}/roles", get(roles::user_roles))
        .route(
            "/api/v1/users/{id}/factors/{factor_id}",
            delete(lifecycle::delete_factor),
        )
        .route(
            "/api/v1/users/{id}/lifecycle/{op}",
            post(lifecycle::lifecycle),
        )
        .route(
            "/api/v1/users/{id}/sessions",
            delete(lifecycle::clear_sessions),
        )
        .route("/api/v1/groups", get(list_groups))
        .route("/api/v1/groups/{id}", get(get_group))
        .route("/api/v1/groups/{id}/users", get(group_users))
        .route(
            "/api/v1/groups/{id}/users/{user_id}",
            put(lifecycle::add_member).delete(lifecycle::remove_member),
        )
        .route("/api/v1/iam/assignees/users", get(roles::list_assignees))
        .route("/api/v1/logs", get(logs::list_logs))
        .route(oauth::TOKEN_PATH, post(oauth::issue))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(from_fn_with_state(sim.clone(), edge))
        .with_state(sim)
}

async fn no_route(uri: Uri) -> OktaError {
    OktaError::no_route(uri.path())
}

async fn wrong_method() -> OktaError {
    OktaError::method_not_allowed()
}

/// How many items a page of a list in `family` holds for a client's `limit`.
pub fn page_size(sim: &OktaSim, family: EndpointFamily, lim: usize) -> usize {
    sim.config()
        .page_caps
        .get(&family)
        .map_or(lim, |cap| lim.min((*cap).max(1)))
}

/// The base URL for links in this response.
pub fn base(sim: &OktaSim, headers: &HeaderMap) -> String {
    base_url(headers, sim.config().public_base_url.as_deref())
}

fn omit(headers: &HeaderMap) -> Omit {
    Omit::from_content_type(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// Reads `filter` / `search` for users or groups; errors are Okta's.
fn expression(
    p: &Params,
    filter: Dialect,
    search: Dialect,
) -> Result<Option<(Expr, bool)>, OktaError> {
    match (p.get("search"), p.get("filter")) {
        (Some(_), Some(_)) => Err(OktaError::search_and_filter()),
        (Some(s), None) => Ok(Some((
            dialect::parse(search, s)?,
            search.case_insensitive(),
        ))),
        (None, Some(f)) => Ok(Some((dialect::parse(filter, f)?, false))),
        (None, None) => Ok(None),
    }
}

/// A JSON array answer with `self` and optional `next` links.
fn page(items: Vec<Value>, self_url: String, next_url: Option<String>) -> Response {
    let mut resp = Json(Value::Array(items)).into_response();
    add_link(resp.headers_mut(), &self_url, "self");
    if let Some(n) = next_url {
        add_link(resp.headers_mut(), &n, "next");
    }
    resp
}

fn starts_with_ci(v: Option<&Value>, q: &str) -> bool {
    v.and_then(Value::as_str)
        .is_some_and(|s| s.to_lowercase().starts_with(q))
}

async fn list_users(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, OktaError> {
    let p = Params::parse(raw.as_deref());
    let expr = expression(&p, Dialect::UsersFilter, Dialect::UsersSearch)?;
    let q = p.get("q").map(str::to_lowercase);
    let lim = limit(&p, if q.is_some() { 10 } else { 200 }, 1, 200)?;
    let per_page = page_size(&sim, EndpointFamily::Users, lim);
    let after = p.get("after").map(String::from);
    let base = base(&sim, &headers);
    let omit = omit(&headers);
    let store = sim.store();
    let lower = after
        .as_ref()
        .map_or(Bound::Unbounded, |a| Bound::Excluded(a.clone()));
    let mut items = Vec::new();
    let mut more = false;
    let mut last = None;
    for u in store
        .users
        .range::<String, _>((lower, Bound::Unbounded))
        .map(|(_, u)| u)
    {
        let keep = match &expr {
            Some((e, ci)) => e.matches(&mut |path| u.resolve(path), *ci),
            None => u.status != UserStatus::Deprovisioned,
        };
        // `q` is a startsWith on first name, last name or email, never DEPROVISIONED.
        let keep = keep
            && match q.as_deref() {
                None => true,
                Some(q) => {
                    u.status != UserStatus::Deprovisioned
                        && ["firstName", "lastName", "email"]
                            .iter()
                            .any(|k| starts_with_ci(u.profile.get(*k), q))
                }
            };
        if !keep {
            continue;
        }
        if items.len() == per_page {
            more = true;
            break;
        }
        items.push(render::user(u, &base, false, omit));
        last = Some(u.id.clone());
    }
    drop(store);
    let keep_params = |after: Option<String>| {
        vec![
            ("q", p.get("q").map(String::from)),
            ("filter", p.get("filter").map(String::from)),
            ("search", p.get("search").map(String::from)),
            ("sortBy", p.get("sortBy").map(String::from)),
            ("sortOrder", p.get("sortOrder").map(String::from)),
            ("after", after),
            ("limit", Some(lim.to_string())),
        ]
    };
    let self_url = url_with(&base, "/api/v1/users", &keep_params(after.clone()));
    // `q` is documented as unpaged: never a next link.
    let next = (more && q.is_none()).then(|| url_with(&base, "/api/v1/users", &keep_params(last)));
    Ok(page(items, self_url, next))
}

async fn get_user(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, OktaError> {
    let base = base(&sim, &headers);
    let store = sim.store();
    let key = if id == "me" {
        store.admin_id.clone()
    } else {
        id.clone()
    };
    let u = store
        .find_user(&key)
        .ok_or_else(|| OktaError::not_found(&id, "User"))?;
    Ok(Json(render::user(u, &base, true, omit(&headers))).into_response())
}

async fn user_groups(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, OktaError> {
    let base = base(&sim, &headers);
    let store = sim.store();
    let u = store
        .find_user(&id)
        .ok_or_else(|| OktaError::not_found(&id, "User"))?;
    let items: Vec<Value> = store
        .user_groups
        .get(&u.id)
        .into_iter()
        .flatten()
        .filter_map(|g| store.groups.get(g))
        .map(|g| render::group(g, &base))
        .collect();
    Ok(Json(Value::Array(items)).into_response())
}

async fn user_factors(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, OktaError> {
    let base = base(&sim, &headers);
    let store = sim.store();
    let u = store
        .find_user(&id)
        .ok_or_else(|| OktaError::not_found(&id, "User"))?;
    let items: Vec<Value> = u
        .factors
        .iter()
        .map(|f| render::factor(f, &u.id, &base))
        .collect();
    Ok(Json(Value::Array(items)).into_response())
}

async fn list_groups(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, OktaError> {
    let p = Params::parse(raw.as_deref());
    let expr = expression(&p, Dialect::GroupsFilter, Dialect::GroupsSearch)?;
    let q = p.get("q").map(str::to_lowercase);
    let lim = limit(&p, if q.is_some() { 300 } else { 10_000 }, 1, 10_000)?;
    let per_page = page_size(&sim, EndpointFamily::Groups, lim);
    let after = p.get("after").map(String::from);
    let base = base(&sim, &headers);
    let store = sim.store();
    let lower = after
        .as_ref()
        .map_or(Bound::Unbounded, |a| Bound::Excluded(a.clone()));
    let mut items = Vec::new();
    let (mut more, mut last) = (false, None);
    for g in store
        .groups
        .range::<String, _>((lower, Bound::Unbounded))
        .map(|(_, g)| g)
    {
        let by_expr = match &expr {
            Some((e, ci)) => e.matches(&mut |path| g.resolve(path), *ci),
            None => true,
        };
        let by_name = match q.as_deref() {
            Some(q) => g.name.to_lowercase().starts_with(q),
            None => true,
        };
        let keep = by_expr && by_name;
        if !keep {
            continue;
        }
        if items.len() == per_page {
            more = true;
            break;
        }
        items.push(render::group(g, &base));
        last = Some(g.id.clone());
    }
    drop(store);
    let keep_params = |after: Option<String>| {
        vec![
            ("q", p.get("q").map(String::from)),
            ("filter", p.get("filter").map(String::from)),
            ("search", p.get("search").map(String::from)),
            ("after", after),
            ("limit", Some(lim.to_string())),
        ]
    };
    let self_url = url_with(&base, "/api/v1/groups", &keep_params(after.clone()));
    let next = (more && q.is_none()).then(|| url_with(&base, "/api/v1/groups", &keep_params(last)));
    Ok(page(items, self_url, next))
}

fn find_group<'a>(store: &'a Store, id: &str) -> Result<&'a super::state::Group, OktaError> {
    store
        .groups
        .get(id)
        .ok_or_else(|| OktaError::not_found(id, "UserGroup"))
}

async fn get_group(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, OktaError> {
    let base = base(&sim, &headers);
    let store = sim.store();
    Ok(Json(render::group(find_group(&store, &id)?, &base)).into_response())
}

async fn group_users(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, OktaError> {
    let p = Params::parse(raw.as_deref());
    let lim = limit(&p, 1000, 1, 1000)?;
    let after = p.get("after").map(String::from);
    let base = base(&sim, &headers);
    let omit = omit(&headers);
    let store = sim.store();
    let g = find_group(&store, &id)?;
    let lower = after
        .as_ref()
        .map_or(Bound::Unbounded, |a| Bound::Excluded(a.clone()));
    let mut members = g.members.range::<String, _>((lower, Bound::Unbounded));
    let mut items = Vec::new();
    let mut last = None;
    for uid in members
        .by_ref()
        .take(page_size(&sim, EndpointFamily::Groups, lim))
    {
        if let Some(u) = store.users.get(uid) {
            items.push(render::user(u, &base, false, omit));
        }
        last = Some(uid.clone());
    }
    let more = members.next().is_some();
    drop(store);
    let path = format!("/api/v1/groups/{id}/users");
    let self_url = url_with(
        &base,
        &path,
        &[("after", after), ("limit", Some(lim.to_string()))],
    );
    let next = more.then(|| {
        url_with(
            &base,
            &path,
            &[("after", last), ("limit", Some(lim.to_string()))],
        )
    });
    Ok(page(items, self_url, next))
}
