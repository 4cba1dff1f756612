//! Reports API push channels: `activities.watch` (a `web_hook` channel on
//! the login activities a list with the same selection would show),
//! `channels.stop` (`POST /admin/reports_v1/channels/stop`), and delivery: a
//! `sync` message first, then one POST per newly visible matching activity
//! with the `X-Goog-Channel-*`/`X-Goog-Resource-*` headers,
//! `X-Goog-Resource-State` = the event name, `X-Goog-Message-Number`
//! counting up, and the activity as the JSON body.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::errors::GoogleError;
use super::model::{Channel, Notification};
use super::reports::Selector;
use super::token::{require, Caller};
use super::{GoogleSim, SCOPE_REPORTS_AUDIT};
use crate::common::http::Params;

fn channel_json(c: &Channel) -> Value {
    let mut v = json!({
        "kind": "api#channel",
        "id": c.id,
        "resourceId": c.resource_id,
        "resourceUri": c.resource_uri,
        "expiration": c.expiration_ms.to_string(),
    });
    if let Some(t) = &c.token {
        v["token"] = json!(t);
    }
    v
}

/// `POST /admin/reports/v1/activity/users/{userKey}/applications/{app}/watch`.
pub async fn watch(
    State(sim): State<GoogleSim>,
    Extension(caller): Extension<Caller>,
    Path((user_key, app)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    body: axum::body::Bytes,
) -> Result<Response, GoogleError> {
    require(&caller, &[SCOPE_REPORTS_AUDIT])?;
    if app != "login" {
        return Err(GoogleError::invalid(format!(
            "Invalid value '{app}' for applicationName"
        )));
    }
    let req: Value = serde_json::from_slice(&body)
        .map_err(|_| GoogleError::new(StatusCode::BAD_REQUEST, "parseError", "Parse Error"))?;
    let p = Params::parse(raw.as_deref());
    let sel = Selector::from_params(&user_key, &p)?;
    let id = req["id"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            GoogleError::new(StatusCode::BAD_REQUEST, "required", "Channel id required")
        })?
        .to_string();
    if !matches!(req["type"].as_str(), Some("web_hook" | "webhook")) {
        return Err(GoogleError::invalid("Invalid value for: type"));
    }
    let address = req["address"]
        .as_str()
        .filter(|a| a.starts_with("http"))
        .ok_or_else(|| GoogleError::invalid("Invalid value for: address"))?
        .to_string();
    let now = sim.clock().now_ms();
    let cap = now + sim.config().channel_max_lifetime.as_millis() as i64;
    let asked = req["expiration"]
        .as_str()
        .and_then(|s| s.parse::<i64>().ok())
        .or_else(|| req["expiration"].as_i64());
    let expiration_ms = asked.map(|e| e.min(cap)).unwrap_or(cap);
    let mut store = sim.store();
    if store.channels.contains_key(&id) {
        return Err(GoogleError::duplicate(&format!(
            "Channel id {id} not unique"
        )));
    }
    let resource_id = store.rng.base62(27);
    // Activities visible now are not news for this channel.
    let seen = store
        .activities
        .iter()
        .filter(|a| a.visible_ms <= now)
        .map(|a| format!("{}:{}", a.time_ms, a.unique))
        .collect();
    let base = sim
        .config()
        .public_base_url
        .clone()
        .unwrap_or_else(|| "https://admin.googleapis.com".into());
    let channel = Channel {
        id: id.clone(),
        resource_id,
        resource_uri: format!(
            "{base}/admin/reports/v1/activity/users/{}/applications/{app}?alt=json",
            sel.user_key
        ),
        address,
        token: req["token"].as_str().map(String::from),
        expiration_ms,
        user_key: sel.user_key.clone(),
        event_name: sel.event_name.clone(),
        stopped: false,
        next_message: 2,
        seen,
        pending: vec![Notification {
            state: "sync".into(),
            message_number: 1,
            body: None,
        }],
        deliveries: Vec::new(),
    };
    let out = channel_json(&channel);
    store.channels.insert(id, channel);
    Ok(Json(out).into_response())
}

/// `POST /admin/reports_v1/channels/stop`: 204.
pub async fn stop(
    State(sim): State<GoogleSim>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<Response, GoogleError> {
    require(&caller, &[SCOPE_REPORTS_AUDIT])?;
    let req: Value = serde_json::from_slice(&body)
        .map_err(|_| GoogleError::new(StatusCode::BAD_REQUEST, "parseError", "Parse Error"))?;
    let id = req["id"].as_str().unwrap_or_default();
    let rid = req["resourceId"].as_str().unwrap_or_default();
    let mut store = sim.store();
    match store.channels.get_mut(id) {
        Some(c) if c.resource_id == rid && !c.stopped => {
            c.stopped = true;
            c.pending.clear();
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(GoogleError::not_found(&format!("Channel '{id}'"))),
    }
}

/// Queues a notification for each newly visible activity a live channel selects.
fn queue_due(sim: &GoogleSim) {
    let now = sim.clock().now_ms();
    let mut store = sim.store();
    let store = &mut *store;
    for c in store.channels.values_mut() {
        if c.stopped || c.expiration_ms <= now {
            continue;
        }
        let sel = Selector {
            user_key: c.user_key.clone(),
            event_name: c.event_name.clone(),
            ..Selector::default()
        };
        // Oldest first, so message numbers follow visibility order.
        for a in store.activities.iter().rev() {
            if a.visible_ms > now || !sel.matches(a) {
                continue;
            }
            let key = format!("{}:{}", a.time_ms, a.unique);
            if c.seen.insert(key) {
                c.pending.push(Notification {
                    state: a.event_name(),
                    message_number: c.next_message,
                    body: Some(a.body.clone()),
                });
                c.next_message += 1;
            }
        }
    }
}

fn http_date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default()
}

/// Queues what is due, then posts every pending notification in order.
pub async fn deliver(sim: &GoogleSim) -> Vec<u16> {
    let _one_at_a_time = sim.shared.delivering.lock().await;
    queue_due(sim);
    let batch: Vec<(Channel, Notification)> = {
        let mut store = sim.store();
        let mut out = Vec::new();
        for c in store.channels.values_mut() {
            for n in std::mem::take(&mut c.pending) {
                out.push((c.clone(), n));
            }
        }
        out
    };
    let mut statuses = Vec::new();
    for (c, n) in batch {
        let mut req = sim
            .shared
            .http
            .post(&c.address)
            .header("Content-Type", "application/json; utf-8")
            .header("X-Goog-Channel-ID", &c.id)
            .header("X-Goog-Channel-Expiration", http_date(c.expiration_ms))
            .header("X-Goog-Resource-ID", &c.resource_id)
            .header("X-Goog-Resource-URI", &c.resource_uri)
            .header("X-Goog-Resource-State", &n.state)
            .header("X-Goog-Message-Number", n.message_number.to_string());
        if let Some(t) = &c.token {
            req = req.header("X-Goog-Channel-Token", t);
        }
        req = match &n.body {
            Some(b) => req.body(b.to_string()),
            None => req.body(""),
        };
        let status = match req.send().await {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        };
        statuses.push(status);
        if let Some(ch) = sim.store().channels.get_mut(&c.id) {
            ch.deliveries
                .push((n.message_number, n.state.clone(), status));
        }
    }
    statuses
}
