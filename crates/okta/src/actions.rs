//! Response actions at Okta, each idempotent: the user's status is read first and an action that
//! would not change anything reports `changed: false` without calling Okta's lifecycle API.
//!
//! | action | Okta call (management spec) | no-op when |
//! |---|---|---|
//! | `disable_account` (`disable_mode: suspend`) | `POST /api/v1/users/{id}/lifecycle/suspend` | `SUSPENDED` or `DEPROVISIONED` |
//! | `disable_account` (`disable_mode: deactivate`) | `POST /api/v1/users/{id}/lifecycle/deactivate?sendEmail=false` | `DEPROVISIONED` or transitioning to it |
//! | `enable_account` | `POST …/lifecycle/unsuspend` (`SUSPENDED`), `POST …/lifecycle/unlock` (`LOCKED_OUT`) | any other status but `DEPROVISIONED` |
//! | `revoke_sessions` | `DELETE /api/v1/users/{id}/sessions?oauthTokens=true` | never (Okta does not say whether any session existed) |
//! | `enforce_mfa` | `PUT /api/v1/groups/{mfa_group_id}/users/{id}` when configured and not yet a member; `POST …/lifecycle/reset_factors` when factors are enrolled and the user is `SUSPENDED`, or with `enforce_mfa_reset_factors: true` only after `POST …/lifecycle/expire_password` and `DELETE …/sessions` | no factors reset and already in the group |
//!
//! A lifecycle call that Okta refuses with 400 (an invalid transition after a concurrent change;
//! the spec documents a 400 for suspend and unsuspend, with `E0000028` as its example code, and
//! invalid transitions are commonly `E0000001`, so every 400 is treated alike) is re-checked:
//! when the user's status now shows the asked-for state, the action is a no-op; otherwise Okta's
//! refusal is reported as `Forbidden` with its code and summary.

use gatehouse_core::model::ActionKind;
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{AccountState, ActionReport, ActionTarget};
use http::{Method, StatusCode};
use serde_json::Value;

use crate::config::DisableMode;
use crate::connector::OktaConnector;
use crate::errors::{error_from_response, OktaError};

pub(crate) async fn act(
    connector: &OktaConnector,
    action: ActionKind,
    target: &ActionTarget,
) -> Result<ActionReport, ConnectorError> {
    // The external id from the directory pull; the login only when no id is known (Okta's
    // `GET /api/v1/users/{id}` accepts either, the other calls then use the id it returns).
    let by_id = !target.external_id.trim().is_empty();
    let reference = if by_id {
        target.external_id.trim()
    } else {
        target.login.trim()
    };
    if reference.is_empty() {
        return Err(ConnectorError::NotFound(
            "the action's target has neither an Okta user id nor a login".into(),
        ));
    }
    let report = match action {
        ActionKind::DisableAccount => match connector.settings.disable_mode {
            DisableMode::Suspend => suspend(connector, reference).await,
            DisableMode::Deactivate => deactivate(connector, reference).await,
        },
        ActionKind::EnableAccount => enable(connector, reference).await,
        ActionKind::RevokeSessions => {
            let id = if by_id {
                reference.to_owned()
            } else {
                user_state(connector, reference).await?.id
            };
            revoke_sessions(connector, &id).await
        }
        ActionKind::EnforceMfa => enforce_mfa(connector, reference).await,
    }?;
    tracing::info!(
        action = ?action,
        user = reference,
        changed = report.changed,
        detail = %report.detail,
        "okta response action done"
    );
    Ok(report)
}

/// What the action needs to know about the user.
struct UserState {
    id: String,
    status: String,
    transitioning_to: Option<String>,
}

/// `GET /api/v1/users/{id}` (an id or a login, as Okta accepts both).
async fn user_state(
    connector: &OktaConnector,
    reference: &str,
) -> Result<UserState, ConnectorError> {
    let url = connector.endpoint(&["api", "v1", "users", reference]);
    let (user, _) = connector.get_json("user", &url, "reading the user").await?;
    let text = |key: &str| {
        user.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Ok(UserState {
        id: text("id").unwrap_or_else(|| reference.to_owned()),
        status: text("status").unwrap_or_default().to_ascii_uppercase(),
        transitioning_to: text("transitioningToStatus").map(|s| s.to_ascii_uppercase()),
    })
}

/// Okta's "This operation is not allowed in the user's current status" (HTTP 403).
const WRONG_STATUS: &str = "E0000038";

/// What Okta said to a lifecycle operation.
enum Lifecycle {
    Done,
    /// 400, or 403 E0000038: the transition is not valid for the user's current status.
    Refused(OktaError),
}

/// `POST /api/v1/users/{id}/lifecycle/{operation}`.
async fn lifecycle(
    connector: &OktaConnector,
    id: &str,
    operation: &str,
    query: &[(&str, &str)],
) -> Result<Lifecycle, ConnectorError> {
    let mut url = connector.endpoint(&["api", "v1", "users", id, "lifecycle", operation]);
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    let fetched = connector.send("lifecycle", Method::POST, &url).await?;
    if fetched.status.is_success() {
        Ok(Lifecycle::Done)
    } else if fetched.status == StatusCode::BAD_REQUEST {
        Ok(Lifecycle::Refused(OktaError::parse(&fetched.body)))
    } else if fetched.status == StatusCode::FORBIDDEN
        && OktaError::parse(&fetched.body).code.as_deref() == Some(WRONG_STATUS)
    {
        // 403 E0000038 is a status refusal, not a missing permission: re-read like a 400.
        Ok(Lifecycle::Refused(OktaError::parse(&fetched.body)))
    } else {
        Err(error_from_response(
            fetched.status,
            &fetched.body,
            &format!("{operation} at Okta"),
        ))
    }
}

fn no_op(detail: String) -> ActionReport {
    ActionReport {
        changed: false,
        detail,
        account: None,
    }
}

fn done(detail: String) -> ActionReport {
    ActionReport {
        changed: true,
        detail,
        account: None,
    }
}

/// A report that also says the user's Okta status after the action.
fn with_status(report: ActionReport, okta_status: &str) -> ActionReport {
    let (status, status_flags) = crate::users::map_status(okta_status);
    ActionReport {
        account: Some(AccountState {
            status,
            status_flags,
        }),
        ..report
    }
}

/// Okta refused a transition and the user's state does not show it happened anyway.
fn refused(operation: &str, status: &str, error: &OktaError) -> ConnectorError {
    ConnectorError::Forbidden(refused_message(operation, status, error))
}

fn refused_message(operation: &str, status: &str, error: &OktaError) -> String {
    format!(
        "Okta refused to {operation} the user (status {status}): {}",
        error.describe(StatusCode::BAD_REQUEST)
    )
}

async fn suspend(
    connector: &OktaConnector,
    reference: &str,
) -> Result<ActionReport, ConnectorError> {
    let user = user_state(connector, reference).await?;
    match user.status.as_str() {
        "SUSPENDED" => {
            return Ok(with_status(
                no_op("the user is already suspended".into()),
                &user.status,
            ))
        }
        "DEPROVISIONED" => return Ok(with_status(
            no_op(
                "the user is deactivated (DEPROVISIONED) and cannot sign in; nothing to suspend"
                    .into(),
            ),
            &user.status,
        )),
        _ => {}
    }
    match lifecycle(connector, &user.id, "suspend", &[]).await? {
        Lifecycle::Done => Ok(with_status(
            done(format!("suspended the user (was {})", user.status)),
            "SUSPENDED",
        )),
        Lifecycle::Refused(error) => {
            let now = user_state(connector, &user.id).await?;
            if matches!(now.status.as_str(), "SUSPENDED" | "DEPROVISIONED") {
                Ok(with_status(
                    no_op(format!(
                        "the user is already {}",
                        now.status.to_ascii_lowercase()
                    )),
                    &now.status,
                ))
            } else if now.status != "ACTIVE" {
                // Okta suspends only ACTIVE users; say what would contain this one.
                Err(ConnectorError::Forbidden(format!(
                    "{}; Okta suspends only ACTIVE users, so a {} user is contained with \
                     disable_mode: deactivate (destructive) or in the Okta admin console",
                    refused_message("suspend", &now.status, &error),
                    now.status
                )))
            } else {
                Err(refused("suspend", &now.status, &error))
            }
        }
    }
}

async fn deactivate(
    connector: &OktaConnector,
    reference: &str,
) -> Result<ActionReport, ConnectorError> {
    let user = user_state(connector, reference).await?;
    if user.status == "DEPROVISIONED" {
        return Ok(with_status(
            no_op("the user is already deactivated".into()),
            &user.status,
        ));
    }
    if user.transitioning_to.as_deref() == Some("DEPROVISIONED") {
        return Ok(no_op(
            "the user's deactivation is already in progress".into(),
        ));
    }
    match lifecycle(connector, &user.id, "deactivate", &[("sendEmail", "false")]).await? {
        Lifecycle::Done => Ok(with_status(
            done(format!(
                "deactivated the user (was {}); Okta deprovisions their app assignments",
                user.status
            )),
            "DEPROVISIONED",
        )),
        Lifecycle::Refused(error) => {
            let now = user_state(connector, &user.id).await?;
            if now.status == "DEPROVISIONED" {
                Ok(with_status(
                    no_op("the user is already deactivated".into()),
                    &now.status,
                ))
            } else if now.transitioning_to.as_deref() == Some("DEPROVISIONED") {
                Ok(no_op("the user is already deactivated".into()))
            } else {
                Err(refused("deactivate", &now.status, &error))
            }
        }
    }
}

async fn enable(
    connector: &OktaConnector,
    reference: &str,
) -> Result<ActionReport, ConnectorError> {
    let user = user_state(connector, reference).await?;
    let (operation, result_status) = match user.status.as_str() {
        "SUSPENDED" => ("unsuspend", "ACTIVE"),
        "LOCKED_OUT" => ("unlock", "ACTIVE"),
        "DEPROVISIONED" => {
            return Err(ConnectorError::Unsupported(
                "enabling a deactivated (DEPROVISIONED) Okta user; reactivate it in Okta",
            ))
        }
        other => {
            return Ok(with_status(
                no_op(format!(
                    "the user is not suspended or locked (status {other}); nothing to enable"
                )),
                other,
            ))
        }
    };
    match lifecycle(connector, &user.id, operation, &[]).await? {
        Lifecycle::Done => Ok(with_status(
            done(format!("{operation}ed the user (was {})", user.status)),
            result_status,
        )),
        Lifecycle::Refused(error) => {
            let now = user_state(connector, &user.id).await?;
            if now.status == result_status {
                Ok(with_status(
                    no_op("the user is already active".into()),
                    &now.status,
                ))
            } else {
                Err(refused(operation, &now.status, &error))
            }
        }
    }
}

async fn revoke_sessions(
    connector: &OktaConnector,
    id: &str,
) -> Result<ActionReport, ConnectorError> {
    let mut url = connector.endpoint(&["api", "v1", "users", id, "sessions"]);
    // `forgetDevices` defaults to true only in Identity Engine (false in Classic): said
    // explicitly, so a remembered device cannot skip MFA at the attacker's next sign-in.
    url.query_pairs_mut()
        .append_pair("oauthTokens", "true")
        .append_pair("forgetDevices", "true");
    let fetched = connector.send("sessions", Method::DELETE, &url).await?;
    if !fetched.status.is_success() {
        return Err(error_from_response(
            fetched.status,
            &fetched.body,
            "revoking the user's sessions",
        ));
    }
    Ok(done(
        "revoked the user's Okta sessions and OAuth/OIDC tokens, and forgot their remembered devices".into(),
    ))
}

/// Resetting factors alone hands the account to whoever holds its password (the usual case
/// behind MFA fatigue or a successful spray): they sign in and enrol their own factor. So
/// factors are reset only where that cannot happen — while the user is suspended, or, with
/// `enforce_mfa_reset_factors: true`, after the password is expired and the sessions revoked —
/// and otherwise left alone, with the reason in the report.
async fn enforce_mfa(
    connector: &OktaConnector,
    reference: &str,
) -> Result<ActionReport, ConnectorError> {
    let user = user_state(connector, reference).await?;
    if user.status == "DEPROVISIONED" {
        return Ok(no_op(
            "the user is deactivated (DEPROVISIONED); nothing to enforce".into(),
        ));
    }
    let mut details = Vec::new();
    let mut changed = false;

    // Okta's reset_factors "is present only if the user is currently enrolled in one or more MFA
    // factors", so it is called only then; the user re-enrolls under the enrollment policy.
    let factors = enrolled_factors(connector, &user.id).await?;
    if factors.is_empty() {
        // Nothing to reset: the user enrolls (or not) as the org's enrollment policy says.
        details.push(
            "no MFA factors enrolled to reset (the org's enrollment policy decides whether the \
             user must enroll at the next sign-in)"
                .to_owned(),
        );
    } else if user.status == "SUSPENDED" {
        // Nobody can sign in to enrol a factor until an administrator unsuspends the user.
        changed |= reset_factors(connector, &user, factors.len(), &mut details).await?;
    } else if connector.settings.enforce_mfa_reset_factors {
        if expire_password(connector, &user, &mut details).await? {
            revoke_sessions(connector, &user.id).await?;
            details.push("revoked the user's sessions".to_owned());
            changed = true;
            changed |= reset_factors(connector, &user, factors.len(), &mut details).await?;
        }
    } else {
        details.push(format!(
            "left the {} enrolled MFA factor(s) alone: resetting them while the account is \
             active lets whoever holds the password enrol their own factor (set \
             enforce_mfa_reset_factors: true to reset them together with a password expiry and \
             a session revocation, or suspend the account first)",
            factors.len()
        ));
    }

    if let Some(group) = connector.settings.mfa_group_id.as_deref() {
        if is_member(connector, &user.id, group).await? {
            details.push(format!("already a member of the MFA group {group}"));
        } else {
            let url = connector.endpoint(&["api", "v1", "groups", group, "users", &user.id]);
            let fetched = connector
                .send("group-membership", Method::PUT, &url)
                .await?;
            if !fetched.status.is_success() {
                return Err(error_from_response(
                    fetched.status,
                    &fetched.body,
                    "adding the user to the MFA group",
                ));
            }
            changed = true;
            details.push(format!("added the user to the MFA group {group}"));
        }
    }
    Ok(ActionReport {
        changed,
        detail: details.join("; "),
        account: None,
    })
}

/// `POST …/lifecycle/reset_factors`; whether factors were reset.
async fn reset_factors(
    connector: &OktaConnector,
    user: &UserState,
    count: usize,
    details: &mut Vec<String>,
) -> Result<bool, ConnectorError> {
    match lifecycle(connector, &user.id, "reset_factors", &[]).await? {
        Lifecycle::Done => {
            details.push(format!(
                "reset {count} enrolled MFA factor(s); the user must enroll again"
            ));
            Ok(true)
        }
        Lifecycle::Refused(error) => {
            if enrolled_factors(connector, &user.id).await?.is_empty() {
                details.push("no MFA factors enrolled to reset".to_owned());
                Ok(false)
            } else {
                Err(refused("reset the factors of", &user.status, &error))
            }
        }
    }
}

/// `POST …/lifecycle/expire_password` (without a temporary password: Gatehouse must never hold
/// one); whether the password is now expired. A status Okta cannot expire (staged, provisioned)
/// leaves the factors alone, with the reason in `details`.
async fn expire_password(
    connector: &OktaConnector,
    user: &UserState,
    details: &mut Vec<String>,
) -> Result<bool, ConnectorError> {
    match lifecycle(connector, &user.id, "expire_password", &[]).await? {
        Lifecycle::Done => {
            details.push(
                "expired the user's password (they must change it at the next sign-in)".to_owned(),
            );
            Ok(true)
        }
        Lifecycle::Refused(error) => {
            details.push(format!(
                "left the MFA factors alone: {}",
                refused_message("expire the password of", &user.status, &error)
            ));
            Ok(false)
        }
    }
}

/// `GET /api/v1/users/{id}/factors`.
async fn enrolled_factors(
    connector: &OktaConnector,
    id: &str,
) -> Result<Vec<Value>, ConnectorError> {
    let url = connector.endpoint(&["api", "v1", "users", id, "factors"]);
    let (factors, _) = connector
        .get_json("user-factors", &url, "listing the user's factors")
        .await?;
    match factors {
        Value::Array(factors) => Ok(factors),
        _ => Err(ConnectorError::Protocol(
            "listing the user's factors: Okta's answer is not a JSON array".into(),
        )),
    }
}

/// Whether the user is in `group`, from `GET /api/v1/users/{id}/groups` (every page).
async fn is_member(
    connector: &OktaConnector,
    id: &str,
    group: &str,
) -> Result<bool, ConnectorError> {
    let url = connector.endpoint(&["api", "v1", "users", id, "groups"]);
    let matches = connector
        .collect_all("user-groups", url, "listing the user's groups", |g| {
            (g.get("id").and_then(Value::as_str) == Some(group)).then_some(())
        })
        .await?;
    Ok(!matches.is_empty())
}
