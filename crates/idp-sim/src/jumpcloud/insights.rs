//! Directory Insights: `POST /insights/directory/v1/events` and
//! `…/events/count`. The JSON body needs `service` (array: `all`,
//! `directory`, `sso`, `radius`, `ldap`, `systems`, …) and `start_time`
//! (RFC 3339); optional `end_time`, `limit` (default 1000, at most 10,000,
//! nonsensical values get the default), `sort` (`ASC` default, `DESC`, case
//! ignored, anything else ASC), `search_after`, `search_term`
//! (`and`/`or`/`not`, values compared lowercase, dotted fields), `fields`
//! (empty or no known field → 400), `skip`, `q`. The answer is a JSON array
//! with `X-Result-Count`, `X-Limit`, `X-Sort`, `X-Search_after` (JSON array
//! `[<epoch ms>, "<doc id>"]`, always present) and `X-Request-Id`; a client
//! pages by resending the query with `search_after` until
//! `X-Result-Count < X-Limit`. Events become visible only after the lag.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::edge::Caller;
use super::errors::JcError;
use super::model::{parse_ts, Event};
use super::users::lookup;
use super::JumpCloudSim;

/// `service` values the API accepts.
pub const SERVICES: &[&str] = &[
    "all",
    "access_management",
    "alert",
    "alerts",
    "asset_management",
    "directory",
    "ldap",
    "mdm",
    "notifications",
    "object_storage",
    "password_manager",
    "radius",
    "reports",
    "saas_app_management",
    "software",
    "sso",
    "systems",
];

/// Top-level event fields `fields` may name.
const KNOWN_FIELDS: &[&str] = &[
    "id",
    "event_type",
    "timestamp",
    "service",
    "organization",
    "initiated_by",
    "client_ip",
    "geoip",
    "useragent",
    "success",
    "sso_token_success",
    "mfa",
    "mfa_meta",
    "error_message",
    "error_code",
    "application",
    "auth_context",
    "auth_method",
    "resource",
    "username",
    "changes",
    "provider",
    "@version",
    "idp_initiated",
    "association",
    "system",
    "auth_type",
    "eap_type",
    "nas_mfa_state",
    "outer",
    "dn",
    "mech",
    "message",
    "process_name",
    "system_timestamp",
    "correlation",
    "target_resource",
];

fn bad(message: impl Into<String>) -> JcError {
    JcError::bare(StatusCode::BAD_REQUEST, message)
}

/// A parsed event query.
struct EventQuery {
    services: Vec<String>,
    start_ms: i64,
    end_ms: Option<i64>,
    limit: usize,
    desc: bool,
    search_after: Option<(i64, String)>,
    search_term: Option<Map<String, Value>>,
    fields: Option<Vec<String>>,
    skip: usize,
    q: Option<String>,
}

fn parse_query(sim: &JumpCloudSim, body: &Bytes) -> Result<EventQuery, JcError> {
    let cfg = sim.config();
    let b: Value = serde_json::from_slice(body).map_err(|_| bad("invalid JSON body"))?;
    let obj = b
        .as_object()
        .ok_or_else(|| bad("body must be a JSON object"))?;
    let services: Vec<String> = match obj.get("service") {
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|s| match s.as_str() {
                Some(s) if SERVICES.contains(&s) => Ok(s.to_string()),
                _ => Err(bad(format!("invalid service: {s}"))),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(bad("service is required")),
    };
    let start = match obj.get("start_time") {
        Some(Value::String(s)) => parse_ts(s).ok_or_else(|| bad("start_time must be RFC3339"))?,
        _ => return Err(bad("start_time is required")),
    };
    let end_ms = match obj.get("end_time") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let e = parse_ts(s).ok_or_else(|| bad("end_time must be RFC3339"))?;
            if e <= start {
                return Err(bad("end_time must be after start_time"));
            }
            Some(e.timestamp_millis())
        }
        Some(_) => return Err(bad("end_time must be RFC3339")),
    };
    let limit = obj
        .get("limit")
        .and_then(|l| {
            l.as_u64()
                .or_else(|| l.as_str().and_then(|s| s.parse().ok()))
        })
        .map(|l| l as usize)
        .filter(|l| (1..=cfg.events_max_limit).contains(l))
        .unwrap_or(cfg.events_default_limit);
    let desc = obj
        .get("sort")
        .and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("desc"));
    let search_after = match obj.get("search_after") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) if a.is_empty() => None,
        Some(Value::Array(a)) => {
            let ts = a
                .first()
                .and_then(|t| {
                    t.as_i64()
                        .or_else(|| t.as_str().and_then(|s| s.parse().ok()))
                })
                .ok_or_else(|| bad("invalid search_after"))?;
            let doc = a
                .get(1)
                .map(|d| match d {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default();
            Some((ts, doc))
        }
        Some(_) => return Err(bad("invalid search_after")),
    };
    let search_term = match obj.get("search_term") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => {
            validate_term(m)?;
            Some(m.clone())
        }
        Some(_) => return Err(bad("invalid search_term")),
    };
    let fields = match obj.get("fields") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => {
            let f: Vec<String> = a
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect();
            let known = f
                .iter()
                .any(|x| KNOWN_FIELDS.contains(&x.split('.').next().unwrap_or(x.as_str())));
            if !known {
                return Err(bad("fields must name at least one known field"));
            }
            Some(f)
        }
        Some(_) => return Err(bad("invalid fields")),
    };
    let skip = obj.get("skip").and_then(Value::as_u64).unwrap_or(0) as usize;
    let q = obj
        .get("q")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase);
    Ok(EventQuery {
        services,
        start_ms: start.timestamp_millis(),
        end_ms,
        limit,
        desc,
        search_after,
        search_term,
        fields,
        skip,
        q,
    })
}

fn validate_term(m: &Map<String, Value>) -> Result<(), JcError> {
    for (k, v) in m {
        if matches!(k.as_str(), "and" | "or" | "not") {
            let items = v
                .as_array()
                .ok_or_else(|| bad(format!("search_term {k} must be an array")))?;
            for item in items {
                let o = item
                    .as_object()
                    .ok_or_else(|| bad(format!("search_term {k} items must be objects")))?;
                validate_term(o)?;
            }
        }
    }
    Ok(())
}

fn field_equals(have: Option<&Value>, want: &Value) -> bool {
    match want {
        Value::Array(a) => a.iter().any(|w| field_equals(have, w)),
        _ => {
            let want = match want {
                Value::String(s) => s.to_lowercase(),
                other => other.to_string(),
            };
            match have {
                Some(Value::String(s)) => s.to_lowercase() == want,
                Some(Value::Bool(b)) => b.to_string() == want,
                Some(Value::Number(n)) => n.to_string() == want,
                Some(Value::Null) | None => want == "null",
                Some(Value::Array(a)) => a
                    .iter()
                    .any(|x| field_equals(Some(x), &Value::String(want.clone()))),
                Some(Value::Object(_)) => false,
            }
        }
    }
}

fn term_matches(ev: &Value, m: &Map<String, Value>) -> bool {
    m.iter().all(|(k, v)| {
        let items = || {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
        };
        match k.as_str() {
            "and" => items().all(|o| term_matches(ev, o)),
            "or" => items().any(|o| term_matches(ev, o)),
            "not" => !items().any(|o| term_matches(ev, o)),
            field => field_equals(lookup(ev, field), v),
        }
    })
}

fn selected<'a>(
    q: &'a EventQuery,
    events: &'a [Event],
    now_ms: i64,
) -> impl DoubleEndedIterator<Item = &'a Event> + 'a {
    let all = q.services.iter().any(|s| s == "all");
    events.iter().filter(move |e| {
        e.visible_ms <= now_ms
            && e.ts_ms >= q.start_ms
            && q.end_ms.is_none_or(|end| e.ts_ms < end)
            && (all || q.services.contains(&e.service))
            && q.search_term
                .as_ref()
                .is_none_or(|t| term_matches(&e.value, t))
            && q.q
                .as_ref()
                .is_none_or(|needle| e.value.to_string().to_lowercase().contains(needle))
    })
}

fn project(v: &Value, fields: &[String]) -> Value {
    let mut out = Map::new();
    for f in fields {
        if let Some(x) = lookup(v, f) {
            out.insert(f.clone(), x.clone());
        }
    }
    Value::Object(out)
}

/// `POST /insights/directory/v1/events`.
pub async fn events(
    State(sim): State<JumpCloudSim>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, JcError> {
    let q = parse_query(&sim, &body)?;
    let now_ms = sim.clock().now_ms();
    let (rows, last, request_id) = {
        let mut store = sim.store();
        let request_id = store.rng.uuid();
        let picked: Vec<&Event> = if !caller.home {
            Vec::new()
        } else {
            let it = selected(&q, &store.events, now_ms);
            let after = |e: &&Event| match &q.search_after {
                None => true,
                Some((ts, doc)) => {
                    let key = (e.ts_ms, e.doc_id.as_str());
                    let sa = (*ts, doc.as_str());
                    if q.desc {
                        key < sa
                    } else {
                        key > sa
                    }
                }
            };
            if q.desc {
                it.rev().filter(after).skip(q.skip).take(q.limit).collect()
            } else {
                it.filter(after).skip(q.skip).take(q.limit).collect()
            }
        };
        let last = picked.last().map(|e| (e.ts_ms, e.doc_id.clone()));
        let rows: Vec<Value> = picked
            .into_iter()
            .map(|e| match &q.fields {
                Some(f) => project(&e.value, f),
                None => e.value.clone(),
            })
            .collect();
        (rows, last, request_id)
    };
    let search_after = match (last, &q.search_after) {
        (Some((ts, doc)), _) => json!([ts, doc]),
        (None, Some((ts, doc))) => json!([ts, doc]),
        (None, None) if q.desc => json!([q.end_ms.unwrap_or(now_ms) + 1, ""]),
        (None, None) => json!([q.start_ms - 1, ""]),
    };
    let count = rows.len();
    let mut resp = Json(Value::Array(rows)).into_response();
    let h = resp.headers_mut();
    h.insert("X-Result-Count", HeaderValue::from(count));
    h.insert("X-Limit", HeaderValue::from(q.limit));
    h.insert(
        "X-Sort",
        HeaderValue::from_static(if q.desc { "DESC" } else { "ASC" }),
    );
    if let Ok(v) = HeaderValue::from_str(&search_after.to_string()) {
        h.insert("X-Search_after", v);
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("X-Request-Id", v);
    }
    Ok(resp)
}

/// `POST /insights/directory/v1/events/count`.
pub async fn count(
    State(sim): State<JumpCloudSim>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, JcError> {
    let q = parse_query(&sim, &body)?;
    let now_ms = sim.clock().now_ms();
    let n = if caller.home {
        let store = sim.store();
        selected(&q, &store.events, now_ms).count()
    } else {
        0
    };
    Ok(Json(json!({"count": n})).into_response())
}
