//! Read endpoints for users: the list with `$select`/`$top`/`$filter`/
//! `$expand=manager` and `$skiptoken` paging, one user, the manager, the
//! transitive memberships, authentication methods, the organization, and
//! the users delta query (rounds of `@odata.nextLink` pages ending in an
//! `@odata.deltaLink`, `@removed` entries, `Prefer: odata.maxpagesize` and
//! `return=minimal`, `$deltatoken=latest`, expiring delta tokens).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::errors::GraphError;
use super::model::{fmt_ts, Store, User, USER_PROPERTIES};
use super::odata::{self, Filter, Query};
use super::token::Caller;
use super::EntraSim;

/// Application permissions that can read users.
pub const USER_READ: &[&str] = &[
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

/// Properties `GET /users` can filter on in the sim.
const FILTERABLE: &[&str] = &[
    "id",
    "accountEnabled",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "department",
    "jobTitle",
    "userType",
    "employeeId",
    "createdDateTime",
    "signInActivity/lastSignInDateTime",
    "signInActivity/lastNonInteractiveSignInDateTime",
    "signInActivity/lastSuccessfulSignInDateTime",
];

pub type Answer = Result<Response, GraphError>;

/// The origin links are built on.
pub fn base(sim: &EntraSim, headers: &HeaderMap) -> String {
    crate::common::http::base_url(headers, sim.config().public_base_url.as_deref())
}

fn context(base: &str, what: &str, select: Option<&[String]>) -> String {
    match select {
        Some(s) if !s.is_empty() => format!("{base}/v1.0/$metadata#{what}({})", s.join(",")),
        _ => format!("{base}/v1.0/$metadata#{what}"),
    }
}

/// Checks the licence and permission `signInActivity` needs.
fn check_sign_in_activity(
    sim: &EntraSim,
    caller: &Caller,
    select: Option<&[String]>,
) -> Result<(), GraphError> {
    if select.is_some_and(|s| s.iter().any(|p| p == "signInActivity")) {
        if !sim.config().premium {
            return Err(GraphError::non_premium());
        }
        caller.require(&["AuditLog.Read.All"])?;
    }
    Ok(())
}

fn parse_user_filter(q: &Query, allowed: &[&str]) -> Result<Option<Filter>, GraphError> {
    let Some(text) = q.get("$filter") else {
        return Ok(None);
    };
    let f = odata::parse_filter(text).map_err(|t| {
        GraphError::bad_request(
            "BadRequest",
            format!("Invalid filter clause: syntax error near '{t}'."),
        )
    })?;
    let mut names = Vec::new();
    odata::props(&f, &mut names);
    for n in names {
        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(&n)) {
            return Err(GraphError::bad_request(
                "Request_UnsupportedQuery",
                format!("Unsupported or invalid query filter clause specified for property '{n}' of resource 'User'."),
            ));
        }
    }
    Ok(Some(f))
}

fn user_matches(u: &User, f: Option<&Filter>, domain: &str) -> bool {
    f.is_none_or(|f| {
        odata::eval(f, &|p| {
            let (head, rest) = p.split_once('/').unwrap_or((p, ""));
            let canon = USER_PROPERTIES
                .iter()
                .find(|k| k.eq_ignore_ascii_case(head))
                .copied()
                .unwrap_or(head);
            let v = u.prop(canon, domain)?;
            if rest.is_empty() {
                Some(v)
            } else {
                v.get(rest).cloned()
            }
        })
    })
}

/// Whether `$expand=manager` was asked (other expansions are refused).
fn expand_manager(q: &Query) -> Result<bool, GraphError> {
    match q.get("$expand") {
        None => Ok(false),
        Some(e) if e.trim().to_ascii_lowercase().starts_with("manager") => Ok(true),
        Some(e) => Err(GraphError::bad_request(
            "BadRequest",
            format!("Parsing OData Select and Expand failed: Could not find a property named '{}' on type 'microsoft.graph.user'.", e.trim()),
        )),
    }
}

fn render_with_manager(
    store: &Store,
    u: &User,
    select: Option<&[String]>,
    expand: bool,
    domain: &str,
) -> Value {
    let mut obj = u.render(select, domain);
    if expand {
        if let Some(m) = u
            .manager
            .and_then(|i| store.users.get(i))
            .filter(|m| m.visible())
        {
            let mut mo = Map::new();
            mo.insert("@odata.type".into(), json!("#microsoft.graph.user"));
            mo.extend(m.render(None, domain));
            obj.insert("manager".into(), Value::Object(mo));
        }
    }
    Value::Object(obj)
}

#[derive(Serialize, Deserialize)]
struct ListCursor {
    p: usize,
}

/// `GET /v1.0/users`.
pub async fn list(
    State(sim): State<EntraSim>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Answer {
    caller.require(USER_READ)?;
    let q = Query::parse(raw.as_deref());
    let select = odata::select(&q, USER_PROPERTIES, "microsoft.graph.user")?;
    check_sign_in_activity(&sim, &caller, select.as_deref())?;
    let top = odata::top(&q, 999)?.unwrap_or(sim.config().page_size);
    let filter = parse_user_filter(&q, FILTERABLE)?;
    if q.get("$filter")
        .is_some_and(|f| f.contains("signInActivity"))
    {
        check_sign_in_activity(&sim, &caller, Some(&["signInActivity".to_string()]))?;
    }
    let expand = expand_manager(&q)?;
    let start = match q.get("$skiptoken") {
        Some(t) => {
            odata::open::<ListCursor>(t)
                .ok_or_else(|| {
                    GraphError::bad_request("Request_BadRequest", "Invalid skip token.")
                })?
                .p
        }
        None => 0,
    };
    let domain = sim.config().domain.clone();
    let store = sim.store();
    let mut value = Vec::with_capacity(top.min(1000));
    let mut pos = start;
    let mut more = false;
    while pos < store.users.len() {
        let u = &store.users[pos];
        if u.visible() && user_matches(u, filter.as_ref(), &domain) {
            if value.len() == top {
                more = true;
                break;
            }
            value.push(render_with_manager(
                &store,
                u,
                select.as_deref(),
                expand,
                &domain,
            ));
        }
        pos += 1;
    }
    drop(store);
    let b = base(&sim, &headers);
    let mut body = json!({
        "@odata.context": context(&b, "users", select.as_deref()),
    });
    if more {
        body["@odata.nextLink"] = json!(q.link(
            &b,
            "/v1.0/users",
            ("$skiptoken", &odata::seal(&ListCursor { p: pos }))
        ));
    }
    body["value"] = Value::Array(value);
    Ok(Json(body).into_response())
}

/// `GET /v1.0/users/{id}`.
pub async fn get_one(
    State(sim): State<EntraSim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Answer {
    caller.require(USER_READ)?;
    let q = Query::parse(raw.as_deref());
    let select = odata::select(&q, USER_PROPERTIES, "microsoft.graph.user")?;
    check_sign_in_activity(&sim, &caller, select.as_deref())?;
    let expand = expand_manager(&q)?;
    let domain = sim.config().domain.clone();
    let store = sim.store();
    let idx = store
        .live_user(&id)
        .ok_or_else(|| GraphError::not_found(&id))?;
    let mut obj = render_with_manager(
        &store,
        &store.users[idx],
        select.as_deref(),
        expand,
        &domain,
    );
    drop(store);
    let b = base(&sim, &headers);
    if let Some(o) = obj.as_object_mut() {
        let mut out = Map::new();
        out.insert(
            "@odata.context".into(),
            json!(format!(
                "{}/$entity",
                context(&b, "users", select.as_deref())
            )),
        );
        out.extend(std::mem::take(o));
        *o = out;
    }
    Ok(Json(obj).into_response())
}

/// `GET /v1.0/users/{id}/manager`.
pub async fn manager(
    State(sim): State<EntraSim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    caller.require(USER_READ)?;
    let domain = sim.config().domain.clone();
    let store = sim.store();
    let idx = store
        .live_user(&id)
        .ok_or_else(|| GraphError::not_found(&id))?;
    let m = store.users[idx]
        .manager
        .and_then(|i| store.users.get(i))
        .filter(|m| m.visible())
        .ok_or_else(|| GraphError::not_found("manager"))?;
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(format!(
            "{}/v1.0/$metadata#directoryObjects/$entity",
            base(&sim, &headers)
        )),
    );
    out.insert("@odata.type".into(), json!("#microsoft.graph.user"));
    out.extend(m.render(None, &domain));
    Ok(Json(Value::Object(out)).into_response())
}

/// A group as a directory object.
pub fn render_group(g: &super::model::Group) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.group",
        "id": g.id,
        "displayName": g.display_name,
        "description": g.description,
        "createdDateTime": fmt_ts(g.created),
        "groupTypes": [],
        "mailEnabled": false,
        "mailNickname": g.display_name.replace(' ', ""),
        "securityEnabled": true,
        "mail": null,
        "visibility": null,
    })
}

/// `GET /v1.0/users/{id}/transitiveMemberOf` (and `memberOf`: groups are not nested here).
pub async fn transitive_member_of(
    State(sim): State<EntraSim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    caller.require(&[
        "User.Read.All",
        "Directory.Read.All",
        "GroupMember.Read.All",
        "Group.Read.All",
        "User.ReadWrite.All",
        "Directory.ReadWrite.All",
    ])?;
    let store = sim.store();
    let idx = store
        .live_user(&id)
        .ok_or_else(|| GraphError::not_found(&id))?;
    let value: Vec<Value> = store
        .groups_of(idx)
        .into_iter()
        .map(|g| render_group(&store.groups[g]))
        .collect();
    drop(store);
    Ok(Json(json!({
        "@odata.context": format!("{}/v1.0/$metadata#directoryObjects", base(&sim, &headers)),
        "value": value,
    }))
    .into_response())
}

/// `GET /v1.0/users/{id}/authentication/methods`.
pub async fn methods(
    State(sim): State<EntraSim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    caller.require(&[
        "UserAuthenticationMethod.Read.All",
        "UserAuthenticationMethod.ReadWrite.All",
    ])?;
    let store = sim.store();
    let idx = store
        .live_user(&id)
        .ok_or_else(|| GraphError::not_found(&id))?;
    let u = &store.users[idx];
    let value: Vec<Value> = u.methods.iter().map(|m| m.render(u)).collect();
    let uid = u.id.clone();
    drop(store);
    Ok(Json(json!({
        "@odata.context": format!("{}/v1.0/$metadata#users('{uid}')/authentication/methods", base(&sim, &headers)),
        "value": value,
    }))
    .into_response())
}

/// `GET /v1.0/organization`.
pub async fn organization(
    State(sim): State<EntraSim>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Answer {
    caller.require(&[
        "Organization.Read.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
        "User.Read.All",
    ])?;
    let cfg = sim.config();
    let name = cfg.domain.split('.').next().unwrap_or("Contoso");
    let mut display = name.to_string();
    if let Some(f) = display.get_mut(0..1) {
        f.make_ascii_uppercase();
    }
    Ok(Json(json!({
        "@odata.context": format!("{}/v1.0/$metadata#organization", base(&sim, &headers)),
        "value": [{
            "id": cfg.directory_id,
            "displayName": display,
            "tenantType": "AAD",
            "countryLetterCode": "US",
            "createdDateTime": fmt_ts(sim.clock().anchor() - chrono::Duration::days(2000)),
            "verifiedDomains": [{
                "capabilities": "Email, OfficeCommunicationsOnline",
                "isDefault": true,
                "isInitial": true,
                "name": cfg.domain,
                "type": "Managed",
            }],
        }],
    }))
    .into_response())
}

/// Round state carried in `$skiptoken` / `$deltatoken`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DeltaState {
    /// Sync-state generation (bumped by a synchronization reset).
    g: u64,
    /// When the token was issued (epoch ms).
    iss: i64,
    /// Changes after this sequence number (None: the initial full round).
    since: Option<u64>,
    /// The round's snapshot: changes up to this sequence number.
    upto: u64,
    /// Cursor: user index (initial round) or change-log index.
    pos: usize,
    sel: Option<Vec<String>>,
    ids: Option<Vec<String>>,
}

fn delta_ids(q: &Query) -> Result<Option<Vec<String>>, GraphError> {
    let Some(text) = q.get("$filter") else {
        return Ok(None);
    };
    let unsupported = || GraphError::bad_request("Request_UnsupportedQuery", "Unsupported query.");
    let f = odata::parse_filter(text).map_err(|_| unsupported())?;
    let clauses = match f {
        Filter::Or(v) => v,
        other => vec![other],
    };
    let mut ids = Vec::new();
    for c in clauses {
        match c {
            Filter::Cmp {
                prop,
                op: odata::Op::Eq,
                value: Value::String(id),
            } if prop == "id" => ids.push(id),
            _ => return Err(unsupported()),
        }
    }
    if ids.len() > 50 {
        return Err(unsupported());
    }
    Ok(Some(ids))
}

/// `GET /v1.0/users/delta`.
pub async fn delta(
    State(sim): State<EntraSim>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Answer {
    caller.require(USER_READ)?;
    let q = Query::parse(raw.as_deref());
    let now_ms = sim.clock().now_ms();
    let b = base(&sim, &headers);
    let max_age_ms = sim.config().delta_token_max_age.as_millis() as i64;
    let (gen, expired_before, seq_now) = {
        let s = sim.store();
        (s.delta_generation, s.delta_expired_before_ms, s.seq)
    };
    let check = |st: &DeltaState| -> Result<(), GraphError> {
        if st.g != gen {
            return Err(GraphError::new(
                StatusCode::GONE,
                "resyncRequired",
                "Resync required. The delta token is no longer valid; restart with a full synchronization.",
            )
            .with_header("location", format!("{b}/v1.0/users/delta?$deltatoken=")));
        }
        if st.iss < expired_before || now_ms - st.iss > max_age_ms {
            return Err(GraphError::bad_request(
                "syncStateNotFound",
                "The sync state generation is not found. The delta token is expired and data must be synchronized again.",
            ));
        }
        Ok(())
    };
    let bad_token = || GraphError::bad_request("BadRequest", "Invalid delta token.");
    let state = if let Some(t) = q.get("$skiptoken") {
        let st: DeltaState = odata::open(t).ok_or_else(bad_token)?;
        check(&st)?;
        st
    } else if let Some(t) = q.get("$deltatoken").filter(|t| !t.is_empty()) {
        if t.eq_ignore_ascii_case("latest") {
            // "Sync from now": no data, just a deltaLink.
            let select = odata::select(&q, USER_PROPERTIES, "microsoft.graph.user")?;
            let st = DeltaState {
                g: gen,
                iss: now_ms,
                since: Some(seq_now),
                upto: seq_now,
                pos: 0,
                sel: select,
                ids: delta_ids(&q)?,
            };
            return Ok(Json(json!({
                "@odata.context": format!("{b}/v1.0/$metadata#users"),
                "@odata.deltaLink": format!("{b}/v1.0/users/delta?$deltatoken={}", odata::seal(&st)),
                "value": [],
            }))
            .into_response());
        }
        let prev: DeltaState = odata::open(t).ok_or_else(bad_token)?;
        check(&prev)?;
        let pos = sim
            .store()
            .changes
            .partition_point(|(s, _)| *s <= prev.upto);
        DeltaState {
            g: gen,
            iss: now_ms,
            since: Some(prev.upto),
            upto: seq_now,
            pos,
            sel: prev.sel,
            ids: prev.ids,
        }
    } else {
        let select = odata::select(&q, USER_PROPERTIES, "microsoft.graph.user")?;
        if select
            .as_ref()
            .is_some_and(|s| s.iter().any(|p| p == "signInActivity"))
        {
            return Err(GraphError::bad_request(
                "Request_UnsupportedQuery",
                "Property 'signInActivity' is not supported for delta query.",
            ));
        }
        DeltaState {
            g: gen,
            iss: now_ms,
            since: None,
            upto: seq_now,
            pos: 0,
            sel: select,
            ids: delta_ids(&q)?,
        }
    };
    let minimal = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("return=minimal"));
    let page = odata::max_page_size(&headers, 999);
    let size = page.unwrap_or(sim.config().delta_page_size).max(1);
    let domain = sim.config().domain.clone();
    let wanted = |u: &User, ids: &Option<Vec<String>>| {
        ids.as_ref()
            .is_none_or(|ids| ids.iter().any(|i| i.eq_ignore_ascii_case(&u.id)))
    };
    let store = sim.store();
    let mut value = Vec::new();
    let mut pos = state.pos;
    let done = match state.since {
        None => {
            while pos < store.users.len() && value.len() < size {
                let u = &store.users[pos];
                if u.visible() && wanted(u, &state.ids) {
                    value.push(Value::Object(u.render(state.sel.as_deref(), &domain)));
                }
                pos += 1;
            }
            pos >= store.users.len()
        }
        Some(_) => {
            while pos < store.changes.len() && value.len() < size {
                let (seq, idx) = store.changes[pos];
                if seq > state.upto {
                    break;
                }
                pos += 1;
                let Some(u) = store.users.get(idx) else {
                    continue;
                };
                // Only a user's latest change counts; one changed again after
                // the snapshot shows in the next round instead.
                if u.seq != seq || !wanted(u, &state.ids) {
                    continue;
                }
                value.push(if u.purged {
                    json!({"id": u.id, "@removed": {"reason": "deleted"}})
                } else if u.deleted.is_some() {
                    json!({"id": u.id, "@removed": {"reason": "changed"}})
                } else if minimal && u.created_seq <= state.since.unwrap_or(0) {
                    minimal_render(u, state.sel.as_deref(), state.since.unwrap_or(0), &domain)
                } else {
                    Value::Object(u.render(state.sel.as_deref(), &domain))
                });
            }
            pos >= store.changes.len() || store.changes[pos].0 > state.upto
        }
    };
    drop(store);
    let mut body = json!({"@odata.context": format!("{b}/v1.0/$metadata#users")});
    if done {
        let next = DeltaState {
            g: gen,
            iss: now_ms,
            since: Some(state.upto),
            upto: state.upto,
            pos: 0,
            sel: state.sel,
            ids: state.ids,
        };
        body["@odata.deltaLink"] = json!(format!(
            "{b}/v1.0/users/delta?$deltatoken={}",
            odata::seal(&next)
        ));
    } else {
        let next = DeltaState { pos, ..state };
        body["@odata.nextLink"] = json!(format!(
            "{b}/v1.0/users/delta?$skiptoken={}",
            odata::seal(&next)
        ));
    }
    body["value"] = Value::Array(value);
    let mut resp = Json(body).into_response();
    if let Some(n) = page {
        if let Ok(v) = HeaderValue::from_str(&format!("odata.maxpagesize={n}")) {
            resp.headers_mut().insert("preference-applied", v);
        }
    }
    Ok(resp)
}

/// `Prefer: return=minimal`: the id and only the selected properties changed since `since`.
fn minimal_render(u: &User, select: Option<&[String]>, since: u64, domain: &str) -> Value {
    let full = u.render(select, domain);
    let mut out = Map::new();
    for (k, v) in full {
        if k == "id" || u.changed.get(&k).is_some_and(|s| *s > since) {
            out.insert(k, v);
        }
    }
    Value::Object(out)
}
