//! v1 system users: `GET /api/systemusers` (`limit` 1–100 default 10,
//! `skip`, `sort` space-separated with `-` for descending, repeated
//! `filter=<field>:<op>:<value>` with `$eq $ne $gt $gte $lt $lte $in`,
//! `fields` projection) answering `{"totalCount", "results"}`;
//! `GET|PUT /api/systemusers/{id}`; `POST …/resetmfa`, `…/expire`, `…/unlock`.

use std::cmp::Ordering;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::edge::Caller;
use super::errors::JcError;
use super::model::{parse_ts, User};
use super::JumpCloudSim;

/// Query parameters with repeats kept (`filter` may be given several times).
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        Query(
            raw.map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// `limit` in `1..=max` (absent or 0: `default`), 400 otherwise.
pub fn limit(q: &Query, default: usize, max: usize) -> Result<usize, JcError> {
    match q.get("limit") {
        None | Some("") => Ok(default),
        Some(s) => match s.parse::<usize>() {
            Ok(0) => Ok(default),
            Ok(n) if n <= max => Ok(n),
            Ok(_) => Err(JcError::bad_request(format!(
                "limit must be less than or equal to {max}"
            ))),
            Err(_) => Err(JcError::bad_request(format!("invalid limit: {s}"))),
        },
    }
}

/// `skip` ≥ 0 (absent: 0), 400 otherwise.
pub fn skip(q: &Query) -> Result<usize, JcError> {
    match q.get("skip") {
        None | Some("") => Ok(0),
        Some(s) => s
            .parse::<usize>()
            .map_err(|_| JcError::bad_request(format!("invalid skip: {s}"))),
    }
}

/// The value at a dotted path.
pub fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |cur, k| cur.get(k))
}

/// One `filter` clause.
#[derive(Debug)]
pub struct Filter {
    field: String,
    op: String,
    value: String,
}

impl Filter {
    pub fn parse(s: &str) -> Result<Self, JcError> {
        let bad = || JcError::bad_request(format!("invalid filter: {s}"));
        let (field, rest) = s.split_once(':').ok_or_else(bad)?;
        let (op, value) = match rest.strip_prefix('$') {
            Some(r) => {
                let (op, v) = r.split_once(':').ok_or_else(bad)?;
                (format!("${op}"), v)
            }
            None => ("$eq".to_string(), rest),
        };
        if field.is_empty()
            || !["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in"].contains(&op.as_str())
        {
            return Err(bad());
        }
        Ok(Filter {
            field: field.to_string(),
            op,
            value: value.to_string(),
        })
    }

    fn cmp_one(have: Option<&Value>, want: &str) -> Option<Ordering> {
        match have {
            None | Some(Value::Null) => Some(if want == "null" {
                Ordering::Equal
            } else {
                Ordering::Less
            }),
            Some(Value::Bool(b)) => match want {
                "true" => Some(b.cmp(&true)),
                "false" => Some(b.cmp(&false)),
                _ => None,
            },
            Some(Value::Number(n)) => {
                let w = want.parse::<f64>().ok()?;
                n.as_f64()?.partial_cmp(&w)
            }
            Some(Value::String(s)) => Some(s.as_str().cmp(want)),
            Some(_) => None,
        }
    }

    pub fn matches(&self, v: &Value) -> bool {
        let have = lookup(v, &self.field);
        if self.op == "$in" {
            return self
                .value
                .split('|')
                .any(|w| Self::cmp_one(have, w) == Some(Ordering::Equal));
        }
        let ord = Self::cmp_one(have, &self.value);
        match self.op.as_str() {
            "$eq" => ord == Some(Ordering::Equal),
            "$ne" => ord != Some(Ordering::Equal),
            "$gt" => ord == Some(Ordering::Greater),
            "$gte" => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
            "$lt" => ord == Some(Ordering::Less),
            "$lte" => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
            _ => false,
        }
    }
}

/// Orders two JSON values (null < bool < number < string).
pub fn cmp_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn rank(v: Option<&Value>) -> u8 {
        match v {
            None | Some(Value::Null) => 0,
            Some(Value::Bool(_)) => 1,
            Some(Value::Number(_)) => 2,
            Some(Value::String(_)) => 3,
            Some(_) => 4,
        }
    }
    match (a, b) {
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// `sort` as (field, descending) pairs.
pub fn sort_keys(q: &Query) -> Vec<(String, bool)> {
    q.get("sort")
        .unwrap_or("")
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(|s| match s.strip_prefix('-') {
            Some(f) => (f.to_string(), true),
            None => (s.to_string(), false),
        })
        .collect()
}

/// Keeps `_id` and the space-separated `fields` (all when empty).
pub fn project(v: Value, fields: Option<&str>, id_key: &str) -> Value {
    let wanted: Vec<&str> = fields
        .unwrap_or("")
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .collect();
    if wanted.is_empty() {
        return v;
    }
    match v {
        Value::Object(o) => {
            let out: Map<String, Value> = o
                .into_iter()
                .filter(|(k, _)| k == id_key || wanted.contains(&k.as_str()))
                .collect();
            Value::Object(out)
        }
        other => other,
    }
}

/// `GET /api/systemusers`.
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
    let sort = sort_keys(&q);
    let fields = q.get("fields");
    let org = cfg.org_id.clone();

    let (total, results, due) = {
        let mut store = sim.store();
        let (total, results) = if !caller.home {
            (0, Vec::new())
        } else if filters.is_empty() && sort.iter().all(|(f, _)| f == "_id") {
            let desc = sort.first().is_some_and(|(_, d)| *d);
            let n = store.users.len();
            let page: Vec<&User> = if desc {
                store.users.iter().rev().skip(skip).take(limit).collect()
            } else {
                store.users.iter().skip(skip).take(limit).collect()
            };
            (n, page.into_iter().map(|u| u.render(&org)).collect())
        } else {
            let mut rows: Vec<Value> = store
                .users
                .iter()
                .map(|u| u.render(&org))
                .filter(|v| filters.iter().all(|f| f.matches(v)))
                .collect();
            rows.sort_by(|a, b| {
                for (f, desc) in &sort {
                    let o = cmp_values(lookup(a, f), lookup(b, f));
                    let o = if *desc { o.reverse() } else { o };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                cmp_values(a.get("_id"), b.get("_id"))
            });
            let n = rows.len();
            (n, rows.into_iter().skip(skip).take(limit).collect())
        };
        store.list_requests += 1;
        let n = store.list_requests;
        let due = store.churn.remove(&n).unwrap_or_default();
        (total, results, due)
    };
    for c in due {
        sim.run_churn(c);
    }
    let results: Vec<Value> = results
        .into_iter()
        .map(|v| project(v, fields, "_id"))
        .collect();
    Ok(Json(json!({"totalCount": total, "results": results})).into_response())
}

/// `GET /api/systemusers/{id}`.
pub async fn get_one(
    State(sim): State<JumpCloudSim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, JcError> {
    let q = Query::parse(raw.as_deref());
    let store = sim.store();
    let user = store
        .user(&id)
        .filter(|_| caller.home)
        .ok_or_else(|| JcError::not_found("User"))?;
    let v = project(user.render(&sim.config().org_id), q.get("fields"), "_id");
    Ok(Json(v).into_response())
}

fn bool_of(v: &Value, field: &str) -> Result<bool, JcError> {
    v.as_bool()
        .ok_or_else(|| JcError::bad_request(format!("{field} must be a boolean")))
}

fn string_of(v: &Value, field: &str) -> Result<String, JcError> {
    v.as_str()
        .map(String::from)
        .ok_or_else(|| JcError::bad_request(format!("{field} must be a string")))
}

fn time_of(v: &Value, field: &str) -> Result<DateTime<Utc>, JcError> {
    v.as_str()
        .and_then(parse_ts)
        .ok_or_else(|| JcError::bad_request(format!("{field} must be a date-time")))
}

/// Fields PUT may not set (read-only or secret).
const NOT_STORED: &[&str] = &[
    "_id",
    "id",
    "created",
    "organization",
    "password",
    "activated",
    "mfaEnrollment",
    "totp_enabled",
    "badLoginAttempts",
    "account_locked_date",
    "password_date",
    "password_expiration_date",
];

/// Applies a `systemuserput` body; nothing changes when a field is invalid.
pub fn apply_put(user: &mut User, patch: &Value, now: DateTime<Utc>) -> Result<(), JcError> {
    let obj = patch
        .as_object()
        .ok_or_else(|| JcError::bad_request("body must be a JSON object"))?;
    let mut u = user.clone();
    for (k, v) in obj {
        match k.as_str() {
            "suspended" => {
                if bool_of(v, k)? {
                    u.state = "SUSPENDED".into();
                } else if u.state == "SUSPENDED" {
                    u.state = "ACTIVATED".into();
                }
            }
            "state" => match v.as_str() {
                Some(s @ ("ACTIVATED" | "SUSPENDED")) => u.state = s.into(),
                _ => {
                    return Err(JcError::bad_request(
                        "state must be one of ACTIVATED, SUSPENDED",
                    ))
                }
            },
            "account_locked" => {
                u.account_locked = bool_of(v, k)?;
                if u.account_locked {
                    u.account_locked_date = Some(super::model::fmt_ts(now));
                } else {
                    u.account_locked_date = None;
                    u.bad_login_attempts = 0;
                }
            }
            "password_expired" => {
                u.password_expired = bool_of(v, k)?;
                if u.password_expired {
                    u.password_expiration_date = Some(now);
                }
            }
            "password_never_expires" => u.password_never_expires = bool_of(v, k)?,
            "enable_user_portal_multifactor" => u.enable_user_portal_multifactor = bool_of(v, k)?,
            "email" => u.email = string_of(v, k)?,
            "username" => u.username = string_of(v, k)?,
            "firstname" => u.firstname = string_of(v, k)?,
            "lastname" => u.lastname = string_of(v, k)?,
            "displayname" => u.displayname = string_of(v, k)?,
            "department" => u.department = string_of(v, k)?,
            "jobTitle" => u.job_title = string_of(v, k)?,
            "employeeIdentifier" => u.employee_identifier = string_of(v, k)?,
            "company" => u.company = string_of(v, k)?,
            "location" => u.location = string_of(v, k)?,
            "manager" => {
                u.manager = match v {
                    Value::Null => None,
                    other => Some(string_of(other, k)?),
                }
            }
            "mfa" => {
                let m = v
                    .as_object()
                    .ok_or_else(|| JcError::bad_request("mfa must be an object"))?;
                for (mk, mv) in m {
                    match mk.as_str() {
                        "configured" => u.mfa.configured = bool_of(mv, "mfa.configured")?,
                        "exclusion" => u.mfa.exclusion = bool_of(mv, "mfa.exclusion")?,
                        "exclusionUntil" => {
                            u.mfa.exclusion_until = match mv {
                                Value::Null => None,
                                t => {
                                    time_of(t, "mfa.exclusionUntil")?;
                                    t.as_str().map(String::from)
                                }
                            }
                        }
                        "exclusionDays" => {
                            u.mfa.exclusion_days =
                                Some(mv.as_u64().filter(|d| *d >= 1).ok_or_else(|| {
                                    JcError::bad_request("mfa.exclusionDays must be at least 1")
                                })?)
                        }
                        _ => {}
                    }
                }
            }
            other if NOT_STORED.contains(&other) => {}
            other => {
                u.extra.insert(other.to_string(), v.clone());
            }
        }
    }
    *user = u;
    Ok(())
}

fn body_json(body: &Bytes) -> Result<Value, JcError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|_| JcError::bad_request("invalid JSON body"))
}

/// `PUT /api/systemusers/{id}`.
pub async fn put(
    State(sim): State<JumpCloudSim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, JcError> {
    let patch = body_json(&body)?;
    let now = sim.clock().now();
    let org = sim.config().org_id.clone();
    let mut store = sim.store();
    let user = store
        .user_mut(&id)
        .filter(|_| caller.home)
        .ok_or_else(|| JcError::not_found("User"))?;
    apply_put(user, &patch, now)?;
    Ok(Json(user.render(&org)).into_response())
}

/// The empty 200 the action endpoints answer.
fn done() -> Response {
    StatusCode::OK.into_response()
}

/// `POST /api/systemusers/{id}/resetmfa` (`{"exclusion", "exclusionDays", "exclusionUntil"}`).
pub async fn reset_mfa(
    State(sim): State<JumpCloudSim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, JcError> {
    let b = body_json(&body)?;
    if !b.is_object() {
        return Err(JcError::bad_request("body must be a JSON object"));
    }
    let exclusion = b
        .get("exclusion")
        .map(|v| bool_of(v, "exclusion"))
        .transpose()?;
    let days = match b.get("exclusionDays") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_f64()
                .filter(|d| *d >= 1.0)
                .ok_or_else(|| JcError::bad_request("exclusionDays must be at least 1"))?,
        ),
    };
    let until = match b.get("exclusionUntil") {
        None | Some(Value::Null) => None,
        Some(v) => Some(time_of(v, "exclusionUntil")?),
    };
    let now = sim.clock().now();
    let mut store = sim.store();
    let user = store
        .user_mut(&id)
        .filter(|_| caller.home)
        .ok_or_else(|| JcError::not_found("User"))?;
    user.totp_enabled = false;
    user.mfa.configured = false;
    user.mfa.exclusion = exclusion.unwrap_or(until.is_some() || days.is_some());
    user.mfa.exclusion_days = days.map(|d| d as u64);
    user.mfa.exclusion_until = until
        .or_else(|| days.map(|d| now + chrono::Duration::seconds((d * 86_400.0) as i64)))
        .map(super::model::fmt_ts);
    *store.mfa_resets.entry(id).or_insert(0) += 1;
    Ok(done())
}

/// `POST /api/systemusers/{id}/expire`.
pub async fn expire(
    State(sim): State<JumpCloudSim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, JcError> {
    let now = sim.clock().now();
    let mut store = sim.store();
    let user = store
        .user_mut(&id)
        .filter(|_| caller.home)
        .ok_or_else(|| JcError::not_found("User"))?;
    user.password_expired = true;
    user.password_expiration_date = Some(now);
    Ok(done())
}

/// `POST /api/systemusers/{id}/unlock`.
pub async fn unlock(
    State(sim): State<JumpCloudSim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, JcError> {
    let mut store = sim.store();
    let user = store
        .user_mut(&id)
        .filter(|_| caller.home)
        .ok_or_else(|| JcError::not_found("User"))?;
    user.account_locked = false;
    user.account_locked_date = None;
    user.bad_login_attempts = 0;
    Ok(done())
}
