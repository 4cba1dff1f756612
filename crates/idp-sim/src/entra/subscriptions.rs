//! Change notifications for users: `POST/GET/PATCH/DELETE /subscriptions`
//! with the documented limits (users: at most 41,760 minutes ahead,
//! `clientState` at most 128 characters), the validation handshake on
//! create (`POST {notificationUrl}?validationToken=…` as `text/plain`,
//! answer 200 with the decoded token as plain text within 10 s, else 400
//! `ValidationError`), and the sender that posts `changeNotificationCollection`
//! bodies and records the status each delivery got.
//!
//! Deviation: Graph requires an HTTPS `notificationUrl`; the sim accepts
//! plain HTTP so tests can receive on loopback. Failed deliveries are not
//! retried (Graph retries for up to 4 hours).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::errors::GraphError;
use super::model::{fmt_ts, Delivery, Subscription};
use super::token::Caller;
use super::users::{base, Answer, USER_READ};
use super::EntraSim;
use crate::common::http::encode;

const CHANGE_TYPES: &[&str] = &["created", "updated", "deleted"];

fn parse_expiration(sim: &EntraSim, v: Option<&Value>) -> Result<DateTime<Utc>, GraphError> {
    let text = v.and_then(Value::as_str).ok_or_else(|| {
        GraphError::bad_request(
            "InvalidRequest",
            "expirationDateTime is a required property for subscription creation.",
        )
    })?;
    let t = DateTime::parse_from_rfc3339(text)
        .map_err(|_| {
            GraphError::bad_request(
                "InvalidRequest",
                format!("Invalid expirationDateTime '{text}'."),
            )
        })?
        .with_timezone(&Utc);
    let now = sim.clock().now();
    let max = sim.config().max_subscription_minutes;
    if t <= now {
        return Err(GraphError::bad_request(
            "InvalidRequest",
            "Subscription expiration must be in the future.",
        ));
    }
    if t > now + chrono::Duration::minutes(max) {
        return Err(GraphError::bad_request(
            "InvalidRequest",
            format!("Subscription expiration can only be {max} minutes in the future."),
        ));
    }
    Ok(t)
}

/// `url` with `validationToken` appended, keeping its own query.
fn with_token(url: &str, token: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}validationToken={}", encode(token))
}

/// Performs the validation handshake against `url`.
async fn validate(sim: &EntraSim, url: &str) -> Result<(), GraphError> {
    let request_id = sim.store().rng.uuid();
    let token = format!(
        "Validation: Testing client application reachability for subscription Request-Id: {request_id}"
    );
    let sent = sim
        .shared
        .http
        .post(with_token(url, &token))
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::CONTENT_LENGTH, "0")
        .timeout(sim.config().validation_timeout)
        .send()
        .await;
    let failed = || {
        GraphError::bad_request(
            "ValidationError",
            "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.",
        )
    };
    let resp = sent.map_err(|_| failed())?;
    if resp.status().as_u16() != 200 {
        return Err(failed());
    }
    let text = resp.text().await.map_err(|_| failed())?;
    if text != token {
        return Err(GraphError::bad_request(
            "ValidationError",
            "Subscription validation request failed. Response must exactly match validationToken query parameter.",
        ));
    }
    Ok(())
}

fn parse_body(body: &str) -> Result<serde_json::Map<String, Value>, GraphError> {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .ok_or_else(|| {
            GraphError::bad_request("BadRequest", "Empty Payload. JSON content expected.")
        })
}

/// `POST /v1.0/subscriptions`.
pub async fn create(
    State(sim): State<EntraSim>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: String,
) -> Answer {
    caller.require(USER_READ)?;
    let b = parse_body(&body)?;
    let text = |k: &str| b.get(k).and_then(Value::as_str).map(String::from);
    let resource = text("resource").ok_or_else(|| {
        GraphError::bad_request(
            "InvalidRequest",
            "resource is a required property for subscription creation.",
        )
    })?;
    let res = resource.trim_start_matches('/').to_ascii_lowercase();
    if res != "users" && !res.starts_with("users/") {
        return Err(GraphError::bad_request(
            "InvalidRequest",
            format!("Resource '{resource}' is not supported by this simulator; only 'users' is."),
        ));
    }
    let change_type = text("changeType").ok_or_else(|| {
        GraphError::bad_request(
            "InvalidRequest",
            "changeType is a required property for subscription creation.",
        )
    })?;
    let change_types: Vec<String> = change_type
        .split(',')
        .map(|c| c.trim().to_string())
        .collect();
    if let Some(bad) = change_types
        .iter()
        .find(|c| !CHANGE_TYPES.contains(&c.as_str()))
    {
        return Err(GraphError::bad_request(
            "InvalidRequest",
            format!("'{bad}' is not a valid change type."),
        ));
    }
    let url = text("notificationUrl").ok_or_else(|| {
        GraphError::bad_request(
            "InvalidRequest",
            "notificationUrl is a required property for subscription creation.",
        )
    })?;
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(GraphError::bad_request(
            "InvalidRequest",
            "Invalid notification url.",
        ));
    }
    let client_state = text("clientState");
    if client_state
        .as_ref()
        .is_some_and(|c| c.chars().count() > 128)
    {
        return Err(GraphError::bad_request(
            "InvalidRequest",
            "clientState cannot be longer than 128 characters.",
        ));
    }
    let expiration = parse_expiration(&sim, b.get("expirationDateTime"))?;
    let lifecycle = text("lifecycleNotificationUrl");
    validate(&sim, &url).await?;
    if let Some(l) = &lifecycle {
        validate(&sim, l).await?;
    }
    let mut store = sim.store();
    let sub = Subscription {
        id: store.rng.uuid(),
        resource,
        change_types,
        notification_url: url,
        lifecycle_url: lifecycle,
        client_state,
        expiration,
        app_id: caller.client_id.clone(),
        creator_id: store.rng.uuid(),
    };
    let out = sub.render(&base(&sim, &headers));
    store.subscriptions.push(sub);
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// `GET /v1.0/subscriptions`.
pub async fn list(
    State(sim): State<EntraSim>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Answer {
    let now = sim.clock().now();
    let b = base(&sim, &headers);
    let value: Vec<Value> = sim
        .store()
        .subscriptions
        .iter()
        .filter(|s| s.app_id == caller.client_id && s.expiration > now)
        .map(|s| {
            let mut v = s.render(&b);
            if let Some(o) = v.as_object_mut() {
                o.remove("@odata.context");
            }
            v
        })
        .collect();
    Ok(Json(json!({
        "@odata.context": format!("{b}/v1.0/$metadata#subscriptions"),
        "value": value,
    }))
    .into_response())
}

fn find(sim: &EntraSim, caller: &Caller, id: &str) -> Result<usize, GraphError> {
    let now = sim.clock().now();
    sim.store()
        .subscriptions
        .iter()
        .position(|s| s.id == id && s.app_id == caller.client_id && s.expiration > now)
        .ok_or_else(|| GraphError::not_found(id))
}

/// `GET /v1.0/subscriptions/{id}`.
pub async fn get_one(
    State(sim): State<EntraSim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let i = find(&sim, &caller, &id)?;
    let v = sim.store().subscriptions[i].render(&base(&sim, &headers));
    Ok(Json(v).into_response())
}

/// `PATCH /v1.0/subscriptions/{id}` (renewal).
pub async fn renew(
    State(sim): State<EntraSim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Answer {
    let i = find(&sim, &caller, &id)?;
    let b = parse_body(&body)?;
    let expiration = parse_expiration(&sim, b.get("expirationDateTime"))?;
    let mut store = sim.store();
    let s = store
        .subscriptions
        .get_mut(i)
        .ok_or_else(|| GraphError::not_found(&id))?;
    s.expiration = expiration;
    let v = s.render(&base(&sim, &headers));
    Ok(Json(v).into_response())
}

/// `DELETE /v1.0/subscriptions/{id}`.
pub async fn delete(
    State(sim): State<EntraSim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Answer {
    let i = find(&sim, &caller, &id)?;
    let mut store = sim.store();
    store.subscriptions.remove(i);
    store.pending.retain(|p| p.subscription_id != id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Posts every pending notification (batched per subscription, at most 100
/// a request); returns the status each POST got (0 = unreachable).
pub async fn deliver(sim: &EntraSim) -> Vec<u16> {
    let _one_at_a_time = sim.shared.delivering.lock().await;
    let now = sim.clock().now();
    let tenant = sim.config().directory_id.clone();
    let batches: Vec<(String, String, Value)> = {
        let mut store = sim.store();
        let pending = std::mem::take(&mut store.pending);
        let mut by_sub: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut order = Vec::new();
        for p in pending {
            let notification_id = store.rng.uuid();
            let Some(s) = store
                .subscriptions
                .iter()
                .find(|s| s.id == p.subscription_id && s.expiration > now)
            else {
                continue;
            };
            let item = json!({
                "id": notification_id,
                "subscriptionId": s.id,
                "subscriptionExpirationDateTime": fmt_ts(s.expiration),
                "changeType": p.change_type,
                "resource": format!("Users/{}", p.user_id),
                "resourceData": {
                    "@odata.type": "#Microsoft.Graph.User",
                    "@odata.id": format!("Users/{}", p.user_id),
                    "id": p.user_id,
                    "organizationId": tenant,
                },
                "clientState": s.client_state,
                "tenantId": tenant,
            });
            if !by_sub.contains_key(&s.id) {
                order.push((s.id.clone(), s.notification_url.clone()));
            }
            by_sub.entry(s.id.clone()).or_default().push(item);
        }
        let mut out = Vec::new();
        for (id, url) in order {
            for chunk in by_sub.remove(&id).unwrap_or_default().chunks(100) {
                out.push((id.clone(), url.clone(), json!({"value": chunk})));
            }
        }
        out
    };
    let mut statuses = Vec::new();
    for (sub, url, body) in batches {
        let status = match sim
            .shared
            .http
            .post(&url)
            .json(&body)
            .timeout(sim.config().notification_timeout)
            .send()
            .await
        {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        };
        statuses.push(status);
        sim.store().deliveries.push(Delivery {
            subscription_id: sub,
            url,
            status,
            body,
        });
    }
    statuses
}
