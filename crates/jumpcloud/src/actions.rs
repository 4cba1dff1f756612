//! Response actions through the v1 API; each reads the user first so it is idempotent and
//! reports whether it changed anything.
//!
//! | action | call | no-op when |
//! |---|---|---|
//! | `disable_account` | `PUT /api/systemusers/{id}` `{"suspended": true}` | already suspended |
//! | `enable_account` | `PUT /api/systemusers/{id}` `{"suspended": false}` when suspended, `POST /api/systemusers/{id}/unlock` when locked | neither |
//! | `revoke_sessions` | `POST /api/systemusers/{id}/expire` (expire the password) | the password is already expired |
//! | `enforce_mfa` | `PUT /api/systemusers/{id}` `{"enable_user_portal_multifactor": true}`, only when a factor is enrolled or the account is suspended | already required, or left alone (see below) |
//!
//! The target is the user's `_id` (the directory pull's external id); without one, the login
//! is looked up with `filter=username:$eq:{login}` (the v1 list's documented filter).
//!
//! `revoke_sessions`: JumpCloud's v1 and v2 APIs have no endpoint that ends a user's sessions
//! or revokes issued tokens (none found in the specs). What it offers is to expire the
//! password: the current password is no longer accepted for new sign-ins (User Portal, and
//! resources that take the JumpCloud password: LDAP, RADIUS, SAML apps through the portal)
//! until the user sets a new one. It does **not** end a User Portal session already open, nor
//! sessions the SAML/OIDC applications already granted, nor device logins already open; the
//! report says so. Suspend the account (`disable_account`) to contain a live attacker.
//!
//! `enforce_mfa` and the project's rule (never leave an account where whoever holds the
//! password can enrol their own factor): requiring MFA on the User Portal of a user with no
//! enrolled factor makes the portal ask for a TOTP enrolment at the next sign-in, by whoever
//! signs in with the password; `resetmfa` does the same by design. So MFA is required only
//! when a factor is already enrolled (the requirement then only stops sign-ins without it) or
//! when the account is suspended (an administrator must re-enable it first). Otherwise nothing
//! changes and the report says why. Factors are never reset by this connector.

use gatehouse_core::model::{ActionKind, UserStatus};
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{AccountState, ActionReport, ActionTarget};
use http::Method;
use serde_json::{json, Value};

use crate::connector::{parse_json, results, JumpCloudConnector};
use crate::errors::error_from_response;
use crate::mapping::user::map_user;

pub(crate) async fn act(
    connector: &JumpCloudConnector,
    action: ActionKind,
    target: &ActionTarget,
) -> Result<ActionReport, ConnectorError> {
    let user = read_user(connector, target).await?;
    let id = crate::mapping::text(user.get("_id"))
        .or_else(|| crate::mapping::text(user.get("id")))
        .ok_or_else(|| ConnectorError::Protocol("the user record has no _id".into()))?
        .to_owned();
    match action {
        ActionKind::DisableAccount => suspend(connector, &id, &user).await,
        ActionKind::EnableAccount => enable(connector, &id, &user).await,
        ActionKind::RevokeSessions => expire_password(connector, &id, &user).await,
        ActionKind::EnforceMfa => enforce_mfa(connector, &id, &user).await,
    }
}

/// The user by `_id`, else by username.
async fn read_user(
    connector: &JumpCloudConnector,
    target: &ActionTarget,
) -> Result<Value, ConnectorError> {
    let id = target.external_id.trim();
    if !id.is_empty() {
        let url = connector.api(&["systemusers", id]);
        return connector.get_json("users", &url, "reading the user").await;
    }
    let login = target.login.trim();
    if login.is_empty() {
        return Err(ConnectorError::NotFound(
            "the action's target has neither a JumpCloud user id nor a login".into(),
        ));
    }
    let mut url = connector.api(&["systemusers"]);
    url.query_pairs_mut()
        .append_pair("limit", "2")
        .append_pair("filter", &format!("username:$eq:{login}"));
    let found = results(
        connector
            .get_json("users", &url, "looking the user up")
            .await?,
        "looking the user up",
    )?;
    match <[Value; 1]>::try_from(found) {
        Ok([user]) => Ok(user),
        Err(found) if found.is_empty() => Err(ConnectorError::NotFound(
            "looking the user up: no JumpCloud user has that username".into(),
        )),
        Err(_) => Err(ConnectorError::Protocol(
            "looking the user up: more than one user has that username".into(),
        )),
    }
}

fn state_of(user: &Value) -> Option<AccountState> {
    map_user(user).map(|u| AccountState {
        status: u.status,
        status_flags: u.status_flags,
    })
}

async fn write(
    connector: &JumpCloudConnector,
    method: Method,
    segments: &[&str],
    body: Option<&Value>,
    what: &str,
) -> Result<Value, ConnectorError> {
    let url = connector.api(segments);
    let fetched = connector.send("user-writes", method, &url, body).await?;
    if !fetched.status.is_success() {
        return Err(error_from_response(fetched.status, &fetched.body, what));
    }
    // Some calls answer a bare string ("200 string" in the spec) or nothing.
    Ok(parse_json(&fetched.body, what).unwrap_or(Value::Null))
}

fn flag(user: &Value, name: &str) -> bool {
    user.get(name).and_then(Value::as_bool).unwrap_or(false)
}

fn is_suspended(user: &Value) -> bool {
    map_user(user).is_some_and(|u| u.status == UserStatus::Suspended)
}

async fn suspend(
    connector: &JumpCloudConnector,
    id: &str,
    user: &Value,
) -> Result<ActionReport, ConnectorError> {
    if is_suspended(user) {
        return Ok(ActionReport {
            changed: false,
            detail: "the user was already suspended".into(),
            account: state_of(user),
        });
    }
    let updated = write(
        connector,
        Method::PUT,
        &["systemusers", id],
        Some(&json!({"suspended": true})),
        "suspending the user",
    )
    .await?;
    let account = state_of(&updated)
        .filter(|s| s.status == UserStatus::Suspended)
        .or_else(|| {
            state_of(user).map(|mut s| {
                s.status = UserStatus::Suspended;
                s
            })
        });
    Ok(ActionReport {
        changed: true,
        detail: "suspended the user (PUT suspended: true)".into(),
        account,
    })
}

async fn enable(
    connector: &JumpCloudConnector,
    id: &str,
    user: &Value,
) -> Result<ActionReport, ConnectorError> {
    let suspended = is_suspended(user);
    let locked = flag(user, "account_locked");
    if !suspended && !locked {
        return Ok(ActionReport {
            changed: false,
            detail: "the user was neither suspended nor locked".into(),
            account: state_of(user),
        });
    }
    let mut done = Vec::new();
    let mut latest = user.clone();
    if suspended {
        let updated = write(
            connector,
            Method::PUT,
            &["systemusers", id],
            Some(&json!({"suspended": false})),
            "updating the user",
        )
        .await?;
        if updated.is_object() {
            latest = updated;
        }
        done.push("unsuspended the user (PUT suspended: false)");
    }
    if locked {
        write(
            connector,
            Method::POST,
            &["systemusers", id, "unlock"],
            None,
            "unlocking the user",
        )
        .await?;
        if let Some(map) = latest.as_object_mut() {
            map.insert("account_locked".into(), Value::Bool(false));
        }
        done.push("unlocked the user (POST unlock)");
    }
    if let Some(map) = latest.as_object_mut() {
        map.insert("suspended".into(), Value::Bool(false));
        if map.get("state").and_then(Value::as_str) == Some("SUSPENDED") {
            map.insert("state".into(), Value::String("ACTIVATED".into()));
        }
    }
    Ok(ActionReport {
        changed: true,
        detail: done.join("; "),
        account: state_of(&latest),
    })
}

/// What `revoke_sessions` ends and does not end, said in every report.
pub const EXPIRE_NOTE: &str = "JumpCloud has no API to end sessions: the password is expired \
    instead, so it is no longer accepted for new sign-ins until the user sets a new one; \
    sessions already open (User Portal, applications, devices) are not ended — suspend the \
    account to contain a live attacker";

async fn expire_password(
    connector: &JumpCloudConnector,
    id: &str,
    user: &Value,
) -> Result<ActionReport, ConnectorError> {
    if flag(user, "password_expired") {
        return Ok(ActionReport {
            changed: false,
            detail: format!("the password was already expired ({EXPIRE_NOTE})"),
            account: state_of(user),
        });
    }
    write(
        connector,
        Method::POST,
        &["systemusers", id, "expire"],
        None,
        "expiring the password",
    )
    .await?;
    let mut latest = user.clone();
    if let Some(map) = latest.as_object_mut() {
        map.insert("password_expired".into(), Value::Bool(true));
    }
    Ok(ActionReport {
        changed: true,
        detail: format!("expired the password (POST expire): {EXPIRE_NOTE}"),
        account: state_of(&latest),
    })
}

async fn enforce_mfa(
    connector: &JumpCloudConnector,
    id: &str,
    user: &Value,
) -> Result<ActionReport, ConnectorError> {
    let mapped = map_user(user);
    let enrolled = mapped.as_ref().and_then(|u| u.mfa_enrolled) == Some(true);
    let suspended = is_suspended(user);
    if !enrolled && !suspended {
        return Ok(ActionReport {
            changed: false,
            detail: "left alone: the user has no enrolled MFA factor and the account is \
                     active, so requiring MFA now would let whoever holds the password enrol \
                     their own factor at the next sign-in; suspend the account (or reset its \
                     password out of band) and run enforce_mfa again"
                .into(),
            account: state_of(user),
        });
    }
    let why = if enrolled {
        "a factor is enrolled"
    } else {
        "the account is suspended"
    };
    if flag(user, "enable_user_portal_multifactor") {
        return Ok(ActionReport {
            changed: false,
            detail: format!("MFA was already required on the User Portal ({why})"),
            account: state_of(user),
        });
    }
    write(
        connector,
        Method::PUT,
        &["systemusers", id],
        Some(&json!({"enable_user_portal_multifactor": true})),
        "requiring MFA",
    )
    .await?;
    Ok(ActionReport {
        changed: true,
        detail: format!(
            "required MFA on the User Portal (PUT enable_user_portal_multifactor: true; {why}); \
             factors were not reset"
        ),
        account: state_of(user),
    })
}
