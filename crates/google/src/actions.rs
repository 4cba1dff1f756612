//! Response actions through the Directory API; each reads the user first so it is idempotent
//! and reports whether it changed anything.
//!
//! | action | call | scope | no-op when |
//! |---|---|---|---|
//! | `disable_account` | `PATCH /users/{id}` `{"suspended": true}` | `admin.directory.user` | already suspended |
//! | `enable_account` | `PATCH /users/{id}` `{"suspended": false}` | `admin.directory.user` | not suspended |
//! | `revoke_sessions` | `POST /users/{id}/signOut` | `admin.directory.user.security` | never (Google cannot tell) |
//! | `enforce_mfa` | `PATCH /users/{id}` `{"orgUnitPath": mfa_org_unit}` and/or `POST /groups/{mfa_group}/members` (409 = already a member) | `admin.directory.user`, `admin.directory.group.member` | already there |
//!
//! `enforce_mfa` and the project's rule (never leave an account where whoever holds the
//! password can enrol their own second factor): Google has no per-user "require 2SV" switch
//! (`isEnforcedIn2Sv` is read-only; enforcement is a policy of an org unit or group), and a
//! user who is *not yet enrolled* and becomes subject to enforcement is asked to enrol at the
//! next sign-in (or within the policy's enrolment period) — by whoever signs in with the
//! password. So the user is moved or added only when that cannot hand the enrolment to an
//! attacker: when `isEnrolledIn2Sv` is true (enforcement then only stops 2SV being turned
//! off), or when the account is suspended (an admin must re-enable it first). Otherwise the
//! action changes nothing and its report says why (suspend the account or reset the password
//! out of band first). `change_password_at_next_login: true` sets `changePasswordAtNextLogin`
//! in the same update; it is not a safeguard by itself, since Google asks for the new password
//! only after the current one was accepted.

use gatehouse_core::model::{ActionKind, UserStatus};
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{AccountState, ActionReport, ActionTarget};
use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::auth::Scope;
use crate::connector::{parse_json, GoogleConnector};
use crate::errors::{error_from_response, GoogleError};
use crate::mapping::text;

pub(crate) async fn act(
    connector: &GoogleConnector,
    action: ActionKind,
    target: &ActionTarget,
) -> Result<ActionReport, ConnectorError> {
    match action {
        ActionKind::DisableAccount => set_suspended(connector, target, true).await,
        ActionKind::EnableAccount => set_suspended(connector, target, false).await,
        ActionKind::RevokeSessions => sign_out(connector, target).await,
        ActionKind::EnforceMfa => enforce_mfa(connector, target).await,
    }
}

fn key(target: &ActionTarget) -> &str {
    if target.external_id.trim().is_empty() {
        target.login.trim()
    } else {
        target.external_id.trim()
    }
}

async fn read_user(
    connector: &GoogleConnector,
    target: &ActionTarget,
) -> Result<Value, ConnectorError> {
    let url = connector.directory(&["users", key(target)]);
    connector
        .get_json(&[Scope::UserReadonly], "users", &url, "reading the user")
        .await
}

async fn patch_user(
    connector: &GoogleConnector,
    target: &ActionTarget,
    body: &Value,
) -> Result<Value, ConnectorError> {
    let url = connector.directory(&["users", key(target)]);
    let fetched = connector
        .send(
            &[Scope::User],
            "user-writes",
            Method::PATCH,
            &url,
            Some(body),
        )
        .await?;
    if !fetched.status.is_success() {
        return Err(error_from_response(
            fetched.status,
            &fetched.body,
            "updating the user",
        ));
    }
    if fetched.body.is_empty() {
        return Ok(Value::Null);
    }
    parse_json(&fetched.body, "updating the user")
}

fn state_of(user: &Value) -> AccountState {
    let suspended = user
        .get("suspended")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let archived = user
        .get("archived")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    AccountState {
        status: if suspended || archived {
            UserStatus::Suspended
        } else {
            UserStatus::Active
        },
        status_flags: if archived {
            vec!["archived".to_owned()]
        } else {
            Vec::new()
        },
    }
}

async fn set_suspended(
    connector: &GoogleConnector,
    target: &ActionTarget,
    suspend: bool,
) -> Result<ActionReport, ConnectorError> {
    let user = read_user(connector, target).await?;
    let now = user
        .get("suspended")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if now == suspend {
        return Ok(ActionReport {
            changed: false,
            detail: if suspend {
                "the user was already suspended".into()
            } else {
                "the user was not suspended".into()
            },
            account: Some(state_of(&user)),
        });
    }
    let updated = patch_user(connector, target, &json!({ "suspended": suspend })).await?;
    let mut account = state_of(&user);
    account.status = if suspend || account.status_flags.iter().any(|f| f == "archived") {
        UserStatus::Suspended
    } else {
        UserStatus::Active
    };
    if updated.get("suspended").is_some() {
        account = state_of(&updated);
    }
    Ok(ActionReport {
        changed: true,
        detail: if suspend {
            "suspended the user (PATCH suspended: true)".into()
        } else {
            "unsuspended the user (PATCH suspended: false)".into()
        },
        account: Some(account),
    })
}

async fn sign_out(
    connector: &GoogleConnector,
    target: &ActionTarget,
) -> Result<ActionReport, ConnectorError> {
    let url = connector.directory(&["users", key(target), "signOut"]);
    let fetched = connector
        .send(
            &[Scope::UserSecurity],
            "user-writes",
            Method::POST,
            &url,
            None,
        )
        .await?;
    if !fetched.status.is_success() {
        return Err(error_from_response(
            fetched.status,
            &fetched.body,
            "signing the user out",
        ));
    }
    Ok(ActionReport {
        changed: true,
        detail: "signed the user out of all web and device sessions (users.signOut)".into(),
        account: None,
    })
}

async fn enforce_mfa(
    connector: &GoogleConnector,
    target: &ActionTarget,
) -> Result<ActionReport, ConnectorError> {
    let settings = &connector.settings;
    if settings.mfa_org_unit.is_none() && settings.mfa_group.is_none() {
        return Err(ConnectorError::InvalidConfig(
            crate::factory::MFA_TARGET_NOTE.into(),
        ));
    }
    let user = read_user(connector, target).await?;
    let enrolled = user.get("isEnrolledIn2Sv").and_then(Value::as_bool) == Some(true);
    let suspended = state_of(&user).status == UserStatus::Suspended;
    if !enrolled && !suspended {
        return Ok(ActionReport {
            changed: false,
            detail: "left alone: the user is not enrolled in 2-Step Verification and the \
                     account is active, so enforcing 2SV now would let whoever holds the password \
                     enrol their own second factor; suspend the account (or reset its password \
                     out of band) and run enforce_mfa again"
                .into(),
            account: Some(state_of(&user)),
        });
    }
    let mut done = Vec::new();
    if let Some(ou) = &settings.mfa_org_unit {
        let current = text(user.get("orgUnitPath")).unwrap_or("/");
        let already_pw = user
            .get("changePasswordAtNextLogin")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut body = serde_json::Map::new();
        if !current.eq_ignore_ascii_case(ou) {
            body.insert("orgUnitPath".into(), Value::String(ou.clone()));
        }
        if settings.change_password_at_next_login && !already_pw {
            body.insert("changePasswordAtNextLogin".into(), Value::Bool(true));
        }
        if !body.is_empty() {
            patch_user(connector, target, &Value::Object(body.clone())).await?;
            if body.contains_key("orgUnitPath") {
                done.push(format!("moved the user from {current} to {ou}"));
            }
            if body.contains_key("changePasswordAtNextLogin") {
                done.push("set changePasswordAtNextLogin".to_owned());
            }
        }
    } else if settings.change_password_at_next_login
        && user
            .get("changePasswordAtNextLogin")
            .and_then(Value::as_bool)
            != Some(true)
    {
        patch_user(
            connector,
            target,
            &json!({"changePasswordAtNextLogin": true}),
        )
        .await?;
        done.push("set changePasswordAtNextLogin".to_owned());
    }
    if let Some(group) = &settings.mfa_group {
        let email = text(user.get("primaryEmail"))
            .unwrap_or(&target.login)
            .to_owned();
        let url = connector.directory(&["groups", group, "members"]);
        let fetched = connector
            .send(
                &[Scope::GroupMember],
                "group-writes",
                Method::POST,
                &url,
                Some(&json!({"email": email, "role": "MEMBER"})),
            )
            .await?;
        if fetched.status == StatusCode::CONFLICT {
            tracing::debug!(reason = ?GoogleError::parse(&fetched.body).reason, "already a member of the MFA group");
        } else if fetched.status.is_success() {
            done.push(format!("added the user to {group}"));
        } else {
            return Err(error_from_response(
                fetched.status,
                &fetched.body,
                "adding the user to the MFA group",
            ));
        }
    }
    let why = if enrolled {
        "the user is enrolled in 2SV"
    } else {
        "the account is suspended"
    };
    Ok(ActionReport {
        changed: !done.is_empty(),
        detail: if done.is_empty() {
            format!("already subject to 2SV enforcement ({why})")
        } else {
            format!("{} ({why})", done.join("; "))
        },
        account: Some(state_of(&user)),
    })
}
