//! Reports API `activities.list` for the `login` application: `userKey`
//! (`all`, an email or a profile id), `startTime`/`endTime` (RFC 3339),
//! `eventName`, `filters` (`param==v`, `<>`, `<`, `<=`, `>`, `>=`, comma =
//! and), `actorIpAddress`, `maxResults` (1–1000, default 1000), `pageToken`;
//! newest first; an activity shows only once its reporting lag has passed.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::errors::GoogleError;
use super::model::{parse_ts, Activity};
use super::token::{require, Caller};
use super::users::{decode_token, encode_token, max_results};
use super::{GoogleSim, SCOPE_REPORTS_AUDIT};
use crate::common::http::{decode, Params};

/// What a list or watch selects.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    pub user_key: String,
    pub event_name: Option<String>,
    pub filters: Vec<(String, String, String)>,
    pub actor_ip: Option<String>,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
}

fn parse_filters(s: &str) -> Result<Vec<(String, String, String)>, GoogleError> {
    let mut out = Vec::new();
    for clause in s.split(',').filter(|c| !c.trim().is_empty()) {
        let op = ["==", "<>", "<=", ">=", "<", ">"]
            .into_iter()
            .find(|op| clause.contains(op))
            .ok_or_else(|| GoogleError::invalid(format!("Invalid value '{clause}' for filters")))?;
        let (k, v) = clause.split_once(op).unwrap_or((clause, ""));
        out.push((k.trim().to_string(), op.to_string(), v.trim().to_string()));
    }
    Ok(out)
}

impl Selector {
    pub fn from_params(user_key: &str, p: &Params) -> Result<Self, GoogleError> {
        let time = |name: &str| -> Result<Option<i64>, GoogleError> {
            match p.get(name) {
                None => Ok(None),
                Some(s) => parse_ts(s)
                    .map(|t| Some(t.timestamp_millis()))
                    .ok_or_else(|| GoogleError::invalid(format!("Invalid value '{s}' for {name}"))),
            }
        };
        let start_ms = time("startTime")?;
        let end_ms = time("endTime")?;
        if let (Some(s), Some(e)) = (start_ms, end_ms) {
            if s > e {
                return Err(GoogleError::invalid(
                    "Start time must be less than or equal to the end time.",
                ));
            }
        }
        Ok(Self {
            user_key: decode(user_key),
            event_name: p.get("eventName").map(String::from),
            filters: p
                .get("filters")
                .map(parse_filters)
                .transpose()?
                .unwrap_or_default(),
            actor_ip: p.get("actorIpAddress").map(String::from),
            start_ms,
            end_ms,
        })
    }

    /// Whether `a` is selected (visibility is the caller's to check).
    pub fn matches(&self, a: &Activity) -> bool {
        if self.user_key != "all"
            && !a.email.eq_ignore_ascii_case(&self.user_key)
            && a.profile_id != self.user_key
        {
            return false;
        }
        if self.start_ms.is_some_and(|s| a.time_ms < s)
            || self.end_ms.is_some_and(|e| a.time_ms > e)
        {
            return false;
        }
        if self.actor_ip.as_deref().is_some_and(|ip| a.ip != ip) {
            return false;
        }
        let Some(events) = a.body["events"].as_array() else {
            return false;
        };
        events.iter().any(|e| {
            self.event_name.as_deref().is_none_or(|n| e["name"] == n)
                && self
                    .filters
                    .iter()
                    .all(|(k, op, v)| param_matches(e, k, op, v))
        })
    }
}

fn param_matches(event: &Value, name: &str, op: &str, want: &str) -> bool {
    let Some(p) = event["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
    else {
        return op == "<>";
    };
    let have = if let Some(s) = p["value"].as_str() {
        s.to_string()
    } else if let Some(b) = p["boolValue"].as_bool() {
        b.to_string()
    } else if let Some(i) = p["intValue"].as_str() {
        i.to_string()
    } else if let Some(m) = p["multiValue"].as_array() {
        let hit = m.iter().any(|x| x == want);
        return if op == "<>" { !hit } else { hit && op == "==" };
    } else {
        String::new()
    };
    let num = |s: &str| s.parse::<f64>().ok();
    match op {
        "==" => have == want,
        "<>" => have != want,
        _ => match (num(&have), num(want)) {
            (Some(h), Some(w)) => match op {
                "<" => h < w,
                "<=" => h <= w,
                ">" => h > w,
                _ => h >= w,
            },
            _ => false,
        },
    }
}

/// `GET /admin/reports/v1/activity/users/{userKey}/applications/{app}`.
pub async fn list(
    State(sim): State<GoogleSim>,
    Extension(caller): Extension<Caller>,
    Path((user_key, app)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, GoogleError> {
    require(&caller, &[SCOPE_REPORTS_AUDIT])?;
    let p = Params::parse(raw.as_deref());
    let cfg = sim.config();
    let limit = max_results(&p, cfg.activities_max_page, cfg.activities_max_page)?;
    let sel = Selector::from_params(&user_key, &p)?;
    let after = match p.get("pageToken").filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => {
            let s =
                decode_token(t).ok_or_else(|| GoogleError::invalid("Invalid Input: pageToken"))?;
            let (ms, uq) = s
                .split_once(':')
                .ok_or_else(|| GoogleError::invalid("Invalid Input: pageToken"))?;
            let ms = ms
                .parse::<i64>()
                .map_err(|_| GoogleError::invalid("Invalid Input: pageToken"))?;
            Some((ms, uq.to_string()))
        }
    };
    let now = sim.clock().now_ms();
    let store = sim.store();
    let mut items = Vec::new();
    let mut next = None;
    if app == "login" {
        let mut it = store
            .activities
            .iter()
            .filter(|a| a.visible_ms <= now)
            .filter(|a| match &after {
                None => true,
                Some((ms, uq)) => a.time_ms < *ms || (a.time_ms == *ms && a.unique < *uq),
            })
            .filter(|a| sel.matches(a));
        for a in it.by_ref().take(limit) {
            items.push(a);
        }
        if it.next().is_some() {
            next = items
                .last()
                .map(|a| encode_token(&format!("{}:{}", a.time_ms, a.unique)));
        }
    }
    let mut body = json!({
        "kind": "admin#reports#activities",
        "etag": format!("\"simreports/{}\"", store.activities.len()),
    });
    if !items.is_empty() {
        body["items"] = Value::Array(items.iter().map(|a| a.body.clone()).collect());
    }
    if let Some(n) = next {
        body["nextPageToken"] = json!(n);
    }
    Ok(Json(body).into_response())
}
