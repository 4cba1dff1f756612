//! Account actions: `PATCH /users/{id}` (204), `POST /users/{id}/revokeSignInSessions`
//! (200 with the `Edm.Boolean` body; bumps `signInSessionsValidFromDateTime`),
//! and `POST /identityProtection/riskyUsers/confirmCompromised` (204).
//! Each change is recorded for the delta query and change notifications.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::errors::GraphError;
use super::token::Caller;
use super::users::{base, Answer};
use super::EntraSim;

const READ_ONLY: &[&str] = &[
    "id",
    "createdDateTime",
    "deletedDateTime",
    "signInActivity",
    "signInSessionsValidFromDateTime",
    "lastPasswordChangeDateTime",
];

/// `PATCH /v1.0/users/{id}`.
pub async fn patch_user(
    State(sim): State<EntraSim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: String,
) -> Answer {
    let patch: Value = serde_json::from_str(&body).map_err(|_| {
        GraphError::bad_request("BadRequest", "Empty Payload. JSON content expected.")
    })?;
    let obj = patch.as_object().ok_or_else(|| {
        GraphError::bad_request(
            "BadRequest",
            "Invalid request body: a JSON object is expected.",
        )
    })?;
    let only_enable = !obj.is_empty() && obj.keys().all(|k| k == "accountEnabled");
    if only_enable {
        caller.require(&[
            "User.EnableDisableAccount.All",
            "User.ReadWrite.All",
            "Directory.ReadWrite.All",
        ])?;
    } else {
        caller.require(&["User.ReadWrite.All", "Directory.ReadWrite.All"])?;
    }
    let now = sim.clock().now();
    let mut store = sim.store();
    let idx = store
        .live_user(&id)
        .ok_or_else(|| GraphError::not_found(&id))?;
    if let Some(k) = obj.keys().find(|k| READ_ONLY.contains(&k.as_str())) {
        return Err(GraphError::bad_request(
            "Request_BadRequest",
            format!("Property '{k}' is read-only and cannot be set."),
        ));
    }
    let mut user = store.users[idx].clone();
    for (k, v) in obj {
        if !user.set(k, v) {
            return Err(GraphError::bad_request(
                "Request_BadRequest",
                format!("Invalid value specified for property '{k}' of resource 'User'."),
            ));
        }
    }
    store.users[idx] = user;
    store.touch_props(idx, obj.keys(), now);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v1.0/users/{id}/revokeSignInSessions`.
pub async fn revoke_sessions(
    State(sim): State<EntraSim>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    caller.require(&[
        "User.RevokeSessions.All",
        "User.ReadWrite.All",
        "Directory.ReadWrite.All",
    ])?;
    let now = sim.clock().now();
    let mut store = sim.store();
    let idx = store
        .live_user(&id)
        .ok_or_else(|| GraphError::not_found(&id))?;
    store.users[idx].sessions_valid_from = now;
    let uid = store.users[idx].id.clone();
    *store.revoked.entry(uid).or_insert(0) += 1;
    store.touch_props(idx, [&"signInSessionsValidFromDateTime".to_string()], now);
    drop(store);
    Ok(Json(json!({
        "@odata.context": format!("{}/v1.0/$metadata#Edm.Boolean", base(&sim, &headers)),
        "value": true,
    }))
    .into_response())
}

/// `POST /v1.0/identityProtection/riskyUsers/confirmCompromised`.
pub async fn confirm_compromised(
    State(sim): State<EntraSim>,
    Extension(caller): Extension<Caller>,
    body: String,
) -> Answer {
    caller.require(&["IdentityRiskyUser.ReadWrite.All"])?;
    let v: Value = serde_json::from_str(&body).map_err(|_| {
        GraphError::bad_request("BadRequest", "Empty Payload. JSON content expected.")
    })?;
    let ids: Vec<String> = v
        .get("userIds")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(GraphError::bad_request(
            "BadRequest",
            "The request body must contain 'userIds'.",
        ));
    }
    let mut store = sim.store();
    for id in ids {
        if let Some(i) = store.user_idx(&id) {
            store.users[i].risk_state = "confirmedCompromised";
        }
        store.compromised.push(id);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
