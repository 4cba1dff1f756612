//! Response actions through Graph, each idempotent: the state is read first where Graph lets
//! us, and an action that would change nothing reports `changed: false`.
//!
//! | action | Graph call | permission (application) | no-op when |
//! |---|---|---|---|
//! | `disable_account` | `PATCH /users/{id}` `{"accountEnabled": false}` | User.EnableDisableAccount.All (or User.ReadWrite.All) | `accountEnabled` already false |
//! | `enable_account` | `PATCH /users/{id}` `{"accountEnabled": true}` | same | already true |
//! | `revoke_sessions` | `POST /users/{id}/revokeSignInSessions` | User.RevokeSessions.All | never (Graph does not say whether a session existed) |
//! | `enforce_mfa` | `POST /groups/{mfa_group_id}/members/$ref` (a Conditional Access policy requiring MFA targets the group); with `confirm_compromised`, `POST /identityProtection/riskyUsers/confirmCompromised` | GroupMember.ReadWrite.All; IdentityRiskyUser.ReadWrite.All and Entra ID P2 | already a member ("One or more added object references already exist"), and already confirmed compromised |
//!
//! 429s are waited out by the shared client (`Retry-After`); Identity Protection calls use their
//! own bucket, as Graph throttles them apart and more tightly.

use gatehouse_core::model::{ActionKind, UserStatus};
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{AccountState, ActionReport, ActionTarget};
use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::connector::EntraConnector;
use crate::errors::{error_from_response, GraphError};
use crate::mapping::text;

pub(crate) async fn act(
    connector: &EntraConnector,
    action: ActionKind,
    target: &ActionTarget,
) -> Result<ActionReport, ConnectorError> {
    // Graph takes the object id or the userPrincipalName in `/users/{id}`.
    let reference = [target.external_id.trim(), target.login.trim()]
        .into_iter()
        .find(|s| !s.is_empty())
        .ok_or_else(|| {
            ConnectorError::NotFound(
                "the action's target has neither an Entra object id nor a login".into(),
            )
        })?;
    let report = match action {
        ActionKind::DisableAccount => set_enabled(connector, reference, false).await,
        ActionKind::EnableAccount => set_enabled(connector, reference, true).await,
        ActionKind::RevokeSessions => revoke(connector, reference).await,
        ActionKind::EnforceMfa => enforce_mfa(connector, reference).await,
    }?;
    tracing::info!(action = ?action, user = reference, changed = report.changed, detail = %report.detail, "entra response action done");
    Ok(report)
}

fn report(changed: bool, detail: impl Into<String>, status: Option<UserStatus>) -> ActionReport {
    ActionReport {
        changed,
        detail: detail.into(),
        account: status.map(|status| AccountState {
            status,
            status_flags: Vec::new(),
        }),
    }
}

/// `GET /users/{id}?$select=id,accountEnabled`.
async fn user(
    connector: &EntraConnector,
    reference: &str,
) -> Result<(String, Option<bool>), ConnectorError> {
    let mut url = connector.endpoint(&["users", reference]);
    url.query_pairs_mut()
        .append_pair("$select", "id,accountEnabled");
    let value = connector
        .get_json("users", &url, "reading the user", &[])
        .await?;
    let id = text(value.get("id")).unwrap_or(reference).to_owned();
    Ok((id, value.get("accountEnabled").and_then(Value::as_bool)))
}

fn fail(status: StatusCode, body: &[u8], what: &str, permission: &str) -> ConnectorError {
    match error_from_response(status, body, what) {
        ConnectorError::Forbidden(message) => ConnectorError::Forbidden(format!(
            "{message} (the app needs the {permission} application permission)"
        )),
        other => other,
    }
}

async fn set_enabled(
    connector: &EntraConnector,
    reference: &str,
    enabled: bool,
) -> Result<ActionReport, ConnectorError> {
    let status = if enabled {
        UserStatus::Active
    } else {
        UserStatus::Suspended
    };
    let (id, current) = user(connector, reference).await?;
    if current == Some(enabled) {
        let detail = if enabled {
            "the account is already enabled"
        } else {
            "the account is already disabled"
        };
        return Ok(report(false, detail, Some(status)));
    }
    let url = connector.endpoint(&["users", &id]);
    let body = json!({ "accountEnabled": enabled });
    let fetched = connector
        .send("actions", Method::PATCH, &url, Some(&body), &[])
        .await?;
    if !fetched.status.is_success() {
        return Err(fail(
            fetched.status,
            &fetched.body,
            "updating accountEnabled",
            "User.EnableDisableAccount.All",
        ));
    }
    let detail = if enabled {
        "enabled the account (accountEnabled: true)"
    } else {
        "disabled the account (accountEnabled: false); existing sessions last until revoked"
    };
    Ok(report(true, detail, Some(status)))
}

async fn revoke(
    connector: &EntraConnector,
    reference: &str,
) -> Result<ActionReport, ConnectorError> {
    let url = connector.endpoint(&["users", reference, "revokeSignInSessions"]);
    let fetched = connector
        .send("actions", Method::POST, &url, None, &[])
        .await?;
    if !fetched.status.is_success() {
        return Err(fail(
            fetched.status,
            &fetched.body,
            "revoking sign-in sessions",
            "User.RevokeSessions.All",
        ));
    }
    Ok(report(true, "revoked the user's refresh tokens and session cookies (revokeSignInSessions); Graph applies it within minutes", None))
}

async fn enforce_mfa(
    connector: &EntraConnector,
    reference: &str,
) -> Result<ActionReport, ConnectorError> {
    let group = connector.settings.mfa_group_id.as_deref();
    let confirm = connector.settings.confirm_compromised;
    if group.is_none() && !confirm {
        return Err(ConnectorError::InvalidConfig(
            "enforce_mfa needs config.mfa_group_id (a group a Conditional Access policy requiring MFA targets) or confirm_compromised".into(),
        ));
    }
    let (id, _) = user(connector, reference).await?;
    let mut changed = false;
    let mut details = Vec::new();
    if let Some(group) = group {
        let url = connector.endpoint(&["groups", group, "members", "$ref"]);
        let member = connector.endpoint(&["directoryObjects", &id]);
        let body = json!({ "@odata.id": member.as_str() });
        let fetched = connector
            .send("actions", Method::POST, &url, Some(&body), &[])
            .await?;
        if fetched.status.is_success() {
            changed = true;
            details.push(format!("added the user to the MFA group {group}"));
        } else if already_member(fetched.status, &fetched.body) {
            details.push(format!("the user is already in the MFA group {group}"));
        } else {
            return Err(fail(
                fetched.status,
                &fetched.body,
                "adding the user to the MFA group",
                "GroupMember.ReadWrite.All",
            ));
        }
    }
    if confirm {
        let url = connector.endpoint(&["identityProtection", "riskyUsers", &id]);
        let known = match connector
            .get_json("identity-protection", &url, "reading the risky user", &[])
            .await
        {
            Ok(value) => text(value.get("riskState"))
                .is_some_and(|s| s.eq_ignore_ascii_case("confirmedCompromised")),
            Err(ConnectorError::NotFound(_)) => false,
            Err(err) => return Err(err),
        };
        if known {
            details.push("the user is already confirmed compromised".to_owned());
        } else {
            let url =
                connector.endpoint(&["identityProtection", "riskyUsers", "confirmCompromised"]);
            let body = json!({ "userIds": [id] });
            let fetched = connector
                .send("identity-protection", Method::POST, &url, Some(&body), &[])
                .await?;
            if !fetched.status.is_success() {
                return Err(fail(
                    fetched.status,
                    &fetched.body,
                    "confirming the user compromised",
                    "IdentityRiskyUser.ReadWrite.All (and Entra ID P2)",
                ));
            }
            changed = true;
            details.push(
                "confirmed the user compromised in Identity Protection (user risk high)".to_owned(),
            );
        }
    }
    Ok(report(changed, details.join("; "), None))
}

/// Graph's answer to adding a member that is already one: 400 "One or more added object
/// references already exist for the following modified properties: 'members'." (409 from
/// some services).
fn already_member(status: StatusCode, body: &[u8]) -> bool {
    if !matches!(status, StatusCode::BAD_REQUEST | StatusCode::CONFLICT) {
        return false;
    }
    let error = GraphError::parse(body);
    status == StatusCode::CONFLICT
        || error
            .message
            .as_deref()
            .is_some_and(|m| m.to_ascii_lowercase().contains("already exist"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_membership_is_recognised() {
        let body = br#"{"error":{"code":"Request_BadRequest","message":"One or more added object references already exist for the following modified properties: 'members'.","innerError":{}}}"#;
        assert!(already_member(StatusCode::BAD_REQUEST, body));
        assert!(!already_member(
            StatusCode::BAD_REQUEST,
            br#"{"error":{"code":"Request_BadRequest","message":"Invalid object identifier"}}"#
        ));
        assert!(!already_member(StatusCode::FORBIDDEN, body));
    }
}
