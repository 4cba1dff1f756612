//! Response actions: user lifecycle operations with Okta's status rules,
//! session revocation, factor removal and group membership changes. Each
//! success also lands in the System Log, with the token's admin as actor, as
//! it would in a real org.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::errors::OktaError;
use super::events::{admin_action, group_target};
use super::render::{self, Omit};
use super::routes::base;
use super::state::{Store, User, UserStatus};
use super::OktaSim;

fn find(store: &Store, id: &str) -> Result<User, OktaError> {
    store
        .find_user(id)
        .cloned()
        .ok_or_else(|| OktaError::not_found(id, "User"))
}

fn invalid(op: &str, why: &str) -> OktaError {
    OktaError::validation(op).with_cause(format!("{op}: {why}"))
}

/// Logs an admin action on `target` in the System Log.
fn log_action(
    sim: &OktaSim,
    store: &mut Store,
    target: &User,
    event_type: &'static str,
    display: &'static str,
) {
    let now = sim.clock().now();
    let Some(admin) = store.users.get(&store.admin_id).cloned() else {
        return;
    };
    let org = sim.config().org_url.clone();
    let event = admin_action(
        &mut store.rng,
        now,
        &admin,
        target,
        event_type,
        display,
        &org,
    );
    store.push_event(event, now.timestamp_millis());
}

/// `POST /api/v1/users/{id}/lifecycle/{op}`.
pub async fn lifecycle(
    State(sim): State<OktaSim>,
    headers: HeaderMap,
    Path((id, op)): Path<(String, String)>,
) -> Result<Response, OktaError> {
    let now = sim.clock().now();
    let mut store = sim.store();
    let mut user = find(&store, &id)?;
    let before = user.status;
    let busy = user.transitioning_to.is_some();
    // A deactivated user takes no lifecycle operation but activation: Okta answers those with
    // 403 E0000038 ("This operation is not allowed in the user's current status"), as it does
    // profile updates of deactivated users, not with a validation error.
    if before == UserStatus::Deprovisioned && op != "activate" {
        return Err(OktaError::wrong_status());
    }
    let (event, display): (&'static str, &'static str) = match op.as_str() {
        "suspend" => {
            if before != UserStatus::Active || busy {
                return Err(invalid(
                    "suspend",
                    "Cannot suspend a user that is not ACTIVE",
                ));
            }
            user.status = UserStatus::Suspended;
            ("user.lifecycle.suspend", "Suspend Okta user")
        }
        "unsuspend" => {
            if before != UserStatus::Suspended || busy {
                return Err(invalid(
                    "unsuspend",
                    "Cannot unsuspend a user that is not SUSPENDED",
                ));
            }
            user.status = UserStatus::Active;
            ("user.lifecycle.unsuspend", "Unsuspend Okta user")
        }
        "deactivate" => {
            if before == UserStatus::Deprovisioned || busy {
                return Err(invalid(
                    "deactivate",
                    "Cannot deactivate a user that is already DEPROVISIONED",
                ));
            }
            let asynchronous = headers
                .get("prefer")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.to_ascii_lowercase().contains("respond-async"));
            if asynchronous {
                user.transitioning_to = Some(UserStatus::Deprovisioned);
                finish_later(&sim, user.id.clone());
            } else {
                user.status = UserStatus::Deprovisioned;
            }
            ("user.lifecycle.deactivate", "Deactivate Okta user")
        }
        "reset_factors" => {
            if user.status.never_activated() || before == UserStatus::Deprovisioned {
                return Err(invalid(
                    "reset_factors",
                    "Cannot reset the factors of a user in this status",
                ));
            }
            user.factors.clear();
            ("user.mfa.factor.reset_all", "Reset all factors for user")
        }
        "unlock" => {
            if before != UserStatus::LockedOut && before != UserStatus::Active {
                return Err(invalid(
                    "unlock",
                    "Cannot unlock a user that is not LOCKED_OUT",
                ));
            }
            user.status = UserStatus::Active;
            (
                "user.account.unlock_by_admin",
                "Unlock user account by admin",
            )
        }
        "expire_password" => {
            if !matches!(
                before,
                UserStatus::Active
                    | UserStatus::PasswordExpired
                    | UserStatus::LockedOut
                    | UserStatus::Recovery
            ) {
                return Err(invalid(
                    "expire_password",
                    "Cannot expire the password of a user in this status",
                ));
            }
            user.status = UserStatus::PasswordExpired;
            ("user.account.expire_password", "Expire user password")
        }
        _ => {
            return Err(OktaError::no_route(&format!(
                "/api/v1/users/{id}/lifecycle/{op}"
            )))
        }
    };
    if user.status != before {
        user.status_changed = Some(now);
    }
    user.last_updated = now;
    store.put_user(user.clone());
    log_action(&sim, &mut store, &user, event, display);
    drop(store);
    if op == "expire_password" {
        let base = base(&sim, &headers);
        return Ok(Json(render::user(&user, &base, true, Omit::default())).into_response());
    }
    Ok(Json(json!({})).into_response())
}

/// Completes an asynchronous deactivation after the configured delay.
fn finish_later(sim: &OktaSim, user_id: String) {
    let sim = sim.clone();
    let delay = sim.config().async_deactivate_delay;
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let now = sim.clock().now();
        let mut store = sim.store();
        if let Some(mut u) = store.users.get(&user_id).cloned() {
            if u.transitioning_to == Some(UserStatus::Deprovisioned) {
                u.transitioning_to = None;
                u.status = UserStatus::Deprovisioned;
                u.status_changed = Some(now);
                u.last_updated = now;
                store.put_user(u);
            }
        }
    });
}

/// `DELETE /api/v1/users/{id}/sessions` (`oauthTokens`, `forgetDevices` accepted).
pub async fn clear_sessions(
    State(sim): State<OktaSim>,
    Path(id): Path<String>,
) -> Result<Response, OktaError> {
    let mut store = sim.store();
    let user = find(&store, &id)?;
    log_action(
        &sim,
        &mut store,
        &user,
        "user.session.clear",
        "Clear user session",
    );
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /api/v1/users/{id}/factors/{factorId}`.
pub async fn delete_factor(
    State(sim): State<OktaSim>,
    Path((id, factor_id)): Path<(String, String)>,
) -> Result<Response, OktaError> {
    let now = sim.clock().now();
    let mut store = sim.store();
    let mut user = find(&store, &id)?;
    let before = user.factors.len();
    user.factors.retain(|f| f.id != factor_id);
    if user.factors.len() == before {
        return Err(OktaError::not_found(&factor_id, "UserFactor"));
    }
    user.last_updated = now;
    store.put_user(user.clone());
    log_action(
        &sim,
        &mut store,
        &user,
        "user.mfa.factor.deactivate",
        "Reset factor for user",
    );
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn membership(
    sim: OktaSim,
    group_id: String,
    user_key: String,
    add: bool,
) -> Result<Response, OktaError> {
    let now = sim.clock().now();
    let mut store = sim.store();
    let group = store
        .groups
        .get(&group_id)
        .cloned()
        .ok_or_else(|| OktaError::not_found(&group_id, "UserGroup"))?;
    let user = find(&store, &user_key)?;
    // Okta: only OKTA_GROUP memberships can be changed through the API.
    if group.group_type != "OKTA_GROUP" {
        return Err(OktaError::forbidden());
    }
    let changed = if add {
        store.add_member(&group_id, &user.id, now)
    } else {
        store.remove_member(&group_id, &user.id, now)
    };
    if changed {
        let (event, display) = if add {
            ("group.user_membership.add", "Add user to group membership")
        } else {
            (
                "group.user_membership.remove",
                "Remove user from group membership",
            )
        };
        let Some(admin) = store.users.get(&store.admin_id).cloned() else {
            return Ok(StatusCode::NO_CONTENT.into_response());
        };
        let org = sim.config().org_url.clone();
        let mut ev = admin_action(&mut store.rng, now, &admin, &user, event, display, &org);
        if let Some(targets) = ev.get_mut("target").and_then(|t| t.as_array_mut()) {
            targets.push(group_target(&group.id, &group.name));
        }
        store.push_event(ev, now.timestamp_millis());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PUT /api/v1/groups/{groupId}/users/{userId}`.
pub async fn add_member(
    State(sim): State<OktaSim>,
    Path((g, u)): Path<(String, String)>,
) -> Result<Response, OktaError> {
    membership(sim, g, u, true).await
}

/// `DELETE /api/v1/groups/{groupId}/users/{userId}`.
pub async fn remove_member(
    State(sim): State<OktaSim>,
    Path((g, u)): Path<(String, String)>,
) -> Result<Response, OktaError> {
    membership(sim, g, u, false).await
}
